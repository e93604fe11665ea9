"""Images for reviewers: whole cleaned pages (optionally coloured by status) and cell crops.

Boxes are in the cleaned page's pixel frame, which is the stored page image.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from ocr.types import Box
from service import review, store
from service.deps import ScopeDep, SessionDep, StoreDep
from service.errors import NotFoundError, problem_responses
from service.models import Page
from service.page_images import crop_png, overlay_png
from service.store.readings import ocr_reading_of

router = APIRouter(prefix="/api", tags=["images"])

PNG = "image/png"
# Images of a processed page never change for a given URL unless it is reprocessed.
CACHE_CONTROL = "private, max-age=60"


def _png_responses() -> dict[int | str, dict[str, object]]:
    return {
        200: {"content": {PNG: {"schema": {"type": "string", "format": "binary"}}}},
        **problem_responses(404, 422),
    }


@router.get(
    "/submissions/{submission_id}/pages/{page_no}.png",
    response_class=Response,
    responses=_png_responses(),
)
def page_image(
    submission_id: int,
    page_no: int,
    session: SessionDep,
    scope: ScopeDep,
    blobs: StoreDep,
    overlay: Annotated[bool, Query(description="Draw each read cell coloured by status.")] = False,
) -> Response:
    """The cleaned page (1-based ``page_no``) as a grayscale PNG, or in colour with cells.

    Overlay colours: green accepted, orange doubtful, red unreadable, grey blank.
    """
    page = store.get_page(session, submission_id, page_no - 1, scope=scope)
    data = _page_png(page, blobs)
    if overlay:
        readings = [
            ocr_reading_of(r)
            for r in store.list_readings(session, submission_id)
            if r.page_index == page.page_index
        ]
        data = overlay_png(data, page_index=page.page_index, readings=readings)
    return Response(data, media_type=PNG, headers={"Cache-Control": CACHE_CONTROL})


@router.get("/readings/{reading_id}/crop.png", response_class=Response, responses=_png_responses())
def reading_crop(
    reading_id: int, session: SessionDep, scope: ScopeDep, blobs: StoreDep
) -> Response:
    """The cell's image with some context: 40 % of its height around it, more on the left."""
    reading = review.get_reading(session, reading_id, scope=scope)
    if reading.box is None or reading.page_index is None:
        raise NotFoundError(
            f"Reading {reading_id} has no box on a page (its row was not found).",
            code="no_image",
            fix="Look at the whole page instead.",
        )
    page = store.get_page(session, reading.submission_id, reading.page_index)
    box = Box(*(int(v) for v in reading.box))
    return Response(
        crop_png(_page_png(page, blobs), box),
        media_type=PNG,
        headers={"Cache-Control": CACHE_CONTROL},
    )


def _page_png(page: Page, blobs: StoreDep) -> bytes:
    if page.image_sha256 is None or not blobs.exists(page.image_sha256):
        raise NotFoundError(
            f"No image was kept for page {page.page_index + 1} of submission {page.submission_id}.",
            code="no_image",
            fix="Retry the submission's processing to produce its page images.",
        )
    return blobs.read(page.image_sha256)
