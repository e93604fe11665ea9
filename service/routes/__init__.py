"""One router per resource; handlers are thin: parse, call the repository, shape the answer."""
