"""The docs pages cannot rot: code only by inclusion of tested files, commands, ids and the layout checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import django_arq
from django_arq.management import cli

from .commands import command_problem
from .markdown import DOCS, PAGES, README, ROOT, Block, blocks, console_commands, included_path

CONTRIBUTING = ROOT / "CONTRIBUTING.md"
ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
#: Directives a page may use, and where: every other code example is a literalinclude.
DIRECTIVES = {"literalinclude": None, "toctree": None, "image": None, "eval-rst": {"reference.md"},
              "include": {"changelog.md"}}  # fmt: skip
#: Tests, and the files they run: a docs/examples file must be named by one of them.
TEST_FILES = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("example_project/*/tests/*.py")]
PACKAGE = Path(django_arq.__file__).parent


def literalincludes() -> list[Block]:
    return [b for b in ALL_BLOCKS if b.directive == "literalinclude"]


def test_the_docs_have_pages_and_examples() -> None:
    pages = {
        "index",
        "tutorial",
        "settings",
        "queue-api",
        "audit",
        "admin",
        "http-api",
        "commands",
        "tasks",
        "testing",
        "production",
        "security",
        "reliability",
        "retries",
        "benchmarks",
        "internals",
        "reference",
    }
    assert {p.stem for p in PAGES} >= pages
    assert len(literalincludes()) >= 20


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=str)
def test_code_appears_only_by_inclusion(block: Block) -> None:
    """Python, INI, ... only through a literalinclude; fenced blocks are console lines or the layout tree."""
    if block.directive:
        assert block.directive in DIRECTIVES, f"{block}: directive not expected"
        allowed = DIRECTIVES[block.directive]
        assert allowed is None or block.source.name in allowed, f"{block}: not on this page"
    else:
        assert block.language in ("console", "text"), f"{block}: code must be an include of a tested file"
        assert block.language != "text" or block.source.name == "internals.md", f"{block}: untested text"


@pytest.mark.parametrize("block", literalincludes(), ids=str)
def test_every_included_file_is_run_by_a_test(block: Block) -> None:
    path = included_path(block)
    assert path.is_file(), f"{block}: no such file"
    relative = path.relative_to(ROOT).as_posix()
    assert relative.startswith(("docs/examples/", "example_project/")), f"{block}: include a tested file"
    if relative.startswith("example_project/"):
        return  # the example project's own suite runs it (tests/example/test_project.py)
    names = {relative, path.name, relative.removesuffix(".py").replace("/", ".")}
    named_by = [t for t in TEST_FILES if any(name in t.read_text() for name in names)]
    assert named_by, f"{relative} is included by the docs but no test names it"


@pytest.mark.parametrize("block", literalincludes(), ids=str)
def test_included_markers_exist(block: Block) -> None:
    """start-at / end-before markers select what they should (Sphinx alone would include too much)."""
    text = included_path(block).read_text()
    for option in ("start-at", "start-after", "end-before"):
        if option in block.options:
            assert block.options[option] in text, f"{block}: {option} {block.options[option]!r} not found"
    if "pyobject" in block.options:
        assert re.search(rf"^\s*(async def|def|class) {block.options['pyobject']}\b", text, re.M), block


@pytest.mark.parametrize(
    "command",
    [c for path in [*PAGES, CONTRIBUTING] for b in blocks(path) if b.language == "console"
     for c in console_commands(b)],
    ids=" ".join,
)  # fmt: skip
def test_every_command_runs_as_shown(command: list[str]) -> None:
    assert command_problem(command) is None


def _tree_entries(path: Path) -> list[str]:
    (tree,) = [b for b in blocks(path) if b.language == "text" and b.content.startswith("django_arq/")]
    return [line.split()[0] for line in tree.content.splitlines()[1:] if line.startswith("  ")]


def test_the_layout_tree_lists_every_package_and_module() -> None:
    listed = _tree_entries(DOCS / "internals.md")
    present = {p.name + "/" for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("__")}
    present |= {p.name for p in PACKAGE.glob("*.py")}
    assert sorted(set(listed) - present) == [], "listed but not in django_arq/"
    assert sorted(present - set(listed)) == [], "in django_arq/ but not in docs/internals.md's layout"


def test_contributing_layout_names_existing_packages() -> None:
    listed = _tree_entries(CONTRIBUTING)
    assert listed and all((PACKAGE / name).is_dir() for name in listed)


def test_every_check_id_in_the_docs_exists() -> None:
    source = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    documented = set(re.findall(r"django_arq\.[EWT]\d{3}", "\n".join(p.read_text() for p in PAGES)))
    assert len(documented) >= 10
    assert sorted(i for i in documented if f'"{i}"' not in source) == []


def test_the_api_error_table_is_the_openapi_documents() -> None:
    page = (DOCS / "http-api.md").read_text()
    table = page[page.index("## Errors") :]
    documented = {
        (status, code)
        for status, row in re.findall(r"^\| (\d{3}) \| (.*) \|$", table, re.M)
        for code in re.findall(r"`([a-z_]+)`", row)  # codes; settings and headers are not lower case
    }
    document = json.loads((PACKAGE / "api" / "openapi.json").read_text())
    statuses = {
        op_response["$ref"].rsplit("/", 1)[1]: status
        for operations in document["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict)
        for status, op_response in operation.get("responses", {}).items()
        if "$ref" in op_response
    }
    declared = {
        (statuses[name], code)
        for name, response in document["components"]["responses"].items()
        for code in response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["error"][
            "enum"
        ]
    }
    assert documented == declared


def test_every_queue_error_is_in_the_reference() -> None:
    from django_arq.queues import exceptions

    errors = [n for n, v in vars(exceptions).items() if isinstance(v, type) and issubclass(v, Exception)]
    reference = (DOCS / "reference.md").read_text()
    assert "ArqJobError" in errors
    assert [
        n
        for n in errors
        if not re.search(rf"autoexception:: django_arq\.(queues\.exceptions\.)?{n}$", reference, re.M)
    ] == []


def test_the_exit_status_table_matches_the_commands() -> None:
    page = (DOCS / "commands.md").read_text()
    table = page[page.index("### Exit status") :]
    documented = {int(n) for n in re.findall(r"^\| (\d) \|", table, re.M)}
    constants = {v for k, v in vars(cli).items() if k.startswith("EXIT_")}
    assert documented == {0} | constants


def test_every_page_links_only_to_pages_that_exist() -> None:
    for page in [*PAGES, README, CONTRIBUTING]:
        for target in re.findall(r"\{doc\}`([\w-]+)`", page.read_text()):
            assert (DOCS / f"{target}.md").is_file(), f"{page.name}: {{doc}}`{target}`"
