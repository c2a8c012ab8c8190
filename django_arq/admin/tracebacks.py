"""A job's traceback as an operator wants to read it: the error, then the frames of the project's own
code, then the whole traceback folded away.

A frame is library code when its file lies in an installed package (``site-packages``,
``dist-packages``), in Python's standard library, in django-arq itself, or is frozen; every other
frame is the project's. Paths are those of the worker that wrote the traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.html import format_html
from django.utils.safestring import SafeString

__all__ = ["Traceback", "parse_traceback", "render_traceback"]

_FRAME = re.compile(r'^  File "(?P<path>[^"]*)", line \d+')
_LIBRARY = re.compile(
    r"[/\\](site-packages|dist-packages)[/\\]"  # installed packages
    r"|[/\\]lib[/\\]python\d+\.\d+[/\\]"  # the standard library (POSIX)
    r"|[/\\]Lib[/\\]"  # the standard library (Windows)
    r"|[/\\]django_arq[/\\]"  # this app
    r"|^<frozen "
)


@dataclass(frozen=True)
class Traceback:
    """A traceback split into its frames (each the ``File`` line and its source lines) and its error."""

    frames: list[str]
    error: str

    @property
    def own_frames(self) -> list[str]:
        """The frames of the project's code, in the traceback's order."""
        return [f for f in self.frames if not is_library(f)]


def is_library(frame: str) -> bool:
    """Whether a frame (its ``File "..."`` line first) is library code."""
    found = _FRAME.match(frame)
    return found is None or bool(_LIBRARY.search(found.group("path")))


def parse_traceback(text: str) -> Traceback | None:
    """The frames and final error of a Python traceback; None if ``text`` holds no frame."""
    frames: list[str] = []
    error: list[str] = []
    for line in text.splitlines():
        if _FRAME.match(line):
            frames.append(line)
            error = []
        elif line.startswith("    ") and frames and not error:
            frames[-1] += "\n" + line
        elif line.strip() and not line.startswith("Traceback (most recent call last)"):
            error.append(line)  # the error after the last frame; chained tracebacks reset it
    if not frames:
        return None
    return Traceback(frames=frames, error="\n".join(error))


def render_traceback(text: str) -> SafeString:
    """The error and the project's frames first, the whole traceback in a ``<details>``; escaped."""
    parsed = parse_traceback(text)
    if parsed is None or not parsed.own_frames or len(parsed.own_frames) == len(parsed.frames):
        return format_html('<pre class="arq-payload">{}</pre>', text)
    own = "\n".join(parsed.own_frames)
    return format_html(
        '<div class="arq-traceback"><pre class="arq-payload arq-error">{error}</pre>'
        '<p class="arq-frames-label">{label}</p><pre class="arq-payload">{own}</pre>'
        '<details><summary>{summary}</summary><pre class="arq-payload">{full}</pre></details></div>',
        error=parsed.error,
        label=f"Your code ({len(parsed.own_frames)} of {len(parsed.frames)} frames, innermost last):",
        own=own,
        summary="Full traceback",
        full=text,
    )
