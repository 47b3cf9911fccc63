"""Hand-written expectations for fixtures/intel-vmd.umockdev, checked under every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURE = "intel-vmd"

#: name -> (parent, effective IOMMU group, driver, reasons), in path order.
#: Behind VMD nothing has a group of its own; the disk takes the (absent)
#: group of its nearest PCI ancestor, the AHCI controller, not the VMD's 9.
NODES = {
    "pci_0000_00_00_0": (None, 0, None, ("bridge",)),
    "pci_0000_00_0e_0": (None, 9, "vmd", ("has_passthrough_children",)),
    "pci_10000_e0_06_0": (
        "pci_0000_00_0e_0",
        None,
        "pcieport",
        ("bridge", "pcie_port", "has_passthrough_children"),
    ),
    "pci_10000_e1_00_0": ("pci_10000_e0_06_0", None, "nvme", ()),
    "pci_10000_e0_17_0": ("pci_0000_00_0e_0", None, "ahci", ("has_passthrough_children",)),
    "scsi_0_0_0_0": ("pci_10000_e0_17_0", None, "sd", ()),
}

GROUPS = {
    0: ("pci_0000_00_00_0",),
    9: ("pci_0000_00_0e_0",),
}

PASSTHROUGH = ("pci_10000_e1_00_0", "scsi_0_0_0_0")

#: The VMD, with the NVMe, the AHCI controller and the disk beneath it.
PASSTHROUGH_CONTROLLERS = (
    "pci_0000_00_0e_0",
    "pci_10000_e1_00_0",
    "pci_10000_e0_17_0",
    "scsi_0_0_0_0",
)

#: The VMD takes its whole domain; a device behind it, having no group, takes
#: only its subtree.
AFFECTED = {
    "pci_0000_00_00_0": (),
    "pci_0000_00_0e_0": (
        "pci_10000_e0_06_0",
        "pci_10000_e1_00_0",
        "pci_10000_e0_17_0",
        "scsi_0_0_0_0",
    ),
    "pci_10000_e0_06_0": ("pci_10000_e1_00_0",),
    "pci_10000_e1_00_0": (),
    "pci_10000_e0_17_0": ("scsi_0_0_0_0",),
    "scsi_0_0_0_0": (),
}


@pytest.fixture
def host(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The VMD laptop, scanned by the reader under test."""
    return scan_fixture(FIXTURE)


class TestIntelVmd:
    """Devices behind Intel VMD have no group of their own and hang off the VMD device."""

    def test_nodes(self, host: hp.Host) -> None:
        """Every node with its parent, group, driver and reasons, in path order."""
        actual = {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in host.devices}
        assert list(NODES.items()) == list(actual.items())

    def test_paths_and_children(self, host: hp.Host) -> None:
        """The pci10000:e0 root is no node: the domain's devices are the VMD's children."""
        assert (
            "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:17.0",
            "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0",
            ("pci_10000_e0_06_0", "pci_10000_e0_17_0"),
            ("pci_10000_e1_00_0",),
            ("scsi_0_0_0_0",),
        ) == (
            host.device("pci_10000_e0_17_0").path,
            host.device("pci_10000_e1_00_0").path,
            host.device("pci_0000_00_0e_0").children,
            host.device("pci_10000_e0_06_0").children,
            host.device("pci_10000_e0_17_0").children,
        )

    def test_groups(self, host: hp.Host) -> None:
        """Only the host bridge and the VMD device are in groups."""
        assert (True, GROUPS) == (host.iommu_enabled, dict(host.iommu_groups))

    def test_passthrough(self, host: hp.Host) -> None:
        """The NVMe drive and the disk are eligible."""
        assert PASSTHROUGH == tuple(d.name for d in host.passthrough_devices())

    def test_passthrough_controllers(self, host: hp.Host) -> None:
        """include_controllers adds the VMD and the AHCI controller, not the root port."""
        actual = host.passthrough_devices(include_controllers=True)
        assert PASSTHROUGH_CONTROLLERS == tuple(d.name for d in actual)

    def test_passthrough_caps(self, host: hp.Host) -> None:
        """Each cap keeps one kind."""
        actual = {cap: tuple(d.name for d in host.passthrough_devices(cap)) for cap in hp.KINDS}
        assert {
            "pci": ("pci_10000_e1_00_0",),
            "usb_device": (),
            "scsi": ("scsi_0_0_0_0",),
            "mdev": (),
        } == actual

    def test_affected_by(self, host: hp.Host) -> None:
        """What goes with each device."""
        actual = {d.name: tuple(a.name for a in host.affected_by(d)) for d in host.devices}
        assert AFFECTED == actual

    def test_affected_by_name(self, host: hp.Host) -> None:
        """affected_by takes a kernel name of PCI domain 10000."""
        assert ("scsi_0_0_0_0",) == tuple(a.name for a in host.affected_by("10000:e0:17.0"))

    def test_lookup(self, host: hp.Host) -> None:
        """A domain-10000 device is found by its kernel name and by its name."""
        ahci = host.device("10000:e0:17.0")
        assert ("pci_10000_e0_17_0", "10000:e0:17.0", "pci") == (
            ahci.name,
            ahci.sys_name,
            ahci.kind,
        )
        assert ahci == host.device("pci_10000_e0_17_0")
        assert host.device("0:0:0:0") == host.device("scsi_0_0_0_0")
        with pytest.raises(hp.DeviceNotFoundError):
            host.device("10000:e0:17.1")

    def test_vmd_facts(self, host: hp.Host) -> None:
        """The VMD controller: a RAID-class Intel function without a reset method."""
        vmd = host.device("0000:00:0e.0")
        assert (0x8086, 0x9A0B) == (vmd.vendor_id, vmd.product_id)
        assert (
            hp.PciInfo(
                class_code=0x010400,
                subsystem_vendor_id=0x1028,
                subsystem_product_id=0x0A1F,
                revision=0x00,
                numa_node=None,
                physfn=None,
                boot_vga=None,
                reset_methods=None,
                has_reset=False,
                sriov_numvfs=None,
            )
            == vmd.pci
        )

    def test_nvme_facts(self, host: hp.Host) -> None:
        """The NVMe drive behind VMD; numa_node -1 reads as None."""
        nvme = host.device("10000:e1:00.0")
        assert (0x1E0F, 0x0001) == (nvme.vendor_id, nvme.product_id)
        assert (
            hp.PciInfo(
                class_code=0x010802,
                subsystem_vendor_id=0x1E0F,
                subsystem_product_id=0x0001,
                revision=0x00,
                numa_node=None,
                physfn=None,
                boot_vga=None,
                reset_methods=("flr", "bus"),
                has_reset=True,
                sriov_numvfs=None,
            )
            == nvme.pci
        )

    def test_disk_facts(self, host: hp.Host) -> None:
        """The SATA disk: H:C:T:L from its name, padded INQUIRY strings stripped."""
        disk = host.device("scsi_0_0_0_0")
        assert (None, None, None) == (disk.vendor_id, disk.product_id, disk.pci)
        assert (
            hp.ScsiInfo(
                hctl=(0, 0, 0, 0),
                type=0,
                vendor="ATA",
                model="CT500MX500SSD1",
                block="sda",
                generic="sg0",
            )
            == disk.scsi
        )

    def test_no_problems(self, host: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == host.problems
