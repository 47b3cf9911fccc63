"""Hand-written expectations for fixtures/server-sriov.umockdev, checked under every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURE = "server-sriov"

BPH = ("bridge", "pcie_port", "has_passthrough_children")

#: name -> (parent, effective IOMMU group, driver, reasons), in path order.
#: The VFs are siblings of their PF under the downstream port, not beneath it.
NODES = {
    "pci_0000_00_00_0": (None, 0, None, ("bridge",)),
    "pci_0000_00_01_0": (None, 2, "pcieport", BPH),
    "pci_0000_01_00_0": ("pci_0000_00_01_0", 3, "pcieport", BPH),
    "pci_0000_02_00_0": ("pci_0000_01_00_0", 4, "pcieport", BPH),
    "pci_0000_03_00_0": ("pci_0000_02_00_0", 38, "i40e", ()),
    "pci_0000_03_02_0": ("pci_0000_02_00_0", 112, "iavf", ()),
    "pci_0000_03_02_1": ("pci_0000_02_00_0", 113, None, ()),
    "pci_0000_02_01_0": ("pci_0000_01_00_0", 5, "pcieport", BPH),
    "pci_0000_04_00_0": ("pci_0000_02_01_0", 39, "nvme", ()),
    "pci_0000_00_02_0": (None, 6, "pcieport", BPH),
    "pci_0000_05_00_0": ("pci_0000_00_02_0", 40, "mpt3sas", ("has_passthrough_children",)),
    "scsi_0_0_0_0": ("pci_0000_05_00_0", 40, "sd", ()),
    "scsi_0_0_1_0": ("pci_0000_05_00_0", 40, "sd", ()),
    "pci_0000_00_03_0": (None, 7, "pcieport", BPH),
    "pci_0000_06_00_0": ("pci_0000_00_03_0", 7, "igb", ()),
    "pci_0000_06_00_1": ("pci_0000_00_03_0", 7, "igb", ()),
}

#: Two non-node SAS transport directories sit between the SCSI host and the target.
DISK_PATH = (
    "devices/pci0000:00/0000:00:02.0/0000:05:00.0/host0/port-0:0/end_device-0:0/target0:0:0/0:0:0:0"
)

GROUPS = {
    0: ("pci_0000_00_00_0",),
    2: ("pci_0000_00_01_0",),
    3: ("pci_0000_01_00_0",),
    4: ("pci_0000_02_00_0",),
    5: ("pci_0000_02_01_0",),
    6: ("pci_0000_00_02_0",),
    7: ("pci_0000_00_03_0", "pci_0000_06_00_0", "pci_0000_06_00_1"),
    38: ("pci_0000_03_00_0",),
    39: ("pci_0000_04_00_0",),
    40: ("pci_0000_05_00_0",),
    112: ("pci_0000_03_02_0",),
    113: ("pci_0000_03_02_1",),
}

PCI_PASSTHROUGH = (
    "pci_0000_03_00_0",
    "pci_0000_03_02_0",
    "pci_0000_03_02_1",
    "pci_0000_04_00_0",
    "pci_0000_06_00_0",
    "pci_0000_06_00_1",
)

PASSTHROUGH = (
    "pci_0000_03_00_0",
    "pci_0000_03_02_0",
    "pci_0000_03_02_1",
    "pci_0000_04_00_0",
    "scsi_0_0_0_0",
    "scsi_0_0_1_0",
    "pci_0000_06_00_0",
    "pci_0000_06_00_1",
)

#: The HBA's only reason is its disks, so include_controllers adds it.
PASSTHROUGH_CONTROLLERS = (
    "pci_0000_03_00_0",
    "pci_0000_03_02_0",
    "pci_0000_03_02_1",
    "pci_0000_04_00_0",
    "pci_0000_05_00_0",
    "scsi_0_0_0_0",
    "scsi_0_0_1_0",
    "pci_0000_06_00_0",
    "pci_0000_06_00_1",
)

#: Ports take their subtree; the PF goes alone (its VFs are siblings in groups
#: of their own); the HBA takes its disks; the two igb ports go together while
#: their root port, a bridge, stays with the host.
AFFECTED = {
    "pci_0000_00_00_0": (),
    "pci_0000_00_01_0": (
        "pci_0000_01_00_0",
        "pci_0000_02_00_0",
        "pci_0000_03_00_0",
        "pci_0000_03_02_0",
        "pci_0000_03_02_1",
        "pci_0000_02_01_0",
        "pci_0000_04_00_0",
    ),
    "pci_0000_01_00_0": (
        "pci_0000_02_00_0",
        "pci_0000_03_00_0",
        "pci_0000_03_02_0",
        "pci_0000_03_02_1",
        "pci_0000_02_01_0",
        "pci_0000_04_00_0",
    ),
    "pci_0000_02_00_0": ("pci_0000_03_00_0", "pci_0000_03_02_0", "pci_0000_03_02_1"),
    "pci_0000_03_00_0": (),
    "pci_0000_03_02_0": (),
    "pci_0000_03_02_1": (),
    "pci_0000_02_01_0": ("pci_0000_04_00_0",),
    "pci_0000_04_00_0": (),
    "pci_0000_00_02_0": ("pci_0000_05_00_0", "scsi_0_0_0_0", "scsi_0_0_1_0"),
    "pci_0000_05_00_0": ("scsi_0_0_0_0", "scsi_0_0_1_0"),
    "scsi_0_0_0_0": (),
    "scsi_0_0_1_0": (),
    "pci_0000_00_03_0": ("pci_0000_06_00_0", "pci_0000_06_00_1"),
    "pci_0000_06_00_0": ("pci_0000_06_00_1",),
    "pci_0000_06_00_1": ("pci_0000_06_00_0",),
}


@pytest.fixture
def host(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The server, scanned by the reader under test."""
    return scan_fixture(FIXTURE)


