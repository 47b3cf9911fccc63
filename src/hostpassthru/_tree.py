"""The pure builder: a reader's Snapshot in, the Host with its tree, groups and reasons out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from ._ids import NameLookup, no_names
from ._model import (
    ClassDevice,
    Device,
    Host,
    MdevInfo,
    MdevType,
    PciInfo,
    ProcFacts,
    ScsiInfo,
    UsbInfo,
    VgpuInfo,
    VgpuType,
    device_name,
)
from ._records import DeviceRecord, MdevTypeRecord
from ._rules import Reason, own_reasons
from ._sriov import parse_vgpu_current, parse_vgpu_types

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._records import ClassDeviceRecord, Kind, ProcRecord, Snapshot

__all__ = ["build", "class_devices", "parse_proc"]


@attrs.define
class _Parser:
    """Parses one record's raw attribute text, noting what is malformed."""

    record: DeviceRecord
    problems: list[str]

    def parse(self, attr: str, convert: Callable[[str], int]) -> int | None:
        raw = self.record.attributes.get(attr)
        if raw is None:
            return None
        try:
            return convert(raw)
        except ValueError:
            self.problems.append(f"{self.record.sys_name}: {attr}: malformed value {raw!r}")
            return None

    def hex(self, attr: str) -> int | None:
        """``0x8086`` or ``8086``, as PCI and USB write ids."""
        return self.parse(attr, _hex)

    def dec(self, attr: str) -> int | None:
        return self.parse(attr, int)

    def text(self, attr: str) -> str | None:
        # SCSI INQUIRY strings come padded with spaces; the reader strips them.
        return self.record.attributes.get(attr) or None


def _nonnegative(value: int) -> int:
    if value < 0:
        raise ValueError(value)
    return value


def _hex(text: str) -> int:
    # A module-level function, not a closure made for each attribute read.
    return _nonnegative(int(text, 16))


#: The kinds with an IOMMU group of their own: PCI functions, and mediated devices,
#: which the VFIO core puts each in a group of its own (an emulated one, which
#: says nothing of the IOMMU: GVT-g works with the IOMMU off).
_GROUPED = ("pci", "mdev")


def _own_groups(snapshot: Snapshot, problems: list[str]) -> dict[str, int]:
    """PCI kernel name -> own group (docs/semantics.md, "IOMMU groups")."""
    if snapshot.groups:
        return {
            member: number
            for number, members in sorted(snapshot.groups.items())
            for member in members
        }
    own: dict[str, int] = {}
    for record in snapshot.records:
        raw = record.iommu_group_link
        if record.kind not in _GROUPED or raw is None:
            continue
        try:
            own[record.sys_name] = _nonnegative(int(raw, 10))
        except ValueError:
            problems.append(f"{record.sys_name}: iommu_group: malformed link target {raw!r}")
    return own


def _hctl(sys_name: str, problems: list[str]) -> tuple[int, int, int, int] | None:
    parts = sys_name.split(":")
    try:
        host, channel, target, lun = (_nonnegative(int(p, 10)) for p in parts)
    except ValueError:
        problems.append(f"{sys_name}: not a host:channel:target:lun name")
        return None
    return host, channel, target, lun


@attrs.frozen(kw_only=True)
class _Facts:
    vendor_id: int | None
    product_id: int | None
    pci: PciInfo | None = None
    usb: UsbInfo | None = None
    scsi: ScsiInfo | None = None
    mdev: MdevInfo | None = None


@attrs.frozen(kw_only=True)
class _Virt:
    """What one node's facts need from the others: VF indexes, mdev types by parent."""

    #: VF kernel name -> its N in the PF's virtfnN.
    vf_index: Mapping[str, int]
    #: Parent path -> its types' records, by id.
    types: Mapping[str, Mapping[str, MdevTypeRecord]]


def _virt(snapshot: Snapshot) -> _Virt:
    vf_index = {vf: n for r in snapshot.records for n, vf in r.virtfns}
    types: dict[str, dict[str, MdevTypeRecord]] = {}
    for t in snapshot.mdev_types:
        types.setdefault(t.parent, {})[t.type_id] = t
    return _Virt(vf_index=vf_index, types=types)


