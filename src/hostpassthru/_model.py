"""The immutable model: Device with its kind-specific facts, and Host with its indexes.

Every name an annotation of a public class uses is imported at run time, so that
``typing.get_type_hints()`` resolves them.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from ._errors import DeviceNotFoundError
from ._records import KINDS, Kind, Source
from ._rules import Reason, stays_with_host

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ClassDevice",
    "Device",
    "Host",
    "MdevInfo",
    "MdevType",
    "PciInfo",
    "ProcFacts",
    "ScsiInfo",
    "UsbInfo",
    "VgpuInfo",
    "VgpuType",
    "device_name",
]

_PREFIX: dict[Kind, str] = {"pci": "pci_", "usb_device": "usb_", "scsi": "scsi_", "mdev": "mdev_"}
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def device_name(kind: Kind, sys_name: str) -> str:
    """The libvirt-style name: ``pci_0000_00_19_0``, ``usb_1_2_3``, ``scsi_0_0_0_0``.

    A mediated device is ``mdev_`` and its UUID with ``_`` for ``-``.
    """
    # The separators of kernel names first, with plain str calls: the regular
    # expression costs twice as much, once for every node of a scan.
    name = sys_name.replace(":", "_").replace(".", "_").replace("-", "_")
    if not (name.isascii() and name.replace("_", "").isalnum()):
        name = _NOT_ALNUM.sub("_", sys_name)
    return _PREFIX[kind] + name


@attrs.frozen(kw_only=True)
class VgpuType:
    """One vGPU type an NVIDIA VF offers (``nvidia/creatable_vgpu_types``)."""

    #: The number written to ``current_vgpu_type`` to create it (557).
    id: int
    #: NVIDIA's name for it ("NVIDIA L4-1B").
    name: str


@attrs.frozen(kw_only=True)
class VgpuInfo:
    """NVIDIA's vGPU interface on a VF: the VF is passed as it is, never bound to vfio-pci."""

    #: The types that can be created on it now; () when the card's capacity is used up.
    creatable: tuple[VgpuType, ...]
    #: The type id set on it: 0 when none is (the VF carries no vGPU yet); None if unreadable.
    current: int | None

    @property
    def current_name(self) -> str | None:
        """The name of the current type, where the creatable list still names it."""
        return next((t.name for t in self.creatable if t.id == self.current), None)


@attrs.frozen(kw_only=True)
class MdevType:
    """One type of mediated device a parent can create (``mdev_supported_types/<id>/``)."""

    #: The directory name, what ``create_mdev`` takes: "i915-GVTg_V5_4", "nvidia-63".
    id: str
    #: The type's ``name`` ("GVTg_V5_4", "GRID M10-2Q"); None where the parent gives none.
    name: str | None
    description: str | None
    #: What the mediated device looks like to VFIO: "vfio-pci", "vfio-ccw", "vfio-ap".
    device_api: str | None
    #: How many more the parent can create of this type now.
    available_instances: int | None
    #: The names (``mdev_...``) of the existing mediated devices of this type.
    devices: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MdevInfo:
    """Facts only a mediated device has."""

    #: Its type's id ("i915-GVTg_V5_4"), from the ``mdev_type`` link.
    type_id: str | None
    #: Its type's ``name``, from the parent's ``mdev_supported_types``.
    type_name: str | None
    device_api: str | None


