"""``serve`` refuses, before it listens, a gateway port that is the page's own: every tab's app
would find it taken and tell the learner to "pass --port", an option no tab has."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import run_cli


def refused(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    try:  # a serve that starts runs until stopped: a short wait tells the defect
        return run_cli("serve", *args, env=env, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve {' '.join(args)} started serving instead of refusing")


@pytest.mark.parametrize("args", [
    ("--port", "18791", "--gateway-port", "18791"),
    ("--gateway-port", "8000"),  # the page's default port
    ("--public", "--port", "18793", "--gateway-port", "18793"),
], ids=["both", "default-page-port", "public"])
def test_a_gateway_port_equal_to_the_pages_is_refused_at_start(
        args: tuple[str, ...], cli_env: dict[str, str]) -> None:
    port = args[args.index("--gateway-port") + 1]
    result = refused(*args, env=cli_env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "serving" not in result.stdout
    assert (f"--gateway-port {port} is the port serve's page listens on (--port {port})"
            in result.stderr), result.stderr
    assert "--gateway-port 0" in result.stderr and "Traceback" not in result.stderr


def test_port_0_for_both_or_two_ports_is_no_clash() -> None:
    from sandbox.web.serve import ServeOptions, check_ports

    check_ports(ServeOptions("127.0.0.1", 0, gateway_port=0))  # each picks a free port
    check_ports(ServeOptions("127.0.0.1", 18791, gateway_port=18792))
