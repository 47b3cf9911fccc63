"""Record a tree, replay the recording: the scan comes out equal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostpassthru as hp
from hostpassthru._cli import main
from hostpassthru._record import record
from hostpassthru.testing import (
    FakeHost,
    fixture_names,
    fixture_path,
    materialize,
    parse_recording,
)

if TYPE_CHECKING:
    from collections.abc import Callable

UMOCKDEV_RECORD = shutil.which("umockdev-record")


def replay(text: str, top: Path) -> hp.Host:
    """Scan the tree that a recording's text describes."""
    return hp.scan(sysfs=materialize(parse_recording(text), top))


def round_trip(root: str, top: Path) -> tuple[hp.Host, hp.Host]:
    """The scan of *root*, and the scan of its recording replayed under *top*."""
    original = hp.scan(sysfs=root)
    return original, replay(record(original).text, top)


class TestRoundTrip:
    """scan(replayed recording) == scan(original)."""

    @pytest.mark.parametrize("name", fixture_names())
    def test_fixtures(self, name: str, sysfs_tree: Callable[[str], str], tmp_path: Path) -> None:
        """Every shipped fixture survives a round trip."""
        original, replayed = round_trip(sysfs_tree(name), tmp_path / "replay")
        assert original == replayed

    @pytest.mark.live
    def test_this_machine(self, tmp_path: Path) -> None:
        """This machine's /sys survives a round trip."""
        if not os.path.isdir("/sys/bus/pci/devices"):
            pytest.skip("this machine has no /sys/bus/pci")
        original, replayed = round_trip("/sys", tmp_path)
        assert original == replayed

    @given(
        st.lists(
            st.tuples(
                st.sampled_from((0x020000, 0x030000, 0x0C0330, 0x010601, 0x060400)),
                st.one_of(st.none(), st.integers(0, 5000)),
                st.sampled_from((None, "vfio-pci", "pcieport", "xhci_hcd")),
                st.integers(0, 3),
            ),
            max_size=8,
        ),
    )
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_random_hosts(self, spec: list[tuple[int, int | None, str | None, int]]) -> None:
        """A random host built with FakeHost survives a round trip."""
        with tempfile.TemporaryDirectory() as top:
            fake = FakeHost(f"{top}/a")
            for i, (cls, group, driver, children) in enumerate(spec):
                address = f"0000:{i:02x}:00.0"
                fake.add_pci(address, cls=cls, group=group, driver=driver)
                if cls == 0x0C0330:
                    fake.add_usb(f"usb{i + 1}", parent=address, device_class=9, interfaces=(9,))
                    for j in range(children):
                        fake.add_usb(f"{i + 1}-{j + 1}", parent=f"usb{i + 1}", serial=f"S{j}")
                elif cls == 0x010601:
                    for j in range(children):
                        fake.add_scsi(
                            f"{i}:0:{j}:0", parent=address, block=f"sd{j}", generic=f"sg{j}"
                        )
            original, replayed = round_trip(fake.root, Path(top) / "b")
            assert original == replayed


class TestProcRoundTrip:
    """With /proc, a recording keeps what the readiness checks read."""

    @pytest.mark.parametrize("name", [n for n in fixture_names() if n.startswith("ready-")])
    def test_verdicts_survive(self, name: str, tmp_path: Path) -> None:
        """Every device's assessment and the IOMMU status are the same after a round trip."""
        original = hp.scan(sysfs=materialize(name, tmp_path / "a"), proc=tmp_path / "a" / "proc")
        text = record(original, proc=str(tmp_path / "a" / "proc")).text
        replayed = hp.scan(
            sysfs=materialize(parse_recording(text), tmp_path / "b"),
            proc=tmp_path / "b" / "proc",
        )
        assert [hp.check(d, host=original) for d in original] == [
            hp.check(d, host=replayed) for d in replayed
        ]
        assert hp.iommu_status(host=original) == hp.iommu_status(host=replayed)


