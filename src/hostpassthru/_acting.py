"""What every act on the host works with: its write layer, state directory and /proc.

Prepare, release and recover (``_binding``) and the acts that make and remove
devices (``_acts``) find "this host" the same way: the kernel they are given,
else the installed target's (a fake host's simulated kernel), else a
LiveKernel on the target's sysfs; the state directory they are given, else the
target's default; the target's /proc where it exists.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from . import _seam
from ._journal import StateDir
from ._kernel import Kernel, LiveKernel
from ._scan import scan

if TYPE_CHECKING:
    from ._model import Host

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_WAIT", "Context", "context"]

#: Seconds a write that waits on the device's user (an unbind, an mdev's remove) may block.
DEFAULT_TIMEOUT = 10.0
#: Seconds to wait for another manager's lock on the state directory.
DEFAULT_WAIT = 30.0


@attrs.frozen
class Context:
    """The write layer, the state directory and the /proc root (None: none) of one act."""

    kernel: Kernel
    state: StateDir
    proc: str | None

    def scan(self) -> Host:
        """The host as it is now."""
        # The path reader, also on the real /sys: it gives the same host as libudev
        # and needs no pyudev to act.
        return scan(self.kernel.sysfs, proc=self.proc)


def context(
    *,
    kernel: Kernel | None = None,
    state_dir: str | os.PathLike[str] | None = None,
) -> Context:
    """This host's context, with *kernel* and *state_dir* where given."""
    target = _seam.current()
    if kernel is None:
        kernel = target.kernel if target.kernel is not None else LiveKernel(target.sysfs)
    path = os.fspath(state_dir) if state_dir is not None else _seam.default_state_dir(kernel.sysfs)
    proc = target.proc if target.proc is not None and os.path.isdir(target.proc) else None
    return Context(kernel=kernel, state=StateDir(path), proc=proc)
