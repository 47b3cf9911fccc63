"""Making and removing devices: VFs, mediated devices, vGPU types; journaled, rolled back.

Each act is one or two sysfs writes through a Kernel. Before the first, a
journal (``acts/<id>.json`` in the state directory, under the same lock as
prepare and release) records what the host had; after a failure the act is
undone from the host as it is then, and after a crash :func:`recover_acts`
(which ``hp.recover()`` calls) does the same. Undoing is idempotent: it
writes only what differs from the journaled state.

Kernel facts (docs/sriov-mdev.md): ``sriov_numvfs`` goes 0 -> N or N -> 0
only (EBUSY otherwise, ERANGE above ``sriov_totalvfs``, ENOENT when the PF's
driver cannot); an mdev is made by writing its UUID to its type's ``create``
and removed by writing 1 to its ``remove``; NVIDIA's ``current_vgpu_type``
takes a creatable type id, or 0 to remove the vGPU.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid as uuidlib
from typing import TYPE_CHECKING, Any, Literal

import attrs

from . import _hostfacts
from ._acting import DEFAULT_TIMEOUT, DEFAULT_WAIT, Context, context
from ._errors import ActionFailedError, ActionRefusedError, JournalError, WriteTimeoutError
from ._journal import StateDir, journal_files, remove_durably, write_atomically
from ._plan import Write, refusal
from ._readiness import Finding

if TYPE_CHECKING:
    from ._kernel import Kernel
    from ._model import Device, Host

__all__ = [
    "Act",
    "ActError",
    "ActName",
    "ActOutcome",
    "ActRefusedError",
    "create_mdev",
    "recover_acts",
    "remove_mdev",
    "set_vfs",
    "set_vgpu_type",
]

ActName = Literal["set_vfs", "create_mdev", "remove_mdev", "set_vgpu_type"]
SCHEMA = 1


@attrs.frozen(kw_only=True)
class Act:
    """What one act would do, read-only: its writes, what leaves the host, refusals."""

    action: ActName
    #: The device acted on: the PF, the mdev parent, the mdev, the VF (a name).
    device: str
    #: The value before and after: VF counts, vGPU type ids, or "absent"/"present".
    before: str
    after: str
    writes: tuple[Write, ...]
    #: The nodes that leave the host (every VF and all beneath, the mdev), by name.
    vanish: tuple[str, ...] = ()
    refusals: tuple[Finding, ...] = ()
    #: The mediated device's UUID (create_mdev, remove_mdev).
    uuid: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing refuses the act."""
        return not self.refusals


@attrs.frozen(kw_only=True)
class ActOutcome:
    """What an act did, or (dry run) would do."""

    act: Act
    done: bool
    dry_run: bool = False
    #: The writes made, in order, rollback included (dry run: the writes it would make).
    writes: tuple[Write, ...] = ()
    rolled_back: bool = False
    error: str | None = None
    #: The nodes there are now and were not before, and the other way round (names).
    appeared: tuple[str, ...] = ()
    vanished: tuple[str, ...] = ()


class ActRefusedError(ActionRefusedError):
    """The pre-flight refused the act: nothing was written. ``refusals`` says why."""

    refusals: tuple[Finding, ...]

    def __init__(self, outcome: ActOutcome) -> None:
        super().__init__(outcome, action=outcome.act.action, refusals=outcome.act.refusals)
        self.outcome = outcome


class ActError(ActionFailedError):
    """A write failed; what was done was undone, or ``left`` says what is not."""

    def __init__(  # noqa: PLR0913 - the error names each part of what happened
        self,
        outcome: ActOutcome,
        *,
        path: str,
        error: int | None,
        why: str,
        rolled_back: bool,
        left: str | None = None,
    ) -> None:
        super().__init__(outcome, path, error, error=error, why=why, rolled_back=rolled_back)
        self.outcome = outcome
        self.path = path
        self.left = left

    def __str__(self) -> str:
        return self._message(
            f"{self.outcome.act.action} failed writing /sys/{self.path}",
            undone="the host is as it was",
            not_undone=f"NOT undone: {self.left}",
        )


# -- the journal ---------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Record:
    """One act under way: enough to put the host back as it was."""

    id: str
    action: ActName
    #: The kernel name of the PCI device acted on (the PF, the VF, the mdev's parent).
    pci: str
    #: Its identity when the act began: path, vendor and device ids.
    path: str
    vendor_id: int | None
    product_id: int | None
    #: The value before the act (count, type id, "absent"/"present").
    before: str
    uuid: str | None = None
    #: The mdev type (its directory name), for remove_mdev's undo.
    type_id: str | None = None
    created: float = 0.0


