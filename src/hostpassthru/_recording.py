r"""umockdev's record format: parse it, write it, lay it out as a tree, or replay it from memory.

A recording is what ``umockdev-record`` writes: one block per device, blank
lines between blocks, each line a letter, a colon and a space::

    P: /devices/pci0000:00/0000:00:1f.2      the device directory, under /sys
    E: SUBSYSTEM=pci                         a uevent property
    A: class=0x010601\n                      an attribute file (C escapes)
    H: config=8680022a...                    a binary attribute file, in hex
    L: driver=../../../bus/pci/drivers/ahci  a symlink in the device directory

``N:`` and ``S:`` lines (device nodes and their symlinks) are accepted and
not needed; lines starting with ``#`` are comments. The /proc files that
readiness checks read travel in one block of their own, which umockdev loads
as an unread device (:data:`PROC_BLOCK`); older recordings carried them as
``F: /proc/cmdline=...`` lines, which are still read. docs/recording-format.md
describes it all.

:func:`materialize` writes a recording under ``DEST/sys`` with plain ``os``
calls (a real directory or pyfakefs alike), adding what the kernel would:
the ``subsystem`` link, the ``bus/*/devices`` or ``class/*`` entry, the
``uevent`` file, the driver directory, and ``kernel/iommu_groups/N/devices/*``
from each ``iommu_group`` link, and the ``class/mdev_bus`` entry of a device
with ``mdev_supported_types/`` attributes (a mediated-device parent).
:func:`snapshot` gives what the path reader would find in that tree, without
writing it; :func:`read_snapshot` does the same for a file, parsing it
straight into the in-memory tree (what ``--replay`` does).
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import TYPE_CHECKING, Any, Literal, Protocol

import attrs

from . import _sysfs
from ._collector import collector_paused
from ._errors import FixtureError
from ._records import (
    PROC_FILES,
    ClassDeviceRecord,
    DeviceRecord,
    Kind,
    MdevTypeRecord,
    ProcRecord,
    Snapshot,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BUSES",
    "PROC_BLOCK",
    "RecordedDevice",
    "Recording",
    "dump",
    "escape",
    "is_export_db",
    "materialize",
    "materialize_device",
    "parse_export_db",
    "parse_recording",
    "read_any",
    "read_recording",
    "read_snapshot",
    "snapshot",
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
        "mdev",
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
        return _subsystem(self.properties, self.links)


def _subsystem(
    properties: Sequence[tuple[str, str]], links: Sequence[tuple[str, str]]
) -> str | None:
    """A block's SUBSYSTEM property, or the last component of its ``subsystem`` link."""
    for key, value in properties:
        if key == "SUBSYSTEM":
            return value
    for key, value in links:
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
    #: "umockdev" (umockdev-record, hostpassthru record) or "export-db" (udevadm's database).
    format: Literal["umockdev", "export-db"] = "umockdev"
    #: What reading it skipped or guessed, as lines for Host.problems.
    problems: tuple[str, ...] = ()


_ESCAPE = re.compile(r"\\([0-7]{1,3}|.)", re.DOTALL)


def _unescape(text: str) -> str:
    """Undo GLib's g_strescape(), which umockdev-record applies to attribute text."""
    backslashes = text.count("\\")
    if backslashes == text.count("\\n"):
        # No escape but \n (most attributes end with one): no backslash is escaped.
        return text.replace("\\n", "\n") if backslashes else text
    return _ESCAPE.sub(_unescaped, text)


