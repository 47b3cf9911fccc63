"""Vendor and product names from pci.ids and usb.ids."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from hostpassthru._ids import IdsDatabase

if TYPE_CHECKING:
    from pathlib import Path

PCI_IDS = """\
# comment
8086  Intel Corporation
\t1901  6th-10th Gen Core Processor PCIe Controller (x16)
\t\t1462 7b17  subsystem line, skipped
10de  NVIDIA Corporation
\t1b81  GP104 [GeForce GTX 1070]
# a comment inside the block
\t10f0  GP104 High Definition Audio Controller

# List of known device classes
C 00  Unclassified device
\t00  Non-VGA unclassified device
"""


class TestLookup:
    """Vendor and product lines are found where they stand, and nowhere else."""

    @pytest.fixture
    def db(self, tmp_path: Path) -> IdsDatabase:
        """A database over PCI_IDS."""
        (tmp_path / "pci.ids").write_text(PCI_IDS)
        return IdsDatabase((str(tmp_path),))

    def test_vendor(self, db: IdsDatabase) -> None:
        """A vendor line gives the vendor's name."""
        assert "NVIDIA Corporation" == db("pci", 0x10DE, None)[0]

    def test_product(self, db: IdsDatabase) -> None:
        """A product line after one tab, beneath its vendor, gives the product's name."""
        assert "GP104 [GeForce GTX 1070]" == db("pci", 0x10DE, 0x1B81)[1]

    def test_product_after_comment(self, db: IdsDatabase) -> None:
        """A comment inside a vendor's block does not end it."""
        assert "GP104 High Definition Audio Controller" == db("pci", 0x10DE, 0x10F0)[1]

    def test_subsystem_line_is_no_product(self, db: IdsDatabase) -> None:
        """A subsystem line (two tabs) is not taken for a product of that id."""
        assert None is db("pci", 0x8086, 0x1462)[1]

    def test_product_of_another_vendor(self, db: IdsDatabase) -> None:
        """A product id is looked for beneath its own vendor only."""
        assert None is db("pci", 0x8086, 0x1B81)[1]


class TestLineForms:
    """A line is matched whole: where a line starts, four hex digits and two spaces."""

    @staticmethod
    def lookup(tmp_path: Path, text: str, product: int | None) -> tuple[str | None, str | None]:
        """The names of vendor 0x10de and *product* in a pci.ids holding *text*."""
        (tmp_path / "pci.ids").write_text(text)
        return IdsDatabase((str(tmp_path),))("pci", 0x10DE, product)

    def test_first_line(self, tmp_path: Path) -> None:
        """The file's first line has no newline before it, and is found all the same."""
        names = self.lookup(tmp_path, "10de  NVIDIA Corporation\n\t1b81  GP104\n", 0x1B81)
        assert ("NVIDIA Corporation", "GP104") == names

    def test_upper_case(self, tmp_path: Path) -> None:
        """Upper-case hex digits are found too."""
        names = self.lookup(tmp_path, "# ids\n10DE  NVIDIA Corporation\n\t1B81  GP104\n", 0x1B81)
        assert ("NVIDIA Corporation", "GP104") == names

    def test_one_space_is_no_vendor_line(self, tmp_path: Path) -> None:
        """The id and one space is not a vendor line."""
        text = "# ids\n10de not this\n10de  NVIDIA Corporation\n"
        assert "NVIDIA Corporation" == self.lookup(tmp_path, text, None)[0]

    def test_longer_id_is_no_vendor_line(self, tmp_path: Path) -> None:
        """Five hex digits are not the vendor of the first four."""
        text = "# ids\n10de0  not this\n10de  NVIDIA Corporation\n"
        assert "NVIDIA Corporation" == self.lookup(tmp_path, text, None)[0]

    def test_one_space_is_no_product_line(self, tmp_path: Path) -> None:
        """The same holds for products: the id and one space is not a product line."""
        text = "10de  NVIDIA Corporation\n\t1b81 not this\n\t1b81  GP104\n"
        assert "GP104" == self.lookup(tmp_path, text, 0x1B81)[1]


class TestDatabase:
    """The database reads the first directory that has the file."""

    @pytest.mark.parametrize(
        ("subsystem", "vendor", "product", "names"),
        [
            ("pci", 0x10DE, 0x1B81, ("NVIDIA Corporation", "GP104 [GeForce GTX 1070]")),
            ("pci", 0x8086, 0xFFFF, ("Intel Corporation", None)),
            ("pci", 0x1234, 0x1, (None, None)),
            ("usb_device", 0x8086, 0x1901, (None, None)),
            ("scsi", 0x8086, 0x1901, (None, None)),
        ],
    )
    def test_lookup(
        self,
        tmp_path: Path,
        subsystem: str,
        vendor: int,
        product: int,
        names: tuple[str | None, str | None],
    ) -> None:
        """Known ids give names; unknown products give the vendor alone."""
        (tmp_path / "pci.ids").write_text(PCI_IDS)
        db = IdsDatabase((str(tmp_path / "missing"), str(tmp_path)))
        assert names == db(subsystem, vendor, product)

    def test_missing_file_is_asked_again(self, tmp_path: Path) -> None:
        """A file that appears later is found: misses are not remembered."""
        db = IdsDatabase((str(tmp_path),))
        before = db("pci", 0x10DE, 0x1B81)
        (tmp_path / "pci.ids").write_text(PCI_IDS)
        assert (None, None) == before
        assert "NVIDIA Corporation" == db("pci", 0x10DE, None)[0]
