"""The layers under prepare: the write layer, the journal, the simulated kernel, plans."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

import hostpassthru as hp
import hostpassthru.testing
from binding_support import make_host
from hostpassthru._journal import JournalEntry, JournalMember, StateDir
from hostpassthru._kernel import LiveKernel, write_once
from hostpassthru._plan import BindingFacts, make_plan, restore_writes


class TestLiveKernel:
    """One write(2) per call, the kernel's errno, a deadline through a child process."""

    def test_one_write(self, tmp_path: Path) -> None:
        """The bytes arrive whole, relative to the sysfs root."""
        root = os.fspath(tmp_path)
        with open(os.path.join(root, "attr"), "w") as f:
            f.write("old")
        LiveKernel(root).write("attr", b"new\n")
        with open(os.path.join(root, "attr"), "rb") as f:
            assert b"new\n" == f.read()

    def test_errno_and_path(self, tmp_path: Path) -> None:
        """A missing file: ENOENT, naming the full path."""
        root = os.fspath(tmp_path)
        with pytest.raises(OSError, match="No such file") as exc:
            write_once(os.path.join(root, "nope", "attr"), b"x")
        assert errno.ENOENT == exc.value.errno
        assert os.path.join(root, "nope", "attr") == exc.value.filename

    def test_errno_through_the_child(self, tmp_path: Path) -> None:
        """With a deadline the write runs in a child; its errno comes back."""
        with pytest.raises(OSError, match="No such file") as exc:
            LiveKernel(os.fspath(tmp_path)).write("nope/attr", b"x", deadline=5)
        assert errno.ENOENT == exc.value.errno

    def test_deadline(self, tmp_path: Path) -> None:
        """A write that blocks (a FIFO nobody reads) gives up at the deadline."""
        root = os.fspath(tmp_path)
        fifo = os.path.join(root, "unbind")
        os.mkfifo(fifo)
        kernel = LiveKernel(root)
        try:
            with pytest.raises(hp.WriteTimeoutError) as exc:
                kernel.write("unbind", b"0000:01:00.0", deadline=0.1)
        finally:
            # Let the blocked child finish: open the FIFO for reading, once.
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
            threading.Timer(1.0, os.close, args=(fd,)).start()
        assert f"{fifo}: the write did not return within 0.1 s" == str(exc.value)

    def test_fifo_is_a_fifo(self, tmp_path: Path) -> None:
        """The deadline test's blocking file really is a FIFO."""
        fifo = os.path.join(os.fspath(tmp_path), "f")
        os.mkfifo(fifo)
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def _entry(state: str = "pending") -> JournalEntry:
    return JournalEntry(
        id="pci_0000_01_00_0",
        device="pci_0000_01_00_0",
        driver="vfio-pci",
        sysfs="/sys",
        created=1.5,
        phase="preparing",
        members=(
            JournalMember(
                name="pci_0000_01_00_0",
                sys_name="0000:01:00.0",
                path="devices/pci0000:00/0000:00:01.0/0000:01:00.0",
                vendor_id=0x10DE,
                product_id=0x1B81,
                subsystem_vendor_id=0x3842,
                subsystem_product_id=0x6173,
                from_driver="nouveau",
                from_module="nouveau",
                from_override=None,
                to_driver="vfio-pci",
                state=state,
            ),
        ),
    )


class TestJournal:
    """Atomic saves that read back equal; damaged files named."""

    def test_round_trip(self, tmp_path: Path) -> None:
        """What is saved is read back equal."""
        state = StateDir(tmp_path)
        state.save(_entry())
        assert (_entry(),) == state.entries()

    def test_save_replaces(self, tmp_path: Path) -> None:
        """A second save of the same id replaces the first; no temporary file is left."""
        state = StateDir(tmp_path)
        state.save(_entry())
        state.save(_entry("override"))
        assert ["pci_0000_01_00_0.json"] == os.listdir(state.journal_dir)
        assert "override" == state.entries()[0].members[0].state

    def test_damaged_journal(self, tmp_path: Path) -> None:
        """A journal that is not JSON is an error naming the file, never skipped silently."""
        state = StateDir(tmp_path)
        os.makedirs(state.journal_dir)
        path = os.path.join(state.journal_dir, "x.json")
        with open(path, "w") as f:
            f.write("{not json")
        with pytest.raises(hp.JournalError) as exc:
            state.entries()
        assert str(exc.value).startswith(f"{path}: not a hostpassthru journal")

    def test_unwritable_state_dir(self, tmp_path: Path) -> None:
        """A state directory that cannot be made: JournalError naming it."""
        blocker = os.path.join(os.fspath(tmp_path), "file")
        with open(blocker, "w"):
            pass
        with pytest.raises(hp.JournalError) as exc:
            StateDir(os.path.join(blocker, "state")).save(_entry())
        assert "cannot write" in str(exc.value)

    def test_holding(self, tmp_path: Path) -> None:
        """The journal holding a kernel name is found; others are not."""
        state = StateDir(tmp_path)
        state.save(_entry())
        assert "pci_0000_01_00_0" == getattr(state.holding("0000:01:00.0"), "id", None)
        assert None is state.holding("0000:02:00.0")


