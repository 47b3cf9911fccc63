"""Hand-written expectations for the topology fixtures, checked under every reader."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import hostpassthru as hp

BPH = ("bridge", "pcie_port", "has_passthrough_children")
CTRL = ("has_passthrough_children",)


def nodes(host: hp.Host) -> dict[str, tuple[str | None, int | None, str | None, tuple[str, ...]]]:
    """Map name -> (parent, effective group, driver, reasons), in path order."""
    return {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in host.devices}


def names(devices: tuple[hp.Device, ...]) -> tuple[str, ...]:
    """The names of *devices*, in order."""
    return tuple(d.name for d in devices)


def affected(host: hp.Host) -> dict[str, tuple[str, ...]]:
    """Map name -> names of what goes with it, for every node with a non-empty answer."""
    return {d.name: names(host.affected_by(d)) for d in host.devices if host.affected_by(d)}


@pytest.fixture
def scan(scan_fixture: Callable[[str], hp.Host]) -> Callable[[str], hp.Host]:
    """Scan a fixture with the reader under test."""
    return scan_fixture


class TestChipsetGroup:
    """The PCH's ISA bridge, PMC, HD audio and SMBus share group 10."""

    def test_nodes(self, scan: Callable[[str], hp.Host]) -> None:
        """Every node with its parent, group, driver and reasons, in path order."""
        assert [
            ("pci_0000_00_00_0", (None, 0, "skl_uncore", ("bridge",))),
            ("pci_0000_00_02_0", (None, 1, "i915", ())),
            ("pci_0000_00_14_0", (None, 4, "xhci_hcd", ())),
            ("usb_usb1", ("pci_0000_00_14_0", 4, "usb", ("usb_hub",))),
            ("pci_0000_00_1f_0", (None, 10, None, ("bridge",))),
            ("pci_0000_00_1f_2", (None, 10, None, ())),
            ("pci_0000_00_1f_3", (None, 10, "snd_hda_intel", ())),
            ("pci_0000_00_1f_4", (None, 10, "i801_smbus", ())),
        ] == list(nodes(scan("chipset-group")).items())

    def test_groups_and_passthrough(self, scan: Callable[[str], hp.Host]) -> None:
        """Group 10 lists four functions; the ISA bridge is not offered."""
        host = scan("chipset-group")
        assert (
            {
                0: ("pci_0000_00_00_0",),
                1: ("pci_0000_00_02_0",),
                4: ("pci_0000_00_14_0",),
                10: (
                    "pci_0000_00_1f_0",
                    "pci_0000_00_1f_2",
                    "pci_0000_00_1f_3",
                    "pci_0000_00_1f_4",
                ),
            },
            (
                "pci_0000_00_02_0",
                "pci_0000_00_14_0",
                "pci_0000_00_1f_2",
                "pci_0000_00_1f_3",
                "pci_0000_00_1f_4",
            ),
        ) == (dict(host.iommu_groups), names(host.passthrough_devices()))

    def test_affected(self, scan: Callable[[str], hp.Host]) -> None:
        """The audio takes the ISA bridge (it does not stay under VFIO), PMC and SMBus."""
        assert {
            "pci_0000_00_14_0": ("usb_usb1",),
            "pci_0000_00_1f_0": ("pci_0000_00_1f_2", "pci_0000_00_1f_3", "pci_0000_00_1f_4"),
            "pci_0000_00_1f_2": ("pci_0000_00_1f_0", "pci_0000_00_1f_3", "pci_0000_00_1f_4"),
            "pci_0000_00_1f_3": ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_4"),
            "pci_0000_00_1f_4": ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_3"),
        } == affected(scan("chipset-group"))


LAPTOP_NODES = [
    ("pci_0000_00_00_0", (None, None, "skl_uncore", ("bridge",))),
    ("pci_0000_00_14_0", (None, None, "xhci_hcd", CTRL)),
    ("usb_usb1", ("pci_0000_00_14_0", None, "usb", ("usb_hub", "has_passthrough_children"))),
    ("usb_1_1", ("usb_usb1", None, "usb", ("usb_hub", "has_passthrough_children"))),
    ("usb_1_1_2", ("usb_1_1", None, "usb", ())),
    ("usb_1_2", ("usb_usb1", None, "usb", CTRL)),
    ("scsi_2_0_0_0", ("usb_1_2", None, "sd", ())),
    ("usb_usb2", ("pci_0000_00_14_0", None, "usb", ("usb_hub",))),
    ("pci_0000_00_17_0", (None, None, "ahci", CTRL)),
    ("scsi_0_0_0_0", ("pci_0000_00_17_0", None, "sd", ())),
    ("scsi_1_0_0_0", ("pci_0000_00_17_0", None, "sr", ())),
]


