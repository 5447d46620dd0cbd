"""``KEY=VALUE`` words from a command line: one parser for every room's options."""

from __future__ import annotations

import argparse
import ast
from typing import Any


def parse_key_value(text: str) -> tuple[str, Any]:
    """``"key=value"`` -> ``(key, value)``, the value read as a Python literal when it is one.

    ``num_ids=200`` gives ``("num_ids", 200)``, ``difficulty=medium`` (a bare word, not a
    literal) gives ``("difficulty", "medium")``. Raises ``argparse.ArgumentTypeError`` (so that
    argparse prints it as a usage error) when there is no ``=`` or no key.
    """
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), ast.literal_eval(value)
    except (ValueError, SyntaxError):  # a bare word such as difficulty=medium
        return key.strip(), value
