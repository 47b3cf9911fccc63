"""A real kernel with a real IOMMU: the groups, the IOMMU's state and the chipset group."""

from __future__ import annotations

import pytest

import hostpassthru as hp
from guest.guestsys import (
    ICH9_SATA,
    group_of,
    kernel_groups,
    pci_with_ids,
    require_guest,
    scsi_disks_beneath,
)
from hostpassthru import _cli

require_guest()
pytestmark = pytest.mark.guest


def name(address: str) -> str:
    """The libvirt-style name of a PCI address, written out by hand."""
    return "pci_" + address.replace(":", "_").replace(".", "_")


@pytest.fixture(scope="module")
def live() -> hp.Host:
    """The guest as the live reader (libudev) sees it."""
    return hp.scan()


@pytest.fixture(scope="module")
def by_path() -> hp.Host:
    """The guest as the path reader sees it."""
    return hp.scan(sysfs="/sys", proc="/proc")


class TestGroups:
    """hp.scan().iommu_groups is what /sys/kernel/iommu_groups says."""

    def test_live_reader(self, live: hp.Host) -> None:
        """The live reader's groups equal the kernel's, group by group."""
        expected = {n: tuple(name(a) for a in members) for n, members in kernel_groups().items()}
        assert expected == dict(live.iommu_groups)

    def test_path_reader(self, by_path: hp.Host) -> None:
        """So do the path reader's."""
        expected = {n: tuple(name(a) for a in members) for n, members in kernel_groups().items()}
        assert expected == dict(by_path.iommu_groups)

    def test_two_functions_share_a_group(self, live: hp.Host) -> None:
        """The two-function e1000e behind the root port is one group of two."""
        assert ("pci_0000_01_00_0", "pci_0000_01_00_1") == live.iommu_groups[
            group_of("0000:01:00.0")
        ]

    def test_chipset_group(self, live: hp.Host) -> None:
        """The q35 chipset's ISA bridge, SATA controller and SMBus share a group."""
        assert ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_3") == live.iommu_groups[
            group_of("0000:00:1f.2")
        ]

    def test_the_sata_controller_is_where_qemu_puts_it(self) -> None:
        """The ICH9 AHCI controller is 00:1f.2 (the tests above rely on the address)."""
        assert ("0000:00:1f.2",) == pci_with_ids(ICH9_SATA)


class TestIommuStatus:
    """hp.iommu_status() and `hostpassthru check` say the IOMMU is on, with its unit."""

    def test_enabled(self, live: hp.Host) -> None:
        """The IOMMU is on."""
        assert hp.iommu_status(host=live).enabled

    def test_unit(self, live: hp.Host) -> None:
        """QEMU's intel-iommu is one VT-d unit, dmar0."""
        assert (("dmar0", "Intel VT-d"),) == hp.iommu_status(host=live).units

    def test_interrupt_remapping(self, live: hp.Host) -> None:
        """intremap=on gives IR- interrupt chips."""
        assert hp.iommu_status(host=live).interrupt_remapping

    def test_command_line(self, live: hp.Host) -> None:
        """The options the runner gave are read back."""
        status = hp.iommu_status(host=live)
        assert "on" == status.intel_iommu
        assert "pt" == status.iommu

    def test_check_command(self, capsys: pytest.CaptureFixture[str]) -> None:
        """`hostpassthru check` starts with the IOMMU's state in one line."""
        _cli.main(["check"])
        first = capsys.readouterr().out.splitlines()[0]
        assert "IOMMU: on; units: dmar0 (Intel VT-d); interrupt remapping: on" == first


class TestChipsetGroup:
    """What goes with the SATA controller: the whole chipset group."""

    def test_one_disk_on_the_sata_controller(self) -> None:
        """QEMU's ide-hd is the one disk on the chipset's AHCI (the test below relies on it)."""
        assert 1 == len(scsi_disks_beneath("0000:00:1f.2"))

    def test_affected(self, live: hp.Host) -> None:
        """The ISA bridge (no PCI-to-PCI bridge, so it does not stay), the disk, the SMBus."""
        disk = "scsi_" + scsi_disks_beneath("0000:00:1f.2")[0].replace(":", "_")
        assert ("pci_0000_00_1f_0", disk, "pci_0000_00_1f_3") == tuple(
            d.name for d in live.affected_by("0000:00:1f.2")
        )