class TestLaptopUsbSata:
    """IOMMU off; hubs, a keyboard, a USB stick with its LUN, a SATA disk and a DVD drive."""

    def test_nodes(self, scan: Callable[[str], hp.Host]) -> None:
        """Every node, no groups anywhere."""
        host = scan("laptop-usb-sata")
        assert (LAPTOP_NODES, False, {}) == (
            list(nodes(host).items()),
            host.iommu_enabled,
            dict(host.iommu_groups),
        )

    def test_passthrough(self, scan: Callable[[str], hp.Host]) -> None:
        """The leaves; with controllers, the xHCI, the stick and the AHCI too."""
        host = scan("laptop-usb-sata")
        assert (
            ("usb_1_1_2", "scsi_2_0_0_0", "scsi_0_0_0_0", "scsi_1_0_0_0"),
            (
                "pci_0000_00_14_0",
                "usb_1_1_2",
                "usb_1_2",
                "scsi_2_0_0_0",
                "pci_0000_00_17_0",
                "scsi_0_0_0_0",
                "scsi_1_0_0_0",
            ),
            ("usb_1_1_2",),
            ("usb_1_1_2", "usb_1_2"),
            ("scsi_2_0_0_0", "scsi_0_0_0_0", "scsi_1_0_0_0"),
            (),
        ) == (
            names(host.passthrough_devices()),
            names(host.passthrough_devices(include_controllers=True)),
            names(host.passthrough_devices("usb_device")),
            names(host.passthrough_devices("usb_device", include_controllers=True)),
            names(host.passthrough_devices("scsi")),
            names(host.passthrough_devices("pci")),
        )

    def test_affected(self, scan: Callable[[str], hp.Host]) -> None:
        """Without groups, only subtrees go."""
        assert {
            "pci_0000_00_14_0": (
                "usb_usb1",
                "usb_1_1",
                "usb_1_1_2",
                "usb_1_2",
                "scsi_2_0_0_0",
                "usb_usb2",
            ),
            "usb_usb1": ("usb_1_1", "usb_1_1_2", "usb_1_2", "scsi_2_0_0_0"),
            "usb_1_1": ("usb_1_1_2",),
            "usb_1_2": ("scsi_2_0_0_0",),
            "pci_0000_00_17_0": ("scsi_0_0_0_0", "scsi_1_0_0_0"),
        } == affected(scan("laptop-usb-sata"))

    def test_facts(self, scan: Callable[[str], hp.Host]) -> None:
        """The keyboard's USB facts and the stick's SCSI facts."""
        host = scan("laptop-usb-sata")
        assert (
            hp.UsbInfo(
                busnum=1,
                devnum=4,
                speed="1.5",
                serial=None,
                manufacturer="Logitech",
                product="USB Keyboard",
                device_class=0,
                interface_classes=(3, 3),
            )
            == host.device("1-1.2").usb
        )
        assert (
            hp.ScsiInfo(
                hctl=(2, 0, 0, 0),
                type=0,
                vendor="SanDisk",
                model="Ultra",
                block="sdb",
                generic="sg2",
            )
            == host.device("scsi_2_0_0_0").scsi
        )
        assert (0x0781, 0x5581, None) == (
            host.device("usb_1_2").vendor_id,
            host.device("usb_1_2").product_id,
            host.device("scsi_1_0_0_0").vendor_id,
        )


