"""Each readiness rule on a host built from records (no filesystem), one fact per test.

Written to kill the one-line mutations of the checks that the fixture tests let
survive (docs/mutation.md): every expectation is written by hand.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import hostpassthru as hp
from hostpassthru._readiness import ENABLE_HINT
from hostpassthru._records import (
    ClassDeviceRecord,
    DeviceRecord,
    MdevTypeRecord,
    ProcRecord,
    Snapshot,
)
from hostpassthru._tree import build, parse_proc

R = "devices/pci0000:00"
PORT = f"{R}/0000:00:01.0"
GPU = f"{PORT}/0000:01:00.0"
AUDIO = f"{PORT}/0000:01:00.1"
AHCI = f"{R}/0000:00:17.0"
DISK = f"{AHCI}/ata1/host0/target0:0:0/0:0:0:0"

ROUTE_HEADER = "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n"
SWAPS_HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


def pci(path: str, cls: str, driver: str | None, **attributes: str) -> DeviceRecord:
    """A PCI function at *path* with a reset method."""
    return DeviceRecord(
        kind="pci",
        sys_name=path.rpartition("/")[2],
        path=path,
        driver=driver,
        attributes={"class": cls, "vendor": "0x10de", "reset_method": "flr", **attributes},
        has_reset=True,
    )


def disk() -> DeviceRecord:
    """A SATA disk with its sg node."""
    return DeviceRecord(
        kind="scsi",
        sys_name="0:0:0:0",
        path=DISK,
        driver="sd",
        attributes={"type": "0"},
        block=("sda",),
        generic=("sg0",),
    )


def proc(
    cmdline: str = "root=/dev/sda1",
    mountinfo: str = "",
    swaps: str = SWAPS_HEADER,
    route: str = ROUTE_HEADER,
    interrupts: str = "",
) -> ProcRecord:
    """The /proc texts, empty but for what a test gives."""
    return ProcRecord(
        cmdline=cmdline,
        mountinfo=mountinfo,
        swaps=swaps,
        route=route,
        interrupts=interrupts,
    )


def host(
    *records: DeviceRecord,
    groups: dict[int, tuple[str, ...]] | None = None,
    classes: tuple[ClassDeviceRecord, ...] = (),
    proc_record: ProcRecord | None = None,
    mdev_types: tuple[MdevTypeRecord, ...] = (),
) -> hp.Host:
    """Build a host from records; /proc as given, else an empty one."""
    return build(
        Snapshot(
            root="/sys",
            source="sysfs",
            records=records,
            groups=groups or {},
            class_devices=classes,
            proc=proc_record or proc(),
            mdev_types=mdev_types,
        ),
    )


def gpu_group(audio_driver: str | None) -> hp.Host:
    """A GPU on vfio-pci and its audio function, in group 1 with their root port."""
    return host(
        pci(PORT, "0x060400", "pcieport"),
        pci(GPU, "0x030000", "vfio-pci"),
        pci(AUDIO, "0x040300", audio_driver),
        groups={1: ("0000:00:01.0", "0000:01:00.0", "0000:01:00.1")},
    )


def codes(h: hp.Host, dev: str) -> list[tuple[str, str]]:
    """(code, device concerned) of every finding on *dev*, most severe first."""
    return [(f.code, f.device) for f in hp.check(dev, host=h).findings]


class TestHostDriver:
    """Which drivers of a group member count as the host's."""

    def test_pci_stub_is_no_host_driver(self) -> None:
        """pci-stub claims a device and does nothing: VFIO accepts it in a group."""
        assert [] == codes(gpu_group("pci-stub"), "0000:01:00.0")

    def test_vfio_variant_is_no_host_driver(self) -> None:
        """A vfio variant driver (mlx5_vfio_pci) is as good as vfio-pci."""
        assert [] == codes(gpu_group("mlx5_vfio_pci"), "0000:01:00.0")

    def test_unbound_is_no_host_driver(self) -> None:
        """A member without a driver is no obstacle."""
        assert [] == codes(gpu_group(None), "0000:01:00.0")

    def test_host_driver(self) -> None:
        """A member on snd_hda_intel needs moving; the root port that stays does not."""
        expected = [("host_driver", "pci_0000_01_00_1")]
        assert expected == codes(gpu_group("snd_hda_intel"), "0000:01:00.0")

    def test_host_driver_makes_needs_preparation(self) -> None:
        """An action makes the verdict needs_preparation."""
        result = hp.check("0000:01:00.0", host=gpu_group("snd_hda_intel"))
        assert "needs_preparation" == result.verdict


