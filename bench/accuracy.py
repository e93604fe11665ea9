"""``python -m bench accuracy DIR``: accuracy, review load and speed on samples with ground truth.

Every ``*.truth.json`` under DIR names its files (pages in order), slices and the
true value of every field. The figures, overall and per slice:

- **accuracy**: share of fields whose value equals the truth exactly (null vs a number
  is wrong, so blank-vs-zero mistakes count);
- **review rate**: share of fields flagged for a person;
- **auto-accept precision**: among fields not flagged, the share that are right;
- **residual error**: fields wrong *and* not flagged, over all fields: the errors
  that would reach the totals unseen. The figure that matters most;
- **s/page**: median of ``seconds / pages`` per document, end to end as ``extract``
  reports it (load, clean, grid, OCR, checks), in one process.

``--peer img2table`` runs img2table (with its Tesseract OCR) on the same pages in the
same run; its rows are mapped to the layout by the same label matching, and it has
no confidence, so everything it returns counts as accepted.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ocr.errors import OcrError

log = logging.getLogger(__name__)

Extractor = Callable[[list[Path], str], dict[str, object]]

# The reason of a reading the recognisers disagreed on (``ocr.combined``).
VETO_REASON = "engines_disagree"
# The form's money rows (amounts in đồng), counted as a field slice of their own.
MONEY_ROWS = frozenset({"10.1", "10.2"})


@dataclass
class Tally:
    """Counts for one slice of one system."""

    fields: int = 0
    correct: int = 0
    flagged: int = 0
    accepted_correct: int = 0
    residual: int = 0
    seconds_per_page: list[float] = field(default_factory=list)
    failed_docs: int = 0
    docs: int = 0
    vetoed: int = 0  # fields the recognisers disagreed on (reason engines_disagree)
    veto_proposed_right: int = 0  # ... whose proposed value was right
    veto_truth_offered: int = 0  # ... whose truth was the proposal or an alternative

    def add_vetoes(
        self, truth: dict[tuple[str, str], int | None], fields: Sequence[dict[str, object]]
    ) -> None:
        """Count the vetoed fields: is the proposal right, is the truth among the offers?"""
        for f in fields:
            key = (str(f["row_key"]), str(f["field"]))
            if key not in truth or VETO_REASON not in f.get("reasons", ()):  # type: ignore[operator]
                continue
            offered = [f["value"], *f.get("alternatives", ())]  # type: ignore[misc]
            self.vetoed += 1
            self.veto_proposed_right += f["value"] == truth[key]
            self.veto_truth_offered += truth[key] in offered

    def add_doc(
        self,
        truth: dict[tuple[str, str], int | None],
        got: dict[tuple[str, str], tuple[int | None, bool]],
        spp: float | None,
    ) -> None:
        """Count one document's fields; a field missing from ``got`` counts as flagged and wrong."""
        self.docs += 1
        if spp is not None:
            self.seconds_per_page.append(spp)
        for key, want in truth.items():
            value, flagged = got.get(key, (None, True))
            ok = value == want
            self.fields += 1
            self.correct += ok
            self.flagged += flagged
            self.accepted_correct += ok and not flagged
            self.residual += (not ok) and (not flagged)

    def row(self) -> dict[str, float | int | None]:
        """The figures of this slice, as shares of its fields."""
        n = max(1, self.fields)
        accepted = self.fields - self.flagged
        return {
            "docs": self.docs,
            "fields": self.fields,
            "accuracy": self.correct / n,
            "review_rate": self.flagged / n,
            "auto_accept_precision": self.accepted_correct / accepted if accepted else None,
            "residual_error": self.residual / n,
            "s_per_page": statistics.median(self.seconds_per_page)
            if self.seconds_per_page
            else None,
            "failed_docs": self.failed_docs,
        }


@dataclass(frozen=True)
class Case:
    """One document with ground truth: its files (pages in order), layout, slices and truth."""

    truth_path: Path
    files: list[Path]
    layout: str
    slices: list[str]
    truth: dict[tuple[str, str], int | None]


