from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocr.numbers import MAX_DIGITS, ParsedNumber, format_vn, join_spilled, parse_number

# Values a form can hold: up to MAX_DIGITS digits (beyond that the parser refuses).
whole_numbers = st.integers(min_value=0, max_value=10**MAX_DIGITS - 1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.500.000", 12_500_000),
        ("12,500,000", 12_500_000),
        ("12 500 000", 12_500_000),
        ("12\u00a0500\u00a0000", 12_500_000),
        ("12500000", 12_500_000),
        ("12.500.000đ", 12_500_000),
        ("12.500.000 đ", 12_500_000),
        ("12.500.000 đồng", 12_500_000),
        ("12.500.000 ĐỒNG", 12_500_000),
        ("12.500.000d", 12_500_000),
        ("12.500.000 VNĐ", 12_500_000),
        ("12.500.000 vnd", 12_500_000),
        ("VND 12.500.000", 12_500_000),
        ("đ12.500.000", 12_500_000),
        ("12.500.000 đồng.", 12_500_000),
        ("1.234", 1234),
        ("1,234", 1234),
        ("1 234", 1234),
        ("120", 120),
        ("007", 7),
    ],
)
def test_parse_number_accepted_spellings(text: str, value: int) -> None:
    assert parse_number(text) == ParsedNumber(value=value, is_blank=False, is_valid=True)


def test_parse_number_decomposed_unicode_currency() -> None:
    assert parse_number("500 \u0111o\u0302\u0300ng").value == 500


@pytest.mark.parametrize("text", ["", " ", "\t\n", "|", "'", " _ ", "đ"])
def test_parse_number_blank(text: str) -> None:
    assert parse_number(text) == ParsedNumber(value=None, is_blank=True, is_valid=True)


@pytest.mark.parametrize("text", ["0", "-", "–", "—", "--", "x", "X", "0đ", "0 đồng", "000"])
def test_parse_number_zero_markers(text: str) -> None:
    assert parse_number(text) == ParsedNumber(value=0, is_blank=False, is_valid=True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'15", 15),
        ("15'", 15),
        ("|15|", 15),
        ("_15_", 15),
        (":15", 15),
        ("[15]", 15),
        (" 15 ", 15),
        ("15.", 15),
    ],
)
def test_parse_number_border_noise_stripped_silently(text: str, value: int) -> None:
    assert parse_number(text) == ParsedNumber(value=value, is_blank=False, is_valid=True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1O", 10),
        ("1o0", 100),
        ("1.5OO", 1500),
        ("l2", 12),
        ("I2", 12),
        ("1|2", 112),
        ("S0", 50),
        ("1B", 18),
        ("2O.OOO đ", 20_000),
    ],
)
def test_parse_number_ocr_substitution_is_flagged(text: str, value: int) -> None:
    parsed = parse_number(text)
    assert parsed.value == value
    assert parsed.is_valid
    assert parsed.reasons == ("ocr_substitution",)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.5", "not_integer"),
        ("1,5", "not_integer"),
        ("12,50", "not_integer"),
        ("0.500", "not_integer"),
        ("1.234,5", "not_integer"),
        ("1,234.5", "not_integer"),
        ("12.500.000,00", "not_integer"),
        ("1.2345", "bad_grouping"),
        ("12.50.000", "bad_grouping"),
        ("1234.567", "bad_grouping"),
        ("12..500", "bad_grouping"),
        ("12  500", "bad_grouping"),
        ("120\n150", "bad_grouping"),
        ("0 500", "bad_grouping"),
        ("-5", "negative"),
        ("- 5", "negative"),
        ("–1.000", "negative"),
        ("abc", "not_a_number"),
        ("O", "not_a_number"),
        ("lo", "not_a_number"),
        ("SB", "not_a_number"),
        ("O5", "not_a_number"),
        ("12a", "not_a_number"),
        ("+5", "not_a_number"),
        ("1/2", "not_a_number"),
        ("Không", "not_a_number"),
        ("9" * (MAX_DIGITS + 1), "too_long"),
    ],
)
def test_parse_number_refused(text: str, reason: str) -> None:
    assert parse_number(text) == ParsedNumber(
        value=None, is_blank=False, is_valid=False, reasons=(reason,)
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (7, "7"), (999, "999"), (1000, "1.000"), (12_500_000, "12.500.000")],
)
def test_format_vn_examples(value: int, text: str) -> None:
    assert format_vn(value) == text


@given(whole_numbers)
def test_parse_number_round_trips_format_vn(n: int) -> None:
    assert parse_number(format_vn(n)).value == n


@given(whole_numbers)
def test_parse_number_reads_comma_grouping(n: int) -> None:
    assert parse_number(f"{n:,}").value == n


@given(whole_numbers)
def test_parse_number_reads_plain_digits(n: int) -> None:
    assert parse_number(str(n)).value == n


@given(whole_numbers)
def test_parse_number_reads_currency_suffix(n: int) -> None:
    assert parse_number(f"{format_vn(n)} đồng").value == n


@given(whole_numbers)
def test_parse_number_reads_space_grouping(n: int) -> None:
    assert parse_number(f"{n:_}".replace("_", " ")).value == n


@given(st.text())
def test_parse_number_never_raises(text: str) -> None:
    parsed = parse_number(text)
    assert parsed.is_valid or parsed.value is None
    assert parsed.value is None or parsed.value >= 0
    assert not parsed.is_blank or parsed.value is None


@given(st.text(alphabet="0123456789.,  đOlISB|-x'", max_size=20))
def test_parse_number_invariants_on_number_like_text(text: str) -> None:
    parsed = parse_number(text)
    if not parsed.is_valid:
        assert parsed.value is None
        assert len(parsed.reasons) == 1
    elif parsed.value is not None:
        assert 0 <= parsed.value < 10**MAX_DIGITS


@pytest.mark.parametrize(
    ("left", "right", "value", "is_sure"),
    [
        ("172.100.", "000 đồng", 172_100_000, True),
        ("172.1", "00.000", 172_100_000, True),
        ("172.100", ".000", 172_100_000, True),
        ("17", "2.100.000", 172_100_000, False),
    ],
)
def test_join_spilled_amount_across_sub_columns(
    left: str, right: str, value: int, is_sure: bool
) -> None:
    joined = join_spilled(left, right)
    assert joined is not None
    assert (joined.value, joined.is_sure) == (value, is_sure)


@pytest.mark.parametrize(
    ("left", "right"), [("12", "5"), ("3", "120"), ("", "5"), ("1.500", "000")]
)
def test_join_spilled_refuses_numbers_without_grouping(left: str, right: str) -> None:
    assert join_spilled(left, right) is None
