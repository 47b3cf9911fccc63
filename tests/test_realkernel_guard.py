"""The real-kernel guard gives the virtio RNG back, whatever a test did to it."""

from __future__ import annotations

import os

import realkernel


def test_guard_rebinds_an_unbound_rng() -> None:
    """A test that unbinds the RNG and sets an override leaves it as it was found."""
    with realkernel.virtio_rng_guard() as rng:
        original = rng.driver
        with open(f"{rng.sysfs_dir}/driver_override", "w", encoding="ascii") as f:
            f.write("pci-stub\n")
        if original is not None:
            with open(f"{rng.sysfs_dir}/driver/unbind", "w", encoding="ascii") as f:
                f.write(rng.address)
        assert not os.path.exists(f"{rng.sysfs_dir}/driver")
    driver = os.path.basename(os.readlink(f"{rng.sysfs_dir}/driver")) if original else None
    assert original == driver


def test_guard_restores_the_override() -> None:
    """The override reads as it did before the test."""
    with realkernel.virtio_rng_guard() as rng:
        before = rng.override
        with open(f"{rng.sysfs_dir}/driver_override", "w", encoding="ascii") as f:
            f.write("pci-stub\n")
    with open(f"{rng.sysfs_dir}/driver_override", encoding="ascii") as f:
        assert before == f.read().strip()
