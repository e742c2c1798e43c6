"""Which files the sandbox reads for a kubeconfig: regular files of a kubeconfig's size, and the
credential files its entries name, regular and of a credential's size; nothing else.

Opening a FIFO blocks until someone writes to it, a device may never end, and parsing a file of
hundreds of megabytes takes minutes: each is refused, by name, before anything opens it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sandbox.errors import RuntimeUnavailable
from sandbox.records import record
from sandbox.untrusted import describe, first_hidden

# Real kubeconfigs are kilobytes; a few hundred contexts with embedded certificates stay far
# below this. 10 MiB took the kubernetes client seconds to parse, 100 MiB minutes.
MAX_KUBECONFIG_BYTES = 4 * 1024 * 1024
# A CA bundle of every public root is about 220 KiB; a certificate, a key or a token far less.
MAX_CREDENTIAL_BYTES = 1024 * 1024
# The files an entry may name, each with the key that gives the same thing inline (which wins).
CLUSTER_FILES = (("certificate-authority", "certificate-authority-data"),)
USER_FILES = (("client-certificate", "client-certificate-data"),
              ("client-key", "client-key-data"), ("tokenFile", "token"))
# The kernel's own filesystems: their files look regular, of size 0, and reading one may block
# for ever (/proc/kmsg) or never end. (A bind mount of one elsewhere is found by its device.)
KERNEL_FILESYSTEMS = ("/proc", "/sys")
# Python reads at most this many digits of a number (sys.int_info.default_max_str_digits).
MAX_DIGITS = 4300
KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a device"),
         (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def check_kubeconfig(explicit: str | None, env: Mapping[str, str] | None = None) -> None:
    """Refuse the kubeconfig files that the kubernetes client would read (the one given, else
    each file of $KUBECONFIG that exists, else ~/.kube/config) if one is not a regular file of a
    kubeconfig's size."""
    env = os.environ if env is None else env
    if explicit:
        paths, origin = [explicit], ""
    elif env.get("KUBECONFIG"):
        paths, origin = [p for p in env["KUBECONFIG"].split(os.pathsep) if p], " (from KUBECONFIG)"
    else:
        paths, origin = ["~/.kube/config"], ""
    for path in paths:
        problem = file_problem(Path(path).expanduser())
        if problem is not None:
            raise RuntimeUnavailable(
                f"the kubeconfig {path}{origin} {problem}",
                "point KUBECONFIG at your kubeconfig file (a regular file; a command's output, "
                "`<(…)`, goes into a file first)")


def file_problem(path: Path, holds: str = "a kubeconfig",
                 limit: int = MAX_KUBECONFIG_BYTES) -> str | None:
    """Why ``path`` must not be read as ``holds`` (None: it may, or it does not exist)."""
    try:
        info = path.stat()  # never blocks, unlike opening it
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    for test, name in KINDS:
        if test(info.st_mode):
            return f"is not a regular file ({name})"
    kernel = _kernel_filesystem(path, info)
    if kernel is not None:
        return f"is not a regular file (a file of the kernel's {kernel}, which may never end)"
    if info.st_size > limit:
        return (f"is {info.st_size / 1024**2:.1f} MiB, far more than {holds} holds (the "
                f"sandbox reads at most {limit // 1024**2} MiB)")
    return None


def _kernel_filesystem(path: Path, info: os.stat_result) -> str | None:
    """The kernel filesystem (/proc, /sys) that holds ``path``, if one does."""
    resolved = Path(os.path.realpath(path))
    for root in KERNEL_FILESYSTEMS:
        try:
            mounted = Path(root).stat().st_dev
        except OSError:
            continue
        if resolved.is_relative_to(root) or info.st_dev == mounted:
            return root
    return None


