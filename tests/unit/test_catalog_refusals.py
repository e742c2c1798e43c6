"""What the loader refuses or unpacks: a cycle of needs, a variable that would shadow a built-in
one, a YAML merge key, a List of manifests (unpacked, as kubectl does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.catalog.loader import load_catalog
from sandbox.catalog.scenarios import ApplyStep
from sandbox.errors import ScenarioError
from tests.unit.test_catalog import GOOD, ROUTE, write


def problems(folder: Path) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_catalog([folder], include_builtin=False)
    return str(caught.value)


def scenario(folder: Path, scenario_id: str, needs: str = "", extra: str = "") -> Path:
    write(folder / "manifests", "route.yaml", ROUTE)
    text = GOOD.replace("id: my-scenario", f"id: {scenario_id}" + (f"\nneeds: [{needs}]"
                                                                   if needs else ""))
    return write(folder, f"{scenario_id}.yaml", text.replace("summary: s", f"{extra}summary: s"))


def test_two_scenarios_that_need_each_other_are_refused(tmp_path: Path) -> None:
    first = scenario(tmp_path, "cyca", "cycb")
    scenario(tmp_path, "cycb", "cyca")
    found = problems(tmp_path)
    assert f"{first}: 'needs' form a cycle: cyca → cycb → cyca: remove one of these needs" in found
    assert found.count("form a cycle") == 1  # one cycle, said once


def test_a_longer_cycle_is_named_whole_and_what_hangs_off_it_is_not_blamed(
        tmp_path: Path) -> None:
    scenario(tmp_path, "base")
    scenario(tmp_path, "one", "base, three")
    scenario(tmp_path, "two", "one")
    scenario(tmp_path, "three", "two")
    scenario(tmp_path, "leaf", "two")
    found = problems(tmp_path)
    assert "'needs' form a cycle: one → three → two → one" in found
    assert found.count("form a cycle") == 1 and "leaf" not in found


def test_needs_without_a_cycle_still_load(tmp_path: Path) -> None:
    scenario(tmp_path, "base")
    scenario(tmp_path, "left", "base")
    scenario(tmp_path, "right", "base")
    scenario(tmp_path, "top", "left, right")
    catalog = load_catalog([tmp_path], include_builtin=False)
    assert [s.id for s in catalog.prerequisites(catalog.get("top"))] == ["base", "left", "right"]


@pytest.mark.parametrize("name", ["token_masked", "token"])
def test_a_variable_named_as_a_built_in_one_is_refused_with_the_reserved_names(
        tmp_path: Path, name: str) -> None:
    path = scenario(tmp_path, "mine", extra=f"variables:\n  {name}: {{description: d}}\n")
    assert (f"{path}:4: variable '{name}' is a built-in name and cannot be declared (built-in: "
            "token, token_masked; and NAME_masked for each secret variable NAME): choose "
            "another name") in problems(tmp_path)


def test_a_variable_named_as_the_masked_form_of_a_secret_one_is_refused(tmp_path: Path) -> None:
    path = scenario(tmp_path, "mine", extra="variables:\n  api: {description: d, secret: true}\n"
                                            "  api_masked: {description: e}\n")
    found = problems(tmp_path)
    assert f"{path}:5: variable 'api_masked' is a built-in name" in found
    assert "'api'" not in found


def test_a_merge_key_is_refused_as_one_not_as_a_repeated_key(tmp_path: Path) -> None:
    path = scenario(tmp_path, "mine", extra="<<: {title: other}\n")
    found = problems(tmp_path)
    assert (f"{path}:3: YAML merge keys (<<) are not accepted here: write each key out in "
            "full") in found
    assert "appears twice" not in found


def test_a_merge_key_in_a_template_is_refused_too(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", ROUTE + "<<: {kind: Secret}\n")
    assert "route.yaml:5: YAML merge keys (<<) are not accepted here" in problems(tmp_path)


LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: one, namespace: kgateway-system}
  spec: {}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: two, namespace: kgateway-system}
    spec: {}
"""


