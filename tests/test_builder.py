"""The builder's parsing of raw attribute text, on records (no filesystem), one fact per test."""

from __future__ import annotations

import pytest

import hostpassthru as hp
from hostpassthru._records import (
    ClassDeviceRecord,
    DeviceRecord,
    MdevTypeRecord,
    ProcRecord,
    Snapshot,
)
from hostpassthru._tree import build, parse_proc

R = "devices/pci0000:00"


def scsi(sys_name: str) -> DeviceRecord:
    """A SCSI record of this kernel name under an AHCI controller."""
    return DeviceRecord(
        kind="scsi",
        sys_name=sys_name,
        path=f"{R}/0000:00:17.0/ata1/host0/target0:0:0/{sys_name}",
        driver="sd",
        attributes={},
    )


def gpu(**attributes: str) -> DeviceRecord:
    """A GPU record with these attribute texts."""
    return DeviceRecord(
        kind="pci",
        sys_name="0000:01:00.0",
        path=f"{R}/0000:01:00.0",
        driver="vfio-pci",
        attributes={"class": "0x030000", **attributes},
    )


def snapshot(*records: DeviceRecord) -> Snapshot:
    """A snapshot of these records, without groups."""
    return Snapshot(root="/sys", source="sysfs", records=records, groups={})


class TestHctl:
    """H:C:T:L comes from a SCSI device's kernel name, in decimal."""

    def test_decimal(self) -> None:
        """Target 10 is ten."""
        dev = build(snapshot(scsi("2:0:10:0"))).device("2:0:10:0")
        assert (2, 0, 10, 0) == (dev.scsi.hctl if dev.scsi else None)

    @pytest.mark.parametrize(
        "name",
        ["bogus", "1:2:3", "1:2:3:4:5", "-1:0:0:0", "0:-1:0:0", "0:0:-1:0", "0:0:0:-1", "0:0:x:0"],
    )
    def test_not_hctl(self, name: str) -> None:
        """A name that is no H:C:T:L (four numbers, none negative) gives a problem naming it."""
        host = build(snapshot(scsi(name)))
        assert (f"{name}: not a host:channel:target:lun name",) == host.problems

    def test_not_hctl_is_none(self) -> None:
        """... and no hctl."""
        dev = build(snapshot(scsi("0:0:-1:0"))).device("0:0:-1:0")
        assert None is (dev.scsi.hctl if dev.scsi else "no scsi facts")


class TestPciText:
    """driver_override and modalias as the kernel writes them."""

    @pytest.mark.parametrize(("text", "expected"), [("vfio-pci", "vfio-pci"), ("(null)", None)])
    def test_driver_override(self, text: str, expected: str | None) -> None:
        """The kernel writes (null) for no override."""
        pci = build(snapshot(gpu(driver_override=text))).device("0000:01:00.0").pci
        assert expected == (pci.driver_override if pci else "no pci facts")

    def test_no_driver_override_file(self) -> None:
        """Before Linux 3.16 there is no file: None."""
        pci = build(snapshot(gpu())).device("0000:01:00.0").pci
        assert None is (pci.driver_override if pci else "no pci facts")

    def test_malformed_decimal(self) -> None:
        """A decimal attribute that is no number is None and a problem naming it."""
        host = build(snapshot(gpu(numa_node="far")))
        pci = host.device("0000:01:00.0").pci
        assert None is (pci and pci.numa_node)
        assert ("0000:01:00.0: numa_node: malformed value 'far'",) == host.problems

    @pytest.mark.parametrize(("text", "expected"), [("0x10de", 0x10DE), ("10de", 0x10DE)])
    def test_id_in_hex(self, text: str, expected: int) -> None:
        """PCI writes ids with 0x, USB without; both are hex."""
        assert expected == build(snapshot(gpu(vendor=text))).device("0000:01:00.0").vendor_id

    @pytest.mark.parametrize("text", ["-0x10de", "nvidia", ""])
    def test_malformed_id(self, text: str) -> None:
        """An id that is no hex number from 0 up is None and a problem naming it."""
        host = build(snapshot(gpu(vendor=text)))
        assert None is host.device("0000:01:00.0").vendor_id
        assert (f"0000:01:00.0: vendor: malformed value {text!r}",) == host.problems

    def test_negative_decimal(self) -> None:
        """A decimal attribute may be negative: numa_node -1 is NUMA_NO_NODE, no problem."""
        host = build(snapshot(gpu(numa_node="-1")))
        assert () == host.problems

    def test_modalias(self) -> None:
        """Modalias is kept as it is."""
        alias = "pci:v000010DEd00001B81sv00003842sd00006173bc03sc00i00"
        pci = build(snapshot(gpu(modalias=alias))).device("0000:01:00.0").pci
        assert alias == (pci.modalias if pci else None)


