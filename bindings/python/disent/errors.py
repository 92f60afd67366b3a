"""Exceptions: one class per dsn_status code, all deriving from DisentError.

Each class also derives from the closest built-in exception, so callers can
catch ``ValueError`` or ``OSError`` as usual as well as the specific class.
"""

from typing import Optional

# dsn_status values from include/disent.h (frozen once released).
OK = 0
E_INVALID = 1
E_SHAPE = 2
E_NOMEM = 3
E_IO = 4
E_FORMAT = 5
E_OPTION = 6
E_NUMERIC = 7
E_STATE = 8
E_UNSUPPORTED = 9
E_INTERNAL = 10


class DisentError(Exception):
    """A libdisent call failed.

    Attributes: ``status`` (the dsn_status code, an int), ``message`` (the
    library's ``dsn_last_error()`` text at the time of the failure) and
    ``function`` (the C function that failed, or None for checks made on the
    Python side).
    """

    status: Optional[int] = None

    def __init__(self, message: str, status: Optional[int] = None, function: Optional[str] = None) -> None:
        if status is not None:
            self.status = status
        self.message = message
        self.function = function
        super().__init__(message)

    def __str__(self):
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.status, self.function))


class InvalidArgumentError(DisentError, ValueError):
    """DSN_E_INVALID: a bad argument (NULL where an object is needed, out of range)."""
    status = E_INVALID


class ShapeError(DisentError, ValueError):
    """DSN_E_SHAPE: array sizes or shapes that do not fit together."""
    status = E_SHAPE


class OutOfMemoryError(DisentError, MemoryError):
    """DSN_E_NOMEM: an allocation failed."""
    status = E_NOMEM


class FileIOError(DisentError, OSError):
    """DSN_E_IO: a file could not be opened, read or written."""
    status = E_IO


class FormatError(DisentError, ValueError):
    """DSN_E_FORMAT: a file is damaged, truncated, foreign or of an unknown version."""
    status = E_FORMAT


class OptionError(DisentError, ValueError):
    """DSN_E_OPTION: an unknown option key or a bad option value."""
    status = E_OPTION


class NumericError(DisentError, ArithmeticError):
    """DSN_E_NUMERIC: NaN or infinity in the input or during training."""
    status = E_NUMERIC


class StateError(DisentError, RuntimeError):
    """DSN_E_STATE: the object is not in a state that allows the call."""
    status = E_STATE


class ClosedError(StateError):
    """The Python object's handle was already released with close()."""


class UnsupportedError(DisentError, NotImplementedError):
    """DSN_E_UNSUPPORTED: valid, but this build or model cannot do it."""
    status = E_UNSUPPORTED


class InternalError(DisentError, RuntimeError):
    """DSN_E_INTERNAL: a library bug; please report it with the message."""
    status = E_INTERNAL


class LibraryNotFoundError(DisentError, OSError):
    """The shared library libdisent could not be found or loaded."""


class VersionMismatchError(DisentError, ImportError):
    """The loaded libdisent is not the version these bindings were written for."""


ERROR_CLASSES = {
    E_INVALID: InvalidArgumentError,
    E_SHAPE: ShapeError,
    E_NOMEM: OutOfMemoryError,
    E_IO: FileIOError,
    E_FORMAT: FormatError,
    E_OPTION: OptionError,
    E_NUMERIC: NumericError,
    E_STATE: StateError,
    E_UNSUPPORTED: UnsupportedError,
    E_INTERNAL: InternalError,
}


def error_for(status: int, message: str, function: Optional[str] = None) -> "DisentError":
    """The exception instance for a non-OK status (DisentError for unknown codes)."""
    cls = ERROR_CLASSES.get(status, DisentError)
    return cls(message, status, function)
