"""One router per resource; handlers are thin: parse, call the store or a use case, answer."""
