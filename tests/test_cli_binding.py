"""hostpassthru prepare, release, recover, prepared: tables, JSON, exit codes 0/4/5/6."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from binding_support import make_host
from hostpassthru._cli import main
from hostpassthru.testing import SimulatedKernel, fixture_path, live_host

GPU = "0000:01:00.0"
AUDIO = "0000:01:00.1"

DRY_RUN = """\
DEVICE        FROM           OVERRIDE  TO
0000:01:00.1  snd_hda_intel  -         vfio-pci
0000:01:00.0  nouveau        -         vfio-pci
stays with the host: pci_0000_00_01_0
notes:
  host_use_unknown (pci_0000_01_00_0): /proc was not read: mounts, swap and routes were not checked
    hint: scan with proc= (the live scan reads /proc)
writes:
  echo 'vfio-pci' > /sys/bus/pci/devices/0000:01:00.1/driver_override
  echo '0000:01:00.1' > /sys/bus/pci/drivers/snd_hda_intel/unbind
  echo '0000:01:00.1' > /sys/bus/pci/drivers_probe
  echo 'vfio-pci' > /sys/bus/pci/devices/0000:01:00.0/driver_override
  echo '0000:01:00.0' > /sys/bus/pci/drivers/nouveau/unbind
  echo '0000:01:00.0' > /sys/bus/pci/drivers_probe
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main(argv) with its exit code, stdout and stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestPrepare:
    """hostpassthru prepare on a fake host (--sysfs: acted on through a simulated kernel)."""

    def test_dry_run_on_the_recording(self, capsys: pytest.CaptureFixture[str]) -> None:
        """--replay desktop-gpu --dry-run: the GPU and its audio function, not the root port."""
        argv = ["--replay", str(fixture_path("desktop-gpu")), "prepare", GPU, "--dry-run"]
        code, out, err = run([*argv, "--load-module"], capsys)
        assert 0 == code
        assert "" == err
        assert DRY_RUN == out.replace(
            "  driver_not_loaded (pci_0000_01_00_0): vfio-pci is not loaded: it is loaded first "
            "(modprobe vfio-pci)\n",
            "",
        )

    def test_refused_exit_4(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """vfio-pci not loaded: exit 4, the refusal and its hint, nothing written."""
        host = make_host("desktop-gpu", tmp_path, load=())
        code, out, _ = run(["--sysfs", host.root, "prepare", GPU], capsys)
        assert 4 == code
        assert out.endswith(
            "refused, nothing written:\n"
            "  driver_not_loaded (pci_0000_01_00_0): the driver vfio-pci is not loaded: the "
            "devices would be left without a driver\n"
            "    hint: modprobe vfio-pci (or pass load_module=True / --load-module)\n"
        )
        assert [] == host.diff()

    def test_done_exit_0(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The plan, then the result table with each member's state."""
        host = make_host("desktop-gpu", tmp_path)
        code, out, _ = run(["--sysfs", host.root, "prepare", GPU], capsys)
        assert 0 == code
        assert out.endswith(
            "DEVICE        FROM           OVERRIDE  TO        STATE\n"
            "0000:01:00.1  snd_hda_intel  -         vfio-pci  moved\n"
            "0000:01:00.0  nouveau        -         vfio-pci  moved\n"
            "prepared (journal pci_0000_01_00_0)\n"
        )
        assert "vfio-pci" == host.driver(GPU)
        assert "vfio-pci" == host.driver(AUDIO)

    def test_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """--json: BINDING's fields."""
        host = make_host("desktop-gpu", tmp_path)
        _, out, _ = run(["--sysfs", host.root, "prepare", GPU, "--json"], capsys)
        doc = json.loads(out)
        assert {
            "schema": 1,
            "action": "prepare",
            "dry_run": False,
            "done": True,
            "rolled_back": False,
            "error": None,
            "refusals": [],
            "journals": ["pci_0000_01_00_0"],
        } == {
            k: doc[k]
            for k in (
                "schema",
                "action",
                "dry_run",
                "done",
                "rolled_back",
                "error",
                "refusals",
                "journals",
            )
        }
        assert {
            "name": "pci_0000_01_00_1",
            "sys_name": AUDIO,
            "from_driver": "snd_hda_intel",
            "from_override": None,
            "to_driver": "vfio-pci",
            "state": "moved",
        } == doc["members"][0]

    def test_refused_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A refusal as JSON: code, device, message, hint; exit 4."""
        host = make_host("desktop-gpu", tmp_path, load=())
        code, out, _ = run(["--sysfs", host.root, "prepare", GPU, "--json"], capsys)
        doc = json.loads(out)
        assert 4 == code
        assert ["driver_not_loaded"] == [r["code"] for r in doc["refusals"]]
        assert ["pci_0000_01_00_0"] == [r["device"] for r in doc["refusals"]]

    def test_unknown_device(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A device that is not there: one line, exit 1."""
        host = make_host("desktop-gpu", tmp_path)
        code, out, err = run(["--sysfs", host.root, "prepare", "0000:09:00.0"], capsys)
        assert 1 == code
        assert "" == out
        assert 1 == err.count("\n")

    def test_replay_without_dry_run(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A recording can only be planned on: a usage error, exit 2."""
        argv = ["--replay", str(fixture_path("desktop-gpu")), "prepare", GPU]
        code, _, err = run(argv, capsys)
        assert 2 == code
        assert "hostpassthru: prepare --replay shows what it would do only: add --dry-run\n" == err


class TestFailuresExitCodes:
    """5: failed and rolled back; 6: failed and not everything given back."""

    def test_failed_rolled_back_exit_5(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A bind that fails: exit 5, the error on stderr, the tree as before."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.probe_binds_nothing(GPU)
        host.kernel.fail("bind", GPU, errno.EBUSY)
        with live_host(host.root, kernel=host.kernel):
            code, _, err = run(["prepare", GPU], capsys)
        assert 5 == code
        assert (
            "hostpassthru: prepare failed at bind of 0000:01:00.0: Device or resource busy "
            "(EBUSY); everything done was rolled back\n"
        ) == err
        assert [] == host.diff()

    def test_stuck_exit_6(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An unbind past --timeout: exit 6, and the message says what is left."""
        host = make_host("desktop-gpu", tmp_path)
        host.kernel.hold(GPU)
        with live_host(host.root, kernel=host.kernel):
            code, _, err = run(["prepare", GPU, "--timeout", "0.05"], capsys)
        host.kernel.let_go(GPU)
        assert 6 == code
        assert "NOT rolled back, left as is: 0000:01:00.0 is on nouveau" in err


class TestReleaseAndFriends:
    """release, prepared, recover."""

    def test_prepared_table(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """What the journal holds, with what each device had."""
        host = make_host("desktop-gpu", tmp_path)
        run(["--sysfs", host.root, "prepare", GPU], capsys)
        code, out, _ = run(["--sysfs", host.root, "prepared"], capsys)
        assert 0 == code
        assert (
            "pci_0000_01_00_0: prepared, to vfio-pci\n"
            "DEVICE        ON        HAD            OVERRIDE HAD  STEP\n"
            "0000:01:00.1  vfio-pci  snd_hda_intel  -             moved\n"
            "0000:01:00.0  vfio-pci  nouveau        -             moved\n"
        ) == out

    def test_nothing_prepared(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """An empty journal says so."""
        host = make_host("desktop-gpu", tmp_path)
        code, out, err = run(["--sysfs", host.root, "prepared"], capsys)
        assert 0 == code
        assert "nothing is prepared\n" == out
        assert "" == err

    def test_release_all(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Release --all gives back every set; the tree is as before."""
        host = make_host("desktop-gpu", tmp_path)
        run(["--sysfs", host.root, "prepare", GPU], capsys)
        code, out, _ = run(["--sysfs", host.root, "release", "--all"], capsys)
        assert 0 == code
        assert [] == host.diff()
        assert out.endswith("given back (journal pci_0000_01_00_0)\n")

    def test_release_needs_devices_or_all(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Neither devices nor --all: a usage error."""
        host = make_host("desktop-gpu", tmp_path)
        code, out, err = run(["--sysfs", host.root, "release"], capsys)
        assert 2 == code
        assert "" == out
        assert "hostpassthru: release: name the devices, or --all\n" == err

    def test_release_not_prepared(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A device no journal holds: one line, exit 1."""
        host = make_host("desktop-gpu", tmp_path)
        code, out, err = run(["--sysfs", host.root, "release", GPU], capsys)
        assert 1 == code
        assert "" == out
        assert f"hostpassthru: {GPU}: not prepared by hostpassthru: no journal holds it\n" == err

    def test_recover_after_a_crash(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A prepare killed after 4 writes in a subprocess; recover puts it all back."""
        host = make_host("desktop-gpu", tmp_path)
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "import sys, hostpassthru as hp\n"
                    "from hostpassthru.testing import SimulatedKernel, live_host\n"
                    "k = SimulatedKernel(sys.argv[1]); k.crash_after(4)\n"
                    "with live_host(sys.argv[1], kernel=k):\n"
                    "    hp.prepare(sys.argv[2])\n"
                ),
                host.root,
                GPU,
            ],
            check=False,
            env={k: v for k, v in os.environ.items() if k != "HOSTPASSTHRU_STATE_DIR"},
        )
        assert -9 == child.returncode
        kernel = SimulatedKernel(host.root, drivers=host.kernel.drivers)
        with live_host(host.root, kernel=kernel):
            code, _, _ = run(["recover"], capsys)
        assert 0 == code
        assert [] == host.diff()

    def test_help_has_examples(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Prepare --help ends with examples."""
        with pytest.raises(SystemExit):
            main(["prepare", "--help"])
        out = capsys.readouterr().out
        assert "hostpassthru prepare 0000:01:00.0 --dry-run" in out


def test_subprocess_round_trip(tmp_path: Path) -> None:
    """The installed command, as an operator runs it, on a fake host."""
    host = make_host("desktop-gpu", tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "HOSTPASSTHRU_STATE_DIR"}
    cmd = [sys.executable, "-m", "hostpassthru", "--sysfs", host.root]
    first = subprocess.run(
        [*cmd, "prepare", GPU], capture_output=True, text=True, check=False, env=env
    )
    second = subprocess.run(
        [*cmd, "release", GPU], capture_output=True, text=True, check=False, env=env
    )
    assert 0 == first.returncode
    assert 0 == second.returncode
    assert "" == first.stderr
    assert "" == second.stderr
    assert [] == host.diff()