def _vgpu(p: _Parser) -> VgpuInfo | None:
    record = p.record
    creatable = record.attributes.get("nvidia/creatable_vgpu_types")
    current = record.attributes.get("nvidia/current_vgpu_type")
    if creatable is None and current is None:
        return None
    types: tuple[tuple[int, str], ...] = ()
    if creatable is not None:
        types, bad = parse_vgpu_types(creatable)
        problems = [f"{record.sys_name}: nvidia/creatable_vgpu_types: skipped {b!r}" for b in bad]
        p.problems.extend(problems)
    return VgpuInfo(
        creatable=tuple(VgpuType(id=i, name=n) for i, n in types),
        current=None
        if current is None
        else p.parse("nvidia/current_vgpu_type", parse_vgpu_current),
    )


def _mdev_types(records: Mapping[str, MdevTypeRecord], problems: list[str]) -> tuple[MdevType, ...]:
    out = []
    for type_id in sorted(records):
        t = records[type_id]
        available = t.attributes.get("available_instances")
        count = None
        if available is not None:
            try:
                count = _nonnegative(int(available, 10))
            except ValueError:
                problems.append(f"{type_id}: available_instances: malformed value {available!r}")
        out.append(
            MdevType(
                id=type_id,
                name=t.attributes.get("name") or None,
                description=t.attributes.get("description") or None,
                device_api=t.attributes.get("device_api") or None,
                available_instances=count,
                devices=tuple(device_name("mdev", d) for d in t.devices),
            ),
        )
    return tuple(out)


def _facts(record: DeviceRecord, problems: list[str], virt: _Virt) -> _Facts:
    p = _Parser(record, problems)
    if record.kind == "mdev":
        parent = record.path.rpartition("/")[0]
        t = virt.types.get(parent, {}).get(record.mdev_type or "")
        return _Facts(
            vendor_id=None,
            product_id=None,
            mdev=MdevInfo(
                type_id=record.mdev_type,
                type_name=None if t is None else t.attributes.get("name") or None,
                device_api=None if t is None else t.attributes.get("device_api") or None,
            ),
        )
    if record.kind == "pci":
        numa = p.dec("numa_node")
        autoprobe = p.dec("sriov_drivers_autoprobe")
        return _Facts(
            vendor_id=p.hex("vendor"),
            product_id=p.hex("device"),
            pci=PciInfo(
                class_code=p.hex("class"),
                subsystem_vendor_id=p.hex("subsystem_vendor"),
                subsystem_product_id=p.hex("subsystem_device"),
                revision=p.hex("revision"),
                # The kernel writes -1 (NUMA_NO_NODE) where firmware gives no proximity.
                numa_node=None if numa is None or numa < 0 else numa,
                physfn=None if record.physfn is None else device_name("pci", record.physfn),
                boot_vga=None if (vga := p.dec("boot_vga")) is None else vga == 1,
                reset_methods=None if (m := p.text("reset_method")) is None else tuple(m.split()),
                has_reset=record.has_reset,
                sriov_numvfs=p.dec("sriov_numvfs"),
                # An unset override reads "(null)" (Linux 3.16+); older kernels have no file.
                driver_override=None if (o := p.text("driver_override")) in (None, "(null)") else o,
                modalias=p.text("modalias"),
                sriov_totalvfs=p.dec("sriov_totalvfs"),
                sriov_drivers_autoprobe=None if autoprobe is None else autoprobe != 0,
                vfs=tuple(device_name("pci", vf) for _, vf in record.virtfns),
                vf_index=virt.vf_index.get(record.sys_name) if record.physfn else None,
                vgpu=_vgpu(p),
            ),
        )
    if record.kind == "usb_device":
        classes = []
        for raw in record.interface_classes:
            try:
                classes.append(_hex(raw))
            except ValueError:
                problems.append(f"{record.sys_name}: bInterfaceClass: malformed value {raw!r}")
        return _Facts(
            vendor_id=p.hex("idVendor"),
            product_id=p.hex("idProduct"),
            usb=UsbInfo(
                busnum=p.dec("busnum"),
                devnum=p.dec("devnum"),
                speed=p.text("speed"),
                serial=p.text("serial"),
                manufacturer=p.text("manufacturer"),
                product=p.text("product"),
                device_class=p.hex("bDeviceClass"),
                interface_classes=tuple(classes),
            ),
        )
    return _Facts(
        vendor_id=None,
        product_id=None,
        scsi=ScsiInfo(
            hctl=_hctl(record.sys_name, problems),
            type=p.dec("type"),
            vendor=p.text("vendor"),
            model=p.text("model"),
            block=record.block[0] if record.block else None,
            generic=record.generic[0] if record.generic else None,
        ),
    )


