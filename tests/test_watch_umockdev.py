"""hostpassthru watch under umockdev: real uevents reach pyudev's monitor in the watching process.

The watch runs under umockdev-wrapper, whose preload makes libudev's netlink
socket a Unix socket under $UMOCKDEV_DIR; the test changes the fixture tree as
the kernel would and sends the uevents the kernel would (uevents.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

import uevents
from conftest import UMOCKDEV
from hostpassthru.testing import materialize
from watchtree import GPU, GPU_AUDIO, STICK, STICK_RECORDING, Lines, add, rebind, remove, wait_ready

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.umockdev

PF_DIR = "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:00.0"
PF = f"{PF_DIR}/0000:03:00.0"
#: Eight new virtual functions of the i40e in server-sriov (it has two already).
VFS = (*(f"0000:03:02.{i}" for i in range(2, 8)), "0000:03:03.0", "0000:03:03.1")


class Watcher:
    """``hostpassthru watch --json`` under umockdev-wrapper on ``TOP/sys``."""

    def __init__(self, top: str, *args: str) -> None:
        self.top = top
        self.proc = subprocess.Popen(
            [str(UMOCKDEV), sys.executable, "-m", "hostpassthru", "watch", "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "UMOCKDEV_DIR": top},
        )
        assert self.proc.stdout is not None
        self.lines = Lines(self.proc.stdout)
        self.ready = wait_ready(self.proc)

    def send(self, action: str, devpath: str, subsystem: str, **properties: str) -> None:
        """Send one uevent; exactly the one watching process receives it."""
        assert 1 == uevents.send(self.top, action, devpath, subsystem, **properties)

    def document(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next JSON document within *timeout* seconds, or None."""
        line = self.lines.next(timeout)
        return None if line is None else dict(json.loads(line))

    def stop(self) -> str:
        """Ctrl-C; returns what it wrote on stderr."""
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def watcher(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Watcher]:
    """The watch command under umockdev on the fixture named by the parameter."""
    if UMOCKDEV is None:
        if os.environ.get("HOSTPASSTHRU_REQUIRE_UMOCKDEV"):
            pytest.fail("HOSTPASSTHRU_REQUIRE_UMOCKDEV is set but umockdev-wrapper is missing")
        pytest.skip("umockdev-wrapper not installed (Debian package umockdev)")
    fixture, *args = request.param.split()
    materialize(fixture, str(tmp_path))
    w = Watcher(str(tmp_path), *args)
    try:
        yield w
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.communicate()


def names(devices: list[dict[str, Any]]) -> list[str]:
    """The names of the devices of a document."""
    return [d["name"] for d in devices]


