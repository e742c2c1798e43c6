"""The mock provider's command line: ``python -m mock`` in the cluster, ``agw-sandbox
mock-provider`` here. Accepted keys come from ``--accept-key`` or the ``MOCK_PROVIDER_KEYS``
environment variable (comma-separated); they are never printed."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .provider import MockProvider

# Ctrl+C and the signals whose default action ends a process (sandbox.stdio.STOP_SIGNALS, which
# this standard-library-only module cannot import): each closes the server and exits 128 + it.
# The synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) are not caught: a
# Python handler returning from a real fault would make the process spin.
_REAL_TIME = (range(signal.SIGRTMIN, signal.SIGRTMAX + 1)
              if hasattr(signal, "SIGRTMIN") and hasattr(signal, "SIGRTMAX") else range(0))
STOP_SIGNALS: tuple[int, ...] = (*(getattr(signal, name) for name in (
    "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGVTALRM",
    "SIGPROF", "SIGXCPU", "SIGIO", "SIGPWR", "SIGSTKFLT") if hasattr(signal, name)), *_REAL_TIME)
# Those the process was started with ignored (`trap '' USR1`) would not have ended it: left so.
_LEFT_ALONE = frozenset(sig for sig in STOP_SIGNALS
                        if sig not in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", 0))
                        and signal.getsignal(sig) == signal.SIG_IGN)


def _signal_name(signum: int) -> str:
    """SIGTERM, or SIGRTMIN+3 for a real-time signal, which has no name of its own."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"SIGRTMIN+{signum - signal.SIGRTMIN}" if signum in _REAL_TIME else str(signum)


def port_number(text: str) -> int:
    """An argparse type: a TCP port from 0 to 65535, where 0 means any free port."""
    port = int(text) if text.strip().lstrip("+-").isdigit() else -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a TCP port: use a number from 0 to 65535 (0 picks a free one)")
    return port


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mock-provider", description="OpenAI-compatible mock provider that reveals masked keys"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="TCP port, 0 to 65535 (0 picks a free one)")
    parser.add_argument("--accept-key", action="append", default=[],
                        help="an API key to accept (repeatable); also MOCK_PROVIDER_KEYS")
    args = parser.parse_args(argv)
    from .provider import MockProvider

    keys = [*args.accept_key, *os.environ.get("MOCK_PROVIDER_KEYS", "").split(",")]
    if not any(key.strip() for key in keys):  # it would refuse every request: say so now
        print("mock-provider: no key to accept (--accept-key is blank, MOCK_PROVIDER_KEYS "
              "unset). Pass --accept-key with the key your client sends.", file=sys.stderr)
        return 2
    try:
        provider = MockProvider(keys, host=args.host, port=args.port)
    except OSError as exc:
        taken = exc.errno in (errno.EADDRINUSE, errno.EACCES)
        print(f"mock-provider: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. "
              + ("Pass --port with a free port (0 picks one)." if taken else
                 "Pass --host with an address of this machine, such as 127.0.0.1."),
              file=sys.stderr)
        return 2
    print(f"mock provider listening on {provider.url} "
          f"({len(provider.accepted_keys)} accepted key(s))", flush=True)
    return _serve_until_stopped(provider)


class _Stopped(BaseException):
    """A stop signal. Not an Exception: the server's own ``except Exception`` (around taking a
    new connection) would take it for a failed request and serve on, deaf to the next signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _serve_until_stopped(provider: MockProvider) -> int:
    """Serve until Ctrl+C or a stop signal (SIGTERM…); exit 128 + the signal, as shells do."""
    def stop(signum: int, frame: object) -> None:
        for handled in previous:  # a second signal must not cut the close short
            signal.signal(handled, signal.SIG_IGN)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in STOP_SIGNALS
                if signum not in _LEFT_ALONE}
    try:
        provider.serve_forever()
    except _Stopped as stopped:
        print(f"mock-provider: stopped by {_signal_name(stopped.signum)}",
              file=sys.stderr, flush=True)
        return 128 + stopped.signum
    finally:
        provider._server.server_close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
