"""The pure core: records in, tree, groups, reasons and affected sets out, no filesystem."""

from __future__ import annotations

import attrs
import pytest

import hostpassthru as hp
from hostpassthru._model import device_name
from hostpassthru._records import DeviceRecord, Kind, Snapshot
from hostpassthru._tree import build


def pci(path: str, cls: str = "0x020000", driver: str | None = None, **attrs: str) -> DeviceRecord:
    """A PCI record at *path* (its kernel name is the last component)."""
    return DeviceRecord(
        kind="pci",
        sys_name=path.rpartition("/")[2],
        path=path,
        driver=driver,
        attributes={"class": cls, "vendor": "0x8086", "device": "0x1234", **attrs},
    )


def usb(path: str, cls: str = "00", interfaces: tuple[str, ...] = ("03",)) -> DeviceRecord:
    """A USB device record at *path*."""
    return DeviceRecord(
        kind="usb_device",
        sys_name=path.rpartition("/")[2],
        path=path,
        driver="usb",
        attributes={"idVendor": "046d", "idProduct": "c52b", "bDeviceClass": cls},
        interface_classes=interfaces,
    )


def scsi(path: str) -> DeviceRecord:
    """A SCSI disk record at *path*."""
    return DeviceRecord(
        kind="scsi",
        sys_name=path.rpartition("/")[2],
        path=path,
        driver="sd",
        attributes={"type": "0", "vendor": "ATA", "model": "Samsung SSD"},
        block=("sda",),
        generic=("sg0",),
    )


def host_of(*records: DeviceRecord, groups: dict[int, tuple[str, ...]] | None = None) -> hp.Host:
    """Build a host from records, with kernel/iommu_groups as given."""
    return build(Snapshot(root="/sys", source="sysfs", records=records, groups=groups or {}))


R = "devices/pci0000:00"
AHCI = f"{R}/0000:00:17.0"
DISK = f"{AHCI}/ata1/host0/target0:0:0/0:0:0:0"
XHCI = f"{R}/0000:00:14.0"


class TestNames:
    """Names follow docs/semantics.md, "Nodes"."""

    @pytest.mark.parametrize(
        ("kind", "sys_name", "expected"),
        [
            ("pci", "0000:00:19.0", "pci_0000_00_19_0"),
            ("pci", "10000:e0:17.0", "pci_10000_e0_17_0"),
            ("usb_device", "usb1", "usb_usb1"),
            ("usb_device", "1-2", "usb_1_2"),
            ("usb_device", "1-2.3", "usb_1_2_3"),
            ("scsi", "0:0:0:0", "scsi_0_0_0_0"),
            (
                "mdev",
                "83b8f4f2-509f-382f-3c1e-e6bfe0fa1001",
                "mdev_83b8f4f2_509f_382f_3c1e_e6bfe0fa1001",
            ),
            # Beyond the usual separators: any other character, and non-ASCII letters.
            ("usb_device", "1-2+x", "usb_1_2_x"),
            ("scsi", "0:0:0:\u00e9", "scsi_0_0_0__"),
            ("pci", "a_b", "pci_a_b"),
            # Only the separator becomes _, not the letters beside it.
            ("scsi", "XX:XX.XX-XX", "scsi_XX_XX_XX_XX"),
            # Through the regular expression too, letters of both cases and digits stay.
            ("usb_device", "A+z9", "usb_A_z9"),
            ("pci", "", "pci_"),
        ],
    )
    def test_device_name(self, kind: Kind, sys_name: str, expected: str) -> None:
        """Prefix plus the kernel name with every non-alphanumeric character replaced."""
        assert expected == device_name(kind, sys_name)

    def test_lookup_by_either_name(self) -> None:
        """A device is found by name and by kernel name."""
        host = host_of(pci(f"{R}/0000:00:19.0"))
        assert host.device("pci_0000_00_19_0") == host.device("0000:00:19.0")
        assert "0000:00:19.0" == host.device("pci_0000_00_19_0").sys_name

    def test_unknown_name(self) -> None:
        """An unknown name raises DeviceNotFoundError, a LookupError, with close names."""
        host = host_of(pci(f"{R}/0000:00:19.0"))
        with pytest.raises(LookupError) as info:
            host.device("pci_0000_00_19_1")
        assert isinstance(info.value, hp.DeviceNotFoundError)
        assert ("pci_0000_00_19_0",) == info.value.suggestions
        assert "pci_0000_00_19_1" in str(info.value)


