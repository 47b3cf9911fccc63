"""record --anonymize keeps what the checks read; without it, stderr says what the file holds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru import _scan
from hostpassthru._cli import main
from hostpassthru.testing import FakeHost, materialize, parse_recording

if TYPE_CHECKING:
    from pathlib import Path

# Every planted secret holds "SECRET" or is an address written in hex below.
CMDLINE = (
    "BOOT_IMAGE=/vmlinuz-6.1.0 root=UUID=SECRET-ROOT-UUID ro rd.luks.uuid=SECRET-LUKS "
    "cryptdevice=/dev/sda2:SECRETCRYPT ip=10.99.88.77::10.99.88.1:255.255.255.0:SECRET-HOST "
    "inst.ks=https://SECRET.example/ks.cfg?token=SECRET-TOKEN intel_iommu=on iommu=pt "
    "vfio-pci.ids=10de:1b80,10de:10f0 quiet\n"
)
MOUNTINFO = (
    "22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw\n"
    "23 22 8:1 / /boot/efi rw,relatime shared:2 - vfat /dev/sda1 rw\n"
    "24 22 8:2 /SECRET-SUBVOL /home/SECRETUSER rw - ext4 /dev/sda2 rw,SECRET-OPTION\n"
    "25 22 0:55 / /mnt/SECRET-SHARE rw - cifs //SECRET-SERVER/share rw,username=SECRETUSER\n"
    "26 22 0:24 / /run/user/1000 rw - tmpfs tmpfs rw,size=SECRET\n"
)
SWAPS = (
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/sda3                               partition\t8388604\t\t0\t\t-2\n"
    "/SECRET-SWAPFILE                        file\t\t1048572\t\t0\t\t-3\n"
)
# Default route via 192.168.1.1 (0101A8C0); a route to 10.99.0.0/16 (0000630A).
ROUTE = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    "enp3s0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
    "enp3s0\t0000630A\t00000000\t0001\t0\t0\t100\t0000FFFF\t0\t0\t0\n"
)
ADDRESSES = ("0101A8C0", "0000630A", "10.99.88")


def _plant(top: Path) -> None:
    """Overwrite a fixture's /proc with files full of secrets."""
    (top / "proc" / "net").mkdir(parents=True, exist_ok=True)
    (top / "proc" / "self").mkdir(parents=True, exist_ok=True)
    (top / "proc" / "cmdline").write_text(CMDLINE)
    (top / "proc" / "self" / "mountinfo").write_text(MOUNTINFO)
    (top / "proc" / "swaps").write_text(SWAPS)
    (top / "proc" / "net" / "route").write_text(ROUTE)


