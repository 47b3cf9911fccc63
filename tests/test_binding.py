"""prepare, release and recover on the simulated kernel: exact round trips, every failure mode.

Expectations are written by hand from the fixture files (desktop-gpu: a GPU
at 0000:01:00.0 on nouveau and its audio function 0000:01:00.1 on
snd_hda_intel, in group 1 behind the root port 0000:00:01.0 on pcieport).
After every failure, the tree is compared file by file with the tree before
the call: equal, or the error says exactly what is left.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

import hostpassthru as hp
from binding_support import active, make_host, states, tree_state
from hostpassthru.testing import SimulatedKernel, live_host

GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"

PREPARE_GPU = [
    ("bus/pci/devices/0000:01:00.1/driver_override", b"vfio-pci\n"),
    ("bus/pci/drivers/snd_hda_intel/unbind", b"0000:01:00.1"),
    ("bus/pci/drivers_probe", b"0000:01:00.1"),
    ("bus/pci/devices/0000:01:00.0/driver_override", b"vfio-pci\n"),
    ("bus/pci/drivers/nouveau/unbind", b"0000:01:00.0"),
    ("bus/pci/drivers_probe", b"0000:01:00.0"),
]
RELEASE_GPU = [
    ("bus/pci/devices/0000:01:00.0/driver_override", b"nouveau\n"),
    ("bus/pci/drivers/vfio-pci/unbind", b"0000:01:00.0"),
    ("bus/pci/drivers_probe", b"0000:01:00.0"),
    ("bus/pci/devices/0000:01:00.0/driver_override", b"\n"),
    ("bus/pci/devices/0000:01:00.1/driver_override", b"snd_hda_intel\n"),
    ("bus/pci/drivers/vfio-pci/unbind", b"0000:01:00.1"),
    ("bus/pci/drivers_probe", b"0000:01:00.1"),
    ("bus/pci/devices/0000:01:00.1/driver_override", b"\n"),
]


class TestRoundTrip:
    """Prepare then release gives back the tree exactly."""

    def test_prepare_moves_the_whole_group(self, tmp_path: Path) -> None:
        """Both functions end on vfio-pci; the root port stays on pcieport."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
        assert "vfio-pci" == host.driver(GPU)
        assert "vfio-pci" == host.driver(AUDIO)
        assert "pcieport" == host.driver("0000:00:01.0")

    def test_prepare_writes_in_binding_order(self, tmp_path: Path) -> None:
        """Audio (function 1) first; override, unbind, probe for each."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
        assert PREPARE_GPU == host.kernel.writes

    def test_outcome_members(self, tmp_path: Path) -> None:
        """The outcome lists each member with where it came from and went."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            outcome = hp.prepare(GPU)
        assert [
            hp.MemberResult(
                name="pci_0000_01_00_1",
                sys_name=AUDIO,
                from_driver="snd_hda_intel",
                from_override=None,
                to_driver="vfio-pci",
                state="moved",
            ),
            hp.MemberResult(
                name="pci_0000_01_00_0",
                sys_name=GPU,
                from_driver="nouveau",
                from_override=None,
                to_driver="vfio-pci",
                state="moved",
            ),
        ] == list(outcome.members)

    def test_vfio_dev_appears(self, tmp_path: Path) -> None:
        """On vfio-pci, each function has its vfio-dev directory (Linux 6.1)."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
        assert 1 == len(os.listdir(f"{host.root}/bus/pci/devices/{GPU}/vfio-dev"))

    def test_scan_sees_the_new_drivers(self, tmp_path: Path) -> None:
        """scan() of the fake host reads the drivers and overrides the writes left."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            dev = hp.scan().device(GPU)
        assert "vfio-pci" == dev.driver
        assert "vfio-pci" == dev.pci.driver_override if dev.pci else None

    def test_release_restores_the_tree_exactly(self, tmp_path: Path) -> None:
        """Every file and link under sys/ is as before."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            hp.release(GPU)
        assert [] == host.diff()

    def test_release_writes(self, tmp_path: Path) -> None:
        """Release goes in reverse: original driver by override, unbind, probe, override back."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            host.kernel.writes.clear()
            hp.release(AUDIO)
        assert RELEASE_GPU == host.kernel.writes

    def test_release_forgets_the_journal(self, tmp_path: Path) -> None:
        """No journal is left once the set is given back."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            hp.release()
        assert [] == host.journals()

    def test_prepared_lists_the_journal(self, tmp_path: Path) -> None:
        """prepared() holds one entry with both members, in prepare order."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            entries = hp.prepared()
        assert [("pci_0000_01_00_0", "prepared", [AUDIO, GPU])] == [
            (e.id, e.phase, [m.sys_name for m in e.members]) for e in entries
        ]

    def test_a_set_override_comes_back(self, tmp_path: Path) -> None:
        """An override the device had before (here: naming its own driver) is restored."""
        host = make_host("desktop-gpu", tmp_path)
        with open(f"{host.root}/bus/pci/devices/{AUDIO}/driver_override", "w") as f:
            f.write("snd_hda_intel\n")
        host.before = tree_state(host.root)
        with active(host):
            hp.prepare(GPU)
            hp.release(GPU)
        assert [] == host.diff()

    def test_a_driverless_member_stays_driverless(self, tmp_path: Path) -> None:
        """chipset-group: 00:1f.0 and 00:1f.2 had no driver, and get none back."""
        host = make_host("chipset-group", tmp_path)
        with active(host):
            hp.prepare("0000:00:1f.3")
            on_vfio = [host.driver(a) for a in ("0000:00:1f.0", "0000:00:1f.2")]
            hp.release("0000:00:1f.3")
        assert ["vfio-pci", "vfio-pci"] == on_vfio
        assert [] == host.diff()

    def test_driver_none_unbinds_only(self, tmp_path: Path) -> None:
        """driver=None: unbind each member, write no override, probe nothing."""
        host = make_host("desktop-gpu", tmp_path, load=())
        with active(host):
            hp.prepare(GPU, driver=None)
        assert [
            ("bus/pci/drivers/snd_hda_intel/unbind", b"0000:01:00.1"),
            ("bus/pci/drivers/nouveau/unbind", b"0000:01:00.0"),
        ] == host.kernel.writes

    def test_driver_none_round_trip(self, tmp_path: Path) -> None:
        """And release binds the original drivers again, exactly."""
        host = make_host("desktop-gpu", tmp_path, load=())
        with active(host):
            hp.prepare(GPU, driver=None)
            hp.release(GPU)
        assert [] == host.diff()

    def test_pci_stub_round_trip(self, tmp_path: Path) -> None:
        """Another target driver by name."""
        host = make_host("desktop-gpu", tmp_path, load=("pci-stub",))
        with active(host):
            hp.prepare(GPU, driver="pci-stub")
            moved = host.driver(GPU)
            hp.release(GPU)
        assert "pci-stub" == moved
        assert [] == host.diff()

    def test_a_member_already_on_target_is_left_alone(self, tmp_path: Path) -> None:
        """ready-gpu-vfio: the GPU is on vfio-pci already; only its audio function moves."""
        host = make_host("ready-gpu-vfio", tmp_path, load=())
        with active(host):
            outcome = hp.prepare(GPU)
        assert {AUDIO: "moved", GPU: "unchanged"} == states(outcome)
        assert PREPARE_GPU[:3] == host.kernel.writes

    def test_a_member_already_on_target_stays_after_release(self, tmp_path: Path) -> None:
        """Release gives the audio function back and leaves the GPU on vfio-pci, as it was."""
        host = make_host("ready-gpu-vfio", tmp_path, load=())
        with active(host):
            hp.prepare(GPU)
            hp.release(GPU)
        assert [] == host.diff()

    def test_nothing_to_move_writes_no_journal(self, tmp_path: Path) -> None:
        """A group wholly on vfio-pci: no writes, no journal, both unchanged."""
        host = make_host("ready-gpu-vfio", tmp_path, load=())
        host.kernel.race_bind(AUDIO, "vfio-pci")
        with active(host):
            outcome = hp.prepare(GPU)
        assert {AUDIO: "unchanged", GPU: "unchanged"} == states(outcome)
        assert [] == host.kernel.writes
        assert [] == host.journals()

    def test_dry_run_writes_nothing(self, tmp_path: Path) -> None:
        """A dry run returns the plan's writes and makes none."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            outcome = hp.prepare(GPU, dry_run=True)
        assert PREPARE_GPU == [(w.path, w.data) for w in outcome.writes]
        assert [] == host.kernel.writes
        assert [] == host.diff()

    def test_two_devices_of_one_group_are_one_set(self, tmp_path: Path) -> None:
        """Naming both functions moves the group once."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare([GPU, AUDIO])
        assert PREPARE_GPU == host.kernel.writes

    def test_usb_device_needs_no_binding(self, tmp_path: Path) -> None:
        """A USB device: nothing to write, a note that QEMU opens it itself."""
        host = make_host("laptop-usb-sata", tmp_path, load=())
        with active(host):
            usb = next(d for d in hp.scan() if d.kind == "usb_device" and d.eligible)
            outcome = hp.prepare(usb)
        assert ["no_binding_needed"] == [
            n.code for n in outcome.notes if n.code == "no_binding_needed"
        ]
        assert [] == host.kernel.writes


