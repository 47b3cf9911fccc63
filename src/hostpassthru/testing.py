r"""Fake hosts for tests: recordings in umockdev's format, materialised as sysfs trees.

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

This module imports nothing from pytest.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import FixtureError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "FakeHost",
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


def _fixtures_candidates() -> tuple[Path, Path]:
    # Installed: package data under hostpassthru/fixtures. From a checkout
    # (an editable install): the repository's top-level fixtures/ directory.
    return (
        Path(str(resources.files("hostpassthru"))) / "fixtures",
        Path(__file__).resolve().parents[2] / "fixtures",
    )


def _fixtures_dir() -> Path:
    packaged, checkout = _fixtures_candidates()
    return packaged if packaged.is_dir() else checkout


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
    top = os.path.dirname(root)
    for name, text in recording.files:
        _write(top + name, text.encode("utf-8", "surrogateescape"))
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


def _block(
    path: str,
    subsystem: str,
    *,
    properties: Mapping[str, object] | None = None,
    attributes: Mapping[str, object] | None = None,
    links: Mapping[str, str | None] | None = None,
) -> RecordedDevice:
    properties = properties or {}
    attributes = attributes or {}
    links = links or {}
    return RecordedDevice(
        path=path,
        properties=(("SUBSYSTEM", subsystem), *((k, str(v)) for k, v in properties.items())),
        attributes=tuple((k, f"{v}\n") for k, v in attributes.items() if v is not None),
        links=tuple((k, v) for k, v in links.items() if v is not None),
    )


def _up(path: str) -> str:
    """The ``../`` that climbs from device directory *path* to the sysfs root."""
    return "../" * path.strip("/").count("/") + ".."


class FakeHost:
    """A host described in a few lines, written as a sysfs tree as each device is added.

    Works on a real directory and on a pyfakefs filesystem alike. Each ``add_*``
    returns the builder, so calls chain::

        host = (
            FakeHost(tmp_path)
            .add_pci("0000:00:01.0", cls=0x060400, driver="pcieport", group=1)
            .add_pci("0000:01:00.0", parent="0000:00:01.0", cls=0x030000, group=1)
        )
        hp.scan(sysfs=host.root)

    *parent* is a kernel name added before; a device without one sits on the
    root bus its address names (``pci0000:00``).
    """

    def __init__(
        self,
        top: str | os.PathLike[str],
        *,
        read_text: Callable[[Path], str] | None = None,
    ) -> None:
        self.top = os.path.abspath(os.fspath(top))
        #: The sysfs root to scan: ``TOP/sys``.
        self.root = materialize(Recording(source="<FakeHost>", devices=()), self.top)
        self._paths: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._read_text = read_text or (
            lambda p: p.read_text(encoding="utf-8", errors="surrogateescape")
        )

    def _add(self, dev: RecordedDevice) -> None:
        _materialize_device(self.root, dev)

    def _path_of(self, parent: str) -> str:
        try:
            return self._paths[parent]
        except KeyError:
            raise FixtureError("<FakeHost>", None, f"no device {parent!r} added yet") from None

    def add_pci(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        address: str,
        *,
        parent: str | None = None,
        cls: int = 0x020000,
        vendor: int = 0x8086,
        device: int = 0x1533,
        driver: str | None = None,
        group: int | None = None,
        numa_node: int = -1,
        physfn: str | None = None,
    ) -> FakeHost:
        """Add a PCI function at *address* (``0000:01:00.0``)."""
        if parent is None:
            domain, bus = address.split(":")[:2]
            path = f"/devices/pci{domain}:{bus}/{address}"
        else:
            path = f"{self._path_of(parent)}/{address}"
        up = _up(path)
        self._add(
            _block(
                path,
                "pci",
                properties={"PCI_SLOT_NAME": address, **({"DRIVER": driver} if driver else {})},
                attributes={
                    "class": f"0x{cls:06x}",
                    "vendor": f"0x{vendor:04x}",
                    "device": f"0x{device:04x}",
                    "subsystem_vendor": f"0x{vendor:04x}",
                    "subsystem_device": "0x0000",
                    "revision": "0x00",
                    "numa_node": numa_node,
                },
                links={
                    "driver": driver and f"{up}/bus/pci/drivers/{driver}",
                    "iommu_group": None if group is None else f"{up}/kernel/iommu_groups/{group}",
                    "physfn": physfn and f"../{physfn}",
                },
            ),
        )
        self._paths[address] = path
        self._kinds[address] = "pci"
        return self

    def add_usb(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        name: str,
        *,
        parent: str,
        vendor: int = 0x046D,
        product: int = 0xC52B,
        device_class: int = 0,
        interfaces: tuple[int, ...] = (3,),
        driver: str | None = "usb",
        serial: str | None = None,
        speed: str = "480",
    ) -> FakeHost:
        """Add USB device *name* (``usb1``, ``1-2``, ``1-2.3``) under *parent*.

        A root hub (``usbN``) goes under its PCI controller; other devices under
        a hub. Each class in *interfaces* becomes an interface of configuration 1.
        """
        path = f"{self._path_of(parent)}/{name}"
        up = _up(path)
        bus = name[3:] if name.startswith("usb") else name.split("-", maxsplit=1)[0]
        devnum = sum(1 for n in self._paths if n.startswith((f"{bus}-", f"usb{bus}"))) + 1
        self._add(
            _block(
                path,
                "usb",
                properties={"DEVTYPE": "usb_device", "BUSNUM": bus, "DEVNUM": devnum},
                attributes={
                    "idVendor": f"{vendor:04x}",
                    "idProduct": f"{product:04x}",
                    "bDeviceClass": f"{device_class:02x}",
                    "busnum": bus,
                    "devnum": devnum,
                    "speed": speed,
                    "serial": serial,
                },
                links={"driver": driver and f"{up}/bus/usb/drivers/{driver}"},
            ),
        )
        base = f"{bus}-0" if name.startswith("usb") else name
        for i, cls in enumerate(interfaces):
            self._add(
                _block(
                    f"{path}/{base}:1.{i}",
                    "usb",
                    properties={"DEVTYPE": "usb_interface"},
                    attributes={"bInterfaceClass": f"{cls:02x}", "bInterfaceNumber": f"{i:02x}"},
                ),
            )
        self._paths[name] = path
        self._kinds[name] = "usb"
        return self

    def add_scsi(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        hctl: str,
        *,
        parent: str,
        type: int = 0,  # noqa: A002 - the SCSI attribute's own name
        vendor: str = "ATA",
        model: str = "Fake Disk",
        driver: str | None = "sd",
        block: str | None = "sda",
        generic: str | None = "sg0",
    ) -> FakeHost:
        """Add SCSI device *hctl* (``0:0:0:0``) under a PCI HBA or a USB storage device."""
        host_no, channel, target, _ = hctl.split(":")
        top = self._path_of(parent)
        if self._kinds[parent] == "usb":
            top += f"/{parent}:1.0"  # USB storage: the SCSI host hangs off its interface
        path = f"{top}/host{host_no}/target{host_no}:{channel}:{target}/{hctl}"
        up = _up(path)
        self._add(
            _block(
                path,
                "scsi",
                properties={"DEVTYPE": "scsi_device"},
                attributes={"type": type, "vendor": vendor, "model": model},
                links={"driver": driver and f"{up}/bus/scsi/drivers/{driver}"},
            ),
        )
        self._add(
            _block(
                f"{path}/scsi_device/{hctl}", "scsi_device", links={"device": "../../../" + hctl}
            )
        )
        if block:
            self._add(_block(f"{path}/block/{block}", "block", properties={"DEVTYPE": "disk"}))
        if generic:
            self._add(_block(f"{path}/scsi_generic/{generic}", "scsi_generic"))
        self._paths[hctl] = path
        self._kinds[hctl] = "scsi"
        return self

    def load(self, source: str | os.PathLike[str]) -> FakeHost:
        """Add every device of a shipped fixture (by name) or a recording (by path)."""
        text_source = os.fspath(source)
        path = (
            fixture_path(text_source)
            if os.sep not in text_source and not text_source.endswith(_SUFFIX)
            else Path(text_source)
        )
        try:
            text = self._read_text(path)
        except OSError as exc:
            raise FixtureError(str(path), None, exc.strerror or str(exc)) from None
        recording = parse_recording(text, str(path))
        for dev in recording.devices:
            self._add(dev)
        for name, content in recording.files:
            _write(self.top.rstrip("/") + name, content.encode("utf-8", "surrogateescape"))
        return self
