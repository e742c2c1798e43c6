"""The mock provider speaks the OpenAI API and checks keys like the real one."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.mock.provider import RECEIVED_LIMIT, MockProvider, Received
from sandbox.runtimes.kube.mock_deployment import mock_sources
from tests.conftest import OTHER_TOKEN, TOKEN
from tests.helpers import run_cli, stop_with

BODY = {"model": "gpt-3.5-turbo", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def provider() -> Iterator[MockProvider]:
    running = MockProvider([TOKEN], token_delay=0.0).start()
    yield running
    running.stop()


def post(provider: MockProvider, headers: dict[str, str], body: object = BODY) -> httpx.Response:
    return httpx.post(f"{provider.url}/v1/chat/completions", json=body, headers=headers,
                      trust_env=False)


def test_no_key_is_a_401_shaped_like_openai(provider: MockProvider) -> None:
    response = post(provider, {})
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] is None
    assert error["message"].startswith("You didn't provide an API key")


def test_unknown_key_is_invalid_api_key_and_named_only_masked(provider: MockProvider) -> None:
    response = post(provider, {"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert OTHER_TOKEN not in response.text and "sk-…z0Xc" in response.text


def test_accepted_key_gets_a_deterministic_completion_naming_the_masked_key(
        provider: MockProvider) -> None:
    first = post(provider, {"Authorization": f"Bearer {TOKEN}"})
    second = post(provider, {"Authorization": f"Bearer {TOKEN}"})
    assert first.status_code == 200 and first.json() == second.json()
    body = first.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-3.5-turbo"
    assert "sk-…c5Ge" in body["choices"][0]["message"]["content"]
    assert TOKEN not in first.text
    assert body["usage"]["total_tokens"] == (body["usage"]["prompt_tokens"]
                                             + body["usage"]["completion_tokens"])


def test_an_empty_model_is_refused_like_the_real_provider(provider: MockProvider) -> None:
    response = post(provider, {"Authorization": f"Bearer {TOKEN}"}, {**BODY, "model": ""})
    assert response.status_code == 400
    assert "model" in response.json()["error"]["message"]


@pytest.mark.parametrize(("body", "param"), [
    ({"model": "gpt-4o"}, "missing_required_parameter"),
    ({"model": "gpt-4o", "messages": []}, "empty_array"),
    ({"model": "gpt-4o", "messages": [{}]}, "invalid_value"),
    ({"model": "gpt-4o", "messages": [{"role": "bogus", "content": "hi"}]}, "invalid_value"),
    ({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"},
     "invalid_type"),
], ids=["no-messages", "empty", "no-role", "bogus-role", "stream-text"])
def test_a_body_the_real_api_refuses_is_a_400_not_a_completion(
        provider: MockProvider, body: object, param: str) -> None:
    response = post(provider, {"Authorization": f"Bearer {TOKEN}"}, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["code"] == param


def test_streaming_sends_chunks_and_ends_with_done(provider: MockProvider) -> None:
    with httpx.stream("POST", f"{provider.url}/v1/chat/completions", trust_env=False,
                      json={**BODY, "stream": True},
                      headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert response.headers["content-type"] == "text/event-stream"
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)


def test_models_and_health(provider: MockProvider) -> None:
    assert httpx.get(f"{provider.url}/healthz", trust_env=False).json() == {"status": "ok"}
    models = httpx.get(f"{provider.url}/v1/models", trust_env=False,
                       headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert "gpt-3.5-turbo" in [m["id"] for m in models["data"]]
    assert httpx.get(f"{provider.url}/v1/models", trust_env=False).status_code == 401
    assert httpx.get(f"{provider.url}/nope", trust_env=False).status_code == 404


def test_the_package_imports_only_the_standard_library_and_itself() -> None:
    for name, source in mock_sources().items():
        imports = {line.split()[1].split(".")[0] for line in source.splitlines()
                   if line.startswith(("import ", "from "))}
        assert imports <= set(sys.stdlib_module_names) | {"__future__", ""}, name


@pytest.fixture
def in_cluster(tmp_path: Path) -> list[str]:
    """The ConfigMap's files as the pod mounts them (/app/mock/), run the way the pod runs them,
    by an interpreter that sees no site-packages: what runs must be the standard library's."""
    package = tmp_path / "app" / "mock"
    package.mkdir(parents=True)
    for name, source in mock_sources().items():
        (package / name).write_text(source)
    return [sys.executable, "-E", "-s", "-S", "-m", "mock"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_cli_subcommand_serves_the_configured_key(cli_env: dict[str, str]) -> None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "mock-provider", "--port",
                                str(port)], env=cli_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json=BODY,
                                      headers={"Authorization": f"Bearer {TOKEN}"},
                                      trust_env=False)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "mock-provider did not start"
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert process.returncode == 143  # 128 + SIGTERM, as README says of every command
    assert f"listening on http://127.0.0.1:{port}" in out
    assert TOKEN not in out + err


