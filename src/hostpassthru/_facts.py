"""The readiness reader: class devices (block, net, graphics, iommu) and a few /proc files."""

from __future__ import annotations

import os

from ._records import ClassDeviceRecord, ProcRecord
from ._sysfs import Problems, read_attribute, relative_path

__all__ = ["CLASSES", "read_class_devices", "read_proc"]

#: Class -> the attributes read for each of its devices.
CLASSES: dict[str, tuple[str, ...]] = {
    "block": ("dev",),
    "net": ("operstate",),
    "graphics": (),
    "iommu": (),
}


def _listdir(path: str, problems: Problems, what: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        problems.append(f"{what}: cannot list ({exc.strerror or type(exc).__name__})")
        return []


def read_class_devices(root: str, problems: Problems) -> list[ClassDeviceRecord]:
    """Block devices with their holders, network interfaces, framebuffers and IOMMU units."""
    records = []
    for subsystem, attributes in CLASSES.items():
        top = f"{root}/class/{subsystem}"
        for name in _listdir(top, problems, f"class/{subsystem}"):
            path = relative_path(root, f"{top}/{name}")
            if path is None:
                continue
            values = {}
            for attribute in attributes:
                value = read_attribute(root, name, path, attribute, problems)
                if value is not None:
                    values[attribute] = value
            holders: tuple[str, ...] = ()
            if subsystem == "block":
                holders = tuple(_listdir(f"{root}/{path}/holders", problems, f"{name}: holders"))
            records.append(
                ClassDeviceRecord(
                    subsystem=subsystem,
                    name=name,
                    path=path,
                    attributes=values,
                    holders=holders,
                ),
            )
    return records


def _read(path: str, problems: Problems) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        problems.append(f"{path}: unreadable ({exc.strerror or type(exc).__name__})")
        return None


def read_proc(proc: str, problems: Problems) -> ProcRecord:
    """The /proc files the readiness checks need, as text; None for each one missing."""
    return ProcRecord(
        cmdline=_read(f"{proc}/cmdline", problems),
        mountinfo=_read(f"{proc}/self/mountinfo", problems),
        swaps=_read(f"{proc}/swaps", problems),
        route=_read(f"{proc}/net/route", problems),
        interrupts=_read(f"{proc}/interrupts", problems),
    )
