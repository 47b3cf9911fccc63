"""Plans (pure): which devices move to which driver, what refuses it, which writes it takes.

Nothing here reads or writes a file. ``plan()`` gets the Host and the few
live facts a binding needs beyond the tree (``BindingFacts``: the loaded PCI
drivers, the files processes hold open, the journals, the vfio aliases) and
returns a frozen Plan; ``restore_writes()`` says how one journaled device
goes back to what it was, given what it is now.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from ._readiness import Finding, FindingCode, assess
from ._rules import is_vfio_driver
from ._sriov import passed_in_place

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._journal import JournalMember
    from ._model import Device, Host

__all__ = [
    "DEFAULT_DRIVER",
    "REFUSAL_CODES",
    "BindingFacts",
    "Member",
    "Plan",
    "Write",
    "bind_write",
    "make_plan",
    "member_order",
    "override_write",
    "prepare_writes",
    "probe_write",
    "refusal",
    "restore_writes",
    "unbind_write",
]

DEFAULT_DRIVER = "vfio-pci"

#: Every code a plan can refuse with; the check() codes among them keep their meaning.
REFUSAL_CODES = (
    "not_passable",
    "iommu_off",
    "no_iommu_group",
    "mounted",
    "swap",
    "default_route",
    "sriov_pf_with_vfs",
    "driver_not_loaded",
    "group_in_use",
    "device_in_use",
    "already_prepared",
)

# check() blockers that a caller may override with force=True: the host uses the
# device (mounted, swap, default route), and may choose to lose it.
_FORCEABLE = frozenset({"mounted", "swap", "default_route"})

#: The binding steps, and the SR-IOV, mdev and vGPU acts' writes (``_acts``).
Step = Literal[
    "override",
    "unbind",
    "probe",
    "bind",
    "sriov_numvfs",
    "mdev_create",
    "mdev_remove",
    "vgpu_type",
]


@attrs.frozen(kw_only=True)
class BindingFacts:
    """What a plan needs to know beyond the device tree; None where it is unknown."""

    #: Loaded PCI drivers (``bus/pci/drivers``) -> the module each belongs to (None: built in).
    drivers: Mapping[str, str | None] | None = None
    #: /dev paths held open -> the processes holding them (from /proc/*/fd).
    open_files: Mapping[str, tuple[int, ...]] | None = None
    #: Kernel name -> the id of the journal that holds it.
    journaled: Mapping[str, str] = attrs.field(factory=dict)
    #: ``alias vfio_pci:...`` lines of modules.alias: (pattern of the modalias, module).
    vfio_aliases: tuple[tuple[str, str], ...] = ()


@attrs.frozen(kw_only=True)
class Member:
    """One device that moves, with where it comes from and where it goes."""

    name: str
    sys_name: str
    path: str
    from_driver: str | None
    from_module: str | None
    #: The current driver_override; None when unset.
    from_override: str | None
    to_driver: str | None
    vendor_id: int | None = None
    product_id: int | None = None
    subsystem_vendor_id: int | None = None
    subsystem_product_id: int | None = None

    @property
    def moves(self) -> bool:
        """False when the device already is where it should go."""
        return self.from_driver != self.to_driver


@attrs.frozen(kw_only=True)
class Write:
    """One write to sysfs: the file (relative to the sysfs root) and the bytes."""

    device: str
    step: Step
    path: str
    data: bytes

    def __str__(self) -> str:
        return f"echo {self.data.decode().rstrip()!r} > /sys/{self.path}"


@attrs.frozen(kw_only=True)
class Plan:
    """What preparing a device for a VM takes: members in order, refusals, the writes."""

    #: The names of the devices asked for.
    devices: tuple[str, ...]
    #: The target asked for: a driver name, "auto", or None (no driver).
    driver: str | None
    members: tuple[Member, ...]
    #: Bridges and ports of the groups, which stay with the host untouched.
    staying: tuple[str, ...]
    refusals: tuple[Finding, ...]
    #: What is worth knowing but refuses nothing (forced blockers among them).
    notes: tuple[Finding, ...]
    writes: tuple[Write, ...]
    #: Drivers to load first (``load_module=True``).
    load: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when nothing refuses the plan."""
        return not self.refusals


