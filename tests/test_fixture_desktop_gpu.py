"""Hand-written expectations for fixtures/desktop-gpu.umockdev, checked under every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp

if TYPE_CHECKING:
    from collections.abc import Callable

FIXTURE = "desktop-gpu"

#: name -> (parent, effective IOMMU group, driver, reasons), in path order.
NODES = {
    "pci_0000_00_00_0": (None, 0, "skl_uncore", ("bridge",)),
    "pci_0000_00_01_0": (None, 1, "pcieport", ("bridge", "pcie_port", "has_passthrough_children")),
    "pci_0000_01_00_0": ("pci_0000_00_01_0", 1, "nouveau", ()),
    "pci_0000_01_00_1": ("pci_0000_00_01_0", 1, "snd_hda_intel", ()),
    "pci_0000_00_14_0": (None, 4, "xhci_hcd", ()),
    "usb_usb1": ("pci_0000_00_14_0", 4, "usb", ("usb_hub",)),
    "usb_usb2": ("pci_0000_00_14_0", 4, "usb", ("usb_hub",)),
    "pci_0000_00_1b_0": (None, 7, "pcieport", ("bridge", "pcie_port", "has_passthrough_children")),
    "pci_0000_02_00_0": ("pci_0000_00_1b_0", 8, "nvme", ()),
}

GROUPS = {
    0: ("pci_0000_00_00_0",),
    1: ("pci_0000_00_01_0", "pci_0000_01_00_0", "pci_0000_01_00_1"),
    4: ("pci_0000_00_14_0",),
    7: ("pci_0000_00_1b_0",),
    8: ("pci_0000_02_00_0",),
}

PASSTHROUGH = ("pci_0000_01_00_0", "pci_0000_01_00_1", "pci_0000_00_14_0", "pci_0000_02_00_0")

#: The GPU and its audio go together; the root port stays with the host.
AFFECTED = {
    "pci_0000_00_00_0": (),
    "pci_0000_00_01_0": ("pci_0000_01_00_0", "pci_0000_01_00_1"),
    "pci_0000_01_00_0": ("pci_0000_01_00_1",),
    "pci_0000_01_00_1": ("pci_0000_01_00_0",),
    "pci_0000_00_14_0": ("usb_usb1", "usb_usb2"),
    "usb_usb1": (),
    "usb_usb2": (),
    "pci_0000_00_1b_0": ("pci_0000_02_00_0",),
    "pci_0000_02_00_0": (),
}


@pytest.fixture
def host(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The desktop, scanned by the reader under test."""
    return scan_fixture(FIXTURE)


class TestDesktopGpu:
    """A GPU and its HDMI audio share a group with their root port."""

    def test_nodes(self, host: hp.Host) -> None:
        """Every node with its parent, group, driver and reasons, in path order."""
        actual = {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in host.devices}
        assert list(NODES.items()) == list(actual.items())

    def test_groups(self, host: hp.Host) -> None:
        """The IOMMU groups list their PCI members."""
        assert (True, GROUPS) == (host.iommu_enabled, dict(host.iommu_groups))

    def test_passthrough(self, host: hp.Host) -> None:
        """The GPU, its audio, the USB controller with empty hubs and the NVMe are eligible."""
        assert PASSTHROUGH == tuple(d.name for d in host.passthrough_devices())

    def test_passthrough_controllers(self, host: hp.Host) -> None:
        """Root ports are bridges, so include_controllers adds nothing."""
        actual = host.passthrough_devices(include_controllers=True)
        assert PASSTHROUGH == tuple(d.name for d in actual)

    def test_passthrough_caps(self, host: hp.Host) -> None:
        """Each cap keeps one kind."""
        actual = {cap: tuple(d.name for d in host.passthrough_devices(cap)) for cap in hp.KINDS}
        assert {"pci": PASSTHROUGH, "usb_device": (), "scsi": (), "mdev": ()} == actual

    def test_affected_by(self, host: hp.Host) -> None:
        """What goes with each device."""
        actual = {d.name: tuple(a.name for a in host.affected_by(d)) for d in host.devices}
        assert AFFECTED == actual

    def test_facts(self, host: hp.Host) -> None:
        """Kind-specific facts of the GPU and a root hub."""
        gpu, hub = host.device("0000:01:00.0"), host.device("usb1")
        assert (0x10DE, 0x1B81, 0x030000, 0xA1, None) == (
            gpu.vendor_id,
            gpu.product_id,
            gpu.pci and gpu.pci.class_code,
            gpu.pci and gpu.pci.revision,
            gpu.pci and gpu.pci.numa_node,
        )
        assert (
            hp.UsbInfo(
                busnum=1,
                devnum=1,
                speed="480",
                serial="0000:00:14.0",
                manufacturer="Linux 5.5.0 xhci-hcd",
                product="xHCI Host Controller",
                device_class=9,
                interface_classes=(9,),
            )
            == hub.usb
        )

    def test_no_problems(self, host: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == host.problems
