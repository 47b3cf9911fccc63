"""The watch: uevents (or polls of a tree) in, coalesced Changes of the host out.

The monitor is opened before the first scan, so an event that happens while
the host is read is still received. Events are coalesced: a change is made
once no event has arrived for *coalesce* seconds (and at the latest ten
times that after the first one), by scanning the host again and diffing.
Everything is non-blocking underneath one epoll descriptor (the monitor's
socket and a timerfd for the coalescing deadline or the polling tick), so
``fileno()`` works with ``asyncio``'s ``add_reader`` and ``select``.
"""

from __future__ import annotations

import collections
import ctypes
import errno
import os
import select
import time
from typing import TYPE_CHECKING, Literal, Self

from . import _scan, _seam, _sysfs, _udev
from ._changes import Change, diff, with_event_drivers
from ._tree import build

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from ._model import Host
    from ._records import Snapshot, Uevent

__all__ = ["SUBSYSTEMS", "Watch", "watch"]

#: The subsystems whose events can change the answer: the three kinds of node.
SUBSYSTEMS = ("pci", "usb", "scsi")
#: A burst is cut after this many coalescing periods, even if events keep coming.
_MAX_DELAY_FACTOR = 10

WatchSource = Literal["udev", "kernel", "poll"]


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


class _Itimerspec(ctypes.Structure):
    _fields_ = (("it_interval", _Timespec), ("it_value", _Timespec))


_CLOCK_MONOTONIC = 1
_TFD_NONBLOCK = os.O_NONBLOCK
_TFD_CLOEXEC = os.O_CLOEXEC


def _timespec(seconds: float) -> _Timespec:
    whole = int(seconds)
    return _Timespec(whole, int((seconds - whole) * 1e9))


