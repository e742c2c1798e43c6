"""A key with an odd character, a blank key or a pasted 'Bearer ' is refused before any use."""

from __future__ import annotations

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.errors import SandboxError
from sandbox.settings import DEMO_TOKEN, check_key, resolve_token
from sandbox.walkthrough.render import make_context
from tests.conftest import TOKEN

CORE = "canary-7f3a9c1e55d24b"


@pytest.mark.parametrize(("key", "what", "position"), [
    (f"sk-{CORE}\u200b", "invisible or control character (U+200B ZERO WIDTH SPACE)", 25),
    (f"sk-{CORE}\tX", "space, tab or line break (U+0009)", 25),
    (f"sk-{CORE}\r\nX-Evil: 1", "space, tab or line break (U+000D)", 25),
    (f"sk-{CORE}-é€", "non-ASCII character (U+00E9)", 26),
    (f"sk-{CORE} with spaces", "space, tab or line break (U+0020 SPACE)", 25),
    (f"\u00a0sk-{CORE}", "space, tab or line break (U+00A0 NO-BREAK SPACE)", 1),
    (f"sk-{CORE}\x00", "invisible or control character (U+0000)", 25),
    (f"  sk-{CORE}\x7f", "invisible or control character (U+007F)", 27),
])
def test_a_key_with_an_odd_character_is_refused_by_position(key: str, what: str,
                                                            position: int) -> None:
    with pytest.raises(SandboxError) as caught:
        check_key(key, "AGW_SANDBOX_TOKEN")
    message = str(caught.value)
    assert f"the key from AGW_SANDBOX_TOKEN has a{'n' if what[0] in 'aeiou' else ''} {what} " \
           f"at position {position}" in message
    assert CORE not in message and "canary" not in repr(caught.value)


@pytest.mark.parametrize("key", ["   ", "\t", " \r\n "])
def test_a_blank_key_is_refused(key: str) -> None:
    with pytest.raises(SandboxError, match="the key from --token is blank"):
        resolve_token("mock", key, {})


@pytest.mark.parametrize("key", [f"Bearer sk-{CORE}", f"bearer sk-{CORE}", f"BEARER\tsk-{CORE}"])
def test_a_pasted_bearer_prefix_is_named(key: str) -> None:
    with pytest.raises(SandboxError) as caught:
        resolve_token("openai", None, {"OPENAI_API_KEY": key})
    assert "the key from OPENAI_API_KEY starts with 'Bearer '" in caught.value.message
    assert "give the key alone" in caught.value.hint
    assert CORE not in str(caught.value)


def test_keys_are_taken_in_order_and_trimmed() -> None:
    env = {"AGW_SANDBOX_TOKEN": f" {TOKEN}\n", "OPENAI_API_KEY": "sk-other-key-0000000000"}
    assert resolve_token("mock", None, env) == TOKEN
    assert resolve_token("openai", None, {"OPENAI_API_KEY": "sk-other-key-0000000000"}) == \
        "sk-other-key-0000000000"
    assert resolve_token("mock", None, {"AGW_SANDBOX_TOKEN": ""}) == DEMO_TOKEN  # unset, so
    assert resolve_token("mock", "abc", {}) == "abc"  # short, but a key: masked, not refused
    assert check_key("sk-'\"$(id)`x`*&#%{}", "--token") == "sk-'\"$(id)`x`*&#%{}"


def test_a_secret_variable_set_on_the_command_line_is_checked_too() -> None:
    scenario = load_catalog().get("inline")
    with pytest.raises(SandboxError) as caught:
        make_context(scenario, TOKEN, "mock", None, {"token": f"sk-{CORE}\u200b"})
    assert "the key from --set token has an invisible" in caught.value.message
    assert CORE not in str(caught.value)


def test_objects_that_hold_the_key_keep_it_out_of_their_repr() -> None:
    """Tracebacks with locals (Textual's, rich's) print reprs: none of them may show the key."""
    from rich.pretty import pretty_repr

    from sandbox.catalog.scenarios import RequestSpec
    from sandbox.settings import Settings
    from sandbox.walkthrough.render import render_request

    ctx = make_context(load_catalog().get("inline"), TOKEN, "mock", None)
    request = render_request(RequestSpec("POST", "/openai", (("Authorization",
                                                              "Bearer ${token}"),),
                                         {"key": "${token}"}, False), ctx)
    for holder in (Settings(token=TOKEN), ctx, request):
        assert TOKEN not in repr(holder) and TOKEN not in pretty_repr(holder)


@pytest.mark.parametrize(("provider", "env"), [
    ("mock", {"AGW_SANDBOX_TOKEN": TOKEN}), ("openai", {"OPENAI_API_KEY": TOKEN}),
    ("mock", {}), ("openai", {})])
def test_an_empty_token_option_is_refused_not_passed_over(provider: str,
                                                          env: dict[str, str]) -> None:
    """Before: `--token ''` quietly used AGW_SANDBOX_TOKEN (or the demo key) instead."""
    with pytest.raises(SandboxError) as caught:
        resolve_token(provider, "", env)
    assert caught.value.message == "--token is empty: it gives no key"
    assert "give the key after --token, or leave --token out" in caught.value.hint
    assert TOKEN not in str(caught.value)
