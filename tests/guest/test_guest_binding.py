"""prepare, release and recover on a real kernel with a real IOMMU and a real vfio-pci.

The group is the two-function e1000e behind the root port. Every check of
what a device is bound to reads sysfs by hand (guestsys), never through
hostpassthru, and ``restore_problems`` is the one check that a release gave
everything back; ``TestBrokenRelease`` shows that it notices when not.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import TYPE_CHECKING

import attrs
import pytest

import hostpassthru as hp
from guest.guestsys import (
    PCI,
    driver_of,
    group_of,
    override_of,
    require_guest,
    restore_problems,
    scsi_disks_beneath,
    write,
)
from hostpassthru._kernel import LiveKernel

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

require_guest()
pytestmark = [pytest.mark.guest, pytest.mark.usefixtures("vfio_pci")]

#: The prepare of the pair: override, unbind, probe for each of its two functions.
PREPARE_WRITES = 6
#: The release: override to e1000e, unbind, probe, override cleared, for each.
RELEASE_WRITES = 8


@pytest.fixture
def state_dir(tmp_path: Path) -> str:
    """A journal directory of the test's own."""
    return str(tmp_path / "state")


@pytest.fixture
def booted_pair(pair: tuple[str, str], state_dir: str) -> Iterator[tuple[str, str]]:
    """The pair as booted; whatever a test did, it is released (or recovered) afterwards."""
    assert [] == restore_problems(pair)
    yield pair
    if hp.prepared(state_dir=state_dir):
        hp.recover(state_dir=state_dir)


@attrs.frozen
class Cycle:
    """What was seen after a prepare of one function, and after the release of the group."""

    outcome: hp.Outcome
    prepared_drivers: tuple[str | None, ...]
    prepared_overrides: tuple[str | None, ...]
    vfio_node_after_prepare: bool
    journals_after_prepare: int
    check_after_prepare: str
    release: hp.Outcome
    problems_after_release: list[str]
    vfio_node_after_release: bool
    journals_after_release: int


@pytest.fixture(scope="class")
def cycle(pair: tuple[str, str], vfio_pci: None, tmp_path_factory: pytest.TempPathFactory) -> Cycle:
    """prepare(function 0), look, release(), look: once for the class (each step costs)."""
    del vfio_pci
    assert [] == restore_problems(pair)
    state = str(tmp_path_factory.mktemp("cycle") / "state")
    node = f"/dev/vfio/{group_of(pair[0])}"
    try:
        outcome = hp.prepare(pair[0], state_dir=state)
        seen = (
            tuple(driver_of(a) for a in pair),
            tuple(override_of(a) for a in pair),
            os.path.exists(node),
            len(hp.prepared(state_dir=state)),
            hp.check(pair[1]).verdict,
        )
        release = hp.release(pair[0], state_dir=state)
    finally:
        if hp.prepared(state_dir=state):
            hp.recover(state_dir=state)
    return Cycle(
        outcome,
        *seen,
        release=release,
        problems_after_release=restore_problems(pair),
        vfio_node_after_release=os.path.exists(node),
        journals_after_release=len(hp.prepared(state_dir=state)),
    )


class TestPlan:
    """The plan for one function of the pair: both functions, in BINDING's order."""

    def test_members(self, pair: tuple[str, str]) -> None:
        """Function 1 first, then function 0 (the slot's function goes last)."""
        assert (pair[1], pair[0]) == tuple(m.sys_name for m in hp.plan(pair[0]).members)

    def test_from(self, pair: tuple[str, str]) -> None:
        """Each comes from e1000e with no override."""
        assert {("e1000e", None)} == {
            (m.from_driver, m.from_override) for m in hp.plan(pair[0]).members
        }

    def test_nothing_refuses(self, pair: tuple[str, str]) -> None:
        """No refusal: vfio-pci is loaded, nothing is mounted or routed through them."""
        assert () == hp.plan(pair[0]).refusals

    def test_writes(self, pair: tuple[str, str]) -> None:
        """Override, unbind, probe for each function."""
        assert PREPARE_WRITES == len(hp.plan(pair[0]).writes)


class TestPrepareRelease:
    """prepare of one function takes both to vfio-pci; release gives both back exactly."""

    def test_prepare_done(self, cycle: Cycle) -> None:
        """The outcome says done."""
        assert cycle.outcome.done

    def test_both_on_vfio_pci(self, cycle: Cycle) -> None:
        """Both functions were bound to vfio-pci, read from their driver links."""
        assert ("vfio-pci", "vfio-pci") == cycle.prepared_drivers

    def test_overrides_name_vfio_pci(self, cycle: Cycle) -> None:
        """Both overrides named vfio-pci while prepared."""
        assert ("vfio-pci", "vfio-pci") == cycle.prepared_overrides

    def test_vfio_group_node_appeared(self, cycle: Cycle) -> None:
        """/dev/vfio/N of the pair's group appeared."""
        assert cycle.vfio_node_after_prepare

    def test_journal_while_prepared(self, cycle: Cycle) -> None:
        """One journal holds the prepared set."""
        assert 1 == cycle.journals_after_prepare

    def test_check_says_ready(self, cycle: Cycle) -> None:
        """With the whole group on vfio-pci, check() says the other function is ready."""
        assert "ready" == cycle.check_after_prepare

    def test_release_done(self, cycle: Cycle) -> None:
        """The release says done."""
        assert cycle.release.done

    def test_given_back_exactly(self, cycle: Cycle) -> None:
        """Both back on e1000e, overrides "(null)" as they were."""
        assert [] == cycle.problems_after_release

    def test_vfio_group_node_gone(self, cycle: Cycle) -> None:
        """/dev/vfio/N went away with vfio-pci."""
        assert not cycle.vfio_node_after_release

    def test_no_journal_left(self, cycle: Cycle) -> None:
        """The journal is gone."""
        assert 0 == cycle.journals_after_release


