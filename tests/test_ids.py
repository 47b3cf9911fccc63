"""Vendor and product names from pci.ids and usb.ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hostpassthru._ids import IdsDatabase, parse_ids

if TYPE_CHECKING:
    from pathlib import Path

PCI_IDS = """\
# comment
8086  Intel Corporation
\t1901  6th-10th Gen Core Processor PCIe Controller (x16)
\t\t1462 7b17  subsystem line, skipped
10de  NVIDIA Corporation
\t1b81  GP104 [GeForce GTX 1070]

# List of known device classes
C 00  Unclassified device
\t00  Non-VGA unclassified device
"""


class TestParse:
    """The parser reads vendors and products and stops at the class list."""

    def test_vendors_and_products(self) -> None:
        """Vendors with their products; subsystems and classes skipped."""
        assert {
            0x8086: (
                "Intel Corporation",
                {0x1901: "6th-10th Gen Core Processor PCIe Controller (x16)"},
            ),
            0x10DE: ("NVIDIA Corporation", {0x1B81: "GP104 [GeForce GTX 1070]"}),
        } == parse_ids(PCI_IDS.splitlines())


class TestDatabase:
    """The database reads the first directory that has the file."""

    def test_lookup(self, tmp_path: Path) -> None:
        """Known ids give names; unknown products give the vendor alone."""
        (tmp_path / "pci.ids").write_text(PCI_IDS)
        db = IdsDatabase((str(tmp_path / "missing"), str(tmp_path)))
        assert [
            ("NVIDIA Corporation", "GP104 [GeForce GTX 1070]"),
            ("Intel Corporation", None),
            (None, None),
            (None, None),
            (None, None),
        ] == [
            db("pci", 0x10DE, 0x1B81),
            db("pci", 0x8086, 0xFFFF),
            db("pci", 0x1234, 0x1),
            db("usb_device", 0x8086, 0x1901),
            db("scsi", 0x8086, 0x1901),
        ]

    def test_missing_file_is_asked_again(self, tmp_path: Path) -> None:
        """A file that appears later is found: misses are not remembered."""
        db = IdsDatabase((str(tmp_path),))
        before = db("pci", 0x10DE, 0x1B81)
        (tmp_path / "pci.ids").write_text(PCI_IDS)
        assert ((None, None), "NVIDIA Corporation") == (before, db("pci", 0x10DE, None)[0])
