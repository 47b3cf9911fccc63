"""Shared test harness: scan a shipped fixture with each reader, once per session."""

from __future__ import annotations

import base64
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from pyfakefs.fake_filesystem_unittest import Patcher

import hostpassthru as hp
import realkernel
from hostpassthru import _scan, _sysfs, _tree
from hostpassthru._records import Snapshot
from hostpassthru.testing import load_recording, materialize

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytest_plugins = ["pytester"]

# No test is timed (speed is the benchmark's job): a machine busy with other work
# must not turn hypothesis' per-example deadline into a failure.
settings.register_profile("hostpassthru", deadline=None)
settings.load_profile("hostpassthru")

#: path: scan(sysfs=...) on a real directory; pyfakefs: the same on a fake filesystem;
#: udev: the live reader (pyudev) under umockdev-wrapper, which shows the tree as /sys.
READERS = ("path", "pyfakefs", "udev")

UMOCKDEV = shutil.which("umockdev-wrapper")

_UDEV_CHILD = """
import base64, pickle, sys
from hostpassthru import _udev
sys.stdout.write(base64.b64encode(pickle.dumps(_udev.read("/sys"))).decode())
"""


def scan_under_umockdev(top: str) -> hp.Host:
    """Run the live reader under umockdev-wrapper on ``TOP/sys``; build the Host here."""
    if UMOCKDEV is None:
        if os.environ.get("HOSTPASSTHRU_REQUIRE_UMOCKDEV"):
            pytest.fail("HOSTPASSTHRU_REQUIRE_UMOCKDEV is set but umockdev-wrapper is missing")
        pytest.skip("umockdev-wrapper not installed (Debian package umockdev); .ci/run installs it")
    env = {**os.environ, "UMOCKDEV_DIR": top}
    done = subprocess.run(
        [UMOCKDEV, sys.executable, "-c", _UDEV_CHILD],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail(f"live reader under umockdev failed:\n{done.stderr}")
    snapshot = pickle.loads(base64.b64decode(done.stdout))  # noqa: S301 - our own child's output
    return _tree.build(snapshot, _scan._names(None))


def _scan_fixture(reader: str, name: str) -> hp.Host:
    recording = load_recording(name)
    if reader == "pyfakefs":
        with Patcher() as patcher:
            assert patcher.fs is not None
            return hp.scan(sysfs=materialize(recording, "/fake"))
    top = tempfile.mkdtemp(prefix=f"hostpassthru-{name}-")
    try:
        root = materialize(recording, top)
        if reader == "path":
            return hp.scan(sysfs=root)
        return scan_under_umockdev(top)
    finally:
        shutil.rmtree(top, ignore_errors=True)


_CACHE: dict[tuple[str, str], hp.Host] = {}
_SNAPSHOTS: dict[tuple[str, str], Snapshot] = {}


def _read_fixture(name: str) -> Snapshot:
    """What the path reader finds in a fixture's tree."""
    top = tempfile.mkdtemp(prefix=f"hostpassthru-{name}-")
    try:
        return _sysfs.read(materialize(load_recording(name), top))
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(params=READERS)
def reader(request: pytest.FixtureRequest) -> str:
    """Each reader in turn."""
    return str(request.param)


@pytest.fixture
def scan_fixture(reader: str) -> Callable[[str], hp.Host]:
    """Scan a shipped fixture by name with the current reader (cached per session)."""

    def scan(name: str) -> hp.Host:
        key = (reader, name)
        if "MUTANT_UNDER_TEST" in os.environ and reader == "path":
            # Under mutmut (docs/mutation.md) the builder may be the mutant: keep what
            # the reader found, but build the host anew in each test.
            if key not in _SNAPSHOTS:
                _SNAPSHOTS[key] = _read_fixture(name)
            return _tree.build(_SNAPSHOTS[key], _scan._names(None))
        if key not in _CACHE:
            _CACHE[key] = _scan_fixture(reader, name)
        return _CACHE[key]

    return scan


@pytest.fixture
def sysfs_tree(tmp_path: Path) -> Callable[[str], str]:
    """Materialise a fixture into a real temporary directory; returns its sysfs root."""

    def make(name: str) -> str:
        return materialize(load_recording(name), tmp_path / name)

    return make


@pytest.fixture
def virtio_rng() -> Iterator[realkernel.VirtioRng]:
    """This machine's virtio RNG, the one device real-kernel tests may touch.

    Skips where not root or where there is none; holds a lock against other
    test runs; gives the device back its driver and override afterwards.
    """
    with realkernel.virtio_rng_guard() as rng:
        yield rng
