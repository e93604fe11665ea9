# formscan: Tesseract (eng + vie), poppler and the libraries OpenCV links against
# (libGL, GLib) with the Python package, run as non-root.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMP_THREAD_LIMIT=1 \
    FORMSCAN_DATA_DIR=/data \
    FORMSCAN_HOST=0.0.0.0

RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng tesseract-ocr-vie tesseract-ocr-osd poppler-utils \
        libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY ocr ./ocr
COPY service ./service
COPY layouts ./layouts
# The s3 extra (s3fs) lets FORMSCAN_BLOB_URL name an S3-compatible blob store.
RUN pip install --no-cache-dir ".[s3]" \
    && useradd --create-home --uid 10001 formscan \
    && mkdir -p /data && chown formscan /data

ENV FORMSCAN_LAYOUTS_DIR=/app/layouts
USER formscan
VOLUME ["/data"]
EXPOSE 8000
ENTRYPOINT ["formscan"]
CMD ["serve"]