class TestIommuStatus:
    """What the IOMMU status reads from class/iommu and the kernel command line."""

    @pytest.mark.parametrize(
        ("unit", "kind"),
        [
            ("dmar0", "Intel VT-d"),
            ("ivhd0", "AMD-Vi"),
            ("arm-smmu-v3.0.auto", "ARM SMMU"),
            ("iommu0", "IOMMU"),
        ],
    )
    def test_unit_kind(self, unit: str, kind: str) -> None:
        """Each unit's kind comes from its name."""
        record = ClassDeviceRecord(
            subsystem="iommu",
            name=unit,
            path=f"devices/virtual/iommu/{unit}",
            attributes={},
        )
        status = hp.iommu_status(host=host(classes=(record,)))
        assert ((unit, kind),) == status.units

    def test_hint_when_off(self) -> None:
        """With no group, the hint says how to turn the IOMMU on."""
        assert ENABLE_HINT == hp.iommu_status(host=host()).hint

    def test_hint_names_intel_iommu_off(self) -> None:
        """intel_iommu=off on the command line is named first."""
        status = hp.iommu_status(host=host(proc_record=proc(cmdline="ro intel_iommu=off")))
        expected = "intel_iommu=off is on the kernel command line: remove it; then " + ENABLE_HINT
        assert expected == status.hint

    def test_no_hint_when_on(self) -> None:
        """With groups there is nothing to advise."""
        assert None is hp.iommu_status(host=gpu_group(None)).hint

    @pytest.mark.parametrize(
        ("cmdline", "field", "expected"),
        [
            # vfio-pci.ids lists ids, comma-separated.
            pytest.param(
                "vfio-pci.ids=10de:1b81,10de:10f0",
                "vfio_pci_ids",
                ("10de:1b81", "10de:10f0"),
                id="vfio_pci_ids",
            ),
            # The module parameter may be written vfio_pci.ids as well.
            pytest.param(
                "quiet vfio_pci.ids=8086:1521",
                "vfio_pci_ids",
                ("8086:1521",),
                id="vfio_pci_ids_underscore",
            ),
            # Of repeated options the last counts, as the kernel reads them.
            pytest.param(
                "intel_iommu=off intel_iommu=on", "intel_iommu", "on", id="last_option_wins"
            ),
            # An option given without '=' has the empty value.
            pytest.param("iommu amd_iommu=on", "iommu", "", id="option_without_value"),
            pytest.param("iommu amd_iommu=on", "amd_iommu", "on", id="amd_iommu"),
            pytest.param(
                "pcie_acs_override=downstream,multifunction",
                "acs_override",
                "downstream,multifunction",
                id="acs_override",
            ),
        ],
    )
    def test_option(self, cmdline: str, field: str, expected: object) -> None:
        """Each option the status reads from the kernel command line."""
        status = hp.iommu_status(host=host(proc_record=proc(cmdline=cmdline)))
        assert expected == getattr(status, field)

    def test_remapping(self) -> None:
        """IR- chips in /proc/interrupts mean interrupt remapping."""
        h = host(proc_record=proc(interrupts=" 24:  0  IR-PCI-MSI 512000-edge  ahci\n"))
        assert True is hp.iommu_status(host=h).interrupt_remapping

    def test_no_remapping(self) -> None:
        """Without IR- chips (IRQ work interrupts are no chip) there is none."""
        text = " 24:  0  PCI-MSI 512000-edge  ahci\nIWI:  0  IRQ work interrupts\n"
        h = host(proc_record=proc(interrupts=text))
        assert False is hp.iommu_status(host=h).interrupt_remapping


class TestAcsOverride:
    """The ACS override warning concerns devices in a group."""

    def test_in_a_group(self) -> None:
        """A device in a group is warned."""
        h = host(
            pci(GPU, "0x030000", "vfio-pci"),
            groups={1: ("0000:01:00.0",)},
            proc_record=proc(cmdline="pcie_acs_override=downstream"),
        )
        assert [("acs_override", "pci_0000_01_00_0")] == codes(h, "0000:01:00.0")

    def test_in_no_group(self) -> None:
        """A device in no group (behind VMD) is blocked for that, not warned of ACS."""
        h = host(
            pci(GPU, "0x030000", "vfio-pci"),
            pci(AHCI, "0x010601", "vfio-pci"),
            groups={1: ("0000:01:00.0",)},
            proc_record=proc(cmdline="pcie_acs_override=downstream"),
        )
        assert [("no_iommu_group", "pci_0000_00_17_0")] == codes(h, "0000:00:17.0")

    def test_without_the_option(self) -> None:
        """Without the option nothing is said."""
        h = host(pci(GPU, "0x030000", "vfio-pci"), groups={1: ("0000:01:00.0",)})
        assert [] == codes(h, "0000:01:00.0")


class TestRoutes:
    """Only a route to 0.0.0.0/0 is the default route."""

    def test_default_route(self) -> None:
        """Destination and mask all zero."""
        line = "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
        assert ("eth0",) == parse_proc(proc(route=ROUTE_HEADER + line)).default_route  # type: ignore[union-attr]

    def test_half_of_the_internet_is_no_default(self) -> None:
        """0.0.0.0/1 (mask 0x80, as VPNs set) has a zero destination and is no default."""
        line = "tun0\t00000000\t0100000A\t0003\t0\t0\t0\t00000080\t0\t0\t0\n"
        assert () == parse_proc(proc(route=ROUTE_HEADER + line)).default_route  # type: ignore[union-attr]

    def test_host_route_is_no_default(self) -> None:
        """A route to a network with mask zero but a destination is no default."""
        line = "eth1\t0002A8C0\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n"
        assert () == parse_proc(proc(route=ROUTE_HEADER + line)).default_route  # type: ignore[union-attr]


