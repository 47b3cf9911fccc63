"""The live reader: libudev (through pyudev) enumerates and monitors, the path reader reads.

The only module that imports pyudev. libudev swallows read errors, so it
cannot tell an unreadable attribute from a missing one (docs/semantics.md needs
both), and it returns no symlink attribute but ``driver``: attribute files and
the ``iommu_group``/``physfn``/``virtfnN``/``mdev_type`` links are read with the
path reader's helpers, from the device directories libudev found. Mediated
devices are enumerated as the ``mdev`` subsystem; their parents' types are read
from each PCI node's ``mdev_supported_types`` by the path reader's helpers.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any, Literal

from . import _sysfs
from ._records import Uevent

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._records import DeviceRecord, Snapshot

__all__ = ["Monitor", "UdevUnavailableError", "read", "udev_running"]


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


def _bus(
    context: Any,  # noqa: ANN401 - a pyudev Context
    root: str,
    subsystem: Literal["pci", "mdev"],
    problems: list[str],
    links: bool,
) -> list[DeviceRecord]:
    """The PCI functions, or the mediated devices, with the driver libudev names."""
    records = []
    for dev in _devices(context, problems, subsystem=subsystem):
        path = _relative(root, dev.sys_path)
        if path is None:
            continue
        record = _sysfs.read_record(
            root,
            subsystem,
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


def read(root: str = "/sys", proc: str | None = None) -> Snapshot:
    """Enumerate the live host's nodes through libudev; raises UdevUnavailableError."""
    context = _context()

    def nodes(root: str, problems: list[str], links: bool) -> list[DeviceRecord]:
        return [
            *_bus(context, root, "pci", problems, links),
            *_usb(context, root, problems),
            *_scsi(context, root, problems),
            *_bus(context, root, "mdev", problems, links),
        ]

    return _sysfs.assemble(root, proc, "udev", nodes)


def _uevent(device: Any) -> Uevent:  # noqa: ANN401 - a pyudev Device
    properties = device.properties
    seqnum = properties.get("SEQNUM")
    return Uevent(
        action=device.action or "change",
        devpath=properties.get("DEVPATH") or device.device_path,
        subsystem=properties.get("SUBSYSTEM"),
        devtype=properties.get("DEVTYPE"),
        # The driver as the event says it, not as sysfs says it later: by the
        # time we look, it may have changed again.
        driver=properties.get("DRIVER"),
        seqnum=int(seqnum) if seqnum and seqnum.isdigit() else None,
    )


#: Where udevd listens; libudev itself decides by it whether udev events can arrive.
UDEV_CONTROL = "/run/udev/control"


def udev_running() -> bool:
    """Whether udevd runs here (its control socket exists)."""
    return os.path.exists(UDEV_CONTROL)


class Monitor:
    """A started netlink monitor of uevents, non-blocking: poll its fd, then ``receive()``.

    *source* "udev" receives events after udevd processed them (rules applied,
    devices initialised); "kernel" receives the kernel's own, which needs no
    udevd. Only events of *subsystems* are kept.
    """

    def __init__(
        self,
        source: Literal["udev", "kernel"],
        subsystems: Iterable[str],
        buffer_size: int | None = None,
    ) -> None:
        context = _context()
        import pyudev  # noqa: PLC0415 - _context() already loaded it, or raised

        self.source = source
        try:
            monitor = pyudev.Monitor.from_netlink(context, source=source)
            for subsystem in subsystems:
                monitor.filter_by(subsystem)
            if buffer_size is not None:
                monitor.set_receive_buffer_size(buffer_size)
            monitor.start()  # enables receiving and sets O_NONBLOCK
        except OSError as exc:
            raise UdevUnavailableError(f"cannot open a {source} monitor: {exc}") from exc
        self._monitor = monitor

    def fileno(self) -> int:
        """The socket: readable when events wait."""
        return int(self._monitor.fileno())

    def _ready(self) -> tuple[bool, bool]:
        """Whether events wait, and whether the socket overflowed since last asked.

        When the receive buffer is full the kernel drops the uevent and sets
        ENOBUFS on the socket (netlink_overrun()); poll() then says POLLERR, and
        SO_ERROR reads and clears it. The socket works on after it.
        """
        # Only a live monitor gets here; a scan need not pay for these modules.
        import select  # noqa: PLC0415 - kept off the scan's import path
        import socket  # noqa: PLC0415 - kept off the scan's import path

        poller = select.poll()
        poller.register(self.fileno(), select.POLLIN)
        ready = poller.poll(0)
        if not ready:
            return False, False
        overflow = False
        if ready[0][1] & select.POLLERR:
            with socket.fromfd(self.fileno(), socket.AF_NETLINK, socket.SOCK_RAW) as sock:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error and error != errno.ENOBUFS:
                raise OSError(error, os.strerror(error))
            overflow = error == errno.ENOBUFS
        return bool(ready[0][1] & select.POLLIN), overflow

    def receive(self) -> tuple[list[Uevent], bool]:
        """Every event ready now, oldest first, and whether events were lost (ENOBUFS)."""
        events: list[Uevent] = []
        lost = False
        while True:
            waiting, overflow = self._ready()
            lost = lost or overflow
            if not waiting:
                return events, lost
            try:
                device = self._monitor.poll(timeout=0)
            except OSError as exc:
                # pyudev polls first and raises an OSError without errno on POLLERR:
                # an overflow after ours was read; the next round reads SO_ERROR.
                if exc.errno not in (errno.ENOBUFS, None):
                    raise
                lost = lost or exc.errno == errno.ENOBUFS
                continue
            if device is None:
                return events, lost
            events.append(_uevent(device))

    def close(self) -> None:
        """Stop receiving and close the socket (libudev closes it when the last ref goes)."""
        self._monitor = None