def _unescaped(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "01234567":
        return chr(int(code, 8))
    return _ESCAPES.get(code, code)


_LINE_TYPES = ("P", "E", "A", "H", "L", "N", "S", "F")
#: The lines of a block, which parse_recording() takes without a call each.
_ENTRIES = frozenset({"E: ", "A: ", "H: ", "L: "})

#: The block that carries the /proc files a recording holds, one attribute per
#: file (``A: self/mountinfo=...``): umockdev loads it as a device of its own
#: subsystem, which nothing reads; hostpassthru reads it as ``/proc``.
PROC_BLOCK = "/devices/virtual/hostpassthru/proc"


def parse_recording(text: str, source: str = "<string>") -> Recording:
    """Parse a recording's text; raises FixtureError naming the line that is wrong."""
    parsed = _Parsed()
    with collector_paused():
        _parse(text.splitlines(), source, parsed)
    return Recording(source=source, devices=tuple(parsed.devices), files=tuple(parsed.files))


class _Sink(Protocol):
    """What :func:`_parse` hands each block and each /proc file to."""

    def block(
        self,
        path: str,
        properties: list[tuple[str, str]],
        attributes: list[tuple[str, str]],
        binary: list[tuple[str, bytes]],
        links: list[tuple[str, str]],
    ) -> None: ...

    def proc_file(self, name: str, text: str) -> None: ...


@attrs.define
class _Parsed:
    """The sink that keeps what it is given, for a :class:`Recording`."""

    devices: list[RecordedDevice] = attrs.Factory(list)
    files: list[tuple[str, str]] = attrs.Factory(list)

    def block(
        self,
        path: str,
        properties: list[tuple[str, str]],
        attributes: list[tuple[str, str]],
        binary: list[tuple[str, bytes]],
        links: list[tuple[str, str]],
    ) -> None:
        self.devices.append(
            RecordedDevice(
                path=path,
                properties=tuple(properties),
                attributes=tuple(attributes),
                binary_attributes=tuple(binary),
                links=tuple(links),
            ),
        )

    def proc_file(self, name: str, text: str) -> None:
        self.files.append((name, text))


def _parse(lines: list[str], source: str, sink: _Sink) -> None:
    """Hand the blocks and /proc files of a recording's lines to *sink*, in one pass.

    A block's E:, A:, H: and L: lines and its P: line are taken in the loop,
    without a call each (they are nearly all the lines of a big recording);
    :func:`_other_line` takes the rest and says what is wrong.
    """
    path: str | None = None
    properties: list[tuple[str, str]] = []
    attributes: list[tuple[str, str]] = []
    binary: list[tuple[str, bytes]] = []
    links: list[tuple[str, str]] = []
    for number, line in enumerate(lines, 1):
        tag = line[:3]
        if tag in _ENTRIES and path is not None:
            key, eq, value = line[3:].partition("=")
            if not eq or not key or key[0] == "/" or (".." in key and ".." in key.split("/")):
                raise FixtureError(source, number, f"want NAME=VALUE, not {line[3:]!r}")
            if tag == "E: ":
                properties.append((key, value))
            elif tag == "A: ":
                attributes.append((key, _unescape(value) if "\\" in value else value))
            elif tag == "L: ":
                links.append((key, value))
            else:
                binary.append((key, _from_hex(source, number, key, value)))
        elif tag == "P: ":
            _close(path, (properties, attributes, binary, links), sink)
            rest = line[3:]
            if not rest.startswith("/devices/") or ".." in rest.split("/"):
                raise FixtureError(source, number, f"P: wants a path under /devices, not {rest!r}")
            path = rest.rstrip("/")
            properties, attributes, binary, links = [], [], [], []
        elif line.strip() and line[0] != "#":  # not a blank line, not a comment
            _other_line(sink, source, number, line, has_block=path is not None)
    _close(path, (properties, attributes, binary, links), sink)


def _from_hex(source: str, number: int, key: str, value: str) -> bytes:
    """The bytes of an H: line."""
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise FixtureError(source, number, f"H: {key} is not hex") from None


_Block = tuple[
    list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, bytes]], list[tuple[str, str]]
]


def _close(path: str | None, block: _Block, sink: _Sink) -> None:
    """A finished block (E:, A:, H: and L: lines) to *sink*, the /proc one as files."""
    properties, attributes, binary, links = block
    if path == PROC_BLOCK:
        for key, text in attributes:
            sink.proc_file(f"/proc/{key}", text)
        for key, data in binary:
            sink.proc_file(f"/proc/{key}", data.decode("utf-8", "surrogateescape"))
    elif path is not None:
        sink.block(path, properties, attributes, binary, links)


def _other_line(sink: _Sink, source: str, number: int, line: str, *, has_block: bool) -> None:
    """A line that is not one of a block's: N: and S: (skipped), F: (a /proc file), or wrong."""
    tag, sep, rest = line.partition(": ")
    if not sep and line[:1] in _LINE_TYPES and line[1:] == ":":
        tag, rest = line[0], ""  # a type with nothing after it: "E:"
    elif not sep or tag not in _LINE_TYPES:
        raise FixtureError(source, number, f"not a recording line: {line!r}")
    if tag in ("N", "S"):  # device nodes and their symlinks: not needed here
        return
    if tag == "F":
        name, eq, text = rest.partition("=")
        parts = name.split("/")
        if not eq or parts[:2] != ["", "proc"] or len(parts) < 3 or ".." in parts:
            raise FixtureError(source, number, f"F: wants /proc/...=TEXT, not {rest!r}")
        sink.proc_file(name, _unescape(text))
        return
    if tag == "P":
        raise FixtureError(source, number, f"P: wants a path under /devices, not {rest!r}")
    if not has_block:
        raise FixtureError(source, number, "a device line before the first P: line")
    # "E:" and the like with nothing after them: the lines with more were taken in _parse.
    raise FixtureError(source, number, f"want NAME=VALUE, not {rest!r}")


