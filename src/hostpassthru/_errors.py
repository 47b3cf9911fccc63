"""The exceptions hostpassthru raises: one base class, each subclass naming its culprit."""

from __future__ import annotations

from errno import errorcode

# As in __init__: this module loads with the package, and typing takes longer to
# import than the rest of it; the constant is what type checkers look for.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class _Reason(Protocol):
        """What a refusal says: a finding's code and message."""

        @property
        def code(self) -> str: ...
        @property
        def message(self) -> str: ...


__all__ = [
    "ActionFailedError",
    "ActionRefusedError",
    "DeviceNotFoundError",
    "ExportError",
    "FixtureError",
    "HostpassthruError",
    "JournalError",
    "LockTimeoutError",
    "SysfsNotFoundError",
    "WriteTimeoutError",
]


class HostpassthruError(Exception):
    """Base class of every error that hostpassthru raises on purpose."""


class _SubjectError(HostpassthruError):
    """An error about one thing (a path, a name), said as ``<thing>: <why>``."""

    def __init__(self, subject: str, why: str) -> None:
        super().__init__(subject, why)
        self.why = why

    def __str__(self) -> str:
        return f"{self.args[0]}: {self.why}"


class SysfsNotFoundError(_SubjectError):
    """The sysfs root does not exist or does not look like a sysfs tree."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(path, why)
        self.path = path


class DeviceNotFoundError(HostpassthruError, LookupError):
    """No device of the host has this name or kernel name."""

    def __init__(self, name: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(name, suggestions)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        msg = f"no device named {self.name!r}"
        if self.suggestions:
            msg += "; did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
        return msg


class FixtureError(HostpassthruError, ValueError):
    """A fixture or recording cannot be parsed."""

    def __init__(self, source: str, line: int | None, why: str) -> None:
        super().__init__(source, line, why)
        self.source = source
        self.line = line
        self.why = why

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.why}"


class ExportError(_SubjectError, ValueError):
    """A document for the cluster cannot be made as asked (a bad name, too large a file)."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(what, why)
        self.what = what


class WriteTimeoutError(HostpassthruError, TimeoutError):
    """A sysfs write did not return before its deadline (an unbind held up by a user)."""

    def __init__(self, path: str, seconds: float) -> None:
        super().__init__(path, seconds)
        self.path = path
        self.seconds = seconds

    def __str__(self) -> str:
        return f"{self.path}: the write did not return within {self.seconds:g} s"


class LockTimeoutError(HostpassthruError, TimeoutError):
    """Another manager held the state directory's lock for longer than we would wait."""

    def __init__(self, path: str, seconds: float, holder: str | None = None) -> None:
        super().__init__(path, seconds, holder)
        self.path = path
        self.seconds = seconds
        self.holder = holder

    def __str__(self) -> str:
        by = f" (held by {self.holder})" if self.holder else ""
        return f"{self.path}: still locked after {self.seconds:g} s{by}"


class JournalError(_SubjectError):
    """A journal cannot be read, written, or applied to the host as it is now."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(path, why)
        self.path = path


class ActionRefusedError(HostpassthruError):
    """An act on the host was refused before any write (prepare, release, set_vfs, ...).

    ``refusals`` says why. The base of RefusedError and ActRefusedError, so that
    an embedder catches every refusal with one clause.
    """

    def __init__(self, *args: object, action: str, refusals: tuple[_Reason, ...]) -> None:
        super().__init__(*args)
        #: What was refused: "prepare", "release", "set_vfs", ...
        self.action = action
        self.refusals = refusals

    def __str__(self) -> str:
        reasons = "; ".join(f"{f.code}: {f.message}" for f in self.refusals)
        return f"{self.action} refused, nothing written: {reasons}"


class ActionFailedError(HostpassthruError):
    """A write of an act failed; ``rolled_back`` says whether the host is as it was.

    The base of BindingError and ActError, so that an embedder catches every
    failed act with one clause.
    """

    def __init__(self, *args: object, error: int | None, why: str, rolled_back: bool) -> None:
        super().__init__(*args)
        #: The errno of the failed write, where there is one.
        self.errno = error
        self.why = why
        self.rolled_back = rolled_back

    def _message(self, what: str, *, undone: str, not_undone: str) -> str:
        """``<what>: <why> (<ERRNO>); <undone or not_undone>``, as every failed act says it."""
        code = "" if self.errno is None else f" ({errorcode.get(self.errno, self.errno)})"
        return f"{what}: {self.why}{code}; {undone if self.rolled_back else not_undone}"
