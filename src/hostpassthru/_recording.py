r"""umockdev's record format: parse it, write it, and lay a recording out as a sysfs tree.

A recording is what ``umockdev-record`` writes: one block per device, blank
lines between blocks, each line a letter, a colon and a space::

    P: /devices/pci0000:00/0000:00:1f.2      the device directory, under /sys
    E: SUBSYSTEM=pci                         a uevent property
    A: class=0x010601\n                      an attribute file (C escapes)
    H: config=8680022a...                    a binary attribute file, in hex
    L: driver=../../../bus/pci/drivers/ahci  a symlink in the device directory

``N:`` and ``S:`` lines (device nodes and their symlinks) are accepted and
not needed. Lines starting with ``#`` are comments. One line type is ours,
not umockdev's, for the few files outside the device tree that readiness
checks read; it may stand anywhere, and goes to ``DEST/proc/...``
(or ``DEST/sys/...``)::

    F: /proc/cmdline=BOOT_IMAGE=/vmlinuz root=/dev/sda2 intel_iommu=on\n

:func:`materialize` writes a recording under ``DEST/sys`` with plain ``os``
calls, so it works on a real directory and on a pyfakefs filesystem alike.
It adds what the kernel would: the ``subsystem`` link, the ``bus/*/devices``
or ``class/*`` entry, the ``uevent`` file, the driver directory, and
``kernel/iommu_groups/N/devices/*`` from each ``iommu_group`` link. All links
are relative, as umockdev needs them.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ._errors import FixtureError

__all__ = [
    "BUSES",
    "RecordedDevice",
    "Recording",
    "dump",
    "escape",
    "materialize",
    "materialize_device",
    "parse_recording",
    "read_recording",
]

#: Subsystems that are buses (``bus/X/devices``); every other one is a class (``class/X``).
BUSES = frozenset(
    {
        "acpi",
        "auxiliary",
        "cpu",
        "cxl",
        "event_source",
        "gpio",
        "hid",
        "i2c",
        "mdio_bus",
        "mei",
        "memory",
        "mmc",
        "nd",
        "node",
        "nvmem",
        "pci",
        "pci_express",
        "platform",
        "pnp",
        "scsi",
        "sdio",
        "serial",
        "serio",
        "spi",
        "thunderbolt",
        "usb",
        "vdpa",
        "virtio",
        "workqueue",
        "xen",
    }
)

_SUFFIX = ".umockdev"
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@attrs.frozen(kw_only=True)
class RecordedDevice:
    """One ``P:`` block of a recording."""

    #: The device directory below the sysfs root, as ``P:`` gives it (``/devices/...``).
    path: str
    properties: tuple[tuple[str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    binary_attributes: tuple[tuple[str, bytes], ...] = ()
    links: tuple[tuple[str, str], ...] = ()

    @property
    def subsystem(self) -> str | None:
        """The SUBSYSTEM property, or the last component of a ``subsystem`` link."""
        for key, value in self.properties:
            if key == "SUBSYSTEM":
                return value
        for key, value in self.links:
            if key == "subsystem":
                return value.rstrip("/").rpartition("/")[2]
        return None


@attrs.frozen(kw_only=True)
class Recording:
    """A parsed recording: its devices in the order written, and where it came from."""

    source: str
    devices: tuple[RecordedDevice, ...]
    #: ``F:`` lines: files outside the device tree (``/proc/cmdline``, ``/proc/self/mountinfo``),
    #: as (path from the top, text).
    files: tuple[tuple[str, str], ...] = ()


def _unescape(text: str) -> str:
    """Undo GLib's g_strescape(), which umockdev-record applies to attribute text."""
    if "\\" not in text:
        return text
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\" or i + 1 == len(text):
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in "01234567":
            digits = nxt
            while (
                len(digits) < 3
                and i + 1 + len(digits) < len(text)
                and (text[i + 1 + len(digits)] in "01234567")
            ):
                digits += text[i + 1 + len(digits)]
            out.append(chr(int(digits, 8)))
            i += 1 + len(digits)
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


_LINE_TYPES = ("P", "E", "A", "H", "L", "N", "S", "F")


@attrs.define
class _Parser:
    source: str
    devices: list[RecordedDevice] = attrs.Factory(list)
    files: list[tuple[str, str]] = attrs.Factory(list)
    path: str | None = None
    lines: dict[str, list[tuple[str, Any]]] = attrs.Factory(dict)

    def close(self) -> None:
        if self.path is not None:
            self.devices.append(
                RecordedDevice(
                    path=self.path,
                    properties=tuple(self.lines["E"]),
                    attributes=tuple(self.lines["A"]),
                    binary_attributes=tuple(self.lines["H"]),
                    links=tuple(self.lines["L"]),
                ),
            )

    def error(self, number: int, why: str) -> FixtureError:
        return FixtureError(self.source, number, why)

    def line(self, number: int, line: str) -> None:
        tag, sep, rest = line.partition(": ")
        if not sep and line[:1] in _LINE_TYPES and line[1:] == ":":
            tag, rest = line[0], ""
        elif not sep or tag not in _LINE_TYPES:
            raise self.error(number, f"not a recording line: {line!r}")
        if tag == "P":
            self.close()
            if not rest.startswith("/devices/") or ".." in rest.split("/"):
                raise self.error(number, f"P: wants a path under /devices, not {rest!r}")
            self.path = rest.rstrip("/")
            self.lines = {"E": [], "A": [], "H": [], "L": []}
            return
        if tag in ("N", "S"):  # device nodes and their symlinks: not needed here
            return
        if tag == "F":
            name, eq, text = rest.partition("=")
            parts = name.split("/")
            if not eq or parts[:2] not in (["", "proc"], ["", "sys"]) or ".." in parts:
                raise self.error(number, f"F: wants /proc/...=TEXT or /sys/...=TEXT, not {rest!r}")
            self.files.append((name, _unescape(text)))
            return
        if self.path is None:
            raise self.error(number, "a device line before the first P: line")
        self.entry(number, tag, rest)

    def entry(self, number: int, tag: str, rest: str) -> None:
        key, eq, value = rest.partition("=")
        if not eq or not key or key.startswith("/") or ".." in key.split("/"):
            raise self.error(number, f"want NAME=VALUE, not {rest!r}")
        if tag == "A":
            self.lines["A"].append((key, _unescape(value)))
        elif tag == "H":
            try:
                self.lines["H"].append((key, bytes.fromhex(value)))
            except ValueError:
                raise self.error(number, f"H: {key} is not hex") from None
        else:
            self.lines[tag].append((key, value))


