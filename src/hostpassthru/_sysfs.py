"""The path reader: plain ``os`` calls over any sysfs root, producing a Snapshot."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Literal

from ._errors import SysfsNotFoundError
from ._records import (
    PROC_FILES,
    ClassDeviceRecord,
    DeviceRecord,
    Kind,
    MdevTypeRecord,
    ProcRecord,
    Snapshot,
)

__all__ = [
    "ATTRIBUTES",
    "CLASSES",
    "Problems",
    "assemble",
    "check_root",
    "read",
    "read_attribute",
    "read_class_devices",
    "read_groups",
    "read_mdev_types",
    "read_proc",
    "read_record",
    "relative_path",
    "scsi_device_path",
    "up_to_root",
    "usb_devtype",
    "usb_devtype_or_guess",
    "usb_records",
]

#: The attribute files read for each kind of node, and nothing else.
ATTRIBUTES: dict[Kind, tuple[str, ...]] = {
    "pci": (
        "class",
        "vendor",
        "device",
        "subsystem_vendor",
        "subsystem_device",
        "revision",
        "numa_node",
        "boot_vga",
        "reset_method",
        "sriov_numvfs",
        "driver_override",
        "modalias",
    ),
    "usb_device": (
        "idVendor",
        "idProduct",
        "bDeviceClass",
        "busnum",
        "devnum",
        "speed",
        "serial",
        "manufacturer",
        "product",
    ),
    "scsi": ("type", "vendor", "model"),
    "mdev": (),
}

#: Read only on an SR-IOV physical function (where ``sriov_numvfs`` is there).
SRIOV_ATTRIBUTES = ("sriov_totalvfs", "sriov_drivers_autoprobe")
#: NVIDIA's vGPU interface on a virtual function (vGPU 17+, Linux >= 6.8); read on VFs only.
VGPU_ATTRIBUTES = ("nvidia/creatable_vgpu_types", "nvidia/current_vgpu_type")
#: What a mediated-device parent says of each of its supported types.
MDEV_TYPE_ATTRIBUTES = ("name", "description", "device_api", "available_instances")


def recorded_attributes(kind: Kind) -> tuple[str, ...]:
    """Every attribute file a reader may read on a node of *kind* (for the recorder)."""
    if kind == "pci":
        return (*ATTRIBUTES[kind], *SRIOV_ATTRIBUTES, *VGPU_ATTRIBUTES)
    return ATTRIBUTES[kind]


# Every sysfs attribute fits in a page; the kernel's show() callbacks get PAGE_SIZE bytes.
_PAGE = 4096

Problems = list[str]


def check_root(root: str) -> str:
    """Return *root* normalised, or raise SysfsNotFoundError if it is no sysfs tree."""
    norm = os.path.normpath(os.path.abspath(root))
    if not os.path.isdir(norm):
        why = "is not a directory" if os.path.lexists(norm) else "does not exist"
        raise SysfsNotFoundError(root, f"sysfs root {why}")
    if not (
        os.path.isdir(os.path.join(norm, "devices"))
        or os.path.isdir(
            os.path.join(norm, "bus"),
        )
    ):
        raise SysfsNotFoundError(root, "not a sysfs tree (it has neither devices/ nor bus/)")
    return norm


def _link_name(path: str) -> str:
    return os.readlink(path).rstrip("/").rpartition("/")[2]


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _listdir(path: str, problems: Problems, what: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        problems.append(f"{what}: cannot list ({_why(exc)})")
        return []


def up_to_root(path: str) -> str:
    """The ``../`` that climbs from device directory *path* to the sysfs root.

    What sysfs's own links start with: they are relative (``relative_path``).
    """
    return "../" * path.strip("/").count("/") + ".."


def relative_path(root: str, entry: str) -> str | None:
    """Resolve the bus or class link *entry* to a device path relative to *root*.

    Returns None when the link dangles or leaves the tree. One ``readlink``
    instead of ``realpath``'s ``lstat`` per component: sysfs's own links are
    relative and point at real directories under ``devices/``.
    """
    try:
        target = os.readlink(entry)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  # EINVAL: a plain directory, as in some copies of sysfs
            return None
        target = entry
    # join() and dirname() spelled out: this runs for every device of a scan.
    full = os.path.normpath(target if target[:1] == "/" else f"{entry.rpartition('/')[0]}/{target}")
    prefix = root.rstrip("/") + "/"
    if not full.startswith(prefix):
        return None
    return full[len(prefix) :]


def usb_devtype(uevent: str) -> str | None:
    """The DEVTYPE of a uevent file's text, or None."""
    for line in uevent.splitlines():
        if line.startswith("DEVTYPE="):
            return line[8:]
    return None


