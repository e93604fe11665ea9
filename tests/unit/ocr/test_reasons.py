"""Every reason code has a Vietnamese and an English text, and the enum covers them all."""

from __future__ import annotations

import pytest

from ocr.checks import rule_reasons
from ocr.layout import available_layouts, load_layout
from ocr.numbers import parse_number
from ocr.reasons import Reason
from service.web.i18n import LANGUAGES, STRINGS


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("reason", list(Reason))
def test_reason_translated(reason: Reason, lang: str) -> None:
    assert f"reason.{reason}" in STRINGS[lang], f"no {lang} text for reason {reason!r}"


@pytest.mark.parametrize("layout_id", available_layouts())
def test_rule_reasons_all_members(layout_id: str) -> None:
    """A layout's comparison rules name their reason from its fields: each must be a member."""
    assert rule_reasons(load_layout(layout_id)) <= set(Reason)


@pytest.mark.parametrize("text", ["abc", "1,5", "1.23.4", "-5", "1" * 30, "12O"])
def test_parse_number_reasons_are_members(text: str) -> None:
    reasons = parse_number(text).reasons
    assert reasons, f"{text!r} parsed without a reason"
    assert all(isinstance(r, Reason) for r in reasons)


def test_reason_is_its_code() -> None:
    """The JSON output and stored strings depend on a member equalling its code."""
    assert Reason.LOW_CONFIDENCE == "low_confidence"
    assert f"{Reason.SUM_MISMATCH}" == "sum_mismatch"
