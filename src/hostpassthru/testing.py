r"""Fake hosts for tests: recordings in umockdev's format, materialised as sysfs trees.

A recording is what ``umockdev-record`` writes: one block per device, blank
lines between blocks, each line a letter, a colon and a space::

    P: /devices/pci0000:00/0000:00:1f.2      the device directory, under /sys
    E: SUBSYSTEM=pci                         a uevent property
    A: class=0x010601\n                      an attribute file (C escapes)
    H: config=8680022a...                    a binary attribute file, in hex
    L: driver=../../../bus/pci/drivers/ahci  a symlink in the device directory

``N:`` and ``S:`` lines (device nodes and their symlinks) are accepted and
not needed. Lines starting with ``#`` are comments.

:func:`materialize` writes a recording under ``DEST/sys`` with plain ``os``
calls, so it works on a real directory and on a pyfakefs filesystem alike.
It adds what the kernel would: the ``subsystem`` link, the ``bus/*/devices``
or ``class/*`` entry, the ``uevent`` file, the driver directory, and
``kernel/iommu_groups/N/devices/*`` from each ``iommu_group`` link. All links
are relative, as umockdev needs them.

This module imports nothing from pytest.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import attrs

from ._errors import FixtureError

__all__ = [
    "RecordedDevice",
    "Recording",
    "fixture_names",
    "fixture_path",
    "load_recording",
    "materialize",
    "parse_recording",
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


_LINE_TYPES = ("P", "E", "A", "H", "L", "N", "S")


@attrs.define
class _Parser:
    source: str
    devices: list[RecordedDevice] = attrs.Factory(list)
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
    return Recording(source=source, devices=tuple(parser.devices))


def _fixtures_dir() -> Path:
    # Installed: package data under hostpassthru/fixtures. From a checkout
    # (an editable install): the repository's top-level fixtures/ directory.
    packaged = Path(str(resources.files("hostpassthru"))) / "fixtures"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "fixtures"


def fixture_names() -> tuple[str, ...]:
    """The names of the fixtures that ship with hostpassthru, sorted."""
    directory = _fixtures_dir()
    if not directory.is_dir():
        return ()
    return tuple(sorted(p.name[: -len(_SUFFIX)] for p in directory.glob(f"*{_SUFFIX}")))


def fixture_path(name: str) -> Path:
    """The file of the shipped fixture *name*; raises FixtureError for an unknown name."""
    path = _fixtures_dir() / f"{name}{_SUFFIX}"
    if not path.is_file():
        known = ", ".join(fixture_names()) or "none"
        raise FixtureError(name, None, f"no such fixture (known: {known})")
    return path


def load_recording(source: str | os.PathLike[str]) -> Recording:
    """Parse a shipped fixture by name, or a recording file by path."""
    text_source = os.fspath(source)
    if (
        os.sep not in text_source
        and not text_source.endswith(_SUFFIX)
        and not os.path.exists(
            text_source,
        )
    ):
        path = fixture_path(text_source)
    else:
        path = Path(text_source)
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise FixtureError(str(path), None, exc.strerror or str(exc)) from None
    return parse_recording(text, str(path))


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


def materialize(recording: Recording | str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Write *recording* as a sysfs tree under ``DEST/sys``; returns that sysfs root.

    *recording* is a parsed Recording, a shipped fixture's name or a file's path.
    """
    if not isinstance(recording, Recording):
        recording = load_recording(recording)
    root = os.path.join(os.path.abspath(os.fspath(dest)), "sys")
    for top in ("bus", "class", "devices", "kernel/iommu_groups"):
        os.makedirs(os.path.join(root, top), exist_ok=True)
    for dev in recording.devices:
        _materialize_device(root, dev)
    return root


def _materialize_device(root: str, dev: RecordedDevice) -> None:
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
