"""Expectations mean what a workshop author writes: ``${token}`` is the key itself and
``${token_masked}`` its masked form (the mock provider reports only the latter), and
``expect.model`` takes ``${…}`` placeholders like every other string of an expectation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import Expectation
from sandbox.walkthrough.answer import Answer
from sandbox.walkthrough.events import ResponseView
from sandbox.walkthrough.render import make_context
from sandbox.walkthrough.runner import StepFailed, check_response
from tests.conftest import REPO, TOKEN
from tests.helpers import run_cli

SCENARIO = """\
id: expecting
title: What the answer holds
needs: [setup]
summary: One request, one expectation.
security: Nothing beyond the inline scenario.
variables:
  m: {{description: the model the Backend names, default: gpt-3.5-turbo}}
  spare: {{description: another key, secret: true, default: sk-test-spare-key-0000000000}}
steps:
  - id: backend
    title: Backend and route
    apply: [manifests/backend-inline.yaml, manifests/httproute.yaml]
  - id: ready
    title: Wait for the route
    wait:
      - resource: HTTPRoute/kgateway-system/openai
        conditions: {{Accepted: "True", ResolvedRefs: "True"}}
  - id: ask
    title: Ask
    request:
      path: /openai
      body: {{model: "", messages: [{{role: user, content: hi}}]}}
{expect}
"""


def folder_with(tmp_path: Path, expect: str) -> Path:
    folder = tmp_path / "expecting"
    (folder / "manifests").mkdir(parents=True)
    (folder / "expecting.yaml").write_text(SCENARIO.format(expect=expect))
    for name in ("backend-inline.yaml", "httproute.yaml"):
        (folder / "manifests" / name).write_text(
            (REPO / "scenarios" / "manifests" / name).read_text())
    return folder


def run(tmp_path: Path, env: dict[str, str], expect: str, *extra: str) -> tuple[int, str]:
    done = run_cli("run", "expecting", "--runtime", "sim", "--port", "0", "--scenarios",
                   str(folder_with(tmp_path, expect)), *extra, env=env, timeout=90)
    assert TOKEN not in done.stdout + done.stderr
    return done.returncode, done.stdout + done.stderr


OK = "    expect: {status: 200}\n"


@pytest.mark.parametrize(("expect", "passes", "said"), [
    # The mock reports the key masked: it holds the masked form, never the key itself.
    (OK + '    expect_with_mock: {contains: ["${token_masked}"]}', True, ""),
    (OK + '    expect_with_mock: {contains: ["${token}"]}', False,
     "expected the response to contain '${token}' (the secret itself, not its masked form); "
     "it did not"),
    (OK + '    expect_with_mock: {contains: ["API key ${token} in"]}', False,
     "expected the response to contain 'API key ${token} in' (the secret itself"),
    (OK + '    expect_with_mock: {lacks: ["${token}", "${spare}", "${spare_masked}"]}', True, ""),
    (OK + '    expect_with_mock: {lacks: ["${token_masked}"]}', False,
     "the response should not contain 'sk-…c5Ge'"),
    ('    expect: {model: "${m}"}', True, ""),
    ('    expect: {model: "${token}"}', False,
     "expected the answer to come from model '${token}' (the secret itself, not its masked "
     "form), got 'gpt-3.5-turbo'"),
], ids=["masked-contained", "key-not-contained", "key-in-a-phrase", "keys-lacking",
        "masked-not-lacking", "model-variable", "model-is-the-key"])
def test_an_expectation_means_what_it_says(cli_env: dict[str, str], tmp_path: Path,
                                           expect: str, passes: bool, said: str) -> None:
    code, out = run(tmp_path, cli_env, expect)
    assert code == (0 if passes else 1), out
    assert said in out
    if said.startswith("expected the response to contain '${token}'"):
        assert "expect ${token_masked}" in out  # the hint says how to check the masked echo


def test_a_model_placeholder_takes_the_value_given_with_set(cli_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    code, out = run(tmp_path, cli_env, '    expect: {model: "${m}"}', "--set", "m=gpt-4o")
    assert code == 1
    assert "expected the answer to come from model 'gpt-4o', got 'gpt-3.5-turbo'" in out


def test_an_undeclared_placeholder_in_a_model_is_refused_when_the_folder_loads(
        cli_env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(tmp_path, cli_env, '    expect: {model: "${modle}"}')
    assert code == 2
    assert "step 'ask' uses ${modle}, which is not a declared variable" in out


CONTEXT = make_context(load_catalog(()).get("inline"), TOKEN, "openai", None)
VIEW = ResponseView(200, "OK", 5.0, (), "", "", "gpt-4o")


def answer(text: str, model: str | None = "gpt-4o") -> Answer:
    """An answer whose own text is ``text``: the view shows it masked, as send() makes it."""
    return Answer(VIEW, text, model)


def test_a_provider_that_echoes_the_key_itself_contains_it() -> None:
    """With a provider that does echo the key (an OpenAI-compatible proxy, a test server),
    ``contains: [${token}]`` passes and ``lacks: [${token}]`` fails, naming no key."""
    echoed = answer(f"you sent {TOKEN}")
    check_response(echoed, Expectation(contains=(TOKEN,)), CONTEXT)
    with pytest.raises(StepFailed) as caught:
        check_response(echoed, Expectation(lacks=(TOKEN,)), CONTEXT)
    assert caught.value.message == ("the response should not contain '${token}' (the secret "
                                    "itself, not its masked form)")
    with pytest.raises(StepFailed):
        check_response(echoed, Expectation(contains=("sk-…c5Ge",)), CONTEXT)


def test_a_model_that_is_the_key_is_compared_as_it_came_and_named_masked() -> None:
    check_response(answer("", model=TOKEN), Expectation(model=TOKEN), CONTEXT)
    with pytest.raises(StepFailed) as caught:
        check_response(answer("", model="gpt-4o"), Expectation(model=TOKEN), CONTEXT)
    assert TOKEN not in str(caught.value)
