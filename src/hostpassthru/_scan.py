"""The entry points: scan a host, and the module-level questions that scan when given no host.

Each question takes ``host=``; without it, it scans this host anew, so that a
one-off question is one call. To ask several questions of one snapshot (and
to read it once), scan once and pass ``host=`` to each, or use the Host methods.

The questions import the modules that answer them when first asked: a scan
alone (``hostpassthru list``) loads none of them, and starts that much faster.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from . import _seam, _sysfs, _udev
from ._collector import collector_paused
from ._ids import IdsDatabase
from ._tree import build

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._explain import Affected, GroupVerdict
    from ._model import Device, Host
    from ._readiness import Assessment, IommuStatus
    from ._recording import Recording
    from ._records import Snapshot

__all__ = [
    "affected_by",
    "check",
    "explain_affected",
    "group_verdicts",
    "iommu_status",
    "passthrough_devices",
    "replay",
    "replay_file",
    "scan",
    "vanish_with_vfs",
]

_DATABASES: dict[tuple[str, ...] | None, IdsDatabase] = {}


def _names(ids: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None) -> IdsDatabase:
    """The ids database for these directories (parsed once each, on first use)."""
    key: tuple[str, ...] | None
    if ids is None:
        key = None
    elif isinstance(ids, (str, os.PathLike)):
        key = (os.fspath(ids),)
    else:
        key = tuple(os.fspath(d) for d in ids)
    database = _DATABASES.get(key)
    if database is None:
        database = _DATABASES[key] = IdsDatabase() if key is None else IdsDatabase(key)
    return database


def scan(
    sysfs: str | os.PathLike[str] | None = None,
    *,
    proc: str | os.PathLike[str] | None = None,
    ids: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
) -> Host:
    """Read a host's devices, IOMMU groups and passthrough facts.

    With no argument, read this host: libudev (through pyudev) enumerates the
    devices; where libudev cannot be loaded, the path reader reads ``/sys``
    instead, and ``problems`` says so. With *sysfs*, read the tree under that
    directory with plain file calls only, so fixtures and pyfakefs work.
    Raises SysfsNotFoundError when the root does not exist or is no sysfs tree.

    *proc* is where the few /proc facts that readiness checks need are read
    (command line, mounts, swap, routes): ``/proc`` for the live scan; with
    *sysfs* and no *proc*, they are not read, and ``host.proc`` is None.

    *ids* is a directory (or several, searched in order) holding ``pci.ids``
    and ``usb.ids`` for vendor and product names; by default the system's.

    Within ``hostpassthru.testing.live_host()`` (and the ``fake_host`` pytest
    fixture), "this host" is the fake host installed there.
    """
    target = _seam.reading(sysfs, proc)
    names = _names(ids if ids is not None else target.ids)
    with collector_paused():
        if not target.live:
            return build(_sysfs.read(target.sysfs, target.proc), names)
        try:
            snapshot = _udev.read(target.sysfs, target.proc)
        except _udev.UdevUnavailableError as exc:
            snapshot = _sysfs.read(target.sysfs, target.proc)
            note = f"libudev unavailable ({exc}); read {target.sysfs} with plain file calls"
            snapshot = attrs.evolve(snapshot, problems=(note, *snapshot.problems))
        return build(snapshot, names)


def _this(host: Host | None) -> Host:
    """*host*, or this host scanned now."""
    return scan() if host is None else host


def replay(recording: Recording, *, proc: str | os.PathLike[str] | None = None) -> Host:
    """The host a recording describes, read from memory: no tree is written.

    Equal to ``scan(sysfs=materialize(recording, top))``. The /proc facts are
    the recording's, or with *proc*, read from that directory.
    """
    from ._recording import snapshot  # noqa: PLC0415 - only a replay needs it

    with collector_paused():  # as scan(): while the host is read and built
        return _replayed(snapshot(recording), proc)


def replay_file(
    path: str | os.PathLike[str], *, proc: str | os.PathLike[str] | None = None
) -> Host:
    """:func:`replay` of the recording (or export-db dump) in the file at *path*.

    The file is parsed straight into the in-memory tree, without the
    :class:`Recording` that ``read_recording()`` makes: what ``--replay`` does.
    Raises FixtureError for a file that is missing or wrong.
    """
    from ._recording import read_snapshot  # noqa: PLC0415 - only a replay needs it

    with collector_paused():  # as scan(): while the host is read and built
        return _replayed(read_snapshot(path), proc)


def _replayed(snapshot: Snapshot, proc: str | os.PathLike[str] | None) -> Host:
    """The host of a replayed snapshot, with /proc read from *proc* where given."""
    if proc is not None:
        problems: list[str] = []
        facts = _sysfs.read_proc(os.fspath(proc), problems)
        snapshot = attrs.evolve(snapshot, proc=facts, problems=(*snapshot.problems, *problems))
    return build(snapshot, _names(_seam.current().ids))


def passthrough_devices(
    cap: str | None = None,
    *,
    include_controllers: bool = False,
    host: Host | None = None,
) -> tuple[Device, ...]:
    """The devices that can be passed through; scans this host if no *host*."""
    return _this(host).passthrough_devices(cap, include_controllers=include_controllers)


def affected_by(dev: Device | str, *, host: Host | None = None) -> tuple[Device, ...]:
    """What leaves the host with *dev*; scans this host if no *host*.

    *dev* is a Device, a name (``pci_0000_01_00_0``) or a kernel name (``0000:01:00.0``).
    """
    return _this(host).affected_by(dev)


def vanish_with_vfs(pf: Device | str, *, host: Host | None = None) -> tuple[Device, ...]:
    """What leaves the host when *pf*'s VFs are disabled (``set_vfs(pf, 0)``).

    Every VF of the physical function and everything beneath them, ordered by
    path; () for a function without VFs. Scans this host if no *host*.
    """
    if host is None:
        host = scan()
    return host.vanish_with_vfs(pf)


def explain_affected(
    dev: Device | str,
    *,
    host: Host | None = None,
) -> tuple[Affected, ...]:
    """``affected_by(dev)``, each device with why it goes: same IOMMU group, or beneath."""
    from ._explain import explain_affected as explain  # noqa: PLC0415 - see the top

    host = _this(host)
    return explain(host, host.device(dev))


def group_verdicts(*, host: Host | None = None) -> tuple[GroupVerdict, ...]:
    """Every IOMMU group with what goes if any member is passed, and a verdict in words."""
    from ._explain import group_verdict  # noqa: PLC0415 - see the top

    host = _this(host)
    return tuple(group_verdict(host, n) for n in host.iommu_groups)


def iommu_status(*, host: Host | None = None) -> IommuStatus:
    """Whether the IOMMU is on, its hardware units, and what the kernel command line says."""
    from ._readiness import iommu_status as status  # noqa: PLC0415 - see the top

    return status(_this(host))


def check(dev: Device | str, *, host: Host | None = None) -> Assessment:
    """What stands between *dev* and a VM: a verdict and findings, each with a hint."""
    from ._readiness import assess  # noqa: PLC0415 - see the top

    host = _this(host)
    return assess(host, host.device(dev))
