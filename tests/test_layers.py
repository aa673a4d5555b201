"""The layers stay apart: only ``serve_app`` imports Ray; the domain (``core``) knows
neither Ray nor FastAPI nor the HTTP layer; the HTTP layer (``api``) knows no Ray."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

#: Package -> top-level modules it must never import (at any depth of the file).
FORBIDDEN = {
    "core": {"ray", "fastapi", "starlette", "uvicorn", "api", "serve_app"},
    "api": {"ray", "serve_app"},
    "plugins": {"ray", "fastapi", "starlette", "api", "serve_app"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every module a file imports (absolute imports)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_the_layers_above(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    offences = {
        str(path.relative_to(REPO)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in files
    }
    assert {path: names for path, names in offences.items() if names} == {}


def test_only_serve_app_imports_ray():
    importers = {
        path.relative_to(REPO).parts[0]
        for package in ("core", "api", "serve_app", "plugins")
        for path in (REPO / package).rglob("*.py")
        if "ray" in imported_roots(path)
    }
    assert importers == {"serve_app"}


@pytest.mark.parametrize("package", ["core", "api", "serve_app", "plugins"])
def test_no_module_over_400_lines(package):
    long = {
        str(path.relative_to(REPO)): count
        for path in (REPO / package).rglob("*.py")
        if (count := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
