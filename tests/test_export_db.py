"""`udevadm info --export-db` dumps: accepted by --replay, facts taken from properties."""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru import _recording, _scan
from hostpassthru._cli import main

if TYPE_CHECKING:
    from pathlib import Path

# A desktop as systemd 255's udevadm dumps it: a host bridge, a root port with a
# GPU, a USB controller with a keyboard, a SATA disk; every line type of the
# database, and one line type nobody knows (Z:).
DUMP = """\
P: /devices/pci0000:00/0000:00:00.0
M: 0000:00:00.0
R: 0
U: pci
J: +pci:0000:00:00.0
I: 5210331
E: DEVPATH=/devices/pci0000:00/0000:00:00.0
E: SUBSYSTEM=pci
E: PCI_CLASS=60000
E: PCI_ID=8086:3E30
E: PCI_SUBSYS_ID=1043:8694
E: PCI_SLOT_NAME=0000:00:00.0

P: /devices/pci0000:00/0000:00:01.0
M: 0000:00:01.0
R: 0
U: pci
V: pcieport
E: DEVPATH=/devices/pci0000:00/0000:00:01.0
E: SUBSYSTEM=pci
E: DRIVER=pcieport
E: PCI_CLASS=60400
E: PCI_ID=8086:1901

P: /devices/pci0000:00/0000:00:01.0/0000:01:00.0
M: 0000:01:00.0
R: 0
U: pci
V: nvidia
Z: something new
E: DEVPATH=/devices/pci0000:00/0000:00:01.0/0000:01:00.0
E: SUBSYSTEM=pci
E: DRIVER=nvidia
E: PCI_CLASS=30000
E: PCI_ID=10DE:1B80
E: PCI_SUBSYS_ID=1043:85A0

P: /devices/pci0000:00/0000:00:14.0
M: 0000:00:14.0
U: pci
V: xhci_hcd
E: SUBSYSTEM=pci
E: DRIVER=xhci_hcd
E: PCI_CLASS=C0330
E: PCI_ID=8086:A36D

P: /devices/pci0000:00/0000:00:14.0/usb1
M: usb1
R: 1
U: usb
T: usb_device
D: c 189:0
N: bus/usb/001/001
L: 0
V: usb
E: DEVPATH=/devices/pci0000:00/0000:00:14.0/usb1
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=1d6b/2/606
E: TYPE=9/0/1
E: BUSNUM=001
E: DEVNUM=001
E: SUBSYSTEM=usb
E: ID_VENDOR_ID=1d6b
E: ID_MODEL_ID=0002

P: /devices/pci0000:00/0000:00:14.0/usb1/1-2
M: 1-2
R: 2
U: usb
T: usb_device
D: c 189:1
N: bus/usb/001/002
L: 0
S: snd/by-id/usb-Logitech
Q: 7
V: usb
E: DEVTYPE=usb_device
E: DRIVER=usb
E: PRODUCT=46d/c52b/1201
E: TYPE=0/0/0
E: BUSNUM=001
E: DEVNUM=002
E: SUBSYSTEM=usb

P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0
M: 1-2:1.0
U: usb
T: usb_interface
V: usbhid
E: DEVTYPE=usb_interface
E: DRIVER=usbhid
E: PRODUCT=46d/c52b/1201
E: TYPE=0/0/0
E: INTERFACE=3/1/1
E: SUBSYSTEM=usb

P: /devices/pci0000:00/0000:00:17.0
M: 0000:00:17.0
U: pci
V: ahci
E: SUBSYSTEM=pci
E: DRIVER=ahci
E: PCI_CLASS=10601
E: PCI_ID=8086:A352

P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0
M: 0:0:0:0
U: scsi
T: scsi_device
V: sd
E: DEVTYPE=scsi_device
E: DRIVER=sd
E: MODALIAS=scsi:t-0x00
E: SUBSYSTEM=scsi

P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/scsi_device/0:0:0:0
M: 0:0:0:0
U: scsi_device
E: SUBSYSTEM=scsi_device

P: /devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda
M: sda
U: block
T: disk
D: b 8:0
N: sda
L: 0
S: disk/by-id/ata-SAMSUNG
E: MAJOR=8
E: MINOR=0
E: DEVNAME=/dev/sda
E: DEVTYPE=disk
E: SUBSYSTEM=block
"""


