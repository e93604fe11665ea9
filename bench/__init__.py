"""Measurement tools for formscan's maintainers: accuracy, calibration, scale, samples.

Nothing here is used by the service or the reading engine, and this package is not
shipped in the wheel: it runs from a source checkout as ``python -m bench <command>``.
It may import ``ocr`` and ``service``; neither may import it.
"""
