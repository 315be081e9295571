"""Errors a method answers with (docs/protocol.md, section 4)."""


class PluginError(Exception):
    """Raised from a method or event handler, it becomes the JSON-RPC error answer.

    `kind` is the stable, machine-readable name (`change.not_found`); `message` is for people
    and MUST NOT carry secrets or other callers' data."""

    def __init__(self, code, kind, message, retryable=False, details=None):
        super().__init__(message)
        self.code = code
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.details = details

    def to_error(self):
        data = {"kind": self.kind, "retryable": self.retryable}
        if self.details:
            data["details"] = self.details
        return {"code": self.code, "message": self.message, "data": data}

    @classmethod
    def from_error(cls, error):
        """The error of an answer to one of our own calls."""
        data = error.get("data") or {}
        return cls(error.get("code", -32603), data.get("kind", "internal"), error.get("message", ""),
                   retryable=bool(data.get("retryable", False)), details=data.get("details"))


def invalid(message):
    """-32602: the params are wrong; `message` names the field (`title: 1 to 200 characters`)."""
    return PluginError(-32602, "protocol.invalid_params", message)


def business(kind, message, details=None, retryable=False):
    """-32803: the method ran and refused (`change.invalid_transition`). HTTP callers get 404 when
    `kind` ends in `not_found`, 409 for `conflict` or `invalid_transition`, else 422."""
    return PluginError(-32803, kind, message, retryable=retryable, details=details)


def not_found(kind, message, **details):
    return business(kind, message, details=details or None)


UNAVAILABLE = -32010
TIMED_OUT = -32011
CANCELLED = -32800
INTERNAL = -32603
