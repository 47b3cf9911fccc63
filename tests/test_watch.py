"""hp.watch() and hostpassthru watch on fixture trees: the polling source, the CLI, asyncio."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import hostpassthru as hp
from hostpassthru.testing import materialize
from watchtree import GPU, GPU_AUDIO, STICK, STICK_RECORDING, Lines, add, rebind, remove, wait_ready


@pytest.fixture
def top(tmp_path: object) -> str:
    """The desktop-gpu fixture as a real tree at TOP/sys; returns TOP."""
    materialize("desktop-gpu", str(tmp_path))
    return str(tmp_path)


def names(devices: tuple[hp.Device, ...]) -> tuple[str, ...]:
    """The names of *devices*."""
    return tuple(d.name for d in devices)


class TestPolling:
    """hp.watch(sysfs=...): the tree is scanned anew every interval."""

    def test_a_rebind_is_one_change_of_the_driver(self, top: str) -> None:
        """A driver link that points elsewhere is one change of one field."""
        with hp.watch(f"{top}/sys", interval=0.05) as w:
            rebind(top, GPU_AUDIO, "pci", "vfio-pci")
            change = w.next_change(timeout=5)
        assert change is not None
        assert ("pci_0000_01_00_1",) == tuple(c.name for c in change.changed)
        assert ("driver",) == change.changed[0].fields
        assert "snd_hda_intel" == change.changed[0].before.driver
        assert "vfio-pci" == change.changed[0].after.driver
        assert () == change.added
        assert () == change.removed
        assert "poll" == change.cause

    def test_the_group_verdict_follows_the_drivers(self, top: str) -> None:
        """The group is judged anew: on host drivers, then ready for VFIO."""
        with hp.watch(f"{top}/sys", interval=0.05) as w:
            rebind(top, GPU_AUDIO, "pci", "vfio-pci")
            first = w.next_change(timeout=5)
            rebind(top, GPU, "pci", "vfio-pci")
            second = w.next_change(timeout=5)
        assert first is not None
        assert second is not None
        assert (1,) == tuple(g.number for g in first.groups)
        assert (
            "GPU with its audio function: pass both; on host drivers: 0000:01:00.0 (nouveau)"
            == first.groups[0].summary
        )
        assert not first.groups[0].viable
        assert "GPU with its audio function: pass both; ready for VFIO" == second.groups[0].summary
        assert second.groups[0].viable

    def test_a_usb_stick_comes_and_goes(self, top: str) -> None:
        """A USB device added, then removed."""
        with hp.watch(f"{top}/sys", interval=0.05) as w:
            add(top, STICK_RECORDING)
            plugged = w.next_change(timeout=5)
            remove(top, STICK, "usb")
            unplugged = w.next_change(timeout=5)
        assert plugged is not None
        assert unplugged is not None
        assert ("usb_1_2",) == names(plugged.added)
        assert "SanDisk Ultra" == plugged.added[0].description
        assert ("usb_1_2",) == names(unplugged.removed)
        assert () == unplugged.added
        # The stick is behind the controller: USB changes judge no IOMMU group anew.
        assert () == plugged.groups

    def test_each_change_carries_the_host_after_it(self, top: str) -> None:
        """change.host is the new host, change.previous the one before."""
        with hp.watch(f"{top}/sys", interval=0.05) as w:
            before = w.host
            add(top, STICK_RECORDING)
            change = w.next_change(timeout=5)
        assert change is not None
        assert "usb_1_2" not in before
        assert "usb_1_2" in change.host
        assert change.previous is before
        assert w.host is change.host

    def test_nothing_changes_nothing_comes(self, top: str) -> None:
        """An unchanged tree gives no change."""
        with hp.watch(f"{top}/sys", interval=0.05) as w:
            assert None is w.next_change(timeout=0.3)

    def test_a_change_right_after_the_start_is_seen(self, top: str) -> None:
        """No change is lost between the first scan and the first wait."""
        w = hp.watch(f"{top}/sys", interval=0.05)
        remove(top, GPU_AUDIO, "pci")
        change = w.next_change(timeout=5)
        w.close()
        assert change is not None
        assert ("pci_0000_01_00_1",) == names(change.removed)
        assert "GPU: passes alone; on host drivers: 0000:01:00.0 (nouveau)" == (
            change.groups[0].summary
        )

    def test_close_is_idempotent(self, top: str) -> None:
        """Closing twice is harmless."""
        w = hp.watch(f"{top}/sys")
        w.close()
        w.close()
        assert w.closed

    def test_bad_periods_are_refused(self, top: str) -> None:
        """A negative coalescing period or a zero interval is a ValueError."""
        with pytest.raises(ValueError, match="coalesce"):
            hp.watch(f"{top}/sys", coalesce=-1)
        with pytest.raises(ValueError, match="interval"):
            hp.watch(f"{top}/sys", interval=0)


def test_an_asyncio_loop_reads_changes_through_fileno(top: str) -> None:
    """loop.add_reader(w.fileno(), ...) and w.drain() deliver a change."""

    async def first_change() -> hp.Change:
        loop = asyncio.get_running_loop()
        got: asyncio.Future[hp.Change] = loop.create_future()
        with hp.watch(f"{top}/sys", interval=0.05) as w:

            def ready() -> None:
                for change in w.drain():
                    if not got.done():
                        got.set_result(change)

            loop.add_reader(w.fileno(), ready)
            try:
                rebind(top, GPU_AUDIO, "pci", None)
                return await asyncio.wait_for(got, 5)
            finally:
                loop.remove_reader(w.fileno())

    change = asyncio.run(first_change())
    assert (None,) == tuple(c.after.driver for c in change.changed)


def test_fake_host_watch_loops(fake_host: hp.testing.FakeHost) -> None:
    """An embedder's watch loop, tested with the fake_host fixture: hp.watch() polls it."""
    fake_host.add_pci("0000:00:01.0", cls=0x060400, driver="pcieport", group=1)
    with hp.watch(interval=0.05) as w:
        fake_host.add_pci(
            "0000:01:00.0", parent="0000:00:01.0", cls=0x030000, driver="nouveau", group=1
        )
        change = w.next_change(timeout=5)
    assert change is not None
    assert ("pci_0000_01_00_0",) == names(change.added)
    assert "GPU: passes alone; on host drivers: 0000:01:00.0 (nouveau)" == change.groups[0].summary