@record
class Entry:
    """A cluster or user entry of a kubeconfig, and the folder its relative paths start in (the
    kubernetes client's: that of the file it came from)."""

    kind: str  # "cluster" or "user"
    name: str
    fields: Mapping[str, Any]
    source: str  # the kubeconfig file that holds it
    folder: str

    def check_files(self, keys: Sequence[tuple[str, str]]) -> None:
        """Refuse, by name and path, a file it names that is missing or that cannot be read
        safely (a FIFO, a device, a directory, a huge file); files given inline are not read."""
        for key, inline in keys:
            if key not in self.fields or inline in self.fields:
                continue
            named = self.fields[key]
            if not isinstance(named, str):
                raise self._refusal(key, repr(named), "is not a file name",
                                    f"write the path of the file as {key}'s value")
            path = Path(os.path.normpath(Path(self.folder, named)))  # as the client joins them
            problem = file_problem(path, "a credential file", MAX_CREDENTIAL_BYTES)
            if problem is None and not path.exists():
                problem = "does not exist"
            if problem is not None:
                raise self._refusal(key, str(path), problem,
                                    "point it at the file itself, a regular file (a relative "
                                    "path starts in the kubeconfig's folder), or give the "
                                    f"content inline as {inline}")

    def _refusal(self, key: str, path: str, problem: str, hint: str) -> RuntimeUnavailable:
        return RuntimeUnavailable(
            f"the {key} {path} of {self.kind} {self.name!r} in the kubeconfig {self.source} "
            f"{problem}", hint)


def user_token(user: Entry) -> str | None:
    """The bearer token of a user entry, as kubectl sends it: ``token`` as it is, else the
    content of ``tokenFile`` without the blanks around it (client-go's file token source trims
    them, so the line end an editor adds is no mistake); None when it has neither. A token that
    an Authorization header cannot carry (a line break, a control character) is refused by
    name, as kubectl refuses it, never sent; the token itself is never shown."""
    inline, named = user.fields.get("token"), user.fields.get("tokenFile")
    where = f"of user {user.name!r} in the kubeconfig {user.source}"
    if inline is not None and inline != "":
        token = str(inline)
        problem = token_problem(token)
        if problem is not None:
            raise RuntimeUnavailable(f"the token {where} holds {problem}",
                                     BLOCK_HINT if token.endswith("\n") else RETYPE_HINT)
        return token
    if not isinstance(named, str) or not named:
        return None
    path = Path(os.path.normpath(Path(user.folder, named)))  # checked by Entry.check_files
    token = _file_text(path, where).strip()
    if not token:
        raise RuntimeUnavailable(f"the tokenFile {path} {where} is empty",
                                 "write the token into that file, or point tokenFile at the "
                                 "file that holds it")
    problem = token_problem(token)
    if problem is not None:
        raise RuntimeUnavailable(f"the token in the tokenFile {path} {where} holds {problem}",
                                 "the file holds one line, the token: remove the rest, or "
                                 "copy the token into it again")
    return token


def _file_text(path: Path, where: str) -> str:
    """A tokenFile's content as text: one that is not UTF-8 is refused with the first byte that
    is not, never read with U+FFFD in its place (which the file does not hold)."""
    raw = path.read_bytes()
    try:
        return raw.decode()
    except UnicodeDecodeError as exc:
        encoding = _wide_encoding(raw)
        raise RuntimeUnavailable(
            f"the tokenFile {path} {where} is not UTF-8 text (byte {raw[exc.start]:#04x} at "
            f"offset {exc.start}" + (f"; it looks like {encoding})" if encoding else ")"),
            "save the token in that file as UTF-8 text, one line (your editor's encoding "
            f"setting; `iconv -f {encoding or 'CP1252'} -t UTF-8` converts a "
            f"{encoding or 'Windows-1252 or Latin-1'} file)") from None


def _wide_encoding(raw: bytes) -> str:
    """"UTF-32" or "UTF-16" for a file that looks saved so (a byte order mark, NULs among its
    first bytes), else "" (a one-byte encoding, most often Windows-1252)."""
    if raw[:4] in (b"\xff\xfe\0\0", b"\0\0\xfe\xff"):
        return "UTF-32"
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" in raw[:4]:
        return "UTF-16"
    return ""


RETYPE_HINT = "remove it from the token, or copy the token into the kubeconfig again"
BLOCK_HINT = ("remove it: a `token: |` block keeps the line's end (write the token on the line of "
              "`token:`, or use `token: |-`)")


def token_problem(token: str) -> str | None:
    """Why an Authorization header cannot carry ``token`` as it is: its first character that is
    not printable ASCII, in words, with its position (None: there is none). client-go refuses
    control characters in a header; no bearer token holds other characters beyond ASCII."""
    for index, char in enumerate(token):
        if " " <= char < "\x7f":
            continue
        if char == "\r":
            what = "a line break (U+000D, a carriage return)"
        elif first_hidden(char, one_line=True) is not None:
            what = describe(char)
        else:
            what = f"a character that is not ASCII (U+{ord(char):04X})"
        return f"{what} at position {index + 1}"
    return None


def folder_of(source: str | None) -> str:
    """Where a relative path in an entry starts: the folder of the file that holds it."""
    return str(Path(source).parent.absolute()) if source is not None else ""