def stacked(swaps: str = SWAPS_HEADER) -> hp.Host:
    """Sda on the disk, dm-0 built on sda, dm-1 on dm-0; dm-1 mounted on /."""
    classes = (
        ClassDeviceRecord(
            subsystem="block",
            name="sda",
            path=f"{DISK}/block/sda",
            attributes={"dev": "8:0"},
            holders=("dm-0",),
        ),
        ClassDeviceRecord(
            subsystem="block",
            name="dm-0",
            path="devices/virtual/block/dm-0",
            attributes={"dev": "253:0"},
            holders=("dm-1",),
        ),
        ClassDeviceRecord(
            subsystem="block",
            name="dm-1",
            path="devices/virtual/block/dm-1",
            attributes={"dev": "253:1"},
        ),
    )
    mountinfo = "29 1 253:1 / / rw,relatime shared:1 - ext4 /dev/mapper/root rw\n"
    return host(disk(), classes=classes, proc_record=proc(mountinfo=mountinfo, swaps=swaps))


class TestHolders:
    """Block devices built on a disk: the whole chain is followed."""

    def test_mounted_through_the_chain(self) -> None:
        """dm-1, two holders up from sda, is mounted: the disk is blocked."""
        findings = hp.check("0:0:0:0", host=stacked()).findings
        expected = ["dm-1 (through sda) is mounted on /"]
        assert expected == [f.message for f in findings if f.code == "mounted"]

    def test_holder_only_for_the_direct_one(self) -> None:
        """The holder finding names the device built directly on the disk."""
        findings = hp.check("0:0:0:0", host=stacked()).findings
        expected = ["sda is part of dm-0 (device mapper, md or LVM)"]
        assert expected == [f.message for f in findings if f.code == "holder"]

    def test_swap_through_the_chain(self) -> None:
        """A holder in use as swap blocks the disk too."""
        h = stacked(swaps=SWAPS_HEADER + "/dev/dm-0 partition 1 0 -2\n")
        findings = hp.check("0:0:0:0", host=h).findings
        assert ["dm-0 (through sda) is in use as swap"] == [
            f.message for f in findings if f.code == "swap"
        ]


def finding(
    code: hp.FindingCode,
    severity: hp.Severity,
    device: str,
    message: str,
    hint: str | None = None,
) -> hp.Finding:
    """A finding, written out."""
    return hp.Finding(
        code=code,
        severity=severity,
        device=device,
        message=message,
        hint=hint,
    )


def net(name: str, operstate: str) -> ClassDeviceRecord:
    """A network interface on the NIC at 0000:03:00.0."""
    return ClassDeviceRecord(
        subsystem="net",
        name=name,
        path=f"{R}/0000:03:00.0/net/{name}",
        attributes={"operstate": operstate},
    )


NIC = pci(f"{R}/0000:03:00.0", "0x020000", "vfio-pci")
NIC_GROUP: dict[int, tuple[str, ...]] = {3: ("0000:03:00.0",)}
DEFAULT_ROUTE = ROUTE_HEADER + "eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
HOST_BRIDGE = pci(f"{R}/0000:00:00.0", "0x060000", None)
PORT_ALONE = pci(PORT, "0x060400", "pcieport")
NO_RESET_GPU = DeviceRecord(
    kind="pci",
    sys_name="0000:01:00.0",
    path=GPU,
    driver="vfio-pci",
    attributes={"class": "0x030000", "boot_vga": "1"},
    has_reset=False,
)
PF = pci(f"{R}/0000:05:00.0", "0x020000", "vfio-pci", sriov_numvfs="2")
VF = DeviceRecord(
    kind="pci",
    sys_name="0000:05:02.0",
    path=f"{R}/0000:05:02.0",
    driver="vfio-pci",
    attributes={"class": "0x020000", "reset_method": "flr"},
    has_reset=True,
    physfn="0000:05:00.0",
)
XHCI = f"{R}/0000:00:14.0"
HUB = DeviceRecord(
    kind="usb_device",
    sys_name="usb1",
    path=f"{XHCI}/usb1",
    driver="usb",
    attributes={"bDeviceClass": "09"},
)
STICK = DeviceRecord(
    kind="usb_device",
    sys_name="1-1",
    path=f"{XHCI}/usb1/1-1",
    driver="usb-storage",
    attributes={"bDeviceClass": "00"},
)
NO_SG = DeviceRecord(kind="scsi", sys_name="0:0:0:0", path=DISK, driver="sd", attributes={})
FB = ClassDeviceRecord(subsystem="graphics", name="fb0", path=f"{GPU}/graphics/fb0", attributes={})
SDA = ClassDeviceRecord(
    subsystem="block",
    name="sda",
    path=f"{DISK}/block/sda",
    attributes={"dev": "8:0"},
    holders=("md0",),
)
MOUNTED_SWAP = proc(
    mountinfo="29 1 8:0 / /boot rw - ext4 /dev/sda rw\n",
    swaps=SWAPS_HEADER + "/dev/sda partition 1 0 -2\n",
)
PREPARE_HINT = (
    "hostpassthru prepare {} (moves its whole group to vfio-pci, journaled; "
    "hostpassthru release gives it back)"
)

