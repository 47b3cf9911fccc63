"""Rules over plain values that several layers share: VFIO drivers, and driver overrides."""

from __future__ import annotations

import pytest

from hostpassthru._rules import is_vfio_driver, override_driver


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


@pytest.mark.parametrize("text", [None, "", "(null)"])
def test_no_override(text: str | None) -> None:
    """No file (before Linux 3.16), an empty one, and the kernel's "(null)" all mean none."""
    assert None is override_driver(text)


def test_override_names_a_driver() -> None:
    """Any other text is the driver's name, as written."""
    assert "vfio-pci" == override_driver("vfio-pci")
