"""Helpers for the prepare/release tests: a fake host's tree, file by file."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import attrs

import hostpassthru as hp
from hostpassthru.testing import SimulatedKernel, live_host, materialize

if TYPE_CHECKING:
    from pathlib import Path


def tree_state(root: str) -> dict[str, tuple[str, str | bytes]]:
    """Every file and link under *root*: path -> ("link", target) or ("file", bytes)."""
    state: dict[str, tuple[str, str | bytes]] = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                state[rel] = ("link", os.readlink(path))
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    state[rel] = ("file", f.read())
            else:
                state[rel] = ("dir", "")
    return state


def tree_diff(
    before: dict[str, tuple[str, str | bytes]], after: dict[str, tuple[str, str | bytes]]
) -> list[str]:
    """The paths whose presence, kind or content differ, sorted: [] when equal."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


@attrs.define
class FakeHostState:
    """A fixture materialised with a simulated kernel, and the tree as it was."""

    top: str
    root: str
    kernel: SimulatedKernel
    before: dict[str, tuple[str, str | bytes]]

    def diff(self) -> list[str]:
        """What differs from the tree as it was: [] when equal."""
        return tree_diff(self.before, tree_state(self.root))

    def driver(self, address: str) -> str | None:
        """The driver *address* is bound to now."""
        return self.kernel.driver_of(address)

    def override(self, address: str) -> str | None:
        """The raw driver_override text of *address* now."""
        return self.kernel.override_of(address)

    @property
    def state_dir(self) -> str:
        """The fake host's journal directory."""
        return os.path.join(self.top, "run", "hostpassthru")

    def journals(self) -> list[str]:
        """The journal files there are now."""
        try:
            return sorted(os.listdir(os.path.join(self.state_dir, "journal")))
        except FileNotFoundError:
            return []


def make_host(
    fixture: str, tmp_path: Path, *, load: tuple[str, ...] = ("vfio-pci",)
) -> FakeHostState:
    """Materialise *fixture* with a simulated kernel that has *load* loaded."""
    top = str(tmp_path / fixture)
    root = materialize(fixture, top)
    kernel = SimulatedKernel(root)
    # The simulated kernel completes the tree on first use (driver_override files,
    # drivers' device links): take "before" after that.
    assert kernel.drivers is not None
    for driver in load:
        kernel.load_driver(driver)
    return FakeHostState(top=top, root=root, kernel=kernel, before=tree_state(root))


def active(host: FakeHostState) -> contextlib.AbstractContextManager[hp.Kernel]:
    """live_host() for *host*'s tree and kernel."""
    return live_host(host.root, kernel=host.kernel)


def states(outcome: hp.Outcome) -> dict[str, str]:
    """Kernel name -> state, for each member of an outcome."""
    return {m.sys_name: m.state for m in outcome.members}


def recover_twice(host: FakeHostState) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """recover() in this process on what a child left, twice; the writes of each run."""
    kernel = SimulatedKernel(host.root, drivers=host.kernel.drivers)
    with live_host(host.root, kernel=kernel):
        hp.recover()
        first = list(kernel.writes)
        kernel.writes.clear()
        hp.recover()
    return first, list(kernel.writes)