def test_the_in_cluster_copy_runs_and_reports_a_taken_port(in_cluster: list[str],
                                                            tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([*in_cluster, "--port", str(port), "--accept-key", TOKEN],
                                cwd=tmp_path / "app", capture_output=True, text=True,
                                timeout=10, check=False)
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_record_of_received_requests_stays_bounded(provider: MockProvider) -> None:
    for _ in range(RECEIVED_LIMIT + 50):
        provider.record(Received("POST", "/v1/chat/completions", "sk-…c5Ge", "gpt-4o", 200))
    post(provider, {"Authorization": f"Bearer {TOKEN}"})
    assert len(provider.received) == RECEIVED_LIMIT
    assert provider.received[-1].model == "gpt-3.5-turbo"  # the newest is kept


@pytest.mark.parametrize("command", [("mock-provider",), ("doctor",), ("run", "--all")])
@pytest.mark.parametrize("port", ["70000", "-1", "abc"])
def test_a_port_out_of_range_is_refused_with_the_range(cli_env: dict[str, str],
                                                       command: tuple[str, ...],
                                                       port: str) -> None:
    result = run_cli(*command, "--runtime", "sim", "--port", port, env=cli_env, timeout=20)
    assert result.returncode == 2
    assert f"{port!r} is not a TCP port" in result.stderr
    assert "0 to 65535" in result.stderr and "Traceback" not in result.stderr


def test_doctor_says_what_port_zero_means(cli_env: dict[str, str]) -> None:
    doctor = run_cli("doctor", "--port", "0", env=cli_env)
    assert "0: any free port, picked when the gateway is started" in doctor.stdout


def test_mock_provider_port_8080_means_8080(cli_env: dict[str, str]) -> None:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "mock-provider", "--port",
                                "8080"], env=cli_env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=2)
    except subprocess.TimeoutExpired:  # listening: stop it and read what it said
        process.terminate()
        out, err = process.communicate(timeout=10)
    # Either it listens on 8080 or says 8080 is taken (another test may hold it): never 8000.
    assert ("listening on http://127.0.0.1:8080 " in out
            or "cannot listen on 127.0.0.1:8080" in err), out + err
    assert "8000" not in out + err


def test_the_in_cluster_copy_refuses_a_port_out_of_range(in_cluster: list[str],
                                                          tmp_path: Path) -> None:
    result = subprocess.run([*in_cluster, "--port", "70000"], cwd=tmp_path / "app",
                            capture_output=True, text=True, timeout=10, check=False)
    assert result.returncode == 2
    assert "0 to 65535" in result.stderr and "Traceback" not in result.stderr


def start_mock(argv: list[str], env: dict[str, str], url: str,
               cwd: Path | None = None) -> subprocess.Popen[str]:
    """A mock provider process, once it answers at ``url``."""
    process = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while True:
        try:
            httpx.get(url, trust_env=False)
            return process
        except httpx.ConnectError:
            if process.poll() is not None or time.monotonic() > deadline:
                out, err = process.communicate()
                raise AssertionError(f"mock-provider did not start: {out} {err}") from None
            time.sleep(0.05)


