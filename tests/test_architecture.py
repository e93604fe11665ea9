"""The import rules of docs/architecture.md, checked on the source with ``ast``.

Each rule names the packages a module may not import; a violation lists the module,
the line and the import, so the fix is obvious. ``test_rules_catch_a_violation``
shows that the checker sees each kind of import it has to see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("ocr", "service")
# What persistence may import of the service: only the modules below it.
STORE_MAY_IMPORT = (
    "service.store",
    "service.db",
    "service.models",
    "service.errors",
    "service.settings",
    "service.scope",
)
# SQLAlchemy's query-building API: only persistence (and the engine and tables) uses it.
QUERY_API = ("select", "update", "delete", "insert", "func", "text")
MAY_BUILD_QUERIES = ("service.store", "service.db", "service.models", "service.migrations")


def module_name(path: Path) -> str:
    """``service/store/jobs.py`` -> ``service.store.jobs`` (a package is its ``__init__``)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, *, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """Every module ``source`` imports, as absolute dotted names, with its line.

    ``from service import store`` yields ``service.store`` (it may name a module), and
    relative imports are resolved against ``module``.
    """
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def is_under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def builds_queries(imported: str) -> bool:
    """Whether importing ``imported`` gives a module SQLAlchemy's query-building API.

    The names of ``QUERY_API`` count wherever they are imported from, as does anything
    of the expression package ``sqlalchemy.sql``; ``sqlalchemy.orm``'s ``Session`` and
    ``sqlalchemy.exc``'s errors do not. (``import sqlalchemy as sa`` then ``sa.select``
    would escape it: no module of the service imports SQLAlchemy that way.)
    """
    return is_under(imported, "sqlalchemy.sql") or (
        is_under(imported, "sqlalchemy") and imported.rpartition(".")[2] in QUERY_API
    )


def violations(module: str, imported: str) -> list[str]:
    """The rules of docs/architecture.md that importing ``imported`` from ``module`` breaks."""
    broken = []
    if is_under(module, "ocr") and (is_under(imported, "service") or is_under(imported, "bench")):
        broken.append("ocr never imports service or bench")
    if is_under(module, "service") and is_under(imported, "bench"):
        broken.append("no product module imports bench")
    if (
        is_under(module, "service.store")
        and is_under(imported, "service")
        and not any(is_under(imported, allowed) for allowed in STORE_MAY_IMPORT)
    ):
        broken.append("service.store imports nothing of the service above it")
    if (
        is_under(module, "service.routes")
        and module != "service.routes"
        and is_under(imported, "service.routes")
        and imported != "service.routes"
        and not is_under(imported, module)
    ):
        broken.append("routes do not import each other")
    if (
        is_under(module, "service")
        and not any(is_under(module, allowed) for allowed in MAY_BUILD_QUERIES)
        and builds_queries(imported)
    ):
        broken.append("no SQL outside service.store")
    return broken


def product_modules() -> Iterator[tuple[str, Path]]:
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield module_name(path), path


def check_source(module: str, source: str, *, is_package: bool = False) -> list[str]:
    return [
        f"{module}:{line}: imports {imported}: {rule}"
        for line, imported in imports_of(source, module, is_package=is_package)
        for rule in violations(module, imported)
    ]


def test_product_modules_follow_import_rules() -> None:
    found = []
    for module, path in product_modules():
        source = path.read_text(encoding="utf-8")
        found += check_source(module, source, is_package=path.name == "__init__.py")
    assert found == []


def test_product_modules_found() -> None:
    names = {module for module, _ in product_modules()}
    assert {"ocr.pipeline", "service.store.jobs", "service.routes.review"} <= names


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("ocr.grid", "from service.models import Job\n", "ocr never imports"),
        ("ocr.grid", "import bench.scale\n", "ocr never imports"),
        ("service.app", "from bench import scale\n", "no product module imports bench"),
        ("service.store.jobs", "from service import auth\n", "service.store imports nothing"),
        ("service.store.jobs", "from ..review import decide\n", "service.store imports nothing"),
        ("service.routes.jobs", "from service.routes.review import router\n", "routes do not"),
        ("service.routes.jobs", "from . import review\n", "routes do not"),
        ("service.review", "from sqlalchemy import select\n", "no SQL outside service.store"),
        ("service.web.pages", "from sqlalchemy import func\n", "no SQL outside service.store"),
        ("service.routes.health", "from sqlalchemy import text\n", "no SQL outside"),
        ("service.jobs.dispatch", "import sqlalchemy.sql.expression\n", "no SQL outside"),
    ],
)
def test_rules_catch_a_violation(module: str, source: str, rule: str) -> None:
    found = check_source(module, source)
    assert found, f"{source!r} in {module} should break {rule!r}"
    assert any(rule in line for line in found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("service.store.jobs", "from service.models import Job\nfrom ocr.types import Reading\n"),
        ("service.store.jobs", "from service.store.audit import add_event\n"),
        ("service.routes.jobs", "from service import store\nfrom service.deps import SessionDep\n"),
        ("service.app", "from service.routes import jobs, review\n"),
        ("ocr.grid", "import numpy as np\nfrom ocr.types import Grid\n"),
        ("service.review", "from sqlalchemy.orm import Session\n"),
        ("service.upload", "from sqlalchemy.exc import IntegrityError\n"),
        ("service.store.jobs", "from sqlalchemy import select, update\n"),
        ("service.db", "from sqlalchemy import text\n"),
    ],
)
def test_rules_allow_imports_below(module: str, source: str) -> None:
    assert check_source(module, source) == []
