"""What a user may see, and the one walk of the unit tree that decides it.

``Scope`` is a plain value (a set of unit ids, or everything) so that persistence
(``service.store``) can filter by it without knowing about users or roles; who gets
which scope is ``service.auth.scope_of``.

The unit tree is walked in Python over ``(unit_id, parent_id)`` pairs: a province's
tree is a few thousand rows, and this works the same on SQLite and PostgreSQL without
recursive SQL. Every question about the tree (a reviewer's subtree, a district's
units, whether an import made a unit its own ancestor) goes through ``descendants``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.orm import QueryableAttribute


class HasUnitId(Protocol):
    """Anything with a unit ``id`` (a ``Unit`` row, say)."""

    @property
    def id(self) -> int:
        """The unit's database id."""
        ...


U = TypeVar("U", bound=HasUnitId)


@dataclass(frozen=True)
class Scope:
    """The units a user may see and act on; ``unit_ids`` None means every unit."""

    unit_ids: frozenset[int] | None

    @property
    def is_everything(self) -> bool:
        """True for an admin's scope (and internal callers'): no filter at all."""
        return self.unit_ids is None

    def allows(self, unit_id: int) -> bool:
        """Whether the unit ``unit_id`` is in scope."""
        return self.unit_ids is None or unit_id in self.unit_ids

    def clause(self, column: ColumnElement[int] | QueryableAttribute[int]) -> ColumnElement[bool]:
        """A SQL condition: ``column`` (a unit id) is in scope."""
        if self.unit_ids is None:
            return true()
        if not self.unit_ids:
            return false()
        return column.in_(sorted(self.unit_ids))

    def units_in(self, units: Iterable[U]) -> list[U]:
        """The units of ``units`` in scope, in their order."""
        return [u for u in units if self.allows(u.id)]


# Internal callers (the runners, the CLI) see every unit; routes pass the user's scope.
EVERYTHING = Scope(None)


def descendants(edges: Iterable[tuple[int, int | None]], *roots: int) -> list[int]:
    """``roots`` and every unit below them, each once, from ``(unit_id, parent_id)`` pairs.

    Depth first; a unit reached twice (only possible in a tree with a loop) is kept
    once, so the walk always ends.
    """
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in edges:
        if parent_id is not None:
            children.setdefault(parent_id, []).append(unit_id)
    found: list[int] = []
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        unit_id = stack.pop()
        if unit_id in seen:
            continue
        seen.add(unit_id)
        found.append(unit_id)
        stack.extend(children.get(unit_id, ()))
    return found


def units_in_loops(edges: Iterable[tuple[int, int | None]]) -> set[int]:
    """The units that are their own ancestor, or below one that is.

    In a tree every unit is reached from a root (a unit without parent); whatever the
    walk from the roots does not reach hangs on a loop.
    """
    pairs = list(edges)
    roots = [unit_id for unit_id, parent_id in pairs if parent_id is None]
    return {unit_id for unit_id, _ in pairs} - set(descendants(pairs, *roots))