class TestTree:
    """Parents skip directories that are not nodes."""

    def test_sata_disk_parent_is_controller(self) -> None:
        """ATA ports, SCSI hosts and targets fold into the controller."""
        host = host_of(pci(AHCI, "0x010601", "ahci"), scsi(DISK))
        assert "pci_0000_00_17_0" == host.device("0:0:0:0").parent
        assert ("scsi_0_0_0_0",) == host.device(AHCI.rpartition("/")[2]).children

    def test_vmd_parent(self) -> None:
        """A device behind Intel VMD has the VMD device as parent."""
        vmd = f"{R}/0000:00:0e.0"
        host = host_of(pci(vmd, "0x010400", "vmd"), pci(f"{vmd}/pci10000:e0/10000:e0:17.0"))
        assert "pci_0000_00_0e_0" == host.device("10000:e0:17.0").parent

    def test_sibling_prefix_is_not_parent(self) -> None:
        """A path that merely starts with another node's path is not beneath it."""
        host = host_of(usb(f"{XHCI}/usb1/1-1"), usb(f"{XHCI}/usb1/1-10"))
        assert None is host.device("1-10").parent
        assert None is host.device("1-1").parent

    def test_sibling_sorting_between_parent_and_child(self) -> None:
        """A sibling whose name extends the parent's ("1-1.5") does not hide the parent."""
        hub = f"{XHCI}/usb1/1-1"
        host = host_of(usb(hub, "09"), usb(f"{XHCI}/usb1/1-1.5"), usb(f"{hub}/1-1.2"))
        assert ["usb_1_1", "usb_1_1_5", "usb_1_1_2"] == [d.name for d in host.devices]
        assert "usb_1_1" == host.device("1-1.2").parent

    def test_ordered_by_path(self) -> None:
        """Nodes come in plain string order of their paths."""
        records = (pci(f"{R}/0000:00:1f.0"), pci(f"{R}/0000:00:02.0"), pci(f"{R}/0000:00:14.0"))
        paths = [d.path for d in host_of(*records).devices]
        assert sorted(paths) == paths

    def test_descendants_and_ancestors(self) -> None:
        """Descendants are the whole subtree; ancestors go up nearest first."""
        hub = f"{XHCI}/usb1"
        host = host_of(
            pci(XHCI, "0x0c0330", "xhci_hcd"),
            usb(hub, "09", ("09",)),
            usb(f"{hub}/1-1", "09", ("09",)),
            usb(f"{hub}/1-1/1-1.2"),
            usb(f"{hub}/1-10"),
        )
        assert ["usb_usb1", "usb_1_1", "usb_1_1_2", "usb_1_10"] == [
            d.name for d in host.descendants("0000:00:14.0")
        ]
        assert ["usb_1_1", "usb_usb1", "pci_0000_00_14_0"] == [
            d.name for d in host.ancestors("1-1.2")
        ]


class TestGroups:
    """Effective IOMMU groups follow docs/semantics.md, "IOMMU groups"."""

    def test_kernel_directory_is_authoritative(self) -> None:
        """The groups directory wins over a device's own link."""
        rec = attrs.evolve(pci(f"{R}/0000:00:02.0"), iommu_group_link="7")
        host = host_of(rec, groups={3: ("0000:00:02.0",)})
        assert 3 == host.device("0000:00:02.0").iommu_group
        assert {3: ("pci_0000_00_02_0",)} == dict(host.iommu_groups)

    def test_link_fallback(self) -> None:
        """With no groups directory, the iommu_group link's last component is the group."""
        rec = attrs.evolve(pci(f"{R}/0000:00:02.0"), iommu_group_link="0")
        host = host_of(rec)
        assert 0 == host.device("0000:00:02.0").iommu_group
        assert True is host.iommu_enabled

    def test_usb_and_scsi_take_nearest_pci_group(self) -> None:
        """USB and SCSI nodes take the group of their nearest PCI ancestor."""
        host = host_of(
            pci(XHCI, "0x0c0330"),
            usb(f"{XHCI}/usb1", "09", ("09",)),
            usb(f"{XHCI}/usb1/1-2", "00", ("08",)),
            scsi(f"{XHCI}/usb1/1-2/1-2:1.0/host2/target2:0:0/2:0:0:0"),
            groups={12: ("0000:00:14.0",)},
        )
        assert [12, 12, 12, 12] == [d.iommu_group for d in host.devices]

    def test_below_an_mdev_the_pci_group(self) -> None:
        """A node beneath an mdev takes the PCI node's group, not the mdev's emulated one."""
        uuid = "4b20d080-1b54-4048-85b3-a6a62d165c01"
        mdev = DeviceRecord(
            kind="mdev",
            sys_name=uuid,
            path=f"{R}/0000:00:02.0/{uuid}",
            driver="vfio_mdev",
            attributes={},
        )
        host = host_of(
            pci(f"{R}/0000:00:02.0"),
            mdev,
            usb(f"{R}/0000:00:02.0/{uuid}/usb1"),
            groups={1: ("0000:00:02.0",), 7: (uuid,)},
        )
        assert 1 == host.device("usb1").iommu_group

    def test_group_zero_is_real(self) -> None:
        """Group 0 is a group, not 'none'."""
        host = host_of(pci(f"{R}/0000:00:02.0"), groups={0: ("0000:00:02.0",)})
        assert 0 == host.device("0000:00:02.0").iommu_group

    def test_no_groups(self) -> None:
        """Without groups every node's group is None and the IOMMU is off."""
        host = host_of(pci(f"{R}/0000:00:02.0"), usb(f"{R}/0000:00:02.0/usb1"))
        assert [None, None] == [d.iommu_group for d in host]
        assert False is host.iommu_enabled

    def test_sparse_groups_and_non_pci_members(self) -> None:
        """Sparse group numbers are kept; a group may hold no PCI node."""
        host = host_of(
            pci(f"{R}/0000:00:02.0"), groups={4096: ("0000:00:02.0",), 5: ("ARMH0011:00",)}
        )
        assert {5: (), 4096: ("pci_0000_00_02_0",)} == dict(host.iommu_groups)


