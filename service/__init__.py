"""formscan service: command line, and (later) the web API around the ``ocr`` engine."""