@pytest.fixture
def host() -> hp.Host:
    """The desktop dump, replayed."""
    return _scan.replay(_recording.read_any(DUMP, "desktop.db"))


def test_told_apart() -> None:
    """A dump is told from a recording by its line types."""
    assert _recording.is_export_db(DUMP)


def test_recording_is_no_dump() -> None:
    """A recording written by record is no dump."""
    text = _recording.dump(_recording.parse_recording("P: /devices/x\nE: SUBSYSTEM=pci\n"))
    assert not _recording.is_export_db(text)


def test_nodes(host: hp.Host) -> None:
    """Every PCI function, both USB devices and the disk are nodes; the interface is not."""
    assert [
        "pci_0000_00_00_0",
        "pci_0000_00_01_0",
        "pci_0000_01_00_0",
        "pci_0000_00_14_0",
        "usb_usb1",
        "usb_1_2",
        "pci_0000_00_17_0",
        "scsi_0_0_0_0",
    ] == [d.name for d in host.devices]


@pytest.mark.parametrize(
    ("name", "reasons"),
    [
        ("pci_0000_00_00_0", ("bridge",)),
        ("pci_0000_00_01_0", ("bridge", "pcie_port", "has_passthrough_children")),
        ("pci_0000_01_00_0", ()),
        ("pci_0000_00_14_0", ("has_passthrough_children",)),
        ("usb_usb1", ("usb_hub", "has_passthrough_children")),
        ("usb_1_2", ()),
        ("pci_0000_00_17_0", ("has_passthrough_children",)),
        ("scsi_0_0_0_0", ()),
    ],
)
def test_reasons(name: str, reasons: tuple[str, ...], host: hp.Host) -> None:
    """The rules see the classes from PCI_CLASS and TYPE: the host bridge is not offered."""
    assert reasons == host.device(name).reasons


@pytest.mark.parametrize(
    ("name", "driver"),
    [
        ("pci_0000_00_00_0", None),
        ("pci_0000_00_01_0", "pcieport"),
        ("pci_0000_01_00_0", "nvidia"),
        ("usb_1_2", "usb"),
        ("scsi_0_0_0_0", "sd"),
    ],
)
def test_drivers(name: str, driver: str | None, host: hp.Host) -> None:
    """Drivers come from DRIVER=."""
    assert driver == host.device(name).driver


def test_gpu_ids(host: hp.Host) -> None:
    """PCI_ID and PCI_SUBSYS_ID give the ids."""
    gpu = host.device("0000:01:00.0")
    assert 0x10DE == gpu.vendor_id
    assert 0x1B80 == gpu.product_id
    assert 0x030000 == gpu.pci.class_code  # type: ignore[union-attr]
    assert 0x1043 == gpu.pci.subsystem_vendor_id  # type: ignore[union-attr]
    assert 0x85A0 == gpu.pci.subsystem_product_id  # type: ignore[union-attr]


def test_usb_facts(host: hp.Host) -> None:
    """PRODUCT=, TYPE=, BUSNUM=, DEVNUM= and the interface's INTERFACE= give the USB facts."""
    keyboard = host.device("1-2")
    assert 0x046D == keyboard.vendor_id
    assert 0xC52B == keyboard.product_id
    assert 0 == keyboard.usb.device_class  # type: ignore[union-attr]
    assert (3,) == keyboard.usb.interface_classes  # type: ignore[union-attr]
    assert 1 == keyboard.usb.busnum  # type: ignore[union-attr]
    assert 2 == keyboard.usb.devnum  # type: ignore[union-attr]


def test_root_hub_ids_from_udev(host: hp.Host) -> None:
    """ID_VENDOR_ID and ID_MODEL_ID give a USB device's ids."""
    assert 0x1D6B == host.device("usb1").vendor_id
    assert 0x0002 == host.device("usb1").product_id


def test_scsi_type(host: hp.Host) -> None:
    """MODALIAS=scsi:t-0x00 gives the SCSI type, and the disk is its block device."""
    assert 0 == host.device("0:0:0:0").scsi.type  # type: ignore[union-attr]
    assert "sda" == host.device("0:0:0:0").scsi.block  # type: ignore[union-attr]


