"""Vendor and product names from the system's ``pci.ids`` and ``usb.ids``, parsed lazily.

A small parser of our own: the one maintained package for these files
(``hwdata``) parses every section eagerly and only looks in Fedora's path.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

import attrs

__all__ = ["DEFAULT_DIRS", "IdsDatabase", "NameLookup", "no_names", "parse_ids"]

#: Where distributions put the files (Debian: /usr/share/misc; Fedora, Arch: /usr/share/hwdata).
DEFAULT_DIRS: tuple[str, ...] = ("/usr/share/hwdata", "/usr/share/misc", "/usr/share")

_Table = dict[int, tuple[str, dict[int, str]]]


def parse_ids(lines: Iterable[str]) -> _Table:
    """Vendor id -> (vendor name, {product id: product name}) from ids-format lines.

    Stops at the first section that is not a vendor list (``C 00  Unclassified``
    and the like), and skips subsystem lines (two tabs).
    """
    table: _Table = {}
    products: dict[int, str] | None = None
    for line in lines:
        if not line or line[0] == "#" or line.isspace():
            continue
        if line[0] == "\t":
            if products is None or line.startswith("\t\t"):
                continue
            ident, _, name = line[1:].partition("  ")
            try:
                products[int(ident, 16)] = name.strip()
            except ValueError:
                continue
            continue
        ident, _, name = line.partition("  ")
        if len(ident) != 4:
            break  # "C 01", "AT 0001", "HID 00": the vendor list has ended
        try:
            vendor = int(ident, 16)
        except ValueError:
            break
        products = {}
        table[vendor] = (name.strip(), products)
    return table


#: What the builder asks for names: (kind, vendor id, product id) -> (vendor name, product name).
NameLookup = Callable[[str, int | None, int | None], tuple[str | None, str | None]]


def no_names(kind: str, vendor: int | None, product: int | None) -> tuple[str | None, str | None]:
    """A lookup that knows no names."""
    del kind, vendor, product
    return None, None


@attrs.define
class IdsDatabase:
    """Names from ``pci.ids`` and ``usb.ids`` in the first of *dirs* that has each file.

    Each file is parsed on the first question about its bus, once it exists;
    nothing is ever downloaded.
    """

    dirs: tuple[str, ...] = DEFAULT_DIRS
    _tables: dict[str, _Table] = attrs.field(factory=dict, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def _table(self, filename: str) -> _Table:
        with self._lock:
            table = self._tables.get(filename)
            if table is not None:
                return table
            for directory in self.dirs:
                path = os.path.join(directory, filename)
                try:
                    with open(path, encoding="utf-8", errors="replace") as f:
                        table = parse_ids(f)
                except OSError:
                    continue
                # Only a file that was found is remembered: a miss is asked again next
                # time (the file may be installed meanwhile, or a fake filesystem lifted).
                self._tables[filename] = table
                return table
            return {}

    def __call__(
        self,
        kind: str,
        vendor: int | None,
        product: int | None,
    ) -> tuple[str | None, str | None]:
        """Names for a ``pci`` or ``usb_device`` node's ids; (None, None) otherwise."""
        if vendor is None or kind not in ("pci", "usb_device"):
            return None, None
        entry = self._table("pci.ids" if kind == "pci" else "usb.ids").get(vendor)
        if entry is None:
            return None, None
        name, products = entry
        return name, None if product is None else products.get(product)