# `udevadm info --export-db` (systemd's udevadm): P: and E: lines as in umockdev's
# format, and lines umockdev's format lacks: M: (kernel name), R: (number),
# U: (subsystem), T: (devtype), D: (node type and numbers), N: (node name),
# L: (link priority, a number), S: (node symlink), Q: (disk sequence), V: (driver),
# I: (initialisation time), J: (device id), G:/Q:/W: (tags, seqnums) in newer ones.
_DB_ONLY = frozenset("MRUTDIJVQGWCB")
_LINK_PRIORITY = re.compile(r"L: -?\d+\Z")


def is_export_db(text: str) -> bool:
    """Whether *text* is a ``udevadm info --export-db`` dump rather than a recording."""
    for line in text.splitlines():
        if line[1:3] == ": " and (line[0] in _DB_ONLY or _LINK_PRIORITY.match(line)):
            return True
    return False


def parse_export_db(text: str, source: str = "<string>") -> Recording:
    """Parse a ``udevadm info --export-db`` dump: its devices' paths and properties.

    The lines that carry no property are skipped and counted in the
    recording's problems; U:, T: and V: stand in for a missing SUBSYSTEM,
    DEVTYPE or DRIVER property.
    """
    devices: list[RecordedDevice] = []
    skipped: dict[str, int] = {}
    path: str | None = None
    properties: dict[str, str] = {}
    fallback: dict[str, str] = {}

    def close() -> None:
        if path is not None:
            merged = {**fallback, **properties}
            devices.append(RecordedDevice(path=path, properties=tuple(merged.items())))

    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        tag, sep, rest = line.partition(": ")
        if sep and tag == "P" and rest.startswith("/devices/") and ".." not in rest.split("/"):
            close()
            path, properties, fallback = rest.rstrip("/"), {}, {}
        elif sep and tag == "E" and "=" in rest and path is not None:
            key, _, value = rest.partition("=")
            properties[key] = value
        else:
            if sep and tag in ("U", "T", "V") and path is not None:
                fallback[{"U": "SUBSYSTEM", "T": "DEVTYPE", "V": "DRIVER"}[tag]] = rest
            kind = f"{tag}:" if sep and len(tag) == 1 else "other"
            skipped[kind] = skipped.get(kind, 0) + 1
    close()
    problems = [
        (
            f"{source}: a udevadm info --export-db dump: properties only, no attribute files "
            "or links; facts the rules need come from properties, and IOMMU groups are unknown"
        )
    ]
    if skipped:
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(skipped.items()))
        problems.append(f"{source}: skipped lines of types umockdev's format lacks ({counts})")
    return Recording(
        source=source, devices=tuple(devices), format="export-db", problems=tuple(problems)
    )


def read_any(text: str, source: str = "<string>") -> Recording:
    """A recording or an export-db dump, told apart by the line types it uses.

    Every line that makes a dump (:func:`is_export_db`) is one that
    :func:`parse_recording` refuses, so a text it parses is a recording, and
    the look for a dump's lines is needed only when it fails.
    """
    try:
        return parse_recording(text, source)
    except FixtureError:
        if is_export_db(text):
            return parse_export_db(text, source)
        raise


def escape(text: str) -> str:
    """GLib's g_strescape() for the printable text that reaches a recording."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace('"', '\\"')


def dump(recording: Recording) -> str:
    """The text of *recording*, as umockdev and :func:`parse_recording` read it.

    No comment lines (umockdev wants a ``P:`` line first), and every block has
    a SUBSYSTEM. The /proc files go into the block at :data:`PROC_BLOCK`.
    """
    devices = list(recording.devices)
    if recording.files:
        devices.insert(
            0,
            RecordedDevice(
                path=PROC_BLOCK,
                properties=(("SUBSYSTEM", "hostpassthru"),),
                attributes=tuple(
                    (name.removeprefix("/proc/"), text) for name, text in recording.files
                ),
            ),
        )
    return "".join("\n".join(_block_lines(dev)) + "\n\n" for dev in devices)


def _block_lines(dev: RecordedDevice) -> list[str]:
    lines = [f"P: {dev.path}"]
    lines += [f"E: {key}={value}" for key, value in dev.properties]
    lines += [f"A: {key}={escape(text)}" for key, text in dev.attributes]
    lines += [f"H: {key}={data.hex().upper()}" for key, data in dev.binary_attributes]
    lines += [f"L: {key}={target}" for key, target in dev.links]
    return lines


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Parse the recording (or export-db dump) in the file at *path*; raises FixtureError."""
    source, text = _read_file(path)
    return read_any(text, source)


