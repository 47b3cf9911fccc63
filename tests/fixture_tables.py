"""Hand-written expectations for the topology fixtures, one table each.

Every value here was written by reading the fixture files in ``fixtures/``, never
by running the library. ``test_fixtures.py`` checks each fact of each table
under every reader, one fact per test.
"""

from __future__ import annotations

from typing import NamedTuple

from hostpassthru import MdevInfo, MdevType, PciInfo, ScsiInfo, UsbInfo, VgpuInfo, VgpuType


class Node(NamedTuple):
    """What the tree says of one node."""

    parent: str | None
    group: int | None
    driver: str | None
    reasons: tuple[str, ...]


class Table(NamedTuple):
    """Everything a fixture's host should answer."""

    #: Every node, in path order.
    nodes: dict[str, Node]
    #: Group number -> its PCI members, in the kernel's order of groups.
    groups: dict[int, tuple[str, ...]]
    #: passthrough_devices(cap, include_controllers=...) -> names, keyed by (cap, controllers).
    passthrough: dict[tuple[str | None, bool], tuple[str, ...]]
    #: What goes with each node that takes anything along; every other node takes nothing.
    affected: dict[str, tuple[str, ...]]
    #: The VFs that vanish when a PF's are disabled; every other node: none.
    vanish: dict[str, tuple[str, ...]]
    #: Kernel name -> name, for lookups; and names that must not be found.
    lookups: dict[str, str]
    missing: tuple[str, ...]
    #: Device -> attribute -> value, for the facts worth pinning.
    facts: dict[str, dict[str, object]]


BPH = ("bridge", "pcie_port", "has_passthrough_children")
CTRL = ("has_passthrough_children",)

#: sriov-nic: PF 0's VFs (offset 2, stride 1), and every function beneath the root port.
NIC_VFS = ("pci_0000_3b_00_2", "pci_0000_3b_00_3", "pci_0000_3b_00_4", "pci_0000_3b_00_5")
NIC_FUNCTIONS = ("pci_0000_3b_00_0", "pci_0000_3b_00_1", *NIC_VFS)

#: gvtg-mdev: the one mediated device, by kernel name (its UUID) and by name.
MDEV_UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
MDEV = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01"

#: nvidia-vgpu-vf: the L4's 32 VFs in N order (VF N is 41:00.4 + N).
L4_VFS = (
    "pci_0000_41_00_4",
    "pci_0000_41_00_5",
    "pci_0000_41_00_6",
    "pci_0000_41_00_7",
    "pci_0000_41_01_0",
    "pci_0000_41_01_1",
    "pci_0000_41_01_2",
    "pci_0000_41_01_3",
    "pci_0000_41_01_4",
    "pci_0000_41_01_5",
    "pci_0000_41_01_6",
    "pci_0000_41_01_7",
    "pci_0000_41_02_0",
    "pci_0000_41_02_1",
    "pci_0000_41_02_2",
    "pci_0000_41_02_3",
    "pci_0000_41_02_4",
    "pci_0000_41_02_5",
    "pci_0000_41_02_6",
    "pci_0000_41_02_7",
    "pci_0000_41_03_0",
    "pci_0000_41_03_1",
    "pci_0000_41_03_2",
    "pci_0000_41_03_3",
    "pci_0000_41_03_4",
    "pci_0000_41_03_5",
    "pci_0000_41_03_6",
    "pci_0000_41_03_7",
    "pci_0000_41_04_0",
    "pci_0000_41_04_1",
    "pci_0000_41_04_2",
    "pci_0000_41_04_3",
)

