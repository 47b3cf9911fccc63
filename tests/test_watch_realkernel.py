"""hostpassthru watch on this machine's real kernel, with the one device tests may touch.

The virtio RNG (the ``virtio_rng`` fixture: root only, found by its ids,
locked, restored afterwards) is unbound from virtio-pci, bound back, and sent
a ``change`` uevent; the watch reports each within 2 seconds. This machine
runs no udevd, so the watch listens to the kernel's own uevents.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import hostpassthru as hp
from hostpassthru import _seam, _watch
from realkernel import write
from watchtree import Lines, wait_ready

if TYPE_CHECKING:
    from realkernel import VirtioRng


def _name(rng: VirtioRng) -> str:
    return "pci_" + rng.address.replace(":", "_").replace(".", "_")


def _driver_change(doc: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if doc is None:
        return None
    for c in doc["changed"]:
        if c["name"] == name:
            return dict(c["fields"].get("driver", {}))
    return None


def test_watch_json_reports_unbind_bind_and_change_within_2_s(virtio_rng: VirtioRng) -> None:
    """Each of the three reaches ``hostpassthru watch --json`` within 2 seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostpassthru", "watch", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        ready = wait_ready(proc)
        lines = Lines(proc.stdout)
        write(f"{virtio_rng.sysfs_dir}/driver/unbind", virtio_rng.address)
        unbound = lines.next(2)
        write("/sys/bus/pci/drivers/virtio-pci/bind", virtio_rng.address)
        bound = lines.next(2)
        write(f"{virtio_rng.sysfs_dir}/uevent", "change")
        changed = lines.next(2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    name = _name(virtio_rng)
    assert "kernel uevents" in ready
    assert {"before": "virtio-pci", "after": None} == _driver_change(
        None if unbound is None else json.loads(unbound), name
    )
    assert {"before": None, "after": "virtio-pci"} == _driver_change(
        None if bound is None else json.loads(bound), name
    )
    assert changed is not None
    assert [("change", virtio_rng.address, "virtio-pci")] == [
        (e["action"], e["sys_name"], e["driver"]) for e in json.loads(changed)["events"]
    ]
    assert 0 == proc.returncode
    assert "Traceback" not in err


def test_a_change_right_after_the_watch_starts_is_not_lost(virtio_rng: VirtioRng) -> None:
    """The monitor opens before the first scan: an unbind at once still arrives."""
    with hp.watch() as w:
        write(f"{virtio_rng.sysfs_dir}/driver/unbind", virtio_rng.address)
        change = w.next_change(timeout=5)
    assert change is not None
    assert [(_name(virtio_rng), ("virtio-pci", None))] == [
        (c.name, c.values("driver")) for c in change.changed
    ]


def test_an_overflow_rescans_instead_of_leaving_a_gap(virtio_rng: VirtioRng) -> None:
    """A receive buffer too small for a burst: the kernel drops events, the watch says so."""
    target = _seam.reading(None, None)
    with _watch.Watch(target, coalesce=0.15, interval=0.5, source="kernel", buffer_size=1) as w:
        # The smallest buffer the kernel allows holds a few uevents; 50 overflow it.
        for _ in range(50):
            write(f"{virtio_rng.sysfs_dir}/uevent", "change")
        change = w.next_change(timeout=5)
        write(f"{virtio_rng.sysfs_dir}/uevent", "change")
        after = w.next_change(timeout=5)
    assert change is not None
    assert "overflow" == change.cause
    assert after is not None
    assert "events" == after.cause