L4_PF = pci(f"{R}/0000:41:00.0", "0x030200", "nvidia", sriov_numvfs="1")
VGPU_HEADER = "ID    : vGPU Name\n"


def vgpu_vf(driver: str | None = "nvidia", **nvidia: str) -> hp.Host:
    """VF 0 of an L4 (0000:41:00.4, group 200) with these nvidia/ files, beside its PF."""
    vf = DeviceRecord(
        kind="pci",
        sys_name="0000:41:00.4",
        path=f"{R}/0000:41:00.4",
        driver=driver,
        attributes={
            "class": "0x030200",
            "reset_method": "flr",
            **{f"nvidia/{name}": text for name, text in nvidia.items()},
        },
        has_reset=True,
        physfn="0000:41:00.0",
    )
    return host(L4_PF, vf, groups={32: ("0000:41:00.0",), 200: ("0000:41:00.4",)})


L4_VF_NOTE = finding(
    "sriov_vf",
    "info",
    "pci_0000_41_00_4",
    "0000:41:00.4 is an SR-IOV virtual function of pci_0000_41_00_0",
    "keep pci_0000_41_00_0 bound to its host driver while the VF is in use",
)
IGPU = f"{R}/0000:00:02.0"
UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
MDEV = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01"


def mdev_host(
    *,
    driver: str | None = "intel_vgpu_mdev",
    link: str | None = "i915-GVTg_V5_4",
    name: str = "GVTg_V5_4",
    parent: bool = True,
) -> hp.Host:
    """An mdev of the iGPU's type i915-GVTg_V5_4 (named *name*), or no type link, or no parent."""
    mdev = DeviceRecord(
        kind="mdev",
        sys_name=UUID,
        path=f"{IGPU}/{UUID}",
        driver=driver,
        attributes={},
        mdev_type=link,
    )
    types = (
        MdevTypeRecord(
            parent=IGPU,
            type_id="i915-GVTg_V5_4",
            attributes={"name": name, "device_api": "vfio-pci"},
            devices=(UUID,),
        ),
    )
    igpu = pci(IGPU, "0x030000", "i915")
    records = (igpu, mdev) if parent else (mdev,)
    return host(*records, groups={1: ("0000:00:02.0",)}, mdev_types=types)


MDEV_STAYS = "only it goes, its parent stays with the host"