DESKTOP_GPU = Table(
    nodes={
        "pci_0000_00_00_0": Node(None, 0, "skl_uncore", ("bridge",)),
        "pci_0000_00_01_0": Node(None, 1, "pcieport", BPH),
        "pci_0000_01_00_0": Node("pci_0000_00_01_0", 1, "nouveau", ()),
        "pci_0000_01_00_1": Node("pci_0000_00_01_0", 1, "snd_hda_intel", ()),
        "pci_0000_00_14_0": Node(None, 4, "xhci_hcd", ()),
        "usb_usb1": Node("pci_0000_00_14_0", 4, "usb", ("usb_hub",)),
        "usb_usb2": Node("pci_0000_00_14_0", 4, "usb", ("usb_hub",)),
        "pci_0000_00_1b_0": Node(None, 7, "pcieport", BPH),
        "pci_0000_02_00_0": Node("pci_0000_00_1b_0", 8, "nvme", ()),
    },
    groups={
        0: ("pci_0000_00_00_0",),
        1: ("pci_0000_00_01_0", "pci_0000_01_00_0", "pci_0000_01_00_1"),
        4: ("pci_0000_00_14_0",),
        7: ("pci_0000_00_1b_0",),
        8: ("pci_0000_02_00_0",),
    },
    passthrough={
        (None, False): (
            "pci_0000_01_00_0",
            "pci_0000_01_00_1",
            "pci_0000_00_14_0",
            "pci_0000_02_00_0",
        ),
        # Root ports are bridges: include_controllers adds nothing.
        (None, True): (
            "pci_0000_01_00_0",
            "pci_0000_01_00_1",
            "pci_0000_00_14_0",
            "pci_0000_02_00_0",
        ),
        ("pci", False): (
            "pci_0000_01_00_0",
            "pci_0000_01_00_1",
            "pci_0000_00_14_0",
            "pci_0000_02_00_0",
        ),
        ("usb_device", False): (),
        ("scsi", False): (),
        ("mdev", False): (),
    },
    # The GPU and its audio go together; the root port stays with the host.
    affected={
        "pci_0000_00_01_0": ("pci_0000_01_00_0", "pci_0000_01_00_1"),
        "pci_0000_01_00_0": ("pci_0000_01_00_1",),
        "pci_0000_01_00_1": ("pci_0000_01_00_0",),
        "pci_0000_00_14_0": ("usb_usb1", "usb_usb2"),
        "pci_0000_00_1b_0": ("pci_0000_02_00_0",),
    },
    vanish={},
    lookups={"0000:01:00.0": "pci_0000_01_00_0", "usb1": "usb_usb1"},
    missing=("0000:01:00.2",),
    facts={
        "pci_0000_01_00_0": {
            "vendor_id": 0x10DE,
            "product_id": 0x1B81,
            "pci.class_code": 0x030000,
            "pci.revision": 0xA1,
            "pci.numa_node": None,
        },
        "usb_usb1": {
            "usb": UsbInfo(
                busnum=1,
                devnum=1,
                speed="480",
                serial="0000:00:14.0",
                manufacturer="Linux 5.5.0 xhci-hcd",
                product="xHCI Host Controller",
                device_class=9,
                interface_classes=(9,),
            ),
        },
    },
)

