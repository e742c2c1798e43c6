"""AD4/AD8: a key cut into pieces shorter than a masked run, with a little other text between
them, is masked piece by piece (each shown as a mask, never as nothing), while prose that shares
words with a key (a test key's ``sk-test-``, the demo key's words) is left as it is."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from sandbox.mock.key_runs import made_of_words
from sandbox.settings import DEMO_TOKEN
from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker

CANARY = "sk-test-canaryQ7z9X4m2W8p5R1v6"
OTHER = "sk-proj-Hq7Tz2Lw9Xc4Vb8Nm3Rk5Pd"


def cut(key: str, bounds: list[tuple[int, int]]) -> list[str]:
    return [key[start:end] for start, end in bounds]


def every(size: int, key: str, step: int | None = None) -> list[tuple[int, int]]:
    """Pieces of ``size`` characters, one every ``step`` (a step under the size overlaps them,
    over it skips characters)."""
    return [(at, min(at + size, len(key))) for at in range(0, len(key), step or size)]


SHAPES = {
    "p5": (every(5, CANARY), " w "),
    "p4": (every(4, CANARY), " w "),
    "p3": (every(3, CANARY), " w "),
    "overlap": ([(max(0, at - 1), min(at + 7, len(CANARY))) for at in range(0, len(CANARY), 7)],
                " w "),
    "skip1": ([(at, at + 9) for at in range(0, len(CANARY), 10)], " w "),
    "lines": (every(5, CANARY), ",\n"),  # with nothing but a line break, it is a whole key
    "cells": (every(5, CANARY), " | "),
    "escapes": (every(4, CANARY), " \x1b[0m w "),
    "words": (every(6, CANARY), " and then a few words "),
}


def masked_piece(key: str, start: int, end: int) -> str:
    if end - start < 3:  # two characters are in every word (and in what the mask shows)
        return key[start:end]
    if start == 0:
        return key.split("-", 1)[0] + "-…"
    return "…" + key[-4:] if end == len(key) else "…"


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("key", [CANARY, OTHER])
def test_a_key_cut_into_short_pieces_with_text_between_them_is_masked(key: str,
                                                                       shape: str) -> None:
    bounds, between = SHAPES[shape]
    text = "x " + between.join(cut(key, bounds)) + " end"
    expected = "x " + between.join(masked_piece(key, *span) for span in bounds) + " end"
    assert Masker([key])(text) == expected


def test_pieces_in_json_fields_are_masked_and_the_json_stays_valid() -> None:
    pieces = {f"k{number}": piece for number, piece in enumerate(cut(OTHER, every(5, OTHER)))}
    shown = json.loads(Masker([OTHER])(json.dumps({**pieces, "note": "kept"})))
    assert shown == {**{f"k{number}": masked_piece(OTHER, *span)
                        for number, span in enumerate(every(5, OTHER))}, "note": "kept"}
    assert shown["k0"] == "sk-…" and shown["k1"] == "…"
    assert not [piece for piece in pieces.values() if len(piece) >= 3 and piece in shown.values()]


def test_a_yaml_document_cut_into_fields_keeps_a_mask_in_each_value() -> None:
    document = "data:\n" + "".join(f"  k{number}: {piece}\n" for number, piece in
                                   enumerate(cut(CANARY, every(6, CANARY))))
    assert Masker([CANARY])(document) == (
        "data:\n  k0: sk-…\n  k1: …\n  k2: …\n  k3: …\n  k4: …R1v6\n")


@pytest.mark.parametrize("text", [
    "The disk-test- job runs before the canary rollout.",
    "Run the disk-test- suite, then a canary rollout; prefer sk-test- keys.",
    pytest.param("Prefix sk-test- is for tests. " + "Lorem ipsum dolor sit amet. " * 2000
                 + "Then a canary release.", id="far-apart"),
    "Test keys begin with sk-test-; agw-sandbox uses one.",
    "Q7z9 or X4m2W8 apart, testing the canary: test-canary, sk-test- keys and a canary test.",
    "A canary release sends a little of the traffic to the new version first; if the test "
    "suite and the dashboards stay green, the rest follows. Keys for tests begin with sk-test-,"
    " and the sandbox ships a demo key so that nobody needs a real one. The canary is ready.",
])
def test_prose_that_shares_words_with_a_key_is_left_as_it_is(text: str) -> None:
    assert Masker([CANARY])(text) == text


@pytest.mark.parametrize("text", [
    "Test keys begin with sk-test-; agw-sandbox uses one.",
    "sk-test- keys with agw-sandbox: the demo key is no secret, see the agw-sandbox docs.",
    "Install agw-sandbox, then the demo: a key made of sk-test- and the words sandbox, demo, "
    "key and 0001 is used by default; it is not a secret.",
])
def test_prose_about_the_demo_key_is_left_as_it_is(text: str) -> None:
    """The demo key is made of words everyone writes: it is masked whole and as long runs
    (``agw-sandbox-demo``, 16 characters) only, never joined from pieces."""
    assert Masker([DEMO_TOKEN])(text) == text
    assert Masker([DEMO_TOKEN])(f"key {DEMO_TOKEN}") == "key sk-…0001"


WORDS_KEY = "sk-test-gateway-backend-secret-key"


def test_prose_about_the_gateway_is_left_alone_with_a_key_made_of_words() -> None:
    """A workshop's key of words (``gateway``, ``backend``, ``secret``, ``key``) shares them
    with the guide's prose, in its order: such a key is masked whole and as runs only."""
    prose = ("authToken.kind SecretRef names a Secret in the Backend's own namespace. The "
             "Secret must hold the key under \"Authorization\"; the gateway's backend secret "
             "key is read from it.")
    assert Masker([WORDS_KEY])(prose) == prose
    assert Masker([WORDS_KEY])(f"inline: {WORDS_KEY}") == "inline: sk-…-key"
    assert Masker([WORDS_KEY])("gateway-backend-secret") == "…"  # a run of 22 characters


