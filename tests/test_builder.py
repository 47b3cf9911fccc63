"""The builder's parsing of raw attribute text, on records (no filesystem), one fact per test."""

from __future__ import annotations

import pytest

from hostpassthru._records import DeviceRecord, ProcRecord, Snapshot
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

    def test_not_hctl(self) -> None:
        """A name that is no H:C:T:L gives None and a problem naming it."""
        host = build(snapshot(scsi("bogus")))
        assert ("bogus: not a host:channel:target:lun name",) == host.problems


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