def parse_recording(text: str, source: str = "<string>") -> Recording:
    """Parse a recording's text; raises FixtureError naming the line that is wrong."""
    parser = _Parser(source)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if line.strip() and not line.startswith("#"):
            parser.line(number, line)
    parser.close()
    return Recording(source=source, devices=tuple(parser.devices), files=tuple(parser.files))


def escape(text: str) -> str:
    """GLib's g_strescape() for the printable text that reaches a recording."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace('"', '\\"')


def dump(recording: Recording) -> str:
    """The text of *recording*, as :func:`parse_recording` reads it back."""
    header = "# hostpassthru record: umockdev's record format; replay with --replay FILE\n\n"
    files = "".join(f"F: {name}={escape(text)}\n" for name, text in recording.files)
    blocks = "\n\n".join("\n".join(_block_lines(dev)) for dev in recording.devices)
    return header + (files + "\n" if files else "") + blocks + "\n"


def _block_lines(dev: RecordedDevice) -> list[str]:
    lines = [f"P: {dev.path}"]
    lines += [f"E: {key}={value}" for key, value in dev.properties]
    lines += [f"A: {key}={escape(text)}" for key, text in dev.attributes]
    lines += [f"H: {key}={data.hex().upper()}" for key, data in dev.binary_attributes]
    lines += [f"L: {key}={target}" for key, target in dev.links]
    return lines


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Parse the recording in the file at *path*; raises FixtureError."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as exc:
        raise FixtureError(source, None, exc.strerror or str(exc)) from None
    return parse_recording(text, source)


def _symlink(target_abs: str, link_abs: str) -> None:
    """A relative symlink at *link_abs* to *target_abs*, replacing what was there."""
    os.makedirs(os.path.dirname(link_abs), exist_ok=True)
    if os.path.lexists(link_abs):
        os.unlink(link_abs)
    os.symlink(os.path.relpath(target_abs, os.path.dirname(link_abs)), link_abs)


def _write(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def materialize(recording: Recording, dest: str | os.PathLike[str]) -> str:
    """Write *recording* as a sysfs tree under ``DEST/sys``; returns that sysfs root."""
    root = os.path.join(os.path.abspath(os.fspath(dest)), "sys")
    for top in ("bus", "class", "devices", "kernel/iommu_groups"):
        os.makedirs(os.path.join(root, top), exist_ok=True)
    for dev in recording.devices:
        materialize_device(root, dev)
    top = os.path.dirname(root)
    for name, text in recording.files:
        _write(top + name, text.encode("utf-8", "surrogateescape"))
    return root


def materialize_device(root: str, dev: RecordedDevice) -> None:
    """Write one device block under the sysfs root *root*, with its links and entries."""
    directory = root + dev.path
    name = os.path.basename(directory)
    os.makedirs(directory, exist_ok=True)
    uevent = "".join(f"{k}={v}\n" for k, v in dev.properties if k != "SUBSYSTEM")
    _write(os.path.join(directory, "uevent"), uevent.encode())
    for key, text in dev.attributes:
        _write(os.path.join(directory, key), text.encode("utf-8", "surrogateescape"))
    for key, data in dev.binary_attributes:
        _write(os.path.join(directory, key), data)
    subsystem = dev.subsystem
    for key, target in dev.links:
        link = os.path.join(directory, key)
        target_abs = os.path.normpath(os.path.join(os.path.dirname(link), target))
        if key == "driver" and target_abs.startswith(root + os.sep):
            os.makedirs(target_abs, exist_ok=True)
        if key == "iommu_group" and target_abs.startswith(root + os.sep):
            os.makedirs(target_abs, exist_ok=True)
            _symlink(directory, os.path.join(target_abs, "devices", name))
        if key != "subsystem":
            _symlink(target_abs, link)
    if subsystem:
        if subsystem in BUSES:
            home = os.path.join(root, "bus", subsystem)
            entry = os.path.join(home, "devices", name)
        else:
            home = os.path.join(root, "class", subsystem)
            entry = os.path.join(home, name)
        os.makedirs(home, exist_ok=True)
        _symlink(home, os.path.join(directory, "subsystem"))
        _symlink(directory, entry)