def _journal_dir(state: StateDir) -> str:
    return os.path.join(state.path, "acts")


def _save(state: StateDir, record: _Record) -> None:
    text = json.dumps({"schema": SCHEMA, **attrs.asdict(record)}, indent=2, sort_keys=True)
    write_atomically(_journal_dir(state), f"{record.id}.json", text + "\n")


def _forget(state: StateDir, record: _Record) -> None:
    remove_durably(_journal_dir(state), f"{record.id}.json")


def _records(state: StateDir) -> list[_Record]:
    out = []
    for path in journal_files(_journal_dir(state)):
        try:
            with open(path, encoding="utf-8") as f:
                document: dict[str, Any] = json.load(f)
            if document.pop("schema") != SCHEMA:
                raise JournalError(path, "written by another version of hostpassthru")
            out.append(_Record(**document))
        except FileNotFoundError:
            continue
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise JournalError(path, f"not a hostpassthru act journal ({exc})") from None
    return sorted(out, key=lambda r: (r.created, r.id))


# -- the writes ------------------------------------------------------------------


def _pci_dir(sys_name: str) -> str:
    return f"bus/pci/devices/{sys_name}"


def _value_path(action: ActName, pci: str) -> str:
    """The file set_vfs or set_vgpu_type writes its value to."""
    if action == "set_vfs":
        return f"{_pci_dir(pci)}/sriov_numvfs"
    return f"{_pci_dir(pci)}/nvidia/current_vgpu_type"


def _create_write(parent: str, type_id: str, uuid: str) -> Write:
    """An mdev is made by writing its UUID to its type's ``create``."""
    path = f"{_pci_dir(parent)}/mdev_supported_types/{type_id}/create"
    return Write(device=uuid, step="mdev_create", path=path, data=uuid.encode())


def _remove_write(uuid: str) -> Write:
    """An mdev is removed by writing 1 to its ``remove``."""
    return Write(device=uuid, step="mdev_remove", path=f"bus/mdev/devices/{uuid}/remove", data=b"1")


def _count_writes(device: str, path: str, current: str, wanted: str) -> list[Write]:
    """The writes that take a VF count or a vGPU type from *current* to *wanted*.

    Both go through 0: the kernel takes 0 -> N and N -> 0 VFs only, and
    NVIDIA's driver a type only on a VF that carries none.
    """
    step: Any = "sriov_numvfs" if path.endswith("sriov_numvfs") else "vgpu_type"
    if current == wanted:
        return []
    writes = []
    if current not in ("0", "") and wanted != "0":
        writes.append(Write(device=device, step=step, path=path, data=b"0"))
    writes.append(Write(device=device, step=step, path=path, data=wanted.encode()))
    return writes


def _mdev_writes(record: _Record, sysfs: str, wanted: str) -> list[Write]:
    """The write that makes the mdev present or absent again, if it is not."""
    assert record.uuid is not None  # noqa: S101 - both mdev acts journal it
    present = os.path.isdir(f"{sysfs}/bus/mdev/devices/{record.uuid}")
    if wanted == "present" and not present and record.type_id is not None:
        return [_create_write(record.pci, record.type_id, record.uuid)]
    if wanted == "absent" and present:
        return [_remove_write(record.uuid)]
    return []


def _undo_writes(record: _Record, sysfs: str) -> list[Write]:
    """What puts the host back to the journaled state, from how it is now."""
    if record.action in ("create_mdev", "remove_mdev"):
        return _mdev_writes(record, sysfs, record.before)
    path = _value_path(record.action, record.pci)
    return _count_writes(
        record.pci, path, _hostfacts.read_text(f"{sysfs}/{path}") or "0", record.before
    )


# -- running -----------------------------------------------------------------------


@attrs.define
class _Failed(Exception):  # noqa: N818 - internal signal, never leaves this module
    path: str
    errno: int | None
    why: str


def _write_all(kernel: Kernel, writes: list[Write], done: list[Write], timeout: float) -> None:
    for write in writes:
        # An mdev's remove waits for its user in the kernel, as an unbind does.
        deadline = timeout if write.step == "mdev_remove" else None
        try:
            kernel.write(write.path, write.data, deadline=deadline)
        except WriteTimeoutError:
            raise _Failed(write.path, errno.ETIMEDOUT, "the write did not return") from None
        except OSError as exc:
            raise _Failed(write.path, exc.errno, exc.strerror or str(exc)) from None
        done.append(write)


