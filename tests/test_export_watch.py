"""``export nfd --watch``: the feature file follows the host, and is refreshed before it expires.

The command runs in a subprocess on a FakeHost tree (a polling watch); the
test changes the tree and reads the file NFD would read.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from hostpassthru import _cli
from hostpassthru.testing import FakeHost, fixture_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

NS = "hostpassthru.feature.node.kubernetes.io"


def read_labels(path: Path) -> dict[str, str]:
    """The labels of a feature file (lines before the first no-label directive)."""
    text = path.read_text(encoding="utf-8")
    head = text.partition("# +no-label\n")[0]
    return dict(
        line.partition("=")[::2] for line in head.splitlines() if line and not line.startswith("#")
    )


def expiry_of(path: Path) -> str:
    """The file's expiry directive."""
    return next(
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("# +expiry-time=")
    )


def wait_for(check: Callable[[], bool], seconds: float = 10) -> bool:
    """Poll *check* until it holds or *seconds* pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
    return False


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    """One 8086:1521 function on vfio-pci, alone in its group."""
    return FakeHost(tmp_path / "host").add_pci(
        "0000:03:00.0", device=0x1521, driver="vfio-pci", group=5
    )


@pytest.fixture
def agent(host: FakeHost, tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Start ``export nfd --watch`` on the fake host with an expiry; the file it writes."""
    procs: list[subprocess.Popen[str]] = []

    def start(expiry: int) -> Path:
        out = tmp_path / "features.d"
        out.mkdir()
        argv = [sys.executable, "-m", "hostpassthru", "--sysfs", host.root, "export", "nfd"]
        argv += ["--watch", "-o", str(out), "--expiry", str(expiry)]
        procs.append(subprocess.Popen(argv, stderr=subprocess.PIPE, text=True))
        return out / "hostpassthru"

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_follows_the_host(host: FakeHost, agent: Callable[[int], Path]) -> None:
    """A second function appears: the counts are rewritten without a restart."""
    path = agent(3600)
    assert wait_for(lambda: read_labels(path)[f"{NS}/pci-8086-1521.ready"] == "1")
    host.add_pci("0000:04:00.0", device=0x1521, driver="igb", group=6)
    # A polling watch may see the device half written first; wait for the whole of it.
    expected = {"present": "2", "passable": "2", "ready": "1", "needs-preparation": "1"}
    assert wait_for(
        lambda: {k: read_labels(path)[f"{NS}/pci-8086-1521.{k}"] for k in expected} == expected
    )


def test_refreshes_before_expiry(agent: Callable[[int], Path]) -> None:
    """With nothing changing, the file is rewritten at half the expiry with a later time."""
    path = agent(2)
    assert wait_for(path.exists)
    first = expiry_of(path)
    assert wait_for(lambda: expiry_of(path) != first, seconds=5)
    stamp = dt.datetime.fromisoformat(expiry_of(path).partition("=")[2])
    assert stamp > dt.datetime.fromisoformat(first.partition("=")[2])


def test_interrupt_ends_quietly(host: FakeHost, tmp_path: Path) -> None:
    """Ctrl-C ends the watch with exit 0 and no traceback."""
    out = tmp_path / "features.d"
    out.mkdir()
    argv = [sys.executable, "-m", "hostpassthru", "--sysfs", host.root, "export", "nfd"]
    proc = subprocess.Popen([*argv, "--watch", "-o", str(out)], stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for((out / "hostpassthru").exists)
        os.kill(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 0 == proc.returncode
    assert f"hostpassthru: wrote {out}/hostpassthru (6 labels)\n" == err


def test_a_recording_is_not_watched(capsys: pytest.CaptureFixture[str]) -> None:
    """--watch on a recording is refused: it would never change."""
    argv = ["--replay", str(fixture_path("desktop-gpu")), "export", "nfd", "--watch"]
    expected = "hostpassthru: a recording does not change: --watch reads this host or --sysfs\n"
    assert 2 == _cli.main(argv)
    out, err = capsys.readouterr()
    assert "" == out
    assert expected == err