def refuse_removed_providers(user: Entry) -> None:
    """kubectl no longer supports the gcp and azure auth-providers (since 1.26): the client would
    run gcp's ``cmd-path`` outside sandbox.proc, without a deadline, and sends no credential at
    all for azure, so that the cluster's refusal would blame the kubeconfig's credentials."""
    provider = user.fields.get("auth-provider")
    name = provider.get("name") if isinstance(provider, Mapping) else None
    if name in REMOVED_PROVIDERS:
        raise RuntimeUnavailable(
            f"user {user.name!r} in the kubeconfig {user.source} uses the {name} auth-provider, "
            "which kubectl no longer supports", REMOVED_PROVIDERS[name])


REMOVED_PROVIDERS = {
    "gcp": "use the gke-gcloud-auth-plugin exec plugin: `gcloud container clusters "
           "get-credentials` writes a kubeconfig entry for it",
    "azure": "use the kubelogin exec plugin: `kubelogin convert-kubeconfig -l azurecli` "
             "rewrites the entry for it (`az aks get-credentials` writes one too)",
}


def expired_oidc(user: Entry) -> RuntimeUnavailable:
    """The oidc auth-provider's id-token has expired: renewing it means asking the issuer, which
    kubectl does (and writes back to the kubeconfig); the sandbox does not."""
    return RuntimeUnavailable(
        f"the oidc id-token of user {user.name!r} in the kubeconfig {user.source} has expired, "
        "and the sandbox does not renew it", RENEW_OIDC)


RENEW_OIDC = ("renew it with kubectl: `kubectl get namespaces` with the same context asks the "
              "issuer and writes the new token into the kubeconfig")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_LAST_DAY = 253402300799  # 9999-12-31T23:59:59Z, the last time Python's datetime holds


def check_id_token(user: Entry, provider: Any) -> None:
    """Refuse an oidc auth-provider's id-token that is missing or not a JWT, which the kubernetes
    client skips without a word: no credentials go out, and the API server's 401 then seems to
    blame them. kubectl refuses such a token ("ID Token is not a valid JWT"); the token itself
    is never shown."""
    config = provider.get("config") if isinstance(provider, Mapping) else None
    token = config.get("id-token") if isinstance(config, Mapping) else None
    if token is None or token == "":
        raise RuntimeUnavailable(
            f"the oidc auth-provider of user {user.name!r} in the kubeconfig {user.source} "
            "holds no id-token, and the sandbox does not ask the issuer for one",
            RENEW_OIDC.replace("renew it", "get one").replace("the new token", "it"))
    if not _is_jwt(token):
        raise RuntimeUnavailable(
            f"the oidc id-token of user {user.name!r} in the kubeconfig {user.source} is not a "
            "JWT (three base64url parts joined by dots, the middle one a JSON object of claims "
            "whose exp is a time), so no credentials would be sent; kubectl refuses it too "
            "(\"ID Token is not a valid JWT\")",
            "put there the id-token your identity provider issued (log in again with the "
            "helper that wrote it), or give the user entry the exec plugin your provider "
            "documents")


def _is_jwt(token: object) -> bool:
    """Whether ``token`` is a JWT whose claims the kubernetes client can read."""
    parts = token.split(".") if isinstance(token, str) else []
    if len(parts) != 3 or not all(_BASE64URL.fullmatch(part) for part in parts):
        return False
    payload = parts[1]
    if len(payload) % 4 == 1:  # no base64 text has this length
        return False
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, RecursionError):
        return False
    if not isinstance(claims, dict):
        return False
    expiry = claims.get("exp")
    return expiry is None or (isinstance(expiry, int | float) and not isinstance(expiry, bool)
                              and 0 <= expiry <= _LAST_DAY)


