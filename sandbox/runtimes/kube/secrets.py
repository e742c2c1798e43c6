"""The secrets a cluster client knows, masked in everything the cluster commands print.

They are the sandbox's own key and every credential the kubeconfig holds or an exec plugin
returns: a bearer token, a password (and the ``user:password`` that Basic auth encodes), a
password in the server's URL, a client key. An API server may echo any of them in a message, an
exec plugin may print them when it fails: :meth:`Secrets.masking` masks the errors raised inside
it and :meth:`Secrets.values` an answer's strings, each secret in every written form shown as the
provider key is (``sk-…abcd``). (The walkthrough's masker is a layer above the runtimes.)
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from sandbox.errors import SandboxError
from sandbox.mock.openai import mask

# Below this length a secret is matched only as a whole word: masking "pw" leaves "pwd" be.
SHORT = 8
# The keys of a user entry whose values are credentials (auth-provider configs hold more).
USER_SECRETS = ("token", "password", "client-key-data")


# Every secret any Secrets of this process has known: the last-resort error handler masks them
# in the trace it prints with AGW_SANDBOX_DEBUG set, which may quote any of them.
_KNOWN_TO_PROCESS: set[str] = set()


def known_to_process() -> frozenset[str]:
    """Every secret the process has known so far (keys, kubeconfig and plugin credentials)."""
    return frozenset(_KNOWN_TO_PROCESS)


class Secrets:
    """Secrets, and how each one looks once something has written it: base64 (of it and of
    ``Bearer`` + it), JSON and URL escapes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._forms: dict[str, str] = {}
        self._compiled: re.Pattern[str] | None = None
        self._stale = False  # secrets were added since the pattern was compiled
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        secret = secret.strip()
        if not secret or secret in self._forms:
            return
        _KNOWN_TO_PROCESS.add(secret)
        masked = mask(secret)
        self._forms.setdefault(secret, masked)
        for text in (secret, f"Bearer {secret}"):
            self._forms.setdefault(base64.b64encode(text.encode()).decode(),
                                   f"<base64 of {masked}>")
        for escaped in (json.dumps(secret)[1:-1], quote(secret, safe="")):
            self._forms.setdefault(escaped, masked)
        self._stale = True

    @property
    def _pattern(self) -> re.Pattern[str] | None:
        """Every form of every secret, longest first; compiled when next used, not at each
        :meth:`add` (a kubeconfig of thousands of users would compile it thousands of times)."""
        if self._stale:
            forms = sorted(self._forms, key=len, reverse=True)
            self._compiled = re.compile("|".join(
                re.escape(f) if len(f) >= SHORT else rf"(?<![\w-]){re.escape(f)}(?![\w-])"
                for f in forms))
            self._stale = False
        return self._compiled

    def add_header(self, value: str) -> None:
        """An Authorization header's credential: a bearer token, or Basic's user and password."""
        scheme, _, credential = value.strip().partition(" ")
        if scheme.lower() != "basic":
            self.add(credential or scheme)
            return
        try:
            pair = base64.b64decode(credential, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            self.add(credential)
            return
        self._add_pair(pair)

    def add_kubeconfig(self, config: Any) -> None:
        """Every credential a kubeconfig (its merged dict) holds, in whichever entry: any of
        them may be the one a context uses, and none is ever worth printing."""
        config = config if isinstance(config, Mapping) else {}
        for entry in _entries(config, "users", "user"):
            for key in USER_SECRETS:
                if isinstance(entry.get(key), str):
                    self.add(entry[key])
            if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
                self._add_pair(f"{entry['username']}:{entry['password']}")
            provider = entry.get("auth-provider")
            settings = provider.get("config") if isinstance(provider, Mapping) else None
            for value in (settings or {}).values() if isinstance(settings, Mapping) else ():
                if isinstance(value, str) and len(value) >= SHORT:
                    self.add(value)
        for entry in _entries(config, "clusters", "cluster"):
            if isinstance(entry.get("server"), str):
                self.add_url(entry["server"])

    def add_url(self, url: str) -> None:
        """The password (and user) a URL carries before its host."""
        userinfo = urlsplit(url).netloc.rpartition("@")[0] if "@" in url else ""
        if userinfo:
            self._add_pair(userinfo)
            self._add_pair(unquote(userinfo))

    def _add_pair(self, pair: str) -> None:
        self.add(pair)
        self.add(pair.partition(":")[2])

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda match: self._forms[match.group(0)], text)

    def cut(self, text: str, limit: int) -> str:
        """The beginning of ``text`` that a message quotes: masked as a whole first, then cut
        after ``limit`` characters of what shows, never inside a mask, so that no piece of a
        secret shows (cut first, the beginning of one would be no longer whole, and unmasked);
        "…" marks the cut."""
        out, shown, position = [], 0, 0
        for found in self._pattern.finditer(text) if self._pattern is not None else ():
            plain = text[position:found.start()]
            if shown + len(plain) >= limit:
                break
            masked = self._forms[found.group(0)]
            out += [plain, masked]
            shown, position = shown + len(plain) + len(masked), found.end()
            if shown >= limit:
                break
        rest = text[position:position + max(0, limit - shown)]
        end = position + len(rest)
        return "".join([*out, rest]) + ("…" if end < len(text) else "")

    def values(self, value: Any) -> Any:
        """A copy of a nested value (an API answer) with every string masked."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {self.values(k): self.values(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.values(item) for item in value]
        return value

    @contextlib.contextmanager
    def masking(self) -> Iterator[None]:
        """The errors raised inside, their message and hint masked."""
        try:
            yield
        except SandboxError as exc:
            exc.message, exc.hint = self(exc.message), self(exc.hint)
            exc.args = (exc.message,)
            raise


def shown_url(url: str) -> str:
    """``url`` without the user and password it may carry: the form every message names (also
    of one too broken to parse, such as ``tcp://USER@[::1``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _USERINFO.sub("", url, count=1)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


_USERINFO = re.compile(r"(?<=//)[^/?#]*@")  # what stands between "//" and the host


def _entries(config: Mapping[str, Any], section: str, key: str) -> Iterator[Mapping[str, Any]]:
    items = config.get(section)
    for item in items if isinstance(items, list) else ():
        entry = item.get(key) if isinstance(item, Mapping) else None
        if isinstance(entry, Mapping):
            yield entry