#: A host, the device checked, and every finding on it, most severe first.
MESSAGES: dict[str, tuple[Callable[[], hp.Host], str, list[hp.Finding]]] = {
    "host_driver": (
        lambda: gpu_group("snd_hda_intel"),
        "0000:01:00.0",
        [
            finding(
                "host_driver",
                "action",
                "pci_0000_01_00_1",
                "0000:01:00.1 is bound to the host driver snd_hda_intel",
                PREPARE_HINT.format("0000:01:00.0"),
            ),
        ],
    ),
    "bridge": (
        lambda: host(HOST_BRIDGE, groups={0: ("0000:00:00.0",)}),
        "0000:00:00.0",
        [
            finding(
                "not_passable",
                "blocker",
                "pci_0000_00_00_0",
                "0000:00:00.0 is a bridge: bridges and ports are not passed",
                "pass the endpoints beneath it instead",
            ),
        ],
    ),
    "port": (
        lambda: host(PORT_ALONE, groups={1: ("0000:00:01.0",)}),
        "0000:00:01.0",
        [
            finding(
                "not_passable",
                "blocker",
                "pci_0000_00_01_0",
                "0000:00:01.0 is a bridge and a pcie_port: bridges and ports are not passed",
                "pass the endpoints beneath it instead",
            ),
        ],
    ),
    "iommu_off": (
        lambda: host(pci(GPU, "0x030000", "vfio-pci")),
        "0000:01:00.0",
        [
            finding(
                "iommu_off",
                "blocker",
                "pci_0000_01_00_0",
                "the IOMMU is off or absent: VFIO cannot assign PCI devices",
                ENABLE_HINT,
            ),
        ],
    ),
    "no_iommu_group": (
        lambda: host(
            pci(GPU, "0x030000", "vfio-pci"),
            pci(AHCI, "0x010601", "vfio-pci"),
            groups={1: ("0000:01:00.0",)},
        ),
        "0000:00:17.0",
        [
            finding(
                "no_iommu_group",
                "blocker",
                "pci_0000_00_17_0",
                "0000:00:17.0 is in no IOMMU group (behind Intel VMD, or left out by the platform)",
                "pass the whole controller it sits behind, or disable VMD in the firmware",
            ),
        ],
    ),
    "boot_vga_no_reset_fb": (
        lambda: host(NO_RESET_GPU, groups={1: ("0000:01:00.0",)}, classes=(FB,)),
        "0000:01:00.0",
        [
            finding(
                "boot_vga",
                "action",
                "pci_0000_01_00_0",
                "0000:01:00.0 is the boot VGA device: the host console goes dark with it",
                "use another GPU for the console, or release the framebuffer "
                "(video=efifb:off) and unbind the console before starting the VM",
            ),
            finding(
                "framebuffer_console",
                "action",
                "pci_0000_01_00_0",
                "fb0 on 0000:01:00.0 may hold the host console",
                "release the framebuffer before starting the VM",
            ),
            finding(
                "no_reset",
                "warning",
                "pci_0000_01_00_0",
                "0000:01:00.0 offers no reset method: it may not come back after the VM stops",
                "prefer a device with FLR; expect to reboot the host to reuse it",
            ),
        ],
    ),
    "acs_override": (
        lambda: host(
            NIC, groups=NIC_GROUP, proc_record=proc(cmdline="pcie_acs_override=downstream")
        ),
        "0000:03:00.0",
        [
            finding(
                "acs_override",
                "warning",
                "pci_0000_03_00_0",
                "pcie_acs_override=downstream is on the kernel command line: the groups look "
                "isolated but are not, and the devices can still reach each other",
                "remove pcie_acs_override, or accept that isolation between these devices is lost",
            ),
        ],
    ),
    "sriov_pf": (
        lambda: host(PF, groups={5: ("0000:05:00.0",)}),
        "0000:05:00.0",
        [
            finding(
                "sriov_pf_with_vfs",
                "action",
                "pci_0000_05_00_0",
                "0000:05:00.0 is an SR-IOV physical function with 2 VFs enabled",
                "disable them first (echo 0 > /sys/bus/pci/devices/0000:05:00.0/sriov_numvfs), "
                "or pass a VF instead",
            ),
        ],
    ),
    "sriov_vf": (
        lambda: host(PF, VF, groups={5: ("0000:05:00.0",), 6: ("0000:05:02.0",)}),
        "0000:05:02.0",
        [
            finding(
                "sriov_vf",
                "info",
                "pci_0000_05_02_0",
                "0000:05:02.0 is an SR-IOV virtual function of pci_0000_05_00_0",
                "keep pci_0000_05_00_0 bound to its host driver while the VF is in use",
            ),
        ],
    ),
    "controller": (
        lambda: host(pci(XHCI, "0x0c0330", "vfio-pci"), HUB, STICK, groups={4: ("0000:00:14.0",)}),
        "0000:00:14.0",
        [
            finding(
                "controller",
                "info",
                "pci_0000_00_14_0",
                "0000:00:14.0 is a controller whose devices can be passed one by one",
                "pass the devices beneath it instead, unless the VM needs the whole controller",
            ),
        ],
    ),
    "usb_hub": (
        lambda: host(pci(XHCI, "0x0c0330", "vfio-pci"), HUB),
        "usb1",
        [
            finding(
                "usb_hub",
                "blocker",
                "usb_usb1",
                "usb1 is a USB hub: hubs are not passed",
                "pass the devices behind it one by one",
            ),
        ],
    ),
    "usb_no_iommu": (
        lambda: host(pci(XHCI, "0x0c0330", "vfio-pci"), HUB, STICK),
        "1-1",
        [
            finding(
                "usb_no_iommu",
                "info",
                "usb_1_1",
                "USB devices go through QEMU's usb-host: no IOMMU is needed",
            ),
        ],
    ),
    "scsi_no_sg": (
        lambda: host(NO_SG),
        "0:0:0:0",
        [
            finding(
                "scsi_no_sg",
                "blocker",
                "scsi_0_0_0_0",
                "0:0:0:0 has no SCSI generic (sg) node",
                "load the sg module (modprobe sg)",
            ),
        ],
    ),
    "host_use_unknown": (
        lambda: build(Snapshot(root="/sys", source="sysfs", records=(disk(),), groups={})),
        "0:0:0:0",
        [
            finding(
                "host_use_unknown",
                "info",
                "scsi_0_0_0_0",
                "/proc was not read: mounts, swap and routes were not checked",
                "scan with proc= (the live scan reads /proc)",
            ),
        ],
    ),
    "mounted_swap_holder": (
        lambda: host(disk(), classes=(SDA,), proc_record=MOUNTED_SWAP),
        "0:0:0:0",
        [
            finding(
                "mounted",
                "blocker",
                "scsi_0_0_0_0",
                "sda is mounted on /boot",
                "unmount it, or keep this device on the host",
            ),
            finding(
                "swap",
                "blocker",
                "scsi_0_0_0_0",
                "sda is in use as swap",
                "swapoff /dev/sda, or keep this device on the host",
            ),
            finding(
                "holder",
                "action",
                "scsi_0_0_0_0",
                "sda is part of md0 (device mapper, md or LVM)",
                "stop md0 first",
            ),
        ],
    ),
    "default_route": (
        lambda: host(
            NIC,
            groups=NIC_GROUP,
            classes=(net("eth0", "up"),),
            proc_record=proc(route=DEFAULT_ROUTE),
        ),
        "0000:03:00.0",
        [
            finding(
                "default_route",
                "blocker",
                "pci_0000_03_00_0",
                "eth0 carries the host's default route",
                "move the route to another interface, or keep this device on the host",
            ),
        ],
    ),
    "network_up": (
        lambda: host(NIC, groups=NIC_GROUP, classes=(net("eth1", "up"),)),
        "0000:03:00.0",
        [
            finding(
                "network_up",
                "action",
                "pci_0000_03_00_0",
                "eth1 is up on the host",
                "ip link set eth1 down, after moving what uses it",
            ),
        ],
    ),
    "network_down": (
        lambda: host(NIC, groups=NIC_GROUP, classes=(net("eth1", "down"),)),
        "0000:03:00.0",
        [],
    ),
    # A udevadm dump without PCI_CLASS: the function may be a bridge.
    "class_unknown": (
        lambda: host(
            DeviceRecord(
                kind="pci",
                sys_name="0000:01:00.0",
                path=GPU,
                driver="vfio-pci",
                attributes={"vendor": "0x10de", "reset_method": "flr"},
                has_reset=True,
            ),
            groups={1: ("0000:01:00.0",)},
        ),
        "0000:01:00.0",
        [
            finding(
                "class_unknown",
                "blocker",
                "pci_0000_01_00_0",
                "0000:01:00.0's PCI class is unknown (no class attribute, no PCI_CLASS "
                "property): it may be a bridge, which cannot be passed",
                "record the host with hostpassthru record, which keeps the class",
            ),
        ],
    ),
    "vgpu": (
        lambda: vgpu_vf(
            creatable_vgpu_types=VGPU_HEADER + "921   : NVIDIA L4-2Q\n", current_vgpu_type="921"
        ),
        "0000:41:00.4",
        [
            finding(
                "vgpu",
                "info",
                "pci_0000_41_00_4",
                "0000:41:00.4 carries vGPU type 921 (NVIDIA L4-2Q): NVIDIA's driver passes it "
                "as it is, without vfio-pci",
                "keep it bound to nvidia; pass it to the VM as a PCI host device",
            ),
            L4_VF_NOTE,
        ],
    ),
    # A type no longer among the creatable ones has no name to show.
    "vgpu_unnamed": (
        lambda: vgpu_vf(creatable_vgpu_types=VGPU_HEADER, current_vgpu_type="920"),
        "0000:41:00.4",
        [
            finding(
                "vgpu",
                "info",
                "pci_0000_41_00_4",
                "0000:41:00.4 carries vGPU type 920: NVIDIA's driver passes it as it is, "
                "without vfio-pci",
                "keep it bound to nvidia; pass it to the VM as a PCI host device",
            ),
            L4_VF_NOTE,
        ],
    ),
    "vgpu_unbound": (
        lambda: vgpu_vf(driver=None, current_vgpu_type="921 : NVIDIA L4-2Q"),
        "0000:41:00.4",
        [
            finding(
                "vgpu",
                "info",
                "pci_0000_41_00_4",
                "0000:41:00.4 carries vGPU type 921: NVIDIA's driver passes it as it is, "
                "without vfio-pci",
                "keep it bound to its driver; pass it to the VM as a PCI host device",
            ),
            L4_VF_NOTE,
        ],
    ),
    "vgpu_type_unset": (
        lambda: vgpu_vf(
            creatable_vgpu_types=VGPU_HEADER + "557 : NVIDIA L4-1B\n558 : NVIDIA L4-2B\n",
            current_vgpu_type="0",
        ),
        "0000:41:00.4",
        [
            finding(
                "vgpu_type_unset",
                "action",
                "pci_0000_41_00_4",
                "0000:41:00.4 carries no vGPU type yet: NVIDIA's driver passes the VF only "
                "once one is set",
                "choose one of 557 (NVIDIA L4-1B), 558 (NVIDIA L4-2B) and write its id to "
                "/sys/bus/pci/devices/0000:41:00.4/nvidia/current_vgpu_type",
            ),
            L4_VF_NOTE,
        ],
    ),
    "vgpu_no_room": (
        lambda: vgpu_vf(creatable_vgpu_types=VGPU_HEADER, current_vgpu_type="0"),
        "0000:41:00.4",
        [
            finding(
                "vgpu_type_unset",
                "action",
                "pci_0000_41_00_4",
                "0000:41:00.4 carries no vGPU type yet: NVIDIA's driver passes the VF only "
                "once one is set, and the card has no room for another vGPU",
                "remove a vGPU from another VF of the card (write 0 to its current_vgpu_type)",
            ),
            L4_VF_NOTE,
        ],
    ),
    # An unreadable current type says nothing of the vGPU; the VF is still NVIDIA's
    # to pass, so nvidia is no host driver.
    "vgpu_current_unreadable": (
        lambda: vgpu_vf(creatable_vgpu_types=VGPU_HEADER, current_vgpu_type="lots"),
        "0000:41:00.4",
        [L4_VF_NOTE],
    ),
    "mdev": (
        mdev_host,
        UUID,
        [
            finding(
                "mdev",
                "info",
                MDEV,
                f"a mediated device of type GVTg_V5_4 on pci_0000_00_02_0: {MDEV_STAYS}",
            ),
        ],
    ),
    "mdev_type_without_name": (
        lambda: mdev_host(name=""),
        UUID,
        [
            finding(
                "mdev",
                "info",
                MDEV,
                f"a mediated device of type i915-GVTg_V5_4 on pci_0000_00_02_0: {MDEV_STAYS}",
            ),
        ],
    ),
    "mdev_without_type": (
        lambda: mdev_host(link=None),
        UUID,
        [finding("mdev", "info", MDEV, f"a mediated device on pci_0000_00_02_0: {MDEV_STAYS}")],
    ),
    "mdev_parent_not_a_node": (
        lambda: mdev_host(parent=False),
        UUID,
        [
            finding(
                "mdev",
                "info",
                MDEV,
                f"a mediated device of type GVTg_V5_4 on a parent that is not a node: {MDEV_STAYS}",
            ),
        ],
    ),
    "mdev_no_driver": (
        lambda: mdev_host(driver=None),
        UUID,
        [
            finding(
                "mdev_no_driver",
                "action",
                MDEV,
                f"{UUID} is bound to no driver: VFIO cannot open it",
                "load its vendor's mdev driver (kvmgt for GVT-g, nvidia_vgpu_vfio for NVIDIA, "
                "vfio_ccw or vfio_ap on s390; vfio_mdev before Linux 5.16)",
            ),
            finding(
                "mdev",
                "info",
                MDEV,
                f"a mediated device of type GVTg_V5_4 on pci_0000_00_02_0: {MDEV_STAYS}",
            ),
        ],
    ),
}