def _identity(sysfs: str, pci: str) -> tuple[str | None, int | None, int | None]:
    live = _hostfacts.device_state(sysfs, pci)
    return live.path, live.vendor_id, live.product_id


def _run(  # noqa: PLR0913 - the parts of one act, as its front end gathered them
    ctx: Context,
    act: Act,
    record: _Record,
    before: Host,
    *,
    dry_run: bool,
    timeout: float,
) -> ActOutcome:
    unfinished = [r for r in _records(ctx.state) if r.pci == record.pci or r.id == record.id]
    if unfinished:
        # Its journal holds what the host had before that act: a new act must not
        # write over it, nor build on a half-done state.
        act = attrs.evolve(
            act,
            refusals=(
                *act.refusals,
                refusal(
                    "act_unfinished",
                    act.device,
                    f"an earlier act on {record.pci} was cut short (journal {unfinished[0].id})",
                    "hostpassthru recover first",
                ),
            ),
        )
    base = ActOutcome(act=act, done=False, dry_run=dry_run, writes=act.writes)
    if not act.ok:
        raise ActRefusedError(base)
    if dry_run:
        return base
    if not act.writes:
        return attrs.evolve(base, done=True)
    _save(ctx.state, record)
    done: list[Write] = []
    try:
        _write_all(ctx.kernel, list(act.writes), done, timeout)
    except _Failed as failure:
        left = None
        try:
            _write_all(ctx.kernel, _undo_writes(record, ctx.kernel.sysfs), done, timeout)
        except _Failed as second:
            left = f"/sys/{second.path} ({second.why}); journal {record.id} keeps it for recover"
        if left is None:
            _forget(ctx.state, record)
        outcome = _changes(
            attrs.evolve(
                base,
                writes=tuple(done),
                rolled_back=left is None,
                error=f"/sys/{failure.path}: {failure.why}",
            ),
            before,
            ctx.scan(),
        )
        raise ActError(
            outcome,
            path=failure.path,
            error=failure.errno,
            why=failure.why,
            rolled_back=left is None,
            left=left,
        ) from None
    _forget(ctx.state, record)
    return _changes(attrs.evolve(base, done=True, writes=tuple(done)), before, ctx.scan())


def _changes(outcome: ActOutcome, before: Host, after: Host) -> ActOutcome:
    """*outcome* with the nodes that appeared and vanished between *before* and *after*."""
    old = {d.name for d in before.devices}
    new = {d.name for d in after.devices}
    return attrs.evolve(
        outcome,
        appeared=tuple(d.name for d in after.devices if d.name not in old),
        vanished=tuple(d.name for d in before.devices if d.name not in new),
    )


def _held(ctx: Context, host: Host, names: tuple[str, ...], state: StateDir) -> list[Finding]:
    """Refusals for the devices about to vanish or change that a VM (or a journal) holds."""
    open_files = _hostfacts.open_dev_files(ctx.proc) or {}
    journaled = state.journaled()
    out = []
    for name in names:
        dev = host.device(name)
        pids = (
            open_files.get(f"/dev/vfio/{dev.iommu_group}") if dev.iommu_group is not None else None
        )
        if pids:
            out.append(
                refusal(
                    "group_in_use",
                    dev,
                    f"/dev/vfio/{dev.iommu_group} of {dev.sys_name} is open in process "
                    + ", ".join(map(str, pids))
                    + ": a VM holds it",
                    "stop the VM first",
                ),
            )
        if dev.sys_name in journaled:
            out.append(
                refusal(
                    "already_prepared",
                    dev,
                    f"{dev.sys_name} is prepared (journal {journaled[dev.sys_name]})",
                    f"hostpassthru release {dev.sys_name} first",
                ),
            )
    return out


def _new_record(
    ctx: Context, action: ActName, pci: str, before: str, **extra: str | None
) -> _Record:
    path, vendor, product = _identity(ctx.kernel.sysfs, pci)
    return _Record(
        id=f"{action}-{extra.get('uuid') or pci}".replace(":", "_"),
        action=action,
        pci=pci,
        path=path or "",
        vendor_id=vendor,
        product_id=product,
        before=before,
        created=time.time(),
        **extra,
    )


# -- the acts ------------------------------------------------------------------------


