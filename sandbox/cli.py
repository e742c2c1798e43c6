"""The composition root: parses arguments, builds the real adapters, runs a subcommand.

Over 300 lines because every subcommand's options are declared here, in one parser, so that
``--help`` and the checks on each option (ports, names, keys) live in one place.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from sandbox import __version__, stdio
from sandbox.errors import SandboxError
from sandbox.mock import cli as mock_cli
from sandbox.mock.cli import port_number
from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.settings import (
    PROVIDERS,
    RUNTIMES,
    Settings,
    allowed_host,
    check_key,
    cluster_name,
    directory,
    known_keys,
    overrides,
    printable,
    resolve_token,
    tab_count,
)
from sandbox.untrusted import visible

GATEWAY_PORT = 8080  # --port when not given; the mock provider's own default differs
MOCK_PORT = 8000
SERVE_PORT = 8000


def object_name(text: str) -> str:
    """The type of --namespace and --gateway: a Kubernetes name (RFC 1123 label), checked
    before anything is written rather than refused by the API server halfway through."""
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Kubernetes name: use at most 63 lower-case letters, digits "
            "and dashes, starting and ending with a letter or digit")
    return text


EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug in agw-sandbox itself


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
    common_but_profile = argparse.ArgumentParser(add_help=False)
    _global_options(common_but_profile, suppress=True, profile=False)
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
    run.add_argument("--compare-sim", action="store_true",
                     help="with kind or cluster: run the scenarios on the simulation too and "
                          "report every step where the two disagree (exit 1 if any)")
    run.add_argument("--transcript", type=Path, default=None, metavar="FILE.md",
                     help="also write a Markdown record of every step (manifests, commands, "
                          "requests as curl, responses, conditions; keys masked)")

    manifests = sub.add_parser(
        "manifests", parents=[common], help="print a scenario's rendered manifests")
    manifests.add_argument("scenario_id", metavar="SCENARIO")
    manifests.add_argument("--compare", action="store_true",
                           help="show what changes under the other API profile, as a diff of "
                                "the documented manifests (keys masked)")
    manifests.add_argument("--show-secrets", action="store_true",
                           help="print keys unmasked (careful on a projector)")

    scenarios = sub.add_parser(
        "scenarios", parents=[common], help="list the scenarios (and check extra dirs)")
    scenarios.add_argument("--check", type=Path, action="append", default=[], metavar="DIR",
                           help="validate a scenario directory and report every problem")

    mock = sub.add_parser(
        "mock-provider", parents=[common], help="run the OpenAI-compatible mock provider")
    mock.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1; ::1 for IPv6; another "
                           "needs --public)")
    mock.add_argument("--public", action="store_true",
                      help="let --host be an address other machines reach (0.0.0.0: all)")
    mock.add_argument("--accept-key", action="append", default=[], metavar="KEY",
                      help="a key to accept (default: the sandbox token)")

    serve = sub.add_parser(
        "serve", parents=[common],
        help="serve the app to web browsers, one app per tab (workshops); --port is the page's")
    serve.add_argument("--host", default=None,
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

    sub.add_parser("doctor", parents=[common],
                   help="check Docker, kind, helm, kubectl and the port")
    up = sub.add_parser("up", parents=[common],
                        help="create (or reuse) the kind cluster and install kgateway; "
                             "--context uses your own cluster")
    forward = sub.add_parser("forward", parents=[common],
                             help="bring the cluster up and hold a port-forward to the gateway "
                                  "(Ctrl+C stops it)")
    for command in (run, up, forward):
        command.add_argument("--bundle", type=Path, default=None, metavar="DIR",
                             help="kind runtime: take every image, chart and the Gateway API "
                                  "CRDs from a bundle made by `prepare` (no network)")
    prepare = sub.add_parser(
        "prepare", parents=[common_but_profile],
        help="save every pinned image, chart and the Gateway API CRDs into DIR, for "
             "`up --bundle DIR` where the network is poor (run it online)")
    prepare.add_argument("directory", type=directory, metavar="DIR")
    which = prepare.add_mutually_exclusive_group()
    which.add_argument("--profile", dest="bundle_profile", choices=sorted(PROFILES),
                       default=DEFAULT_PROFILE.name, help="the profile to prepare for "
                                                          f"(default {DEFAULT_PROFILE.name})")
    which.add_argument("--all-profiles", action="store_true", help="every profile")
    sub.add_parser("down", parents=[common], help="delete the sandbox's kind cluster")
    sub.add_parser("status", parents=[common], help="what is running: cluster, charts, gateway")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    port = GATEWAY_PORT if args.port is None else args.port  # port_number checked its range
    runtime, bundle = args.runtime, getattr(args, "bundle", None)
    if bundle is not None:
        if runtime in ("sim", "cluster") or args.context:
            raise SandboxError(
                "--bundle works with the kind runtime only: it creates the cluster from the "
                "bundle's node image and loads the other images into it",
                "drop --runtime/--context, or drop --bundle")
        runtime = "kind"
    return Settings(
        runtime=runtime, provider=args.provider, port=port,
        token=resolve_token(args.provider, args.token, os.environ),
        scenario_dirs=tuple(args.scenarios), context=args.context,
        cluster_name=_cluster_name(args), overrides=overrides(getattr(args, "set", [])),
        install_kgateway=args.install_kgateway, assume_yes=args.yes,
        namespace=args.namespace, gateway=args.gateway, profile=args.profile,
        bundle=bundle,
    )


def _cluster_name(args: argparse.Namespace) -> str:
    """One kind cluster per profile: their Gateway API CRDs cannot share a cluster."""
    return str(args.cluster_name or PROFILES[args.profile].cluster_name)


def main(argv: Sequence[str] | None = None) -> int:
    stdio.prepare_streams()
    try:
        code = _main(argv)
    except SystemExit as exc:  # argparse after --help or --version: their text may be lost too
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BrokenPipeError:  # the reader went away (`| head -1`): stop quietly, as `yes` does
        stdio.discard_stdout()
        return stdio.EXIT_BROKEN_PIPE
    finally:
        stdio.release_streams()  # a terminal that has gone must not change the exit code
    lost = stdio.stdout_lost()  # a full device, `>&-`: the output vanished, so no success
    if lost is not None:
        stdio.say(f"agw-sandbox: {lost}")
        return code or 2
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        with stdio.raise_on_stop_signals():
            try:
                args = parser.parse_args(argv)
            finally:
                sys.stdout.flush()  # --help into a closed pipe fails here, not at exit
            code = _dispatch(parser, args)
            sys.stdout.flush()  # a reader that left shows up here, not in Python's last flush
            return code
    except SandboxError as exc:
        stdio.say(f"agw-sandbox: {exc}")
        return 2
    except stdio.Terminated as exc:
        stdio.say(f"agw-sandbox: stopped by {exc.signal_name}; everything it started has been "
                  "stopped")
        return exc.exit_code
    except KeyboardInterrupt:
        stdio.say("agw-sandbox: interrupted; everything it started has been stopped")
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # the last resort: a bug must not end in a traceback either
        if os.environ.get("AGW_SANDBOX_DEBUG"):
            raise
        stdio.say(f"agw-sandbox: internal error ({_where(exc)}); this is a bug in agw-sandbox\n"
                  "  hint: rerun with AGW_SANDBOX_DEBUG=1 to see the details, and report them")
        return EXIT_INTERNAL


def _where(exc: BaseException) -> str:
    """The exception's type and our innermost line; not its text, which could hold a key."""
    package = Path(__file__).resolve().parent
    ours = [frame for frame in traceback.extract_tb(exc.__traceback__)
            if Path(frame.filename).resolve().is_relative_to(package)]
    if not ours:
        return type(exc).__name__
    where = Path(ours[-1].filename).resolve().relative_to(package.parent)
    return f"{type(exc).__name__} at {where}:{ours[-1].lineno}"


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "mock-provider":
        return _mock_provider(args)
    if args.command == "doctor":
        from sandbox import headless

        port = GATEWAY_PORT if args.port is None else args.port
        return asyncio.run(headless.doctor(port, _cluster_name(args),
                                           known_keys(args.token, os.environ)))
    if args.command == "prepare":
        from sandbox import headless

        names = sorted(PROFILES) if args.all_profiles else [args.bundle_profile]
        return asyncio.run(headless.prepare(args.directory, [PROFILES[n] for n in names]))
    settings = settings_from(args)
    if args.command is None:  # the app paints first; the CLI's modules would only delay it
        return _open_app(settings)
    from sandbox import headless

    if args.command == "manifests":
        return headless.manifests(settings, args.scenario_id, args.show_secrets, args.compare)
    if args.command == "scenarios":
        return headless.scenarios(settings, args.check)
    if args.command in ("up", "forward", "down", "status"):
        return asyncio.run(headless.cluster_command(args.command, settings))
    if args.command == "serve":
        from sandbox.web import serve

        host = args.host or ("0.0.0.0" if args.public else "127.0.0.1")
        port = SERVE_PORT if args.port is None else args.port
        return serve.serve(settings, serve.ServeOptions(
            host, port, args.public, args.gateway_port, tuple(args.allow_host),
            args.max_tabs or serve.MAX_TABS))
    if args.command == "run":
        if not args.all and not args.scenario_ids:
            parser.error("run needs scenario ids or --all")
        if args.all and args.scenario_ids:
            parser.error(visible(f"run takes scenario ids or --all, not both (got "
                                 f"{' '.join(args.scenario_ids)} and --all)"))
        from sandbox.runtimes.factory import choose_runtime
        from sandbox.walkthrough.masking import Masker

        runtime, notice = choose_runtime(settings.runtime, settings.context)
        if notice:  # it may quote a Docker setting, which may hold a key
            stdio.say(f"agw-sandbox: {Masker(known_keys(settings.token, os.environ))(notice)}")
        return asyncio.run(headless.run(settings, runtime, args.scenario_ids, args.all,
                                        args.json, args.verbose, args.compare_sim,
                                        args.transcript))
    return _open_app(settings)