def test_a_list_of_manifests_is_applied_as_its_items_as_kubectl_does(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", LIST + "---\n" + ROUTE)
    step = load_catalog([tmp_path], include_builtin=False).get("mine").steps[0]
    assert isinstance(step, ApplyStep)
    assert [d["metadata"]["name"] for d in step.manifests[0].documents] == ["one", "two", "r"]


def test_a_list_item_is_checked_as_any_manifest_is(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml",
          LIST.replace("metadata: {name: two, namespace: kgateway-system}",
                       "metadata: {namespace: kgateway-system}") + "  - just text\n")
    found = problems(tmp_path)
    assert "route.yaml:11: the API server refuses it: resource name may not be empty" in found
    assert "route.yaml:8: item 2 of a List is text, not a manifest (a mapping)" in found



def long_path(tmp_path: Path, length: int) -> Path:
    path = "/openai/" + "a" * (length - len("/openai/"))
    return scenario(tmp_path, "mine").write_text(
        GOOD.replace("id: my-scenario", "id: mine").replace("path: /openai", f"path: {path}"))


@pytest.mark.parametrize("length", [65_515, 65_608, 200_000])
def test_a_path_too_long_for_a_url_is_refused_when_loading_with_the_limit(
        tmp_path: Path, length: int) -> None:
    long_path(tmp_path, length)
    assert (f"mine.yaml:10: the request path is {length} characters long; a URL the client sends "
            "holds at most 65536 characters, of which the gateway's address "
            "(http://127.0.0.1:PORT) takes up to 22, so a path holds at most 65514: shorten "
            "it") in problems(tmp_path)


@pytest.mark.parametrize("length", [65_408, 65_514])
def test_a_path_that_fits_in_a_url_loads(tmp_path: Path, length: int) -> None:
    long_path(tmp_path, length)
    assert load_catalog([tmp_path], include_builtin=False).ids == ("mine",)


def test_a_flood_of_problems_lists_the_first_fifty_and_counts_the_rest(tmp_path: Path) -> None:
    names = "".join(f"  v{n}: {{default: x}}\n" for n in range(3000))
    scenario(tmp_path, "mine", extra=f"variables:\n{names}")
    lines = problems(tmp_path).splitlines()
    assert lines[0] == "3000 problems in scenario files:"
    assert len(lines) == 1 + 50 + 2
    assert lines[1].endswith("mine.yaml:4: missing required key 'description'")
    assert lines[-2] == ("  … and 2950 more not listed here: fix these and check again "
                         "(`agw-sandbox scenarios --check DIR`)")
    assert lines[-1].startswith("  hint: fix the files listed above")


def test_a_few_problems_are_all_listed(tmp_path: Path) -> None:
    names = "".join(f"  v{n}: {{default: x}}\n" for n in range(50))
    scenario(tmp_path, "mine", extra=f"variables:\n{names}")
    lines = problems(tmp_path).splitlines()
    assert len(lines) == 1 + 50 + 1 and "more not listed" not in "".join(lines)


ZALGO = "Z" + "\u0301" * 10_000


@pytest.mark.parametrize(("title", "position", "count"), ids=["zalgo", "nine", "nine-alone"],
                         argvalues=[
    (ZALGO, 2, 10_000), ("ok e" + "\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309", 5, 9),
    ("\u0301" * 9, 1, 9)])
def test_a_pile_of_combining_marks_is_refused_with_how_many_are_allowed(
        tmp_path: Path, title: str, position: int, count: int) -> None:
    path = scenario(tmp_path, "mine")
    path.write_text(path.read_text().replace("title: Mine", f"title: {title}"))
    found = problems(tmp_path)
    assert (f"mine.yaml:2: 'title' holds {count} combining marks in a row from position "
            f"{position}: at most 8 may follow one another (more pile up over the lines around "
            "it): remove them") in found
    assert "\u0301" * 9 not in found


def test_a_pile_of_combining_marks_in_a_template_is_refused_too(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml",
          ROUTE.replace("spec: {}", f"spec: {{note: {ZALGO}}}"))
    assert "route.yaml:4: 'spec.note' holds 10000 combining marks in a row" in problems(tmp_path)


@pytest.mark.parametrize("title", ids=["vi", "vi-decomposed", "hi", "he", "eight", "emoji"],
                         argvalues=["Tiếng Việt", "Tie\u0323\u0302ng Vie\u0323\u0302t",
                                   "ग्रन्थ", "בְּרֵאשִׁ֖ית", "e" + "\u0301" * 8, "👩🏽‍💻 ǅ"])
def test_real_text_with_its_marks_loads(tmp_path: Path, title: str) -> None:
    path = scenario(tmp_path, "mine")
    path.write_text(path.read_text().replace("title: Mine", f"title: {title}"))
    assert load_catalog([tmp_path], include_builtin=False).get("mine").title == title


def test_a_masked_key_in_a_header_is_named_when_loading(tmp_path: Path) -> None:
    path = scenario(tmp_path, "mine")
    header = "      headers: {X-M: 'k=${token_masked}'}\n"
    path.write_text(path.read_text().replace("      path: /openai\n",
                                             "      path: /openai\n" + header))
    assert (f"{path}:5: step 'request-2' puts ${{token_masked}} in the header 'X-M': a masked "
            "key is written with '…', which no header can carry") in problems(tmp_path)


@pytest.mark.parametrize("empty", ["items: []\n", "items:\n", "items: []\n---\napiVersion: v1\n"
                                   "kind: List\nitems: [{apiVersion: v1, kind: List}]\n"])
def test_a_template_whose_lists_hold_nothing_is_refused_as_kubectl_does(
        tmp_path: Path, empty: str) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", "# nothing here\napiVersion: v1\nkind: List\n"
          + empty)
    assert ("route.yaml:2: the List holds no manifests, so nothing would be applied (kubectl: "
            "\"no objects passed to apply\"): add the manifests, or remove the file from the "
            "step") in problems(tmp_path)