def _read_links(
    base: str,
    sys_name: str,
    names: tuple[str, ...],
    problems: Problems,
) -> tuple[dict[str, str], bool]:
    """The last component of each link in *names*, and whether any was missing."""
    found: dict[str, str] = {}
    missing = False
    for name in names:
        try:
            found[name] = _link_name(f"{base}/{name}")
        except FileNotFoundError:
            missing = True
        except OSError as exc:
            # EINVAL: not a symlink, as in copies of sysfs that flattened links.
            why = "not a symlink" if exc.errno == errno.EINVAL else f"unreadable ({_why(exc)})"
            problems.append(f"{sys_name}: {name}: {why}")
    return found, missing


#: (kind, whether the driver link is read, whether the group link is) -> the links read.
_LINKS: dict[tuple[Kind, bool, bool], tuple[str, ...]] = {
    (kind, driver, group): (
        *(("driver",) if driver else ()),
        *(("iommu_group",) if group else ()),
        *(("physfn",) if kind == "pci" else ()),
        *(("mdev_type",) if kind == "mdev" else ()),
    )
    for kind in ATTRIBUTES
    for driver in (False, True)
    for group in (False, True)
}


def read_record(  # noqa: PLR0913 - one call per device, all of it needed
    root: str,
    kind: Kind,
    sys_name: str,
    path: str,
    problems: Problems,
    *,
    links: bool,
    driver: str | Literal[False] | None = False,
    interface_classes: tuple[str, ...] = (),
) -> DeviceRecord | None:
    """Read the record of one node at *path*; None if it vanished meanwhile.

    *driver* False means "read the driver link here"; a reader that already
    knows the driver (libudev does) passes it. *links* asks for the
    ``iommu_group`` link as well (docs/semantics.md, "IOMMU groups").
    """
    base = f"{root}/{path}"
    attributes: dict[str, str] = {}
    missing = _read_attributes(base, sys_name, ATTRIBUTES[kind], attributes, problems)
    found, links_missing = _read_links(
        base, sys_name, _LINKS[kind, driver is False, links], problems
    )
    missing = missing or links_missing
    virtfns: tuple[tuple[int, str], ...] = ()
    if "sriov_numvfs" in attributes:
        # Only an SR-IOV physical function has sriov_numvfs (Linux 3.8), and only
        # then are its other sriov_* files and virtfnN links worth asking for.
        _read_attributes(base, sys_name, SRIOV_ATTRIBUTES, attributes, problems)
        if attributes["sriov_numvfs"] not in ("", "0"):
            virtfns = _read_virtfns(base, sys_name, problems)
    # NVIDIA's vGPU manager (17+, Linux >= 6.8) adds an nvidia/ group to each VF
    # it manages: one stat of the group spares two failed opens on every other VF.
    if "physfn" in found and os.path.isdir(f"{base}/nvidia"):
        _read_attributes(base, sys_name, VGPU_ATTRIBUTES, attributes, problems)
    # A missing attribute or link is common (no serial on most USB devices, no
    # driver when unbound); a device directory that is gone is not. Where nothing
    # could be read, check once whether the directory is still there.
    if missing and not attributes and not os.path.isdir(base):
        return None
    if driver is False:
        driver = found.get("driver")
    has_reset = None
    if kind == "pci":
        # reset_method (Linux 5.15) and reset are only there when the device has a
        # reset method; an old kernel has only reset, so ask for it when needed.
        has_reset = "reset_method" in attributes or os.path.exists(f"{base}/reset")
    block: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    if kind == "scsi":
        block = tuple(_listdir(f"{base}/block", problems, f"{sys_name}: block"))
        generic = tuple(_listdir(f"{base}/scsi_generic", problems, f"{sys_name}: scsi_generic"))
    return DeviceRecord(
        kind=kind,
        sys_name=sys_name,
        path=path,
        driver=driver,
        attributes=attributes,
        has_reset=has_reset,
        iommu_group_link=found.get("iommu_group"),
        physfn=found.get("physfn"),
        interface_classes=interface_classes,
        block=block,
        generic=generic,
        virtfns=virtfns,
        mdev_type=found.get("mdev_type"),
    )


