"""The live reader: libudev (through pyudev) enumerates, the path reader's helpers read.

The only module that imports pyudev. libudev swallows read errors, so it
cannot tell an unreadable attribute from a missing one (docs/semantics.md needs
both), and it returns no symlink attribute but ``driver``: attribute files and
the ``iommu_group``/``physfn``/``virtfnN``/``mdev_type`` links are read with the
path reader's helpers, from the device directories libudev found. Mediated
devices are enumerated as the ``mdev`` subsystem; their parents' types are read
from each PCI node's ``mdev_supported_types`` by the path reader's helpers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

from . import _sysfs

if TYPE_CHECKING:
    from ._records import DeviceRecord, Snapshot

__all__ = ["UdevUnavailableError", "read"]


class UdevUnavailableError(Exception):
    """libudev could not be loaded; the caller falls back to the path reader."""


def _context() -> Any:  # noqa: ANN401 - pyudev ships no type information
    try:
        import pyudev  # noqa: PLC0415 - loading libudev is the fallible part, keep it here

        return pyudev.Context()
    except (ImportError, OSError) as exc:
        raise UdevUnavailableError(str(exc)) from exc


def _relative(root: str, sys_path: str) -> str | None:
    prefix = root.rstrip("/") + "/"
    full = os.path.normpath(sys_path)
    return full[len(prefix) :] if full.startswith(prefix) else None


def _devices(context: Any, problems: list[str], **match: str) -> list[Any]:  # noqa: ANN401
    try:
        return list(context.list_devices(**match))
    except OSError as exc:
        problems.append(f"libudev: cannot enumerate {match}: {exc.strerror or exc}")
        return []


def _pci(context: Any, root: str, problems: list[str], links: bool) -> list[DeviceRecord]:  # noqa: ANN401
    records = []
    for dev in _devices(context, problems, subsystem="pci"):
        path = _relative(root, dev.sys_path)
        if path is None:
            continue
        record = _sysfs.read_record(
            root,
            "pci",
            dev.sys_name,
            path,
            problems,
            links=links,
            driver=dev.driver,
        )
        if record is not None:
            records.append(record)
    return records


def _usb(context: Any, root: str, problems: list[str]) -> list[DeviceRecord]:  # noqa: ANN401
    devices: list[tuple[str, str, str | Literal[False] | None]] = []
    interfaces: list[tuple[str, str]] = []
    for dev in _devices(context, problems, subsystem="usb"):
        path = _relative(root, dev.sys_path)
        if path is None:
            continue
        devtype = dev.device_type
        if devtype is None:
            # libudev gives no DEVTYPE both for a uevent without one and for no uevent.
            has_uevent = os.path.exists(os.path.join(dev.sys_path, "uevent"))
            devtype = _sysfs.usb_devtype_or_guess(dev.sys_name, None, has_uevent=has_uevent)
        if devtype == "usb_device":
            devices.append((dev.sys_name, path, dev.driver))
        elif devtype == "usb_interface":
            interfaces.append((dev.sys_name, path))
    return _sysfs.usb_records(root, problems, devices, interfaces)


def _scsi(context: Any, root: str, problems: list[str]) -> list[DeviceRecord]:  # noqa: ANN401
    records = []
    # The class devices, as docs/semantics.md, "Nodes", says; their parent directory chain leads
    # to the SCSI device itself, which the class entry's "device" link names.
    for dev in _devices(context, problems, subsystem="scsi_device"):
        class_path = _relative(root, dev.sys_path)
        if class_path is None:
            continue
        path = _sysfs.scsi_device_path(root, class_path)
        record = _sysfs.read_record(
            root,
            "scsi",
            os.path.basename(path),
            path,
            problems,
            links=False,
        )
        if record is not None:
            records.append(record)
    return records


def _mdev(context: Any, root: str, problems: list[str], links: bool) -> list[DeviceRecord]:  # noqa: ANN401
    records = []
    for dev in _devices(context, problems, subsystem="mdev"):
        path = _relative(root, dev.sys_path)
        if path is None:
            continue
        record = _sysfs.read_record(
            root,
            "mdev",
            dev.sys_name,
            path,
            problems,
            links=links,
            driver=dev.driver,
        )
        if record is not None:
            records.append(record)
    return records


def read(root: str = "/sys", proc: str | None = None) -> Snapshot:
    """Enumerate the live host's nodes through libudev; raises UdevUnavailableError."""
    context = _context()

    def nodes(root: str, problems: list[str], links: bool) -> list[DeviceRecord]:
        return [
            *_pci(context, root, problems, links=links),
            *_usb(context, root, problems),
            *_scsi(context, root, problems),
            *_mdev(context, root, problems, links),
        ]

    return _sysfs.assemble(root, proc, "udev", nodes)