class TestVmVirtio:
    """A q35 guest: virtio devices, no groups."""

    def test_nodes_and_passthrough(self, scan: Callable[[str], hp.Host]) -> None:
        """The virtioN directories are not nodes; the virtio-scsi disk sits under its HBA."""
        host = scan("vm-virtio")
        assert (
            [
                ("pci_0000_00_00_0", (None, None, None, ("bridge",))),
                ("pci_0000_00_02_0", (None, None, "virtio-pci", ())),
                ("pci_0000_00_03_0", (None, None, "virtio-pci", ())),
                ("pci_0000_00_04_0", (None, None, "virtio-pci", CTRL)),
                ("scsi_0_0_0_0", ("pci_0000_00_04_0", None, "sd", ())),
                ("pci_0000_00_1f_0", (None, None, "lpc_ich", ("bridge",))),
            ],
            ("pci_0000_00_02_0", "pci_0000_00_03_0", "scsi_0_0_0_0"),
            ("pci_0000_00_02_0", "pci_0000_00_03_0", "pci_0000_00_04_0", "scsi_0_0_0_0"),
            {"pci_0000_00_04_0": ("scsi_0_0_0_0",)},
        ) == (
            list(nodes(host).items()),
            names(host.passthrough_devices()),
            names(host.passthrough_devices(include_controllers=True)),
            affected(host),
        )


class TestEmpty:
    """A tree with no devices."""

    def test_empty(self, scan: Callable[[str], hp.Host]) -> None:
        """Nothing, and nothing wrong."""
        host = scan("empty")
        assert ((), {}, False, (), ()) == (
            host.devices,
            dict(host.iommu_groups),
            host.iommu_enabled,
            host.passthrough_devices(include_controllers=True),
            host.problems,
        )


SERVER_NODES = [
    ("pci_0000_00_00_0", (None, 0, None, ("bridge",))),
    ("pci_0000_00_01_0", (None, 2, "pcieport", BPH)),
    ("pci_0000_01_00_0", ("pci_0000_00_01_0", 3, "pcieport", BPH)),
    ("pci_0000_02_00_0", ("pci_0000_01_00_0", 4, "pcieport", BPH)),
    ("pci_0000_03_00_0", ("pci_0000_02_00_0", 38, "i40e", ())),
    ("pci_0000_03_02_0", ("pci_0000_02_00_0", 112, "iavf", ())),
    ("pci_0000_03_02_1", ("pci_0000_02_00_0", 113, None, ())),
    ("pci_0000_02_01_0", ("pci_0000_01_00_0", 5, "pcieport", BPH)),
    ("pci_0000_04_00_0", ("pci_0000_02_01_0", 39, "nvme", ())),
    ("pci_0000_00_02_0", (None, 6, "pcieport", BPH)),
    ("pci_0000_05_00_0", ("pci_0000_00_02_0", 40, "mpt3sas", CTRL)),
    ("scsi_0_0_0_0", ("pci_0000_05_00_0", 40, "sd", ())),
    ("scsi_0_0_1_0", ("pci_0000_05_00_0", 40, "sd", ())),
    ("pci_0000_00_03_0", (None, 7, "pcieport", BPH)),
    ("pci_0000_06_00_0", ("pci_0000_00_03_0", 7, "igb", ())),
    ("pci_0000_06_00_1", ("pci_0000_00_03_0", 7, "igb", ())),
]


