"""Reading README.md and the docs pages: fenced blocks, MyST directives and the files they include."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.glob("*.md"))

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)


@dataclass
class Block:
    """One fenced block: its language (or ``{directive}``), argument, options and content."""

    source: Path
    info: str
    argument: str = ""
    options: dict[str, str] = field(default_factory=dict)
    content: str = ""

    @property
    def directive(self) -> str | None:
        match = re.fullmatch(r"\{([\w-]+)\}", self.info.split(" ", 1)[0])
        return match.group(1) if match else None

    @property
    def language(self) -> str:
        return "" if self.directive else self.info.strip()

    def __str__(self) -> str:
        return f"{self.source.name}: {self.info} {self.argument}".strip()


def blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, with a MyST directive's options parsed."""
    found = []
    for match in FENCE.finditer(path.read_text()):
        info, body = match["info"].strip(), match["body"]
        block = Block(path, info, info.split(" ", 1)[1].strip() if " " in info else "", content=body)
        if block.directive:
            lines = body.splitlines()
            while lines and lines[0].startswith(":"):
                key, _, value = lines.pop(0)[1:].partition(":")
                block.options[key.strip()] = value.strip().strip('"')
            block.content = "\n".join(lines)
        found.append(block)
    return found


def included_path(block: Block) -> Path:
    """The file a ``literalinclude`` names, relative to its page."""
    return (block.source.parent / block.argument).resolve()


def console_commands(block: Block) -> list[list[str]]:
    """The commands of a console block (its ``$`` lines), split as a shell would, comments dropped."""
    commands = []
    for line in block.content.splitlines():
        if line.startswith("$ "):
            commands.append(shlex.split(line[2:], comments=True))
    return commands


def _code_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def is_excerpt(block: str, text: str) -> bool:
    """Whether ``block``'s code lines appear, in order and together, among ``text``'s (comments aside)."""
    wanted, lines = _code_lines(block), _code_lines(text)
    return bool(wanted) and any(
        lines[start : start + len(wanted)] == wanted for start in range(len(lines) - len(wanted) + 1)
    )