def test_block_dev_from_major_minor(host: hp.Host) -> None:
    """A block device's dev comes from MAJOR and MINOR."""
    (sda,) = [c for c in host.class_devices if c.name == "sda"]
    assert "8:0" == sda.attributes["dev"]


def test_problems(host: hp.Host) -> None:
    """Problems say the facts came from properties, and count the lines skipped by type."""
    assert [
        (
            "desktop.db: a udevadm info --export-db dump: properties only, no attribute files or "
            "links; facts the rules need come from properties, and IOMMU groups are unknown"
        ),
        (
            "desktop.db: skipped lines of types umockdev's format lacks (D: 3, I: 1, J: 1, L: 3, "
            "M: 11, N: 3, Q: 1, R: 5, S: 2, T: 5, U: 11, V: 8, Z: 1)"
        ),
    ] == list(host.problems)


def test_dump_file(tmp_path: Path) -> None:
    """A dump in a file, as --replay reads it: the same nodes as from its text."""
    path = tmp_path / "desktop.db"
    path.write_text(DUMP)
    assert [
        "pci_0000_00_00_0",
        "pci_0000_00_01_0",
        "pci_0000_01_00_0",
        "pci_0000_00_14_0",
        "usb_usb1",
        "usb_1_2",
        "pci_0000_00_17_0",
        "scsi_0_0_0_0",
    ] == [d.name for d in _scan.replay_file(path).devices]


def test_dump_file_problems(tmp_path: Path) -> None:
    """... and its problems count the skipped lines, naming the file."""
    path = tmp_path / "desktop.db"
    path.write_text(DUMP)
    assert (
        f"{path}: skipped lines of types umockdev's format lacks (D: 3, I: 1, J: 1, L: 3, "
        "M: 11, N: 3, Q: 1, R: 5, S: 2, T: 5, U: 11, V: 8, Z: 1)"
    ) == _scan.replay_file(path).problems[1]


CLASSLESS = """\
P: /devices/pci0000:00/0000:00:00.0
M: 0000:00:00.0
U: pci
E: SUBSYSTEM=pci
E: PCI_ID=8086:3E30
"""


class TestClassUnknown:
    """A PCI function with neither a class attribute nor PCI_CLASS."""

    def test_problem(self) -> None:
        """Problems say its class is unknown."""
        host = _scan.replay(_recording.read_any(CLASSLESS, "old.db"))
        assert (
            "0000:00:00.0: class unknown: neither a class attribute nor PCI_CLASS; "
            "whether it is a bridge is unknown"
        ) == host.problems[-1]

    def test_verdict_unknown(self) -> None:
        """Check's verdict is unknown, with a class_unknown finding."""
        host = _scan.replay(_recording.read_any(CLASSLESS, "old.db"))
        assessment = hp.check("0000:00:00.0", host=host)
        assert "unknown" == assessment.verdict
        assert "class_unknown" == assessment.findings[0].code

    def test_cli(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Hostpassthru check says unknown and exits 4."""
        path = tmp_path / "old.db"
        path.write_text(CLASSLESS)
        assert 4 == main(["--replay", str(path), "check", "0000:00:00.0"])
        assert "pci_0000_00_00_0: unknown" in capsys.readouterr().out


def test_cli_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--replay takes a dump; list offers the GPU, the keyboard and the disk."""
    path = tmp_path / "desktop.db"
    path.write_text(DUMP)
    assert 0 == main(["--replay", str(path), "list"])
    out = capsys.readouterr().out.splitlines()
    assert ["pci_0000_01_00_0", "usb_1_2", "scsi_0_0_0_0"] == [line.split()[0] for line in out[1:]]


@pytest.mark.live
def test_this_machine() -> None:
    """This machine's own udev database gives the nodes, drivers, ids and reasons of /sys."""
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm not installed")
    done = subprocess.run(
        [udevadm, "info", "--export-db"], capture_output=True, text=True, check=True, timeout=60
    )
    replayed = _scan.replay(_recording.read_any(done.stdout, "this machine"))
    live = hp.scan(sysfs="/sys")

    def facts(host: hp.Host) -> list[tuple[object, ...]]:
        return [(d.name, d.driver, d.vendor_id, d.product_id, d.reasons) for d in host.devices]

    assert facts(live) == facts(replayed)