def _function(sys_name: str) -> int:
    try:
        return int(sys_name.rpartition(".")[2], 16)
    except ValueError:
        return 0


def member_order(members: Sequence[Member]) -> tuple[Member, ...]:
    """Functions other than 0 first, then by path; release goes in the reverse order.

    Function 0 carries a multi-function device's slot: libvirt and Proxmox
    detach the other functions before it, and a bus reset through function 0
    touches all of them.
    """
    return tuple(sorted(members, key=lambda m: (_function(m.sys_name) == 0, m.path)))


def _variant(dev: Device, aliases: tuple[tuple[str, str], ...]) -> str | None:
    """The vfio variant driver whose ``vfio_pci:`` alias matches the device's modalias."""
    modalias = None if dev.pci is None else dev.pci.modalias
    if modalias is None or not modalias.startswith("pci:"):
        return None
    # modules.alias writes "vfio_pci:v...d...sv...sd...bc...sc...i..." for the
    # modalias "pci:v..."; variant drivers list only their own ids (Linux 5.18+).
    wanted = "vfio_pci:" + modalias[4:]
    for pattern, module in aliases:
        if fnmatch.fnmatchcase(wanted, pattern):
            return module
    return None


def _target(dev: Device, driver: str | None, facts: BindingFacts) -> str | None:
    if driver != "auto":
        return driver
    return _variant(dev, facts.vfio_aliases) or DEFAULT_DRIVER


def _member(dev: Device, to_driver: str | None, facts: BindingFacts) -> Member:
    pci = dev.pci
    module = None
    if dev.driver is not None and facts.drivers is not None:
        module = facts.drivers.get(dev.driver)
    return Member(
        name=dev.name,
        sys_name=dev.sys_name,
        path=dev.path,
        from_driver=dev.driver,
        from_module=module,
        from_override=None if pci is None else pci.driver_override,
        to_driver=to_driver,
        vendor_id=dev.vendor_id,
        product_id=dev.product_id,
        subsystem_vendor_id=None if pci is None else pci.subsystem_vendor_id,
        subsystem_product_id=None if pci is None else pci.subsystem_product_id,
    )


def refusal(
    code: FindingCode, device: Device | str, message: str, hint: str | None = None
) -> Finding:
    """A finding that refuses an act on *device* (a Device or its name): a blocker."""
    name = device if isinstance(device, str) else device.name
    return Finding(code=code, severity="blocker", device=name, message=message, hint=hint)


def override_write(addr: str, driver: str | None) -> Write:
    """Set *addr*'s driver_override to *driver*, or clear it (None).

    Cleared with a newline alone: a zero-length write never reaches the kernel's store().
    """
    data = b"\n" if driver is None else f"{driver}\n".encode()
    return Write(
        device=addr, step="override", path=f"bus/pci/devices/{addr}/driver_override", data=data
    )


def unbind_write(addr: str, driver: str) -> Write:
    """Unbind *addr* from *driver*, through the driver's own directory.

    Not ``<dev>/driver/unbind``: if another driver took the device meanwhile,
    this fails with ENODEV instead of unbinding a driver the plan never saw.
    """
    return Write(
        device=addr, step="unbind", path=f"bus/pci/drivers/{driver}/unbind", data=addr.encode()
    )


def probe_write(addr: str) -> Write:
    """Ask the PCI bus to find *addr* a driver (its override's, else one whose ids match)."""
    return Write(device=addr, step="probe", path="bus/pci/drivers_probe", data=addr.encode())


def bind_write(addr: str, driver: str) -> Write:
    """Bind *addr* to *driver*: what drivers_probe would not say, this write's errno does."""
    return Write(
        device=addr, step="bind", path=f"bus/pci/drivers/{driver}/bind", data=addr.encode()
    )


