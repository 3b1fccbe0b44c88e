"""Identifier validation, after containerd's pkg/identifiers."""

from __future__ import annotations

import re

from . import errors

MAX_LENGTH = 76
_ID = re.compile(r"^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$")


def validate(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid identifier; else raise InvalidArgument saying why."""
    if not isinstance(value, str):
        raise errors.InvalidArgument(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise errors.InvalidArgument(f"{what} must not be empty")
    if len(value) > MAX_LENGTH:
        raise errors.InvalidArgument(
            f"{what} {value[:20]!r}... is {len(value)} characters long; the limit is {MAX_LENGTH}"
        )
    if not _ID.match(value):
        raise errors.InvalidArgument(
            f"{what} {value!r} is invalid: use letters and digits separated by single "
            "'.', '_' or '-'"
        )
    return value