@pytest.mark.parametrize("watcher", ["desktop-gpu"], indirect=True)
class TestDesktop:
    """The desktop-gpu fixture: a USB stick, and the GPU's audio function moving to vfio-pci."""

    def test_the_live_source_is_a_monitor(self, watcher: Watcher) -> None:
        """Under umockdev the watch listens to uevents, it does not poll."""
        # No udevd on the CI machine, so the kernel source: umockdev serves both.
        assert "uevents" in watcher.ready

    def test_a_usb_stick_is_added_then_removed(self, watcher: Watcher) -> None:
        """The add events bring the stick, the remove events take it away."""
        add(watcher.top, STICK_RECORDING)
        watcher.send("add", STICK, "usb", DEVTYPE="usb_device", DRIVER="usb")
        watcher.send("add", f"{STICK}/1-2:1.0", "usb", DEVTYPE="usb_interface")
        watcher.send("bind", f"{STICK}/1-2:1.0", "usb", DEVTYPE="usb_interface", DRIVER="usb")
        plugged = watcher.document()
        remove(watcher.top, STICK, "usb")
        watcher.send("remove", f"{STICK}/1-2:1.0", "usb", DEVTYPE="usb_interface")
        watcher.send("remove", STICK, "usb", DEVTYPE="usb_device")
        unplugged = watcher.document()
        err = watcher.stop()
        assert plugged is not None
        assert ["usb_1_2"] == names(plugged["added"])
        assert "usb" == plugged["added"][0]["driver"]
        assert ["add", "add", "bind"] == [e["action"] for e in plugged["events"]]
        assert unplugged is not None
        assert ["usb_1_2"] == names(unplugged["removed"])
        assert [] == unplugged["added"]
        assert "Traceback" not in err

    def test_the_audio_function_moves_to_vfio_and_the_group_verdict_changes(
        self, watcher: Watcher
    ) -> None:
        """The audio function on vfio-pci: its group says the GPU is still on nouveau."""
        rebind(watcher.top, GPU_AUDIO, "pci", "vfio-pci")
        watcher.send("unbind", GPU_AUDIO, "pci")
        watcher.send("bind", GPU_AUDIO, "pci", DRIVER="vfio-pci")
        audio = watcher.document()
        rebind(watcher.top, GPU, "pci", "vfio-pci")
        watcher.send("unbind", GPU, "pci")
        watcher.send("bind", GPU, "pci", DRIVER="vfio-pci")
        gpu = watcher.document()
        watcher.stop()
        assert audio is not None
        assert [
            {
                "name": "pci_0000_01_00_1",
                "sys_name": "0000:01:00.1",
                "fields": {"driver": {"before": "snd_hda_intel", "after": "vfio-pci"}},
            }
        ] == audio["changed"]
        assert [1] == [g["number"] for g in audio["groups"]]
        assert (
            "GPU with its audio function: pass both; on host drivers: 0000:01:00.0 (nouveau)"
            == audio["groups"][0]["summary"]
        )
        assert gpu is not None
        assert (
            "GPU with its audio function: pass both; ready for VFIO"
            == (gpu["groups"][0]["summary"])
        )
        assert gpu["groups"][0]["viable"]

    def test_the_driver_is_the_events_not_what_sysfs_says_later(self, watcher: Watcher) -> None:
        """The driver comes from the event's DRIVER=, not from sysfs afterwards."""
        # The tree still says snd_hda_intel (the driver changed again, say, before
        # the watch looked): the event's DRIVER= is what happened.
        watcher.send("bind", GPU_AUDIO, "pci", DRIVER="vfio-pci")
        doc = watcher.document()
        watcher.stop()
        assert doc is not None
        assert {"before": "snd_hda_intel", "after": "vfio-pci"} == (
            doc["changed"][0]["fields"]["driver"]
        )

    def test_a_change_event_that_changes_nothing_is_still_reported(self, watcher: Watcher) -> None:
        """A change uevent is reported even when the host looks the same."""
        watcher.send("change", GPU_AUDIO, "pci", DRIVER="snd_hda_intel")
        doc = watcher.document()
        watcher.stop()
        assert doc is not None
        assert [] == doc["changed"]
        assert [("change", "0000:01:00.1", "snd_hda_intel")] == [
            (e["action"], e["sys_name"], e["driver"]) for e in doc["events"]
        ]

    def test_events_of_other_subsystems_are_not_changes(self, watcher: Watcher) -> None:
        """A sound event is none of the watch's business."""
        watcher.send("change", GPU_AUDIO, "sound")
        assert None is watcher.document(timeout=1)
        watcher.stop()


def _vf_recording(address: str, group: int) -> str:
    return f"""
P: {PF_DIR}/{address}
E: DRIVER=iavf
E: PCI_SLOT_NAME={address}
E: SUBSYSTEM=pci
A: class=0x020000\\n
A: vendor=0x8086\\n
A: device=0x154c\\n
A: subsystem_vendor=0x8086\\n
A: subsystem_device=0x0000\\n
A: revision=0x02\\n
A: numa_node=0\\n
L: driver=../../../../../../bus/pci/drivers/iavf
L: iommu_group=../../../../../../kernel/iommu_groups/{group}
L: physfn=../0000:03:00.0
"""


# A coalescing period that a loaded CI machine cannot stretch a burst past.
@pytest.mark.parametrize("watcher", ["server-sriov --coalesce 1"], indirect=True)
def test_eight_vfs_at_once_are_one_change(watcher: Watcher) -> None:
    """Eight VFs created at once: one coalesced change, not eight."""
    # What the kernel does on "echo 10 > sriov_numvfs": each VF appears (add) and
    # iavf binds it (bind), one after the other, within milliseconds.
    with open(f"{watcher.top}/sys{PF}/sriov_numvfs", "w", encoding="ascii") as f:
        f.write("10\n")
    for i, address in enumerate(VFS):
        add(watcher.top, _vf_recording(address, 114 + i))
    for address in VFS:
        watcher.send("add", f"{PF_DIR}/{address}", "pci")
        watcher.send("bind", f"{PF_DIR}/{address}", "pci", DRIVER="iavf")
    doc = watcher.document()
    more = watcher.document(timeout=2.5)
    watcher.stop()
    assert doc is not None
    assert [
        "pci_0000_03_02_2",
        "pci_0000_03_02_3",
        "pci_0000_03_02_4",
        "pci_0000_03_02_5",
        "pci_0000_03_02_6",
        "pci_0000_03_02_7",
        "pci_0000_03_03_0",
        "pci_0000_03_03_1",
    ] == names(doc["added"])
    assert 16 == len(doc["events"])
    assert {"pci.sriov_numvfs": {"before": 2, "after": 10}} == next(
        c["fields"] for c in doc["changed"] if c["name"] == "pci_0000_03_00_0"
    )
    assert (
        "Ethernet controller: passes alone; on host drivers: 0000:03:02.2 (iavf)"
        == (doc["groups"][0]["summary"])
    )
    assert list(range(114, 122)) == [g["number"] for g in doc["groups"]]
    assert None is more
