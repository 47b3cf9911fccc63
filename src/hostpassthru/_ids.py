"""Vendor and product names from the system's ``pci.ids`` and ``usb.ids``, parsed lazily.

A small parser of our own: the one maintained package for these files
(``hwdata``) parses every section eagerly and only looks in Fedora's path.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable

import attrs

__all__ = ["DEFAULT_DIRS", "IdsDatabase", "NameLookup", "no_names"]

#: Where distributions put the files (Debian: /usr/share/misc; Fedora, Arch: /usr/share/hwdata).
DEFAULT_DIRS: tuple[str, ...] = ("/usr/share/hwdata", "/usr/share/misc", "/usr/share")

# The end of one vendor's block: the next line that is neither a product (tab),
# a comment nor blank.
_BLOCK_END = re.compile(rb"\n[^\t#\r\n]")


#: What the builder asks for names: (kind, vendor id, product id) -> (vendor name, product name).
NameLookup = Callable[[str, int | None, int | None], tuple[str | None, str | None]]


def no_names(kind: str, vendor: int | None, product: int | None) -> tuple[str | None, str | None]:
    """A lookup that knows no names."""
    del kind, vendor, product
    return None, None


class _IdsFile:
    """One ids file's bytes; each name is looked up when first asked for.

    The file lists vendors at the top level (``10de  NVIDIA Corporation``), each
    followed by its products after one tab and their subsystems after two;
    comments and blank lines may stand anywhere. Other sections follow the
    vendor list (``C 00  Unclassified device``, ``AT 0001  ...``), and all of
    their top-level lines start with a letter, so a search for a vendor line
    cannot land in them. Decoding and parsing all of pci.ids (35,000 lines)
    would cost more than a small host's scan; a search for a vendor costs about
    what reading the file does, and its products are searched in its block only.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._names: dict[tuple[int, int | None], tuple[str | None, str | None]] = {}
        # Each vendor's name and the span of its product lines, found once: a host
        # has many functions of few vendors.
        self._vendors: dict[int, tuple[str, int, int] | None] = {}

    def _line(self, head: bytes, start: int, end: int) -> int:
        """Where the first line of *head* and two spaces starts in *start*..*end*; -1 if none."""
        data = self._data
        if start == 0 and data.startswith(head + b"  "):
            return 0  # the file's first line, with no newline before it
        # The needle leaves the two spaces out, and they are checked after: a
        # needle ending in a space, the file's commonest byte, makes bytes.find
        # about 1.7 times slower on pci.ids.
        needle = b"\n" + head
        at = data.find(needle, start, end)
        while at >= 0 and not data.startswith(b"  ", at + len(needle)):
            at = data.find(needle, at + 1, end)
        return at if at < 0 else at + 1

    def _find(self, tab: bytes, ident: int, start: int, end: int) -> tuple[str, int] | None:
        """The name on the line *tab* + *ident* between *start* and *end*, and where it ends."""
        for digits in (b"%04x" % ident, b"%04X" % ident):
            at = self._line(tab + digits, start, end)
            if at >= 0:
                line_end = self._data.find(b"\n", at)
                line_end = len(self._data) if line_end < 0 else line_end
                name = self._data[at + len(tab) + len(digits) + 2 : line_end]
                return name.decode("utf-8", errors="replace").strip(), line_end
        return None

    def names(self, vendor: int, product: int | None) -> tuple[str | None, str | None]:
        key = (vendor, product)
        if key not in self._names:
            self._names[key] = self._lookup(vendor, product)
        return self._names[key]

    def _vendor(self, vendor: int) -> tuple[str, int, int] | None:
        """The vendor's name and where its product lines start and end."""
        if vendor not in self._vendors:
            found = self._find(b"", vendor, 0, len(self._data))
            if found is None:
                self._vendors[vendor] = None
            else:
                name, line_end = found
                block = _BLOCK_END.search(self._data, line_end)
                block_end = len(self._data) if block is None else block.start()
                self._vendors[vendor] = (name, line_end, block_end)
        return self._vendors[vendor]

    def _lookup(self, vendor: int, product: int | None) -> tuple[str | None, str | None]:
        found = self._vendor(vendor)
        if found is None:
            return None, None
        vendor_name, start, end = found
        if product is None:
            return vendor_name, None
        product_found = self._find(b"\t", product, start, end)
        return vendor_name, None if product_found is None else product_found[0]


@attrs.define
class IdsDatabase:
    """Names from ``pci.ids`` and ``usb.ids`` in the first of *dirs* that has each file.

    Each file is parsed on the first question about its bus, once it exists;
    nothing is ever downloaded.
    """

    dirs: tuple[str, ...] = DEFAULT_DIRS
    _tables: dict[str, _IdsFile] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def _table(self, filename: str) -> _IdsFile | None:
        table = self._tables.get(filename)
        if table is not None:
            return table
        with self._lock:
            table = self._tables.get(filename)
            if table is not None:
                return table
            for directory in self.dirs:
                path = os.path.join(directory, filename)
                try:
                    with open(path, "rb") as f:
                        table = _IdsFile(f.read())
                except OSError:
                    continue
                # Only a file that was found is remembered: a miss is asked again next
                # time (the file may be installed meanwhile, or a fake filesystem lifted).
                self._tables[filename] = table
                return table
            return None

    def __call__(
        self,
        kind: str,
        vendor: int | None,
        product: int | None,
    ) -> tuple[str | None, str | None]:
        """Names for a ``pci`` or ``usb_device`` node's ids; (None, None) otherwise."""
        if vendor is None or kind not in ("pci", "usb_device"):
            return None, None
        table = self._table("pci.ids" if kind == "pci" else "usb.ids")
        return (None, None) if table is None else table.names(vendor, product)
