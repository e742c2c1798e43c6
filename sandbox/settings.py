"""Resolved settings for one invocation: runtime, provider, port and the key to use."""

from __future__ import annotations

import argparse
import ipaddress
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.profiles import DEFAULT_PROFILE, PROFILES, Profile
from sandbox.records import record
from sandbox.untrusted import quoted

DEMO_TOKEN = "sk-test-agw-sandbox-demo-key-0001"
RUNTIMES = ("auto", "kind", "cluster", "sim")
PROVIDERS = ("mock", "openai")


@record
class Settings:
    runtime: str = "auto"
    provider: str = "mock"
    port: int = 8080
    token: str = field(default=DEMO_TOKEN, repr=False)  # kept out of tracebacks and logs
    scenario_dirs: tuple[Path, ...] = ()
    context: str | None = None
    cluster_name: str = "agw-sandbox"
    overrides: Mapping[str, str] = field(default_factory=dict)
    install_kgateway: bool = False  # --install: consent to install the charts into your cluster
    assume_yes: bool = False  # agree in advance to write to the cluster you brought (--yes)
    namespace: str | None = None  # the sandbox's own namespace on a cluster you brought
    gateway: str | None = None  # ... and its own Gateway name
    bundle: Path | None = None  # an offline bundle (`prepare`): kind from its files only
    profile: str = DEFAULT_PROFILE.name  # which API (and versions) the scenarios teach

    @property
    def api_profile(self) -> Profile:
        return PROFILES[self.profile]


def resolve_token(provider: str, given: str | None, env: Mapping[str, str]) -> str:
    """--token, then AGW_SANDBOX_TOKEN, then OPENAI_API_KEY (openai) or the demo key (mock).

    An empty variable counts as unset; an empty ``--token`` is refused (a variable meant to hold
    the key, empty: another key taken quietly would be a surprise). Any other value must pass
    :func:`check_key`.
    """
    if given == "":
        raise SandboxError("--token is empty: it gives no key",
                           "give the key after --token, or leave --token out to use "
                           "AGW_SANDBOX_TOKEN (or OPENAI_API_KEY with --provider openai; "
                           "the demo key with --provider mock)")
    sources = [("--token", given), ("AGW_SANDBOX_TOKEN", env.get("AGW_SANDBOX_TOKEN"))]
    if provider == "openai":
        sources.append(("OPENAI_API_KEY", env.get("OPENAI_API_KEY")))
    for source, value in sources:
        if value:
            return check_key(value, source)
    if provider == "openai":
        raise SandboxError(
            "--provider openai needs an OpenAI API key and none was given",
            "export OPENAI_API_KEY=... (or AGW_SANDBOX_TOKEN), or use --provider mock",
        )
    return DEMO_TOKEN


def known_keys(given: str | None, env: Mapping[str, str]) -> list[str]:
    """Every key this process holds (``--token``, ``AGW_SANDBOX_TOKEN``, ``OPENAI_API_KEY``),
    whichever one is used: a message about something else may echo any of them (a Docker
    setting), and none is ever shown."""
    candidates = (given, env.get("AGW_SANDBOX_TOKEN"), env.get("OPENAI_API_KEY"))
    return [key.strip() for key in candidates if key and key.strip()]


_AROUND = " \t\r\n"  # what a copy from a file or a terminal leaves around a key


def check_key(key: str, source: str) -> str:
    """``key`` without the blanks around it, or a :class:`SandboxError` saying what is wrong.

    API keys are printable ASCII without spaces; anything else is a copy-paste accident
    (a zero-width space, a tab, a line break) that would break the request or the manifest.
    The message names the character's position, never the key.
    """
    stripped = key.strip(_AROUND)
    offset = len(key) - len(key.lstrip(_AROUND))
    hint = ("copy the key again (API keys are letters, digits and punctuation, without spaces), "
            "or retype it")
    if not stripped:
        raise SandboxError(f"the key from {source} is blank", hint)
    if re.match(r"bearer\s", stripped, re.IGNORECASE):
        raise SandboxError(f"the key from {source} starts with 'Bearer '",
                           "give the key alone: the sandbox adds 'Bearer ' where it is needed")
    for index, char in enumerate(stripped):
        if not " " < char < "\x7f":
            raise SandboxError(f"the key from {source} has {_describe(char)} at position "
                               f"{offset + index + 1} (of {len(key)} characters)", hint)
    return stripped


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if char.isspace():
        return f"a space, tab or line break ({code}{' ' + name if name else ''})"
    if unicodedata.category(char) in ("Cc", "Cf"):
        return f"an invisible or control character ({code}{' ' + name if name else ''})"
    return f"a non-ASCII character ({code})"


