"""What "this host" means right now: the real /sys, or a fake host that a test installed.

``scan()`` with no argument, and ``prepare``/``release``/``recover``, act on
this host. ``hostpassthru.testing.live_host()`` pushes a fake one for the
length of a ``with`` block (the ``fake_host`` pytest fixture does it for a
test); this module only keeps the stack, so that production code never
imports test support.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import TYPE_CHECKING

import attrs

from ._kernel import Kernel

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["LiveTarget", "Reading", "current", "default_state_dir", "pushed", "reading"]

_LIVE_SYSFS = "/sys"
_LIVE_PROC = "/proc"


@attrs.frozen(kw_only=True)
class LiveTarget:
    """Where this host's facts are read, who carries out writes, and where names come from."""

    #: The sysfs root; "/sys" for the real host.
    sysfs: str = _LIVE_SYSFS
    #: The /proc root; None where the target has none (a fake host without /proc files).
    proc: str | None = _LIVE_PROC
    #: The write layer; None for the real host (a LiveKernel on /sys is made when needed).
    kernel: Kernel | None = None
    #: Directories to look for pci.ids and usb.ids in; None for the system's own.
    ids: tuple[str, ...] | None = None
    #: True for the real host: libudev enumerates it, /run holds the journal.
    real: bool = True


_REAL = LiveTarget()
_stack: list[LiveTarget] = []
_lock = threading.Lock()


def current() -> LiveTarget:
    """The innermost installed target, or the real host."""
    with _lock:
        return _stack[-1] if _stack else _REAL


@contextlib.contextmanager
def pushed(target: LiveTarget) -> Iterator[LiveTarget]:
    """Make *target* this host within the block; what was there before comes back after."""
    with _lock:
        _stack.append(target)
    try:
        yield target
    finally:
        with _lock:
            # Remove this very entry (not merely the last one): blocks may end out of
            # order when a test's generator fixtures are torn down late.
            for i in range(len(_stack) - 1, -1, -1):
                if _stack[i] is target:
                    del _stack[i]
                    break


def default_state_dir(sysfs: str) -> str:
    """Where journals live: ``$HOSTPASSTHRU_STATE_DIR``, /run/hostpassthru, or TOP/run/... ."""
    env = os.environ.get("HOSTPASSTHRU_STATE_DIR")
    if env:
        return env
    norm = os.path.normpath(os.path.abspath(sysfs))
    if norm == _LIVE_SYSFS:
        return "/run/hostpassthru"
    # A fake host at TOP/sys keeps its journal at TOP/run/hostpassthru, beside its
    # /proc files, so it never meets the real host's journal.
    return os.path.join(os.path.dirname(norm), "run", "hostpassthru")


@attrs.frozen
class Reading:
    """Where a scan or a watch reads a host, and how."""

    sysfs: str
    #: The /proc root; None where the facts under it are not read.
    proc: str | None
    #: True for this host read live (libudev first); False for a tree read with file calls.
    live: bool
    #: Directories to look for pci.ids and usb.ids in; None for the system's own.
    ids: tuple[str, ...] | None = None


def reading(
    sysfs: str | os.PathLike[str] | None,
    proc: str | os.PathLike[str] | None,
) -> Reading:
    """The tree given (*sysfs*), else the fake host installed now, else this host, live."""
    target = current()
    proc_root = None if proc is None else os.fspath(proc)
    if sysfs is not None:
        return Reading(os.fspath(sysfs), proc_root, live=False, ids=target.ids)
    if not target.real:
        # A fake host's /proc files (F: lines) sit beside its sys/, as on a real host;
        # they may be written after the host was installed, so look at read time.
        if proc_root is None and target.proc is not None and os.path.isdir(target.proc):
            proc_root = target.proc
        return Reading(target.sysfs, proc_root, live=False, ids=target.ids)
    return Reading(target.sysfs, proc_root or target.proc or _LIVE_PROC, live=True, ids=target.ids)