def _unique(
    records: tuple[DeviceRecord, ...],
    problems: list[str],
) -> tuple[list[DeviceRecord], list[str]]:
    """The records ordered by path, each path and each name once; and their names."""
    seen_paths: set[str] = set()
    seen_names: set[str] = set()
    out = []
    names = []
    for record in sorted(records, key=lambda r: r.path):
        name = device_name(record.kind, record.sys_name)
        if record.path in seen_paths:
            continue
        if name in seen_names:
            problems.append(f"{record.sys_name}: a second {record.kind} device of this name")
            continue
        seen_paths.add(record.path)
        seen_names.add(name)
        out.append(record)
        names.append(name)
    return out, names


def build(snapshot: Snapshot, names: NameLookup = no_names) -> Host:
    """Turn a reader's snapshot into a Host; pure, no filesystem access."""
    problems = list(snapshot.problems)
    records, dev_names = _unique(snapshot.records, problems)
    own = _own_groups(snapshot, problems)
    count = len(records)

    # Parents through a stack: visited in the order of their path components, a
    # node's ancestors are exactly the stacked nodes whose path prefixes its own.
    # (Plain string order would not do: "a/b-x" sorts between "a/b" and "a/b/c".)
    parent: list[int | None] = [None] * count
    group: list[int | None] = [None] * count
    stack: list[int] = []
    for i in sorted(range(count), key=lambda i: records[i].path.split("/")):
        record = records[i]
        while stack and not record.path.startswith(records[stack[-1]].path + "/"):
            stack.pop()
        parent[i] = stack[-1] if stack else None
        if record.kind in _GROUPED:
            group[i] = own.get(record.sys_name)
        else:
            # The effective group of a USB or SCSI node is its nearest PCI ancestor's.
            group[i] = next(
                (own.get(records[j].sys_name) for j in reversed(stack) if records[j].kind == "pci"),
                None,
            )
        stack.append(i)

    children: list[list[int]] = [[] for _ in range(count)]
    for i, p in enumerate(parent):
        if p is not None:
            children[p].append(i)

    virt = _virt(snapshot)
    facts = [_facts(r, problems, virt) for r in records]
    reasons: list[tuple[Reason, ...]] = [()] * count
    holds_eligible = [False] * count  # the node or a descendant is eligible
    for i in reversed(range(count)):
        record, fact = records[i], facts[i]
        mine = own_reasons(
            record.kind,
            class_code=None if fact.pci is None else fact.pci.class_code,
            driver=record.driver,
            usb_class=None if fact.usb is None else fact.usb.device_class,
        )
        if any(holds_eligible[c] for c in children[i]):
            mine = (*mine, "has_passthrough_children")
        reasons[i] = mine
        holds_eligible[i] = not mine or "has_passthrough_children" in mine

    devices = []
    known: dict[tuple[Kind, int | None, int | None], tuple[str | None, str | None]] = {}
    for i, record in enumerate(records):
        fact = facts[i]
        key = (record.kind, fact.vendor_id, fact.product_id)
        if key not in known:
            # Once per distinct id in a scan: a host has many devices of few models.
            known[key] = names(*key)
        vendor_name, product_name = known[key]
        devices.append(
            Device(
                name=dev_names[i],
                sys_name=record.sys_name,
                kind=record.kind,
                path=record.path,
                parent=None if parent[i] is None else dev_names[parent[i]],  # type: ignore[index]
                children=tuple(dev_names[c] for c in children[i]),
                driver=record.driver,
                iommu_group=group[i],
                vendor_id=fact.vendor_id,
                product_id=fact.product_id,
                vendor_name=vendor_name,
                product_name=product_name,
                eligible=not reasons[i],
                reasons=reasons[i],
                pci=fact.pci,
                usb=fact.usb,
                scsi=fact.scsi,
                mdev=fact.mdev,
                mdev_types=_mdev_types(virt.types.get(record.path, {}), problems),
            ),
        )
    node_of_path = {d.path: d.name for d in devices}
    return Host(
        class_devices=class_devices(snapshot.class_devices, node_of_path),
        proc=parse_proc(snapshot.proc),
        devices=tuple(devices),
        iommu_groups=_group_members(snapshot.groups, own, records, dev_names),
        problems=tuple(problems),
        sysfs=snapshot.root,
        source=snapshot.source,
    )