SERVER_SRIOV = Table(
    # The VFs are siblings of their PF under the downstream port, not beneath it.
    nodes={
        "pci_0000_00_00_0": Node(None, 0, None, ("bridge",)),
        "pci_0000_00_01_0": Node(None, 2, "pcieport", BPH),
        "pci_0000_01_00_0": Node("pci_0000_00_01_0", 3, "pcieport", BPH),
        "pci_0000_02_00_0": Node("pci_0000_01_00_0", 4, "pcieport", BPH),
        "pci_0000_03_00_0": Node("pci_0000_02_00_0", 38, "i40e", ()),
        "pci_0000_03_02_0": Node("pci_0000_02_00_0", 112, "iavf", ()),
        "pci_0000_03_02_1": Node("pci_0000_02_00_0", 113, None, ()),
        "pci_0000_02_01_0": Node("pci_0000_01_00_0", 5, "pcieport", BPH),
        "pci_0000_04_00_0": Node("pci_0000_02_01_0", 39, "nvme", ()),
        "pci_0000_00_02_0": Node(None, 6, "pcieport", BPH),
        "pci_0000_05_00_0": Node("pci_0000_00_02_0", 40, "mpt3sas", CTRL),
        "scsi_0_0_0_0": Node("pci_0000_05_00_0", 40, "sd", ()),
        "scsi_0_0_1_0": Node("pci_0000_05_00_0", 40, "sd", ()),
        "pci_0000_00_03_0": Node(None, 7, "pcieport", BPH),
        "pci_0000_06_00_0": Node("pci_0000_00_03_0", 7, "igb", ()),
        "pci_0000_06_00_1": Node("pci_0000_00_03_0", 7, "igb", ()),
    },
    # Sparse, large group numbers are kept as they are.
    groups={
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
    },
    passthrough={
        (None, False): (
            "pci_0000_03_00_0",
            "pci_0000_03_02_0",
            "pci_0000_03_02_1",
            "pci_0000_04_00_0",
            "scsi_0_0_0_0",
            "scsi_0_0_1_0",
            "pci_0000_06_00_0",
            "pci_0000_06_00_1",
        ),
        # The HBA's only reason is its disks; the ports are bridges.
        (None, True): (
            "pci_0000_03_00_0",
            "pci_0000_03_02_0",
            "pci_0000_03_02_1",
            "pci_0000_04_00_0",
            "pci_0000_05_00_0",
            "scsi_0_0_0_0",
            "scsi_0_0_1_0",
            "pci_0000_06_00_0",
            "pci_0000_06_00_1",
        ),
        ("pci", False): (
            "pci_0000_03_00_0",
            "pci_0000_03_02_0",
            "pci_0000_03_02_1",
            "pci_0000_04_00_0",
            "pci_0000_06_00_0",
            "pci_0000_06_00_1",
        ),
        ("pci", True): (
            "pci_0000_03_00_0",
            "pci_0000_03_02_0",
            "pci_0000_03_02_1",
            "pci_0000_04_00_0",
            "pci_0000_05_00_0",
            "pci_0000_06_00_0",
            "pci_0000_06_00_1",
        ),
        ("usb_device", False): (),
        ("scsi", False): ("scsi_0_0_0_0", "scsi_0_0_1_0"),
        ("mdev", False): (),
    },
    # Ports take their subtree; the PF goes alone (its VFs are in groups of their
    # own); the HBA takes its disks; the igb ports go together, their root port stays.
    affected={
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
    },
    vanish={"pci_0000_03_00_0": ("pci_0000_03_02_0", "pci_0000_03_02_1")},
    lookups={
        "0000:03:02.1": "pci_0000_03_02_1",
        "0:0:0:0": "scsi_0_0_0_0",
        "0000:06:00.0": "pci_0000_06_00_0",
    },
    missing=("0000:03:02.2", "pci_0000_03_02_2"),
    facts={
        "pci_0000_02_00_0": {
            "children": ("pci_0000_03_00_0", "pci_0000_03_02_0", "pci_0000_03_02_1"),
        },
        "pci_0000_05_00_0": {
            "children": ("scsi_0_0_0_0", "scsi_0_0_1_0"),
            "kind": "pci",
            "vendor_id": 0x1000,
            "product_id": 0x0097,
            # The HBA sits on NUMA node 1 and offers no reset method.
            "pci": PciInfo(
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
            ),
        },
        "pci_0000_03_00_0": {
            "children": (),
            "vendor_id": 0x8086,
            "product_id": 0x1572,
            # The PF has two VFs enabled and no physfn of its own.
            "pci": PciInfo(
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
            ),
        },
        # Each VF, bound or not, names its PF by name (not by kernel name).
        "pci_0000_03_02_0": {
            "pci.numa_node": 0,
            "pci.physfn": "pci_0000_03_00_0",
            "pci.vf_index": 0,
        },
        "pci_0000_03_02_1": {
            "sys_name": "0000:03:02.1",
            "vendor_id": 0x8086,
            "product_id": 0x154C,
            "pci": PciInfo(
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
            ),
        },
        "pci_0000_04_00_0": {
            "vendor_id": 0x144D,
            "product_id": 0xA824,
            "usb": None,
            "scsi": None,
            "pci": PciInfo(
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
            ),
        },
        "scsi_0_0_0_0": {
            "sys_name": "0:0:0:0",
            "kind": "scsi",
            # Two non-node SAS transport directories sit between the SCSI host and the target.
            "path": "devices/pci0000:00/0000:00:02.0/0000:05:00.0/host0/port-0:0/"
            "end_device-0:0/target0:0:0/0:0:0:0",
        },
        # A SAS disk: H:C:T:L from its name, padded INQUIRY strings stripped.
        "scsi_0_0_1_0": {
            "vendor_id": None,
            "product_id": None,
            "pci": None,
            "scsi": ScsiInfo(
                hctl=(0, 0, 1, 0),
                type=0,
                vendor="SEAGATE",
                model="ST4000NM0025",
                block="sdb",
                generic="sg1",
            ),
        },
    },
)

