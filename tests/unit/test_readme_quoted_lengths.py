"""The README says how much a message quotes of an API server's refusal and of a value it was
given: the figures it names are the ones the code cuts at."""

from __future__ import annotations

from sandbox.runtimes.kube.api_call import QUOTED_NOT_JSON, QUOTED_REFUSAL, QUOTED_STATUS
from sandbox.untrusted import MAX_QUOTED
from tests.conftest import REPO


def _figure(number: int) -> str:
    return format(number, ",").replace(",", " ")


def test_the_readme_names_the_lengths_messages_quote() -> None:
    readme = " ".join((REPO / "README.md").read_text().split())
    assert (f"its first {QUOTED_NOT_JSON} characters, a refusal's first {QUOTED_REFUSAL}, an API "
            f"server's Status message's first {_figure(QUOTED_STATUS)}") in readme
    assert f"any other value a message quotes to {MAX_QUOTED}" in readme
