"""Change a materialised sysfs tree the way the kernel would, for the watch tests."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from typing import IO

from hostpassthru.testing import materialize, parse_recording

__all__ = [
    "GPU",
    "GPU_AUDIO",
    "STICK",
    "STICK_RECORDING",
    "Lines",
    "add",
    "rebind",
    "remove",
    "wait_ready",
]

#: The desktop-gpu fixture's GPU and its audio function, and a USB stick to plug into it.
GPU = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0"
GPU_AUDIO = "/devices/pci0000:00/0000:00:01.0/0000:01:00.1"
STICK = "/devices/pci0000:00/0000:00:14.0/usb1/1-2"
STICK_RECORDING = f"""
P: {STICK}
E: SUBSYSTEM=usb
E: DEVTYPE=usb_device
A: idVendor=0781\\n
A: idProduct=5581\\n
A: bDeviceClass=00\\n
A: busnum=1\\n
A: devnum=2\\n
A: speed=480\\n
A: manufacturer=SanDisk\\n
A: product=Ultra\\n
L: driver=../../../../../bus/usb/drivers/usb

P: {STICK}/1-2:1.0
E: SUBSYSTEM=usb
E: DEVTYPE=usb_interface
A: bInterfaceClass=08\\n
L: driver=../../../../../../bus/usb/drivers/usb-storage
"""


def add(top: str, recording: str) -> None:
    """Add the devices of *recording* (umockdev text) to the tree at ``TOP/sys``, atomically.

    A watch that polls the tree in another process must never see half a
    device: the devices are written under a staging root, their outermost
    directory renamed into place, and only then do their bus, class and IOMMU
    group entries appear (the readers find devices through those).
    """
    parsed = parse_recording(recording, "<test>")
    staging = tempfile.mkdtemp(dir=top, prefix=".staging-")
    try:
        materialize(parsed, staging)
        outer = min((d.path for d in parsed.devices), key=len)
        os.rename(f"{staging}/sys{outer}", f"{top}/sys{outer}")
        for dirpath, dirnames, filenames in os.walk(f"{staging}/sys"):
            rel = os.path.relpath(dirpath, staging)
            if rel == "sys":
                dirnames.remove("devices")  # moved above; the rest are links to it
            os.makedirs(f"{top}/{rel}", exist_ok=True)
            for name in dirnames + filenames:
                source = os.path.join(dirpath, name)
                if os.path.islink(source):
                    _replace_link(os.readlink(source), f"{top}/{rel}/{name}")
    finally:
        shutil.rmtree(staging)


def _replace_link(target: str, link: str) -> None:
    """Make *link* point at *target* in one step (a rename over the old link)."""
    temporary = f"{link}.new"
    os.symlink(target, temporary)
    os.rename(temporary, link)


def rebind(top: str, devpath: str, bus: str, driver: str | None) -> None:
    """Point the device's ``driver`` link at *driver* (remove it for None)."""
    directory = f"{top}/sys{devpath}"
    link = os.path.join(directory, "driver")
    if driver is None:
        os.unlink(link)
        return
    target = f"{top}/sys/bus/{bus}/drivers/{driver}"
    os.makedirs(target, exist_ok=True)
    # In one step, so that a polling watch never sees the device without a driver.
    _replace_link(os.path.relpath(target, directory), link)


def remove(top: str, devpath: str, bus: str) -> None:
    """Remove the device directory, its bus entry and its IOMMU group entry.

    Not atomic: a watch polling from another process may see the steps; the
    tests that remove poll in-process, where a scan happens only when asked.
    """
    name = os.path.basename(devpath)
    group = os.path.join(f"{top}/sys{devpath}", "iommu_group")
    if os.path.islink(group):
        entry = os.path.join(os.path.realpath(group), "devices", name)
        if os.path.lexists(entry):
            os.unlink(entry)
    shutil.rmtree(f"{top}/sys{devpath}")
    entry = f"{top}/sys/bus/{bus}/devices/{name}"
    if os.path.lexists(entry):
        os.unlink(entry)


def wait_ready(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """Wait for the watch command's "watching ..." line on stderr; returns it."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if "watching" in line:
            return line
    proc.kill()
    raise AssertionError(f"watch did not start: {proc.stderr.read()}")


class Lines:
    """The lines a child writes to a pipe, each read within a timeout (no buffering surprises)."""

    def __init__(self, stream: IO[str]) -> None:
        self._fd = stream.fileno()
        self._buffer = b""

    def next(self, timeout: float) -> str | None:
        """The next whole line within *timeout* seconds, or None (also at end of file)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._fd], [], [], left)[0]:
                return None
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()
