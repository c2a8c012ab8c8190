"""The helpers that read the docs, on any input: excerpts, fenced blocks, console lines."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from .markdown import Block, blocks, console_commands, is_excerpt

#: One line of text: no line breaks of any kind, no surrogates.
LINE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)
#: A line of code: not blank, not a comment, not a fence or a directive option.
CODE_LINE = LINE.filter(lambda s: bool(s.strip()) and not s.strip().startswith(("#", "`", ":")))
INFOS = st.sampled_from(["python", "console", "text", "{literalinclude} a/b.py", "{toctree}"])
OPTION = st.from_regex(r"[a-z][a-z-]{0,9}", fullmatch=True)
#: No time limit per example: the machine may be busy, and time is not what these tests check.
untimed = settings(deadline=None)


@untimed
@given(st.lists(LINE, max_size=20), st.data())
def test_any_run_of_lines_is_an_excerpt_of_its_text(lines: list[str], data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(lines)))
    end = data.draw(st.integers(start, len(lines)))
    part = lines[start:end]
    has_code = any(line.strip() and not line.strip().startswith("#") for line in part)
    assert is_excerpt("\n".join(part), "\n".join(lines)) == has_code


@untimed
@given(st.lists(CODE_LINE, min_size=1, max_size=10), CODE_LINE)
def test_a_line_the_text_lacks_makes_it_no_excerpt(lines: list[str], extra: str) -> None:
    changed = lines[-1].strip() + "x" + extra.strip()
    assume(changed not in [line.strip() for line in lines])
    assert not is_excerpt("\n".join([*lines[:-1], changed]), "\n".join(lines))


@untimed
@given(
    st.lists(
        st.tuples(INFOS, st.dictionaries(OPTION, CODE_LINE, max_size=3), st.lists(CODE_LINE, max_size=5)),
        max_size=5,
    )
)
def test_fenced_blocks_are_read_back(
    tmp_path_factory: pytest.TempPathFactory, spec: list[tuple[str, dict[str, str], list[str]]]
) -> None:
    parts = []
    for info, options, lines in spec:
        head = [f":{k}: {v}" for k, v in options.items()] if info.startswith("{") else []
        body = "".join(f"{line}\n" for line in [*head, *lines])
        parts.append(f"prose\n\n```{info}\n{body}```\n")
    path = tmp_path_factory.mktemp("md") / "page.md"
    path.write_text("\n".join(parts))
    found = blocks(path)
    assert [b.info for b in found] == [info for info, _, _ in spec]
    for block, (info, options, lines) in zip(found, spec, strict=True):
        if info.startswith("{"):
            assert block.options == {k: v.strip().strip('"') for k, v in options.items()}
        assert block.content.splitlines() == lines


@untimed
@given(st.lists(st.lists(LINE, min_size=1, max_size=6), max_size=5))
def test_console_lines_split_as_a_shell_would(commands: list[list[str]]) -> None:
    text = "".join(f"$ {shlex.join(args)}\nsome output\n" for args in commands)
    assert console_commands(Block(Path("page.md"), "console", content=text)) == commands