class _Timer:
    """A timerfd (Python has os.timerfd_create only from 3.13): readable when it expires."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.timerfd_create(_CLOCK_MONOTONIC, _TFD_NONBLOCK | _TFD_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd

    def arm(self, delay: float, interval: float = 0.0) -> None:
        """Expire after *delay* seconds (then every *interval*, if given)."""
        # An all-zero it_value disarms the timer; make a due deadline expire at once.
        spec = _Itimerspec(_timespec(interval), _timespec(max(delay, 1e-6)))
        if self._libc.timerfd_settime(self.fd, 0, ctypes.byref(spec), None) < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    def disarm(self) -> None:
        """Stop the timer."""
        spec = _Itimerspec(_timespec(0), _timespec(0))
        self._libc.timerfd_settime(self.fd, 0, ctypes.byref(spec), None)

    def expired(self) -> bool:
        """Whether it expired since last asked (reads the expiry count, so it resets)."""
        # Read through libc rather than os.read: pyfakefs replaces os in tests that
        # watch a fake host, and its os.read knows only its own descriptors.
        count = ctypes.c_uint64()
        if self._libc.read(self.fd, ctypes.byref(count), 8) == 8:
            return True
        if ctypes.get_errno() not in (errno.EAGAIN, errno.EWOULDBLOCK):
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return False

    def close(self) -> None:
        """Close the descriptor."""
        self._libc.close(self.fd)


class Watch:
    """An open watch of one host: iterate for Changes, or poll ``fileno()`` and ``drain()``.

    Use ``hostpassthru.watch()`` to make one; close it (or use it as a context
    manager) to release the monitor socket and timer.
    """

    def __init__(
        self,
        target: _seam.Reading,
        *,
        coalesce: float,
        interval: float,
        source: Literal["udev", "kernel"] | None,
        buffer_size: int | None = None,
    ) -> None:
        if coalesce < 0:
            raise ValueError(f"coalesce must be 0 or more seconds, not {coalesce!r}")
        if interval <= 0:
            raise ValueError(f"interval must be more than 0 seconds, not {interval!r}")
        self._target = target
        #: The sysfs root watched.
        self.sysfs = target.sysfs
        self._coalesce = coalesce
        self._interval = interval
        self._epoll = select.epoll()
        try:
            self._timer = _Timer()
        except BaseException:
            self._epoll.close()
            raise
        self._monitor: _udev.Monitor | None = None
        self._pending: list[Uevent] = []
        self._overflow = False
        self._burst_start: float | None = None
        self._ready: collections.deque[Change] = collections.deque()
        try:
            self.source: WatchSource = "poll"
            if target.live:
                # Before the first scan: what happens while it reads is still received.
                self._monitor = self._open_monitor(source, buffer_size)
            if self._monitor is not None:
                self.source = self._monitor.source
                self._epoll.register(self._monitor.fileno(), select.EPOLLIN)
            else:
                self._timer.arm(interval, interval)
            self._epoll.register(self._timer.fd, select.EPOLLIN)
            self._snapshot = self._read()
            #: The host as last scanned: before the first change, the host the watch started on.
            self.host: Host = build(self._snapshot, _scan._names(self._target.ids))  # noqa: SLF001
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _open_monitor(
        source: Literal["udev", "kernel"] | None, buffer_size: int | None
    ) -> _udev.Monitor | None:
        if source is None:
            # libudev delivers udev events only where udevd runs; without it the
            # kernel's own events are the ones there are.
            source = "udev" if _udev.udev_running() else "kernel"
        try:
            return _udev.Monitor(source, SUBSYSTEMS, buffer_size)
        except _udev.UdevUnavailableError:
            return None

    def _read(self) -> Snapshot:
        target = self._target
        if target.live and self._monitor is not None:
            try:
                return _udev.read(target.sysfs, target.proc)
            except _udev.UdevUnavailableError:
                pass
        return _sysfs.read(target.sysfs, target.proc)

    def fileno(self) -> int:
        """A descriptor that is readable when ``drain()`` has work: for select and add_reader."""
        return self._epoll.fileno()

    def drain(self) -> tuple[Change, ...]:
        """Without blocking: take the events that are ready, and return the changes now due."""
        out = list(self._ready)
        self._ready.clear()
        if self._monitor is not None:
            self._receive()
        if self._timer.expired():
            change = self._poll() if self._monitor is None else self._flush()
            if change is not None:
                out.append(change)
        return tuple(out)

    def _receive(self) -> None:
        assert self._monitor is not None  # noqa: S101 - only called with a monitor
        events, lost = self._monitor.receive()
        if lost:
            # The socket's buffer filled and the kernel dropped events: which ones
            # is unknown, so the next change rescans and trusts no event's driver.
            self._overflow = True
        if not events and not self._overflow:
            return
        self._pending.extend(events)
        now = time.monotonic()
        if self._burst_start is None:
            self._burst_start = now
        latest = self._burst_start + _MAX_DELAY_FACTOR * self._coalesce
        self._timer.arm(min(now + self._coalesce, latest) - now)

    def _flush(self) -> Change | None:
        if not self._pending and not self._overflow:
            return None
        events = tuple(self._pending)
        overflow = self._overflow
        self._pending.clear()
        self._overflow = False
        self._burst_start = None
        snapshot = self._read()
        if not overflow:
            snapshot = with_event_drivers(snapshot, events)
        return self._advance(snapshot, events, "overflow" if overflow else "events")

    def _poll(self) -> Change | None:
        snapshot = self._read()
        if snapshot == self._snapshot:
            return None
        change = self._advance(snapshot, (), "poll")
        return change or None

    def _advance(
        self,
        snapshot: Snapshot,
        events: tuple[Uevent, ...],
        cause: Literal["events", "overflow", "poll"],
    ) -> Change:
        host = build(snapshot, _scan._names(self._target.ids))  # noqa: SLF001
        change = diff(self.host, host, events=events, cause=cause)
        self._snapshot = snapshot
        self.host = host
        return change

    def next_change(self, timeout: float | None = None) -> Change | None:
        """The next change, waiting at most *timeout* seconds (None: forever); None on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._ready:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if self._epoll.poll(-1 if left is None else left):
                self._ready.extend(self.drain())
        return self._ready.popleft()

    def __iter__(self) -> Iterator[Change]:
        return self

    def __next__(self) -> Change:
        change = self.next_change()
        assert change is not None  # noqa: S101 - without a timeout it waits for one
        return change

    def close(self) -> None:
        """Release the monitor, the timer and the epoll descriptor; idempotent."""
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        if self._timer.fd >= 0:
            self._timer.close()
            self._timer.fd = -1
        self._epoll.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._epoll.closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def watch(
    sysfs: str | os.PathLike[str] | None = None,
    *,
    proc: str | os.PathLike[str] | None = None,
    coalesce: float = 0.15,
    interval: float = 0.5,
    source: Literal["udev", "kernel"] | None = None,
) -> Watch:
    """Watch a host for changes: ``for change in hp.watch(): ...``.

    With no *sysfs*, this host: a netlink monitor of uevents (udevd's where it
    runs, else the kernel's), opened before the first scan; a burst of events
    is coalesced into one Change once *coalesce* seconds pass without another.
    With *sysfs* (or within a test's fake host), the tree is scanned anew
    every *interval* seconds and a Change made when it differs: one scan's
    cost per interval. Where libudev cannot be loaded, this host is polled too.

    ``watch.host`` is the host the watch started on; each Change carries the
    host after it. Close the watch, or use it as a context manager.
    *source* "udev" where udevd does not run is a ValueError.
    """
    target = _seam.reading(sysfs, proc)
    if target.live and source == "udev" and not _udev.udev_running():
        # libudev would open a monitor that never hears anything: say so instead.
        raise ValueError(
            "source='udev' needs udevd, which does not run here "
            f"({_udev.UDEV_CONTROL} is missing); use source='kernel' or None"
        )
    return Watch(target, coalesce=coalesce, interval=interval, source=source)