def test_a_watch_within_live_host_sees_prepare(top: str) -> None:
    """hp.prepare() on a fake host (its simulated kernel) is a change the watch reports."""
    os.makedirs(f"{top}/sys/bus/pci/drivers/vfio-pci")  # the module is loaded
    with hp.testing.live_host(f"{top}/sys"), hp.watch(interval=0.05) as w:
        hp.prepare("0000:01:00.0")
        change = w.next_change(timeout=5)
    assert change is not None
    assert [
        ("pci_0000_01_00_0", ("nouveau", "vfio-pci"), ("driver", "pci.driver_override")),
        ("pci_0000_01_00_1", ("snd_hda_intel", "vfio-pci"), ("driver", "pci.driver_override")),
    ] == [(c.name, c.values("driver"), c.fields) for c in change.changed]
    assert ["GPU with its audio function: pass both; ready for VFIO"] == [
        g.summary for g in change.groups
    ]


def _watch_command(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hostpassthru", "watch", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class TestCommand:
    """hostpassthru watch in a subprocess."""

    def test_json_one_document_per_change_then_ctrl_c_exits_0(self, top: str) -> None:
        """--json: one document per line; Ctrl-C ends it with 0 and no traceback."""
        proc = _watch_command("--json", "--sysfs", f"{top}/sys", "--interval", "0.05")
        assert proc.stdout is not None
        wait_ready(proc)
        rebind(top, GPU_AUDIO, "pci", "vfio-pci")
        line = Lines(proc.stdout).next(10)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert line is not None
        doc = json.loads(line)
        assert 1 == doc["schema"]
        assert [] == doc["added"]
        assert [] == doc["removed"]
        assert [
            {
                "name": "pci_0000_01_00_1",
                "sys_name": "0000:01:00.1",
                "fields": {"driver": {"before": "snd_hda_intel", "after": "vfio-pci"}},
            }
        ] == doc["changed"]
        assert [1] == [g["number"] for g in doc["groups"]]
        assert "GPU with its audio function: pass both" == doc["groups"][0]["verdict"]
        assert {"pci_0000_01_00_0": "nouveau"} == doc["groups"][0]["host_drivers"]
        assert 0 == proc.returncode
        assert "Traceback" not in err

    def test_human_lines(self, top: str) -> None:
        """~ for a changed device, its group's verdict indented, + for an added one."""
        proc = _watch_command("--sysfs", f"{top}/sys", "--interval", "0.05")
        assert proc.stdout is not None
        wait_ready(proc)
        lines = Lines(proc.stdout)
        rebind(top, GPU_AUDIO, "pci", "vfio-pci")
        got = [lines.next(10), lines.next(10)]
        add(top, STICK_RECORDING)
        got += [lines.next(10)]
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
        # Each line starts with the time: HH:MM:SS and a space.
        assert [
            "~ pci_0000_01_00_1  driver: snd_hda_intel -> vfio-pci",
            (
                "  group 1: GPU with its audio function: pass both; on host drivers: "
                "0000:01:00.0 (nouveau)"
            ),
            "+ usb_1_2  SanDisk Ultra  [usb]  (passthrough)",
        ] == [line[9:] if line else line for line in got]

    def test_a_closed_pipe_ends_it_quietly(self, top: str) -> None:
        """The reader goes away: exit 0, nothing on stderr."""
        proc = _watch_command("--sysfs", f"{top}/sys", "--interval", "0.05")
        assert proc.stdout is not None
        assert proc.stderr is not None
        wait_ready(proc)
        proc.stdout.close()
        rebind(top, GPU_AUDIO, "pci", "vfio-pci")
        proc.wait(timeout=10)
        assert 0 == proc.returncode
        assert "" == proc.stderr.read()

    def test_a_bad_interval_is_one_line_and_exit_2(self, top: str) -> None:
        """A usage mistake is one line on stderr and exit 2."""
        proc = _watch_command("--sysfs", f"{top}/sys", "--interval", "0")
        out, err = proc.communicate(timeout=30)
        assert 2 == proc.returncode
        assert "hostpassthru: --coalesce must be >= 0 and --interval > 0\n" == err
        assert "" == out


needs_no_udevd = pytest.mark.skipif(
    os.path.exists("/run/udev/control"), reason="udevd runs here: its events would come"
)


@needs_no_udevd
def test_udev_events_without_udevd_are_refused() -> None:
    """source="udev" where no udevd runs would never hear anything: a ValueError says so."""
    with pytest.raises(ValueError, match="use source='kernel'"):
        hp.watch(source="udev")


@needs_no_udevd
def test_the_command_refuses_udev_events_without_udevd() -> None:
    """The command with --source udev and no udevd: one line on stderr, exit 2."""
    proc = _watch_command("--source", "udev")
    out, err = proc.communicate(timeout=60)
    assert 2 == proc.returncode
    assert (
        "hostpassthru: source='udev' needs udevd, which does not run here "
        "(/run/udev/control is missing); use source='kernel' or None\n"
    ) == err
    assert "" == out


def test_the_watch_starts_quickly_enough_to_be_waited_for(top: str) -> None:
    """watch() scans at once: w.host is the fixture's nine devices."""
    # Not a speed target (BENCHMARKS.md has those): the first scan happens in watch().
    started = time.monotonic()
    with hp.watch(f"{top}/sys") as w:
        assert 9 == len(w.host)
    assert time.monotonic() - started < 60
    assert os.path.isdir(f"{top}/sys")
