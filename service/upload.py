"""Receiving an upload: stream the multipart body to disk under a size limit, then accept it.

Starlette's form parser spools every file completely before a handler can look at
it and has no size limit of its own, so a 10 GB body would be written to disk first.
``receive_upload`` parses the body as it arrives (python-multipart's push parser),
writes each file part to a temp file in the data directory while hashing it, and
stops with 413 as soon as the files together pass the limit; a Content-Length
already over the limit is refused before anything is read.

``accept_upload`` then judges each file by its first bytes (empty -> 422,
not PDF/PNG/JPEG/TIFF -> 415), stores the originals in the blob store and only then
creates the submission and its job. Checks that need decoding (passwords, page
counts, pixel bombs, the table itself) are the job's: they fail the submission
with their code, and the original stays stored.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ocr.errors import EmptyFileError, UnsupportedFileTypeError
from ocr.load import PDF_HEADER_WINDOW_BYTES, sniff_media_type
from service import store
from service.errors import InvalidRequestError, UploadTooLargeError
from service.scope import EVERYTHING, Scope
from service.storage import BlobStore

# Non-file fields are a unit code and a campaign id; anything longer is not ours.
MAX_FIELD_BYTES = 4096
# Multipart framing (boundaries, part headers) on top of the file bytes.
MAX_OVERHEAD_BYTES = 64 * 1024
MAX_FILES = 20
MAX_FILE_NAME_CHARS = 300


@dataclass
class ReceivedFile:
    """One file part, on disk: ``head`` holds its first bytes for type sniffing."""

    name: str
    path: Path
    size_bytes: int = 0
    sha256: str = ""
    head: bytes = b""


@dataclass
class ReceivedForm:
    """A multipart upload as received: its text fields and the files spooled to disk."""

    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)

    def cleanup(self) -> None:
        """Delete the spooled files (they are in the blob store by now, or refused)."""
        for f in self.files:
            f.path.unlink(missing_ok=True)


class _PartSink:
    """Callbacks of the push parser: headers, then data, of one part at a time."""

    def __init__(self, form: ReceivedForm, *, max_bytes: int, tmp_dir: Path) -> None:
        self.form, self.max_bytes, self.tmp_dir = form, max_bytes, tmp_dir
        self.file_bytes = 0
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._field: str | None = None
        self._value = bytearray()
        self._file: ReceivedFile | None = None
        self._out: IO[bytes] | None = None
        self._digest = hashlib.sha256()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._on_part_begin,
            "on_header_field": lambda d, s, e: self._append_header(name=d[s:e]),
            "on_header_value": lambda d, s, e: self._append_header(value=d[s:e]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": lambda d, s, e: self._on_data(d[s:e]),
            "on_part_end": self._on_part_end,
        }

    def _on_part_begin(self) -> None:
        self._headers, self._header_name, self._header_value = {}, b"", b""

    def _append_header(self, *, name: bytes = b"", value: bytes = b"") -> None:
        self._header_name += name
        self._header_value += value

    def _on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self._field, self._value = name, bytearray()
            return
        if len(self.form.files) >= MAX_FILES:
            raise InvalidRequestError(
                f"At most {MAX_FILES} files per submission.", code="too_many_files"
            )
        raw = options[b"filename"].decode("utf-8", "replace").replace("\\", "/")
        display = (
            PurePosixPath(raw).name[-MAX_FILE_NAME_CHARS:] or f"file-{len(self.form.files) + 1}"
        )
        # Closed in _on_part_end, or in close() when the upload is refused midway.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=self.tmp_dir, prefix="upload-", delete=False
        )
        self._file = ReceivedFile(name=display, path=Path(handle.name))
        self.form.files.append(self._file)
        self._out, self._digest, self._field = handle, hashlib.sha256(), name

    def _on_data(self, data: bytes) -> None:
        if self._file is None:
            if len(self._value) + len(data) > MAX_FIELD_BYTES:
                raise InvalidRequestError(f"Form field {self._field!r} is too long.")
            self._value += data
            return
        self.file_bytes += len(data)
        if self.file_bytes > self.max_bytes:
            raise _too_large(self.max_bytes)
        if len(self._file.head) < PDF_HEADER_WINDOW_BYTES:
            self._file.head += data[: PDF_HEADER_WINDOW_BYTES - len(self._file.head)]
        self._digest.update(data)
        self._file.size_bytes += len(data)
        assert self._out is not None
        self._out.write(data)

    def _on_part_end(self) -> None:
        if self._file is not None and self._out is not None:
            self._out.close()
            self._file.sha256 = self._digest.hexdigest()
            self._file, self._out = None, None
        elif self._field is not None:
            self.form.fields[self._field] = self._value.decode("utf-8", "replace")
        self._field = None

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


def _too_large(max_bytes: int) -> UploadTooLargeError:
    return UploadTooLargeError(
        f"The upload is larger than the limit of {max_bytes} bytes "
        f"({max_bytes / 2**20:.0f} MB) for all files of a submission together."
    )


async def receive_upload(request: Request, *, max_bytes: int, tmp_dir: Path) -> ReceivedForm:
    """Parse a multipart/form-data body into fields and temp files (see module docstring).

    Raises:
        UploadTooLargeError: the files together exceed ``max_bytes``.
        InvalidRequestError: not multipart/form-data, or malformed.
    """
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise InvalidRequestError(
            "The upload must be sent as multipart/form-data.", code="not_multipart"
        )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + MAX_OVERHEAD_BYTES:
        raise _too_large(max_bytes)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    form = ReceivedForm()
    sink = _PartSink(form, max_bytes=max_bytes, tmp_dir=tmp_dir)
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except BaseException:
        sink.close()
        form.cleanup()
        raise
    return form


# --- accepting the received files -----------------------------------------------------


@dataclass(frozen=True)
class UploadForm:
    """The upload's unit and campaign, as the form named them."""

    unit_code: str
    campaign_id: int