class TestRestoreWrites:
    """From any state back to the journaled one, by hand-written cases."""

    def test_on_target(self) -> None:
        """On vfio-pci with the override set: override, unbind, probe, clear."""
        member = _entry().members[0]
        assert [
            ("override", b"nouveau\n"),
            ("unbind", b"0000:01:00.0"),
            ("probe", b"0000:01:00.0"),
            ("override", b"\n"),
        ] == [(w.step, w.data) for w in restore_writes(member, "vfio-pci", "vfio-pci")]

    def test_crashed_after_override(self) -> None:
        """Still on nouveau, override set: only the override goes back."""
        member = _entry().members[0]
        assert [("override", b"\n")] == [
            (w.step, w.data) for w in restore_writes(member, "nouveau", "vfio-pci")
        ]

    def test_crashed_after_unbind(self) -> None:
        """Driverless: override to nouveau, probe, clear; no unbind."""
        member = _entry().members[0]
        assert ["override", "probe", "override"] == [
            w.step for w in restore_writes(member, None, "vfio-pci")
        ]

    def test_as_it_was(self) -> None:
        """Nothing to do for a device as journaled."""
        assert () == restore_writes(_entry().members[0], "nouveau", None)


class TestPlans:
    """Hand-written plans for fixtures: members, order, what stays, refusals."""

    FACTS = BindingFacts(drivers={"vfio-pci": "vfio_pci"}, open_files={})

    def test_chipset_group(self, tmp_path: Path) -> None:
        """chipset-group, the audio function 00:1f.3: all four functions go, function 0 last."""
        host = hp.scan(sysfs=make_host("chipset-group", tmp_path).root)
        plan = make_plan(host, [host.device("0000:00:1f.3")], facts=self.FACTS)
        assert ["0000:00:1f.2", "0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.0"] == [
            m.sys_name for m in plan.members
        ]

    def test_chipset_group_driverless_members_are_not_unbound(self, tmp_path: Path) -> None:
        """00:1f.0 and 00:1f.2 have no driver: override and probe, no unbind."""
        host = hp.scan(sysfs=make_host("chipset-group", tmp_path).root)
        plan = make_plan(host, [host.device("0000:00:1f.3")], facts=self.FACTS)
        assert [
            ("0000:00:1f.2", "override"),
            ("0000:00:1f.2", "probe"),
            ("0000:00:1f.3", "override"),
            ("0000:00:1f.3", "unbind"),
            ("0000:00:1f.3", "probe"),
            ("0000:00:1f.4", "override"),
            ("0000:00:1f.4", "unbind"),
            ("0000:00:1f.4", "probe"),
            ("0000:00:1f.0", "override"),
            ("0000:00:1f.0", "probe"),
        ] == [(w.device, w.step) for w in plan.writes]

    def test_desktop_gpu_keeps_the_root_port(self, tmp_path: Path) -> None:
        """desktop-gpu: the root port 00:01.0 of group 1 stays, untouched."""
        host = hp.scan(sysfs=make_host("desktop-gpu", tmp_path).root)
        plan = make_plan(host, [host.device("0000:01:00.0")], facts=self.FACTS)
        assert ("pci_0000_00_01_0",) == plan.staying
        assert ["0000:01:00.1", "0000:01:00.0"] == [m.sys_name for m in plan.members]

    def test_server_sriov_vf_goes_alone(self, tmp_path: Path) -> None:
        """server-sriov: the VF 03:02.0 is alone in group 112; its PF stays on i40e."""
        host = hp.scan(sysfs=make_host("server-sriov", tmp_path).root)
        plan = make_plan(host, [host.device("0000:03:02.0")], facts=self.FACTS)
        assert ["0000:03:02.0"] == [m.sys_name for m in plan.members]
        assert ["iavf"] == [m.from_driver for m in plan.members]
        assert [] == [f.code for f in plan.refusals]

    def test_server_sriov_pf_refused(self, tmp_path: Path) -> None:
        """The X710 PF 03:00.0 has VFs enabled: refused."""
        host = hp.scan(sysfs=make_host("server-sriov", tmp_path).root)
        plan = make_plan(host, [host.device("0000:03:00.0")], facts=self.FACTS)
        assert ["sriov_pf_with_vfs"] == [f.code for f in plan.refusals]

    def test_server_sriov_two_port_nic(self, tmp_path: Path) -> None:
        """The I350's two ports share group 7: both go, port 1 first; the root port stays."""
        host = hp.scan(sysfs=make_host("server-sriov", tmp_path).root)
        plan = make_plan(host, [host.device("0000:06:00.0")], facts=self.FACTS)
        assert ["0000:06:00.1", "0000:06:00.0"] == [m.sys_name for m in plan.members]
        assert ("pci_0000_00_03_0",) == plan.staying

    def test_auto_picks_a_variant_driver(self, tmp_path: Path) -> None:
        """driver="auto": the vfio_pci: alias matching the modalias names the variant driver."""
        fake = make_host("desktop-gpu", tmp_path)
        gpu = f"{fake.root}/bus/pci/devices/0000:01:00.0/modalias"
        with open(gpu, "w") as f:
            f.write("pci:v000010DEd00001B81sv00003842sd00006173bc03sc00i00\n")
        host = hp.scan(sysfs=fake.root)
        facts = BindingFacts(
            drivers={"vfio-pci": "vfio_pci", "nvgrace_gpu_vfio_pci": "nvgrace_gpu_vfio_pci"},
            open_files={},
            vfio_aliases=(
                ("vfio_pci:v000015B3d0000101Esv*sd*bc*sc*i*", "mlx5_vfio_pci"),
                ("vfio_pci:v000010DEd00001B81sv*sd*bc*sc*i*", "nvgrace_gpu_vfio_pci"),
            ),
        )
        plan = make_plan(host, [host.device("0000:01:00.0")], driver="auto", facts=facts)
        assert {"0000:01:00.0": "nvgrace_gpu_vfio_pci", "0000:01:00.1": "vfio-pci"} == {
            m.sys_name: m.to_driver for m in plan.members
        }

    def test_auto_reads_modules_alias(self, tmp_path: Path) -> None:
        """hp.plan(driver="auto") reads the fake host's lib/modules/modules.alias."""
        fake = make_host("desktop-gpu", tmp_path)
        with open(f"{fake.root}/bus/pci/devices/0000:01:00.1/modalias", "w") as f:
            f.write("pci:v000010DEd000010F0sv00003842sd00006173bc04sc03i00\n")
        os.makedirs(f"{fake.top}/lib/modules")
        with open(f"{fake.top}/lib/modules/modules.alias", "w") as f:
            f.write(
                "alias pci:v000010DEd000010F0sv*sd*bc*sc*i* snd_hda_intel\n"
                "alias vfio_pci:v000010DEd000010F0sv*sd*bc*sc*i* fake_audio_vfio_pci\n"
            )
        with hp.testing.live_host(fake.root, kernel=fake.kernel):
            plan = hp.plan("0000:01:00.0", driver="auto")
        assert {"0000:01:00.0": "vfio-pci", "0000:01:00.1": "fake_audio_vfio_pci"} == {
            m.sys_name: m.to_driver for m in plan.members
        }


