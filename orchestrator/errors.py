"""Errors of our own that reach users: each names the field (or device) and the reason.

The CLI prints a `PyrosError` in one line and exits 2; the API answers 400 with the same text.
"""


class PyrosError(Exception):
    """An error caused by input or state that a user can fix; its message is shown as is."""


class ConfigError(PyrosError):
    """The configuration is invalid; the message starts with the dotted key."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"config error: {key}: {reason}")


class InputError(PyrosError):
    """A request, file or parameter is invalid; names the field and the reason."""

    def __init__(self, field: str, reason: str):
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class IllegalTransition(PyrosError):
    """A state machine (sequence status, majordome state) refused a move."""