@pytest.mark.parametrize(("key", "prose", "run"), [
    ("sk-test-agentgateway-kgateway-123",
     "kubectl wait gateway/agentgateway -n kgateway-system --for=condition=Accepted=True",
     "agentgateway-kgateway"),
    ("sk-test-the-gateway-and-the-backend",
     "How the inline key works: the gateway and the Backend describe the provider.",
     "the-gateway-and-the"),
    ("sk-proj-secret-key-kubernetes-2026", "Key in a Kubernetes Secret: the secret key.",
     "secret-key-kubernetes"),
    ("sk-Test-Agentgateway-Workshop-2026",
     "kubectl wait gateway/agentgateway -n kgateway-system --for=condition=Accepted=True",
     "Agentgateway-Workshop"),
])
def test_a_key_of_words_masks_its_long_runs_not_the_guides_words(key: str, prose: str,
                                                                 run: str) -> None:
    """Its runs must hold two thirds of what its mask hides, not half: a word of a dozen
    letters and a dash (``agentgateway -``) is the guide's, a command the learner copies."""
    assert Masker([key])(prose) == prose
    assert Masker([key])(f"echoed: {run}") == "echoed: …"


@pytest.mark.parametrize(("key", "words"), [
    (DEMO_TOKEN, True), (WORDS_KEY, True), ("sk-TEST-GATEWAY-KEY-0042", True),
    ("sk-Test-Agentgateway-Workshop-2026", True), ("sk-test-Kgateway-Backend-Secret-Key", True),
    (CANARY, False), (OTHER, False), ("sk-ant-api03-abcdefghijklmnop", False),
    ("sk-test-canary-ReLease-token", False),
])
def test_which_keys_are_made_of_words(key: str, words: bool) -> None:
    assert made_of_words(key) is words


