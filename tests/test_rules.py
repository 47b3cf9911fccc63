"""is_vfio_driver: the one rule for which drivers are VFIO's, shared by plans and exports."""

from __future__ import annotations

import pytest

from hostpassthru._rules import is_vfio_driver


@pytest.mark.parametrize(
    "driver", ["vfio-pci", "mlx5_vfio_pci", "hisi_acc_vfio_pci", "nvgrace_gpu_vfio_pci"]
)
def test_vfio_pci_and_its_variants_are_vfio(driver: str) -> None:
    """vfio-pci and every ``*vfio_pci`` variant driver count."""
    assert is_vfio_driver(driver)


@pytest.mark.parametrize(
    "driver", ["pci-stub", "nouveau", "vfio-platform", "vfio", "vfio_pci_core"]
)
def test_other_drivers_are_not_vfio(driver: str) -> None:
    """Host drivers, pci-stub, and names that only look like vfio-pci do not count."""
    assert not is_vfio_driver(driver)


def test_no_driver_is_not_vfio() -> None:
    """An unbound device is on no VFIO driver."""
    assert not is_vfio_driver(None)