def _read_file(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The name and text of the file at *path*; raises FixtureError."""
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8", errors="surrogateescape") as f:
            return source, f.read()
    except OSError as exc:
        raise FixtureError(source, None, exc.strerror or str(exc)) from None


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
    _write(os.path.join(directory, "uevent"), uevent.encode("utf-8", "surrogateescape"))
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
    if any(key.startswith("mdev_supported_types/") for key, _ in dev.attributes):
        # The kernel links every registered mediated-device parent into class/mdev_bus.
        _symlink(directory, os.path.join(root, "class", "mdev_bus", name))
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


# Replay from memory: the tree that materialize() would write, held in dicts,
# and the path reader's walk over it. tests/test_replay.py checks that both
# give the same snapshot for every fixture and for random recordings.


class _MissingError(Exception):
    """No such file (ENOENT)."""


class _NotLinkError(Exception):
    """Not a symlink (EINVAL)."""


class _IsDirectoryError(Exception):
    """A directory where a file was read (EISDIR)."""


#: What the path reader reads of an attribute file: a page (_sysfs._read_attributes).
_PAGE = 4096

#: Where the replayed tree sits, for the arithmetic of links that leave it.
_TOP = "/replay/sys"


def _last(target: str, directory: str) -> str:
    """The last part of the relative link from *directory* to *target* (both below the root)."""
    if target == directory:
        return "."
    if directory.startswith(f"{target}/") or not target:
        return ".."
    return target.rpartition("/")[2]


def _resolve(directory: str, target: str) -> tuple[str | None, str]:
    """*target* taken from *directory*: the path below the root, and readlink's last part.

    The path is None outside the root (or for the root itself); the last part
    is that of the relative link that materialize() writes.
    """
    parts = directory.split("/") if directory else []
    if not target.startswith("/"):
        for part in target.split("/"):
            if part == "..":
                if not parts:
                    break  # leaves the root: the slow way below
                parts.pop()
            elif part and part != ".":
                parts.append(part)
        else:
            inside = "/".join(parts)
            return inside or None, _last(inside, directory)
    here = f"{_TOP}/{directory}" if directory else _TOP
    full = posixpath.normpath(posixpath.join(here, target))
    last = posixpath.relpath(full, here).rpartition("/")[2]
    return (full[len(_TOP) + 1 :] if full.startswith(f"{_TOP}/") else None), last


@attrs.define
class _MemoryTree:
    """The files, directories and links that :func:`materialize` would write, by path."""

    #: Path -> contents: text as the recording gives it, or bytes (H: lines).
    files: dict[str, str | bytes] = attrs.Factory(dict)
    dirs: set[str] = attrs.Factory(lambda: {""})
    #: Link path -> (target relative to the root or None outside it, the link text's last part).
    links: dict[str, tuple[str | None, str]] = attrs.Factory(dict)
    #: Directory -> the names in it.
    children: dict[str, set[str]] = attrs.Factory(dict)
    #: The recording's /proc files (path from the top, text), when it is parsed into the tree.
    proc: list[tuple[str, str]] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        for top in ("bus", "class", "devices", "kernel/iommu_groups"):
            self.mkdirs(top)

    def mkdirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            parent, _, name = path.rpartition("/")
            self.children.setdefault(parent, set()).add(name)
            path = parent

    def write(self, path: str, data: str | bytes) -> None:
        parent, _, name = path.rpartition("/")
        self.mkdirs(parent)
        self.children.setdefault(parent, set()).add(name)
        self.files[path] = data

    def link(self, link: str, target: tuple[str | None, str]) -> None:
        parent, _, name = link.rpartition("/")
        self.mkdirs(parent)
        self.children.setdefault(parent, set()).add(name)
        self.links[link] = target

    def symlink(self, target: str, link: str) -> None:
        """A relative link at *link* to *target* (both below the root)."""
        directory = link.rpartition("/")[0]
        self.link(link, (target or None, _last(target, directory)))

    def add(self, dev: RecordedDevice) -> None:
        """What materialize_device() writes for *dev*."""
        self.block(dev.path, dev.properties, dev.attributes, dev.binary_attributes, dev.links)

    def block(
        self,
        path: str,
        properties: Sequence[tuple[str, str]],
        attributes: Sequence[tuple[str, str]],
        binary: Sequence[tuple[str, bytes]],
        links: Sequence[tuple[str, str]],
    ) -> None:
        """What materialize_device() writes for the block of the device at *path*.

        What goes into the device directory itself (most of a recording) is
        written without a call for each file or link, as write() and link()
        would write it. Text is kept as text; text() encodes it only where it
        must.
        """
        directory = path.strip("/")
        if directory not in self.dirs:
            self.mkdirs(directory)
        names = self.children.setdefault(directory, set())
        self.add_files(directory, names, properties, attributes, binary)
        if links:
            self.add_links(directory, names, links)
        subsystem = _subsystem(properties, links)
        if subsystem:
            self.add_subsystem(directory, names, subsystem)

    def proc_file(self, name: str, text: str) -> None:
        """A /proc file of the recording, kept for the snapshot's ``proc``."""
        self.proc.append((name, text))

    def add_files(
        self,
        directory: str,
        names: set[str],
        properties: Sequence[tuple[str, str]],
        attributes: Sequence[tuple[str, str]],
        binary: Sequence[tuple[str, bytes]],
    ) -> None:
        """The uevent file and the attribute files of a device in its *directory*."""
        files = self.files
        names.add("uevent")
        files[f"{directory}/uevent"] = "".join(
            [f"{k}={v}\n" for k, v in properties if k != "SUBSYSTEM"]
        )
        parent = False
        for key, text in attributes:
            if "/" in key:
                self.write(f"{directory}/{key}", text)
                parent = parent or key.startswith("mdev_supported_types/")
            else:
                names.add(key)
                files[f"{directory}/{key}"] = text
        for key, data in binary:
            self.write(f"{directory}/{key}", data)
        if parent:
            # The kernel links every registered mediated-device parent into class/mdev_bus.
            self.symlink(directory, f"class/mdev_bus/{directory.rpartition('/')[2]}")

    def add_links(self, directory: str, names: set[str], links: Sequence[tuple[str, str]]) -> None:
        """The L: lines of the device at *directory*, and the group entries they make."""
        for key, target in links:
            link = f"{directory}/{key}"
            resolved, last = _resolve(link.rpartition("/")[0] if "/" in key else directory, target)
            if resolved and key in ("driver", "iommu_group"):
                if resolved not in self.dirs:
                    self.mkdirs(resolved)
                if key == "iommu_group":
                    name = directory.rpartition("/")[2]
                    self.symlink(directory, f"{resolved}/devices/{name}")
            if key == "subsystem":
                continue
            if "/" in key:
                self.link(link, (resolved, last))
            else:
                names.add(key)
                self.links[link] = (resolved, last)

    def add_subsystem(self, directory: str, names: set[str], subsystem: str) -> None:
        """The device's subsystem link, and its entry in ``bus/*/devices`` or ``class/*``."""
        if subsystem in BUSES:
            home = f"bus/{subsystem}"
            top = f"{home}/devices"
        else:
            home = top = f"class/{subsystem}"
        if top not in self.dirs:
            self.mkdirs(top)
        names.add("subsystem")
        self.links[f"{directory}/subsystem"] = (home, _last(home, directory))
        name = directory.rpartition("/")[2]
        self.children.setdefault(top, set()).add(name)
        self.links[f"{top}/{name}"] = (directory or None, _last(directory, top))

    # The calls the path reader makes, over the dicts.

    def follow(self, path: str) -> str | None:
        """*path* with a final symlink followed; None where it dangles."""
        for _ in range(40):  # ELOOP, as the kernel counts
            if path not in self.links:
                return path
            target = self.links[path][0]
            if target is None:
                return None
            path = target
        return None

    def text(self, path: str) -> str | None:
        """As _sysfs reads an attribute: its first 4 KiB, bad UTF-8 replaced, stripped.

        None where there is no such file; raises _IsDirectoryError for a directory.
        """
        real = self.follow(path) if path in self.links else path
        if real is None:
            return None
        data = self.files.get(real)
        if data is None:
            if real in self.dirs:
                raise _IsDirectoryError
            return None
        if isinstance(data, str):
            if data.isascii() and len(data) <= _PAGE:
                return data.strip()  # what the bytes of ASCII text decode to
            data = data.encode("utf-8", "surrogateescape")
        return data[:_PAGE].decode("utf-8", "replace").strip()

    def readlink(self, path: str) -> tuple[str | None, str]:
        if path in self.links:
            return self.links[path]
        if path in self.files or path in self.dirs:
            raise _NotLinkError
        raise _MissingError

    def exists(self, path: str) -> bool:
        real = self.follow(path)
        return real is not None and (real in self.files or real in self.dirs)

    def isdir(self, path: str) -> bool:
        real = self.follow(path)
        return real is not None and real in self.dirs

    def listdir(self, path: str) -> list[str]:
        real = self.follow(path)
        if real is None or real not in self.dirs:
            return []
        return sorted(self.children.get(real, ()))

    def relative_path(self, entry: str) -> str | None:
        """Like _sysfs.relative_path: where a bus or class entry leads."""
        try:
            return self.readlink(entry)[0]
        except _NotLinkError:
            return entry
        except _MissingError:
            return None


@attrs.define
class _Replay:
    """The path reader's walk (``_sysfs.read``) over a :class:`_MemoryTree`."""

    tree: _MemoryTree
    problems: list[str] = attrs.Factory(list)

    def attribute(self, sys_name: str, path: str, name: str) -> str | None:
        try:
            return self.tree.text(f"{path}/{name}")
        except _IsDirectoryError:
            self.problems.append(f"{sys_name}: {name}: unreadable (Is a directory)")
            return None

    def record(
        self,
        kind: Kind,
        sys_name: str,
        path: str,
        *,
        links: bool,
        interface_classes: tuple[str, ...] = (),
    ) -> DeviceRecord | None:
        tree = self.tree
        attributes: dict[str, str] = {}
        missing = self.attributes(sys_name, path, _sysfs.ATTRIBUTES[kind], attributes)
        found: dict[str, str] = {}
        names: tuple[str, ...] = ("driver",)
        if kind == "pci":
            names = ("driver", *(("iommu_group",) if links else ()), "physfn")
        elif kind == "mdev":
            names = ("driver", *(("iommu_group",) if links else ()), "mdev_type")
        for name in names:
            try:
                found[name] = tree.readlink(f"{path}/{name}")[1]
            except _MissingError:
                missing = True
            except _NotLinkError:
                self.problems.append(f"{sys_name}: {name}: not a symlink")
        if missing and not tree.isdir(path):
            return None
        virtfns: tuple[tuple[int, str], ...] = ()
        if "sriov_numvfs" in attributes:
            # As the path reader: the other sriov_* files and the links of a PF only.
            self.attributes(sys_name, path, _sysfs.SRIOV_ATTRIBUTES, attributes)
            if attributes["sriov_numvfs"] not in ("", "0"):
                virtfns = self.virtfns(path)
        if "physfn" in found:
            self.attributes(sys_name, path, _sysfs.VGPU_ATTRIBUTES, attributes)
        return DeviceRecord(
            kind=kind,
            sys_name=sys_name,
            path=path,
            driver=found.get("driver"),
            attributes=attributes,
            has_reset=None
            if kind != "pci"
            else "reset_method" in attributes or tree.exists(f"{path}/reset"),
            iommu_group_link=found.get("iommu_group"),
            physfn=found.get("physfn"),
            interface_classes=interface_classes,
            block=tuple(tree.listdir(f"{path}/block")) if kind == "scsi" else (),
            generic=tuple(tree.listdir(f"{path}/scsi_generic")) if kind == "scsi" else (),
            virtfns=virtfns,
            mdev_type=found.get("mdev_type"),
        )

    def attributes(
        self,
        sys_name: str,
        path: str,
        names: tuple[str, ...],
        into: dict[str, str],
    ) -> bool:
        """Read *names* under *path* into *into*; True if any was missing."""
        missing = False
        tree = self.tree
        files, links, text = tree.files, tree.links, tree.text
        for name in names:
            full = f"{path}/{name}"
            value = files.get(full)
            if (
                full not in links
                and isinstance(value, str)
                and value.isascii()
                and len(value) < _PAGE
            ):
                into[name] = value.strip()  # text() without the call, for the common case
                continue
            try:
                value = text(full)
            except _IsDirectoryError:
                self.problems.append(f"{sys_name}: {name}: unreadable (Is a directory)")
                continue
            if value is None:
                missing = True
            else:
                into[name] = value
        return missing

    def virtfns(self, path: str) -> tuple[tuple[int, str], ...]:
        found = []
        for entry in self.tree.listdir(path):
            number = entry[6:]
            if entry.startswith("virtfn") and number.isascii() and number.isdigit():
                try:
                    found.append((int(number), self.tree.readlink(f"{path}/{entry}")[1]))
                except (_MissingError, _NotLinkError):
                    continue
        return tuple(sorted(found))

    def mdev_types(self, records: list[DeviceRecord]) -> list[MdevTypeRecord]:
        """As _sysfs.read_mdev_types: each PCI node's mediated-device types."""
        found: list[MdevTypeRecord] = []
        if not (self.tree.isdir("bus/mdev") or self.tree.isdir("class/mdev_bus")):
            return found  # as _sysfs._pci_parents: no mdev core, no parent
        for record in records:
            if record.kind != "pci":
                continue
            top = f"{record.path}/mdev_supported_types"
            for type_id in self.tree.listdir(top):
                attributes: dict[str, str] = {}
                base = f"{top}/{type_id}"
                names = _sysfs.MDEV_TYPE_ATTRIBUTES
                self.attributes(f"{record.sys_name}: {type_id}", base, names, attributes)
                found.append(
                    MdevTypeRecord(
                        parent=record.path,
                        type_id=type_id,
                        attributes=attributes,
                        devices=tuple(self.tree.listdir(f"{base}/devices")),
                    ),
                )
        return sorted(found, key=lambda r: (r.parent, r.type_id))

    def groups(self) -> dict[int, tuple[str, ...]]:
        groups: dict[int, tuple[str, ...]] = {}
        for entry in self.tree.listdir("kernel/iommu_groups"):
            if not (entry.isascii() and entry.isdigit()):
                self.problems.append(f"kernel/iommu_groups/{entry}: not a group number")
                continue
            groups[int(entry)] = tuple(self.tree.listdir(f"kernel/iommu_groups/{entry}/devices"))
        return groups

    def entries(self, top: str) -> list[tuple[str, str]]:
        """(name, device path) of each entry of a bus or class directory that leads somewhere."""
        found = []
        for name in self.tree.listdir(top):
            path = self.tree.relative_path(f"{top}/{name}")
            if path is not None:
                found.append((name, path))
        return found

    def nodes(self, links: bool) -> list[DeviceRecord]:
        records = [
            self.record("pci", name, path, links=links)
            for name, path in self.entries("bus/pci/devices")
        ]
        devices = []
        classes: dict[str, list[tuple[str, str]]] = {}
        for name, path in self.entries("bus/usb/devices"):
            uevent = self.attribute(name, path, "uevent")
            devtype = _sysfs.usb_devtype_or_guess(
                name,
                None if uevent is None else _sysfs.usb_devtype(uevent),
                has_uevent=uevent is not None,
            )
            if devtype == "usb_device":
                devices.append((name, path))
            elif devtype == "usb_interface":
                cls = self.attribute(name, path, "bInterfaceClass")
                if cls is not None:
                    classes.setdefault(path.rpartition("/")[0], []).append((path, cls))
        records += [
            self.record(
                "usb_device",
                name,
                path,
                links=False,
                interface_classes=tuple(cls for _, cls in sorted(classes.get(path, ()))),
            )
            for name, path in devices
        ]
        for _, class_path in self.entries("class/scsi_device"):
            # .../0:0:0:0/scsi_device/0:0:0:0: without a "device" link, two levels up.
            path = (
                self.tree.relative_path(f"{class_path}/device")
                or class_path.rpartition("/")[0].rpartition("/")[0]
            )
            records.append(self.record("scsi", path.rpartition("/")[2], path, links=False))
        records += [
            self.record("mdev", name, path, links=links)
            for name, path in self.entries("bus/mdev/devices")
        ]
        return [r for r in records if r is not None]

    def class_devices(self) -> list[ClassDeviceRecord]:
        records = []
        for subsystem, attributes in _sysfs.CLASSES.items():
            for name, path in self.entries(f"class/{subsystem}"):
                values = {}
                for attribute in attributes:
                    value = self.attribute(name, path, attribute)
                    if value is not None:
                        values[attribute] = value
                holders = (
                    tuple(self.tree.listdir(f"{path}/holders")) if subsystem == "block" else ()
                )
                records.append(
                    ClassDeviceRecord(
                        subsystem=subsystem,
                        name=name,
                        path=path,
                        attributes=values,
                        holders=holders,
                    )
                )
        return records


def _proc(files: Sequence[tuple[str, str]]) -> ProcRecord | None:
    """A recording's /proc files, as the path reader reads them from a replayed tree."""
    if not files:
        return None
    texts = {
        name: text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        for name, text in files
    }
    return ProcRecord(**{field: texts.get(f"/proc/{name}") for field, name in PROC_FILES.items()})


def snapshot(recording: Recording) -> Snapshot:
    """What the path reader finds in the tree :func:`materialize` writes, without writing it.

    The snapshot's ``proc`` holds the recording's /proc files, or None where
    it has none.
    """
    with collector_paused():
        # The tree is gone when _snapshot() returns, before the collector resumes:
        # its passes never walk it.
        return _snapshot(recording)


def _snapshot(recording: Recording) -> Snapshot:
    tree = _MemoryTree()
    for dev in recording.devices:
        tree.add(dev)
    return _read_tree(tree, recording.source, recording.files, dump=recording)


def read_snapshot(path: str | os.PathLike[str]) -> Snapshot:
    """:func:`snapshot` of the recording (or export-db dump) in the file at *path*.

    A recording is parsed straight into the in-memory tree, without the
    :class:`Recording` that :func:`read_recording` makes; raises FixtureError.
    """
    source, text = _read_file(path)
    with collector_paused():
        # The text and the tree are gone when _read_snapshot() returns, before the
        # collector resumes.
        return _read_snapshot(text, source)


def _read_snapshot(text: str, source: str) -> Snapshot:
    tree = _MemoryTree()
    try:
        _parse(text.splitlines(), source, tree)
    except FixtureError:
        if is_export_db(text):  # as read_any: what the parse refuses may be a dump
            return _snapshot(parse_export_db(text, source))
        raise
    return _read_tree(tree, source, tree.proc)


def _read_tree(
    tree: _MemoryTree,
    source: str,
    files: Sequence[tuple[str, str]],
    dump: Recording | None = None,
) -> Snapshot:
    """What the path reader reads from *tree*; with *dump*, facts from its properties."""
    replay = _Replay(tree)
    groups = replay.groups()
    records = replay.nodes(links=not groups)
    class_devices = replay.class_devices()
    problems = [*(dump.problems if dump else ()), *replay.problems]
    if dump is not None and dump.format == "export-db":
        records, class_devices = _from_properties(dump, records, class_devices, problems)
    return Snapshot(
        root=source,
        source="recording",
        records=tuple(records),
        groups=groups,
        problems=tuple(problems),
        class_devices=tuple(class_devices),
        proc=_proc(files),
        mdev_types=tuple(replay.mdev_types(records)),
    )


def _hex(value: str, width: int, prefix: str = "0x") -> str | None:
    try:
        return f"{prefix}{int(value, 16):0{width}x}"
    except ValueError:
        return None


def _first_decimal(value: str, width: int) -> str | None:
    """``9/0/1`` (TYPE=, INTERFACE=: class/subclass/protocol in decimal) -> ``09``."""
    try:
        return f"{int(value.split('/', maxsplit=1)[0], 10):0{width}x}"
    except ValueError:
        return None


def _pci_facts(props: dict[str, str]) -> dict[str, str | None]:
    """The PCI attributes a uevent's properties carry: PCI_CLASS=C0330, PCI_ID=8086:A352."""
    vendor, _, device = props.get("PCI_ID", "").partition(":")
    sub_vendor, _, sub_device = props.get("PCI_SUBSYS_ID", "").partition(":")
    return {
        "class": _hex(props["PCI_CLASS"], 6) if "PCI_CLASS" in props else None,
        "vendor": _hex(vendor, 4) if device else None,
        "device": _hex(device, 4) if device else None,
        "subsystem_vendor": _hex(sub_vendor, 4) if sub_device else None,
        "subsystem_device": _hex(sub_device, 4) if sub_device else None,
    }


def _usb_facts(props: dict[str, str]) -> dict[str, str | None]:
    """The USB attributes a uevent's properties carry, and udev's ids.

    ID_VENDOR_ID/ID_MODEL_ID (udev), else PRODUCT=46d/c52b/1201; TYPE=9/0/1
    (the kernel's uevent: ids in hex, classes in decimal); BUSNUM, DEVNUM.
    """
    product = props.get("PRODUCT", "").split("/")
    vendor = props.get("ID_VENDOR_ID") or (product[0] if len(product) == 3 else "")
    model = props.get("ID_MODEL_ID") or (product[1] if len(product) == 3 else "")
    return {
        "idVendor": _hex(vendor, 4, "") if vendor else None,
        "idProduct": _hex(model, 4, "") if model else None,
        "bDeviceClass": _first_decimal(props["TYPE"], 2) if "TYPE" in props else None,
        "busnum": props.get("BUSNUM"),
        "devnum": props.get("DEVNUM"),
    }


def _scsi_facts(props: dict[str, str]) -> dict[str, str | None]:
    """The SCSI type, from MODALIAS=scsi:t-0x05."""
    alias = props.get("MODALIAS", "")
    kind = alias.removeprefix("scsi:t-") if alias.startswith("scsi:t-") else None
    try:
        return {"type": None if kind is None else str(int(kind, 16))}
    except ValueError:
        return {"type": None}


def _from_properties(
    recording: Recording,
    records: list[DeviceRecord],
    class_devices: list[ClassDeviceRecord],
    problems: list[str],
) -> tuple[list[DeviceRecord], list[ClassDeviceRecord]]:
    """A dump has no attribute files: take what the rules need from the properties."""
    props = {dev.path.strip("/"): dict(dev.properties) for dev in recording.devices}
    interfaces: dict[str, list[tuple[str, str]]] = {}
    for path, p in props.items():
        cls = _first_decimal(p["INTERFACE"], 2) if "INTERFACE" in p else None
        if p.get("DEVTYPE") == "usb_interface" and cls is not None:
            interfaces.setdefault(path.rpartition("/")[0], []).append((path, cls))
    facts = {"pci": _pci_facts, "usb_device": _usb_facts, "scsi": _scsi_facts}
    out = []
    for record in records:
        p = props.get(record.path, {})
        found = {k: v for k, v in facts[record.kind](p).items() if v is not None}
        attributes = {**found, **record.attributes}
        changes: dict[str, Any] = {"attributes": attributes}
        if record.driver is None and p.get("DRIVER"):
            changes["driver"] = p["DRIVER"]
        if record.kind == "usb_device" and not record.interface_classes:
            changes["interface_classes"] = tuple(
                c for _, c in sorted(interfaces.get(record.path, ()))
            )
        if record.kind == "pci" and "class" not in attributes:
            problems.append(
                f"{record.sys_name}: class unknown: neither a class attribute nor PCI_CLASS; "
                "whether it is a bridge is unknown"
            )
        out.append(attrs.evolve(record, **changes))
    blocks = []
    for cdev in class_devices:
        p = props.get(cdev.path, {})
        if cdev.subsystem == "block" and "dev" not in cdev.attributes and "MAJOR" in p:
            dev = f"{p['MAJOR']}:{p.get('MINOR', '0')}"
            cdev = attrs.evolve(cdev, attributes={**cdev.attributes, "dev": dev})  # noqa: PLW2901
        blocks.append(cdev)
    return out, blocks
