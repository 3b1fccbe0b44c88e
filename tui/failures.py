"""The one way a failed action is told to the user: a notification, never a crash."""

from __future__ import annotations

from typing import Any

from textual.app import App

from runtime import errors

from .config import ConfigError
from .text import visible

#: Errors whose message is meant for the user as it is.
_TOLD_AS_IS = (errors.Error, ConfigError)


def describe_failure(error: BaseException) -> str:
    """An engine or config error says what went wrong in its own words; anything else
    is a bug somewhere, so its type is named too."""
    if isinstance(error, _TOLD_AS_IS):
        return str(error)
    return f"{type(error).__name__}: {error}"


def notify_failure(app: App[Any], what: str, error: BaseException, *, timeout: float = 10) -> None:
    """Show ``what failed`` with the error as an error notification (plain text, never
    markup: both come from users and containers)."""
    app.notify(
        visible(describe_failure(error)),
        title=visible(f"{what} failed"),
        severity="error",
        timeout=timeout,
        markup=False,
    )