INTEL_VMD = Table(
    # Behind VMD nothing has a group of its own; the disk takes the (absent) group
    # of its nearest PCI ancestor, the AHCI controller, not the VMD's 9.
    nodes={
        "pci_0000_00_00_0": Node(None, 0, None, ("bridge",)),
        "pci_0000_00_0e_0": Node(None, 9, "vmd", CTRL),
        "pci_10000_e0_06_0": Node("pci_0000_00_0e_0", None, "pcieport", BPH),
        "pci_10000_e1_00_0": Node("pci_10000_e0_06_0", None, "nvme", ()),
        "pci_10000_e0_17_0": Node("pci_0000_00_0e_0", None, "ahci", CTRL),
        "scsi_0_0_0_0": Node("pci_10000_e0_17_0", None, "sd", ()),
    },
    groups={0: ("pci_0000_00_00_0",), 9: ("pci_0000_00_0e_0",)},
    passthrough={
        (None, False): ("pci_10000_e1_00_0", "scsi_0_0_0_0"),
        # The VMD and the AHCI controller, not the root port.
        (None, True): (
            "pci_0000_00_0e_0",
            "pci_10000_e1_00_0",
            "pci_10000_e0_17_0",
            "scsi_0_0_0_0",
        ),
        ("pci", False): ("pci_10000_e1_00_0",),
        ("usb_device", False): (),
        ("scsi", False): ("scsi_0_0_0_0",),
        ("mdev", False): (),
    },
    # The VMD takes its whole domain; a device behind it, having no group, takes
    # only its subtree.
    affected={
        "pci_0000_00_0e_0": (
            "pci_10000_e0_06_0",
            "pci_10000_e1_00_0",
            "pci_10000_e0_17_0",
            "scsi_0_0_0_0",
        ),
        "pci_10000_e0_06_0": ("pci_10000_e1_00_0",),
        "pci_10000_e0_17_0": ("scsi_0_0_0_0",),
    },
    vanish={},
    lookups={"10000:e0:17.0": "pci_10000_e0_17_0", "0:0:0:0": "scsi_0_0_0_0"},
    missing=("10000:e0:17.1",),
    facts={
        # The pci10000:e0 root is no node: the domain's devices are the VMD's children.
        "pci_0000_00_0e_0": {
            "children": ("pci_10000_e0_06_0", "pci_10000_e0_17_0"),
            "vendor_id": 0x8086,
            "product_id": 0x9A0B,
            # A RAID-class Intel function without a reset method.
            "pci": PciInfo(
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
            ),
        },
        "pci_10000_e0_06_0": {"children": ("pci_10000_e1_00_0",)},
        "pci_10000_e0_17_0": {
            "sys_name": "10000:e0:17.0",
            "kind": "pci",
            "path": "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:17.0",
            "children": ("scsi_0_0_0_0",),
        },
        # numa_node -1 reads as None.
        "pci_10000_e1_00_0": {
            "path": "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:06.0/10000:e1:00.0",
            "vendor_id": 0x1E0F,
            "product_id": 0x0001,
            "pci": PciInfo(
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
            ),
        },
        "scsi_0_0_0_0": {
            "vendor_id": None,
            "product_id": None,
            "pci": None,
            "scsi": ScsiInfo(
                hctl=(0, 0, 0, 0),
                type=0,
                vendor="ATA",
                model="CT500MX500SSD1",
                block="sda",
                generic="sg0",
            ),
        },
    },
)

CHIPSET_GROUP = Table(
    # The PCH's ISA bridge, PMC, HD audio and SMBus share group 10.
    nodes={
        "pci_0000_00_00_0": Node(None, 0, "skl_uncore", ("bridge",)),
        "pci_0000_00_02_0": Node(None, 1, "i915", ()),
        "pci_0000_00_14_0": Node(None, 4, "xhci_hcd", ()),
        "usb_usb1": Node("pci_0000_00_14_0", 4, "usb", ("usb_hub",)),
        "pci_0000_00_1f_0": Node(None, 10, None, ("bridge",)),
        "pci_0000_00_1f_2": Node(None, 10, None, ()),
        "pci_0000_00_1f_3": Node(None, 10, "snd_hda_intel", ()),
        "pci_0000_00_1f_4": Node(None, 10, "i801_smbus", ()),
    },
    groups={
        0: ("pci_0000_00_00_0",),
        1: ("pci_0000_00_02_0",),
        4: ("pci_0000_00_14_0",),
        10: ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_3", "pci_0000_00_1f_4"),
    },
    # The ISA bridge is not offered.
    passthrough={
        (None, False): (
            "pci_0000_00_02_0",
            "pci_0000_00_14_0",
            "pci_0000_00_1f_2",
            "pci_0000_00_1f_3",
            "pci_0000_00_1f_4",
        ),
    },
    # The audio takes the ISA bridge (it does not stay under VFIO), PMC and SMBus.
    affected={
        "pci_0000_00_14_0": ("usb_usb1",),
        "pci_0000_00_1f_0": ("pci_0000_00_1f_2", "pci_0000_00_1f_3", "pci_0000_00_1f_4"),
        "pci_0000_00_1f_2": ("pci_0000_00_1f_0", "pci_0000_00_1f_3", "pci_0000_00_1f_4"),
        "pci_0000_00_1f_3": ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_4"),
        "pci_0000_00_1f_4": ("pci_0000_00_1f_0", "pci_0000_00_1f_2", "pci_0000_00_1f_3"),
    },
    vanish={},
    lookups={"0000:00:1f.3": "pci_0000_00_1f_3"},
    missing=(),
    facts={},
)