def _group_members(
    groups: Mapping[int, tuple[str, ...]],
    own: Mapping[str, int],
    records: list[DeviceRecord],
    dev_names: list[str],
) -> dict[int, tuple[str, ...]]:
    """Group -> names of its PCI members in path order; every group the kernel lists.

    Not the groups of mediated devices: those are the VFIO core's emulated
    ones, and say nothing of the IOMMU (a node's ``iommu_group`` still names it).
    """
    mdevs = {r.sys_name for r in records if r.kind == "mdev"}
    members: dict[int, list[str]] = {
        number: [] for number, names in groups.items() if not names or not set(names) <= mdevs
    }
    for record, name in zip(records, dev_names, strict=True):
        if record.kind == "pci" and record.sys_name in own:
            members.setdefault(own[record.sys_name], []).append(name)
    return {number: tuple(names) for number, names in members.items()}


def _mounts(text: str) -> dict[str, tuple[str, ...]]:
    mounts: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split()
        # mountinfo: id parent major:minor root mountpoint options ... (proc(5))
        if len(fields) >= 5 and ":" in fields[2]:
            mounts.setdefault(fields[2], []).append(fields[4].replace("\\040", " "))
    return {k: tuple(v) for k, v in mounts.items()}


def _swaps(text: str) -> tuple[str, ...]:
    names = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0].startswith("/dev/"):
            names.append(fields[0].rpartition("/")[2])
    return tuple(names)


def _default_route(text: str) -> tuple[str, ...]:
    ifaces = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        # Iface Destination Gateway Flags ... Mask: destination and mask all zero.
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            ifaces.append(fields[0])
    return tuple(dict.fromkeys(ifaces))


def parse_proc(record: ProcRecord | None) -> ProcFacts | None:
    """Parse the /proc texts a reader found; None when /proc was not read."""
    if record is None:
        return None
    interrupts = record.interrupts
    return ProcFacts(
        cmdline=None if record.cmdline is None else tuple(record.cmdline.split()),
        mounts=None if record.mountinfo is None else _mounts(record.mountinfo),
        swaps=None if record.swaps is None else _swaps(record.swaps),
        default_route=None if record.route is None else _default_route(record.route),
        # Interrupt remapping shows as IR-PCI-MSI, IR-IO-APIC chips (x86, since Linux 3.x).
        interrupt_remapping=None if interrupts is None else "IR-" in interrupts,
    )


def class_devices(
    records: tuple[ClassDeviceRecord, ...],
    node_of_path: Mapping[str, str],
) -> tuple[ClassDevice, ...]:
    """Attach each class device to the nearest node above its path."""
    out = []
    for record in sorted(records, key=lambda r: (r.subsystem, r.name)):
        path, node = record.path, None
        while "/" in path:
            path = path.rpartition("/")[0]
            if path in node_of_path:
                node = node_of_path[path]
                break
        out.append(
            ClassDevice(
                subsystem=record.subsystem,
                name=record.name,
                path=record.path,
                node=node,
                attributes=dict(record.attributes),
                holders=record.holders,
            ),
        )
    return tuple(out)