@pytest.mark.parametrize("case", MESSAGES)
def test_findings_in_full(case: str) -> None:
    """Every finding with its severity, the device it concerns, its words and its hint."""
    make, device, expected = MESSAGES[case]
    assert expected == list(hp.check(device, host=make()).findings)


@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        ("host_driver", "needs_preparation"),
        ("bridge", "blocked"),
        ("acs_override", "ready"),
        # Whether it can be passed at all is not known, blocker or not.
        ("class_unknown", "unknown"),
        ("vgpu", "ready"),
        ("vgpu_type_unset", "needs_preparation"),
        ("mdev", "ready"),
        ("mdev_no_driver", "needs_preparation"),
    ],
)
def test_verdict(case: str, verdict: str) -> None:
    """Blockers block, actions ask for preparation, warnings leave a device ready."""
    make, device, _ = MESSAGES[case]
    assert verdict == hp.check(device, host=make()).verdict


class TestOverride:
    """A driver_override that names another driver than the bound one is said."""

    def test_mismatch(self) -> None:
        """The audio function is on snd_hda_intel with vfio-pci in its override."""
        h = host(
            pci(GPU, "0x030000", "vfio-pci"),
            pci(AUDIO, "0x040300", "snd_hda_intel", driver_override="vfio-pci"),
            groups={1: ("0000:01:00.0", "0000:01:00.1")},
        )
        expected = finding(
            "override_mismatch",
            "warning",
            "pci_0000_01_00_1",
            "0000:01:00.1 has driver_override vfio-pci but is bound to snd_hda_intel: "
            "the next probe (a driver reload, a hotplug) moves it",
            "let one manager own it: hostpassthru prepare/release set and restore it; "
            "else clear it with echo > /sys/bus/pci/devices/0000:01:00.1/driver_override",
        )
        findings = hp.check("0000:01:00.0", host=h).findings
        assert [expected] == [f for f in findings if f.code == "override_mismatch"]

    def test_unbound_with_override(self) -> None:
        """An unbound function with an override is what prepare leaves: nothing to say."""
        h = host(
            pci(GPU, "0x030000", "vfio-pci"),
            pci(AUDIO, "0x040300", None, driver_override="vfio-pci"),
            groups={1: ("0000:01:00.0", "0000:01:00.1")},
        )
        assert [] == codes(h, "0000:01:00.0")

    def test_matching_override(self) -> None:
        """An override naming the bound driver is what prepare sets: nothing to say."""
        h = host(
            pci(GPU, "0x030000", "vfio-pci", driver_override="vfio-pci"),
            groups={1: ("0000:01:00.0",)},
        )
        assert [] == codes(h, "0000:01:00.0")


