"""Plain records that the readers produce and the pure builder consumes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

import attrs

__all__ = [
    "KINDS",
    "PROC_FILES",
    "SOURCES",
    "ClassDeviceRecord",
    "DeviceRecord",
    "Kind",
    "MdevTypeRecord",
    "ProcRecord",
    "Snapshot",
    "Source",
    "Uevent",
]

#: What a node is: a PCI function, a USB device, a SCSI device or a mediated device.
Kind = Literal["pci", "usb_device", "scsi", "mdev"]
KINDS: tuple[Kind, ...] = get_args(Kind)
#: The reader: the path reader, the live reader, or a recording replayed from memory.
Source = Literal["sysfs", "udev", "recording"]
SOURCES: tuple[Source, ...] = get_args(Source)


@attrs.frozen(kw_only=True)
class DeviceRecord:
    """One node as a reader found it: raw text, nothing parsed or judged."""

    kind: Kind
    sys_name: str
    #: Relative to the sysfs root, symlinks resolved, no leading slash.
    path: str
    driver: str | None
    #: Attribute file name -> its text, stripped; absent when the file is missing or unreadable.
    attributes: Mapping[str, str]
    #: Last component of the ``iommu_group`` link (read only when the group directory is empty).
    iommu_group_link: str | None = None
    #: Whether a ``reset`` file is there (PCI only; None for other kinds).
    has_reset: bool | None = None
    #: Kernel name of the SR-IOV physical function (``physfn`` link), PCI only.
    physfn: str | None = None
    #: Raw ``bInterfaceClass`` of each USB interface, in path order.
    interface_classes: tuple[str, ...] = ()
    #: Names under the SCSI device's ``block/`` and ``scsi_generic/`` directories.
    block: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    #: (N, kernel name) of each ``virtfnN`` link of an SR-IOV physical function.
    virtfns: tuple[tuple[int, str], ...] = ()
    #: Last component of a mediated device's ``mdev_type`` link (the type's id).
    mdev_type: str | None = None


@attrs.frozen(kw_only=True)
class ClassDeviceRecord:
    """A block device, network interface, framebuffer or IOMMU unit, as a reader found it."""

    subsystem: str
    name: str
    #: Relative to the sysfs root, symlinks resolved.
    path: str
    attributes: Mapping[str, str]
    #: Names under ``holders/`` (block devices only): dm, md and bcache devices built on it.
    holders: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class MdevTypeRecord:
    """One ``mdev_supported_types/<id>/`` directory of a mediated-device parent."""

    #: The parent device's directory, relative to the sysfs root, symlinks resolved.
    parent: str
    type_id: str
    #: ``name``, ``description``, ``device_api``, ``available_instances``: raw text.
    attributes: Mapping[str, str]
    #: Names under the type's ``devices/``: the UUIDs of its mediated devices.
    devices: tuple[str, ...] = ()


#: Each field of ProcRecord and the file under /proc it is read from: the one
#: list of them, for the path reader, the recorder and the recording format.
PROC_FILES: dict[str, str] = {
    "cmdline": "cmdline",
    "mountinfo": "self/mountinfo",
    "swaps": "swaps",
    "route": "net/route",
    "interrupts": "interrupts",
}


@attrs.frozen(kw_only=True)
class ProcRecord:
    """The text of the /proc files the readiness checks need; None where missing."""

    cmdline: str | None
    mountinfo: str | None
    swaps: str | None
    route: str | None
    interrupts: str | None


@attrs.frozen(kw_only=True)
class Snapshot:
    """Everything one reader found in one pass over a sysfs tree."""

    root: str
    source: Source
    records: tuple[DeviceRecord, ...]
    #: Group number -> kernel names of its members, from ``kernel/iommu_groups``.
    groups: Mapping[int, tuple[str, ...]]
    problems: tuple[str, ...] = ()
    class_devices: tuple[ClassDeviceRecord, ...] = ()
    #: None when /proc was not read (``scan(sysfs=...)`` without ``proc=``).
    proc: ProcRecord | None = None
    #: The supported types of every mediated-device parent, in path and id order.
    mdev_types: tuple[MdevTypeRecord, ...] = ()


@attrs.frozen(kw_only=True)
class Uevent:
    """One uevent as a monitor received it: the kernel's (or udevd's) properties, unjudged."""

    #: "add", "remove", "change", "move", "bind", "unbind" (bind/unbind since Linux 4.14).
    action: str
    #: DEVPATH: the device directory below the sysfs root, with a leading slash.
    devpath: str
    subsystem: str | None
    devtype: str | None
    #: The DRIVER property: the driver bound when the event was sent, None when unbound.
    driver: str | None
    seqnum: int | None = None

    @property
    def sys_name(self) -> str:
        """The kernel name: the last component of DEVPATH."""
        return self.devpath.rpartition("/")[2]