def _mock_provider(args: argparse.Namespace) -> int:
    """The mock provider, with its keys checked as every key is, on loopback unless --public."""
    from sandbox.web.guard import is_loopback

    keys = ([check_key(key, "--accept-key") for key in args.accept_key]
            or [resolve_token("mock", args.token, os.environ)])
    if not is_loopback(args.host):
        if not args.public:
            raise SandboxError(f"--host {args.host} is not a loopback address",
                               "add --public to let other machines reach the mock provider, "
                               "or leave --host out (127.0.0.1)")
        stdio.say(f"agw-sandbox: warning: the mock provider on {args.host} answers anyone who "
                  "can reach it")
    port = MOCK_PORT if args.port is None else args.port
    return mock_cli.main(["--host", args.host, "--port", str(port),
                          *[a for k in keys for a in ("--accept-key", k)]])


def _open_app(settings: Settings) -> int:
    if not _on_a_terminal():
        raise SandboxError("the app needs a terminal (stdin, stdout and stderr must be one)",
                           "use `agw-sandbox run --all` for a walkthrough without the app")
    from sandbox.tui.app import make_app

    app = make_app(settings)
    with stdio.call_on_stop_signals(lambda code: app.exit(return_code=code), interrupt=True,
                                    on_signal=_end_app_within_grace) as stop:
        app.run()
    if stop.signum == signal.SIGINT:
        raise KeyboardInterrupt
    if stop.signum is not None:  # said after the app restored the terminal
        raise stdio.Terminated(stop.signum)
    if app.terminal_gone:
        return 128 + signal.SIGHUP
    if app.return_code:
        return app.return_code
    return 0


def _end_app_within_grace(signum: int) -> None:
    """A stop signal: should the app not manage to leave in time (its loop stuck on a terminal
    that has gone), stop what it started and end it anyway."""
    from sandbox import proc

    stdio.end_process_within(stdio.EXIT_GRACE, 128 + signum, proc.stop_everything_started)


def _on_a_terminal() -> bool:
    if os.environ.get("TEXTUAL_DRIVER"):  # a driver of its own (textual-serve's web driver)
        return True
    return all(stream is not None and stream.isatty()
               for stream in (sys.stdin, sys.stdout, sys.stderr))
