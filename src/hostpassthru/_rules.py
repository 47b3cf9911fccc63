"""The passthrough rules over plain values: why a node cannot be passed, who may stay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from ._records import Kind

__all__ = [
    "REASONS",
    "Reason",
    "is_vfio_driver",
    "override_driver",
    "own_reasons",
    "stays_with_host",
]

#: Why a node is not offered for passthrough (docs/semantics.md, "Reasons").
Reason = Literal["bridge", "pcie_port", "usb_hub", "has_passthrough_children"]
#: Every reason, in the order they are given.
REASONS: tuple[Reason, ...] = get_args(Reason)

_BRIDGE_BASE_CLASS = 0x06
_USB_HUB_CLASS = 0x09
# Class codes (base class and subclass) of bridges VFIO lets stay with the host:
# PCI-to-PCI (0x0604) and semi-transparent PCI-to-PCI (0x0609) bridges.
_STAYING_BRIDGES = (0x0604, 0x0609)


def own_reasons(
    kind: Kind,
    *,
    class_code: int | None,
    driver: str | None,
    usb_class: int | None,
) -> tuple[Reason, ...]:
    """The reasons a node has on its own, before looking at its descendants."""
    reasons: list[Reason] = []
    if kind == "pci":
        if class_code is not None and class_code >> 16 == _BRIDGE_BASE_CLASS:
            reasons.append("bridge")
        # The PCIe port service driver ("pcieport", since Linux 2.6.11) binds every
        # root and switch port; a port is infrastructure whatever its class says.
        if driver == "pcieport":
            reasons.append("pcie_port")
    elif kind == "usb_device" and usb_class == _USB_HUB_CLASS:
        reasons.append("usb_hub")
    return tuple(reasons)


def stays_with_host(*, driver: str | None, class_code: int | None) -> bool:
    """True for the group members that VFIO lets the host keep: bridges and PCIe ports.

    VFIO has accepted a group whose PCI bridges (any header type but the normal
    one) stay bound to a host driver since it was merged in Linux 3.6
    (vfio_dev_driver_allowed(); the IOMMU core took the check over in 5.19).
    From sysfs alone the class code stands in for the header type, as in
    libvirt's virpci.c: PCI-to-PCI bridges and the ports that pcieport binds.
    """
    if driver == "pcieport":
        return True
    return class_code is not None and class_code >> 8 in _STAYING_BRIDGES


def is_vfio_driver(driver: str | None) -> bool:
    """vfio-pci, or a vfio variant driver (``mlx5_vfio_pci``, ``hisi_acc_vfio_pci``...)."""
    return driver is not None and (driver == "vfio-pci" or driver.endswith("vfio_pci"))


def override_driver(text: str | None) -> str | None:
    """The driver a ``driver_override`` file's text names; None when none is set.

    The file came with Linux 3.16 (None: no file); an unset override reads
    ``(null)``, and writing an empty line clears it.
    """
    return None if text in (None, "", "(null)") else text
