"""The one device of the CI machine that real-kernel tests may touch: the virtio RNG.

Found by its ids (1af4:1044, modern virtio; 1af4:1005, legacy), never by
address. Tests that unbind or rebind it hold an exclusive ``flock`` for the
whole test, so two test runs on one machine (two checkouts, a helper's run)
never interleave their writes, and the fixture gives the device back to its
original driver and override in a ``finally``, whatever the test did.

Nothing here may ever touch another device: the disk, the network card and
the vsock device carry this machine's own life.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from typing import TYPE_CHECKING

import attrs
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["RNG_IDS", "VirtioRng", "find_virtio_rng", "virtio_rng_guard", "write"]

RNG_IDS = (("0x1af4", "0x1044"), ("0x1af4", "0x1005"))
_LOCK = "/run/lock/hostpassthru-test-virtio-rng.lock"
_PCI = "/sys/bus/pci/devices"


@attrs.frozen
class VirtioRng:
    """The RNG as the test found it: its address and what to give back."""

    address: str
    driver: str | None
    override: str | None

    @property
    def sysfs_dir(self) -> str:
        """Its directory under /sys/bus/pci/devices."""
        return f"{_PCI}/{self.address}"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def _driver(address: str) -> str | None:
    try:
        return os.path.basename(os.readlink(f"{_PCI}/{address}/driver"))
    except OSError:
        return None


def find_virtio_rng() -> str | None:
    """The address of this machine's virtio RNG, found by its ids; None where there is none."""
    try:
        names = sorted(os.listdir(_PCI))
    except OSError:
        return None
    for name in names:
        ids = (_read(f"{_PCI}/{name}/vendor"), _read(f"{_PCI}/{name}/device"))
        if ids in RNG_IDS:
            return name
    return None


def write(path: str, data: str) -> None:
    """Hand *data* to a sysfs file in one write call, as the kernel wants it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data.encode())
    finally:
        os.close(fd)


def _restore(rng: VirtioRng) -> None:
    """Give the RNG back its driver and override, whatever state a test left it in."""
    base = rng.sysfs_dir
    current = _driver(rng.address)
    if current != rng.driver:
        with contextlib.suppress(OSError):
            write(f"{base}/driver_override", f"{rng.driver}\n" if rng.driver else "\n")
        if current is not None:
            with contextlib.suppress(OSError):
                write(f"{base}/driver/unbind", rng.address)
        if rng.driver is not None:
            with contextlib.suppress(OSError):
                write("/sys/bus/pci/drivers_probe", rng.address)
            deadline = time.monotonic() + 5
            while _driver(rng.address) != rng.driver and time.monotonic() < deadline:
                time.sleep(0.05)
    # An unset override reads "(null)"; clearing it takes a write of "\n" (a
    # zero-length write never reaches the kernel).
    wanted = "\n" if rng.override in (None, "(null)") else f"{rng.override}\n"
    if _read(f"{base}/driver_override") != (rng.override or "(null)"):
        with contextlib.suppress(OSError):
            write(f"{base}/driver_override", wanted)


@contextlib.contextmanager
def virtio_rng_guard() -> Iterator[VirtioRng]:
    """Skip unless root with a virtio RNG; hold the lock; restore the RNG afterwards."""
    if os.geteuid() != 0:
        pytest.skip("real-kernel test: needs root")
    address = find_virtio_rng()
    if address is None:
        pytest.skip("real-kernel test: no virtio RNG (1af4:1044 or 1af4:1005) on this machine")
    os.makedirs(os.path.dirname(_LOCK), exist_ok=True)
    with open(_LOCK, "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rng = VirtioRng(
            address=address,
            driver=_driver(address),
            override=_read(f"{_PCI}/{address}/driver_override"),
        )
        try:
            yield rng
        finally:
            _restore(rng)
