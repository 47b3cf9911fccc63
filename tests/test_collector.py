"""The garbage collector pause around a scan: paused inside, restored as found."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru import _sysfs
from hostpassthru._collector import collector_paused
from hostpassthru.testing import load_recording, materialize

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def gc_restored() -> Iterator[None]:
    """Whatever a test does to the collector, the session gets it back as it was."""
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


@pytest.mark.usefixtures("gc_restored")
@pytest.mark.parametrize("enabled", [True, False])
def test_scan_leaves_collector_as_found(enabled: bool, tmp_path: Path) -> None:
    """A scan of a tree leaves the collector enabled or disabled, as it was."""
    root = materialize(load_recording("vm-virtio"), str(tmp_path))
    (gc.enable if enabled else gc.disable)()
    hp.scan(sysfs=root)
    assert enabled == gc.isenabled()


@pytest.mark.usefixtures("gc_restored")
def test_scan_reads_with_collector_paused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While the reader runs, the collector does not."""
    root = materialize(load_recording("vm-virtio"), str(tmp_path))
    seen: list[bool] = []
    read = _sysfs.read

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_sysfs, "read", spy)
    gc.enable()
    hp.scan(sysfs=root)
    assert [False] == seen


@pytest.mark.usefixtures("gc_restored")
def test_restored_after_an_error() -> None:
    """An exception inside the block still gives the collector back."""
    gc.enable()
    with pytest.raises(KeyError), collector_paused():
        raise KeyError("x")
    assert True is gc.isenabled()