LAPTOP_USB_SATA = Table(
    # IOMMU off; hubs, a keyboard, a USB stick with its LUN, a SATA disk and a DVD drive.
    nodes={
        "pci_0000_00_00_0": Node(None, None, "skl_uncore", ("bridge",)),
        "pci_0000_00_14_0": Node(None, None, "xhci_hcd", CTRL),
        "usb_usb1": Node("pci_0000_00_14_0", None, "usb", ("usb_hub", "has_passthrough_children")),
        "usb_1_1": Node("usb_usb1", None, "usb", ("usb_hub", "has_passthrough_children")),
        "usb_1_1_2": Node("usb_1_1", None, "usb", ()),
        "usb_1_2": Node("usb_usb1", None, "usb", CTRL),
        "scsi_2_0_0_0": Node("usb_1_2", None, "sd", ()),
        "usb_usb2": Node("pci_0000_00_14_0", None, "usb", ("usb_hub",)),
        "pci_0000_00_17_0": Node(None, None, "ahci", CTRL),
        "scsi_0_0_0_0": Node("pci_0000_00_17_0", None, "sd", ()),
        "scsi_1_0_0_0": Node("pci_0000_00_17_0", None, "sr", ()),
    },
    groups={},
    passthrough={
        (None, False): ("usb_1_1_2", "scsi_2_0_0_0", "scsi_0_0_0_0", "scsi_1_0_0_0"),
        (None, True): (
            "pci_0000_00_14_0",
            "usb_1_1_2",
            "usb_1_2",
            "scsi_2_0_0_0",
            "pci_0000_00_17_0",
            "scsi_0_0_0_0",
            "scsi_1_0_0_0",
        ),
        ("usb_device", False): ("usb_1_1_2",),
        ("usb_device", True): ("usb_1_1_2", "usb_1_2"),
        ("scsi", False): ("scsi_2_0_0_0", "scsi_0_0_0_0", "scsi_1_0_0_0"),
        ("pci", False): (),
    },
    # Without groups, only subtrees go.
    affected={
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
    },
    vanish={},
    lookups={"1-1.2": "usb_1_1_2"},
    missing=(),
    facts={
        "usb_1_1_2": {
            "usb": UsbInfo(
                busnum=1,
                devnum=4,
                speed="1.5",
                serial=None,
                manufacturer="Logitech",
                product="USB Keyboard",
                device_class=0,
                interface_classes=(3, 3),
            ),
        },
        "usb_1_2": {"vendor_id": 0x0781, "product_id": 0x5581},
        "scsi_2_0_0_0": {
            "scsi": ScsiInfo(
                hctl=(2, 0, 0, 0),
                type=0,
                vendor="SanDisk",
                model="Ultra",
                block="sdb",
                generic="sg2",
            ),
        },
        "scsi_1_0_0_0": {"vendor_id": None},
    },
)

VM_VIRTIO = Table(
    # A q35 guest: the virtioN directories are not nodes; the virtio-scsi disk sits
    # under its HBA.
    nodes={
        "pci_0000_00_00_0": Node(None, None, None, ("bridge",)),
        "pci_0000_00_02_0": Node(None, None, "virtio-pci", ()),
        "pci_0000_00_03_0": Node(None, None, "virtio-pci", ()),
        "pci_0000_00_04_0": Node(None, None, "virtio-pci", CTRL),
        "scsi_0_0_0_0": Node("pci_0000_00_04_0", None, "sd", ()),
        "pci_0000_00_1f_0": Node(None, None, "lpc_ich", ("bridge",)),
    },
    groups={},
    passthrough={
        (None, False): ("pci_0000_00_02_0", "pci_0000_00_03_0", "scsi_0_0_0_0"),
        (None, True): (
            "pci_0000_00_02_0",
            "pci_0000_00_03_0",
            "pci_0000_00_04_0",
            "scsi_0_0_0_0",
        ),
    },
    affected={"pci_0000_00_04_0": ("scsi_0_0_0_0",)},
    vanish={},
    lookups={},
    missing=(),
    facts={},
)