class TestRefusals:
    """Pre-flight refusals write nothing; RefusedError names each."""

    def codes(self, exc: pytest.ExceptionInfo[hp.RefusedError]) -> list[str]:
        """The refusal codes of the error."""
        return [f.code for f in exc.value.refusals]

    def test_target_not_loaded(self, tmp_path: Path) -> None:
        """vfio-pci missing: refused, nothing written (the host would lose the device)."""
        host = make_host("desktop-gpu", tmp_path, load=())
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare(GPU)
        assert ["driver_not_loaded"] == self.codes(exc)
        assert [] == host.kernel.writes

    def test_load_module_loads_it_first(self, tmp_path: Path) -> None:
        """With load_module=True the driver is loaded, then the group moves."""
        host = make_host("desktop-gpu", tmp_path, load=())
        with active(host):
            hp.prepare(GPU, load_module=True)
        assert "vfio-pci" == host.driver(GPU)

    def test_bridge(self, tmp_path: Path) -> None:
        """A root port is not passed."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare("0000:00:01.0")
        assert ["not_passable"] == self.codes(exc)

    def test_iommu_off(self, tmp_path: Path) -> None:
        """laptop-usb-sata has no groups: vfio-pci is refused."""
        host = make_host("laptop-usb-sata", tmp_path)
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare("0000:00:14.0")
        assert "iommu_off" in self.codes(exc)

    def test_mounted_is_refused(self, tmp_path: Path) -> None:
        """ready-sata-root: the SATA controller holds the mounted root disk."""
        host = make_host("ready-sata-root", tmp_path)
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare("0000:00:17.0")
        assert "mounted" in self.codes(exc)

    def test_force_overrides_mounted(self, tmp_path: Path) -> None:
        """force=True turns the host-use blockers into notes."""
        host = make_host("ready-sata-root", tmp_path)
        with active(host):
            plan = hp.plan("0000:00:17.0", force=True)
        assert [] == [f.code for f in plan.refusals if f.code == "mounted"]
        assert any(n.code == "mounted" for n in plan.notes)

    def test_group_in_use(self, tmp_path: Path) -> None:
        """A process holding /dev/vfio/1 open refuses the group."""
        host = make_host("desktop-gpu", tmp_path)
        fd_dir = os.path.join(host.top, "proc", "4242", "fd")
        os.makedirs(fd_dir)
        os.symlink("/dev/vfio/1", os.path.join(fd_dir, "7"))
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare(GPU)
        assert ["group_in_use"] == self.codes(exc)
        assert "4242" in exc.value.refusals[0].message

    def test_device_in_use(self, tmp_path: Path) -> None:
        """ready-sata-root: a process holding /dev/sda open refuses its controller, even forced."""
        host = make_host("ready-sata-root", tmp_path)
        fd_dir = os.path.join(host.top, "proc", "99", "fd")
        os.makedirs(fd_dir)
        os.symlink("/dev/sda", os.path.join(fd_dir, "4"))
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare("0000:00:17.0", force=True)
        assert ["device_in_use"] == self.codes(exc)
        assert "/dev/sda is open in process 99" == exc.value.refusals[0].message

    def test_already_prepared(self, tmp_path: Path) -> None:
        """A second prepare of the group is refused: the first journal keeps the originals."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            with pytest.raises(hp.RefusedError) as exc:
                hp.prepare(AUDIO)
        assert ["already_prepared", "already_prepared"] == self.codes(exc)

    def test_sriov_pf_with_vfs(self, tmp_path: Path) -> None:
        """server-sriov: the X710 PF has VFs enabled; vfio-pci would refuse it."""
        host = make_host("server-sriov", tmp_path)
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare("0000:03:00.0")
        assert ["sriov_pf_with_vfs"] == self.codes(exc)

    def test_refusal_message(self, tmp_path: Path) -> None:
        """The error says nothing was written, and why."""
        host = make_host("desktop-gpu", tmp_path, load=())
        with active(host), pytest.raises(hp.RefusedError) as exc:
            hp.prepare(GPU)
        assert str(exc.value).startswith("prepare refused, nothing written: driver_not_loaded: ")

    def test_release_not_prepared(self, tmp_path: Path) -> None:
        """Releasing a device no journal holds is a clear error."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host), pytest.raises(hp.JournalError) as exc:
            hp.release(GPU)
        assert f"{GPU}: not prepared by hostpassthru: no journal holds it" == str(exc.value)

    def test_release_while_the_vm_holds_the_group(self, tmp_path: Path) -> None:
        """Release waits for the VM: refused while /dev/vfio/1 is open."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            fd_dir = os.path.join(host.top, "proc", "77", "fd")
            os.makedirs(fd_dir)
            os.symlink("/dev/vfio/1", os.path.join(fd_dir, "3"))
            with pytest.raises(hp.RefusedError) as exc:
                hp.release(GPU)
        assert {"group_in_use"} == set(self.codes(exc))
        assert "vfio-pci" == host.driver(GPU)


