"""Crashes and rivals: a process killed after any write, two managers at once, the lock.

Each child is a real process (``python -c``) acting on a fake host on disk
through a simulated kernel whose state is the tree itself, so the parent can
look at what the child left and recover it in its own process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostpassthru as hp
from binding_support import active, make_host, recover_twice
from hostpassthru._journal import StateDir
from hostpassthru.testing import SimulatedKernel, live_host

GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"

#: prepare (or release) in a child, killed with SIGKILL after the k-th write.
_CHILD = """
import json, sys
import hostpassthru as hp
from hostpassthru.testing import SimulatedKernel, live_host
root, action, device, crash, drivers = sys.argv[1:6]
table = {k: [tuple(i) for i in v] for k, v in json.loads(drivers).items()}
kernel = SimulatedKernel(root, drivers=table)
if int(crash) >= 0:
    kernel.crash_after(int(crash))
with live_host(root, kernel=kernel):
    try:
        getattr(hp, action)(device)
    except hp.HostpassthruError as exc:
        print(type(exc).__name__, exc)
        sys.exit(3)
"""


def child(
    root: str, action: str, device: str, crash: int, kernel: SimulatedKernel
) -> subprocess.Popen[str]:
    """A child running ``hp.<action>(device)`` on the fake host; killed after *crash* writes."""
    drivers = json.dumps(kernel.drivers)
    env = {k: v for k, v in os.environ.items() if k != "HOSTPASSTHRU_STATE_DIR"}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, root, action, device, str(crash), drivers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


class TestCrash:
    """SIGKILL after write k, for every k; recover() restores the host; twice changes nothing."""

    @pytest.mark.parametrize("k", range(7))
    def test_crash_during_prepare(self, tmp_path: Path, k: int) -> None:
        """The prepare of desktop-gpu's group makes 6 writes: die after each, and before all."""
        host = make_host("desktop-gpu", tmp_path)
        proc = child(host.root, "prepare", GPU, k, host.kernel)
        proc.communicate(timeout=120)
        if k < 6:
            assert -signal.SIGKILL == proc.returncode
        first, second = recover_twice(host)
        assert [] == host.diff()
        assert [] == host.journals()
        assert [] == second
        assert (k == 0) == (first == [])

    @pytest.mark.parametrize("k", range(1, 9))
    def test_crash_during_release(self, tmp_path: Path, k: int) -> None:
        """The release makes 8 writes: die after each; recover() finishes the job."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
        proc = child(host.root, "release", GPU, k, host.kernel)
        proc.communicate(timeout=120)
        if k < 8:
            assert -signal.SIGKILL == proc.returncode
        _, second = recover_twice(host)
        assert [] == host.diff()
        assert [] == host.journals()
        assert [] == second


class TestRivals:
    """Two managers at once: one wins, the other fails clearly, nothing is lost."""

    def test_two_processes_prepare_one_group(self, tmp_path: Path) -> None:
        """GPU and audio function prepared at the same moment by two processes."""
        host = make_host("desktop-gpu", tmp_path)
        first = child(host.root, "prepare", GPU, -1, host.kernel)
        second = child(host.root, "prepare", AUDIO, -1, host.kernel)
        outs = [first.communicate(timeout=120), second.communicate(timeout=120)]
        codes = sorted([first.returncode, second.returncode])
        loser = outs[0][0] if first.returncode else outs[1][0]
        assert [0, 3] == codes
        assert loser.startswith("RefusedError prepare refused, nothing written: already_prepared")
        assert "vfio-pci" == host.driver(GPU)
        assert "vfio-pci" == host.driver(AUDIO)
        assert 1 == len(host.journals())

    def test_and_the_one_journal_gives_everything_back(self, tmp_path: Path) -> None:
        """After the race, a release restores the tree exactly: nothing was lost."""
        host = make_host("desktop-gpu", tmp_path)
        first = child(host.root, "prepare", GPU, -1, host.kernel)
        second = child(host.root, "prepare", AUDIO, -1, host.kernel)
        first.communicate(timeout=120)
        second.communicate(timeout=120)
        kernel = SimulatedKernel(host.root, drivers=host.kernel.drivers)
        with live_host(host.root, kernel=kernel):
            hp.release()
        assert [] == host.diff()


_HOLD = """
import sys, time
from hostpassthru._journal import StateDir
with StateDir(sys.argv[1]).lock(5):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


class TestLock:
    """One flock serialises managers; a dead holder blocks nobody."""

    def hold(self, path: str, seconds: float) -> subprocess.Popen[str]:
        """A process that holds the lock for *seconds*; returns once it holds it."""
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD, path, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        assert "locked\n" == proc.stdout.readline()
        return proc

    def test_waiter_times_out_naming_the_holder(self, tmp_path: Path) -> None:
        """A second caller waits its timeout, then fails with the holder's pid."""
        path = os.path.join(os.fspath(tmp_path), "state")
        holder = self.hold(path, 30)
        try:
            with pytest.raises(hp.LockTimeoutError) as exc, StateDir(path).lock(0.1):
                pass
        finally:
            holder.kill()
            holder.wait()
        assert f"{path}/lock: still locked after 0.1 s (held by process {holder.pid})" == str(
            exc.value
        )

    def test_dead_holder_blocks_nobody(self, tmp_path: Path) -> None:
        """The kernel drops a killed holder's flock: the next caller gets it at once."""
        path = os.path.join(os.fspath(tmp_path), "state")
        holder = self.hold(path, 30)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        got = False
        with StateDir(path).lock(1):
            got = True
        assert got

    def test_waiter_gets_it_when_freed(self, tmp_path: Path) -> None:
        """A caller that waits long enough gets the lock after the holder ends."""
        path = os.path.join(os.fspath(tmp_path), "state")
        holder = self.hold(path, 0.2)
        start = time.monotonic()
        with StateDir(path).lock(30):
            waited = time.monotonic() - start
        holder.wait()
        assert waited < 30