class TestStatusFields:
    """Fields of the IOMMU status that the fixtures leave alone."""

    def test_no_vfio_ids(self) -> None:
        """Without vfio-pci.ids there are none."""
        assert () == hp.iommu_status(host=host()).vfio_pci_ids

    def test_cmdline_words(self) -> None:
        """The command line comes split into words."""
        h = host(proc_record=proc(cmdline="ro quiet intel_iommu=on"))
        assert ("ro", "quiet", "intel_iommu=on") == hp.iommu_status(host=h).cmdline

    def test_assessment_names_the_device(self) -> None:
        """The assessment names the device checked."""
        assert "pci_0000_01_00_0" == hp.check("0000:01:00.0", host=gpu_group(None)).device

    def test_reset_method_without_reset_file(self) -> None:
        """A reset method counts even where no reset file was seen."""
        record = DeviceRecord(
            kind="pci",
            sys_name="0000:01:00.0",
            path=GPU,
            driver="vfio-pci",
            attributes={"class": "0x030000", "reset_method": "flr"},
            has_reset=False,
        )
        assert [] == codes(host(record, groups={1: ("0000:01:00.0",)}), "0000:01:00.0")


def block(name: str, path: str, dev: str, holders: tuple[str, ...] = ()) -> ClassDeviceRecord:
    """A block device."""
    return ClassDeviceRecord(
        subsystem="block",
        name=name,
        path=path,
        attributes={"dev": dev},
        holders=holders,
    )