def proc(mountinfo: str = "", swaps: str = "Filename Type Size Used Priority\n") -> ProcRecord:
    """The /proc texts with these mounts and swaps."""
    return ProcRecord(cmdline="", mountinfo=mountinfo, swaps=swaps, route="", interrupts="")


class TestProcText:
    """Lines of mountinfo and swaps that are short, empty or odd."""

    def test_five_field_mount_line(self) -> None:
        """Five fields are enough: id, parent, major:minor, root, mount point."""
        facts = parse_proc(proc(mountinfo="36 1 8:0 / /mnt\n"))
        assert {"8:0": ("/mnt",)} == (facts.mounts if facts else None)

    def test_short_mount_line(self) -> None:
        """A line too short to hold a mount point is skipped, not a crash."""
        facts = parse_proc(proc(mountinfo="36 1\n37 1 8:1 / /boot rw\n"))
        assert {"8:1": ("/boot",)} == (facts.mounts if facts else None)

    def test_escaped_space(self) -> None:
        r"""A space in a mount point is written \040."""
        facts = parse_proc(proc(mountinfo="36 1 8:0 / /media/my\\040disk rw\n"))
        assert {"8:0": ("/media/my disk",)} == (facts.mounts if facts else None)

    def test_empty_swap_line(self) -> None:
        """An empty line among the swaps is skipped, not a crash."""
        text = "Filename Type Size Used Priority\n\n/dev/sda2 partition 1 0 -2\n"
        facts = parse_proc(proc(swaps=text))
        assert ("sda2",) == (facts.swaps if facts else None)

    def test_swap_file(self) -> None:
        """A swap file is no block device."""
        text = "Filename Type Size Used Priority\n/swapfile file 1 0 -2\n"
        facts = parse_proc(proc(swaps=text))
        assert () == (facts.swaps if facts else None)


def usb(interfaces: tuple[str, ...], device_class: str = "00") -> DeviceRecord:
    """A USB device record with these raw interface classes and device class."""
    return DeviceRecord(
        kind="usb_device",
        sys_name="1-1",
        path=f"{R}/0000:00:14.0/usb1/1-1",
        driver="usb",
        attributes={"bDeviceClass": device_class},
        interface_classes=interfaces,
    )


def linked(sys_name: str, link: str) -> DeviceRecord:
    """A PCI record whose own iommu_group link ends in *link*."""
    return DeviceRecord(
        kind="pci",
        sys_name=sys_name,
        path=f"{R}/{sys_name}",
        driver=None,
        attributes={},
        iommu_group_link=link,
    )


class TestInterfaceClasses:
    """bInterfaceClass is hexadecimal."""

    def test_hex(self) -> None:
        """0e is video (14), ff vendor-specific (255)."""
        dev = build(snapshot(usb(("0e", "ff")))).device("1-1")
        assert (14, 255) == (dev.usb.interface_classes if dev.usb else None)

    def test_malformed(self) -> None:
        """A malformed class is left out and said."""
        host = build(snapshot(usb(("zz", "08"))))
        assert ("1-1: bInterfaceClass: malformed value 'zz'",) == host.problems


class TestDeviceClass:
    """bDeviceClass is hexadecimal too."""

    def test_hex(self) -> None:
        """Class ef is miscellaneous (239)."""
        dev = build(snapshot(usb((), device_class="ef"))).device("1-1")
        assert 239 == (dev.usb.device_class if dev.usb else None)