@pytest.mark.parametrize(("signum", "name"), [
    (signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP"),
    (signal.SIGUSR1, "SIGUSR1"), (signal.SIGPWR, "SIGPWR"), (signal.SIGRTMIN + 4, "SIGRTMIN+4")])
def test_a_stop_signal_ends_the_mock_provider_with_its_exit_code(
        cli_env: dict[str, str], in_cluster: list[str], tmp_path: Path, signum: int,
        name: str) -> None:
    port = _free_port()
    here = [sys.executable, "-m", "sandbox", "mock-provider", "--port", str(port)]
    pod = [*in_cluster, "--port", str(port), "--accept-key", TOKEN]
    for argv, cwd in ((here, None), (pod, tmp_path / "app")):
        process = start_mock(argv, cli_env, f"http://127.0.0.1:{port}/healthz", cwd)
        _, _, err = stop_with(process, signum, within=10)  # killed, should it not stop
        assert process.returncode == 128 + signum, err
        assert f"mock-provider: stopped by {name}" in err and "Traceback" not in err
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0  # the port is free again


@pytest.mark.parametrize(("key", "said"), [
    ("", "the key from --accept-key is blank"), ("   ", "the key from --accept-key is blank"),
    ("Bearer sk-test-c5Ge", "the key from --accept-key starts with 'Bearer '"),
    ("sk-test-\u200bc5Ge", "has an invisible or control character (U+200B ZERO WIDTH SPACE) at "
                           "position 9"),
    ("sk-test-café", "has a non-ASCII character (U+00E9) at position 12")])
def test_accept_key_is_checked_like_any_key(cli_env: dict[str, str], key: str,
                                            said: str) -> None:
    result = run_cli("mock-provider", "--port", "0", "--accept-key", key, env=cli_env,
                     timeout=20)
    assert result.returncode == 2
    assert said in result.stderr and "listening" not in result.stdout
    assert key.strip() == "" or key not in result.stderr  # never echoed


def test_the_in_cluster_copy_refuses_to_accept_no_key(in_cluster: list[str],
                                                      tmp_path: Path) -> None:
    result = subprocess.run([*in_cluster, "--port", "0", "--accept-key", "  "],
                            cwd=tmp_path / "app", capture_output=True, text=True, timeout=10,
                            check=False, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "no key to accept" in result.stderr


def test_the_mock_provider_listens_on_ipv6_loopback(cli_env: dict[str, str]) -> None:
    with socket.socket(socket.AF_INET6) as probe:
        try:
            probe.bind(("::1", 0))
        except OSError:
            pytest.skip("this machine has no IPv6 loopback")
        port = int(probe.getsockname()[1])
    process = start_mock([sys.executable, "-m", "sandbox", "mock-provider", "--host", "::1",
                          "--port", str(port)], cli_env, f"http://[::1]:{port}/healthz")
    try:
        response = httpx.post(f"http://[::1]:{port}/v1/chat/completions", json=BODY,
                              headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False)
        assert response.status_code == 200
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    assert f"listening on http://[::1]:{port}" in out


def test_every_address_needs_public(cli_env: dict[str, str]) -> None:
    refused = run_cli("mock-provider", "--host", "0.0.0.0", "--port", "0", env=cli_env,
                      timeout=20)
    assert refused.returncode == 2
    assert "--host 0.0.0.0 is not a loopback address" in refused.stderr
    assert "--public" in refused.stderr
    port = _free_port()
    process = start_mock([sys.executable, "-m", "sandbox", "mock-provider", "--host", "0.0.0.0",
                          "--public", "--port", str(port)], cli_env,
                         f"http://127.0.0.1:{port}/healthz")
    process.terminate()
    _, err = process.communicate(timeout=10)
    assert "answers anyone who can reach it" in err


def test_a_stop_signal_while_a_connection_is_being_taken_still_stops_the_provider(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal lands inside the server's own `except Exception` (handing a new connection to
    its thread): the stop must get through, not be taken for a failed request."""
    from sandbox.mock import cli as mock_cli

    provider = MockProvider([TOKEN], token_delay=0.0)
    take = provider._server.process_request

    def signalled_mid_take(request: socket.socket, address: object) -> None:
        signal.raise_signal(signal.SIGTERM)  # its handler runs here, inside process_request
        take(request, address)

    def served_on(signum: int, frame: object) -> None:
        raise TimeoutError("the stop was swallowed: the provider served on")

    monkeypatch.setattr(provider._server, "process_request", signalled_mid_take)
    previous = signal.signal(signal.SIGALRM, served_on)
    signal.alarm(5)
    try:
        with socket.create_connection(("127.0.0.1", provider.port)):
            assert mock_cli._serve_until_stopped(provider) == 128 + signal.SIGTERM
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