class TestFailures:
    """Each failure mode of the kernel: rolled back to the tree as it was, or said what is left."""

    @pytest.mark.parametrize("code", [errno.ENODEV, errno.EBUSY, errno.EINVAL, errno.EAGAIN])
    def test_bind_error_rolls_back(self, tmp_path: Path, code: int) -> None:
        """drivers_probe binds nothing; the bind write gives the errno; everything goes back."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.probe_binds_nothing(GPU)
        host.kernel.fail("bind", GPU, code)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert code == exc.value.errno
        assert "bind" == exc.value.step
        assert GPU == exc.value.device
        assert exc.value.rolled_back
        assert [] == host.diff()
        assert [] == host.journals()

    def test_probe_binds_nothing_then_bind_works(self, tmp_path: Path) -> None:
        """drivers_probe reports success and binds nothing: the bind write does the job."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.probe_binds_nothing(GPU)
        with active(host):
            hp.prepare(GPU)
        assert "vfio-pci" == host.driver(GPU)
        assert ("bus/pci/drivers/vfio-pci/bind", b"0000:01:00.0") == host.kernel.writes[-1]

    def test_unbind_errors(self, tmp_path: Path) -> None:
        """An unbind failing (ENODEV) on the second member rolls back the first."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.fail("unbind", GPU, errno.ENODEV)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert "unbind" == exc.value.step
        assert exc.value.rolled_back
        assert [] == host.diff()

    def test_message_names_step_device_errno(self, tmp_path: Path) -> None:
        """The error says the step, the device, the errno and that it was rolled back."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.probe_binds_nothing(GPU)
        host.kernel.fail("bind", GPU, errno.EBUSY)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert (
            "prepare failed at bind of 0000:01:00.0: Device or resource busy (EBUSY); "
            "everything done was rolled back"
        ) == str(exc.value)

    def test_read_only_sysfs(self, tmp_path: Path) -> None:
        """EACCES on the first write: nothing changed, said so."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.read_only = True
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert errno.EACCES == exc.value.errno
        assert exc.value.rolled_back
        assert [] == host.diff()

    def test_racing_probe_takes_the_device(self, tmp_path: Path) -> None:
        """Another agent rebinds the host driver between unbind and probe: rolled back."""
        host = make_host("desktop-gpu", tmp_path)

        def race(kernel: SimulatedKernel, n: int, path: str, data: bytes) -> None:
            del path, data
            if n == 2:  # right after the audio function's unbind
                kernel.race_bind(AUDIO, "snd_hda_intel")

        host.kernel.after_write(race)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert "bind" == exc.value.step
        assert AUDIO == exc.value.device
        assert errno.EBUSY == exc.value.errno
        assert exc.value.rolled_back
        assert "snd_hda_intel took it instead of vfio-pci" in str(exc.value)
        assert [] == host.diff()

    def test_device_vanishes_mid_plan(self, tmp_path: Path) -> None:
        """The GPU is unplugged after the audio function moved: the audio goes back."""
        host = make_host("desktop-gpu", tmp_path)

        def unplug(kernel: SimulatedKernel, n: int, path: str, data: bytes) -> None:
            del path, data
            if n == 3:
                kernel.vanish(GPU)

        host.kernel.after_write(unplug)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert "pre-flight" == exc.value.step
        assert GPU == exc.value.device
        assert errno.ENODEV == exc.value.errno
        assert exc.value.rolled_back
        assert "snd_hda_intel" == host.driver(AUDIO)
        assert "(null)" == host.override(AUDIO)
        host.kernel.reappear(GPU)
        assert [] == host.diff()

    def test_device_reappears_as_another(self, tmp_path: Path) -> None:
        """Unplugged and replaced by another card mid-plan: refused, audio back."""
        host = make_host("desktop-gpu", tmp_path)

        def swap(kernel: SimulatedKernel, n: int, path: str, data: bytes) -> None:
            del path, data
            if n == 3:
                kernel.vanish(GPU)
                kernel.reappear(GPU, vendor=0x1002, device=0x67DF)

        host.kernel.after_write(swap)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU)
        assert "is not the one journaled" in exc.value.why
        assert "snd_hda_intel" == host.driver(AUDIO)
        assert "(null)" == host.override(AUDIO)

    def test_release_refuses_another_identity(self, tmp_path: Path) -> None:
        """A journal whose device was replaced is refused, and the journal kept."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            host.kernel.vanish(GPU)
            host.kernel.reappear(GPU, vendor=0x1002, device=0x67DF)
            with pytest.raises(hp.RefusedError) as exc:
                hp.release(GPU)
        assert ["identity_changed"] == [f.code for f in exc.value.refusals]
        assert ["pci_0000_01_00_0.json"] == host.journals()

    def test_stuck_unbind(self, tmp_path: Path) -> None:
        """An unbind held by a user past the deadline: stuck, touched no further, said so."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.hold(GPU)
        with active(host), pytest.raises(hp.BindingError) as exc:
            hp.prepare(GPU, timeout=0.05)
        assert not exc.value.rolled_back
        assert errno.ETIMEDOUT == exc.value.errno
        stuck = (
            f"{GPU} is on nouveau with driver_override vfio-pci (unbind: stuck: its unbind did "
            "not return); it had nouveau"
        )
        assert [stuck] == list(exc.value.left)
        assert "snd_hda_intel" == host.driver(AUDIO)
        assert "(null)" == host.override(AUDIO)
        assert {AUDIO: "rolled_back", GPU: "stuck"} == states(exc.value.outcome)

    def test_stuck_then_let_go_then_recover(self, tmp_path: Path) -> None:
        """Once the user lets go the unbind completes; recover() gives the GPU back."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.hold(GPU)
        with active(host):
            with pytest.raises(hp.BindingError):
                hp.prepare(GPU, timeout=0.05)
            host.kernel.let_go(GPU)
            hp.recover()
        assert [] == host.diff()
        assert [] == host.journals()

    def test_unbind_released_within_the_deadline(self, tmp_path: Path) -> None:
        """A user who lets go before the deadline costs a wait, not a failure."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.hold(GPU)
        timer = threading.Timer(0.05, host.kernel.let_go, args=(GPU,))
        timer.start()
        try:
            with active(host):
                hp.prepare(GPU, timeout=30)
        finally:
            timer.cancel()
        assert "vfio-pci" == host.driver(GPU)

    def test_release_failure_says_what_is_left(self, tmp_path: Path) -> None:
        """A release whose bind fails keeps the journal and names the device left."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            host.kernel.probe_binds_nothing(GPU)
            host.kernel.fail("bind", GPU, errno.EAGAIN, times=2)
            with pytest.raises(hp.BindingError) as exc:
                hp.release(GPU)
        assert not exc.value.rolled_back
        assert ["pci_0000_01_00_0.json"] == host.journals()
        assert (
            f"{GPU} is on no driver with driver_override nouveau (bind: Resource temporarily "
            "unavailable); it had nouveau"
        ) == exc.value.left[0]
        assert "snd_hda_intel" == host.driver(AUDIO)