@attrs.frozen(kw_only=True)
class PciInfo:
    """Facts only a PCI function has."""

    #: The 24-bit class code (base class, subclass, programming interface), e.g. 0x030000.
    class_code: int | None
    subsystem_vendor_id: int | None
    subsystem_product_id: int | None
    revision: int | None
    #: None where the platform has no NUMA information.
    numa_node: int | None
    #: The name of the physical function, for an SR-IOV virtual function.
    physfn: str | None
    #: True for the device the firmware used as the boot display (``boot_vga``).
    boot_vga: bool | None = None
    #: The reset methods the kernel offers (``reset_method``, Linux 5.15), in its order.
    reset_methods: tuple[str, ...] | None = None
    #: Whether the kernel can reset the device at all (a ``reset`` file is there).
    has_reset: bool | None = None
    #: Virtual functions enabled, for an SR-IOV physical function.
    sriov_numvfs: int | None = None
    #: The driver named in ``driver_override`` (Linux 3.16); None when unset ("(null)").
    driver_override: str | None = None
    #: The ``modalias`` (``pci:v000010DEd00001B81sv...``) that modules.alias lines match.
    modalias: str | None = None
    #: How many VFs the physical function can have at most.
    sriov_totalvfs: int | None = None
    #: Whether new VFs are offered to drivers as they appear (``sriov_drivers_autoprobe``).
    sriov_drivers_autoprobe: bool | None = None
    #: A physical function's VFs (names, from its ``virtfnN`` links), in N order.
    vfs: tuple[str, ...] = ()
    #: A virtual function's N in its PF's ``virtfnN``; None for other functions.
    vf_index: int | None = None
    #: NVIDIA's vGPU interface on a VF (``nvidia/``), where the driver offers it.
    vgpu: VgpuInfo | None = None


@attrs.frozen(kw_only=True)
class UsbInfo:
    """Facts only a USB device has."""

    busnum: int | None
    devnum: int | None
    #: Link speed in Mbit/s as the kernel writes it ("1.5", "12", "480", "5000").
    speed: str | None
    serial: str | None
    manufacturer: str | None
    product: str | None
    #: ``bDeviceClass``; 0 means "look at the interfaces", 9 is a hub.
    device_class: int | None
    #: ``bInterfaceClass`` of each interface of the active configuration.
    interface_classes: tuple[int, ...]


@attrs.frozen(kw_only=True)
class ScsiInfo:
    """Facts only a SCSI device has."""

    #: Host, channel, target, LUN, from the kernel name.
    hctl: tuple[int, int, int, int] | None
    #: SCSI peripheral device type: 0 disk, 1 tape, 5 CD/DVD, 8 changer, 13 enclosure.
    type: int | None
    vendor: str | None
    model: str | None
    #: Block device name (``sda``), where the device has one.
    block: str | None
    #: SCSI generic node (``sg0``): what QEMU's scsi-generic opens.
    generic: str | None


@attrs.frozen(kw_only=True)
class ClassDevice:
    """A block device, network interface, framebuffer or IOMMU unit, and its node."""

    #: "block", "net", "graphics" or "iommu".
    subsystem: str
    name: str
    #: Relative to the sysfs root, symlinks resolved.
    path: str
    #: The name of the nearest node it is beneath, or None (virtual devices: dm, md, lo).
    node: str | None
    attributes: Mapping[str, str]
    #: Block devices built on it (dm, md, bcache), from ``holders/``.
    holders: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ProcFacts:
    """What /proc says that the readiness checks need; None for each fact not read."""

    #: The kernel command line, split into words.
    cmdline: tuple[str, ...] | None
    #: "major:minor" of each mounted block device -> its mount points.
    mounts: Mapping[str, tuple[str, ...]] | None
    #: Block device names in use as swap ("sda2", "dm-1").
    swaps: tuple[str, ...] | None
    #: Interfaces that carry a default route.
    default_route: tuple[str, ...] | None
    #: True when /proc/interrupts shows remapped (IR-) interrupt chips.
    interrupt_remapping: bool | None


@attrs.frozen(kw_only=True)
class Device:
    """One node of the host's device tree (docs/semantics.md, "Nodes")."""

    name: str
    sys_name: str
    kind: Kind
    #: Device directory relative to the sysfs root, symlinks resolved.
    path: str
    parent: str | None
    children: tuple[str, ...]
    driver: str | None
    #: The effective IOMMU group (docs/semantics.md, "Groups").
    iommu_group: int | None
    vendor_id: int | None
    product_id: int | None
    vendor_name: str | None = None
    product_name: str | None = None
    eligible: bool
    reasons: tuple[Reason, ...]
    pci: PciInfo | None = None
    usb: UsbInfo | None = None
    scsi: ScsiInfo | None = None
    mdev: MdevInfo | None = None
    #: The mediated-device types this node can create, as a parent (``mdev_supported_types``).
    mdev_types: tuple[MdevType, ...] = ()

    @property
    def description(self) -> str | None:
        """Vendor and product in words, as well as they are known."""
        if self.mdev is not None:
            return self.mdev.type_name or self.mdev.type_id
        if self.scsi is not None:
            words = (self.scsi.vendor, self.scsi.model)
        elif self.usb is not None:
            # Root hubs and many devices are missing from usb.ids (or it is not
            # installed); the device's own string descriptors are the next best.
            words = (
                self.vendor_name or self.usb.manufacturer,
                self.product_name or self.usb.product,
            )
        else:
            words = (self.vendor_name, self.product_name)
        return " ".join(w for w in words if w) or None

    @property
    def stays_with_host(self) -> bool:
        """True for a bridge or PCIe port that VFIO lets the host keep when its group goes."""
        return stays_with_host(
            driver=self.driver,
            class_code=None if self.pci is None else self.pci.class_code,
        )


