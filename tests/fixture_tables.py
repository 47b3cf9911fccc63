"""Hand-written expectations for the topology fixtures, one table each.

Every value here was written by reading the fixture files in ``fixtures/``, never
by running the library. ``test_fixtures.py`` checks each fact of each table
under every reader, one fact per test.
"""

from __future__ import annotations

from typing import NamedTuple

from hostpassthru import PciInfo, ScsiInfo, UsbInfo


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
    #: Kernel name -> name, for lookups; and names that must not be found.
    lookups: dict[str, str]
    missing: tuple[str, ...]
    #: Device -> attribute -> value, for the facts worth pinning.
    facts: dict[str, dict[str, object]]


BPH = ("bridge", "pcie_port", "has_passthrough_children")
CTRL = ("has_passthrough_children",)

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
    lookups={},
    missing=(),
    facts={},
)

EMPTY = Table(
    nodes={},
    groups={},
    passthrough={(None, False): (), (None, True): ()},
    affected={},
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
    "empty": EMPTY,
}