class TestOwners:
    """A finding about something beneath names the node it sits under, not the one checked."""

    def test_block_beneath_the_controller(self) -> None:
        """Checking the AHCI controller, the mounted, swapped, held disk is named."""
        h = host(
            pci(AHCI, "0x010601", "vfio-pci"),
            disk(),
            groups={2: ("0000:00:17.0",)},
            classes=(SDA,),
            proc_record=MOUNTED_SWAP,
        )
        findings = hp.check("0000:00:17.0", host=h).findings
        owners = [(f.code, f.device) for f in findings if f.code in ("mounted", "swap", "holder")]
        expected = [
            ("mounted", "scsi_0_0_0_0"),
            ("swap", "scsi_0_0_0_0"),
            ("holder", "scsi_0_0_0_0"),
        ]
        assert expected == owners

    @pytest.mark.parametrize(
        ("operstate", "route", "code"),
        [("up", ROUTE_HEADER, "network_up"), ("up", DEFAULT_ROUTE, "default_route")],
    )
    def test_interface_on_a_group_member(self, operstate: str, route: str, code: str) -> None:
        """eth0 on the other function of the group is named with that function."""
        other = ClassDeviceRecord(
            subsystem="net",
            name="eth0",
            path=f"{R}/0000:03:00.1/net/eth0",
            attributes={"operstate": operstate},
        )
        h = host(
            NIC,
            pci(f"{R}/0000:03:00.1", "0x020000", "vfio-pci"),
            groups={3: ("0000:03:00.0", "0000:03:00.1")},
            classes=(other,),
            proc_record=proc(route=route),
        )
        assert [(code, "pci_0000_03_00_1")] == codes(h, "0000:03:00.0")

    def test_two_mount_points(self) -> None:
        """A block device mounted twice names both places."""
        h = host(
            disk(),
            classes=(block("sda", f"{DISK}/block/sda", "8:0"),),
            proc_record=proc(
                mountinfo="29 1 8:0 / /a rw - ext4 /dev/sda rw\n"
                "30 1 8:0 / /b rw - ext4 /dev/sda rw\n"
            ),
        )
        findings = hp.check("0:0:0:0", host=h).findings
        assert ["sda is mounted on /a, /b"] == [f.message for f in findings]


class TestHolderGraph:
    """Holders that share a holder: each block device is looked at once, and all are."""

    @staticmethod
    def diamond() -> hp.Host:
        """Sda -> dm-0, dm-1; dm-1 -> dm-2; dm-0 -> dm-3, dm-2; dm-2 and dm-3 mounted."""
        virtual = "devices/virtual/block"
        classes = (
            block("sda", f"{DISK}/block/sda", "8:0", ("dm-0", "dm-1")),
            block("dm-0", f"{virtual}/dm-0", "253:0", ("dm-3", "dm-2")),
            block("dm-1", f"{virtual}/dm-1", "253:1", ("dm-2",)),
            block("dm-2", f"{virtual}/dm-2", "253:2"),
            block("dm-3", f"{virtual}/dm-3", "253:3"),
        )
        mounts = "29 1 253:2 / /srv rw - ext4 /dev/dm-2 rw\n30 1 253:3 / /var rw - ext4 x rw\n"
        return host(disk(), classes=classes, proc_record=proc(mountinfo=mounts))

    def test_each_mount_once(self) -> None:
        """dm-2, reached twice, is said once; dm-3, after it on the stack, is said too."""
        findings = hp.check("0:0:0:0", host=self.diamond()).findings
        expected = [
            "dm-2 (through sda) is mounted on /srv",
            "dm-3 (through sda) is mounted on /var",
        ]
        assert expected == [f.message for f in findings if f.code == "mounted"]