class TestRecover:
    """recover() brings back what a journal holds, and is idempotent."""

    def test_recover_twice_changes_nothing(self, tmp_path: Path) -> None:
        """A second recover finds nothing to do and writes nothing."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            hp.recover()
            host.kernel.writes.clear()
            second = hp.recover()
        assert [] == host.kernel.writes
        assert () == second.members
        assert [] == host.diff()

    def test_recover_dry_run(self, tmp_path: Path) -> None:
        """A dry run lists the writes and makes none."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            host.kernel.writes.clear()
            outcome = hp.recover(dry_run=True)
        assert RELEASE_GPU == [(w.path, w.data) for w in outcome.writes]
        assert [] == host.kernel.writes

    def test_journal_of_another_schema_is_refused(self, tmp_path: Path) -> None:
        """A journal a later version wrote is not guessed at."""
        host = make_host("desktop-gpu", tmp_path)
        with active(host):
            hp.prepare(GPU)
            path = os.path.join(host.state_dir, "journal", "pci_0000_01_00_0.json")
            with open(path) as f:
                text = f.read().replace('"schema": 1', '"schema": 99')
            with open(path, "w") as f:
                f.write(text)
            with pytest.raises(hp.JournalError) as exc:
                hp.recover()
        assert f"{path}: written by another version of hostpassthru (schema 99)" == str(exc.value)

    def test_state_dir_from_the_environment(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """HOSTPASSTHRU_STATE_DIR moves the journal."""
        host = make_host("desktop-gpu", tmp_path)
        elsewhere = os.path.join(os.fspath(tmp_path), "state")
        monkeypatch.setenv("HOSTPASSTHRU_STATE_DIR", elsewhere)
        with active(host):
            hp.prepare(GPU)
        assert ["pci_0000_01_00_0.json"] == os.listdir(os.path.join(elsewhere, "journal"))


class TestLiveHostSeam:
    """testing.live_host restores what was there."""

    def test_nested_blocks(self, tmp_path: Path) -> None:
        """The inner block's host, then the outer's again."""
        outer = make_host("desktop-gpu", tmp_path)
        inner = make_host("chipset-group", tmp_path)
        with live_host(outer.root):
            with live_host(inner.root):
                inside = len(hp.scan())
            after = len(hp.scan())
        assert 8 == inside
        assert 9 == after


def test_one_clause_catches_every_refusal_and_failure(tmp_path: Path) -> None:
    """Prepare's and the acts' errors share two bases, so embedders catch both at once."""
    assert issubclass(hp.RefusedError, hp.ActionRefusedError)
    assert issubclass(hp.ActRefusedError, hp.ActionRefusedError)
    assert issubclass(hp.BindingError, hp.ActionFailedError)
    assert issubclass(hp.ActError, hp.ActionFailedError)
    host = make_host("desktop-gpu", tmp_path, load=())
    with active(host), pytest.raises(hp.ActionRefusedError) as exc:
        hp.prepare(GPU)
    assert "driver_not_loaded" == exc.value.refusals[0].code