def set_vfs(  # noqa: PLR0913 - the act's options, all keyword-only
    pf: Device | str,
    count: int,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
) -> ActOutcome:
    """Enable *count* VFs on the SR-IOV physical function *pf*, or disable them all (0).

    The kernel goes 0 -> N and N -> 0 only: with VFs on, another count is
    refused (disable them first). Refused too above ``sriov_totalvfs``, and
    while a VF that would vanish is held open by a VM or prepared. Raises
    ActRefusedError (nothing written) or ActError (undone, or not: ``left``).
    """
    ctx = context(state_dir=state_dir)
    with ctx.state.lock(wait):
        host = ctx.scan()
        dev = host.device(pf)
        pci = dev.pci
        refusals: list[Finding] = []
        before = "0" if pci is None or pci.sriov_numvfs is None else str(pci.sriov_numvfs)
        vanish: tuple[str, ...] = ()
        if pci is None or pci.sriov_numvfs is None:
            refusals.append(refusal("not_sriov", dev, f"{dev.sys_name} has no SR-IOV VFs"))
        elif count < 0 or (pci.sriov_totalvfs is not None and count > pci.sriov_totalvfs):
            refusals.append(
                refusal(
                    "vfs_over_total",
                    dev,
                    f"{dev.sys_name} can have 0 to {pci.sriov_totalvfs} VFs, not {count}",
                ),
            )
        elif pci.sriov_numvfs and count and count != pci.sriov_numvfs:
            refusals.append(
                refusal(
                    "vfs_enabled",
                    dev,
                    f"{dev.sys_name} has {pci.sriov_numvfs} VFs on: the kernel goes from 0 to "
                    f"N and from N to 0 only",
                    f"hostpassthru vfs {dev.sys_name} 0 first",
                ),
            )
        elif count == 0:
            vanish = tuple(d.name for d in host.vanish_with_vfs(dev))
            refusals += _held(ctx, host, vanish, ctx.state)
        path = _value_path("set_vfs", dev.sys_name)
        act = Act(
            action="set_vfs",
            device=dev.name,
            before=before,
            after=str(count),
            writes=tuple(_count_writes(dev.sys_name, path, before, str(count))),
            vanish=vanish,
            refusals=tuple(refusals),
        )
        record = _new_record(ctx, "set_vfs", dev.sys_name, before)
        return _run(ctx, act, record, host, dry_run=dry_run, timeout=timeout)


def create_mdev(  # noqa: PLR0913 - the act's options, all keyword-only
    parent: Device | str,
    type_id: str,
    uuid: str | None = None,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
) -> ActOutcome:
    """Create a mediated device of *type_id* on *parent*, with *uuid* (default: a new one).

    Refused when the parent offers no such type or has no instance left.
    """
    ctx = context(state_dir=state_dir)
    with ctx.state.lock(wait):
        host = ctx.scan()
        dev = host.device(parent)
        refusals: list[Finding] = []
        try:
            name = str(uuidlib.UUID(uuid)) if uuid is not None else str(uuidlib.uuid4())
        except ValueError:
            name = uuid or ""
            refusals.append(refusal("no_mdev_type", dev, f"{uuid!r} is not a UUID"))
        offered = {t.id: t for t in dev.mdev_types}
        kind = offered.get(type_id)
        if kind is None:
            known = ", ".join(offered) or "none"
            refusals.append(
                refusal(
                    "no_mdev_type",
                    dev,
                    f"{dev.sys_name} offers no mediated-device type {type_id!r} (it offers: "
                    f"{known})",
                ),
            )
        elif kind.available_instances == 0:
            refusals.append(
                refusal(
                    "no_instances",
                    dev,
                    f"{dev.sys_name} has no {type_id} instance left",
                    "remove another mediated device of the parent first",
                ),
            )
        if name and f"mdev_{name.replace('-', '_')}" in host:
            refusals.append(refusal("no_mdev_type", dev, f"a mediated device {name} exists"))
        act = Act(
            action="create_mdev",
            device=dev.name,
            before="absent",
            after="present",
            writes=(_create_write(dev.sys_name, type_id, name),),
            refusals=tuple(refusals),
            uuid=name,
        )
        record = _new_record(ctx, "create_mdev", dev.sys_name, "absent", uuid=name)
        return _run(ctx, act, record, host, dry_run=dry_run, timeout=timeout)