def prepare_writes(member: Member) -> tuple[Write, ...]:
    """The writes that take *member* from its driver to its target (BINDING order)."""
    if not member.moves:
        return ()
    addr, target = member.sys_name, member.to_driver
    writes = []
    if target is not None:
        # The override goes first, so that a probe racing the unbind picks the target.
        writes.append(override_write(addr, target))
    if member.from_driver is not None:
        writes.append(unbind_write(addr, member.from_driver))
    if target is not None:
        writes.append(probe_write(addr))
    return tuple(writes)


def restore_writes(
    member: JournalMember,
    live_driver: str | None,
    live_override: str | None,
) -> tuple[Write, ...]:
    """The writes that take a journaled device from how it is now back to how it was.

    Idempotent by construction: a device that already is as it was gets none.
    """
    addr, original = member.sys_name, member.from_driver
    writes = []
    if live_driver != original:
        if original is not None:
            # The original driver by name: "whatever the kernel picks" may be another.
            writes.append(override_write(addr, original))
            live_override = original
        if live_driver is not None:
            writes.append(unbind_write(addr, live_driver))
        if original is not None:
            writes.append(probe_write(addr))
    if live_override != member.from_override:
        writes.append(override_write(addr, member.from_override))
    return tuple(writes)


def _group_refusals(
    host: Host,
    dev: Device,
    going: Sequence[Device],
    facts: BindingFacts,
    vfio: bool,
) -> list[Finding]:
    refusals = []
    if vfio and not host.iommu_enabled:
        refusals.append(
            refusal(
                "iommu_off",
                dev,
                "the IOMMU is off or absent: vfio-pci cannot take a device",
                "turn the IOMMU on (see hostpassthru check), or use --driver pci-stub or none",
            ),
        )
    elif vfio and dev.iommu_group is None:
        refusals.append(
            refusal(
                "no_iommu_group",
                dev,
                f"{dev.sys_name} is in no IOMMU group: vfio-pci refuses it",
                "a device without a group moves only to pci-stub or to no driver",
            ),
        )
    if vfio and facts.open_files is not None and dev.iommu_group is not None:
        pids = facts.open_files.get(f"/dev/vfio/{dev.iommu_group}")
        if pids:
            refusals.append(
                refusal(
                    "group_in_use",
                    dev,
                    f"/dev/vfio/{dev.iommu_group} is open in process "
                    + ", ".join(map(str, pids))
                    + ": a VM already uses the group",
                    "stop the VM that uses it first",
                ),
            )
    for member in going:
        journal = facts.journaled.get(member.sys_name)
        if journal is not None:
            refusals.append(
                refusal(
                    "already_prepared",
                    member,
                    f"{member.sys_name} is already prepared (journal {journal})",
                    f"hostpassthru release {member.sys_name}, then prepare again",
                ),
            )
        if vfio and member.pci is not None and member.pci.sriov_numvfs:
            refusals.append(
                refusal(
                    "sriov_pf_with_vfs",
                    member,
                    f"{member.sys_name} is an SR-IOV physical function with "
                    f"{member.pci.sriov_numvfs} VFs enabled: vfio-pci refuses it (EBUSY)",
                    "disable its VFs first, or pass a VF instead",
                ),
            )
    return refusals


def _host_use(
    host: Host,
    devices: Sequence[Device],
    facts: BindingFacts,
    force: bool,
) -> tuple[list[Finding], list[Finding]]:
    """check()'s blockers on host use, and block devices held open by a process."""
    refusals: list[Finding] = []
    notes: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for dev in devices:
        for finding in assess(host, dev).findings:
            key = (finding.code, finding.device, finding.message)
            if key in seen:
                continue
            seen.add(key)
            if finding.code in _FORCEABLE:
                forced = attrs.evolve(
                    finding,
                    severity="warning",
                    message=finding.message + " (forced)",
                )
                (notes if force else refusals).append(forced if force else finding)
            elif finding.code == "host_use_unknown":
                notes.append(finding)
        if facts.open_files is None:
            continue
        for other in (dev, *host.affected_by(dev)):
            for cdev in host.class_devices_of(other):
                pids = (
                    facts.open_files.get(f"/dev/{cdev.name}") if cdev.subsystem == "block" else None
                )
                if pids:
                    refusals.append(
                        refusal(
                            "device_in_use",
                            other,
                            f"/dev/{cdev.name} is open in process " + ", ".join(map(str, pids)),
                            "close it (stop the process) before the device leaves the host",
                        ),
                    )
    return refusals, notes


