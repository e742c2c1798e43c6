"""The composition root: parses arguments (``parser``), builds the real adapters, runs a
subcommand."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from sandbox import stdio
from sandbox.cli.parser import build_parser
from sandbox.errors import SandboxError
from sandbox.mock import cli as mock_cli
from sandbox.profiles import PROFILES
from sandbox.settings import Settings, check_key, known_keys, overrides, resolve_token
from sandbox.untrusted import quoted, visible

GATEWAY_PORT = 8080  # --port when not given; the mock provider's own default differs
MOCK_PORT = 8000
SERVE_PORT = 8000


EXIT_INTERNAL = 70  # EX_SOFTWARE from sysexits.h: a bug in agw-sandbox itself


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
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args: argparse.Namespace | None = None
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
        stdio.say(f"agw-sandbox: {_masked(str(exc), args)}")
        return 2
    except stdio.Terminated as exc:
        _stop_what_is_left()
        stdio.say(f"agw-sandbox: stopped by {exc.signal_name}; everything it started has been "
                  "stopped")
        return exc.exit_code
    except KeyboardInterrupt:
        _stop_what_is_left()
        stdio.say("agw-sandbox: interrupted; everything it started has been stopped")
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:  # the last resort: a bug must not end in a traceback either
        if os.environ.get("AGW_SANDBOX_DEBUG"):  # the trace, with every secret masked
            stdio.say(_masked("".join(traceback.format_exception(exc)).rstrip(), args))
            return EXIT_INTERNAL
        stdio.say(f"agw-sandbox: internal error ({_where(exc)}); this is a bug in agw-sandbox\n"
                  "  hint: rerun with AGW_SANDBOX_DEBUG=1 to see the details, and report them")
        return EXIT_INTERNAL


def _stop_what_is_left() -> None:
    """What a stop left running, before saying everything has been stopped: a process whose
    start the signal interrupted, before the command knew it had one to stop."""
    from sandbox import proc

    proc.stop_everything_started()


def _masked(text: str, args: argparse.Namespace | None) -> str:
    """``text`` with every key this process holds masked, and every credential a kubeconfig or
    an exec plugin gave it: an error may quote what a daemon, a server or a file said
    (`prepare` names a Docker daemon's error answer)."""
    from sandbox.runtimes.kube.secrets import known_to_process
    from sandbox.walkthrough.masking import Masker

    return Masker([*known_keys(getattr(args, "token", None), os.environ),
                   *sorted(known_to_process())])(text)


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

        host = args.host if args.host is not None else "0.0.0.0" if args.public else "127.0.0.1"
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


# The values Textual passes on to Rich, which fails on any other with a KeyError.
COLOR_SYSTEMS = ("auto", "standard", "256", "truecolor", "windows")


def _open_app(settings: Settings) -> int:
    chosen = os.environ.get("TEXTUAL_COLOR_SYSTEM")
    if chosen is not None and chosen not in COLOR_SYSTEMS:
        raise SandboxError(f"TEXTUAL_COLOR_SYSTEM is {quoted(chosen)}, which is not a colour "
                           f"system the app knows ({', '.join(COLOR_SYSTEMS)})",
                           "unset it (`unset TEXTUAL_COLOR_SYSTEM`) or set one of those")
    driver = os.environ.get("TEXTUAL_DRIVER")
    if driver is not None:
        from sandbox.tui.terminal import driver_problem, load_driver, unloadable_driver

        if (problem := driver_problem(driver)) is not None:
            raise unloadable_driver(driver, problem)
        load_driver(driver)
    if not _on_a_terminal():
        raise SandboxError("the app needs a terminal (stdin, stdout and stderr must be one)",
                           "use `agw-sandbox run --all` for a walkthrough without the app")
    from sandbox.tui import sent_faults

    # No garbage collection until the first frame is on screen (the app turns it back on):
    # importing Textual and building the first screen only makes objects that live on, and
    # collecting the young ones again and again is a tenth of the time to the first paint.
    gc.disable()
    try:
        with sent_faults.blocked():  # before the app starts a thread: they all inherit it
            from sandbox.tui.app import make_app

            app = make_app(settings)
            with stdio.call_on_stop_signals(lambda code: app.exit(return_code=code),
                                            interrupt=True, on_signal=_end_app_within_grace,
                                            also=sent_faults.TAKEN) as stop:
                app.run()
    finally:  # an app that ended before its first frame
        gc.enable()
    if stop.signum == signal.SIGINT:
        raise KeyboardInterrupt
    if stop.signum is not None:  # said after the app restored the terminal
        raise stdio.Terminated(stop.signum)
    if app.terminal_gone:  # whatever failed on the way out (writing to it, first of all)
        return 128 + signal.SIGHUP
    if app.crashed is not None:
        raise app.crashed  # said as a bug, masked, after the app restored the terminal
    if app.return_code:
        return app.return_code
    return 0


def _end_app_within_grace(signum: int) -> None:
    """A stop signal: should the app not manage to leave in time (its loop stuck on a terminal
    that has gone), stop what it started and end it anyway."""
    from sandbox import proc

    stdio.end_process_within(stdio.EXIT_GRACE, 128 + signum, proc.stop_everything_started)


def _on_a_terminal() -> bool:
    """Whether the app has a terminal to draw on; serve's web driver, which draws in a browser
    tab, needs none (any other driver, Textual's own included, needs one)."""
    from sandbox.web import DRIVER

    if os.environ.get("TEXTUAL_DRIVER") == DRIVER:
        return True
    return all(stream is not None and stream.isatty()
               for stream in (sys.stdin, sys.stdout, sys.stderr))
