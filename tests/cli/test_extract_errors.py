"""Bad input through the real command: exit status 3, one line naming the problem and the fix.

Each case builds its file in ``tmp_path`` and runs ``python -m service.cli extract`` in
a fresh process, so what is checked is exactly what a user or a job runner sees:
nothing on stdout, a single ``formscan: <code>: ... Fix: ...`` line on stderr, and
an answer within seconds (hostile files must be refused before they are decoded or
rendered, never hang the process).
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

# A hung process is killed after this long; the assertion on elapsed time is tighter.
HANG_TIMEOUT_S = 60.0
# Every refusal happens before OCR of the values; Python start-up plus imports take ~1 s.
MAX_SECONDS = 20.0
# Refusing an oversized image reads its header only: decoding 100 Mpx would take longer.
MAX_SECONDS_UNDECODED = 5.0
A4_200DPI_PX = (1654, 2339)
A4_PT = (595, 842)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(*args: str) -> Run:
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "service.cli", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=HANG_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"formscan {' '.join(args)} hung for {HANG_TIMEOUT_S:g} s")
    return Run(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - started)


def assert_one_line_error(run: Run, *, code: str, status: int, max_seconds: float) -> str:
    """The common contract of a refusal; returns the message line for further checks."""
    lines = run.stderr.splitlines()
    assert run.returncode == status, run.stderr
    assert run.stdout == ""
    assert len(lines) == 1, f"expected one line on stderr, got:\n{run.stderr}"
    line = lines[0]
    assert re.fullmatch(rf"formscan: {re.escape(code)}: \S.* Fix: \S.*", line), line
    assert run.seconds < max_seconds, f"took {run.seconds:.1f} s"
    return line


# --- files ----------------------------------------------------------------------------


def _font_path() -> Path:
    """A TrueType font with Vietnamese letters (the samples use the same Debian fonts)."""
    for name in ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf"):
        found = sorted(Path("/usr/share/fonts").rglob(name))
        if found:
            return found[0]
    pytest.skip("no TrueType font with Vietnamese letters (fonts-dejavu-core) installed")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _white_png(width_px: int, height_px: int, *, with_pixels: bool = True) -> bytes:
    """A valid 1-bit white PNG of any size in a few kilobytes (rows compress to nothing).

    Without pixels only the header is written: a decoder would fail on it, so a
    refusal as ``image_too_large`` proves the size was judged from the header alone.
    """
    header = struct.pack(">IIBBBBB", width_px, height_px, 1, 0, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header)]
    if with_pixels:
        row = b"\x00" + b"\xff" * ((width_px + 7) // 8)
        packer = zlib.compressobj(9)
        body = b"".join(packer.compress(row) for _ in range(height_px)) + packer.flush()
        chunks.append(_png_chunk(b"IDAT", body))
    chunks.append(_png_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _minimal_pdf(width_pt: int, height_pt: int) -> bytes:
    """A hand-written one-page PDF with a correct xref table: a few hundred bytes."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] >>".encode(),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_empty(tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    path.write_bytes(b"")
    return path


def make_text_named_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    path.write_text("Báo cáo kết quả Tuần lễ học tập suốt đời\n", encoding="utf-8")
    return path


def make_encrypted_pdf(tmp_path: Path) -> Path:
    from reportlab.pdfgen import canvas

    path = tmp_path / "form.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4_PT, encrypt="secret")  # user password
    pdf.drawString(72, 720, "MAU TONG HOP SO LIEU")
    pdf.save()
    return path


def make_100mpx_png(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    path.write_bytes(_white_png(10_000, 10_000))
    return path


def make_100mpx_png_header_only(tmp_path: Path) -> Path:
    path = tmp_path / "scan.png"
    path.write_bytes(_white_png(10_000, 10_000, with_pixels=False))
    return path


def make_225mpx_png(tmp_path: Path) -> Path:
    """Beyond twice Pillow's own bomb limit (179 Mpx), where Pillow raises on open."""
    path = tmp_path / "scan.png"
    path.write_bytes(_white_png(15_000, 15_000, with_pixels=False))
    return path


def make_huge_page_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    path.write_bytes(_minimal_pdf(14_400, 14_400))  # 200 in square: 1600 Mpx at 200 dpi
    return path


def make_too_many_pages_pdf(tmp_path: Path) -> Path:
    from reportlab.pdfgen import canvas

    path = tmp_path / "form.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4_PT)
    for page in range(12):
        pdf.drawString(72, 720, f"Trang {page + 1}")
        pdf.showPage()
    pdf.save()
    return path


def make_corrupt_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "form.pdf"
    path.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 8)
    return path


def make_truncated_png(tmp_path: Path) -> Path:
    data = (SAMPLES / "typed-clean-200dpi.png").read_bytes()
    path = tmp_path / "scan.png"
    path.write_bytes(data[: len(data) // 3])
    return path


def make_page_without_table(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", A4_200DPI_PX, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(_font_path()), 36)
    lines = (
        "BÁO CÁO KẾT QUẢ TỔ CHỨC TUẦN LỄ",
        "Kính gửi: Phòng Giáo dục và Đào tạo",
        "Trong Tuần lễ, đơn vị đã tổ chức nhiều hoạt động học tập.",
        "Người lập biểu",
    )
    for i, line in enumerate(lines):
        draw.text((150, 200 + 90 * i), line, font=font, fill=0)
    path = tmp_path / "scan.png"
    image.save(path, dpi=(200, 200))
    return path


LIVESTOCK = (
    ("STT", "Loại vật nuôi", "Đực", "Cái", "Tổng số"),
    ("1", "Trâu", "12", "30", "42"),
    ("2", "Bò", "25", "61", "86"),
    ("3", "Lợn", "140", "322", "462"),
    ("4", "Gà", "1.250", "2.400", "3.650"),
    ("5", "Vịt", "300", "410", "710"),
)


def make_livestock_pdf(tmp_path: Path) -> Path:
    """Another form: a ruled livestock census drawn with reportlab (born-digital)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("FormFont", str(_font_path())))
    path = tmp_path / "form.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4_PT)
    pdf.setFont("FormFont", 14)
    pdf.drawString(60, 780, "BẢNG TỔNG HỢP ĐIỀU TRA CHĂN NUÔI")
    pdf.setFont("FormFont", 12)
    xs, top, row_pt = (60, 110, 300, 390, 480, 560), 740, 36
    for i in range(len(LIVESTOCK) + 1):
        pdf.line(xs[0], top - i * row_pt, xs[-1], top - i * row_pt)
    for x in xs:
        pdf.line(x, top, x, top - len(LIVESTOCK) * row_pt)
    for i, row in enumerate(LIVESTOCK):
        for j, text in enumerate(row):
            pdf.drawString(xs[j] + 6, top - i * row_pt - 24, text)
    pdf.save()
    return path


def make_livestock_scan(tmp_path: Path) -> Path:
    """The same census as a 200 dpi image, so its labels are OCR'd."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", A4_200DPI_PX, 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(_font_path()), 34)
    draw.text((150, 150), "BẢNG TỔNG HỢP ĐIỀU TRA CHĂN NUÔI", font=font, fill=0)
    xs, top, row_px = (150, 260, 800, 1050, 1300, 1550), 260, 90
    for i in range(len(LIVESTOCK) + 1):
        draw.line([(xs[0], top + i * row_px), (xs[-1], top + i * row_px)], fill=0, width=3)
    for x in xs:
        draw.line([(x, top), (x, top + len(LIVESTOCK) * row_px)], fill=0, width=3)
    for i, row in enumerate(LIVESTOCK):
        for j, text in enumerate(row):
            draw.text((xs[j] + 15, top + i * row_px + 25), text, font=font, fill=0)
    path = tmp_path / "scan.png"
    image.save(path, dpi=(200, 200))
    return path


# --- cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A bad file, the code it must be refused with and words the message must hold."""

    make: Callable[[Path], Path]
    code: str
    says: tuple[str, ...] = ()
    names_file: bool = True
    max_seconds: float = MAX_SECONDS


CASES = [
    pytest.param(Case(make_empty, "empty_file", says=("empty",)), id="empty_file"),
    pytest.param(
        Case(make_text_named_pdf, "unsupported_file_type", says=("not a PDF",)),
        id="unsupported_file_type-text-named-pdf",
    ),
    pytest.param(Case(make_encrypted_pdf, "encrypted_pdf", says=("password",)), id="encrypted_pdf"),
    pytest.param(
        Case(
            make_100mpx_png,
            "image_too_large",
            says=("10000 x 10000 px", "40 Mpx"),
            max_seconds=MAX_SECONDS_UNDECODED,
        ),
        id="image_too_large-100mpx-png",
    ),
    pytest.param(
        Case(
            make_100mpx_png_header_only,
            "image_too_large",
            says=("10000 x 10000 px", "40 Mpx"),
            max_seconds=MAX_SECONDS_UNDECODED,
        ),
        id="image_too_large-100mpx-png-header-only",
    ),
    pytest.param(
        Case(
            make_225mpx_png,
            "image_too_large",
            says=("15000 x 15000 px", "40 Mpx"),
            max_seconds=MAX_SECONDS_UNDECODED,
        ),
        id="image_too_large-225mpx-png",
    ),
    pytest.param(
        Case(make_huge_page_pdf, "image_too_large", says=("40000 x 40000 px", "40 Mpx")),
        id="image_too_large-14400pt-pdf-page",
    ),
    pytest.param(
        Case(make_too_many_pages_pdf, "too_many_pages", says=("10 pages",)),
        id="too_many_pages",
    ),
    pytest.param(
        Case(make_corrupt_pdf, "unreadable_document", says=("cannot be opened",)),
        id="unreadable_document-corrupt-pdf",
    ),
    pytest.param(
        Case(make_truncated_png, "unreadable_document", says=("truncated",)),
        id="unreadable_document-truncated-png",
    ),
    pytest.param(
        Case(make_page_without_table, "table_not_found", says=("table",), names_file=False),
        id="table_not_found",
    ),
    pytest.param(
        Case(make_livestock_pdf, "wrong_form", says=("does not look like",), names_file=False),
        id="wrong_form-livestock-pdf",
    ),
    pytest.param(
        Case(make_livestock_scan, "wrong_form", says=("does not look like",), names_file=False),
        id="wrong_form-livestock-scan",
        marks=pytest.mark.tesseract,
    ),
]


@pytest.mark.parametrize("case", CASES)
def test_extract_bad_input_refused_with_one_line(tmp_path: Path, case: Case) -> None:
    path = case.make(tmp_path)
    run = run_cli("extract", str(path))
    line = assert_one_line_error(run, code=case.code, status=3, max_seconds=case.max_seconds)
    for words in case.says:
        assert words in line
    if case.names_file:
        assert path.name in line


def test_extract_missing_path_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "no-such-scan.pdf"
    run = run_cli("extract", str(path))
    line = assert_one_line_error(run, code="unreadable_document", status=3, max_seconds=MAX_SECONDS)
    assert str(path) in line
    assert "No such file" in line


def test_extract_unknown_layout_exits_4(tmp_path: Path) -> None:
    scan = SAMPLES / "typed-clean-200dpi.png"
    run = run_cli("extract", str(scan), "--layout", "no-such-layout")
    line = assert_one_line_error(run, code="unknown_layout", status=4, max_seconds=MAX_SECONDS)
    assert "no-such-layout" in line
    assert "llw-summary-2022" in line  # the available layouts are named
