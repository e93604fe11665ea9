"""Layout definitions: a form described as data, validated once at load.

A layout says which columns the printed table has and how to recognise them, which
rows it has (key, printed label, aliases, the fields each carries), the plausible
range of every field and the rules the numbers obey. Nothing about a particular form
lives in Python: a new form is a new YAML file in ``layouts/``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ocr.errors import InvalidLayoutError, UnknownLayoutError

LAYOUTS_DIR_ENV = "FORMSCAN_LAYOUTS_DIR"


def default_layouts_dir() -> Path:
    """``layouts/`` beside the package (a source checkout) unless overridden by env."""
    env = os.environ.get(LAYOUTS_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "layouts"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ColumnRole = Literal["row_number", "label", "unit", "value", "note"]


class Column(_Strict):
    """A printed column: its role, and the header text (or aliases) that identifies it."""

    key: str
    role: ColumnRole
    header: str
    aliases: tuple[str, ...] = ()
    optional: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        """Every text that identifies the column's header."""
        return (self.header, *self.aliases)


class LabelMatch(_Strict):
    """How closely an OCR'd row label must match a layout label to count."""

    min_similarity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.62


class Table(_Strict):
    """The bordered table: its columns (exactly one label column) and label matching."""

    kind: Literal["bordered"] = "bordered"
    columns: tuple[Column, ...]
    label_match: LabelMatch = LabelMatch()

    @model_validator(mode="after")
    def _check_columns(self) -> Table:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"column keys must be unique, got {keys}")
        if sum(c.role == "label" for c in self.columns) != 1:
            raise ValueError("exactly one column must have role 'label'")
        if not any(c.role == "value" for c in self.columns):
            raise ValueError("at least one column must have role 'value'")
        return self

    @property
    def value_columns(self) -> tuple[Column, ...]:
        """The columns that hold numbers, in printed order."""
        return tuple(c for c in self.columns if c.role == "value")


class FieldSpec(_Strict):
    """A field (``count``, ``people``, ``value``): the columns it may sit in and its range."""

    title: str
    columns: tuple[str, ...] = Field(min_length=1)
    min: int = 0
    max: int