class TestGroupLinks:
    """Where the groups directory lists nothing, each device's own link gives its group."""

    def test_decimal(self) -> None:
        """Group 10 is ten."""
        dev = build(snapshot(linked("0000:00:02.0", "10"))).device("0000:00:02.0")
        assert 10 == dev.iommu_group

    def test_malformed_link_then_a_good_one(self) -> None:
        """A malformed link is said, and the devices after it keep their groups."""
        host = build(snapshot(linked("0000:00:01.0", "x1"), linked("0000:00:02.0", "3")))
        assert ("0000:00:01.0: iommu_group: malformed link target 'x1'",) == host.problems
        assert 3 == host.device("0000:00:02.0").iommu_group

    def test_device_without_link_first(self) -> None:
        """A device without a link does not stop the others' links from being read."""
        host = build(snapshot(gpu(), linked("0000:02:00.0", "3")))
        assert 3 == host.device("0000:02:00.0").iommu_group


class TestDuplicates:
    """A path or a name met twice is kept once."""

    def test_same_path_twice(self) -> None:
        """The second record of one path is dropped silently; the next ones stay."""
        records = (gpu(), gpu(), linked("0000:02:00.0", "1"))
        host = build(snapshot(*records))
        assert ["pci_0000_01_00_0", "pci_0000_02_00_0"] == [d.name for d in host]
        assert () == host.problems

    def test_same_name_twice(self) -> None:
        """A second device of one name at another path is dropped and said."""
        other = DeviceRecord(
            kind="pci",
            sys_name="0000:01:00.0",
            path=f"{R}/0000:00:01.0/0000:01:00.0",
            driver=None,
            attributes={},
        )
        host = build(snapshot(gpu(), other, linked("0000:02:00.0", "1")))
        assert ["pci_0000_01_00_0", "pci_0000_02_00_0"] == [d.name for d in host]
        assert ("0000:01:00.0: a second pci device of this name",) == host.problems


class TestHostFields:
    """What the host keeps of the snapshot beside the devices."""

    def test_names(self) -> None:
        """Vendor and product names come from the lookup given."""

        def names(kind: str, vendor: int | None, product: int | None) -> tuple[str, str]:
            del kind, vendor, product
            return "Vendor", "Product"

        dev = build(snapshot(gpu()), names).device("0000:01:00.0")
        assert "Vendor" == dev.vendor_name
        assert "Product" == dev.product_name

    def test_names_asked_once_per_id(self) -> None:
        """The lookup is asked once for each kind, vendor and product: many devices, few models."""
        asked: list[tuple[str, int | None, int | None]] = []

        def names(kind: str, vendor: int | None, product: int | None) -> tuple[None, None]:
            asked.append((kind, vendor, product))
            return None, None

        twin = DeviceRecord(
            kind="pci",
            sys_name="0000:02:00.0",
            path=f"{R}/0000:02:00.0",
            driver=None,
            attributes={"vendor": "0x10de", "device": "0x1b81"},
        )
        records = (
            gpu(vendor="0x10de", device="0x1b81"),
            twin,
            linked("0000:03:00.0", "1"),
            linked("0000:04:00.0", "2"),
        )
        build(snapshot(*records), names)
        assert [("pci", 0x10DE, 0x1B81), ("pci", None, None)] == asked

    def test_root_and_source(self) -> None:
        """The sysfs root and the reader are kept."""
        host = build(snapshot(gpu()))
        assert "/sys" == host.sysfs
        assert "sysfs" == host.source

    def test_live_source(self) -> None:
        """A snapshot of the live reader makes a host that says so."""
        live = Snapshot(root="/sys", source="udev", records=(gpu(),), groups={})
        assert "udev" == build(live).source

    def test_class_device_path(self) -> None:
        """A class device keeps its path."""
        record = ClassDeviceRecord(
            subsystem="net", name="eth0", path=f"{R}/0000:01:00.0/net/eth0", attributes={}
        )
        host = build(
            Snapshot(
                root="/sys", source="sysfs", records=(gpu(),), groups={}, class_devices=(record,)
            ),
        )
        assert f"{R}/0000:01:00.0/net/eth0" == host.class_devices[0].path

    def test_class_devices_by_subsystem_then_name(self) -> None:
        """Class devices come sorted by subsystem, then by name."""
        records = tuple(
            ClassDeviceRecord(
                subsystem=subsystem, name=name, path=f"{R}/0000:01:00.0/{name}", attributes={}
            )
            for subsystem, name in [
                ("net", "eth1"),
                ("block", "sdb"),
                ("net", "eth0"),
                ("block", "sda"),
            ]
        )
        host = build(
            Snapshot(
                root="/sys", source="sysfs", records=(gpu(),), groups={}, class_devices=records
            ),
        )
        assert [("block", "sda"), ("block", "sdb"), ("net", "eth0"), ("net", "eth1")] == [
            (c.subsystem, c.name) for c in host.class_devices
        ]


