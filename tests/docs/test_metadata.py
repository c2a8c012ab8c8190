"""The package's metadata tells the truth: license, tested Django versions, changelog, URLs."""

from __future__ import annotations

import re
import tomllib

from .markdown import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_file_is_the_declared_mit_license() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "MIT"
    assert text.startswith("MIT License\n")
    assert "Copyright (c) 2026 django-arq developers" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def test_every_file_the_sdist_lists_exists() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for name in pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]:
        assert (ROOT / name).exists(), name


def test_a_classifier_for_every_django_version_tested() -> None:
    pinned = {
        m
        for path in ROOT.glob("requirements/*.txt")
        for m in re.findall(r"^Django==(\d+\.\d+)", path.read_text(), re.M)
    }
    declared = {
        c.rsplit(" ", 1)[1] for c in PROJECT["classifiers"] if c.startswith("Framework :: Django :: ")
    }
    assert pinned and pinned <= declared
    assert {"5.2", "6.0", "6.1"} <= declared


def test_the_changelog_has_unreleased_and_the_current_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in text
    assert f"## [{PROJECT['version']}] - " in text
    for label in re.findall(r"^## \[([^\]]+)\]", text, re.M):
        assert f"[{label}]: https://" in text, f"no link for {label}"


def test_the_project_urls_point_at_the_docs_and_the_changelog() -> None:
    urls = PROJECT["urls"]
    assert set(urls) >= {"Documentation", "Changelog", "Source"}
    assert all(url.startswith("https://") for url in urls.values())
    assert urls["Changelog"].endswith("/CHANGELOG.md") and urls["Documentation"].endswith("/docs")
