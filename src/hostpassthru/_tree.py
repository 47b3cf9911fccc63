"""The pure builder: a reader's Snapshot in, the Host with its tree, groups and reasons out."""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, NamedTuple

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
from ._rules import Reason, override_driver, own_reasons
from ._sriov import parse_vgpu_current, parse_vgpu_types

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._records import ClassDeviceRecord, Kind, ProcRecord, Snapshot

__all__ = ["build", "class_devices", "parse_proc"]


@attrs.define
class _Parser:
    """Parses one record's raw attribute text, noting what is malformed."""

    attributes: Mapping[str, str]
    sys_name: str
    problems: list[str]

    def integer(self, attr: str, base: int = 10) -> int | None:
        """A decimal attribute, or with *base* 16 an id (``0x8086`` or ``8086``, never negative).

        The hot path of a scan (eleven per PCI function): one call, no
        converter passed in, unlike :meth:`parse`.
        """
        raw = self.attributes.get(attr)
        if raw is None:
            return None
        try:
            value = int(raw, base)
        except ValueError:
            pass
        else:
            if base == 10 or value >= 0:
                return value
        self.malformed(attr, raw)
        return None

    def parse(self, attr: str, convert: Callable[[str], int]) -> int | None:
        raw = self.attributes.get(attr)
        if raw is None:
            return None
        try:
            return convert(raw)
        except ValueError:
            self.malformed(attr, raw)
            return None

    def malformed(self, attr: str, raw: str) -> None:
        self.problems.append(f"{self.sys_name}: {attr}: malformed value {raw!r}")

    def text(self, attr: str) -> str | None:
        # SCSI INQUIRY strings come padded with spaces; the reader strips them.
        return self.attributes.get(attr) or None


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
    try:
        host, channel, target, lun = map(int, sys_name.split(":"))
    except ValueError:
        pass
    else:
        if min(host, channel, target, lun) >= 0:
            return host, channel, target, lun
    problems.append(f"{sys_name}: not a host:channel:target:lun name")
    return None


class _Facts(NamedTuple):
    """A node's parsed ids and facts (a named tuple: made once per node, and only here)."""

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
    creatable = p.attributes.get("nvidia/creatable_vgpu_types")
    current = p.attributes.get("nvidia/current_vgpu_type")
    if creatable is None and current is None:
        return None
    types: tuple[tuple[int, str], ...] = ()
    if creatable is not None:
        types, bad = parse_vgpu_types(creatable)
        problems = [f"{p.sys_name}: nvidia/creatable_vgpu_types: skipped {b!r}" for b in bad]
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
    p = _Parser(record.attributes, record.sys_name, problems)
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
        numa = p.integer("numa_node")
        autoprobe = p.integer("sriov_drivers_autoprobe")
        return _Facts(
            vendor_id=p.integer("vendor", 16),
            product_id=p.integer("device", 16),
            pci=PciInfo(
                class_code=p.integer("class", 16),
                subsystem_vendor_id=p.integer("subsystem_vendor", 16),
                subsystem_product_id=p.integer("subsystem_device", 16),
                revision=p.integer("revision", 16),
                # The kernel writes -1 (NUMA_NO_NODE) where firmware gives no proximity.
                numa_node=None if numa is None or numa < 0 else numa,
                physfn=None if record.physfn is None else device_name("pci", record.physfn),
                boot_vga=None if (vga := p.integer("boot_vga")) is None else vga == 1,
                reset_methods=None if (m := p.text("reset_method")) is None else tuple(m.split()),
                has_reset=record.has_reset,
                sriov_numvfs=p.integer("sriov_numvfs"),
                driver_override=override_driver(p.text("driver_override")),
                modalias=p.text("modalias"),
                sriov_totalvfs=p.integer("sriov_totalvfs"),
                sriov_drivers_autoprobe=None if autoprobe is None else autoprobe != 0,
                vfs=tuple([device_name("pci", vf) for _, vf in record.virtfns]),
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
            vendor_id=p.integer("idVendor", 16),
            product_id=p.integer("idProduct", 16),
            usb=UsbInfo(
                busnum=p.integer("busnum"),
                devnum=p.integer("devnum"),
                speed=p.text("speed"),
                serial=p.text("serial"),
                manufacturer=p.text("manufacturer"),
                product=p.text("product"),
                device_class=p.integer("bDeviceClass", 16),
                interface_classes=tuple(classes),
            ),
        )
    return _Facts(
        vendor_id=None,
        product_id=None,
        scsi=ScsiInfo(
            hctl=_hctl(record.sys_name, problems),
            type=p.integer("type"),
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
    for record in sorted(records, key=attrgetter("path")):
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


def _parents_and_groups(
    records: list[DeviceRecord],
    own: Mapping[str, int],
) -> tuple[list[int | None], list[int | None]]:
    """Each node's parent (an index into *records*, which are in path order) and group.

    A node's parent is the nearest node above its path. A path sorts before
    every path it prefixes, so a parent comes before its children, and one pass
    can take the group over from the parent.
    """
    count = len(records)
    index = {record.path: i for i, record in enumerate(records)}
    parent: list[int | None] = [None] * count
    group: list[int | None] = [None] * count
    # The own group of the nearest PCI node at or above each node.
    pci_group: list[int | None] = [None] * count
    for i, record in enumerate(records):
        up = record.path
        while "/" in up:
            up = up.rpartition("/")[0]
            if (j := index.get(up)) is not None:
                parent[i] = j
                break
        above = None if (j := parent[i]) is None else pci_group[j]
        if record.kind in _GROUPED:
            group[i] = own.get(record.sys_name)
        else:
            # The effective group of a USB or SCSI node is its nearest PCI ancestor's.
            group[i] = above
        pci_group[i] = group[i] if record.kind == "pci" else above
    return parent, group


def build(snapshot: Snapshot, names: NameLookup = no_names) -> Host:
    """Turn a reader's snapshot into a Host; pure, no filesystem access."""
    problems = list(snapshot.problems)
    records, dev_names = _unique(snapshot.records, problems)
    own = _own_groups(snapshot, problems)
    count = len(records)

    parent, group = _parents_and_groups(records, own)

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
        if children[i] and any(holds_eligible[c] for c in children[i]):
            mine = (*mine, "has_passthrough_children")
        reasons[i] = mine
        holds_eligible[i] = not mine or "has_passthrough_children" in mine

    devices = []
    known: dict[tuple[Kind, int | None, int | None], tuple[str | None, str | None]] = {}
    for i, record in enumerate(records):
        fact = facts[i]
        key = (record.kind, fact.vendor_id, fact.product_id)
        if (found := known.get(key)) is None:
            # Once per distinct id in a scan: a host has many devices of few models.
            found = known[key] = names(*key)
        vendor_name, product_name = found
        devices.append(
            Device(
                name=dev_names[i],
                sys_name=record.sys_name,
                kind=record.kind,
                path=record.path,
                parent=None if parent[i] is None else dev_names[parent[i]],  # type: ignore[index]
                children=tuple([dev_names[c] for c in children[i]]) if children[i] else (),
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
                mdev_types=_mdev_types(types, problems)
                if (types := virt.types.get(record.path))
                else (),
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
    for record in sorted(records, key=attrgetter("subsystem", "name")):
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
