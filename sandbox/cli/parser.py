"""The command line's parser: every subcommand's options, declared in one place, so that
``--help`` and the checks on each option (ports, names, keys) live together.

Only the subcommands a command line names get their options: the app (no subcommand) paints
its first screen without building a dozen parsers it will not use; ``--help`` lists them all.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from sandbox import __version__
from sandbox.mock.cli import port_number
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.settings import (
    PROVIDERS,
    RUNTIMES,
    allowed_host,
    bundle_folder,
    cluster_name,
    directory,
    known_keys,
    printable,
    tab_count,
)
from sandbox.untrusted import cut, one_line, quoted


def object_name(text: str) -> str:
    """The type of --namespace and --gateway: a Kubernetes name (RFC 1123 label), checked
    before anything is written rather than refused by the API server halfway through."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Kubernetes name: use at most 63 lower-case letters, digits "
            "and dashes, starting and ending with a letter or digit")
    return text


MAX_QUOTED = 80  # characters of a command line's word an error quotes; a longer one ends in …


class _Parser(argparse.ArgumentParser):
    """argparse, with what it quotes of a command line (a choice, a value a check refused, the
    words it did not recognise) on one line and in the one escape style of the rest of the
    output (``'\\u001b'``, where ``repr`` writes ``'\\x1b'`` and a word is written raw), each
    word at most :data:`MAX_QUOTED` characters."""

    words: Sequence[str] = ()  # the command line this parser was given, for its errors

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None
                         ) -> tuple[argparse.Namespace, list[str]]:
        import sys

        self.words = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        super().error(_masked(one_line(_shortened(message, self.words))))

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except argparse.ArgumentError as exc:
            raise _requoted(action, exc, arg_string) from None

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            raise _requoted(action, exc, value) from None


def _shortened(message: str, words: Sequence[str]) -> str:
    """``message`` with each long word of the command line it quotes (raw, as ``repr`` or
    :func:`~sandbox.untrusted.quoted` writes it; an ``--option=value``'s value too) cut to
    :data:`MAX_QUOTED` characters as shown (escaped), masked before it is cut."""
    values = [word.partition("=")[2] if word.startswith("--") else word for word in words]
    for word in sorted({w for w in [*words, *values] if len(w) > MAX_QUOTED}, key=len,
                       reverse=True):
        if word not in message and repr(word) not in message and quoted(word) not in message:
            continue
        short = cut(one_line(_masked(word)), MAX_QUOTED)
        for form in (quoted(word), repr(word)):
            message = message.replace(form, f"'{short}'")
        message = message.replace(word, short)
    return message


def _masked(message: str) -> str:
    """A usage error with every key the process holds masked: the value it quotes may be the
    key, pasted one word too early (`--provider openai sk-…`)."""
    import itertools
    import os
    import sys

    from sandbox.walkthrough.masking import Masker  # only for an error: it costs an import

    argv = sys.argv[1:]
    given = [value for flag, value in itertools.pairwise(argv) if flag == "--token"]
    given += [word.partition("=")[2] for word in argv if word.startswith("--token=")]
    keys = [*known_keys(None, os.environ), *(key.strip() for key in given if key.strip())]
    return Masker(keys)(message) if keys else message


def _requoted(action: argparse.Action, exc: argparse.ArgumentError,
              value: Any) -> argparse.ArgumentError:
    message = exc.message
    if isinstance(value, str):  # the checks quote the word with repr: ours instead
        message = message.replace(repr(value), quoted(value))
    return argparse.ArgumentError(action, message)


