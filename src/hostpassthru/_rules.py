"""The passthrough rules: why a node cannot be passed (SPEC 3), what goes with one (SPEC 4)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Device, Host
    from ._records import Kind

__all__ = ["REASONS", "affected", "own_reasons", "stays_with_host"]

#: Every reason, in the order they are given.
REASONS = ("bridge", "pcie_port", "usb_hub", "has_passthrough_children")

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
) -> tuple[str, ...]:
    """The reasons a node has on its own, before looking at its descendants."""
    reasons: list[str] = []
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


def stays_with_host(dev: Device) -> bool:
    """True for the group members that VFIO lets the host keep: bridges and PCIe ports.

    VFIO has accepted a group whose PCI bridges (any header type but the normal
    one) stay bound to a host driver since it was merged in Linux 3.6
    (vfio_dev_driver_allowed(); the IOMMU core took the check over in 5.19).
    From sysfs alone the class code stands in for the header type, as in
    libvirt's virpci.c: PCI-to-PCI bridges and the ports that pcieport binds.
    """
    if dev.driver == "pcieport":
        return True
    code = None if dev.pci is None else dev.pci.class_code
    return code is not None and code >> 8 in _STAYING_BRIDGES


def affected(host: Host, dev: Device) -> tuple[Device, ...]:
    """The nodes that leave the host with *dev*, excluding it, ordered by path."""
    roots = [dev]
    if dev.kind == "pci" and dev.iommu_group is not None:
        roots.extend(
            member
            for member in host.group(dev.iommu_group)
            if member.name != dev.name and not stays_with_host(member)
        )
    picked: set[int] = set()
    for root in roots:
        lo, hi = host._subtree(root)  # noqa: SLF001 - the index is shared with the model
        picked.update(range(lo, hi))
    position = host._index.position  # noqa: SLF001
    picked.update(position[m.name] for m in roots[1:])
    picked.discard(position[dev.name])
    return tuple(host.devices[i] for i in sorted(picked))
