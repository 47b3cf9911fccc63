"""Inside the QEMU test guest only: the guard and the guest's shared fixtures.

Every test here changes real devices (binds them to vfio-pci, unbinds them,
mounts disks). The guard is the guest's kernel command line: tests/guest/run.py
puts ``hostpassthru.guest=1`` there, and no test of this directory runs
without it, whoever collects it.
"""

from __future__ import annotations

import subprocess

import pytest

from guest.guestsys import E1000E, SKIP_REASON, in_guest, pci_with_ids


@pytest.fixture(autouse=True)
def _only_in_guest() -> None:
    """Skip every test of this directory outside the guest: they would touch real devices.

    (Each module also calls ``require_guest()``, which skips it whole, in one line.)
    """
    if not in_guest():
        pytest.skip(SKIP_REASON)


@pytest.fixture(scope="session")
def pair() -> tuple[str, str]:
    """The two functions of the e1000e behind the root port: one IOMMU group of two."""
    behind_port = tuple(a for a in pci_with_ids(E1000E) if not a.startswith("0000:00:"))
    assert 2 == len(behind_port)
    return behind_port[0], behind_port[1]


@pytest.fixture(scope="session")
def vfio_pci() -> None:
    """vfio-pci loaded (anything goes in the guest)."""
    subprocess.run(["modprobe", "vfio-pci"], check=True, capture_output=True)
