"""The recorder: what the readers read of a sysfs tree (and /proc), as a recording.

It writes what the readers found, not everything the tree holds: each block
gets the subsystem under which a reader found it (so that a replay finds the
same nodes, and no directory the readers skipped becomes one), and only the
attributes, links and /proc files the library reads. ``--anonymize`` keeps of
/proc only what the checks read, and replaces serial numbers.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import attrs

from . import _sysfs
from ._recording import RecordedDevice, Recording, dump
from ._records import PROC_FILES

if TYPE_CHECKING:
    from ._model import Host

__all__ = ["Recorded", "record"]

# Links the readers follow (driver, iommu_group, physfn, a mediated device's
# mdev_type), the class device's "device" link, and the SR-IOV links that show
# the VFs of a PF.
_LINKS = ("driver", "physfn", "device", "mdev_type")
_VIRTFN = re.compile(r"virtfn\d+\Z")
_PCI_ADDRESS = re.compile(r"[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\Z")
_PRINTABLE = re.compile(r"[\x20-\x7e\t\n]*\Z")
#: The subsystem of each kind of node: the bus the path reader lists it under.
_NODE_SUBSYSTEM = {"pci": "pci", "usb_device": "usb", "scsi": "scsi", "mdev": "mdev"}
#: Subsystems whose entries some reader lists: a directory that must exist but
#: is no node or class device of the host must not be written under one of these.
_READ_SUBSYSTEMS = frozenset({"pci", "usb", "scsi_device", "mdev", *_sysfs.CLASSES})
#: The subsystem written for such a directory where its own would make it one.
_INERT = "hostpassthru_directory"


@attrs.frozen(kw_only=True)
class Recorded:
    """A recording's text; what --anonymize replaced, or what the file holds (one line each)."""

    text: str
    replaced: tuple[str, ...] = ()
    #: Without --anonymize: what the recording holds that a public report may not want.
    holds: tuple[str, ...] = ()


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(65536)
    except OSError:
        return None


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _links(base: str) -> list[str]:
    """The links read in a device directory: the fixed ones, VFs, holders, a parent's mdevs."""
    links = list(_LINKS)
    links += [n for n in _names(base) if _VIRTFN.match(n)]
    links += [f"holders/{n}" for n in _names(f"{base}/holders")]
    for type_id in _names(f"{base}/mdev_supported_types"):
        devices = f"mdev_supported_types/{type_id}/devices"
        links += [f"{devices}/{n}" for n in _names(f"{base}/{devices}")]
    return links