def _no_binding(dev: Device) -> str | None:
    """Why no driver moves for *dev*, or None when it is a PCI function to bind."""
    if dev.kind == "mdev":
        return (
            f"{dev.sys_name} is a mediated device: VFIO opens it through its parent's "
            "driver; no driver moves"
        )
    if passed_in_place(dev):
        return (
            f"{dev.sys_name} is a VF with NVIDIA's vGPU files: NVIDIA's driver passes it "
            "as it is; binding it to vfio-pci would lose the vGPU"
        )
    if dev.kind != "pci":
        return (
            f"{dev.sys_name} is a {dev.kind.replace('_', ' ')}: QEMU opens it "
            "itself (usb-host, scsi-generic); no driver moves"
        )
    return None


def make_plan(  # noqa: PLR0913 - the host, the devices, the facts, and three options
    host: Host,
    devices: Sequence[Device],
    *,
    driver: str | None = DEFAULT_DRIVER,
    facts: BindingFacts,
    force: bool = False,
    load_module: bool = False,
) -> Plan:
    """The plan for moving *devices*, with everything that must go with them, to *driver*.

    *driver* is a driver's name, ``"auto"`` (a vfio variant driver whose alias
    matches the device, else vfio-pci) or None (unbind, leave driverless).
    """
    refusals: list[Finding] = []
    notes: list[Finding] = []
    members: dict[str, Member] = {}
    staying: dict[str, None] = {}
    for dev in devices:
        why = _no_binding(dev)
        if why is not None:
            notes.append(
                Finding(code="no_binding_needed", severity="info", device=dev.name, message=why),
            )
            continue
        infrastructure = [r for r in dev.reasons if r in ("bridge", "pcie_port")]
        if infrastructure:
            refusals.append(
                refusal(
                    "not_passable",
                    dev,
                    f"{dev.sys_name} is a {' and a '.join(infrastructure)}: "
                    "bridges and ports are not passed",
                    "prepare the endpoints beneath it instead",
                ),
            )
            continue
        going = [
            dev,
            *(d for d in host.affected_by(dev) if d.kind == "pci" and not d.stays_with_host),
        ]
        if dev.iommu_group is not None:
            staying.update((m.name, None) for m in host.group(dev.iommu_group) if m.stays_with_host)
        target = _target(dev, driver, facts)
        vfio = is_vfio_driver(target)
        refusals += _group_refusals(host, dev, going, facts, vfio)
        for other in going:
            if other.name not in members:
                members[other.name] = _member(other, _target(other, driver, facts), facts)
    use_refusals, use_notes = _host_use(host, [d for d in devices if d.kind == "pci"], facts, force)
    refusals += use_refusals
    notes += use_notes
    load: list[str] = []
    for target in sorted({m.to_driver for m in members.values() if m.to_driver is not None}):
        if facts.drivers is None or target in facts.drivers:
            continue
        if load_module:
            load.append(target)
            notes.append(
                Finding(
                    code="driver_not_loaded",
                    severity="info",
                    device=devices[0].name,
                    message=f"{target} is not loaded: it is loaded first (modprobe {target})",
                ),
            )
        else:
            refusals.append(
                Finding(
                    code="driver_not_loaded",
                    severity="blocker",
                    device=devices[0].name,
                    message=f"the driver {target} is not loaded: the devices would be left "
                    "without a driver",
                    hint=f"modprobe {target} (or pass load_module=True / --load-module)",
                ),
            )
    ordered = member_order(list(members.values()))
    return Plan(
        devices=tuple(d.name for d in devices),
        driver=driver,
        members=ordered,
        staying=tuple(staying),
        refusals=tuple(refusals),
        notes=tuple(notes),
        writes=tuple(w for m in ordered for w in prepare_writes(m)),
        load=tuple(load),
    )
