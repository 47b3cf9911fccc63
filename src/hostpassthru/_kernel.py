"""The write layer: every write hostpassthru makes to sysfs goes through a Kernel.

A ``Kernel`` takes a path relative to its sysfs root and the bytes to write,
and makes exactly one ``write(2)`` of them, so the errno is the kernel's own.
``LiveKernel`` writes to the real sysfs; ``hostpassthru.testing.SimulatedKernel``
applies the same writes to a fake tree the way the kernel would. Reads are
not here: they go through the readers, which see what the writes did.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
import warnings
from typing import Protocol, runtime_checkable

from ._errors import WriteTimeoutError

__all__ = ["Kernel", "LiveKernel", "write_once"]


@runtime_checkable
class Kernel(Protocol):
    """What carries out sysfs writes: the real kernel, or a simulation of it."""

    @property
    def sysfs(self) -> str:
        """The sysfs root that the paths given to write() are relative to."""
        ...

    def write(self, path: str, data: bytes, *, deadline: float | None = None) -> None:
        """Hand *data* to the sysfs file *path* in a single write call.

        Raises OSError with the kernel's errno. With *deadline* (seconds), a
        write that has not returned by then raises WriteTimeoutError; the write
        may still complete later.
        """
        ...

    def load_module(self, name: str) -> None:
        """Load kernel module *name* (``modprobe``); raises OSError when it cannot."""
        ...


def write_once(path: str, data: bytes) -> None:
    r"""One open, one write(2) of all of *data*, one close; errors carry *path*.

    A sysfs store() sees exactly the bytes of one write call: writing in parts
    would hand it parts. A zero-length write never reaches the store() at all
    (the VFS returns 0 first), which is why clearing driver_override takes "\n".
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        written = os.write(fd, data)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        os.close(fd)
    if written != len(data):  # pragma: no cover - sysfs takes a page in one go
        raise OSError(0, f"short write ({written} of {len(data)} bytes)", path)


class LiveKernel:
    """Writes to a real sysfs (``/sys`` by default).

    A write with a deadline runs in a child process: an unbind can block in
    the kernel for ever and cannot be interrupted (vfio-pci waits for the VM
    to let go in 10 s ticks since Linux 4.x; nvidia polls every 500 ms without
    a limit), and while it blocks, the device lock is held. The child takes
    the risk; this process gives up after the deadline and goes on.
    """

    def __init__(self, sysfs: str = "/sys") -> None:
        self._sysfs = os.path.normpath(os.path.abspath(sysfs))
        #: Children whose write had not returned by its deadline; reaped when they end.
        self._stuck: list[int] = []

    @property
    def sysfs(self) -> str:
        """The sysfs root."""
        return self._sysfs

    def __repr__(self) -> str:
        return f"LiveKernel({self._sysfs!r})"

    def write(self, path: str, data: bytes, *, deadline: float | None = None) -> None:
        """Hand *data* to ``SYSFS/path`` in one call; in a child process if given a deadline."""
        full = os.path.join(self._sysfs, path)
        self._reap()
        if deadline is None:
            write_once(full, data)
            return
        with warnings.catch_warnings():
            # Python 3.12 warns that fork() in a threaded process may deadlock the
            # child; this child only writes and exits, taking no lock.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its exit status is checked below
            code = 0
            try:
                write_once(full, data)
            except OSError as exc:
                code = exc.errno or 255
            finally:
                os._exit(code)
        end = time.monotonic() + deadline
        pause = 0.001
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() >= end:
                self._stuck.append(pid)
                raise WriteTimeoutError(full, deadline)
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise OSError(code, os.strerror(code) if code > 0 else "killed", full)

    def load_module(self, name: str) -> None:
        """``modprobe -- NAME``; raises OSError with modprobe's own words when it fails."""
        import subprocess  # noqa: PLC0415 - kept off the scan's import path

        try:
            done = subprocess.run(
                ["modprobe", "--", name],
                capture_output=True,
                text=True,
                check=False,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OSError(errno.ENOEXEC, f"modprobe {name}: {exc}") from None
        if done.returncode != 0:
            why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
            raise OSError(errno.ENOENT, f"modprobe {name}: {why}")

    def _reap(self) -> None:
        for pid in list(self._stuck):
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if not done:
                    continue
            self._stuck.remove(pid)
