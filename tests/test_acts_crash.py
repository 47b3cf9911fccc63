"""A process killed after any write of an act; recover() puts the host back.

As in test_binding_processes: each child is a real process acting on a fake
host on disk through a simulated kernel whose state is the tree itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from binding_support import FakeHostState, make_host, recover_twice, tree_state
from hostpassthru.testing import SimulatedKernel, live_host

if TYPE_CHECKING:
    from pathlib import Path

_CHILD = """
import json, sys
import hostpassthru as hp
from hostpassthru.testing import SimulatedKernel, live_host
root, crash, drivers, action, *args = sys.argv[1:]
table = {k: [tuple(i) for i in v] for k, v in json.loads(drivers).items()}
kernel = SimulatedKernel(root, drivers=table)
if int(crash) >= 0:
    kernel.crash_after(int(crash))
with live_host(root, kernel=kernel):
    getattr(hp, action)(*[int(a) if a.isdigit() else a for a in args])
"""

NEW = "11111111-2222-3333-4444-555555555555"
UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"


def _run_child(host: FakeHostState, crash: int, action: str, *args: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "HOSTPASSTHRU_STATE_DIR"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            host.root,
            str(crash),
            json.dumps(host.kernel.drivers),
            action,
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    return done.returncode


def _act_journals(host: FakeHostState) -> list[str]:
    try:
        return os.listdir(os.path.join(host.state_dir, "acts"))
    except FileNotFoundError:
        return []


#: (fixture, action, arguments, writes it makes) whose undo gives the very tree back.
EXACT = [
    ("sriov-nic", "set_vfs", ("0000:3b:00.1", "2"), 1),
    ("gvtg-mdev", "create_mdev", ("0000:00:02.0", "i915-GVTg_V5_8", NEW), 1),
    ("nvidia-vgpu-vf", "set_vgpu_type", ("0000:41:00.5", "921"), 1),
]


class TestCrashThenRecover:
    """Die before the write, or after it; recover() restores; a second recover() writes nothing."""

    @pytest.mark.parametrize(
        ("fixture", "action", "args", "k"),
        [(f, a, args, k) for f, a, args, n in EXACT for k in range(n + 1)],
    )
    def test_exact(
        self, tmp_path: Path, fixture: str, action: str, args: tuple[str, ...], k: int
    ) -> None:
        """The tree is as before, file by file; no act journal is left."""
        host = make_host(fixture, tmp_path)
        code = _run_child(host, k, action, *args)
        assert -signal.SIGKILL == code
        _, second = recover_twice(host)
        assert [] == host.diff()
        assert [] == _act_journals(host)
        assert [] == second

    @pytest.mark.parametrize("k", range(3))
    def test_vgpu_change_through_zero(self, tmp_path: Path, k: int) -> None:
        """921 -> 920 is two writes (0, then 920): die after each; recover() gives 921 back."""
        host = make_host("nvidia-vgpu-vf", tmp_path)
        types = os.path.join(host.root, "bus/pci/devices/0000:41:00.4/nvidia/creatable_vgpu_types")
        with open(types, "w", encoding="utf-8") as f:
            f.write("ID    : vGPU Name\n920   : NVIDIA L4-1Q\n921   : NVIDIA L4-2Q\n")
        host.before = tree_state(host.root)
        code = _run_child(host, k, "set_vgpu_type", "0000:41:00.4", "920")
        assert -signal.SIGKILL == code
        recover_twice(host)
        assert [] == host.diff()

    @pytest.mark.parametrize("k", range(2))
    def test_vfs_off(self, tmp_path: Path, k: int) -> None:
        """4 -> 0 then a crash: recover() enables 4 VFs again, at the same addresses.

        The kernel makes new VFs: their groups and drivers are what it gives new
        ones (the lowest free group numbers, autoprobe's driver), not the old.
        """
        host = make_host("sriov-nic", tmp_path)
        before = [d.name for d in hp.scan(sysfs=host.root).devices]
        code = _run_child(host, k, "set_vfs", "0000:3b:00.0", "0")
        assert -signal.SIGKILL == code
        _, second = recover_twice(host)
        after = hp.scan(sysfs=host.root)
        assert before == [d.name for d in after.devices]
        pf = after.device("0000:3b:00.0").pci
        assert pf is not None
        assert 4 == pf.sriov_numvfs
        assert [] == second

    @pytest.mark.parametrize("k", range(2))
    def test_mdev_removed(self, tmp_path: Path, k: int) -> None:
        """remove_mdev then a crash: recover() makes it again with its UUID and type."""
        host = make_host("gvtg-mdev", tmp_path)
        code = _run_child(host, k, "remove_mdev", UUID)
        assert -signal.SIGKILL == code
        _, second = recover_twice(host)
        mdev = hp.scan(sysfs=host.root).device(UUID).mdev
        assert "i915-GVTg_V5_4" == (mdev and mdev.type_id)
        assert [] == _act_journals(host)
        assert [] == second


def test_no_act_over_a_cut_short_one(tmp_path: Path) -> None:
    """A crash left set_vfs's journal: a new act on that PF is refused until recover()."""
    host = make_host("sriov-nic", tmp_path)
    assert -signal.SIGKILL == _run_child(host, 1, "set_vfs", "0000:3b:00.0", "0")
    kernel = SimulatedKernel(host.root, drivers=host.kernel.drivers)
    with live_host(host.root, kernel=kernel), pytest.raises(hp.ActRefusedError) as info:
        hp.set_vfs("0000:3b:00.0", 2)
    assert ["act_unfinished"] == [f.code for f in info.value.refusals]
    assert [] == kernel.writes