SRIOV_NIC = Table(
    # A ConnectX-5: PF 0 with 4 of 8 VFs and autoprobe on, PF 1 with SR-IOV off.
    # The VFs are the PFs' siblings beneath the root port, each in a group of its own.
    nodes={
        "pci_0000_3a_00_0": Node(None, 24, "pcieport", BPH),
        "pci_0000_3b_00_0": Node("pci_0000_3a_00_0", 25, "mlx5_core", ()),
        "pci_0000_3b_00_1": Node("pci_0000_3a_00_0", 26, "mlx5_core", ()),
        "pci_0000_3b_00_2": Node("pci_0000_3a_00_0", 110, "mlx5_core", ()),
        "pci_0000_3b_00_3": Node("pci_0000_3a_00_0", 111, "mlx5_core", ()),
        "pci_0000_3b_00_4": Node("pci_0000_3a_00_0", 112, "vfio-pci", ()),
        "pci_0000_3b_00_5": Node("pci_0000_3a_00_0", 113, None, ()),
    },
    groups={
        24: ("pci_0000_3a_00_0",),
        25: ("pci_0000_3b_00_0",),
        26: ("pci_0000_3b_00_1",),
        110: ("pci_0000_3b_00_2",),
        111: ("pci_0000_3b_00_3",),
        112: ("pci_0000_3b_00_4",),
        113: ("pci_0000_3b_00_5",),
    },
    passthrough={
        (None, False): NIC_FUNCTIONS,
        # The root port is a bridge: include_controllers adds nothing.
        (None, True): NIC_FUNCTIONS,
        ("pci", False): NIC_FUNCTIONS,
        ("mdev", False): (),
    },
    # The root port takes its subtree; a PF or a VF goes alone (check() says to
    # disable a PF's VFs first).
    affected={"pci_0000_3a_00_0": NIC_FUNCTIONS},
    vanish={"pci_0000_3b_00_0": NIC_VFS},
    lookups={"0000:3b:00.4": "pci_0000_3b_00_4", "0000:3b:00.0": "pci_0000_3b_00_0"},
    # VF 4 of PF 0 is not enabled.
    missing=("0000:3b:00.6",),
    facts={
        "pci_0000_3b_00_0": {
            "pci.sriov_numvfs": 4,
            "pci.sriov_totalvfs": 8,
            "pci.sriov_drivers_autoprobe": True,
            # From the virtfnN links, VF 0 first.
            "pci.vfs": NIC_VFS,
            # A PF is nobody's VF.
            "pci.vf_index": None,
            "pci.physfn": None,
            "mdev_types": (),
        },
        # PF 1 can have 8 VFs and has none: no virtfn links.
        "pci_0000_3b_00_1": {
            "pci.sriov_numvfs": 0,
            "pci.sriov_totalvfs": 8,
            "pci.vfs": (),
        },
        # VF N names its PF and knows its N; it has no sriov_* files of its own.
        "pci_0000_3b_00_2": {"pci.physfn": "pci_0000_3b_00_0", "pci.vf_index": 0},
        "pci_0000_3b_00_3": {
            "pci.physfn": "pci_0000_3b_00_0",
            "pci.vf_index": 1,
            "pci.sriov_numvfs": None,
            "pci.sriov_totalvfs": None,
            "pci.sriov_drivers_autoprobe": None,
            "pci.vfs": (),
            "product_id": 0x1018,
        },
        "pci_0000_3b_00_4": {"pci.physfn": "pci_0000_3b_00_0", "pci.vf_index": 2},
        "pci_0000_3b_00_5": {"pci.physfn": "pci_0000_3b_00_0", "pci.vf_index": 3},
    },
)

GVTG_MDEV = Table(
    # GVT-g: the iGPU offers two types; one instance exists beneath it, bound, in
    # the VFIO core's emulated group 13, which is no IOMMU group.
    nodes={
        "pci_0000_00_00_0": Node(None, 0, "skl_uncore", ("bridge",)),
        "pci_0000_00_02_0": Node(None, 1, "i915", CTRL),
        MDEV: Node("pci_0000_00_02_0", 13, "intel_vgpu_mdev", ()),
        "pci_0000_00_1f_3": Node(None, 7, "snd_hda_intel", ()),
    },
    groups={0: ("pci_0000_00_00_0",), 1: ("pci_0000_00_02_0",), 7: ("pci_0000_00_1f_3",)},
    # The iGPU is offered through its mdev; the audio function by itself.
    passthrough={
        (None, False): (MDEV, "pci_0000_00_1f_3"),
        # include_controllers adds the whole iGPU.
        (None, True): ("pci_0000_00_02_0", MDEV, "pci_0000_00_1f_3"),
        ("pci", False): ("pci_0000_00_1f_3",),
        ("mdev", False): (MDEV,),
    },
    # Passing the whole iGPU takes its mediated device; nothing goes with the
    # mdev (its parent stays with the host).
    affected={"pci_0000_00_02_0": (MDEV,)},
    vanish={},
    # The kernel name of an mdev is its UUID.
    lookups={MDEV_UUID: MDEV, "0000:00:02.0": "pci_0000_00_02_0"},
    missing=("11111111-2222-3333-4444-555555555555",),
    facts={
        MDEV: {
            "kind": "mdev",
            "sys_name": MDEV_UUID,
            "path": f"devices/pci0000:00/0000:00:02.0/{MDEV_UUID}",
            # Its type, from the mdev_type link and the parent's type directory.
            "mdev": MdevInfo(
                type_id="i915-GVTg_V5_4", type_name="GVTg_V5_4", device_api="vfio-pci"
            ),
            # No vendor or product, no PCI facts; the description is the type's name.
            "vendor_id": None,
            "product_id": None,
            "pci": None,
            "description": "GVTg_V5_4",
            "mdev_types": (),
        },
        # The parent's two types with descriptions, API and what is left.
        "pci_0000_00_02_0": {
            "mdev_types": (
                MdevType(
                    id="i915-GVTg_V5_4",
                    name="GVTg_V5_4",
                    description=(
                        "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n"
                        "resolution: 1920x1200\nweight: 4"
                    ),
                    device_api="vfio-pci",
                    available_instances=0,
                    devices=(MDEV,),
                ),
                MdevType(
                    id="i915-GVTg_V5_8",
                    name="GVTg_V5_8",
                    description=(
                        "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\n"
                        "resolution: 1024x768\nweight: 2"
                    ),
                    device_api="vfio-pci",
                    available_instances=1,
                    devices=(),
                ),
            ),
            "children": (MDEV,),
            "mdev": None,
        },
        # Only the parent lists types.
        "pci_0000_00_1f_3": {"mdev_types": ()},
    },
)