@pytest.mark.umockdev
class TestUmockdevRecord:
    """A capture made by the real umockdev-record loads and scans."""

    def _capture(self, *args: str) -> str:
        if UMOCKDEV_RECORD is None:
            if os.environ.get("HOSTPASSTHRU_REQUIRE_UMOCKDEV"):
                pytest.fail("HOSTPASSTHRU_REQUIRE_UMOCKDEV is set but umockdev-record is missing")
            pytest.skip("umockdev-record not installed (Debian package umockdev)")
        if not os.path.isdir("/sys/bus/pci/devices"):
            pytest.skip("this machine has no /sys/bus/pci")
        done = subprocess.run(
            [UMOCKDEV_RECORD, *args], capture_output=True, text=True, check=False, timeout=300
        )
        if done.returncode != 0:
            pytest.fail(f"umockdev-record failed: {done.stderr}")
        return done.stdout

    def test_all(self, tmp_path: Path) -> None:
        """umockdev-record --all of this machine scans like this machine."""
        assert hp.scan(sysfs="/sys") == replay(self._capture("--all"), tmp_path)

    def test_one_device(self, tmp_path: Path) -> None:
        """umockdev-record of one PCI device holds that device."""
        live = hp.scan(sysfs="/sys")
        dev = next(d for d in live if d.kind == "pci")
        replayed = replay(self._capture(f"/sys/{dev.path}"), tmp_path)
        assert dev == replayed.device(dev.name)


class TestCommands:
    """hostpassthru record, --anonymize and --replay."""

    def test_record_and_replay(
        self, sysfs_tree: Callable[[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every command says the same of a recording as of the tree it was made from."""
        root = sysfs_tree("desktop-gpu")
        out = tmp_path / "desktop.umockdev"
        assert 0 == main(["record", "--sysfs", root, "-o", str(out)])
        capsys.readouterr()
        for command in (["list", "--all"], ["tree"], ["groups"], ["show", "usb1"]):
            main([*command, "--sysfs", root])
            direct = capsys.readouterr()
            main([*command, "--replay", str(out)])
            assert direct == capsys.readouterr()

    def test_record_to_stdout(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without -o the recording goes to stdout."""
        assert 0 == main(["record", "--sysfs", sysfs_tree("desktop-gpu")])
        out = capsys.readouterr().out
        assert out.startswith("P: /devices/")
        assert 7 == out.count("\nA: class=")

    def test_anonymize(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Serial numbers become stable placeholders, and stderr says which."""
        fake = (
            FakeHost(tmp_path / "host")
            .add_pci("0000:00:14.0", cls=0x0C0330)
            .add_usb("usb1", parent="0000:00:14.0", device_class=9, serial="0000:00:14.0")
            .add_usb("1-1", parent="usb1", serial="AA11BB22")
            .add_usb("1-2", parent="usb1", serial="CC33")
        )
        assert 0 == main(["record", "--anonymize", "--sysfs", fake.root])
        out, err = capsys.readouterr()
        serials = [line for line in out.splitlines() if line.startswith("A: serial=")]
        assert [
            "A: serial=0000:00:14.0\\n",
            "A: serial=ANON-SERIAL-1\\n",
            "A: serial=ANON-SERIAL-2\\n",
        ] == serials
        assert [
            "hostpassthru: anonymized the serial of usb_1_1, as ANON-SERIAL-1",
            "hostpassthru: anonymized the serial of usb_1_2, as ANON-SERIAL-2",
        ] == err.splitlines()

    def test_replay_errors(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A missing or malformed recording: one line, exit 1; with --sysfs: usage error."""
        bad = tmp_path / "bad.umockdev"
        bad.write_text("P: /devices/x\nX: what\n")
        codes = [main(["list", "--replay", str(tmp_path / "none.umockdev")])]
        codes.append(main(["list", "--replay", str(bad)]))
        err = capsys.readouterr().err.splitlines()
        with pytest.raises(SystemExit) as info:
            main(["list", "--replay", str(bad), "--sysfs", "/sys"])
        assert [1, 1] == codes
        assert 2 == len(err)
        assert 2 == info.value.code
        assert f"{bad}:2: not a recording line: 'X: what'" in err[1]


def test_replay_does_not_import_testing(tmp_path: Path) -> None:
    """--replay reads recordings with the library's own module, not the test support."""
    recording = tmp_path / "vm.umockdev"
    shutil.copy(fixture_path("vm-virtio"), recording)
    child = (
        "import sys\n"
        "from hostpassthru._cli import main\n"
        f"main(['--replay', {str(recording)!r}, 'list'])\n"
        "print('hostpassthru.testing' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child], capture_output=True, text=True, check=True, timeout=60
    )
    assert "False" == done.stdout.splitlines()[-1]