class TestCheckKnowsOverrides:
    """check() reads driver_override: a mismatch is a warning; hints name prepare."""

    def _host(self, tmp_path: Path, override: str) -> hp.Host:
        fake = make_host("desktop-gpu", tmp_path)
        with open(f"{fake.root}/bus/pci/devices/0000:01:00.1/driver_override", "w") as f:
            f.write(f"{override}\n")
        return hp.scan(sysfs=fake.root)

    def test_override_is_read(self, tmp_path: Path) -> None:
        """The model carries the override; "(null)" reads as None."""
        host = self._host(tmp_path, "vfio-pci")
        audio, gpu = host.device("0000:01:00.1").pci, host.device("0000:01:00.0").pci
        assert audio is not None
        assert gpu is not None
        assert "vfio-pci" == audio.driver_override
        assert None is gpu.driver_override

    def test_mismatch_is_a_warning(self, tmp_path: Path) -> None:
        """An override naming vfio-pci on a function bound to snd_hda_intel."""
        host = self._host(tmp_path, "vfio-pci")
        findings = [
            f for f in hp.check("0000:01:00.0", host=host).findings if f.code == "override_mismatch"
        ]
        assert [("warning", "pci_0000_01_00_1")] == [(f.severity, f.device) for f in findings]

    def test_matching_override_is_quiet(self, tmp_path: Path) -> None:
        """An override naming the bound driver says nothing."""
        host = self._host(tmp_path, "snd_hda_intel")
        codes = [f.code for f in hp.check("0000:01:00.0", host=host).findings]
        assert "override_mismatch" not in codes

    def test_host_driver_hint_names_prepare(self, tmp_path: Path) -> None:
        """The hint for a function on a host driver: the prepare command for the device checked."""
        host = self._host(tmp_path, "snd_hda_intel")
        hints = {
            f.hint for f in hp.check("0000:01:00.0", host=host).findings if f.code == "host_driver"
        }
        hint = (
            "hostpassthru prepare 0000:01:00.0 (moves its whole group to vfio-pci, journaled; "
            "hostpassthru release gives it back)"
        )
        assert {hint} == hints