NVIDIA_VGPU_VF = Table(
    # An L4 with all 32 VFs on (offset 4, stride 1: 41:00.4 to 41:04.3), each on
    # nvidia with NVIDIA's nvidia/ vGPU files, each in a group of its own (200 + N).
    nodes={
        "pci_0000_40_00_0": Node(None, 30, None, ("bridge",)),
        "pci_0000_40_01_1": Node(None, 31, "pcieport", BPH),
        "pci_0000_41_00_0": Node("pci_0000_40_01_1", 32, "nvidia", ()),
        "pci_0000_41_00_4": Node("pci_0000_40_01_1", 200, "nvidia", ()),
        "pci_0000_41_00_5": Node("pci_0000_40_01_1", 201, "nvidia", ()),
        "pci_0000_41_00_6": Node("pci_0000_40_01_1", 202, "nvidia", ()),
        "pci_0000_41_00_7": Node("pci_0000_40_01_1", 203, "nvidia", ()),
        "pci_0000_41_01_0": Node("pci_0000_40_01_1", 204, "nvidia", ()),
        "pci_0000_41_01_1": Node("pci_0000_40_01_1", 205, "nvidia", ()),
        "pci_0000_41_01_2": Node("pci_0000_40_01_1", 206, "nvidia", ()),
        "pci_0000_41_01_3": Node("pci_0000_40_01_1", 207, "nvidia", ()),
        "pci_0000_41_01_4": Node("pci_0000_40_01_1", 208, "nvidia", ()),
        "pci_0000_41_01_5": Node("pci_0000_40_01_1", 209, "nvidia", ()),
        "pci_0000_41_01_6": Node("pci_0000_40_01_1", 210, "nvidia", ()),
        "pci_0000_41_01_7": Node("pci_0000_40_01_1", 211, "nvidia", ()),
        "pci_0000_41_02_0": Node("pci_0000_40_01_1", 212, "nvidia", ()),
        "pci_0000_41_02_1": Node("pci_0000_40_01_1", 213, "nvidia", ()),
        "pci_0000_41_02_2": Node("pci_0000_40_01_1", 214, "nvidia", ()),
        "pci_0000_41_02_3": Node("pci_0000_40_01_1", 215, "nvidia", ()),
        "pci_0000_41_02_4": Node("pci_0000_40_01_1", 216, "nvidia", ()),
        "pci_0000_41_02_5": Node("pci_0000_40_01_1", 217, "nvidia", ()),
        "pci_0000_41_02_6": Node("pci_0000_40_01_1", 218, "nvidia", ()),
        "pci_0000_41_02_7": Node("pci_0000_40_01_1", 219, "nvidia", ()),
        "pci_0000_41_03_0": Node("pci_0000_40_01_1", 220, "nvidia", ()),
        "pci_0000_41_03_1": Node("pci_0000_40_01_1", 221, "nvidia", ()),
        "pci_0000_41_03_2": Node("pci_0000_40_01_1", 222, "nvidia", ()),
        "pci_0000_41_03_3": Node("pci_0000_40_01_1", 223, "nvidia", ()),
        "pci_0000_41_03_4": Node("pci_0000_40_01_1", 224, "nvidia", ()),
        "pci_0000_41_03_5": Node("pci_0000_40_01_1", 225, "nvidia", ()),
        "pci_0000_41_03_6": Node("pci_0000_40_01_1", 226, "nvidia", ()),
        "pci_0000_41_03_7": Node("pci_0000_40_01_1", 227, "nvidia", ()),
        "pci_0000_41_04_0": Node("pci_0000_40_01_1", 228, "nvidia", ()),
        "pci_0000_41_04_1": Node("pci_0000_40_01_1", 229, "nvidia", ()),
        "pci_0000_41_04_2": Node("pci_0000_40_01_1", 230, "nvidia", ()),
        "pci_0000_41_04_3": Node("pci_0000_40_01_1", 231, "nvidia", ()),
    },
    groups={
        30: ("pci_0000_40_00_0",),
        31: ("pci_0000_40_01_1",),
        32: ("pci_0000_41_00_0",),
        200: ("pci_0000_41_00_4",),
        201: ("pci_0000_41_00_5",),
        202: ("pci_0000_41_00_6",),
        203: ("pci_0000_41_00_7",),
        204: ("pci_0000_41_01_0",),
        205: ("pci_0000_41_01_1",),
        206: ("pci_0000_41_01_2",),
        207: ("pci_0000_41_01_3",),
        208: ("pci_0000_41_01_4",),
        209: ("pci_0000_41_01_5",),
        210: ("pci_0000_41_01_6",),
        211: ("pci_0000_41_01_7",),
        212: ("pci_0000_41_02_0",),
        213: ("pci_0000_41_02_1",),
        214: ("pci_0000_41_02_2",),
        215: ("pci_0000_41_02_3",),
        216: ("pci_0000_41_02_4",),
        217: ("pci_0000_41_02_5",),
        218: ("pci_0000_41_02_6",),
        219: ("pci_0000_41_02_7",),
        220: ("pci_0000_41_03_0",),
        221: ("pci_0000_41_03_1",),
        222: ("pci_0000_41_03_2",),
        223: ("pci_0000_41_03_3",),
        224: ("pci_0000_41_03_4",),
        225: ("pci_0000_41_03_5",),
        226: ("pci_0000_41_03_6",),
        227: ("pci_0000_41_03_7",),
        228: ("pci_0000_41_04_0",),
        229: ("pci_0000_41_04_1",),
        230: ("pci_0000_41_04_2",),
        231: ("pci_0000_41_04_3",),
    },
    # Every VF and the PF are offered.
    passthrough={
        (None, False): ("pci_0000_41_00_0", *L4_VFS),
        (None, True): ("pci_0000_41_00_0", *L4_VFS),
        ("mdev", False): (),
    },
    affected={"pci_0000_40_01_1": ("pci_0000_41_00_0", *L4_VFS)},
    # Disabling the VFs removes all 32, the vGPU with VF 0.
    vanish={"pci_0000_41_00_0": L4_VFS},
    lookups={"0000:41:00.4": "pci_0000_41_00_4", "0000:41:04.3": "pci_0000_41_04_3"},
    missing=("0000:41:04.4",),
    facts={
        # 32 of 32 VFs on, in N order; the nvidia/ directory is on VFs only.
        "pci_0000_41_00_0": {
            "pci.sriov_numvfs": 32,
            "pci.sriov_totalvfs": 32,
            "pci.vfs": L4_VFS,
            "pci.vgpu": None,
        },
        # VF 0 carries type 921, named from the creatable list.
        "pci_0000_41_00_4": {
            "pci.vf_index": 0,
            "pci.physfn": "pci_0000_41_00_0",
            "pci.vgpu": VgpuInfo(creatable=(VgpuType(id=921, name="NVIDIA L4-2Q"),), current=921),
            "pci.vgpu.current_name": "NVIDIA L4-2Q",
        },
        # VF 1 carries no type yet: current 0, no name.
        "pci_0000_41_00_5": {
            "pci.vf_index": 1,
            "pci.vgpu": VgpuInfo(creatable=(VgpuType(id=921, name="NVIDIA L4-2Q"),), current=0),
            "pci.vgpu.current_name": None,
        },
        "pci_0000_41_04_3": {"pci.vf_index": 31, "pci.physfn": "pci_0000_41_00_0"},
    },
)

EMPTY = Table(
    nodes={},
    groups={},
    passthrough={(None, False): (), (None, True): ()},
    affected={},
    vanish={},
    lookups={},
    missing=("0000:00:00.0",),
    facts={},
)

TABLES: dict[str, Table] = {
    "desktop-gpu": DESKTOP_GPU,
    "server-sriov": SERVER_SRIOV,
    "intel-vmd": INTEL_VMD,
    "chipset-group": CHIPSET_GROUP,
    "laptop-usb-sata": LAPTOP_USB_SATA,
    "vm-virtio": VM_VIRTIO,
    "sriov-nic": SRIOV_NIC,
    "gvtg-mdev": GVTG_MDEV,
    "nvidia-vgpu-vf": NVIDIA_VGPU_VF,
    "empty": EMPTY,
}