def vf(**nvidia: str) -> DeviceRecord:
    """A VF with these files under nvidia/."""
    return DeviceRecord(
        kind="pci",
        sys_name="0000:41:00.4",
        path=f"{R}/0000:41:00.4",
        driver="nvidia",
        attributes={"class": "0x030200", **{f"nvidia/{k}": v for k, v in nvidia.items()}},
        physfn="0000:41:00.0",
    )


class TestVgpuFiles:
    """NVIDIA's nvidia/ files of a VF, each read on its own."""

    def test_none(self) -> None:
        """Without the files a function has no vGPU facts."""
        pci = build(snapshot(vf())).device("0000:41:00.4").pci
        assert None is (pci and pci.vgpu)

    def test_creatable_alone(self) -> None:
        """The types without a current_vgpu_type file: current unknown."""
        pci = (
            build(snapshot(vf(creatable_vgpu_types="921 : NVIDIA L4-2Q")))
            .device("0000:41:00.4")
            .pci
        )
        expected = hp.VgpuInfo(creatable=(hp.VgpuType(id=921, name="NVIDIA L4-2Q"),), current=None)
        assert expected == (pci and pci.vgpu)

    def test_current_alone(self) -> None:
        """current_vgpu_type without creatable_vgpu_types: no types."""
        pci = build(snapshot(vf(current_vgpu_type="921"))).device("0000:41:00.4").pci
        assert hp.VgpuInfo(creatable=(), current=921) == (pci and pci.vgpu)

    def test_malformed_current(self) -> None:
        """An unreadable current type is None and a problem naming the file."""
        host = build(snapshot(vf(current_vgpu_type="lots")))
        pci = host.device("0000:41:00.4").pci
        assert hp.VgpuInfo(creatable=(), current=None) == (pci and pci.vgpu)
        assert ("0000:41:00.4: nvidia/current_vgpu_type: malformed value 'lots'",) == host.problems

    def test_bad_type_lines(self) -> None:
        """Each line that names no type is skipped and said; the others are kept."""
        host = build(snapshot(vf(creatable_vgpu_types="ID : vGPU Name\nx\n7 : X-1Q\ny")))
        pci = host.device("0000:41:00.4").pci
        assert (hp.VgpuType(id=7, name="X-1Q"),) == (pci.vgpu.creatable if pci and pci.vgpu else ())
        assert (
            "0000:41:00.4: nvidia/creatable_vgpu_types: skipped 'x'",
            "0000:41:00.4: nvidia/creatable_vgpu_types: skipped 'y'",
        ) == host.problems


IGPU = f"{R}/0000:00:02.0"
UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
MDEV = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01"


def mdev_types(*types: tuple[str, dict[str, str]], parent: str = IGPU) -> Snapshot:
    """The iGPU (with the mdev beneath it, of type i915-A) and these types of *parent*."""
    igpu = DeviceRecord(
        kind="pci",
        sys_name="0000:00:02.0",
        path=IGPU,
        driver="i915",
        attributes={"class": "0x030000"},
    )
    mdev = DeviceRecord(
        kind="mdev",
        sys_name=UUID,
        path=f"{IGPU}/{UUID}",
        driver="intel_vgpu_mdev",
        attributes={},
        mdev_type="i915-A",
    )
    return Snapshot(
        root="/sys",
        source="sysfs",
        records=(igpu, mdev),
        groups={},
        mdev_types=tuple(
            MdevTypeRecord(
                parent=parent,
                type_id=type_id,
                attributes=attributes,
                devices=(UUID,) if type_id == "i915-A" else (),
            )
            for type_id, attributes in types
        ),
    )