def test_pieces_far_apart_or_out_of_order_are_not_a_chain() -> None:
    pieces = cut(CANARY, every(5, CANARY))
    far = (" " + "filler " * 10 + " ").join(pieces)  # 72 characters between each
    assert Masker([CANARY])(far) == far
    shuffled = " w ".join(pieces[::2] + pieces[1::2])
    assert Masker([CANARY])(shuffled).count("…") <= 2  # at most the beginning and the end


def test_a_chain_of_two_pieces_is_left_as_it_is() -> None:
    two = f"{CANARY[:7]} w {CANARY[7:14]}"  # 14 characters, but only two pieces
    assert Masker([CANARY])(two) == two


def test_text_full_of_chains_is_masked_in_time_linear_in_its_length() -> None:
    """The chain search is a few searches made in C and a step for each piece found."""
    unit = " w ".join(cut(CANARY, every(5, CANARY))) + " and some words between them.\n"

    def quickest(count: int) -> float:
        text = unit * count
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            shown = Masker([CANARY])(text)
            timings.append(time.perf_counter() - started)
        assert "naryQ" not in shown
        return min(timings)

    small, large = quickest(2000), quickest(8000)
    assert large < 6 * small + 0.05, (small, large)


def test_a_chain_cut_between_texts_read_one_after_another_is_masked() -> None:
    pieces = cut(CANARY, every(5, CANARY))
    texts = [" w ".join(pieces[:3]), " w ".join(pieces[3:])]
    shown = Masker([CANARY]).each(texts)
    assert not [piece for piece in pieces[1:-1] if any(piece in each for each in shown)], shown
    assert all(each for each in shown)


def test_each_piece_is_shown_as_a_mask_never_as_nothing() -> None:
    for size, step in itertools.product((4, 5, 6), (None,)):
        text = " w ".join(cut(CANARY, every(size, CANARY, step)))
        shown = Masker([CANARY])(text)
        assert " w  w " not in shown and not shown.startswith(" "), shown


@pytest.mark.parametrize("size", [1, 3, 7])
def test_a_streamed_chain_is_held_back_until_it_is_known_and_then_masked(size: int) -> None:
    """A stream cannot take back what it showed: the pieces that may begin a chain wait until
    more text says whether they do (32 characters of other text, or the stream's end)."""
    said = "x " + " w ".join(cut(CANARY, every(4, CANARY))) + " and the rest of the answer."
    stream = MaskedStream(Masker([CANARY]))
    shown = [stream.feed(said[at:at + size]) for at in range(0, len(said), size)]
    joined = "".join(shown) + stream.end()
    assert joined == "x sk-… w … w … w … w … w … w … w v6 and the rest of the answer."
    prose = "The disk-test- job runs before the canary rollout, and all of it is shown. " * 3
    stream = MaskedStream(Masker([CANARY]))
    shown = [stream.feed(prose[at:at + size]) for at in range(0, len(prose), size)]
    assert "".join(shown) + stream.end() == prose
    assert len("".join(shown)) >= len(prose) - 80  # held back only while a chain may go on


def test_a_long_key_cut_into_a_few_short_pieces_is_masked() -> None:
    """An OpenAI project key is 164 characters: three pieces of 5 (15 of its characters,
    fewer than its masked runs of 24) go too."""
    key = "sk-proj-" + "Ab3De5Gh7Jk9Mn2Pq4St6Vw8Yz" * 6
    middle = [key[40:45], key[45:50], key[50:55]]
    shown = Masker([key])("see " + " w ".join(middle) + " end")
    assert shown == "see … w … w … end"


def test_a_kubeconfig_token_cut_into_pieces_is_masked_and_prose_about_tokens_is_not() -> None:
    masker = Masker([CANARY, "kc-secret-token-ZZZ9"])
    assert masker("bad token kc-se w cret- w token w -ZZZ9") == "bad token kc-… w … w … w …ZZZ9"
    prose = "the secret token in the kubeconfig is read by kubectl; a token can expire"
    assert masker(prose) == prose
