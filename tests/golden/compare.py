"""Golden JSON: one stable text form, and a comparison that tolerates pixel jitter.

Pixel positions move by a pixel or two when cleaning or resampling is tuned, which
says nothing about correctness; counts, keys, values and statuses must not move at
all. So integers under keys ending in ``_px`` (the naming rule for pixel quantities)
match within a tolerance and everything else must be equal, including list lengths:
a grid that gains or loses a rule fails whatever the tolerance.
"""

from __future__ import annotations

import json

PIXEL_SUFFIX = "_px"


def dump(data: object) -> str:
    """The text of a golden file: pretty-printed, sorted keys, UTF-8, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def compare(expected: object, actual: object, *, tolerance_px: int) -> list[str]:
    """Every difference between two JSON values, as ``path: expected ... got ...`` lines."""
    problems: list[str] = []
    _walk(expected, actual, "$", is_px=False, tolerance_px=tolerance_px, out=problems)
    return problems


def _walk(
    expected: object, actual: object, path: str, *, is_px: bool, tolerance_px: int, out: list[str]
) -> None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            where = f"{path}.{key}"
            if key not in actual:
                out.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{where}: unexpected {actual[key]!r}")
            else:
                is_key_px = is_px or key.endswith(PIXEL_SUFFIX)
                _walk(
                    expected[key],
                    actual[key],
                    where,
                    is_px=is_key_px,
                    tolerance_px=tolerance_px,
                    out=out,
                )
    elif isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            out.append(f"{path}: expected {len(expected)} items, got {len(actual)}")
            return
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            where = f"{path}[{i}]{_label(e)}"
            _walk(e, a, where, is_px=is_px, tolerance_px=tolerance_px, out=out)
    elif is_px and _is_int(expected) and _is_int(actual):
        if abs(expected - actual) > tolerance_px:  # type: ignore[operator]
            out.append(f"{path}: expected {expected} ±{tolerance_px} px, got {actual}")
    elif type(expected) is not type(actual) or expected != actual:
        out.append(f"{path}: expected {expected!r}, got {actual!r}")


def _label(item: object) -> str:
    """``(1.01/count)`` for a reading, so a failure names the field, not only its index."""
    if isinstance(item, dict) and "row_key" in item:
        return f"({item['row_key']}/{item.get('field', '')})"
    return ""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