class TestEligibility:
    """The four reasons of docs/semantics.md, bottom-up."""

    def test_bridge_classes(self) -> None:
        """Base class 0x06 is a bridge: host, ISA, PCI-to-PCI."""
        host = host_of(
            pci(f"{R}/0000:00:00.0", "0x060000"),
            pci(f"{R}/0000:00:1f.0", "0x060100"),
            pci(f"{R}/0000:00:1c.0", "0x060400"),
        )
        assert [("bridge",)] * 3 == [d.reasons for d in host]

    def test_pcie_port_by_driver(self) -> None:
        """A node bound to pcieport is a port whatever its class."""
        host = host_of(pci(f"{R}/0000:00:1c.0", "0x060400", "pcieport"))
        assert ("bridge", "pcie_port") == host.device("0000:00:1c.0").reasons

    def test_unreadable_class_is_not_bridge(self) -> None:
        """A rule whose attribute is missing does not apply."""
        rec = DeviceRecord(
            kind="pci",
            sys_name="0000:00:02.0",
            path=f"{R}/0000:00:02.0",
            driver=None,
            attributes={},
        )
        assert True is host_of(rec).devices[0].eligible
        assert () == host_of(rec).devices[0].reasons

    def test_usb_controller_with_empty_root_hub_is_eligible(self) -> None:
        """An empty root hub does not keep its controller."""
        host = host_of(pci(XHCI, "0x0c0330"), usb(f"{XHCI}/usb1", "09", ("09",)))
        assert [(), ("usb_hub",)] == [d.reasons for d in host]
        assert [True, False] == [d.eligible for d in host]

    def test_usb_controller_with_keyboard(self) -> None:
        """A keyboard is eligible; its hub and controller are not, the hub twice over."""
        host = host_of(
            pci(XHCI, "0x0c0330"),
            usb(f"{XHCI}/usb1", "09", ("09",)),
            usb(f"{XHCI}/usb1/1-3"),
        )
        assert [
            ("has_passthrough_children",),
            ("usb_hub", "has_passthrough_children"),
            (),
        ] == [d.reasons for d in host]

    def test_include_controllers(self) -> None:
        """include_controllers adds nodes whose only reason is has_passthrough_children."""
        host = host_of(
            pci(XHCI, "0x0c0330"),
            usb(f"{XHCI}/usb1", "09", ("09",)),
            usb(f"{XHCI}/usb1/1-3"),
            pci(AHCI, "0x010601"),
            scsi(DISK),
        )
        assert ("usb_1_3", "scsi_0_0_0_0") == tuple(d.name for d in host.passthrough_devices())
        assert ("pci_0000_00_14_0", "usb_1_3", "pci_0000_00_17_0", "scsi_0_0_0_0") == tuple(
            d.name for d in host.passthrough_devices(include_controllers=True)
        )
        assert ("scsi_0_0_0_0",) == tuple(
            d.name for d in host.passthrough_devices("scsi", include_controllers=True)
        )

    def test_bad_cap(self) -> None:
        """An unknown cap is a ValueError that names the kinds."""
        with pytest.raises(ValueError, match="usb_device"):
            host_of().passthrough_devices("usb")


