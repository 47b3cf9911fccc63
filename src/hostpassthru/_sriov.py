"""NVIDIA's vGPU files on SR-IOV VFs: how to read them, and what they mean for binding (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Device

__all__ = ["parse_vgpu_current", "parse_vgpu_types", "passed_in_place"]


def parse_vgpu_types(text: str) -> tuple[tuple[tuple[int, str], ...], tuple[str, ...]]:
    """The (id, name) pairs of an NVIDIA VF's ``nvidia/creatable_vgpu_types``, and bad lines.

    NVIDIA's driver writes a header and one line per type, ``ID : vGPU Name``
    then ``557   : NVIDIA L4-1B``; a card whose capacity is used up shows the
    header alone. Read leniently, as NVIDIA's own tools do: ``ID Name`` without
    the colon and ``Name : ID`` are accepted too, blank lines and the header
    are skipped, and any other line is returned as bad (never an error).
    """
    types: list[tuple[int, str]] = []
    bad: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        left, colon, right = line.partition(":")
        if not colon:
            left, _, right = line.partition(" ")
        left, right = left.strip(), right.strip()
        if left.isascii() and left.isdigit() and right:
            types.append((int(left), right))
        elif right.isascii() and right.isdigit() and left:
            types.append((int(right), left))
        elif left.upper() != "ID":
            bad.append(line)
    return tuple(types), tuple(bad)


def parse_vgpu_current(text: str) -> int:
    """The type id in ``nvidia/current_vgpu_type``: ``0`` when none is set.

    The driver writes the number alone; a ``ID : name`` form is read too.
    Raises ValueError for anything else.
    """
    word = text.strip().partition(":")[0].strip()
    if not (word.isascii() and word.isdigit()):
        raise ValueError(text)
    return int(word)


def passed_in_place(dev: Device) -> bool:
    """True for a VF that NVIDIA's driver hands to VFIO itself (the ``nvidia/`` vGPU files).

    With NVIDIA's vGPU manager 17 and later on Linux >= 6.8 (Ada, Hopper and
    newer), a VF carries a vGPU once a type id is written to its
    ``nvidia/current_vgpu_type``; NVIDIA's own VFIO driver then serves it to
    QEMU as it is. Binding such a VF to vfio-pci would lose the vGPU.
    """
    return dev.pci is not None and dev.pci.vgpu is not None