def parse_upload_fields(form: ReceivedForm) -> UploadForm:
    """The unit and campaign of an upload; a missing or malformed one is a 422 with its fix."""
    unit = form.fields.get("unit", "").strip()
    campaign = form.fields.get("campaign", "").strip()
    if not unit:
        raise InvalidRequestError("The form field 'unit' (the unit's code) is missing.")
    if not campaign.isdigit():
        raise InvalidRequestError("The form field 'campaign' must be a campaign id (a number).")
    if not form.files:
        raise InvalidRequestError(
            "No files: send the pages as one or more 'files' parts.",
            code="no_files",
            fix="Attach the scanned form (PDF, JPG, PNG or TIFF).",
        )
    return UploadForm(unit_code=unit, campaign_id=int(campaign))


def sniff_files(files: Sequence[ReceivedFile]) -> list[store.StoredFile]:
    """Judge every file by content; the errors name the file (empty: 422, wrong type: 415)."""
    stored = []
    for f in files:
        try:
            media_type = sniff_media_type(f.head)
        except (EmptyFileError, UnsupportedFileTypeError) as exc:
            raise type(exc)(f"{f.name}: {exc.message}", fix=exc.fix) from exc
        stored.append(
            store.StoredFile(
                name=f.name, sha256=f.sha256, media_type=media_type, size_bytes=f.size_bytes
            )
        )
    return stored


def accept_upload(
    form: ReceivedForm,
    *,
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    attempt_limit: int,
    uploaded_by: int | None = None,
    scope: Scope = EVERYTHING,
) -> tuple[int, bool]:
    """Check, store and record an upload; returns the submission id and whether it is new.

    A unit outside ``scope`` is refused like an unknown unit (422 ``unknown_unit``),
    before anything is stored.
    """
    fields = parse_upload_fields(form)
    files = sniff_files(form.files)
    with sessions() as session:
        store.resolve_upload_target(
            session, unit_code=fields.unit_code, campaign_id=fields.campaign_id, scope=scope
        )
    for received, stored in zip(form.files, files, strict=True):
        blobs.put_file(received.path, sha256=stored.sha256)
    for is_last_try in (False, True):
        try:
            with sessions.begin() as session:
                submission, is_new = store.create_submission(
                    session,
                    unit_code=fields.unit_code,
                    campaign_id=fields.campaign_id,
                    files=files,
                    attempt_limit=attempt_limit,
                    uploaded_by=uploaded_by,
                    scope=scope,
                )
                return submission.id, is_new
        except IntegrityError:
            # A concurrent upload took the same version number: look again, it may
            # even be the same files.
            if is_last_try:
                raise
    raise AssertionError("unreachable")
