"""Whether a command line shown in the docs would run: the command exists and accepts its arguments."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError
from django.urls import Resolver404, resolve

from .markdown import ROOT


def manage_py_problem(args: list[str]) -> str | None:
    """``manage.py NAME ARGS...``: None if Django's own parser of NAME accepts ARGS, else why not."""
    name, rest = args[0], args[1:]
    commands = get_commands()
    if name not in commands:
        return f"no management command {name!r}"
    parser = load_command_class(commands[name], name).create_parser("manage.py", name)
    try:
        parser.parse_args(rest)
    except CommandError as exc:
        return f"manage.py {name} {' '.join(rest)}: {exc}"
    return None


def script_problem(args: list[str]) -> str | None:
    """A repository script (``bin/...``, ``bench/...``) exists, and its long options appear in its source."""
    script = next((a for a in args if a.startswith(("bin/", "bench/"))), None)
    if script is None:
        return None
    path = ROOT / script
    if not path.is_file():
        return f"{script} does not exist"
    helper = path.with_name(path.name + ".py")  # bin/NAME may hand its arguments to bin/NAME.py
    source = path.read_text() + (helper.read_text() if helper.is_file() else "")
    for option in (a.split("=", 1)[0] for a in args[args.index(script) + 1 :] if a.startswith("--")):
        if f'"{option}"' not in source and f"{option})" not in source and f"{option}|" not in source:
            return f"{script} has no option {option}"
    return None


def api_url_problem(args: list[str]) -> str | None:
    """A curl line's URL under ``$SITE/arq/`` resolves to a view of ``django_arq.urls``."""
    for arg in args:
        if arg.startswith(("$SITE/arq/", "http")):
            path = re.sub(r"\$\{?\w+\}?", "x", urlsplit(arg.replace("$SITE", "http://site")).path)
            try:
                resolve(path.removeprefix("/arq"), urlconf="django_arq.urls")
            except Resolver404:
                return f"{arg}: no such API endpoint"
            return None
    return f"no API URL in {' '.join(args)}"


def path_problem(args: list[str]) -> str | None:
    """pytest or sphinx-build: the paths they are given (arguments without a dash) exist."""
    tool = "pytest" if "pytest" in args else next(a for a in args if a.endswith("sphinx-build"))
    paths = [a for a in args[args.index(tool) + 1 :] if ("/" in a and not a.startswith("-")) or a == "docs"]
    missing = [p for p in paths if not (ROOT / p).exists() and not p.startswith("var/")]
    return f"no such path: {missing}" if missing else None


def command_problem(args: list[str]) -> str | None:
    """Why a shell command shown in the docs would not run as shown, or None."""
    while args and re.fullmatch(r"[A-Z_]+=\S*", args[0]):  # VAR=value before the command
        args = args[1:]
    if "manage.py" in args:
        return manage_py_problem(args[args.index("manage.py") + 1 :])
    if args[0] == "curl":
        return api_url_problem(args)
    if any(a.startswith(("bin/", "bench/")) for a in args):
        return script_problem(args)
    if "pytest" in args or args[0].endswith("sphinx-build"):
        return path_problem(args)
    if args[0] in ("pip", "cd", "systemctl"):
        return None
    return f"a command the docs tests do not know how to check: {' '.join(args)}"