class Row(_Strict):
    """A printed row: its stable key, kind, printed label (and aliases) and fields."""

    key: str
    kind: Literal["section", "total", "item", "text"]
    label: str
    aliases: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    unit: str = ""
    number: str = ""
    max: dict[str, int] = Field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every printed text the row may carry."""
        return (self.label, *self.aliases)


class SumCheck(_Strict):
    """Rule: the ``total`` row equals the sum of the ``parts`` rows, per field."""

    kind: Literal["sum"]
    total: str
    parts: tuple[str, ...] = Field(min_length=1)
    fields: tuple[str, ...] = Field(min_length=1)


class CompareCheck(_Strict):
    """Within one row: ``greater`` >= ``lesser`` when both are present."""

    kind: Literal["greater_or_equal"]
    greater: str
    lesser: str


class ZeroWithPositiveCheck(_Strict):
    """Within one row: ``zero`` = 0 while ``positive`` > 0 is suspicious."""

    kind: Literal["zero_with_positive"]
    zero: str
    positive: str


Check = Annotated[SumCheck | CompareCheck | ZeroWithPositiveCheck, Field(discriminator="kind")]


class Values(_Strict):
    """The kind of values the form holds (whole numbers, at least ``min``)."""

    type: Literal["integer"] = "integer"
    min: int = 0


class Review(_Strict):
    """When a reading goes to a person: confidence below ``min_confidence``."""

    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.8


class Layout(_Strict):
    """One printed edition of a form: table, fields, rows and rules, validated on load."""

    id: str
    version: int = Field(ge=1)
    title: str
    find_by_text: tuple[str, ...] = ()
    table: Table
    fields: dict[str, FieldSpec]
    values: Values = Values()
    review: Review = Review()
    checks: tuple[Check, ...] = ()
    rows: tuple[Row, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> Layout:
        column_keys = {c.key for c in self.table.value_columns}
        for name, spec in self.fields.items():
            unknown = set(spec.columns) - column_keys
            if unknown:
                raise ValueError(f"fields.{name}.columns: {sorted(unknown)} are not value columns")
        row_keys = [r.key for r in self.rows]
        dupes = sorted({k for k in row_keys if row_keys.count(k) > 1})
        if dupes:
            raise ValueError(f"rows: duplicate keys {dupes}")
        for row in self.rows:
            self._check_row(row)
        for i, check in enumerate(self.checks):
            self._check_check(i, check, set(row_keys))
        return self

    def _check_row(self, row: Row) -> None:
        unknown = set(row.fields) - set(self.fields)
        if unknown:
            raise ValueError(f"rows[{row.key}].fields: unknown fields {sorted(unknown)}")
        if row.kind in ("section", "text") and row.fields:
            raise ValueError(f"rows[{row.key}]: a {row.kind} row carries no numeric fields")
        if row.kind in ("item", "total") and not row.fields:
            raise ValueError(f"rows[{row.key}]: an {row.kind} row needs fields")
        bad_max = set(row.max) - set(row.fields)
        if bad_max:
            raise ValueError(f"rows[{row.key}].max: {sorted(bad_max)} are not fields of the row")
        used = [c for f in row.fields for c in self.fields[f].columns]
        if len(set(used)) != len(used):
            raise ValueError(f"rows[{row.key}]: two of its fields share a column")

    def _check_check(
        self, i: int, check: SumCheck | CompareCheck | ZeroWithPositiveCheck, row_keys: set[str]
    ) -> None:
        if isinstance(check, SumCheck):
            missing = {check.total, *check.parts} - row_keys
            if missing:
                raise ValueError(f"checks[{i}]: unknown rows {sorted(missing)}")
            unknown = set(check.fields) - set(self.fields)
        elif isinstance(check, CompareCheck):
            unknown = {check.greater, check.lesser} - set(self.fields)
        else:
            unknown = {check.zero, check.positive} - set(self.fields)
        if unknown:
            raise ValueError(f"checks[{i}]: unknown fields {sorted(unknown)}")

    # -- derived views -------------------------------------------------------------

    @property
    def numeric_rows(self) -> tuple[Row, ...]:
        """Rows that carry at least one field (sections and free text left out)."""
        return tuple(r for r in self.rows if r.fields)

    def field_keys(self) -> list[tuple[str, str]]:
        """Every (row_key, field) in printed order: one reading each, always."""
        return [(r.key, f) for r in self.rows for f in r.fields]

    def row(self, key: str) -> Row:
        """The row with this key; ``KeyError`` if there is none."""
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(key)

    def field_max(self, row: Row, field: str) -> int:
        """The largest plausible value of a field in a row (row override, else the field's)."""
        return row.max.get(field, self.fields[field].max)

    def column(self, key: str) -> Column:
        """The column with this key; ``KeyError`` if there is none."""
        for c in self.table.columns:
            if c.key == key:
                return c
        raise KeyError(key)


def parse_layout(data: object, *, source: str) -> Layout:
    """Validate layout data, naming the file and the failing field on error."""
    try:
        return Layout.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidLayoutError(f"Layout {source} is invalid: {problems}.") from exc


def load_layout_file(path: Path) -> Layout:
    """Read and validate one layout YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidLayoutError(f"Layout {path} cannot be read: {exc.strerror}.") from exc
    except yaml.YAMLError as exc:
        raise InvalidLayoutError(f"Layout {path} is not valid YAML: {exc}.") from exc
    return parse_layout(data, source=str(path))


@functools.cache
def _load_by_id(layout_id: str, directory: str) -> Layout:
    base = Path(directory)
    for path in sorted(base.glob("*.yaml")):
        if path.stem == layout_id:
            return load_layout_file(path)
    known = ", ".join(available_layouts(base)) or "none"
    raise UnknownLayoutError(f"No layout named '{layout_id}' in {base} (available: {known}).")


def load_layout(name: str, directory: Path | None = None) -> Layout:
    """Load a layout by id (file stem in the layouts directory) or by path to a YAML file."""
    if name.endswith((".yaml", ".yml")) or os.sep in name:
        return load_layout_file(Path(name))
    return _load_by_id(name, str(directory or default_layouts_dir()))


def available_layouts(directory: Path | None = None) -> list[str]:
    """Ids of the layouts in ``directory`` (default: the bundled ``layouts/``)."""
    base = directory or default_layouts_dir()
    return sorted(p.stem for p in base.glob("*.yaml"))


def layout_json_schema() -> dict[str, object]:
    """JSON Schema of the layout format, for editors and the pre-commit check."""
    return Layout.model_json_schema()
