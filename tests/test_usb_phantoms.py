"""USB character devices below an interface are no USB devices (docs/semantics.md, "Nodes").

On older kernels hiddev, cdc-wdm and vendor card readers sit below a USB
interface with ``SUBSYSTEM=usb`` in their uevent and no ``DEVTYPE``. Where a
uevent exists, ``DEVTYPE=usb_device`` alone makes a USB device; the kernel
name decides only where there is no uevent at all.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from conftest import scan_under_umockdev
from hostpassthru._recording import RecordedDevice, materialize_device
from hostpassthru.testing import FakeHost

if TYPE_CHECKING:
    from pathlib import Path

XHCI = "devices/pci0000:00/0000:00:14.0"


def _phantom(root: str, interface: str, name: str, major: int) -> None:
    """A USB character device as older kernels show it: SUBSYSTEM=usb, no DEVTYPE."""
    materialize_device(
        root,
        RecordedDevice(
            path=f"/{XHCI}/usb1/{interface}/usb/{name}",
            properties=(
                ("MAJOR", str(major)),
                ("MINOR", "0"),
                ("DEVNAME", f"usb/{name}"),
                ("SUBSYSTEM", "usb"),
            ),
            attributes=(("dev", f"{major}:0\n"),),
        ),
    )


def _host(top: Path) -> FakeHost:
    """A keyboard with hiddev0, a modem with cdc-wdm0, a card reader with its own node."""
    fake = (
        FakeHost(top)
        .add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd", group=1)
        .add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
        .add_usb("1-2", parent="usb1", interfaces=(3,))
        .add_usb("1-3", parent="usb1", vendor=0x1199, product=0x9071, interfaces=(2, 10))
        .add_usb("1-4", parent="usb1", vendor=0x0BDA, product=0x0129, interfaces=(0xFF,))
    )
    _phantom(fake.root, "1-2/1-2:1.0", "hiddev0", 180)
    _phantom(fake.root, "1-3/1-3:1.0", "cdc-wdm0", 180)
    _phantom(fake.root, "1-4/1-4:1.0", "rts5139", 189)
    return fake


def _usb_names(host: hp.Host) -> list[str]:
    return [d.name for d in host.devices if d.kind == "usb_device"]


class TestPathReader:
    """scan(sysfs=...) on trees of each shape."""

    def test_phantoms_are_no_devices(self, tmp_path: Path) -> None:
        """Only the four real USB devices are nodes."""
        host = hp.scan(sysfs=_host(tmp_path).root)
        assert ["usb_usb1", "usb_1_2", "usb_1_3", "usb_1_4"] == _usb_names(host)

    @pytest.mark.parametrize("name", ["usb_1_2", "usb_1_3", "usb_1_4"])
    def test_real_devices_stay_eligible(self, name: str, tmp_path: Path) -> None:
        """The device above a phantom is offered, not taken for its controller."""
        host = hp.scan(sysfs=_host(tmp_path).root)
        assert () == host.device(name).reasons

    def test_real_devices_have_no_children(self, tmp_path: Path) -> None:
        """The keyboard has no child node."""
        host = hp.scan(sysfs=_host(tmp_path).root)
        assert () == host.device("usb_1_2").children

    def test_list_offers_the_real_devices(self, tmp_path: Path) -> None:
        """passthrough_devices() lists the three real devices and no phantom."""
        host = hp.scan(sysfs=_host(tmp_path).root)
        assert ["usb_1_2", "usb_1_3", "usb_1_4"] == [
            d.name for d in host.passthrough_devices("usb_device")
        ]

    def test_no_uevent_uses_the_name(self, tmp_path: Path) -> None:
        """Without any uevent file, a name without a colon is a device, with one an interface."""
        fake = FakeHost(tmp_path).add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd")
        fake.add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
        fake.add_usb("1-5", parent="usb1", interfaces=(7,))
        for path in (f"{XHCI}/usb1/1-5", f"{XHCI}/usb1/1-5/1-5:1.0"):
            os.remove(f"{fake.root}/{path}/uevent")
        host = hp.scan(sysfs=fake.root)
        assert ["usb_usb1", "usb_1_5"] == _usb_names(host)
        assert (7,) == host.device("usb_1_5").usb.interface_classes  # type: ignore[union-attr]

    def test_uevent_without_devtype_is_nothing(self, tmp_path: Path) -> None:
        """A uevent without DEVTYPE makes neither a device nor an interface, whatever the name."""
        fake = FakeHost(tmp_path).add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd")
        fake.add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
        fake.add_usb("1-6", parent="usb1", interfaces=(8,))
        for path in (f"{XHCI}/usb1/1-6", f"{XHCI}/usb1/1-6/1-6:1.0"):
            with open(f"{fake.root}/{path}/uevent", "w") as f:
                f.write("BUSNUM=001\n")
        host = hp.scan(sysfs=fake.root)
        assert ["usb_usb1"] == _usb_names(host)


@pytest.mark.umockdev
def test_live_reader_agrees(tmp_path: Path) -> None:
    """The live reader (pyudev under umockdev) finds the same four USB devices."""
    fake = _host(tmp_path)
    live = scan_under_umockdev(str(tmp_path))
    assert ["usb_usb1", "usb_1_2", "usb_1_3", "usb_1_4"] == _usb_names(live)
    assert hp.scan(sysfs=fake.root) == live
