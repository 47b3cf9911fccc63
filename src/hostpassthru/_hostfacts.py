"""Live facts a binding needs beyond the device tree, read with plain file calls.

The loaded PCI drivers and their modules, the /dev files that processes
hold open, the ``vfio_pci:`` aliases of modules.alias, and, while a plan is
carried out, one device's driver, override and identity as they are now.
"""

from __future__ import annotations

import os

import attrs

from ._rules import override_driver

__all__ = [
    "DeviceState",
    "device_state",
    "loaded_drivers",
    "modules_alias_path",
    "open_dev_files",
    "parse_hex",
    "read_text",
    "vfio_aliases",
]


def _link_name(path: str) -> str | None:
    try:
        return os.path.basename(os.readlink(path).rstrip("/"))
    except OSError:
        return None


def read_text(path: str) -> str | None:
    """A sysfs file's text, stripped; None where it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def loaded_drivers(sysfs: str) -> dict[str, str | None] | None:
    """PCI driver -> its module (None for a built-in one); None where sysfs has no list."""
    top = f"{sysfs}/bus/pci/drivers"
    try:
        names = sorted(os.listdir(top))
    except OSError:
        return None
    # A module's drivers link to it through drivers/<d>/module; a built-in driver
    # has no such link (and no entry in /proc/modules), but it has its directory.
    return {name: _link_name(f"{top}/{name}/module") for name in names}


def open_dev_files(proc: str | None) -> dict[str, tuple[int, ...]] | None:
    """/dev path -> the processes that hold it open; None where /proc cannot be read."""
    if proc is None:
        return None
    try:
        entries = os.listdir(proc)
    except OSError:
        return None
    held: dict[str, list[int]] = {}
    for entry in entries:
        if not entry.isdigit():
            continue
        fd_dir = f"{proc}/{entry}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone meanwhile, or another user's (not root)
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if target.startswith("/dev/"):
                pids = held.setdefault(target, [])
                if int(entry) not in pids:
                    pids.append(int(entry))
    return {path: tuple(sorted(pids)) for path, pids in held.items()}


def modules_alias_path(sysfs: str) -> str:
    """modules.alias of the running kernel, or ``TOP/lib/modules/modules.alias`` for a fake host."""
    norm = os.path.normpath(sysfs)
    if norm == "/sys":
        return f"/lib/modules/{os.uname().release}/modules.alias"
    return os.path.join(os.path.dirname(norm), "lib", "modules", "modules.alias")


def vfio_aliases(path: str) -> tuple[tuple[str, str], ...]:
    """The ``alias vfio_pci:PATTERN MODULE`` lines of a modules.alias file, in order."""
    out = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) == 3 and fields[0] == "alias" and fields[1].startswith("vfio_pci:"):
                    out.append((fields[1], fields[2]))
    except OSError:
        return ()
    return tuple(out)


@attrs.frozen(kw_only=True)
class DeviceState:
    """One PCI device as it is now: None in every field when it is gone."""

    present: bool
    #: Device directory relative to the sysfs root.
    path: str | None = None
    driver: str | None = None
    #: driver_override; None when unset ("(null)").
    override: str | None = None
    vendor_id: int | None = None
    product_id: int | None = None
    subsystem_vendor_id: int | None = None
    subsystem_product_id: int | None = None
    #: The IOMMU group, from the device's own ``iommu_group`` link.
    group: int | None = None


def parse_hex(text: str | None) -> int | None:
    """A hexadecimal sysfs value (``0x10de``); None for no text or a malformed one."""
    try:
        return None if text is None else int(text, 16)
    except ValueError:
        return None


def device_state(sysfs: str, sys_name: str) -> DeviceState:
    """Read one PCI device's driver, override and identity afresh."""
    link = f"{sysfs}/bus/pci/devices/{sys_name}"
    if not os.path.isdir(link):
        return DeviceState(present=False)
    real = os.path.realpath(link)
    prefix = os.path.realpath(sysfs) + "/"
    override = read_text(f"{link}/driver_override")
    return DeviceState(
        present=True,
        path=real.removeprefix(prefix),
        driver=_link_name(f"{link}/driver"),
        override=override_driver(override),
        vendor_id=parse_hex(read_text(f"{link}/vendor")),
        product_id=parse_hex(read_text(f"{link}/device")),
        subsystem_vendor_id=parse_hex(read_text(f"{link}/subsystem_vendor")),
        subsystem_product_id=parse_hex(read_text(f"{link}/subsystem_device")),
        group=int(g) if (g := _link_name(f"{link}/iommu_group")) and g.isdigit() else None,
    )
