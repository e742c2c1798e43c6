"""A provider whose answers hold lone surrogates, line separators and invisible text: ``run``
shows each as an escape, its JSON round-trips them and its transcript is written.

The provider is a loopback server of the test's own, reached through a Backend's host and port
(``--provider openai``, so nothing redirects it to the mock provider).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import headless
from sandbox.mock.provider import MockProvider
from sandbox.profiles import DEFAULT_PROFILE
from sandbox.runtimes.sim.runtime import SimRuntime
from sandbox.settings import Settings
from tests.conftest import TOKEN
from tests.untrusted_text import ODD_MODEL, ODD_TEXT, odd_provider, odd_provider_scenario

# How the text report shows ODD_TEXT: every odd character as the escape JSON would write.
SHOWN = ("A \\ud800 B \\udfff C\\u2028D\\u2029E \\udb40\\udc73\\udb40\\udc61\\udb40\\udc79"
         "\\udb40\\udc20\\udb40\\udc79\\udb40\\udc65\\udb40\\udc73 F\\u200bG")


class StrictStdout(io.TextIOWrapper):
    """Standard output as a pipe is: UTF-8, and an encoding error is an error."""

    def __init__(self) -> None:
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)

    def text(self) -> str:
        self.flush()
        data: bytes = self.buffer.getvalue()  # type: ignore[attr-defined]
        return data.decode("utf-8")


async def run_against_odd_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   as_json: bool, transcript: Path | None) -> tuple[int, str]:
    with odd_provider() as address:
        folder = odd_provider_scenario(tmp_path / "odd", address[1])

        def sim(settings: Settings, name: str, **_: Any) -> SimRuntime:
            return SimRuntime(DEFAULT_PROFILE, 0, "openai", [TOKEN], token_delay=0.0,
                              openai_address=address)  # the preflight's connect finds it

        monkeypatch.setattr(headless, "make_runtime", sim)
        out = StrictStdout()
        monkeypatch.setattr(sys, "stdout", out)
        settings = Settings(runtime="sim", provider="openai", port=0, token=TOKEN,
                            scenario_dirs=(folder,))
        code = await headless.run(settings, "sim", ["odd"], False, as_json, True,
                                  transcript_path=transcript)
    return code, out.text()


async def test_run_shows_them_as_escapes_and_writes_the_transcript(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = await run_against_odd_provider(tmp_path, monkeypatch, False, tmp_path / "t.md")
    assert code == 0, out
    assert f"· model gpt-4o\\ud800\n               {SHOWN}\n" in out  # the answer's body
    assert f"stream:   {SHOWN}" in out
    assert "\u2028" not in out and "\U000e0073" not in out and "\u200b" not in out
    assert f"Transcript (keys masked) written to {tmp_path / 't.md'}" in out
    written = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert "gpt-4o\\ud800" in written and "C\\u2028D" in written
    assert "\U000e0073" not in written and TOKEN not in written


async def test_run_json_keeps_the_answer_as_it_came(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = await run_against_odd_provider(tmp_path, monkeypatch, True, tmp_path / "t.md")
    assert code == 0, out
    document = json.loads(out)
    ask, stream = document["scenarios"][-1]["steps"][2:4]
    assert ask["response"]["model"] == stream["response"]["model"] == ODD_MODEL
    assert ODD_TEXT in ask["response"]["body"]
    assert (tmp_path / "t.md").is_file()


async def test_the_transcript_on_standard_output_too(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = await run_against_odd_provider(tmp_path, monkeypatch, False, Path("-"))
    assert code == 0
    assert "# agw-sandbox transcript" in out and "gpt-4o\\ud800" in out


@pytest.mark.parametrize("stream", [False, True])
def test_the_mock_provider_echoes_a_lone_surrogate_as_json_escapes_it(stream: bool) -> None:
    """A client's JSON may hold ``"\\ud800"``: the mock answers it, as any provider would."""
    provider = MockProvider([TOKEN], token_delay=0.0)
    provider.start()
    try:
        body = json.dumps({"model": "gpt-4o\ud800", "stream": stream,
                           "messages": [{"role": "user", "content": "hi \udcff"}]})
        response = httpx.post(f"{provider.url}/v1/chat/completions", content=body, timeout=10,
                              headers={"Authorization": f"Bearer {TOKEN}",
                                       "Content-Type": "application/json"})
        failures = provider.failures
    finally:
        provider.stop()
    assert response.status_code == 200 and failures == ()
    first = response.text if not stream else response.text.split("data: ")[1]
    answer = json.loads(first)
    assert answer["model"] == "gpt-4o\ud800"