class TestMdevTypes:
    """A parent's mdev_supported_types, and an mdev's type looked up in them."""

    def test_in_id_order(self) -> None:
        """The types come sorted by id, each with the names of its devices."""
        snap = mdev_types(("i915-B", {}), ("i915-A", {"available_instances": "2"}))
        expected = (
            hp.MdevType(
                id="i915-A",
                name=None,
                description=None,
                device_api=None,
                available_instances=2,
                devices=(MDEV,),
            ),
            hp.MdevType(
                id="i915-B",
                name=None,
                description=None,
                device_api=None,
                available_instances=None,
                devices=(),
            ),
        )
        assert expected == build(snap).device("0000:00:02.0").mdev_types

    def test_empty_texts_are_none(self) -> None:
        """An empty name, description or device_api reads as None."""
        snap = mdev_types(("i915-A", {"name": "", "description": "", "device_api": ""}))
        (t,) = build(snap).device("0000:00:02.0").mdev_types
        assert None is t.name
        assert None is t.description
        assert None is t.device_api

    def test_texts(self) -> None:
        """name, description and device_api as written."""
        attributes = {"name": "GVTg_V5_4", "description": "weight: 4", "device_api": "vfio-pci"}
        (t,) = build(mdev_types(("i915-A", attributes))).device("0000:00:02.0").mdev_types
        assert "GVTg_V5_4" == t.name
        assert "weight: 4" == t.description
        assert "vfio-pci" == t.device_api

    @pytest.mark.parametrize("text", ["many", "-1"])
    def test_malformed_available_instances(self, text: str) -> None:
        """A count that is no whole number from 0 up is None and a problem."""
        host = build(mdev_types(("i915-A", {"available_instances": text})))
        (t,) = host.device("0000:00:02.0").mdev_types
        assert None is t.available_instances
        assert (f"i915-A: available_instances: malformed value {text!r}",) == host.problems

    def test_available_instances_in_decimal(self) -> None:
        """The count is decimal: 10 is ten."""
        snap = mdev_types(("i915-A", {"available_instances": "10"}))
        (t,) = build(snap).device("0000:00:02.0").mdev_types
        assert 10 == t.available_instances

    def test_zero_available_instances(self) -> None:
        """0 left is 0, not unknown."""
        (t,) = (
            build(mdev_types(("i915-A", {"available_instances": "0"})))
            .device("0000:00:02.0")
            .mdev_types
        )
        assert 0 == t.available_instances

    def test_mdev_type_from_its_parent(self) -> None:
        """The mdev's type name and API come from its parent's type directory."""
        snap = mdev_types(("i915-A", {"name": "GVTg_V5_4", "device_api": "vfio-pci"}))
        expected = hp.MdevInfo(type_id="i915-A", type_name="GVTg_V5_4", device_api="vfio-pci")
        assert expected == build(snap).device(MDEV).mdev

    def test_mdev_type_with_empty_texts(self) -> None:
        """An empty name or API of the type reads as None for the mdev too."""
        snap = mdev_types(("i915-A", {"name": "", "device_api": ""}))
        assert (
            hp.MdevInfo(type_id="i915-A", type_name=None, device_api=None)
            == build(snap).device(MDEV).mdev
        )

    def test_type_of_another_parent(self) -> None:
        """A type of the same id beneath another device is not the mdev's."""
        snap = mdev_types(
            ("i915-A", {"name": "GVTg_V5_4", "device_api": "vfio-pci"}), parent=f"{R}/0000:00:03.0"
        )
        assert (
            hp.MdevInfo(type_id="i915-A", type_name=None, device_api=None)
            == build(snap).device(MDEV).mdev
        )

    def test_mdev_has_no_ids(self) -> None:
        """An mdev has no vendor or product of its own."""
        dev = build(mdev_types(("i915-A", {}))).device(MDEV)
        assert None is dev.vendor_id
        assert None is dev.product_id
