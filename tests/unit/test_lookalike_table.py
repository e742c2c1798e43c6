"""The masker's look-alike table (sandbox/walkthrough/lookalikes.py) is what
tools/gen_confusables.py makes from Unicode's confusables, as the confusable-homoglyphs package
ships them: committed, so that the app loads no package, and checked against the data here."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path
from types import ModuleType

from sandbox.walkthrough import lookalikes

REPO = Path(__file__).resolve().parents[2]
GENERATOR = REPO / "tools" / "gen_confusables.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_confusables", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_table_is_what_the_confusables_data_makes() -> None:
    generator = _generator()
    found = generator.readings(generator.confusables())
    if unicodedata.unidata_version == lookalikes.UNICODE:
        assert generator.render(found) == generator.TABLE.read_text(encoding="utf-8"), \
            "the table is stale: run python tools/gen_confusables.py"
    else:  # a newer Unicode names more small capitals: what the table holds stays the same
        committed = {char: reading for reading, chars in lookalikes.READ_AS.items()
                     for char in chars}
        assert {char: found.get(char) for char in committed} == committed


def test_the_table_reads_the_scripts_the_probe_used() -> None:
    read = {char: reading for reading, chars in lookalikes.READ_AS.items() for char in chars}
    cherokee = "".join(read.get(char, "?") for char in "ᏚᏦᎢᎬᏟᎪᏔᏒᏃ")
    small_capitals = "".join(read.get(char, "?") for char in "ꜱᴋᴛᴇᴄᴀɴʀʏ")
    cyrillic_and_greek = "".join(read.get(char, "?") for char in "кκγсρ")
    assert (cherokee, small_capitals, cyrillic_and_greek) == (
        "sktecawrz", "sktecanry", "kkycp")