def _record(root: str, proc: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert 0 == main(["record", "--sysfs", root, "--proc", str(proc), *extra])
    return capsys.readouterr().out


@pytest.fixture
def sata(tmp_path: Path) -> tuple[str, Path]:
    """ready-sata-root (a disk holding / and swap) with secrets planted in its /proc."""
    root = materialize("ready-sata-root", tmp_path)
    _plant(tmp_path)
    return root, tmp_path / "proc"


class TestAnonymize:
    """record --anonymize on a host whose /proc is full of secrets."""

    def test_no_secret(self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
        """No planted secret reaches the recording."""
        out = _record(*sata, capsys, "--anonymize")
        assert [] == [line for line in out.splitlines() if "SECRET" in line]

    @pytest.mark.parametrize("address", ADDRESSES)
    def test_no_address(
        self, address: str, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """No address of the routing table or the command line reaches the recording."""
        assert address not in _record(*sata, capsys, "--anonymize")

    def test_cmdline_keeps_iommu_options(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The command line keeps its IOMMU and VFIO options, and nothing else."""
        recording = parse_recording(_record(*sata, capsys, "--anonymize"))
        files = dict(recording.files)
        assert (
            "intel_iommu=on iommu=pt vfio-pci.ids=10de:1b80,10de:10f0\n" == files["/proc/cmdline"]
        )

    def test_mounts_keep_block_devices(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Mounts keep which block devices are mounted, and where only for /."""
        files = dict(parse_recording(_record(*sata, capsys, "--anonymize")).files)
        assert (
            "22 1 8:2 / / rw - anonymized none rw\n"
            "23 22 8:1 / /anonymized-mount-2 rw - anonymized none rw\n"
            "24 22 8:2 / /anonymized-mount-3 rw - anonymized none rw\n"
        ) == files["/proc/self/mountinfo"]

    def test_route_keeps_default_interface(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The routing table keeps the default route's interface, with no address."""
        files = dict(parse_recording(_record(*sata, capsys, "--anonymize")).files)
        assert [
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "enp3s0\t00000000\t00000000\t0003\t0\t0\t100\t00000000\t0\t0\t0",
        ] == files["/proc/net/route"].splitlines()

    def test_checks_see_the_same(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every device's verdict and finding codes are those of the original host."""
        root, proc = sata
        original = hp.scan(sysfs=root, proc=proc)
        replayed = _scan.replay(parse_recording(_record(root, proc, capsys, "--anonymize")))
        for dev in original:
            expected = hp.check(dev, host=original)
            actual = hp.check(dev.name, host=replayed)
            assert expected.verdict == actual.verdict
            assert [f.code for f in expected.findings] == [f.code for f in actual.findings]

    def test_iommu_status_the_same(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The IOMMU status (on, options, remapping) survives anonymizing."""
        root, proc = sata
        replayed = _scan.replay(parse_recording(_record(root, proc, capsys, "--anonymize")))
        status = hp.iommu_status(host=replayed)
        assert "on" == status.intel_iommu
        assert "pt" == status.iommu
        assert ("10de:1b80", "10de:10f0") == status.vfio_pci_ids

    def test_stderr_says_what_was_dropped(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Stderr names what --anonymize dropped from each /proc file."""
        root, proc = sata
        assert 0 == main(["record", "--sysfs", root, "--proc", str(proc), "--anonymize"])
        err = capsys.readouterr().err.splitlines()
        assert [
            (
                "hostpassthru: anonymized /proc/cmdline: dropped the kernel command line, "
                "but for its IOMMU and VFIO options"
            ),
            (
                "hostpassthru: anonymized /proc/self/mountinfo: dropped mount points other than /, "
                "file system types, sources and options"
            ),
            "hostpassthru: anonymized /proc/swaps: dropped swap files (swap on block devices kept)",
            (
                "hostpassthru: anonymized /proc/net/route: dropped every route but the default, "
                "and all addresses"
            ),
        ] == err

    def test_serial_replaced(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A USB serial number is replaced too."""
        fake = (
            FakeHost(tmp_path)
            .add_pci("0000:00:14.0", cls=0x0C0330)
            .add_usb("usb1", parent="0000:00:14.0", device_class=9)
            .add_usb("1-1", parent="usb1", serial="SECRET-SERIAL-99")
        )
        assert 0 == main(["record", "--anonymize", "--sysfs", fake.root])
        assert "SECRET" not in capsys.readouterr().out


class TestPlain:
    """Without --anonymize, everything is kept and stderr says so."""

    def test_secrets_kept(self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
        """The plain recording keeps the whole command line (it is for one's own use)."""
        files = dict(parse_recording(_record(*sata, capsys)).files)
        assert CMDLINE == files["/proc/cmdline"]

    def test_stderr_says_what_the_file_holds(
        self, sata: tuple[str, Path], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Stderr lists what the recording holds, and points to --anonymize."""
        root, proc = sata
        assert 0 == main(["record", "--sysfs", root, "--proc", str(proc)])
        assert [
            "hostpassthru: the recording holds:",
            (
                "hostpassthru:   13 device directories: the attributes and links the library "
                "reads, 0 serial numbers among them"
            ),
            "hostpassthru:   /proc/cmdline: the whole kernel command line",
            (
                "hostpassthru:   /proc/self/mountinfo: every mount point, with file system types, "
                "sources and options"
            ),
            "hostpassthru:   /proc/swaps: every swap device and file",
            "hostpassthru:   /proc/net/route: the routing table, with its addresses",
            "hostpassthru: to attach it to a public report, record with --anonymize",
        ] == capsys.readouterr().err.splitlines()