def test_an_empty_list_beside_a_manifest_is_accepted(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", "apiVersion: v1\nkind: List\nitems: []\n---\n"
          + ROUTE)
    step = load_catalog([tmp_path], include_builtin=False).get("mine").steps[0]
    assert isinstance(step, ApplyStep)
    assert [d["metadata"]["name"] for d in step.manifests[0].documents] == ["r"]


@pytest.mark.parametrize(("written", "line", "key"), [
    ("title: ~", 2, "title"), ("title:", 2, "title"), ("title: null", 2, "title"),
    ("summary: ~", 3, "summary"),
], ids=["tilde", "nothing", "null", "summary"])
def test_a_key_written_with_no_value_is_named_empty_on_its_own_line(
        tmp_path: Path, written: str, line: int, key: str) -> None:
    write(tmp_path / "manifests", "route.yaml", ROUTE)
    text = GOOD.replace("title: Mine", written) if key == "title" else GOOD.replace(
        "summary: s", written)
    path = write(tmp_path, "mine.yaml", text)
    found = problems(tmp_path)
    assert f"{path}:{line}: {key!r} is empty: write what it should say" in found, found
    assert "missing required key" not in found, found


@pytest.mark.parametrize("head", ["apiVersion: v1\nkind: ConfigMapList\n",
                                  "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRouteList"
                                  "\n",
                                  "kind: SecretList\napiVersion: v1\n"],
                         ids=["configmaps", "routes", "secrets"])
def test_an_empty_typed_list_is_refused_as_kubectl_reads_it(tmp_path: Path, head: str) -> None:
    """kubectl reads any object with items as a list, whatever its kind ("ConfigMapList")."""
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", "# typed\n" + head + "items: []\n")
    found = problems(tmp_path)
    assert "route.yaml:2: the List holds no manifests, so nothing would be applied" in found, \
        found
    assert "served by no runtime" not in found and "metadata.name" not in found, found


def test_a_typed_list_is_unpacked_into_its_items(tmp_path: Path) -> None:
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", "apiVersion: v1\nkind: ConfigMapList\nitems:\n"
          "- {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}\n"
          "- {apiVersion: v1, kind: ConfigMap, metadata: {name: two}}\n")
    steps = load_catalog([tmp_path], include_builtin=False).get("mine").steps
    applied = next(step for step in steps if isinstance(step, ApplyStep))
    names = [doc["metadata"]["name"] for doc in applied.manifests[0].documents]
    assert names == ["one", "two"], names


@pytest.mark.parametrize(("old", "line"), [("title: Mine", 2), ("- title: Ask", 8)])
def test_a_title_longer_than_a_line_is_refused_saying_where_the_rest_goes(
        tmp_path: Path, old: str, line: int) -> None:
    path = scenario(tmp_path, "mine")
    long_title = "A learner reads this " * 10  # 210 characters, 209 once stripped
    path.write_text(path.read_text().replace(old, old.replace("Ask", "").replace(
        "Mine", "") + long_title))
    found = problems(tmp_path)
    assert (f"mine.yaml:{line}: 'title' is 209 characters long: a title is shown on one line (a "
            "list row, a heading, a status line), so keep it to 200 and say the rest in "
            "'summary' or 'explain'") in found
    assert found.count("characters long") == 1


def test_a_title_of_two_hundred_characters_is_taken(tmp_path: Path) -> None:
    path = scenario(tmp_path, "mine")
    path.write_text(path.read_text().replace("title: Mine", "title: " + "T" * 200))
    assert load_catalog([tmp_path], include_builtin=False).get("mine").title == "T" * 200


@pytest.mark.parametrize(("items", "said"), [
    ("items: {a: 1}\n", "route.yaml:4: the items of a List must be a list of manifests"),
    ("items: some text\n", "route.yaml:4: the items of a List must be a list of manifests"),
    ("items: [7, text]\n", "route.yaml:2: item 1 of a List is"),
], ids=["mapping", "text", "no-manifest-item"])
def test_a_list_whose_items_are_wrong_gets_only_that_problem(
        tmp_path: Path, items: str, said: str) -> None:
    """Items of the wrong shape are the one problem: not also "the List holds no manifests"."""
    scenario(tmp_path, "mine")
    write(tmp_path / "manifests", "route.yaml", "# typed\napiVersion: v1\nkind: ConfigMapList\n"
          + items)
    found = problems(tmp_path)
    assert said in found, found
    assert "holds no manifests" not in found, found
