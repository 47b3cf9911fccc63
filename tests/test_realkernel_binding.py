"""prepare and release on this machine's real kernel, on its one safe device: the virtio RNG.

The CI machine has no IOMMU and no vfio-pci, so the RNG is prepared with
``driver=None`` (unbound, left driverless) and given back to its original
driver. The ``virtio_rng`` fixture skips where not root or where there is
no RNG, holds a lock against other test runs, and restores the RNG in a
``finally`` whatever happens here. The guest tier tests vfio-pci for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import hostpassthru as hp
import realkernel


def test_prepare_none_and_release(virtio_rng: realkernel.VirtioRng, tmp_path: Path) -> None:
    """Unbound through prepare, seen so by scan(), given back its driver and override."""
    state = str(tmp_path / "state")
    outcome = hp.prepare(virtio_rng.address, driver=None, state_dir=state)
    during = hp.scan().device(virtio_rng.address)
    hp.release(virtio_rng.address, state_dir=state)
    after = hp.scan().device(virtio_rng.address)
    assert [(virtio_rng.address, virtio_rng.driver, None, "moved")] == [
        (m.sys_name, m.from_driver, m.to_driver, m.state) for m in outcome.members
    ]
    assert None is during.driver
    assert virtio_rng.driver == after.driver
    assert None is (after.pci.driver_override if after.pci else "no pci facts")
    assert [] == os.listdir(os.path.join(state, "journal"))


def test_prepare_writes_only_the_unbind(virtio_rng: realkernel.VirtioRng, tmp_path: Path) -> None:
    """driver=None on the RNG: one write, the unbind from its own driver."""
    state = str(tmp_path / "state")
    outcome = hp.prepare(virtio_rng.address, driver=None, state_dir=state)
    hp.release(virtio_rng.address, state_dir=state)
    assert [(f"bus/pci/drivers/{virtio_rng.driver}/unbind", virtio_rng.address.encode())] == [
        (w.path, w.data) for w in outcome.writes
    ]


def test_recover_after_prepare(virtio_rng: realkernel.VirtioRng, tmp_path: Path) -> None:
    """recover() gives back what a journal holds, as after a crash."""
    state = str(tmp_path / "state")
    hp.prepare(virtio_rng.address, driver=None, state_dir=state)
    hp.recover(state_dir=state)
    assert virtio_rng.driver == hp.scan().device(virtio_rng.address).driver


def test_through_the_cli(virtio_rng: realkernel.VirtioRng, tmp_path: Path) -> None:
    """Hostpassthru prepare --driver none, then release, as an operator runs them."""
    state = str(tmp_path / "state")
    cmd = [sys.executable, "-m", "hostpassthru"]
    prepared = subprocess.run(
        [*cmd, "prepare", virtio_rng.address, "--driver", "none", "--state-dir", state, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    during = hp.scan().device(virtio_rng.address).driver
    released = subprocess.run(
        [*cmd, "release", virtio_rng.address, "--state-dir", state],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 == prepared.returncode
    assert "" == prepared.stderr
    assert [None] == [m["to_driver"] for m in json.loads(prepared.stdout)["members"]]
    assert None is during
    assert 0 == released.returncode
    assert "" == released.stderr
    assert virtio_rng.driver == hp.scan().device(virtio_rng.address).driver
