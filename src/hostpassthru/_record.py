"""The recorder: write what the library reads of a sysfs tree in umockdev's record format."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import attrs

from . import _sysfs
from ._recording import RecordedDevice, Recording, dump

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._model import Device, Host

__all__ = ["Recorded", "record"]

# Links the readers follow (driver, iommu_group, physfn), the class device's
# "device" link, and the SR-IOV links that show the VFs of a PF.
_LINKS = ("driver", "iommu_group", "physfn", "device")
_VIRTFN = re.compile(r"virtfn\d+\Z")
_PCI_ADDRESS = re.compile(r"[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\Z")
_PRINTABLE = re.compile(r"[\x20-\x7e\t\n]*\Z")


@attrs.frozen(kw_only=True)
class Recorded:
    """A recording's text, and what --anonymize replaced (one line each)."""

    text: str
    replaced: tuple[str, ...] = ()


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

    def block(self, path: str, attributes: tuple[str, ...], owner: str) -> RecordedDevice:
        base = f"{self.root}/{path}"
        properties: list[tuple[str, str]] = []
        uevent = _read(f"{base}/uevent")
        if uevent is not None:
            for line in uevent.decode("utf-8", "replace").splitlines():
                key, eq, value = line.partition("=")
                if eq and key != "SUBSYSTEM":
                    properties.append((key, value))
        subsystem = _readlink(f"{base}/subsystem")
        if subsystem is not None:
            properties.append(("SUBSYSTEM", subsystem.rstrip("/").rpartition("/")[2]))
        texts: list[tuple[str, str]] = []
        binaries: list[tuple[str, bytes]] = []
        for name in attributes:
            data = _read(f"{base}/{name}")
            if data is None:
                continue
            content = self.attribute(data, name, owner)
            if isinstance(content, str):
                texts.append((name, content))
            else:
                binaries.append((name, content))
        links = list(_LINKS)
        links += sorted(n for n in _names(base) if _VIRTFN.match(n))
        links += [f"holders/{n}" for n in sorted(_names(f"{base}/holders"))]
        found = [(name, _readlink(f"{base}/{name}")) for name in links]
        return RecordedDevice(
            path=f"/{path}",
            properties=tuple(properties),
            attributes=tuple(texts),
            binary_attributes=tuple(binaries),
            links=tuple((name, target) for name, target in found if target is not None),
        )


def _ancestors(path: str) -> Iterator[str]:
    parts = path.split("/")
    for i in range(2, len(parts)):
        yield "/".join(parts[:i])


def _extras(root: str, dev: Device) -> Iterator[tuple[str, tuple[str, ...]]]:
    """The directories beside a node that the readers look at: interfaces, class devices."""
    base = f"{root}/{dev.path}"
    if dev.kind == "usb_device":
        for name in sorted(_names(base)):
            if ":" in name and os.path.isfile(f"{base}/{name}/bInterfaceClass"):
                yield f"{dev.path}/{name}", ("bInterfaceClass",)
    elif dev.kind == "scsi":
        for sub in ("scsi_device", "block", "scsi_generic"):
            for name in sorted(_names(f"{base}/{sub}")):
                yield f"{dev.path}/{sub}/{name}", ()


def _names(directory: str) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


_PROC_FILES = ("cmdline", "self/mountinfo", "swaps", "net/route", "interrupts")


def _proc_files(proc: str) -> list[tuple[str, str]]:
    """The /proc files the readiness checks read: (path from the top, text)."""
    files = []
    for name in _PROC_FILES:
        data = _read(f"{proc}/{name}")
        if data is None:
            continue
        text = data.decode("utf-8", "replace")
        if name == "interrupts":
            # Only whether remapped (IR-) chips appear is read: keep the header and those.
            kept = text.splitlines()[:1] + [x for x in text.splitlines()[1:] if "IR-" in x][:1]
            text = "".join(f"{x}\n" for x in kept)
        files.append((f"/proc/{name}", text))
    return files


def record(host: Host, *, anonymize: bool = False, proc: str | None = None) -> Recorded:
    """Record what the library reads of *host*'s tree: nodes, class devices, ancestors.

    With *proc*, the /proc files the readiness checks read come along as ``F:`` lines.
    """
    root = host.sysfs or "/sys"
    recorder = _Recorder(root=root, anonymize=anonymize)
    wanted: dict[str, tuple[tuple[str, ...], str]] = {}

    def want(path: str, attributes: tuple[str, ...], owner: str) -> None:
        for ancestor in _ancestors(path):
            if ancestor not in wanted and os.path.isfile(f"{root}/{ancestor}/uevent"):
                wanted[ancestor] = ((), ancestor)
        wanted[path] = (attributes, owner)

    for dev in host.devices:
        want(dev.path, _sysfs.ATTRIBUTES[dev.kind], dev.name)
        for path, attributes in _extras(root, dev):
            want(path, attributes, dev.name)
    for cdev in host.class_devices:
        want(cdev.path, _sysfs.CLASSES[cdev.subsystem], cdev.node or cdev.name)
    recording = Recording(
        source="<record>",
        devices=tuple(
            recorder.block(path, attributes, owner)
            for path, (attributes, owner) in sorted(wanted.items())
        ),
        files=() if proc is None else tuple(_proc_files(proc)),
    )
    return Recorded(text=dump(recording), replaced=tuple(recorder.replaced))
