"""The guest's devices, read by hand from sysfs (independently of hostpassthru).

The devices come from the QEMU options of tests/guest/run.py; they are found
by their ids and place, never by a number a kernel might hand out differently.
"""

from __future__ import annotations

import os

import pytest

GUEST_MARK = "hostpassthru.guest=1"
PCI = "/sys/bus/pci/devices"
E1000E = ("0x8086", "0x10d3")
ICH9_SATA = ("0x8086", "0x2922")


def in_guest() -> bool:
    """True inside the guest that tests/guest/run.py boots, from its kernel command line."""
    try:
        with open("/proc/cmdline", encoding="ascii") as f:
            return GUEST_MARK in f.read().split()
    except OSError:
        return False


SKIP_REASON = (
    "runs only inside the QEMU test guest (python tests/guest/run.py boots it; "
    "tests/test_guest_tier.py runs that)"
)


def require_guest() -> None:
    """Skip the calling test module outside the guest: its tests change real devices."""
    if not in_guest():
        pytest.skip(SKIP_REASON, allow_module_level=True)


def read(path: str) -> str | None:
    """A sysfs attribute, stripped; None where it cannot be read."""
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def driver_of(address: str) -> str | None:
    """The driver bound to a PCI function, read from its ``driver`` link."""
    try:
        return os.path.basename(os.readlink(f"{PCI}/{address}/driver"))
    except OSError:
        return None


def pci_with_ids(ids: tuple[str, str]) -> tuple[str, ...]:
    """The addresses of the PCI functions with these vendor and device ids, sorted."""
    return tuple(
        sorted(
            name
            for name in os.listdir(PCI)
            if (read(f"{PCI}/{name}/vendor"), read(f"{PCI}/{name}/device")) == ids
        ),
    )


def kernel_groups() -> dict[int, tuple[str, ...]]:
    """/sys/kernel/iommu_groups read by hand: group number -> member addresses, sorted."""
    base = "/sys/kernel/iommu_groups"
    return {int(n): tuple(sorted(os.listdir(f"{base}/{n}/devices"))) for n in os.listdir(base)}


def group_of(address: str) -> int:
    """The IOMMU group number of a PCI function, from its ``iommu_group`` link."""
    return int(os.path.basename(os.readlink(f"{PCI}/{address}/iommu_group")))


def scsi_disks_beneath(address: str) -> tuple[str, ...]:
    """The SCSI devices (H:C:T:L) beneath a PCI function, found by walking its directory."""
    found: list[str] = []
    for top, dirs, _files in os.walk(f"/sys/devices/pci0000:00/{address}"):
        found.extend(d for d in dirs if d.count(":") == 3 and os.path.isdir(f"{top}/{d}/block"))
        # Never follow the subsystem and driver links back up the tree.
        dirs[:] = [d for d in dirs if not os.path.islink(f"{top}/{d}")]
    return tuple(sorted(found))


def override_of(address: str) -> str | None:
    """A PCI function's ``driver_override`` as the kernel prints it ("(null)" when unset)."""
    return read(f"{PCI}/{address}/driver_override")


def write(path: str, data: str) -> None:
    """Hand *data* to a sysfs file in one write call (the guest's devices are ours to break)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


#: How QEMU and the kernel leave each function of the e1000e pair: on e1000e, no override.
BOOTED = ("e1000e", "(null)")


def restore_problems(pair: tuple[str, str]) -> list[str]:
    """What differs from how the pair was booted, one line each; [] when all is back.

    The one check that a release or a recovery gave everything back.
    """
    problems = []
    for address in pair:
        now = (driver_of(address), override_of(address))
        if now != BOOTED:
            problems.append(f"{address}: driver {now[0]}, override {now[1]}")
    return problems