def kubeconfig_problem(exc: Exception, kubeconfig: str | None, context: str | None,
                       client_error: bool, contexts: Sequence[str] = ()) -> RuntimeUnavailable:
    """Say which kubeconfig file is wrong and how, for whatever the kubernetes client raised
    (``client_error``: one of its own ConfigExceptions; ``contexts``: the names it holds)."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    where = path if kubeconfig or not os.environ.get("KUBECONFIG") else \
        f"{path} (from KUBECONFIG)"
    inspect = "`kubectl config view` shows what kubectl makes of it"
    text = str(exc)
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:  # a YAML syntax error
        problem = getattr(exc, "problem", None) or text.splitlines()[0]
        return RuntimeUnavailable(
            f"the kubeconfig {mark.name or where} is not valid YAML: {problem} "
            f"(line {mark.line + 1}, column {mark.column + 1})",
            f"fix that line, or point KUBECONFIG at another file; {inspect}")
    if isinstance(exc, RecursionError):
        return RuntimeUnavailable(
            f"the kubeconfig {where} is nested too deeply to be read (lists or maps inside each "
            "other thousands of levels deep; a kubeconfig has a handful)",
            f"point KUBECONFIG at your kubeconfig file; {inspect}")
    if isinstance(exc, ValueError) and "integer string conversion" in text:
        return RuntimeUnavailable(
            f"the kubeconfig {where} holds {_longest_number(kubeconfig)} (the most Python reads "
            f"is {MAX_DIGITS})", f"remove that number, or write it in quotes; {inspect}")
    if isinstance(exc, UnicodeDecodeError):
        return RuntimeUnavailable(
            f"the kubeconfig {where} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
            f"offset {exc.start})",
            "is KUBECONFIG pointing at the right file? A kubeconfig is a YAML text file")
    if isinstance(exc, OSError):
        return RuntimeUnavailable(
            f"cannot read the kubeconfig {exc.filename or where}: {exc.strerror or exc}",
            "point KUBECONFIG at a readable kubeconfig file")
    if "No configuration found" in text:
        return RuntimeUnavailable(
            f"no kubeconfig found at {where}",
            "set KUBECONFIG to your kubeconfig file (or create ~/.kube/config); "
            "without a cluster, `--runtime sim` works offline")
    if "Expected object with name" in text and "contexts list" in text and context is None:
        named = re.search(r"Expected object with name (.*) in .*contexts list", text)
        current = named.group(1) if named else ""
        if not current:  # `current-context: ""`: none is set, as when the key is missing
            return RuntimeUnavailable(
                f"the kubeconfig {where} has no current context set (its current-context is "
                f"empty){_some(contexts)}",
                "pass --context NAME, or choose one with `kubectl config use-context NAME`")
        return RuntimeUnavailable(
            f"there is no context {current!r} (the current context it names) in the kubeconfig "
            f"{where}{_some(contexts)}",
            "pass --context NAME, or choose one with `kubectl config use-context NAME`")
    if "Expected object with name" in text and "contexts list" in text:
        return RuntimeUnavailable(
            f"there is no context {context!r} in the kubeconfig {where}{_some(contexts)}",
            "`kubectl config get-contexts` lists them; pass one with --context NAME")
    if "Expected key current-context" in text:
        return RuntimeUnavailable(
            f"the kubeconfig {where} has no current context",
            "pass --context NAME, or choose one with `kubectl config use-context NAME`")
    if client_error:
        return RuntimeUnavailable(f"cannot use the kubeconfig {where}: {text}", inspect)
    return RuntimeUnavailable(
        f"the kubeconfig {where} does not have the shape of a kubeconfig (clusters, contexts "
        "and users must be lists of entries with a name)", inspect)


def _some(contexts: Sequence[str]) -> str:
    """", which holds N contexts, among them 'a', 'b', 'c', …": a few, never thousands."""
    if not contexts:
        return ""
    shown = ", ".join(repr(name if len(name) <= 40 else name[:40] + "…")
                      for name in contexts[:SOME_CONTEXTS])
    more = ", …" if len(contexts) > SOME_CONTEXTS else ""
    held = f"{len(contexts)} contexts" if len(contexts) > 1 else "one context"
    return f", which holds {held}, among them {shown}{more}" if more else \
        f", which holds {held}: {shown}"


SOME_CONTEXTS = 3


def _longest_number(kubeconfig: str | None) -> str:
    """"a number of N digits on line L" for the longest number in the kubeconfig's files (each
    already checked: regular and of a kubeconfig's size)."""
    paths = [kubeconfig] if kubeconfig else (os.environ.get("KUBECONFIG") or "").split(
        os.pathsep) or ["~/.kube/config"]
    found = (0, 0)
    for path in filter(None, paths):
        try:
            lines = Path(path).expanduser().read_text(errors="replace").splitlines()
        except OSError:
            continue
        for number, line in enumerate(lines, 1):
            longest = max(map(len, re.findall(r"\d+", line)), default=0)
            found = max(found, (longest, -number))
    if found[0] <= MAX_DIGITS:
        return "a number too long to read"
    return f"a number of {found[0]} digits on line {-found[1]}"