def _names(directory: str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


@attrs.frozen
class _Want:
    """One block to write: the subsystem a reader found it under, what to read, whose it is."""

    subsystem: str
    attributes: tuple[str, ...] = ()
    owner: str = ""
    devtype: str | None = None
    group: int | None = None


@attrs.define
class _Recorder:
    root: str
    anonymize: bool
    serials: dict[str, str] = attrs.Factory(dict)
    replaced: list[str] = attrs.Factory(list)

    def attribute(self, data: bytes, name: str, owner: str) -> str | bytes:
        """The attribute's text, or its bytes where it is no printable text."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        if not _PRINTABLE.match(text):
            return data
        if self.anonymize and name == "serial" and not _PCI_ADDRESS.match(text.strip()):
            # Root hubs carry their controller's PCI address as serial: not per-unit.
            placeholder = self.serials.setdefault(text, f"ANON-SERIAL-{len(self.serials) + 1}")
            self.replaced.append(f"the serial of {owner}, as {placeholder}")
            text = placeholder + "\n"
        return text

    def block(self, path: str, want: _Want) -> RecordedDevice:
        base = f"{self.root}/{path}"
        properties: list[tuple[str, str]] = []
        uevent = _read(f"{base}/uevent")
        if uevent is not None:
            for line in uevent.decode("utf-8", "replace").splitlines():
                key, eq, value = line.partition("=")
                if eq and key != "SUBSYSTEM":
                    properties.append((key, value))
        if want.devtype is not None and ("DEVTYPE", want.devtype) not in properties:
            # No uevent: the path reader went by the kernel name; say what it found.
            properties.append(("DEVTYPE", want.devtype))
        # umockdev needs SUBSYSTEM in every block, and makes the bus or class entry from it.
        properties.append(("SUBSYSTEM", want.subsystem))
        texts: list[tuple[str, str]] = []
        binaries: list[tuple[str, bytes]] = []
        for name in want.attributes:
            data = _read(f"{base}/{name}")
            if data is None:
                # Write-only files (PCI "reset") cannot be read, and exist: keep them, empty.
                if name == "reset" and os.path.lexists(f"{base}/{name}"):
                    texts.append((name, ""))
                continue
            content = self.attribute(data, name, want.owner)
            if isinstance(content, str):
                texts.append((name, content))
            else:
                binaries.append((name, content))
        found = [(name, _readlink(f"{base}/{name}")) for name in _links(base)]
        if want.group is not None:
            # The group the readers found, from the group directory or the link
            # (docs/semantics.md, "IOMMU groups").
            found.append(
                ("iommu_group", f"{_sysfs.up_to_root(path)}/kernel/iommu_groups/{want.group}")
            )
        return RecordedDevice(
            path=f"/{path}",
            properties=tuple(properties),
            attributes=tuple(texts),
            binary_attributes=tuple(binaries),
            links=tuple((name, target) for name, target in found if target is not None),
        )


def _inert(root: str, path: str) -> str:
    """A subsystem for a directory that must exist but is no node or class device."""
    own = _readlink(f"{root}/{path}/subsystem")
    name = None if own is None else own.rstrip("/").rpartition("/")[2]
    return name if name and name not in _READ_SUBSYSTEMS else _INERT


def _usb_interfaces(root: str, devices: set[str]) -> dict[str, str]:
    """Path -> name of each USB interface the path reader folds into one of *devices*."""
    found: dict[str, str] = {}
    bus = f"{root}/bus/usb/devices"
    for name in _names(bus):
        path = _sysfs.relative_path(root, f"{bus}/{name}")
        if path is None or os.path.dirname(path) not in devices:
            continue
        uevent = _read(f"{root}/{path}/uevent")
        text = None if uevent is None else uevent.decode("utf-8", "replace")
        devtype = _sysfs.usb_devtype_or_guess(
            name, None if text is None else _sysfs.usb_devtype(text), has_uevent=text is not None
        )
        if devtype == "usb_interface":
            found[path] = name
    return found


def _scsi_class_entries(root: str, nodes: set[str]) -> list[str]:
    """The ``class/scsi_device`` directories through which the readers found *nodes*."""
    found = []
    top = f"{root}/class/scsi_device"
    for entry in _names(top):
        class_path = _sysfs.relative_path(root, f"{top}/{entry}")
        if class_path is not None and _sysfs.scsi_device_path(root, class_path) in nodes:
            found.append(class_path)
    return found


def _group_members(root: str, number: int) -> list[str]:
    """The device directories listed in ``kernel/iommu_groups/NUMBER/devices``."""
    top = f"{root}/kernel/iommu_groups/{number}/devices"
    paths = [_sysfs.relative_path(root, f"{top}/{name}") for name in _names(top)]
    return [p for p in paths if p and os.path.basename(p) in _names(top)]


def _scsi_wanted(root: str, scsi: dict[str, str], wanted: dict[str, _Want]) -> None:
    """The class directories that lead to SCSI nodes, and the names the readers list."""
    for class_path in _scsi_class_entries(root, set(scsi)):
        wanted[class_path] = _Want("scsi_device")
    for path, owner in scsi.items():
        # The names under block/ and scsi_generic/ are read; their directories must exist.
        for sub in ("block", "scsi_generic"):
            for name in _names(f"{root}/{path}/{sub}"):
                child = f"{path}/{sub}/{name}"
                if child not in wanted:
                    wanted[child] = _Want(_inert(root, child), owner=owner)


def _wanted(host: Host, root: str) -> dict[str, _Want]:
    """Every directory to write, with how the readers found it."""
    own_group = {
        member: number for number, members in host.iommu_groups.items() for member in members
    }
    wanted: dict[str, _Want] = {}
    for cdev in host.class_devices:
        wanted[cdev.path] = _Want(cdev.subsystem, _sysfs.CLASSES[cdev.subsystem], cdev.node or "")
    usb = {d.path for d in host.devices if d.kind == "usb_device"}
    for path, name in _usb_interfaces(root, usb).items():
        devtype = "usb_interface" if not os.path.exists(f"{root}/{path}/uevent") else None
        wanted[path] = _Want("usb", ("bInterfaceClass",), name, devtype=devtype)
    _scsi_wanted(root, {d.path: d.name for d in host.devices if d.kind == "scsi"}, wanted)
    for number, members in host.iommu_groups.items():
        if not members:
            # A group with no PCI node (platform devices): one member keeps it a group.
            for path in _group_members(root, number)[:1]:
                wanted.setdefault(path, _Want(_inert(root, path), group=number))
    for dev in host.devices:
        attributes = _sysfs.recorded_attributes(dev.kind) + tuple(
            # A mediated-device parent's types (the class/mdev_bus entry follows from them).
            f"mdev_supported_types/{t.id}/{name}"
            for t in dev.mdev_types
            for name in _sysfs.MDEV_TYPE_ATTRIBUTES
        )
        no_uevent = not os.path.exists(f"{root}/{dev.path}/uevent")
        wanted[dev.path] = _Want(
            _NODE_SUBSYSTEM[dev.kind],
            (*attributes, "reset") if dev.kind == "pci" else attributes,
            dev.name,
            devtype="usb_device" if dev.kind == "usb_device" and no_uevent else None,
            # An mdev's emulated group is no IOMMU group of the host, but it is read.
            group=dev.iommu_group if dev.kind == "mdev" else own_group.get(dev.name),
        )
    return wanted


_PROC_FILES = tuple(PROC_FILES.values())


def _cmdline(text: str) -> str:
    """The IOMMU and VFIO options alone (intel_iommu=, iommu.strict=, vfio-pci.ids=, ...)."""
    kept = [
        word
        for word in text.split()
        if "iommu" in (key := word.partition("=")[0].lower())
        or key.startswith(("vfio", "pcie_acs_override"))
    ]
    return " ".join(kept) + "\n"


def _mountinfo(text: str) -> str:
    """Which block devices are mounted, and whether at /: other mount points replaced."""
    lines: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5 or ":" not in fields[2]:
            continue
        mount_id, parent, devnum, _, point = fields[:5]
        if devnum.startswith("0:") and point != "/":
            continue  # no block device: proc, tmpfs, network file systems
        point = "/" if point == "/" else f"/anonymized-mount-{len(lines) + 1}"
        lines.append(f"{mount_id} {parent} {devnum} / {point} rw - anonymized none rw\n")
    return "".join(lines)


def _swaps(text: str) -> str:
    """The header and the block devices in use as swap; swap files dropped."""
    lines = text.splitlines()
    return "".join(f"{x}\n" for x in lines[:1] + [x for x in lines[1:] if x.startswith("/dev/")])


def _route(text: str) -> str:
    """The header and the default routes' interfaces, with no addresses."""
    lines = text.splitlines()
    kept = lines[:1]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[1] == "00000000" and fields[7] == "00000000":
            kept.append("\t".join([fields[0], "00000000", "00000000", *fields[3:]]))
    return "".join(f"{x}\n" for x in kept)


_ANONYMIZE = {
    "cmdline": (_cmdline, "the kernel command line, but for its IOMMU and VFIO options"),
    "self/mountinfo": (
        _mountinfo,
        "mount points other than /, file system types, sources and options",
    ),
    "swaps": (_swaps, "swap files (swap on block devices kept)"),
    "net/route": (_route, "every route but the default, and all addresses"),
}

_HOLDS = {
    "cmdline": "the whole kernel command line",
    "self/mountinfo": "every mount point, with file system types, sources and options",
    "swaps": "every swap device and file",
    "net/route": "the routing table, with its addresses",
    "interrupts": "whether interrupts are remapped",
}


def _proc_files(proc: str, anonymize: bool) -> tuple[list[tuple[str, str]], list[str]]:
    """The /proc files the readiness checks read: (path from the top, text), and notes."""
    files = []
    notes = []
    for name in _PROC_FILES:
        data = _read(f"{proc}/{name}")
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        if name == "interrupts":
            # Only whether remapped (IR-) chips appear is read: keep the header and those.
            kept = text.splitlines()[:1] + [x for x in text.splitlines()[1:] if "IR-" in x][:1]
            text = "".join(f"{x}\n" for x in kept)
        elif anonymize:
            rewrite, what = _ANONYMIZE[name]
            text = rewrite(text)
            notes.append(f"/proc/{name}: dropped {what}")
        if not anonymize:
            notes.append(f"/proc/{name}: {_HOLDS[name]}")
        files.append((f"/proc/{name}", text))
    return files, notes


def record(host: Host, *, anonymize: bool = False, proc: str | None = None) -> Recorded:
    """Record what the library reads of *host*'s tree: nodes, what they fold in, class devices.

    With *proc*, the /proc files the readiness checks read come along.
    """
    root = host.sysfs or "/sys"
    recorder = _Recorder(root=root, anonymize=anonymize)
    files, notes = ([], []) if proc is None else _proc_files(proc, anonymize)
    recording = Recording(
        source="<record>",
        devices=tuple(
            recorder.block(path, want) for path, want in sorted(_wanted(host, root).items())
        ),
        files=tuple(files),
    )
    if anonymize:
        return Recorded(text=dump(recording), replaced=(*recorder.replaced, *notes))
    serials = sum(1 for d in recording.devices for k, _ in d.attributes if k == "serial")
    devices = (
        f"{len(recording.devices)} device directories: the attributes and links the "
        f"library reads, {serials} serial numbers among them"
    )
    holds = [devices, *notes]
    return Recorded(text=dump(recording), holds=tuple(holds))
