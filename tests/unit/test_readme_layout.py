"""The package stays grouped and small, and the README's "How the code is laid out" names every
module and folder at its top."""

from __future__ import annotations

from tests.conftest import REPO


def test_the_layout_section_matches_the_tree() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    package = REPO / "sandbox"
    modules = {p.name for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    folders = {f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").exists()}
    missing = sorted(name for name in modules | folders if name not in section)
    assert missing == [], f"add these to the README's layout section: {missing}"
    for top in ("scenarios/", "assets/", "examples/", "tools/", "tests/", "benchmarks/"):
        assert top in section and (REPO / top.rstrip("/")).is_dir()


def test_the_package_stays_grouped_and_its_modules_small() -> None:
    """A dozen modules at the top at most (the rest belong to a family), none over 400 lines."""
    package = REPO / "sandbox"
    top = sorted(p.name for p in package.glob("*.py"))
    assert len(top) <= 12, f"{len(top)} modules directly in sandbox/: {top}"
    long = {str(p.relative_to(REPO)): n for p in package.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_every_package_of_the_tree_is_installed() -> None:
    """setuptools installs the packages pyproject.toml lists: one left out is missing from a
    wheel or a pipx install (an editable install hides that), and every command fails."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(REPO).parts)
             for init in (REPO / "sandbox").rglob("__init__.py")}
    assert found - listed == set()
