"""Reading engine of formscan: scanned statistics forms in, numbers with confidence out.

Stages (each a function of typed values, see ``ocr.types``)::

    load_document -> clean_page -> detect_grid -> match_rows -> Reader.read_cells -> apply_checks

``ocr.load`` turns files into pages, ``ocr.clean`` and ``ocr.grid`` share one rule
finder (``ocr.rules``), ``ocr.match`` maps grid rows to the layout's rows by their
labels (read by ``ocr.labels``), ``ocr.ink`` isolates each value cell's ink and a
``Reader`` (``ocr.read``) turns it into text, value and confidence; ``ocr.checks``
applies the layout's rules and ``ocr.reasons`` names every reason code.
``ocr.pipeline.extract`` runs them in order (``ocr.files.extract_files`` from paths).
This package never imports ``service``.
"""