def load_cases(directory: Path, *, layout: str | None = None) -> list[Case]:
    """Every ``*.truth.json`` under ``directory``, optionally of one layout only."""
    cases = []
    for path in sorted(directory.rglob("*.truth.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if layout and data["layout"] != layout:
            continue
        truth = {(f["row_key"], f["field"]): f["value"] for f in data["fields"]}
        cases.append(
            Case(
                truth_path=path,
                files=[path.parent / f for f in data["files"]],
                layout=data["layout"],
                slices=list(data.get("slices", [])),
                truth=truth,
            )
        )
    return cases


def ours(files: list[Path], layout: str) -> dict[str, object]:
    """Run formscan itself, as one of the benchmarked systems."""
    from ocr.files import extract_files

    return extract_files(files, layout=layout)


def run_system(
    cases: Sequence[Case], extractor: Extractor, *, progress: Callable[[str], None]
) -> tuple[dict[str, Tally], list[dict[str, object]]]:
    """Run one system over every case; tallies per slice plus per-case details."""
    tallies: dict[str, Tally] = {}
    details: list[dict[str, object]] = []
    for i, case in enumerate(cases, 1):
        started = time.perf_counter()
        try:
            result = extractor(case.files, case.layout)
            error = str(result["error"]) if result.get("error") else None
        except OcrError as exc:
            result, error = {"fields": [], "pages": len(case.files)}, f"{exc.code}: {exc.message}"
        except Exception as exc:  # a benchmark reports a crash per case and goes on
            log.exception("internal error on %s", case.truth_path)
            result, error = {"fields": [], "pages": len(case.files)}, f"internal_error: {exc!r}"
        got = {
            (f["row_key"], f["field"]): (f["value"], bool(f["flagged"]))  # type: ignore[index]
            for f in result["fields"]
        }  # type: ignore[attr-defined]
        seconds = float(result.get("seconds", time.perf_counter() - started))  # type: ignore[arg-type]
        pages = max(1, int(result.get("pages", 1)))  # type: ignore[call-overload]
        spp = None if error else seconds / pages
        for name in ("all", *case.slices, *_combined_slices(case.slices)):
            tally = tallies.setdefault(name, Tally())
            tally.add_doc(case.truth, got, spp)
            tally.add_vetoes(case.truth, result["fields"])  # type: ignore[arg-type]
            tally.failed_docs += error is not None
        for name, fields in _field_slices(case.truth).items():
            tallies.setdefault(name, Tally()).add_doc(fields, got, spp)
        details.append(_detail(case, got, error, spp))
        progress(
            f"[{i}/{len(cases)}] {case.truth_path.name}: "
            f"{details[-1]['correct']}/{len(case.truth)} right, "
            f"{details[-1]['residual']} residual{', ' + error if error else ''}"
        )
    return tallies, details


def _field_slices(
    truth: dict[tuple[str, str], int | None],
) -> dict[str, dict[tuple[str, str], int | None]]:
    """Slices of fields rather than documents: money cells and zeros (written "0" or "-").

    The outside evaluation counted money cells (rows ``MONEY_ROWS``) apart, and a zero
    read as a blank is the silent error the dash fixes are for.
    """
    slices: dict[str, dict[tuple[str, str], int | None]] = {}
    for key, want in truth.items():
        if key[0] in MONEY_ROWS:
            slices.setdefault("field:money", {})[key] = want
        if want == 0:
            slices.setdefault("field:zero", {})[key] = want
    return slices


def _combined_slices(slices: list[str]) -> list[str]:
    """Kind by capture (``typed/scan``, ``handwritten/photo``…): the targets are per pair."""
    kinds = [s for s in slices if s in ("typed", "handwritten")]
    captures = [s for s in slices if s in ("scan", "photo", "fax")]
    return [f"{k}/{c}" for k in kinds for c in captures]


def _detail(
    case: Case,
    got: dict[tuple[str, str], tuple[int | None, bool]],
    error: str | None,
    spp: float | None,
) -> dict[str, object]:
    wrong = [
        {
            "row_key": k[0],
            "field": k[1],
            "truth": v,
            "got": got.get(k, (None, True))[0],
            "flagged": got.get(k, (None, True))[1],
        }
        for k, v in case.truth.items()
        if got.get(k, (None, True))[0] != v
    ]
    return {
        "case": case.truth_path.name,
        "slices": case.slices,
        "error": error,
        "s_per_page": spp,
        "correct": len(case.truth) - len(wrong),
        "flagged": sum(1 for k in case.truth if got.get(k, (None, True))[1]),
        "residual": sum(1 for w in wrong if not w["flagged"]),
        "wrong": wrong,
    }


def format_table(systems: dict[str, dict[str, Tally]]) -> str:
    """A Markdown table: one line per (slice, system)."""
    lines = [
        "| slice | system | docs | fields | accuracy | review rate | auto-accept precision "
        "| residual error | s/page (median) | failed docs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    slices = _ordered_slices(t for tallies in systems.values() for t in tallies)
    for name in slices:
        for system, tallies in systems.items():
            if name not in tallies:
                continue
            r = tallies[name].row()
            lines.append(
                f"| {name} | {system} | {r['docs']} | {r['fields']} | {_pct(r['accuracy'])} "
                f"| {_pct(r['review_rate'])} | {_pct(r['auto_accept_precision'])} "
                f"| {_pct(r['residual_error'], 2)} | {_sec(r['s_per_page'])} | {r['failed_docs']} |"
            )
    return "\n".join(lines)


def format_vetoes(systems: dict[str, dict[str, Tally]]) -> str:
    """Per slice: how many fields were vetoed, and how often the proposal was right."""
    lines = [
        "| slice | vetoed fields | proposal right | truth offered (proposal or alternative) |",
        "|---|---:|---:|---:|",
    ]
    tallies = systems.get("formscan", {})
    for name in _ordered_slices(tallies):
        t = tallies[name]
        if t.vetoed:
            lines.append(
                f"| {name} | {t.vetoed} | {_pct(t.veto_proposed_right / t.vetoed)} "
                f"| {_pct(t.veto_truth_offered / t.vetoed)} |"
            )
    return "\n".join(lines)


def _ordered_slices(names: Iterable[str]) -> list[str]:
    preferred = [
        "all",
        "typed",
        "typed/scan",
        "typed/photo",
        "typed/fax",
        "handwritten",
        "handwritten/scan",
        "photo",
        "fax",
        "born-digital",
        "two-page",
    ]
    unique = sorted(set(names))
    return [n for n in preferred if n in unique] + [n for n in unique if n not in preferred]


def _pct(value: object, digits: int = 1) -> str:
    return "–" if value is None else f"{float(value) * 100:.{digits}f} %"  # type: ignore[arg-type]


def _sec(value: object) -> str:
    return "–" if value is None else f"{float(value):.2f}"  # type: ignore[arg-type]


def run_bench(
    directory: Path,
    *,
    layout: str | None = None,
    peer: str | None = None,
    limit: int | None = None,
    json_out: Path | None = None,
) -> int:
    """Run formscan (and the peer, if asked) over the cases; print the table, 2 if none."""
    cases = load_cases(directory, layout=layout)[:limit]
    if not cases:
        sys.stderr.write(f"bench accuracy: no *.truth.json under {directory}\n")
        return 2

    def progress(message: str) -> None:
        sys.stderr.write(message + "\n")

    systems: dict[str, dict[str, Tally]] = {}
    all_details: dict[str, list[dict[str, object]]] = {}
    systems["formscan"], all_details["formscan"] = run_system(cases, ours, progress=progress)
    if peer == "img2table":
        from bench.peer import img2table_extractor

        systems["img2table"], all_details["img2table"] = run_system(
            cases, img2table_extractor(), progress=progress
        )
    sys.stdout.write(format_table(systems) + "\n")
    sys.stdout.write("\nVetoes (the recognisers disagreed):\n\n" + format_vetoes(systems) + "\n")
    if json_out is not None:
        payload = {
            name: {"slices": {k: t.row() for k, t in tallies.items()}, "cases": all_details[name]}
            for name, tallies in systems.items()
        }
        json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench accuracy DIR [--layout ID] [--peer img2table] [--json OUT]``."""
    parser = argparse.ArgumentParser(
        prog="python -m bench accuracy",
        description="Measure accuracy, review load and speed on samples with ground truth.",
    )
    parser.add_argument("directory", type=Path, metavar="DIR")
    parser.add_argument("--layout", default=None, help="only cases of this layout")
    parser.add_argument("--peer", choices=["img2table"], help="also run a peer on the same pages")
    parser.add_argument("--limit", type=int, default=None, help="at most this many cases")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write per-case results here")
    args = parser.parse_args(argv)
    return run_bench(
        args.directory, layout=args.layout, peer=args.peer, limit=args.limit, json_out=args.json
    )