class _CrashingKernel(LiveKernel):
    """The real kernel, but the process dies (SIGKILL) when it is about to make write k+1."""

    def __init__(self, crash_after: int) -> None:
        super().__init__("/sys")
        self.crash_after = crash_after
        self.count = 0

    def write(self, path: str, data: bytes, *, deadline: float | None = None) -> None:
        if self.count >= self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        super().write(path, data, deadline=deadline)
        self.count += 1


def _act_and_die(action: str, address: str, crash_after: int, state_dir: str) -> int:
    """Fork a child that runs ``hp.<action>(address)`` and is killed after write *crash_after*."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns into pytest
        code = 0
        try:
            getattr(hp, action)(address, state_dir=state_dir, kernel=_CrashingKernel(crash_after))
        except BaseException:  # noqa: BLE001 - any failure is the child's exit status
            code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class TestCrash:
    """A prepare or release killed after write k, for every k; recover() restores the group."""

    @pytest.mark.parametrize("k", range(PREPARE_WRITES + 1))
    def test_prepare(self, booted_pair: tuple[str, str], state_dir: str, k: int) -> None:
        """Killed after write k (k = 6: none left to make, so it finishes); then recover()."""
        status = _act_and_die("prepare", booted_pair[0], k, state_dir)
        first = hp.recover(state_dir=state_dir)
        second = hp.recover(state_dir=state_dir)
        assert (-signal.SIGKILL if k < PREPARE_WRITES else 0) == status
        assert [] == restore_problems(booted_pair)
        assert () == hp.prepared(state_dir=state_dir)
        assert () == second.writes
        assert (k == 0) == (first.writes == ())

    @pytest.mark.parametrize("k", range(RELEASE_WRITES))
    def test_release(self, booted_pair: tuple[str, str], state_dir: str, k: int) -> None:
        """Prepared, then a release killed after write k; recover() finishes the job."""
        hp.prepare(booted_pair[0], state_dir=state_dir)
        status = _act_and_die("release", booted_pair[0], k, state_dir)
        hp.recover(state_dir=state_dir)
        second = hp.recover(state_dir=state_dir)
        assert -signal.SIGKILL == status
        assert [] == restore_problems(booted_pair)
        assert () == hp.prepared(state_dir=state_dir)
        assert () == second.writes


class TestBrokenRelease:
    """The restore check is no formality: a release that leaves a function behind fails it."""

    def test_detected(self, booted_pair: tuple[str, str], state_dir: str) -> None:
        """Give back function 0 by hand and leave function 1 on vfio-pci: the check says so."""
        hp.prepare(booted_pair[0], state_dir=state_dir)
        address = booted_pair[0]
        write(f"{PCI}/{address}/driver_override", "e1000e\n")
        write("/sys/bus/pci/drivers/vfio-pci/unbind", address)
        write("/sys/bus/pci/drivers_probe", address)
        write(f"{PCI}/{address}/driver_override", "\n")
        assert [f"{booted_pair[1]}: driver vfio-pci, override vfio-pci"] == restore_problems(
            booted_pair,
        )


class TestChipsetGroup:
    """The q35 chipset group: ISA bridge, SATA, SMBus, with a disk beneath the SATA."""

    @pytest.fixture
    def mounted_disk(self, tmp_path: Path) -> Iterator[str]:
        """The SATA disk with a fresh ext4 on it, mounted under tmp_path."""
        scsi = scsi_disks_beneath("0000:00:1f.2")[0]
        block = os.listdir(f"/sys/bus/scsi/devices/{scsi}/block")[0]
        mountpoint = tmp_path / "sata"
        mountpoint.mkdir()
        subprocess.run(["mkfs.ext4", "-q", "-F", f"/dev/{block}"], check=True)
        subprocess.run(["mount", f"/dev/{block}", str(mountpoint)], check=True)
        try:
            yield block
        finally:
            subprocess.run(["umount", str(mountpoint)], check=True)

    def test_members(self) -> None:
        """The plan holds the three functions, functions other than 0 first."""
        assert ("0000:00:1f.2", "0000:00:1f.3", "0000:00:1f.0") == tuple(
            m.sys_name for m in hp.plan("0000:00:1f.2").members
        )

    def test_refused_while_mounted(self, mounted_disk: str) -> None:
        """While the disk beneath is mounted, the plan is refused for it."""
        del mounted_disk
        assert "mounted" in {r.code for r in hp.plan("0000:00:1f.2").refusals}

    def test_not_refused_for_it_unmounted(self) -> None:
        """Unmounted, that refusal is gone (others may stay: it is the chipset)."""
        assert "mounted" not in {r.code for r in hp.plan("0000:00:1f.2").refusals}