class TestServerSriov:
    """A PCIe switch, an SR-IOV NIC, NVMe, a SAS HBA with disks, a NIC sharing its port's group."""

    def test_nodes(self, host: hp.Host) -> None:
        """Every node with its parent, group, driver and reasons, in path order."""
        actual = {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in host.devices}
        assert list(NODES.items()) == list(actual.items())

    def test_kinds_and_children(self, host: hp.Host) -> None:
        """Kinds, and the children of the downstream port and the HBA."""
        assert (
            {n: "scsi" if n.startswith("scsi_") else "pci" for n in NODES},
            ("pci_0000_03_00_0", "pci_0000_03_02_0", "pci_0000_03_02_1"),
            ("scsi_0_0_0_0", "scsi_0_0_1_0"),
            (),
        ) == (
            {d.name: d.kind for d in host.devices},
            host.device("pci_0000_02_00_0").children,
            host.device("pci_0000_05_00_0").children,
            host.device("pci_0000_03_00_0").children,
        )

    def test_groups(self, host: hp.Host) -> None:
        """The IOMMU groups list their PCI members; sparse, large numbers are kept."""
        assert (True, GROUPS) == (host.iommu_enabled, dict(host.iommu_groups))
        assert list(GROUPS) == list(host.iommu_groups)

    def test_passthrough(self, host: hp.Host) -> None:
        """PF, VFs, NVMe, both disks and both igb ports are eligible."""
        assert PASSTHROUGH == tuple(d.name for d in host.passthrough_devices())

    def test_passthrough_controllers(self, host: hp.Host) -> None:
        """include_controllers adds the HBA, not the ports (they are bridges)."""
        actual = host.passthrough_devices(include_controllers=True)
        assert PASSTHROUGH_CONTROLLERS == tuple(d.name for d in actual)

    def test_passthrough_caps(self, host: hp.Host) -> None:
        """Each cap keeps one kind."""
        actual = {cap: tuple(d.name for d in host.passthrough_devices(cap)) for cap in hp.KINDS}
        assert {
            "pci": PCI_PASSTHROUGH,
            "usb_device": (),
            "scsi": ("scsi_0_0_0_0", "scsi_0_0_1_0"),
            "mdev": (),
        } == actual
        controllers = host.passthrough_devices("pci", include_controllers=True)
        assert (*PCI_PASSTHROUGH[:4], "pci_0000_05_00_0", *PCI_PASSTHROUGH[4:]) == tuple(
            d.name for d in controllers
        )

    def test_affected_by(self, host: hp.Host) -> None:
        """What goes with each device."""
        actual = {d.name: tuple(a.name for a in host.affected_by(d)) for d in host.devices}
        assert AFFECTED == actual

    def test_affected_by_name(self, host: hp.Host) -> None:
        """affected_by takes a name or a kernel name as well as a Device."""
        assert (
            ("pci_0000_06_00_1",),
            ("scsi_0_0_0_0", "scsi_0_0_1_0"),
        ) == (
            tuple(a.name for a in host.affected_by("0000:06:00.0")),
            tuple(a.name for a in host.affected_by("pci_0000_05_00_0")),
        )

    def test_lookup(self, host: hp.Host) -> None:
        """A device is found by its kernel name and by its name; an unknown one is not."""
        vf, disk = host.device("0000:03:02.1"), host.device("0:0:0:0")
        assert (
            "pci_0000_03_02_1",
            "0000:03:02.1",
            "scsi_0_0_0_0",
            "0:0:0:0",
            DISK_PATH,
        ) == (vf.name, vf.sys_name, disk.name, disk.sys_name, disk.path)
        assert vf == host.device("pci_0000_03_02_1")
        assert disk == host.device("scsi_0_0_0_0")
        with pytest.raises(hp.DeviceNotFoundError):
            host.device("0000:03:02.2")
        with pytest.raises(LookupError):
            host.device("pci_0000_03_02_2")

    def test_vf_facts(self, host: hp.Host) -> None:
        """Each VF, bound or not, names its PF by name (not by kernel name)."""
        vf = host.device("0000:03:02.1")
        assert (0x8086, 0x154C, None) == (vf.vendor_id, vf.product_id, vf.driver)
        assert (
            hp.PciInfo(
                class_code=0x020000,
                subsystem_vendor_id=0x8086,
                subsystem_product_id=0x0000,
                revision=0x02,
                numa_node=0,
                physfn="pci_0000_03_00_0",
                boot_vga=None,
                reset_methods=("flr",),
                has_reset=True,
                sriov_numvfs=None,
                vf_index=1,
            )
            == vf.pci
        )
        bound = host.device("pci_0000_03_02_0").pci
        assert (0, "pci_0000_03_00_0") == (bound and bound.numa_node, bound and bound.physfn)

    def test_pf_facts(self, host: hp.Host) -> None:
        """The PF has two VFs enabled and no physfn of its own."""
        pf = host.device("pci_0000_03_00_0")
        assert (0x8086, 0x1572) == (pf.vendor_id, pf.product_id)
        assert (
            hp.PciInfo(
                class_code=0x020000,
                subsystem_vendor_id=0x8086,
                subsystem_product_id=0x0001,
                revision=0x02,
                numa_node=0,
                physfn=None,
                boot_vga=None,
                reset_methods=("flr", "bus"),
                has_reset=True,
                sriov_numvfs=2,
                sriov_totalvfs=64,
                vfs=("pci_0000_03_02_0", "pci_0000_03_02_1"),
            )
            == pf.pci
        )

    def test_nvme_facts(self, host: hp.Host) -> None:
        """The NVMe drive behind the switch, on NUMA node 0."""
        nvme = host.device("0000:04:00.0")
        assert (0x144D, 0xA824, None, None) == (
            nvme.vendor_id,
            nvme.product_id,
            nvme.usb,
            nvme.scsi,
        )
        assert (
            hp.PciInfo(
                class_code=0x010802,
                subsystem_vendor_id=0x144D,
                subsystem_product_id=0xA809,
                revision=0x00,
                numa_node=0,
                physfn=None,
                boot_vga=None,
                reset_methods=("flr", "bus"),
                has_reset=True,
                sriov_numvfs=None,
            )
            == nvme.pci
        )

    def test_hba_facts(self, host: hp.Host) -> None:
        """The HBA sits on NUMA node 1 and offers no reset method."""
        hba = host.device("pci_0000_05_00_0")
        assert (0x1000, 0x0097) == (hba.vendor_id, hba.product_id)
        assert (
            hp.PciInfo(
                class_code=0x010700,
                subsystem_vendor_id=0x15D9,
                subsystem_product_id=0x0808,
                revision=0x02,
                numa_node=1,
                physfn=None,
                boot_vga=None,
                reset_methods=None,
                has_reset=False,
                sriov_numvfs=None,
            )
            == hba.pci
        )

    def test_disk_facts(self, host: hp.Host) -> None:
        """A SAS disk: H:C:T:L from its name, padded INQUIRY strings stripped."""
        disk = host.device("scsi_0_0_1_0")
        assert (None, None, None) == (disk.vendor_id, disk.product_id, disk.pci)
        assert (
            hp.ScsiInfo(
                hctl=(0, 0, 1, 0),
                type=0,
                vendor="SEAGATE",
                model="ST4000NM0025",
                block="sdb",
                generic="sg1",
            )
            == disk.scsi
        )

    def test_no_problems(self, host: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == host.problems