def remove_mdev(
    mdev: Device | str,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
) -> ActOutcome:
    """Remove the mediated device *mdev* (a UUID or ``mdev_...`` name); its parent stays.

    Refused while a VM holds it open. Undone, after a failure or a crash, by
    creating it again with the same UUID and type.
    """
    ctx = context(state_dir=state_dir)
    with ctx.state.lock(wait):
        host = ctx.scan()
        dev = host.device(mdev)
        refusals: list[Finding] = []
        parent = None if dev.parent is None else host.device(dev.parent)
        type_id = None if dev.mdev is None else dev.mdev.type_id
        if dev.kind != "mdev":
            refusals.append(refusal("not_mdev", dev, f"{dev.sys_name} is no mediated device"))
        elif parent is None or parent.kind != "pci":
            refusals.append(
                refusal("not_mdev", dev, f"{dev.sys_name} has no PCI parent to make it again")
            )
        else:
            refusals += _held(ctx, host, (dev.name,), ctx.state)
        act = Act(
            action="remove_mdev",
            device=dev.name,
            before="present",
            after="absent",
            writes=(_remove_write(dev.sys_name),),
            vanish=(dev.name,),
            refusals=tuple(refusals),
            uuid=dev.sys_name,
        )
        pci = parent.sys_name if parent is not None else dev.sys_name
        record = _new_record(ctx, "remove_mdev", pci, "present", uuid=dev.sys_name, type_id=type_id)
        return _run(ctx, act, record, host, dry_run=dry_run, timeout=timeout)


def set_vgpu_type(  # noqa: PLR0913 - the act's options, all keyword-only
    vf: Device | str,
    type_id: int,
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
) -> ActOutcome:
    """Give the NVIDIA VF *vf* a vGPU of *type_id* (0: remove its vGPU).

    A VF that carries another type goes through 0 first. Refused for a type
    the VF does not list as creatable, and while a VM holds the VF open.
    """
    ctx = context(state_dir=state_dir)
    with ctx.state.lock(wait):
        host = ctx.scan()
        dev = host.device(vf)
        vgpu = None if dev.pci is None else dev.pci.vgpu
        refusals: list[Finding] = []
        before = "0" if vgpu is None or vgpu.current is None else str(vgpu.current)
        if vgpu is None:
            refusals.append(
                refusal("no_vgpu", dev, f"{dev.sys_name} has no NVIDIA vGPU files (nvidia/)")
            )
        elif type_id not in (0, vgpu.current):
            creatable = {t.id for t in vgpu.creatable}
            if type_id not in creatable:
                listed = ", ".join(f"{t.id} ({t.name})" for t in vgpu.creatable) or "none"
                refusals.append(
                    refusal(
                        "vgpu_type_not_creatable",
                        dev,
                        f"{dev.sys_name} cannot carry vGPU type {type_id} now (creatable: "
                        f"{listed})",
                    ),
                )
        if vgpu is not None and before != str(type_id):
            refusals += _held(ctx, host, (dev.name,), ctx.state)
        path = _value_path("set_vgpu_type", dev.sys_name)
        act = Act(
            action="set_vgpu_type",
            device=dev.name,
            before=before,
            after=str(type_id),
            writes=tuple(_count_writes(dev.sys_name, path, before, str(type_id))),
            refusals=tuple(refusals),
        )
        record = _new_record(ctx, "set_vgpu_type", dev.sys_name, before)
        return _run(ctx, act, record, host, dry_run=dry_run, timeout=timeout)


def recover_acts(
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    state_dir: str | os.PathLike[str] | None = None,
    kernel: Kernel | None = None,
) -> tuple[tuple[Write, ...], tuple[str, ...]]:
    """Undo every act a journal holds; the writes made, and what could not be undone.

    The caller holds the state directory's lock (``hp.recover()`` does).
    Idempotent: an act whose host already is as journaled needs no write.
    """
    ctx = context(kernel=kernel, state_dir=state_dir)
    writes: list[Write] = []
    left: list[str] = []
    for record in _records(ctx.state):
        now = _identity(ctx.kernel.sysfs, record.pci)
        if now[0] is not None and now != (record.path, record.vendor_id, record.product_id):
            left.append(
                f"{record.pci} is not the device journaled by {record.id}: refusing to touch it"
            )
            continue
        undo = _undo_writes(record, ctx.kernel.sysfs)
        if dry_run:
            writes += undo
            continue
        try:
            _write_all(ctx.kernel, undo, writes, timeout)
        except _Failed as failure:
            left.append(f"{record.id}: /sys/{failure.path} ({failure.why})")
            continue
        _forget(ctx.state, record)
    return tuple(writes), tuple(left)