def _read_attributes(
    base: str,
    sys_name: str,
    names: tuple[str, ...],
    into: dict[str, str],
    problems: Problems,
) -> bool:
    """Read each of *names* under *base* into *into*; True if any was missing.

    Every attribute file of a scan is read here, so the open, read and close
    are spelled out in the loop rather than in a function called per file.
    """
    missing = False
    for name in names:
        try:
            fd = os.open(f"{base}/{name}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                data = os.read(fd, _PAGE)
            finally:
                os.close(fd)
        except FileNotFoundError:
            missing = True
        except OSError as exc:
            problems.append(f"{sys_name}: {name}: unreadable ({_why(exc)})")
        else:
            # Attribute text is ASCII in practice, but USB string descriptors are
            # whatever the device sends: never let a stray byte stop a scan.
            into[name] = data.decode("utf-8", "replace").strip()
    return missing


def _read_virtfns(base: str, sys_name: str, problems: Problems) -> tuple[tuple[int, str], ...]:
    """(N, kernel name) of each ``virtfnN`` link of a physical function, in N order."""
    try:
        entries = os.listdir(base)
    except OSError as exc:
        problems.append(f"{sys_name}: cannot list ({_why(exc)})")
        return ()
    found = []
    for entry in entries:
        number = entry[6:]
        if not (entry.startswith("virtfn") and number.isascii() and number.isdigit()):
            continue
        try:
            found.append((int(number), _link_name(f"{base}/{entry}")))
        except FileNotFoundError:
            continue  # the VFs are being disabled right now
        except OSError as exc:
            problems.append(f"{sys_name}: {entry}: unreadable ({_why(exc)})")
    return tuple(sorted(found))


def read_groups(root: str, problems: Problems) -> dict[int, tuple[str, ...]]:
    """Group number -> member kernel names, from ``kernel/iommu_groups``."""
    # IOMMU groups appeared in Linux 3.5; without an IOMMU (or with it off) the
    # directory exists but is empty.
    top = f"{root}/kernel/iommu_groups"
    groups: dict[int, tuple[str, ...]] = {}
    for entry in _listdir(top, problems, "kernel/iommu_groups"):
        if not (entry.isascii() and entry.isdigit()):
            problems.append(f"kernel/iommu_groups/{entry}: not a group number")
            continue
        groups[int(entry)] = tuple(
            _listdir(f"{top}/{entry}/devices", problems, f"kernel/iommu_groups/{entry}"),
        )
    return groups


def _read_bus(
    root: str,
    bus: Literal["pci", "mdev"],
    problems: Problems,
    links: bool,
) -> list[DeviceRecord]:
    """The nodes under ``bus/<bus>/devices``: PCI functions, or mediated devices (Linux 4.10)."""
    records = []
    top = f"{root}/bus/{bus}/devices"
    for name in _listdir(top, problems, f"bus/{bus}/devices"):
        path = relative_path(root, f"{top}/{name}")
        if path is None:
            continue
        record = read_record(root, bus, name, path, problems, links=links)
        if record is not None:
            records.append(record)
    return records


def read_attribute(
    root: str,
    sys_name: str,
    path: str,
    name: str,
    problems: Problems,
) -> str | None:
    """One attribute file's text; None (and a problem if unreadable) when it cannot be read."""
    into: dict[str, str] = {}
    _read_attributes(f"{root}/{path}", sys_name, (name,), into, problems)
    return into.get(name)


def usb_devtype_or_guess(sys_name: str, devtype: str | None, *, has_uevent: bool) -> str | None:
    """The DEVTYPE; where there is no uevent file at all, what the kernel name says.

    Where a uevent exists, its DEVTYPE alone decides (docs/semantics.md, "Nodes"): on older
    kernels (before 4.x made them class devices of their own), USB character
    devices such as hiddev, cdc-wdm and vendor card readers sit below an
    interface with SUBSYSTEM=usb and no DEVTYPE; they are neither devices nor
    interfaces.
    """
    if devtype is not None or has_uevent:
        return devtype
    # Interfaces are named "<device>:<config>.<interface>"; devices never hold a colon.
    return "usb_interface" if ":" in sys_name else "usb_device"


def usb_records(
    root: str,
    problems: Problems,
    devices: list[tuple[str, str, str | Literal[False] | None]],
    interfaces: list[tuple[str, str]],
) -> list[DeviceRecord]:
    """Records of USB *devices* (name, path, driver), with the classes of their *interfaces*."""
    classes: dict[str, list[tuple[str, str]]] = {}
    for name, path in interfaces:
        cls = read_attribute(root, name, path, "bInterfaceClass", problems)
        if cls is not None:
            classes.setdefault(os.path.dirname(path), []).append((path, cls))
    records = []
    for name, path, driver in devices:
        record = read_record(
            root,
            "usb_device",
            name,
            path,
            problems,
            links=False,
            driver=driver,
            interface_classes=tuple(cls for _, cls in sorted(classes.get(path, ()))),
        )
        if record is not None:
            records.append(record)
    return records


def _read_usb(root: str, problems: Problems) -> list[DeviceRecord]:
    bus = f"{root}/bus/usb/devices"
    devices: list[tuple[str, str, str | Literal[False] | None]] = []
    interfaces: list[tuple[str, str]] = []
    for name in _listdir(bus, problems, "bus/usb/devices"):
        path = relative_path(root, f"{bus}/{name}")
        if path is None:
            continue
        uevent = read_attribute(root, name, path, "uevent", problems)
        devtype = usb_devtype_or_guess(
            name, None if uevent is None else usb_devtype(uevent), has_uevent=uevent is not None
        )
        if devtype == "usb_device":
            devices.append((name, path, False))
        elif devtype == "usb_interface":
            interfaces.append((name, path))
    return usb_records(root, problems, devices, interfaces)


def scsi_device_path(root: str, class_path: str) -> str:
    """The SCSI device a ``class/scsi_device`` entry stands for, relative to *root*."""
    resolved = relative_path(root, f"{root}/{class_path}/device")
    if resolved is not None:
        return resolved
    # .../0:0:0:0/scsi_device/0:0:0:0: the device is two levels up.
    return os.path.dirname(os.path.dirname(class_path))


def _read_scsi(root: str, problems: Problems) -> list[DeviceRecord]:
    records = []
    top = f"{root}/class/scsi_device"
    for entry in _listdir(top, problems, "class/scsi_device"):
        class_path = relative_path(root, f"{top}/{entry}")
        if class_path is None:
            continue
        path = scsi_device_path(root, class_path)
        name = os.path.basename(path)
        record = read_record(root, "scsi", name, path, problems, links=False)
        if record is not None:
            records.append(record)
    return records


def read_mdev_types(
    root: str,
    parents: list[tuple[str, str]],
    problems: Problems,
) -> list[MdevTypeRecord]:
    """The mediated-device types of each of *parents* (kernel name, path), in path and id order.

    A parent has one ``mdev_supported_types/<id>/`` directory per type it can
    create (Linux 4.10). The kernel also links every parent into
    ``class/mdev_bus``, but those are class_compat links that libudev does not
    list and umockdev's record format cannot hold, so each PCI node's own
    directory is asked, as libvirt does.
    """
    records = []
    for name, parent in parents:
        top = f"{root}/{parent}/mdev_supported_types"
        for type_id in _listdir(top, problems, f"{name}: mdev_supported_types"):
            attributes: dict[str, str] = {}
            base = f"{top}/{type_id}"
            _read_attributes(base, f"{name}: {type_id}", MDEV_TYPE_ATTRIBUTES, attributes, problems)
            devices = _listdir(f"{base}/devices", problems, f"{name}: {type_id}: devices")
            records.append(
                MdevTypeRecord(
                    parent=parent,
                    type_id=type_id,
                    attributes=attributes,
                    devices=tuple(devices),
                ),
            )
    return sorted(records, key=lambda r: (r.parent, r.type_id))


#: Class -> the attributes read for each of its devices.
CLASSES: dict[str, tuple[str, ...]] = {
    "block": ("dev",),
    "net": ("operstate",),
    "graphics": (),
    "iommu": (),
}


def read_class_devices(root: str, problems: Problems) -> list[ClassDeviceRecord]:
    """Block devices with their holders, network interfaces, framebuffers and IOMMU units."""
    records = []
    for subsystem, attributes in CLASSES.items():
        top = f"{root}/class/{subsystem}"
        for name in _listdir(top, problems, f"class/{subsystem}"):
            path = relative_path(root, f"{top}/{name}")
            if path is None:
                continue
            values = {}
            for attribute in attributes:
                value = read_attribute(root, name, path, attribute, problems)
                if value is not None:
                    values[attribute] = value
            holders: tuple[str, ...] = ()
            if subsystem == "block":
                holders = tuple(_listdir(f"{root}/{path}/holders", problems, f"{name}: holders"))
            records.append(
                ClassDeviceRecord(
                    subsystem=subsystem,
                    name=name,
                    path=path,
                    attributes=values,
                    holders=holders,
                ),
            )
    return records


def _read_proc_file(path: str, problems: Problems) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{path}: unreadable ({exc.strerror or type(exc).__name__})")
        return None


def read_proc(proc: str, problems: Problems) -> ProcRecord:
    """The /proc files the readiness checks need, as text; None for each one missing."""
    texts = {
        field: _read_proc_file(f"{proc}/{name}", problems) for field, name in PROC_FILES.items()
    }
    return ProcRecord(**texts)


#: What a reader enumerates: (root, problems, whether to read iommu_group links) -> records.
NodeReader = Callable[[str, Problems, bool], list[DeviceRecord]]


def assemble(
    root: str,
    proc: str | None,
    source: Literal["sysfs", "udev"],
    nodes: NodeReader,
) -> Snapshot:
    """One pass of a reader: groups, nodes (as *nodes* enumerates them), class devices, /proc."""
    root = check_root(root)
    problems: Problems = []
    groups = read_groups(root, problems)
    records = nodes(root, problems, not groups)
    return Snapshot(
        root=root,
        source=source,
        records=tuple(records),
        groups=groups,
        problems=tuple(problems),
        class_devices=tuple(read_class_devices(root, problems)),
        proc=None if proc is None else read_proc(proc, problems),
        mdev_types=tuple(read_mdev_types(root, _pci_parents(root, records), problems)),
    )


def _pci_parents(root: str, records: list[DeviceRecord]) -> list[tuple[str, str]]:
    """The PCI nodes to ask for mediated-device types: none where the mdev core is absent.

    Without the mdev module there is neither ``bus/mdev`` nor ``class/mdev_bus``
    (most hosts): one check then spares every PCI node a failing call.
    """
    if not (os.path.isdir(f"{root}/bus/mdev") or os.path.isdir(f"{root}/class/mdev_bus")):
        return []
    return [(r.sys_name, r.path) for r in records if r.kind == "pci"]


def read(root: str, proc: str | None = None) -> Snapshot:
    """Read the sysfs tree under *root* (and *proc*, if given) with plain file calls."""

    def nodes(root: str, problems: Problems, links: bool) -> list[DeviceRecord]:
        return [
            *_read_bus(root, "pci", problems, links),
            *_read_usb(root, problems),
            *_read_scsi(root, problems),
            *_read_bus(root, "mdev", problems, links),
        ]

    return assemble(root, proc, "sysfs", nodes)
