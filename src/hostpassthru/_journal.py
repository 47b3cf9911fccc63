"""The journal and the lock: what was prepared, as it was before, kept across crashes.

A state directory (``/run/hostpassthru`` for the real host) holds one JSON
file per prepared set, ``journal/<id>.json``, and a ``lock`` file. Each
journal is written atomically (temporary file, fsync, rename, fsync of the
directory), before the first write to sysfs and again after each one, so that
a crash at any point leaves a journal that recovery can act on. ``/run`` is a
tmpfs: a reboot empties it, as it undoes every binding the journal describes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._errors import JournalError, LockTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "JournalEntry",
    "JournalMember",
    "Phase",
    "StateDir",
    "journal_files",
    "remove_durably",
    "write_atomically",
]

SCHEMA = 1

#: preparing: writes under way; prepared: done; releasing / rolling_back: giving back.
Phase = Literal["preparing", "prepared", "releasing", "rolling_back"]


@attrs.frozen(kw_only=True)
class JournalMember:
    """One device of a prepared set: who it is, and what it had before."""

    name: str
    sys_name: str
    #: Device directory relative to the sysfs root: part of its identity.
    path: str
    vendor_id: int | None
    product_id: int | None
    subsystem_vendor_id: int | None
    subsystem_product_id: int | None
    from_driver: str | None
    from_module: str | None
    #: The driver_override it had; None when unset (reads "(null)").
    from_override: str | None
    to_driver: str | None
    #: The last step done: pending, override, unbound, bound, stuck, restored.
    state: str = "pending"


@attrs.frozen(kw_only=True)
class JournalEntry:
    """One prepared set, as the journal holds it."""

    id: str
    #: The device that was asked for.
    device: str
    driver: str | None
    sysfs: str
    created: float
    phase: Phase
    members: tuple[JournalMember, ...]

    def member(self, sys_name: str) -> JournalMember | None:
        """The member with this kernel name, if it is one."""
        return next((m for m in self.members if m.sys_name == sys_name), None)

    def with_member(self, sys_name: str, **changes: Any) -> JournalEntry:  # noqa: ANN401
        """This entry with one member's fields changed."""
        return attrs.evolve(
            self,
            members=tuple(
                attrs.evolve(m, **changes) if m.sys_name == sys_name else m for m in self.members
            ),
        )


def _to_json(entry: JournalEntry) -> str:
    document = {"schema": SCHEMA, **attrs.asdict(entry)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _from_json(text: str, path: str) -> JournalEntry:
    try:
        document = json.loads(text)
        schema = document.pop("schema")
        members = tuple(JournalMember(**m) for m in document.pop("members"))
        entry = JournalEntry(members=members, **document)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise JournalError(path, f"not a hostpassthru journal ({exc})") from None
    if schema != SCHEMA:
        raise JournalError(path, f"written by another version of hostpassthru (schema {schema})")
    return entry


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(directory: str, name: str, text: str) -> None:
    """Write *text* to DIRECTORY/NAME so that a reader sees the old file or the new, never a part.

    A temporary file, fsync, rename over the old one, fsync of the directory.
    """
    final = os.path.join(directory, name)
    temporary = os.path.join(directory, f".{name}.{os.getpid()}")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
        _fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise JournalError(final, f"cannot write ({exc.strerror})") from None


def remove_durably(directory: str, name: str) -> None:
    """Remove DIRECTORY/NAME for good (the directory fsynced after); one already gone is fine."""
    path = os.path.join(directory, name)
    try:
        os.unlink(path)
        _fsync_dir(directory)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise JournalError(path, f"cannot remove ({exc.strerror})") from None


def journal_files(directory: str) -> list[str]:
    """The paths of the journals (``*.json``) in *directory*, by name; none if it is missing.

    Temporary files of a write under way (``.NAME.PID``) are not journals.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise JournalError(directory, f"cannot list ({exc.strerror})") from None
    return [
        os.path.join(directory, name)
        for name in names
        if not name.startswith(".") and name.endswith(".json")
    ]


class StateDir:
    """The journals and the lock of one host, under *path*."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.abspath(os.fspath(path))

    def __repr__(self) -> str:
        return f"StateDir({self.path!r})"

    @property
    def journal_dir(self) -> str:
        """Where the journal files are."""
        return os.path.join(self.path, "journal")

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        """Hold the state directory's lock; wait up to *timeout* seconds for it.

        An ``flock``: the kernel drops it when its holder dies, so a manager
        that crashed blocks nobody.
        """
        try:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
            fd = os.open(
                os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
            )
        except OSError as exc:
            raise JournalError(self.path, f"cannot open the lock ({exc.strerror})") from None
        try:
            end = time.monotonic() + timeout
            pause = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise JournalError(self.path, f"cannot lock ({exc.strerror})") from None
                if time.monotonic() >= end:
                    os.lseek(fd, 0, os.SEEK_SET)
                    holder = os.read(fd, 64).decode("ascii", "replace").strip() or None
                    raise LockTimeoutError(
                        os.path.join(self.path, "lock"),
                        timeout,
                        None if holder is None else f"process {holder}",
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
            # The holder's pid, for the message of whoever waits (lseek and write
            # rather than pwrite: pyfakefs, under which embedders test, lacks it).
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            os.close(fd)

    def save(self, entry: JournalEntry) -> None:
        """Write *entry* atomically: a reader sees the old journal or the new, never a part."""
        write_atomically(self.journal_dir, f"{entry.id}.json", _to_json(entry))

    def remove(self, entry_id: str) -> None:
        """Forget a journal once its devices are given back."""
        remove_durably(self.journal_dir, f"{entry_id}.json")

    def entries(self) -> tuple[JournalEntry, ...]:
        """Every journal, oldest first; a damaged one raises JournalError naming it."""
        out = []
        for path in journal_files(self.journal_dir):
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read()
            except FileNotFoundError:
                continue  # removed by a release meanwhile
            except OSError as exc:
                raise JournalError(path, f"cannot read ({exc.strerror})") from None
            out.append(_from_json(text, path))
        return tuple(sorted(out, key=lambda e: (e.created, e.id)))

    def journaled(self) -> dict[str, str]:
        """Kernel name -> the id of the journal that holds the device, for every one held."""
        return {m.sys_name: e.id for e in self.entries() for m in e.members}

    def holding(self, sys_name: str) -> JournalEntry | None:
        """The journal that holds the device with kernel name *sys_name*, if any."""
        return next((e for e in self.entries() if e.member(sys_name) is not None), None)
