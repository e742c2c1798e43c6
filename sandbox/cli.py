"""The composition root: parses arguments, builds the real adapters, runs a subcommand."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox import __version__
from sandbox.errors import SandboxError
from sandbox.settings import PROVIDERS, RUNTIMES, Settings, choose_runtime, resolve_token


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every subcommand takes, before or after its name."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument("--runtime", choices=RUNTIMES, default=default("auto"),
                        help="kind (real cluster), cluster (your kubeconfig), sim (offline); "
                             "auto picks kind when Docker answers, else sim")
    parser.add_argument("--provider", choices=PROVIDERS, default=default("mock"),
                        help="mock (free, offline) or openai (real key, real calls)")
    parser.add_argument("--port", type=int, default=default(8080),
                        help="local port of the gateway (0 picks a free one)")
    parser.add_argument("--scenarios", type=Path, action="append", default=default([]),
                        metavar="DIR", help="an extra directory of scenario files (repeatable)")
    parser.add_argument("--token", default=default(None),
                        help="the API key the scenarios use (prefer the AGW_SANDBOX_TOKEN or "
                             "OPENAI_API_KEY environment variables: they stay out of shell "
                             "history)")
    parser.add_argument("--context", default=default(None),
                        help="kubeconfig context for --runtime cluster")
    parser.add_argument("--cluster-name", default=default("agw-sandbox"), help="kind cluster name")
    parser.add_argument("--install-kgateway", action="store_true", default=default(False),
                        help="with --context: install kgateway if it is missing, without asking")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agw-sandbox",
        description="A guided agentgateway sandbox: give the gateway an LLM API key inline, "
                    "from a Secret, or by passthrough, and watch what happens.",
    )
    parser.add_argument("--version", action="version", version=f"agw-sandbox {__version__}")
    _global_options(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", parents=[common], help="walk through scenarios without the UI; exit 0 if all pass")
    run.add_argument("scenario_ids", nargs="*", metavar="SCENARIO")
    run.add_argument("--all", action="store_true", help="every scenario, in order")
    run.add_argument("--json", action="store_true", help="print one JSON result document")
    run.add_argument("--verbose", "-v", action="store_true",
                     help="also print the equivalent kubectl/curl commands")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="set a scenario variable")

    manifests = sub.add_parser(
        "manifests", parents=[common], help="print a scenario's rendered manifests")
    manifests.add_argument("scenario_id", metavar="SCENARIO")
    manifests.add_argument("--show-secrets", action="store_true",
                           help="print keys unmasked (careful on a projector)")

    scenarios = sub.add_parser(
        "scenarios", parents=[common], help="list the scenarios (and check extra dirs)")
    scenarios.add_argument("--check", type=Path, action="append", default=[], metavar="DIR",
                           help="validate a scenario directory and report every problem")

    mock = sub.add_parser(
        "mock-provider", parents=[common], help="run the OpenAI-compatible mock provider")
    mock.add_argument("--host", default="127.0.0.1")
    mock.add_argument("--accept-key", action="append", default=[], metavar="KEY",
                      help="a key to accept (default: the sandbox token)")

    sub.add_parser("doctor", parents=[common],
                   help="check Docker, kind, helm, kubectl and the port")
    sub.add_parser("up", parents=[common],
                   help="create (or reuse) the kind cluster and install kgateway; --context "
                        "uses your own cluster")
    sub.add_parser("forward", parents=[common],
                   help="bring the cluster up and hold a port-forward to the gateway (Ctrl+C "
                        "stops it)")
    sub.add_parser("down", parents=[common], help="delete the sandbox's kind cluster")
    sub.add_parser("status", parents=[common], help="what is running: cluster, charts, gateway")
    return parser


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    result = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SandboxError(f"--set {pair!r} is not NAME=VALUE", "write it as --set name=value")
        result[name.strip()] = value
    return result


def settings_from(args: argparse.Namespace) -> Settings:
    if not 0 <= args.port <= 65535:
        raise SandboxError(f"--port {args.port} is not a TCP port", "use a number from 1 to 65535")
    return Settings(
        runtime=args.runtime, provider=args.provider, port=args.port,
        token=resolve_token(args.provider, args.token, os.environ),
        scenario_dirs=tuple(args.scenarios), context=args.context,
        cluster_name=args.cluster_name, overrides=_overrides(getattr(args, "set", [])),
        install_kgateway=args.install_kgateway,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(parser, args)
    except SandboxError as exc:
        print(f"agw-sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agw-sandbox: interrupted; everything it started has been stopped", file=sys.stderr)
        return 130


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "mock-provider":
        from sandbox import mock_provider

        keys = args.accept_key or [resolve_token("mock", args.token, os.environ)]
        port = args.port if args.port != 8080 else 8000
        return mock_provider.main(["--host", args.host, "--port", str(port),
                                   *[a for k in keys for a in ("--accept-key", k)]])
    if args.command == "doctor":
        from sandbox import headless

        return asyncio.run(headless.doctor(args.port, args.cluster_name))
    settings = settings_from(args)
    if args.command is None:  # the app paints first; the CLI's modules would only delay it
        return _open_app(settings)
    from sandbox import headless

    if args.command == "manifests":
        return headless.manifests(settings, args.scenario_id, args.show_secrets)
    if args.command == "scenarios":
        return headless.scenarios(settings, args.check)
    if args.command in ("up", "forward", "down", "status"):
        return asyncio.run(headless.cluster_command(args.command, settings))
    if args.command == "run":
        if not args.all and not args.scenario_ids:
            parser.error("run needs scenario ids or --all")
        runtime, notice = choose_runtime(settings.runtime, settings.context)
        if notice:
            print(f"agw-sandbox: {notice}", file=sys.stderr)
        return asyncio.run(headless.run(settings, runtime, args.scenario_ids, args.all,
                                        args.json, args.verbose))
    return _open_app(settings)


def _open_app(settings: Settings) -> int:
    from sandbox.app import make_app

    app = make_app(settings)
    app.run()
    if app.return_code:
        return app.return_code
    return 0