# -- argparse types of the options that name things: checked as the command line is read --------
def cluster_name(text: str) -> str:
    """The type of --cluster-name: a name kind accepts (``^[a-z0-9.-]+$``, at most 50
    characters, so that ``NAME-control-plane`` is a host name), starting like a name, not an
    option; it also names a file in the cache."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{0,49}", text):
        raise argparse.ArgumentTypeError(
            f"{quoted(text)} is not a kind cluster name: use at most 50 lower-case letters, "
            "digits, dots and dashes, starting with a letter or digit")
    return text


def printable(text: str) -> str:
    """The type of --context and --host: any name a kubeconfig holds, but no control character,
    which would rewrite the terminal it is printed on (a line break starts a fake line)."""
    for position, char in enumerate(text, 1):
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise argparse.ArgumentTypeError(
                f"{quoted(text)} has a control or invisible character (U+{ord(char):04X}) at "
                f"position {position}: type the name again")
    return text


def directory(text: str) -> Path:
    """The type of prepare's DIR: an empty one would quietly mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("DIR is empty: give the directory to fill, such as "
                                         "~/agw-bundle")
    return Path(text)


def bundle_folder(text: str) -> Path:
    """The type of --bundle: an empty one would quietly mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the folder is empty: give the folder `agw-sandbox "
                                         "prepare DIR` filled, such as ~/agw-bundle")
    return Path(text)


def tab_count(text: str) -> int:
    """The type of --max-tabs: a whole number from 1 to 1000."""
    count = int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else 0
    if not 1 <= count <= 1000:
        raise argparse.ArgumentTypeError(f"{quoted(text)} is not a number of tabs from 1 to 1000")
    return count


def overrides(pairs: Sequence[str]) -> dict[str, str]:
    """The ``--set NAME=VALUE`` pairs. A value may be any text, but text it must be: bytes that
    are not UTF-8 reach Python as lone surrogates, which no request, file or screen carries."""
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SandboxError(f"--set {quoted(pair)} is not NAME=VALUE",
                               "write it as --set name=value")
        for position, char in enumerate(value, 1):
            if 0xDC80 <= ord(char) <= 0xDCFF:  # how Python keeps a byte that is not UTF-8
                raise SandboxError(f"--set {name.strip()}: the value is not UTF-8 text (byte "
                                   f"0x{ord(char) - 0xDC00:02x} at position {position})",
                                   "give it as UTF-8 text (check the terminal's or the "
                                   "script's encoding)")
        result[name.strip()] = value
    return result


_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


def allowed_host(text: str) -> str:
    """The type of serve's --allow-host: a host name or an address, as a browser sends it in
    ``Host`` (lower case, an international name in its ``xn--`` form, no port); a pattern, a
    port or a URL would never match one, so each is refused saying what to give instead."""
    given = text.strip()
    if not given:
        return ""  # nothing to allow
    if "*" in given:
        raise argparse.ArgumentTypeError(
            f"{quoted(given)} is a pattern: --allow-host takes one host name, such as "
            "workshop.example (repeat it for each name; nothing else loads the page)")
    if "/" in given or "@" in given:
        raise argparse.ArgumentTypeError(f"{quoted(given)} is a URL: give the host name alone, "
                                         "such as workshop.example")
    with_port = re.fullmatch(r"\[([^]]*)\]:\d*|([^:]*):\d*", given)
    if with_port:
        name = with_port.group(1) or with_port.group(2)
        raise argparse.ArgumentTypeError(
            f"{quoted(given)} names a port: give the name alone ({quoted(name)}); the page is "
            "served on serve's --port whatever the name")
    try:
        return str(ipaddress.ip_address(given.strip("[]")))
    except ValueError:
        pass
    try:
        name = given.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        name = ""
    if not _HOST_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{quoted(given)} is not a host name: give a DNS name "
                                         "(letters, digits, dashes and dots) or an IP address")
    return name
