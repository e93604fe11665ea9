"""Reading engine of formscan: scanned statistics forms in, numbers with confidence out.

Stages (each a function of typed values, see ``ocr.types``)::

    load_document -> clean_page -> detect_grid -> match_table -> read_cells -> apply_checks

``ocr.pipeline.extract`` runs them in order. This package never imports ``service``.
"""
