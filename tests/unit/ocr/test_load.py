"""Tests for ocr.load with real Pillow and real poppler; every fixture file is built here."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from reportlab.lib import pdfencrypt
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from ocr.errors import (
    EmptyFileError,
    EncryptedDocumentError,
    EngineMissingError,
    EngineTimeoutError,
    ImageTooLargeError,
    TooManyPagesError,
    UnreadableDocumentError,
    UnsupportedFileTypeError,
)
from ocr.load import InputFile, LoadLimits, load_document, sniff_media_type

A4_W_PT, A4_H_PT = A4
DPI = LoadLimits().render_dpi


# --- fixture builders ---------------------------------------------------------------


def _image_bytes(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _pdf_bytes(page_texts: list[list[tuple[float, float, str]]], **canvas_kw: object) -> bytes:
    """A born-digital PDF: one A4 page per list of (x_pt, y_pt from bottom, text)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, **canvas_kw)
    for texts in page_texts:
        pdf.setFont("Helvetica", 20)
        for x, y, text in texts:
            pdf.drawString(x, y, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _scanned_pdf_bytes() -> bytes:
    """A PDF wrapping a full-page 150 dpi JPEG with an invisible OCR text layer on top."""
    scan = np.full((int(A4_H_PT / 72 * 150), int(A4_W_PT / 72 * 150), 3), 235, np.uint8)
    scan[300:320, 200:900] = 20  # a ruled line
    jpeg = io.BytesIO(_image_bytes(Image.fromarray(scan), "JPEG"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.drawImage(ImageReader(jpeg), 0, 0, width=A4_W_PT, height=A4_H_PT)
    text = pdf.beginText(100, 700)
    text.setTextRenderMode(3)  # invisible, as OCR layers are
    text.setFont("Helvetica", 12)
    text.textLine("Cattle 123")
    pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _handwritten_pdf(width_pt: int, height_pt: int, *, rotate: int = 0, text: str = "") -> bytes:
    """A minimal valid one-page PDF, optionally with /Rotate and a word at (100, 700) pt."""
    content = b"BT /F1 24 Tf 100 700 Td (%s) Tj ET" % text.encode() if text else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Rotate %d /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>" % (width_pt, height_pt, rotate),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def _bomb_png(width_px: int, height_px: int) -> bytes:
    """A 1-bit grey PNG of the given size, all black: a few KB for 100 Mpx."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width_px, height_px, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width_px + 7) // 8)
    pixels = zlib.compress(row * height_px, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _red_square_png(size_px: int = 40) -> bytes:
    image = np.full((size_px, size_px, 3), 255, np.uint8)
    image[:10, :10] = (255, 0, 0)  # RGB red, top-left
    return _image_bytes(Image.fromarray(image), "PNG")


# --- sniff_media_type ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"%PDF-1.7\n...", "application/pdf"),
        (b"\xef\xbb\xbfjunk\n%PDF-1.4\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0....", "image/jpeg"),
        (b"II*\x00....", "image/tiff"),
        (b"MM\x00*....", "image/tiff"),
    ],
)
def test_sniff_media_type_magic_bytes(data: bytes, expected: str) -> None:
    assert sniff_media_type(data) == expected


def test_sniff_media_type_empty() -> None:
    with pytest.raises(EmptyFileError):
        sniff_media_type(b"")


@pytest.mark.parametrize(
    "data",
    [b"Just some text, not a PDF\n", b"PK\x03\x04docx", b"\x00\x00\x00\x18ftypheic....", b"GIF89a"],
)
def test_sniff_media_type_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedFileTypeError):
        sniff_media_type(data)


# --- refusals -----------------------------------------------------------------------


def test_load_document_zero_byte_file() -> None:
    with pytest.raises(EmptyFileError, match=r"scan\.png"):
        load_document([InputFile("scan.png", b"")])


def test_load_document_no_files() -> None:
    with pytest.raises(EmptyFileError):
        load_document([])


def test_load_document_text_file_named_pdf() -> None:
    with pytest.raises(UnsupportedFileTypeError, match=r"form\.pdf") as caught:
        load_document([InputFile("form.pdf", b"Dear colleague, here are our numbers.\n")])
    assert caught.value.code == "unsupported_file_type"


def test_load_document_password_protected_pdf() -> None:
    data = _pdf_bytes(
        [[(100, 700, "Secret")]], encrypt=pdfencrypt.StandardEncryption("user", "owner")
    )
    with pytest.raises(EncryptedDocumentError, match=r"locked\.pdf"):
        load_document([InputFile("locked.pdf", data)])


def test_load_document_owner_password_only_pdf_is_read() -> None:
    data = _pdf_bytes(
        [[(100, 700, "Cattle")]],
        encrypt=pdfencrypt.StandardEncryption("", "owner", canCopy=0, canModify=0),
    )
    pages = load_document([InputFile("restricted.pdf", data)])
    assert len(pages) == 1
    assert pages[0].words is not None
    assert [w.text for w in pages[0].words] == ["Cattle"]


def test_load_document_truncated_pdf() -> None:
    data = _pdf_bytes([[(100, 700, "Cattle")], [(100, 700, "Sheep")]])
    with pytest.raises(UnreadableDocumentError, match=r"cut\.pdf"):
        load_document([InputFile("cut.pdf", data[: len(data) // 2])])


def test_load_document_garbage_after_pdf_header() -> None:
    with pytest.raises(UnreadableDocumentError):
        load_document([InputFile("x.pdf", b"%PDF-1.4\n" + bytes(range(256)) * 20)])


def test_load_document_huge_pdf_page_refused_before_rendering() -> None:
    data = _handwritten_pdf(14400, 14400)
    assert len(data) < 700
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match=r"bomb\.pdf"):
        load_document([InputFile("bomb.pdf", data)])
    # Rendering it at 200 dpi would be 40000 x 40000 px (4.8 GB); refusing takes ms.
    assert time.perf_counter() - started < 0.5


def test_load_document_ordinary_handwritten_pdf_renders() -> None:
    pages = load_document([InputFile("blank.pdf", _handwritten_pdf(595, 842))])
    assert pages[0].image.shape[:2] == (round(842 / 72 * DPI), round(595 / 72 * DPI))
    assert pages[0].words is None


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_load_document_100_megapixel_png_refused_without_decoding() -> None:
    data = _bomb_png(10_000, 10_000)
    assert len(data) < 100_000
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="10000 x 10000"):
        load_document([InputFile("bomb.png", data)])
    assert time.perf_counter() - started < 0.5


def test_load_document_png_beyond_pillow_bomb_limit() -> None:
    with pytest.raises(ImageTooLargeError):
        load_document([InputFile("huge.png", _bomb_png(20_000, 20_000))])


def test_load_document_too_many_pdf_pages() -> None:
    data = _pdf_bytes([[(100, 700, f"Page {k}")] for k in range(11)])
    with pytest.raises(TooManyPagesError, match=r"long\.pdf"):
        load_document([InputFile("long.pdf", data)])


def test_load_document_too_many_pages_across_files() -> None:
    files = [InputFile(f"p{k}.png", _red_square_png()) for k in range(3)]
    with pytest.raises(TooManyPagesError):
        load_document(files, limits=LoadLimits(max_pages=2))


def test_load_document_submission_over_byte_limit() -> None:
    with pytest.raises(ImageTooLargeError, match="MB"):
        load_document([InputFile("a.png", _red_square_png())], limits=LoadLimits(max_bytes=100))


def test_load_document_truncated_png() -> None:
    data = _image_bytes(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)), "PNG"
    )
    with pytest.raises(UnreadableDocumentError, match=r"cut\.png"):
        load_document([InputFile("cut.png", data[: len(data) // 2])])


def test_load_document_truncated_jpeg() -> None:
    noise = np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)
    data = _image_bytes(Image.fromarray(noise), "JPEG")
    with pytest.raises(UnreadableDocumentError):
        load_document([InputFile("cut.jpg", data[: len(data) // 2])])


# --- images -------------------------------------------------------------------------


def test_load_document_png_is_bgr_uint8() -> None:
    [page] = load_document([InputFile("scan.jpg", _red_square_png())])  # name lies
    assert page.index == 0
    assert page.source == "scan.jpg"
    assert page.image.dtype == np.uint8
    assert page.image.shape == (40, 40, 3)
    assert page.image[0, 0].tolist() == [0, 0, 255]  # red in BGR
    assert page.image[39, 39].tolist() == [255, 255, 255]
    assert page.words is None


def test_load_document_jpeg_exif_orientation_6() -> None:
    stored = np.full((200, 300, 3), 255, np.uint8)  # 300 wide, 200 tall as stored
    stored[:40, :40] = 0  # dark block at the stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90° clockwise
    data = _image_bytes(Image.fromarray(stored), "JPEG", exif=exif, quality=95)
    [page] = load_document([InputFile("phone.jpg", data)])
    assert page.image.shape == (300, 200, 3)
    assert page.image[:40, -40:].mean() < 40  # top-left moved to top-right
    assert page.image[:40, :40].mean() > 200


def test_load_document_several_images_in_order() -> None:
    files = [
        InputFile(f"page{k}.png", _image_bytes(Image.new("RGB", (50 + k, 60), "white"), "PNG"))
        for k in range(4)
    ]
    pages = load_document(files)
    assert [p.index for p in pages] == [0, 1, 2, 3]
    assert [p.source for p in pages] == ["page0.png", "page1.png", "page2.png", "page3.png"]
    assert [p.image.shape[1] for p in pages] == [50, 51, 52, 53]


def test_load_document_multi_frame_tiff() -> None:
    frames = [Image.new("L", (80, 100), shade) for shade in (0, 100, 200)]
    data = _image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    pages = load_document([InputFile("scan.tif", data)])
    assert [p.index for p in pages] == [0, 1, 2]
    assert [p.source for p in pages] == ["scan.tif#page 1", "scan.tif#page 2", "scan.tif#page 3"]
    assert [int(p.image[0, 0, 0]) for p in pages] == [0, 100, 200]
    assert all(p.image.shape == (100, 80, 3) and p.dpi == 300 for p in pages)


def test_load_document_tiff_with_too_many_frames() -> None:
    frames = [Image.new("L", (10, 10), 0) for _ in range(4)]
    data = _image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(TooManyPagesError):
        load_document([InputFile("scan.tif", data)], limits=LoadLimits(max_pages=3))


def test_load_document_grayscale_png_becomes_bgr() -> None:
    data = _image_bytes(Image.new("L", (30, 20), 77), "PNG")
    [page] = load_document([InputFile("g.png", data)])
    assert page.image.shape == (20, 30, 3)
    assert page.image.dtype == np.uint8
    assert page.image[5, 5].tolist() == [77, 77, 77]


def test_load_document_rgba_png_transparent_is_white() -> None:
    rgba = np.zeros((20, 30, 4), np.uint8)  # fully transparent black
    rgba[:5, :5] = (0, 0, 255, 255)  # opaque blue
    [page] = load_document([InputFile("a.png", _image_bytes(Image.fromarray(rgba, "RGBA"), "PNG"))])
    assert page.image.shape == (20, 30, 3)
    assert page.image[0, 0].tolist() == [255, 0, 0]  # blue in BGR
    assert page.image[10, 10].tolist() == [255, 255, 255]


def test_load_document_palette_and_bilevel_png() -> None:
    palette = Image.new("RGB", (10, 10), (0, 128, 0)).convert("P", palette=Image.Palette.ADAPTIVE)
    bilevel = Image.new("1", (10, 10), 1)
    pages = load_document(
        [
            InputFile("p.png", _image_bytes(palette, "PNG")),
            InputFile("b.png", _image_bytes(bilevel, "PNG")),
        ]
    )
    assert pages[0].image[0, 0].tolist() == [0, 128, 0]
    assert pages[1].image[0, 0].tolist() == [255, 255, 255]


def test_load_document_16_bit_grayscale_png_is_rescaled() -> None:
    values = np.full((10, 10), 40000, np.uint16)
    data = _image_bytes(Image.fromarray(values), "PNG")
    [page] = load_document([InputFile("deep.png", data)])
    assert page.image[0, 0].tolist() == [155, 155, 155]  # 40000 / 257


def test_load_document_cmyk_jpeg() -> None:
    data = _image_bytes(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", quality=100)
    [page] = load_document([InputFile("c.jpg", data)])
    blue, green, red = page.image[8, 8].tolist()
    assert red > 200 and green < 60 and blue < 60


def test_load_document_image_dpi_from_metadata() -> None:
    data = _image_bytes(Image.new("RGB", (1654, 2339), "white"), "PNG", dpi=(200, 200))
    [page] = load_document([InputFile("a4.png", data)])
    assert page.dpi == 200


def test_load_document_image_dpi_estimated_without_metadata() -> None:
    portrait = _image_bytes(Image.new("L", (1654, 2339), 255), "PNG")
    landscape = _image_bytes(Image.new("L", (2338, 1654), 255), "PNG")
    pages = load_document([InputFile("p.png", portrait), InputFile("l.png", landscape)])
    assert [p.dpi for p in pages] == [200, 200]


def test_load_document_image_dpi_camera_default_ignored() -> None:
    data = _image_bytes(Image.new("L", (3000, 4000), 255), "JPEG", dpi=(72, 72))
    [page] = load_document([InputFile("photo.jpg", data)])
    assert page.dpi == round(3000 / 8.27)


# --- PDFs ---------------------------------------------------------------------------


def test_load_document_born_digital_pdf_words_in_pixels() -> None:
    data = _pdf_bytes([[(100, 700, "Cattle"), (300, 700, "123")], [(72, 72, "Sheep")]])
    pages = load_document([InputFile("form.pdf", data)])
    assert [p.index for p in pages] == [0, 1]
    assert [p.source for p in pages] == ["form.pdf#page 1", "form.pdf#page 2"]
    assert all(p.dpi == DPI for p in pages)
    height_px, width_px, channels = pages[0].image.shape
    assert (height_px, width_px, channels) == (
        round(A4_H_PT / 72 * DPI),
        round(A4_W_PT / 72 * DPI),
        3,
    )
    assert pages[0].words is not None and pages[1].words is not None
    assert [w.text for w in pages[0].words] == ["Cattle", "123"]
    assert [w.text for w in pages[1].words] == ["Sheep"]
    cattle = pages[0].words[0]
    scale = DPI / 72
    assert abs(cattle.box.x - 100 * scale) <= 3
    baseline_px = (A4_H_PT - 700) * scale
    assert cattle.box.y < baseline_px < cattle.box.bottom + 3
    # The rendered ink of the word lies inside its box, within a few pixels.
    gray = pages[0].image.min(axis=2)
    region = gray[
        cattle.box.y - 20 : cattle.box.bottom + 20, cattle.box.x - 20 : cattle.box.right + 20
    ]
    ys, xs = np.nonzero(region < 128)
    assert ys.min() - 20 >= -3 and ys.max() - 20 <= cattle.box.height + 3
    assert xs.min() - 20 >= -3 and xs.max() - 20 <= cattle.box.width + 3
    sheep = pages[1].words[0]
    assert abs(sheep.box.x - 72 * scale) <= 3
    assert sheep.box.y < (A4_H_PT - 72) * scale < sheep.box.bottom + 3


def test_load_document_pdf_page_without_text_has_no_words() -> None:
    pages = load_document([InputFile("f.pdf", _pdf_bytes([[(100, 700, "Cattle")], []]))])
    assert pages[0].has_text_layer
    assert pages[1].words is None


def test_load_document_scanned_pdf_with_invisible_text_layer() -> None:
    [page] = load_document([InputFile("scan.pdf", _scanned_pdf_bytes())])
    assert page.words is None
    assert page.dpi == DPI
    assert page.image.shape[2] == 3
    assert page.image.mean() > 200  # the scan was rendered, not a blank or black page


def _ink_bbox(image: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(image.min(axis=2) < 128)
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def test_load_document_rotated_pdf_page_words_on_ink() -> None:
    data = _handwritten_pdf(595, 842, rotate=90, text="Cattle")
    [page] = load_document([InputFile("rotated.pdf", data)])
    assert page.image.shape[1] > page.image.shape[0]  # displayed landscape
    assert page.words is not None
    [word] = page.words
    x0, y0, x1, y1 = _ink_bbox(page.image)
    assert word.box.x - 3 <= x0 and x1 <= word.box.right + 3
    assert word.box.y - 3 <= y0 and y1 <= word.box.bottom + 3


def test_load_document_poppler_timeout() -> None:
    data = _pdf_bytes([[(100, 700, "Cattle")]])
    with pytest.raises(EngineTimeoutError):
        load_document([InputFile("slow.pdf", data)], limits=LoadLimits(timeout_s=1e-6))


def test_load_document_poppler_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no poppler on PATH
    with pytest.raises(EngineMissingError):
        load_document([InputFile("form.pdf", _pdf_bytes([[(100, 700, "Cattle")]]))])


def test_load_document_pdf_and_images_share_indices() -> None:
    files = [
        InputFile("first.png", _red_square_png()),
        InputFile("middle.pdf", _pdf_bytes([[(100, 700, "A")], [(100, 700, "B")]])),
        InputFile("last.png", _red_square_png()),
    ]
    pages = load_document(files)
    assert [p.index for p in pages] == [0, 1, 2, 3]
    assert [p.source for p in pages] == [
        "first.png",
        "middle.pdf#page 1",
        "middle.pdf#page 2",
        "last.png",
    ]
