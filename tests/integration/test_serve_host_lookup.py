"""`serve --host NAME`: a name is looked up within a few seconds, whatever the resolver does."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.errors import SandboxError
from sandbox.settings import Settings
from sandbox.web import listen as listen_module
from sandbox.web.serve import ServeOptions, serve
from tests.conftest import TOKEN
from tests.helpers import run_cli


@pytest.fixture
def silent_resolver(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A resolver that never answers (packets to it dropped): each lookup waits until the test
    ends, then fails as glibc does after its own timeouts. Returns the names asked."""
    released = threading.Event()
    asked: list[str] = []

    def never_answers(host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(str(host))
        released.wait(30)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", never_answers)
    monkeypatch.setattr(listen_module, "HOST_LOOKUP_SECONDS", 0.5)
    yield asked
    released.set()


def test_a_name_the_resolver_never_answers_for_is_said_within_seconds(
        silent_resolver: list[str]) -> None:
    """Before: serve waited on the lookup for as long as the resolver took (no deadline)."""
    options = ServeOptions(host="workshop-room.lan", port=0, public=True)
    started = time.monotonic()
    with pytest.raises(SandboxError) as caught:
        serve(Settings(runtime="sim", token=TOKEN), options)
    assert time.monotonic() - started < 3
    assert silent_resolver == ["workshop-room.lan"]
    assert caught.value.message == ("cannot listen on workshop-room.lan:0: the host "
                                    "'workshop-room.lan' could not be resolved in 0.5 s")
    assert "give --host as an address" in caught.value.hint
    assert "resolver" in caught.value.hint


def test_an_address_is_never_looked_up(silent_resolver: list[str]) -> None:
    with pytest.raises(SandboxError) as caught:  # TEST-NET-2: nobody's machine
        serve(Settings(runtime="sim", token=TOKEN),
              ServeOptions(host="198.51.100.7", port=0, public=True))
    assert "could not be resolved" not in caught.value.message
    assert "is not an address of this machine" in caught.value.message


def test_an_invalid_name_is_said_as_not_resolving(cli_env: dict[str, str]) -> None:
    """``.invalid`` never resolves (RFC 6761): said at once, naming the host."""
    started = time.monotonic()
    result = run_cli("serve", "--runtime", "sim", "--port", "0", "--public", "--host",
                     "projector.workshop.invalid", env=cli_env)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert ("the host 'projector.workshop.invalid' does not resolve to an address"
            in result.stderr), result.stderr
    assert "check --host" in result.stderr