def _global_options(parser: argparse.ArgumentParser, suppress: bool,
                    profile: bool = True) -> None:
    """The options every subcommand takes, before or after its name (``prepare`` has a
    ``--profile`` of its own)."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--runtime", choices=RUNTIMES, default=default("auto"),
                        help="kind (real cluster), cluster (your kubeconfig), sim (offline); "
                             "auto picks kind when Docker answers, else sim")
    parser.add_argument("--provider", choices=PROVIDERS, default=default("mock"),
                        help="mock (free, offline) or openai (real key, real calls)")
    parser.add_argument("--port", type=port_number, default=default(None),
                        help="local port of the gateway, 0 to 65535 (default 8080; 0 picks a "
                             "free one with --runtime sim; mock-provider and serve: their own "
                             "port, default 8000)")
    parser.add_argument("--scenarios", type=Path, action="append", default=default([]),
                        metavar="DIR", help="an extra directory of scenario files (repeatable)")
    parser.add_argument("--token", default=default(None),
                        help="the API key the scenarios use (prefer the AGW_SANDBOX_TOKEN or "
                             "OPENAI_API_KEY environment variables: they stay out of shell "
                             "history)")
    parser.add_argument("--context", default=default(None), type=printable,
                        help="kubeconfig context for --runtime cluster")
    if profile:
        parser.add_argument("--profile", choices=list(PROFILES),
                            default=default(DEFAULT_PROFILE.name),
                            help="the API the scenarios teach: kgateway-v2.1 (the default: "
                                 "kgateway's 'Manage API keys' guide) or agentgateway-v1.4 "
                                 "(today's release)")
    parser.add_argument("--cluster-name", default=default(None), type=cluster_name,
                        help="kind cluster name (default: one per profile, agw-sandbox for "
                             "kgateway-v2.1 and agw-sandbox-v1-4 for agentgateway-v1.4)")
    parser.add_argument("--install", action="store_true", default=default(False),
                        dest="install_kgateway",
                        help="with --context: install the profile's charts (kgateway, or "
                             "agentgateway) if they are missing, without asking")
    parser.add_argument("--install-kgateway", action="store_true", default=default(False),
                        dest="install_kgateway", help=argparse.SUPPRESS)  # the old name
    parser.add_argument("--yes", "-y", action="store_true", default=default(False),
                        help="with --context: agree in advance to write to that cluster (for "
                             "scripts); without it the sandbox shows the API server and asks")
    parser.add_argument("--namespace", default=default(None), metavar="NAME", type=object_name,
                        help="put the sandbox's resources in a namespace of "
                             "its own instead of the guide's (kgateway-system, or "
                             "agentgateway-system with --profile agentgateway-v1.4)")
    parser.add_argument("--gateway", default=default(None), metavar="NAME", type=object_name,
                        help="name the sandbox's Gateway NAME instead of the "
                             "guide's (agentgateway, or agentgateway-proxy with "
                             "--profile agentgateway-v1.4)")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; for ``argv``, only the subcommand it names gets its options, the others
    their name and help (all that ``--help`` lists), and with no subcommand and no ``--help``
    (the app) there are none: each costs a parser, and argparse's look for translations."""
    named = None if argv is None else _bare_words(argv)
    parser = _Parser(
        prog="agw-sandbox",
        description="A guided agentgateway sandbox: give the gateway an LLM API key inline, "
                    "from a Secret, or by passthrough, and watch what happens.",
    )
    parser.add_argument("--version", action="version", version=f"agw-sandbox {__version__}")
    _global_options(parser, suppress=False)
    if named is not None and not named and argv is not None and not {"-h", "--help"} & {*argv}:
        parser.set_defaults(command=None)
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str,
                profile: bool = True) -> argparse.ArgumentParser | _Unnamed:
        if named is not None and name not in named:
            sub.add_parser(name, help=help)
            return _Unnamed()
        common = _Parser(add_help=False)
        _global_options(common, suppress=True, profile=profile)
        return sub.add_parser(name, parents=[common], help=help)

    run = command("run", "walk through scenarios without the UI; exit 0 if all pass")
    run.add_argument("scenario_ids", nargs="*", metavar="SCENARIO")
    run.add_argument("--all", action="store_true", help="every scenario, in order")
    run.add_argument("--json", action="store_true", help="print one JSON result document")
    run.add_argument("--verbose", "-v", action="store_true",
                     help="also print the equivalent kubectl/curl commands")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="set a scenario variable")
    run.add_argument("--compare-sim", action="store_true",
                     help="with kind or cluster: run the scenarios on the simulation too and "
                          "report every step where the two disagree (exit 1 if any)")
    run.add_argument("--transcript", type=Path, default=None, metavar="FILE.md",
                     help="also write a Markdown record of every step (manifests, commands, "
                          "requests as curl, responses, conditions; keys masked)")

    manifests = command("manifests", "print a scenario's rendered manifests")
    manifests.add_argument("scenario_id", metavar="SCENARIO")
    manifests.add_argument("--compare", action="store_true",
                           help="show what changes under the other API profile, as a diff of "
                                "the documented manifests (keys masked)")
    manifests.add_argument("--show-secrets", action="store_true",
                           help="print keys unmasked (careful on a projector)")

    scenarios = command("scenarios", "list the scenarios (and check extra dirs)")
    scenarios.add_argument("--check", type=Path, action="append", default=[], metavar="DIR",
                           help="validate a scenario directory and report every problem")

    mock = command("mock-provider", "run the OpenAI-compatible mock provider")
    mock.add_argument("--host", default="127.0.0.1", type=printable,
                      help="address to listen on (default 127.0.0.1; ::1 for IPv6; another "
                           "needs --public)")
    mock.add_argument("--public", action="store_true",
                      help="let --host be an address other machines reach (0.0.0.0: all)")
    mock.add_argument("--accept-key", action="append", default=[], metavar="KEY",
                      help="a key to accept (default: the sandbox token)")

    serve = command(
        "serve", "serve the app to web browsers, one app per tab (workshops); --port is the page's")
    serve.add_argument("--host", default=None, type=printable,
                       help="address to listen on (default 127.0.0.1, this machine only; another "
                            "needs --public)")
    serve.add_argument("--public", action="store_true",
                       help="serve other machines too (--host defaults to 0.0.0.0): anyone who "
                            "can reach the port drives the sandbox and its key")
    serve.add_argument("--gateway-port", type=port_number, default=0, metavar="PORT",
                       help="each app's local gateway port (default 0: a free one per tab)")
    serve.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       type=allowed_host,
                       help="a name the page may be loaded under besides this machine's own "
                            "(a DNS name pointing here; repeatable)")
    serve.add_argument("--max-tabs", type=tab_count, default=None, metavar="N",
                       help="apps (browser tabs) at once, each some 40 MB (default 40)")

    command("doctor", "check Docker, kind, helm, kubectl and the port")
    up = command("up", "create (or reuse) the kind cluster and install kgateway; --context uses "
                       "your own cluster")
    forward = command("forward", "bring the cluster up and hold a port-forward to the gateway "
                                 "(Ctrl+C stops it)")
    for bundled in (run, up, forward):
        bundled.add_argument("--bundle", type=bundle_folder, default=None, metavar="DIR",
                             help="kind runtime: take every image, chart and the Gateway API "
                                  "CRDs from a bundle made by `prepare` (no network)")
    prepare = command(
        "prepare", "save every pinned image, chart and the Gateway API CRDs into DIR, for "
                   "`up --bundle DIR` where the network is poor (run it online)", profile=False)
    prepare.add_argument("directory", type=directory, metavar="DIR")
    which = prepare.add_mutually_exclusive_group()
    which.add_argument("--profile", dest="bundle_profile", choices=sorted(PROFILES),
                       default=DEFAULT_PROFILE.name, help="the profile to prepare for "
                                                          f"(default {DEFAULT_PROFILE.name})")
    which.add_argument("--all-profiles", action="store_true", help="every profile")
    command("down", "delete the sandbox's kind cluster")
    command("status", "what is running: cluster, charts, gateway")
    return parser


def _bare_words(argv: Sequence[str]) -> set[str]:
    """The words of a command line that are not options nor, as far as a word after an option
    tells, an option's value: the subcommand, or a typo that argparse answers with the list."""
    words, after_option = set(), False
    for word in argv:
        if word == "--":
            break
        bare = not word.startswith("-")
        if bare and not after_option:
            words.add(word)
        after_option = not bare and "=" not in word
    return words


class _Unnamed:
    """Where the options of a subcommand the command line does not name go: nowhere."""

    def add_argument(self, *_: object, **__: object) -> None:
        return None

    def add_mutually_exclusive_group(self) -> _Unnamed:
        return self