def _groups(value: Mapping[int, tuple[str, ...]]) -> Mapping[int, tuple[str, ...]]:
    return MappingProxyType({k: tuple(value[k]) for k in sorted(value)})


@attrs.frozen
class _Index:
    position: Mapping[str, int]
    paths: tuple[str, ...]
    class_devices: Mapping[str, tuple[ClassDevice, ...]]
    blocks: Mapping[str, ClassDevice]


def _index(devices: tuple[Device, ...], class_devices: tuple[ClassDevice, ...]) -> _Index:
    position: dict[str, int] = {}
    for i, dev in enumerate(devices):
        position[dev.name] = i
        position.setdefault(dev.sys_name, i)
    by_node: dict[str, list[ClassDevice]] = {}
    for cdev in class_devices:
        if cdev.node is not None:
            by_node.setdefault(cdev.node, []).append(cdev)
    return _Index(
        position=position,
        paths=tuple(d.path for d in devices),
        class_devices={k: tuple(v) for k, v in by_node.items()},
        blocks={c.name: c for c in class_devices if c.subsystem == "block"},
    )


@attrs.frozen(kw_only=True)
class Host:
    """A snapshot of one host's passthrough-relevant devices."""

    #: Every node, ordered by path.
    devices: tuple[Device, ...]
    #: Group number -> names of its PCI members, ordered by group and by path.
    iommu_groups: Mapping[int, tuple[str, ...]] = attrs.field(
        factory=dict,
        converter=_groups,
    )
    #: What could not be read, and why; one line each.
    problems: tuple[str, ...] = ()
    #: The sysfs root that was read (not part of equality).
    sysfs: str | None = attrs.field(default=None, eq=False)
    #: "udev" for the live reader, "sysfs" for the path reader (not part of equality).
    source: Source = attrs.field(default="sysfs", eq=False)
    #: Block devices, network interfaces, framebuffers and IOMMU units, with their nodes.
    class_devices: tuple[ClassDevice, ...] = ()
    #: What /proc says (mounts, swap, routes, command line); None where it was not read.
    #: Not part of equality: it is no part of the sysfs tree.
    proc: ProcFacts | None = attrs.field(default=None, eq=False)
    _index: _Index = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", _index(self.devices, self.class_devices))

    @property
    def iommu_enabled(self) -> bool:
        """True when at least one IOMMU group exists."""
        return bool(self.iommu_groups)

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices)

    def __len__(self) -> int:
        return len(self.devices)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, Device):
            key = key.name
        return isinstance(key, str) and key in self._index.position

    def device(self, key: str | Device) -> Device:
        """The device with this name or kernel name; raises DeviceNotFoundError."""
        name = key.name if isinstance(key, Device) else key
        i = self._index.position.get(name)
        if i is None:
            import difflib  # noqa: PLC0415 - only a miss needs it, and it is slow to import

            close = difflib.get_close_matches(name, self._index.position, n=3, cutoff=0.6)
            raise DeviceNotFoundError(name, tuple(close))
        return self.devices[i]

    def parent(self, key: str | Device) -> Device | None:
        """The parent node, or None for a top-level node."""
        dev = self.device(key)
        return None if dev.parent is None else self.device(dev.parent)

    def children(self, key: str | Device) -> tuple[Device, ...]:
        """The nodes whose parent this is, ordered by path."""
        return tuple(self.device(c) for c in self.device(key).children)

    def ancestors(self, key: str | Device) -> tuple[Device, ...]:
        """Parent, grandparent, ... up to a top-level node (nearest first)."""
        out = []
        dev: Device | None = self.device(key)
        while dev is not None and dev.parent is not None:
            dev = self.device(dev.parent)
            out.append(dev)
        return tuple(out)

    def descendants(self, key: str | Device) -> tuple[Device, ...]:
        """Every node beneath this one, ordered by path."""
        lo, hi = self._subtree(self.device(key))
        return self.devices[lo:hi]

    def _subtree(self, dev: Device) -> tuple[int, int]:
        """The slice of ``devices`` that holds exactly the descendants of *dev*."""
        # The descendants are exactly the nodes whose path starts with path + "/",
        # and strings that share a prefix are contiguous in sorted order. "0" is
        # the character after "/", so path + "0" bounds the block from above.
        paths = self._index.paths
        lo = bisect.bisect_left(paths, dev.path + "/")
        hi = bisect.bisect_left(paths, dev.path + "0", lo)
        return lo, hi

    def class_devices_of(self, key: str | Device) -> tuple[ClassDevice, ...]:
        """The block devices, network interfaces and framebuffers whose nearest node this is."""
        return self._index.class_devices.get(self.device(key).name, ())

    def group(self, number: int) -> tuple[Device, ...]:
        """The PCI members of IOMMU group *number*, ordered by path; () if unknown."""
        return tuple(self.device(n) for n in self.iommu_groups.get(number, ()))

    def passthrough_devices(
        self,
        cap: str | None = None,
        *,
        include_controllers: bool = False,
    ) -> tuple[Device, ...]:
        """The eligible nodes, ordered by path; *cap* keeps one kind.

        With *include_controllers*, also the nodes whose only reason is
        ``has_passthrough_children``: whole controllers with their devices.
        """
        if cap is not None and cap not in KINDS:
            raise ValueError(f"cap must be one of {', '.join(KINDS)} or None, not {cap!r}")
        return tuple(
            d
            for d in self.devices
            if (cap is None or d.kind == cap)
            and (d.eligible or (include_controllers and d.reasons == ("has_passthrough_children",)))
        )

    def group_going(self, key: str | Device) -> tuple[Device, ...]:
        """The members of this PCI device's IOMMU group that leave the host with it.

        Itself included; the bridges and ports that may stay are left out. () for a
        node in no group, and for USB and SCSI nodes (they go through QEMU, not VFIO).
        """
        dev = self.device(key)
        if dev.kind != "pci" or dev.iommu_group is None:
            return ()
        return tuple(m for m in self.group(dev.iommu_group) if not m.stays_with_host)

    def affected_by(self, key: str | Device) -> tuple[Device, ...]:
        """What leaves the host with this device, besides itself, ordered by path.

        The rest of its IOMMU group (bridges and ports stay) and everything beneath
        it or beneath them (docs/semantics.md, "What goes").
        """
        dev = self.device(key)
        roots = [dev, *(m for m in self.group_going(dev) if m.name != dev.name)]
        picked: set[int] = set()
        for root in roots:
            lo, hi = self._subtree(root)
            picked.update(range(lo, hi))
        position = self._index.position
        picked.update(position[m.name] for m in roots[1:])
        picked.discard(position[dev.name])
        return tuple(self.devices[i] for i in sorted(picked))

    def vanish_with_vfs(self, key: str | Device) -> tuple[Device, ...]:
        """What leaves the host when this PF's VFs are disabled (``set_vfs(pf, 0)``).

        Writing 0 to ``sriov_numvfs`` removes every VF device at once, and with it
        whatever sits beneath a VF (a mediated device, a vGPU); the PF stays.
        Ordered by path; () for a function without VFs.
        """
        dev = self.device(key)
        if dev.pci is None:
            return ()
        picked: set[int] = set()
        position = self._index.position
        for name in dev.pci.vfs:
            if name in position:
                lo, hi = self._subtree(self.devices[position[name]])
                picked.update(range(lo, hi))
                picked.add(position[name])
        return tuple(self.devices[i] for i in sorted(picked))

    def block_device(self, name: str) -> ClassDevice | None:
        """The block device of this kernel name (``sda``, ``dm-0``), or None."""
        return self._index.blocks.get(name)