class TestAffected:
    """What goes with a device (docs/semantics.md)."""

    def test_group_members_but_bridges(self) -> None:
        """Endpoints of the group go, with their subtrees; bridges and ports stay."""
        port = f"{R}/0000:00:01.0"
        host = host_of(
            pci(port, "0x060400", "pcieport"),
            pci(f"{port}/0000:01:00.0", "0x030000", "nouveau"),
            pci(f"{port}/0000:01:00.1", "0x040300", "snd_hda_intel"),
            pci(f"{R}/0000:00:1f.0", "0x060100"),
            groups={1: ("0000:00:01.0", "0000:01:00.0", "0000:01:00.1", "0000:00:1f.0")},
        )
        assert ("pci_0000_01_00_1", "pci_0000_00_1f_0") == tuple(
            d.name for d in host.affected_by("0000:01:00.0")
        )

    def test_pci_subtree_goes(self) -> None:
        """A USB controller takes its devices along."""
        host = host_of(
            pci(XHCI, "0x0c0330"),
            usb(f"{XHCI}/usb1", "09", ("09",)),
            usb(f"{XHCI}/usb1/1-3"),
            groups={4: ("0000:00:14.0",)},
        )
        assert ("usb_usb1", "usb_1_3") == tuple(d.name for d in host.affected_by(XHCI[-12:]))

    def test_usb_ignores_group(self) -> None:
        """USB passthrough does not go through VFIO: only the subtree goes."""
        host = host_of(
            pci(XHCI, "0x0c0330"),
            usb(f"{XHCI}/usb1", "09", ("09",)),
            usb(f"{XHCI}/usb1/1-3"),
            pci(f"{R}/0000:00:14.2", "0x118000"),
            groups={4: ("0000:00:14.0", "0000:00:14.2")},
        )
        assert () == tuple(d.name for d in host.affected_by("1-3"))
        assert ("usb_1_3",) == tuple(d.name for d in host.affected_by("usb1"))

    def test_stays_with_host(self) -> None:
        """PCI-to-PCI (0x0604), semi-transparent (0x0609) and pcieport stay; ISA bridges go."""
        host = host_of(
            pci(f"{R}/0000:00:01.0", "0x060400"),
            pci(f"{R}/0000:00:02.0", "0x060940"),
            pci(f"{R}/0000:00:03.0", "0x088000", "pcieport"),
            pci(f"{R}/0000:00:1f.0", "0x060100"),
        )
        assert [True, True, True, False] == [d.stays_with_host for d in host]

    def test_accepts_device_name_and_sys_name(self) -> None:
        """affected_by takes a Device, a name or a kernel name."""
        host = host_of(pci(XHCI, "0x0c0330"), usb(f"{XHCI}/usb1", "09", ()))
        dev = host.device("0000:00:14.0")
        assert ("usb_usb1",) == tuple(d.name for d in host.affected_by(dev))
        assert ("usb_usb1",) == tuple(d.name for d in host.affected_by("pci_0000_00_14_0"))
        assert ("usb_usb1",) == tuple(d.name for d in host.affected_by("0000:00:14.0"))


class TestMalformed:
    """Malformed attributes give None and a problem naming device and attribute."""

    def test_malformed_hex(self) -> None:
        """A class that is not hex is None, and said."""
        host = host_of(pci(f"{R}/0000:00:02.0", "zz"))
        dev = host.devices[0]
        assert None is (dev.pci and dev.pci.class_code)
        assert ("0000:00:02.0: class: malformed value 'zz'",) == host.problems
        assert () == dev.reasons

    def test_numa_minus_one_is_none(self) -> None:
        """numa_node -1 means no NUMA information."""
        host = host_of(
            pci(f"{R}/0000:00:02.0", numa_node="-1"), pci(f"{R}/0000:00:03.0", numa_node="1")
        )
        assert [None, 1] == [d.pci and d.pci.numa_node for d in host]

    def test_duplicate_names(self) -> None:
        """Two records of one name keep the first by path, and say so."""
        host = host_of(pci(f"{R}/0000:00:02.0"), pci(f"{R}/x/0000:00:02.0"))
        assert 1 == len(host)
        assert 1 == len(host.problems)
