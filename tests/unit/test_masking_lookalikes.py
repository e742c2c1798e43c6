"""A key in look-alike letters (Cyrillic or Greek ones drawn as Latin), or with a visible filler
between each of its characters (``s-k---t-e-s-t``), is read by a person as the key: masked."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from sandbox.walkthrough.masked_stream import MaskedStream
from sandbox.walkthrough.masking import Masker
from tests.conftest import TOKEN

MASKED = "sk-…c5Ge"
CYRILLIC = str.maketrans("aceopxykABCEHKMOPTX", "асеорхукАВСЕНКМОРТХ")
GREEK = str.maketrans("ABEHIKMNOPTXYZov", "ΑΒΕΗΙΚΜΝΟΡΤΧΥΖον")


def _leaks(text: str) -> bool:
    return any(TOKEN[i:i + 8].lower() in text.lower() for i in range(3, len(TOKEN) - 7))


@pytest.mark.parametrize("letters", [CYRILLIC, GREEK], ids=["cyrillic", "greek"])
def test_a_key_in_look_alike_letters_is_masked(letters: dict[int, str]) -> None:
    disguised = TOKEN.translate(letters)
    changed = disguised != TOKEN and not disguised.isascii()
    assert changed
    shown = Masker([TOKEN])(f"x {disguised} y")
    escaped = Masker([TOKEN])(json.dumps({"content": disguised}))  # \\u0441 and the like
    masked = shown == f"x {MASKED} y" and MASKED in escaped
    assert masked and "\\u04" not in escaped and "\\u03" not in escaped  # booleans: no key


def test_half_a_key_in_look_alike_letters_is_masked_as_a_part() -> None:
    masked = Masker([TOKEN])(f"x {TOKEN[:22].translate(CYRILLIC)} y") == "x sk-… y"
    assert masked


@pytest.mark.parametrize("filler", ["-", "_", ".", ",", "|"])
def test_a_key_with_a_filler_between_each_character_is_masked(filler: str) -> None:
    masked = Masker([TOKEN])(f"x {filler.join(TOKEN)} y") == f"x {MASKED} y"
    assert masked


def test_a_spaced_out_key_in_a_stream_is_masked() -> None:
    stream = MaskedStream(Masker([TOKEN]))
    dashed = "-".join(TOKEN.translate(CYRILLIC))
    shown = "".join(stream.feed(dashed[at:at + 3]) for at in range(0, len(dashed), 3))
    shown += stream.end()
    masked = MASKED in shown and not _leaks(shown.replace("-", "").translate(
        str.maketrans("асеорхукАВСЕНКМОРТХ", "aceopxykABCEHKMOPTX")))
    assert masked


def test_russian_and_greek_text_and_dashed_words_are_left_alone() -> None:
    text = ("Ключ сохранён, рабочий процесс — ОК. Καλημέρα κόσμε. s-k-i-p a-b-c-d-e "
            "2026-12-05 1.2.3.4 a_b_c")
    assert Masker([TOKEN])(text) == text


def test_long_runs_of_fillers_and_look_alikes_cost_no_time() -> None:
    text = ("с-к-" * 5000 + " " + "-".join("sk-tes") + " ") * 20
    started = time.process_time()
    assert Masker([TOKEN])(text) == text
    assert time.process_time() - started < 2


# AB7: look-alikes of other scripts, from Unicode's confusables (UTS #39), and small capitals.
CHEROKEE = str.maketrans("SKTECAWRZHPVDGJLMB", "ᏚᏦᎢᎬᏟᎪᏔᏒᏃᎻᏢᏙᎠᏀᎫᏞᎷᏴ")
LISU = str.maketrans("ABCDEFGHIJKLMNOPRSTUVWXYZ", "ꓮꓐꓚꓓꓰꓝꓖꓧꓲꓙꓗꓡꓟꓠꓳꓑꓣꓢꓔꓴꓦꓪꓫꓬꓜ")
SMALL_CAPITALS = str.maketrans("abcdefghijklmnopqrstuvwyz",
                               "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘꞯʀꜱᴛᴜᴠᴡʏᴢ")


@pytest.mark.parametrize(("disguised", "upper"), [
    (CHEROKEE, True), (LISU, True), (SMALL_CAPITALS, False)],
    ids=["cherokee, upper-cased", "lisu, upper-cased", "small capitals"])
def test_a_key_in_look_alikes_of_other_scripts_is_masked(disguised: dict[int, str],
                                                         upper: bool) -> None:
    written = (TOKEN.upper() if upper else TOKEN.lower()).translate(disguised)
    changed = sum(not char.isascii() for char in written) >= len(TOKEN) // 2
    shown = Masker([TOKEN])(f"x {written} y")
    bare = "".join(char for char in shown if char.isascii())
    masked = shown == f"x {MASKED} y" and not _leaks(bare)
    assert changed and masked


def test_the_small_capital_beginning_of_a_key_is_masked_with_it() -> None:
    """The probe's case: ``ꜱᴋ-ᴛᴇꜱᴛ-`` and the rest as it is: the prefix showed."""
    written = TOKEN[:8].translate(SMALL_CAPITALS) + TOKEN[8:]
    masked = Masker([TOKEN])(f"key: {written}.") == f"key: {MASKED}."
    assert masked


def test_text_in_cherokee_lisu_and_small_capitals_is_left_alone() -> None:
    text = ("ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᎤᏂᏲ ᏗᎦᏘᏍᏗ. ꓡꓲ-ꓢꓴ ꓟꓳ ꓔꓯ. ꜱᴍᴀʟʟ ᴄᴀᴘɪᴛᴀʟꜱ ᴛɪᴛʟᴇ — "
            "Ключ сохранён. ᏚᏦ-ᎢᎬᏚᎢ")
    assert Masker([TOKEN])(text) == text


def test_the_look_alike_table_is_loaded_only_for_text_outside_ascii() -> None:
    code = ("import sys\n"
            "from sandbox.walkthrough.masking import Masker\n"
            f"masker = Masker([{TOKEN!r}])\n"
            "masker('plain text, a-b-c, /usr/lib ' * 100)\n"
            "print('sandbox.walkthrough.lookalikes' in sys.modules)\n"
            "masker('ᏚᏦ text')\n"
            "print('sandbox.walkthrough.lookalikes' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.stdout.split() == ["False", "True"], result.stderr[-2000:]


@pytest.mark.parametrize("capital_i", ["\u0406", "\u0399", "\u2c92"],
                         ids=["cyrillic", "greek", "coptic"])
def test_a_capital_i_drawn_in_another_script_reads_as_i(capital_i: str) -> None:
    """UTS #39 folds a capital I into l: a key's I written as a capital that looks like it
    must still read as the key."""
    key = "sk-test-Ab7IcdefGh2IjkLm9noPqrs"
    for written in (key.replace("I", capital_i), key.upper().replace("I", capital_i)):
        masked = Masker([key])(f"x {written} y") == "x sk-…Pqrs y"
        assert masked