class TestServerSriov:
    """A PCIe switch, an SR-IOV NIC, NVMe, a SAS HBA with disks, a NIC sharing its port's group."""

    def test_nodes(self, scan: Callable[[str], hp.Host]) -> None:
        """Every node; the VFs are siblings of their PF, not beneath it."""
        assert SERVER_NODES == list(nodes(scan("server-sriov")).items())

    def test_passthrough(self, scan: Callable[[str], hp.Host]) -> None:
        """Endpoints and disks; the HBA only with include_controllers."""
        host = scan("server-sriov")
        leaves = ("pci_0000_03_00_0", "pci_0000_03_02_0", "pci_0000_03_02_1", "pci_0000_04_00_0")
        assert (
            (*leaves, "scsi_0_0_0_0", "scsi_0_0_1_0", "pci_0000_06_00_0", "pci_0000_06_00_1"),
            (
                *leaves,
                "pci_0000_05_00_0",
                "scsi_0_0_0_0",
                "scsi_0_0_1_0",
                "pci_0000_06_00_0",
                "pci_0000_06_00_1",
            ),
            (*leaves, "pci_0000_06_00_0", "pci_0000_06_00_1"),
        ) == (
            names(host.passthrough_devices()),
            names(host.passthrough_devices(include_controllers=True)),
            names(host.passthrough_devices("pci")),
        )

    def test_affected(self, scan: Callable[[str], hp.Host]) -> None:
        """The PF goes alone (its VFs are in their own groups); the NIC ports go together."""
        assert {
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
            "pci_0000_02_01_0": ("pci_0000_04_00_0",),
            "pci_0000_00_02_0": ("pci_0000_05_00_0", "scsi_0_0_0_0", "scsi_0_0_1_0"),
            "pci_0000_05_00_0": ("scsi_0_0_0_0", "scsi_0_0_1_0"),
            "pci_0000_00_03_0": ("pci_0000_06_00_0", "pci_0000_06_00_1"),
            "pci_0000_06_00_0": ("pci_0000_06_00_1",),
            "pci_0000_06_00_1": ("pci_0000_06_00_0",),
        } == affected(scan("server-sriov"))

    def test_facts(self, scan: Callable[[str], hp.Host]) -> None:
        """A VF names its PF; NUMA nodes and SR-IOV counts are read."""
        host = scan("server-sriov")
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
                vf_index=0,
            )
            == host.device("0000:03:02.0").pci
        )
        assert (2, 1, 0) == (
            host.device("0000:03:00.0").pci and host.device("0000:03:00.0").pci.sriov_numvfs,
            host.device("0000:05:00.0").pci and host.device("0000:05:00.0").pci.numa_node,
            host.device("0000:04:00.0").pci and host.device("0000:04:00.0").pci.numa_node,
        )
        assert (
            hp.ScsiInfo(
                hctl=(0, 0, 1, 0),
                type=0,
                vendor="SEAGATE",
                model="ST4000NM0025",
                block="sdb",
                generic="sg1",
            )
            == host.device("0:0:1:0").scsi
        )

    def test_groups(self, scan: Callable[[str], hp.Host]) -> None:
        """Sparse, large group numbers are kept as they are."""
        assert [0, 2, 3, 4, 5, 6, 7, 38, 39, 40, 112, 113] == list(
            scan("server-sriov").iommu_groups
        )


class TestIntelVmd:
    """Devices behind Intel VMD have no group of their own."""

    def test_nodes(self, scan: Callable[[str], hp.Host]) -> None:
        """The VMD device is the parent of the domain's devices; none of those has a group."""
        assert [
            ("pci_0000_00_00_0", (None, 0, None, ("bridge",))),
            ("pci_0000_00_0e_0", (None, 9, "vmd", CTRL)),
            ("pci_10000_e0_06_0", ("pci_0000_00_0e_0", None, "pcieport", BPH)),
            ("pci_10000_e1_00_0", ("pci_10000_e0_06_0", None, "nvme", ())),
            ("pci_10000_e0_17_0", ("pci_0000_00_0e_0", None, "ahci", CTRL)),
            ("scsi_0_0_0_0", ("pci_10000_e0_17_0", None, "sd", ())),
        ] == list(nodes(scan("intel-vmd")).items())

    def test_passthrough_and_affected(self, scan: Callable[[str], hp.Host]) -> None:
        """The VMD takes its whole domain; the AHCI behind it, without a group, its disk."""
        host = scan("intel-vmd")
        assert (
            ("pci_10000_e1_00_0", "scsi_0_0_0_0"),
            ("pci_0000_00_0e_0", "pci_10000_e1_00_0", "pci_10000_e0_17_0", "scsi_0_0_0_0"),
            {
                "pci_0000_00_0e_0": (
                    "pci_10000_e0_06_0",
                    "pci_10000_e1_00_0",
                    "pci_10000_e0_17_0",
                    "scsi_0_0_0_0",
                ),
                "pci_10000_e0_06_0": ("pci_10000_e1_00_0",),
                "pci_10000_e0_17_0": ("scsi_0_0_0_0",),
            },
            {0: ("pci_0000_00_00_0",), 9: ("pci_0000_00_0e_0",)},
        ) == (
            names(host.passthrough_devices()),
            names(host.passthrough_devices(include_controllers=True)),
            affected(host),
            dict(host.iommu_groups),
        )

    def test_lookup(self, scan: Callable[[str], hp.Host]) -> None:
        """A domain-10000 device is found by either name."""
        host = scan("intel-vmd")
        assert host.device("10000:e0:17.0") == host.device("pci_10000_e0_17_0")
