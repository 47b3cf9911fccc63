"""A small run of the benchmark's pieces, so that it never rots (no timings asserted)."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import hostpassthru as hp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import generate
from run import floor, kimchi_affected, measure, startup, startup_table, table

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, int, int]:
    """A synthetic host of a few hundred nodes on a real directory."""
    t = generate(250, str(tmp_path_factory.mktemp("bench")))
    return t.root, t.pci, t.usb, t.scsi


class TestGenerator:
    """The generator writes what it says, in a shape the library reads cleanly."""

    def test_counts(self, tree: tuple[str, int, int, int]) -> None:
        """The scan finds as many nodes of each kind as were written, without problems."""
        root, pci, usb, scsi = tree
        host = hp.scan(sysfs=root)
        kinds = [d.kind for d in host]
        assert pci == kinds.count("pci")
        assert usb == kinds.count("usb_device")
        assert scsi == kinds.count("scsi")
        assert () == host.problems

    def test_pf_links_its_vfs(self, tree: tuple[str, int, int, int]) -> None:
        """The PF's virtfnN links are written, as the kernel writes them: the scan lists 24 VFs."""
        pf = hp.scan(sysfs=tree[0]).device("0000:05:00.0")
        assert 24 == len(pf.pci.vfs if pf.pci else ())

    def test_floor_meets_every_node(self, tree: tuple[str, int, int, int]) -> None:
        """The floor loop walks the same nodes the scan returns."""
        root, pci, usb, scsi = tree
        assert pci + usb + scsi == floor(root)

    def test_shape(self, tree: tuple[str, int, int, int]) -> None:
        """GPUs go with their audio; VFs alone; an HBA with its disks; sticks with their LUN."""
        host = hp.scan(sysfs=tree[0])
        assert ("pci_0000_03_00_1",) == tuple(d.name for d in host.affected_by("0000:03:00.0"))
        assert () == host.affected_by("0000:05:02.0")
        assert 24 == len(host.affected_by("0000:06:00.0"))
        assert ("scsi_1_0_0_0",) == tuple(d.name for d in host.affected_by("1-3"))


#: The os calls that touch the tree: what the floor and the scan are compared on.
_CALLS = ("open", "readlink", "listdir", "stat", "lstat", "scandir")


def _calls(root: str, func: Callable[[], object], monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Each os call *func* makes on the tree under *root*: "call relative/path" -> times."""
    seen: Counter[str] = Counter()
    with monkeypatch.context() as patch:
        for name in _CALLS:
            real = getattr(os, name)

            def counting(
                path: Any, *args: Any, _real: Any = real, _name: str = name, **kw: Any
            ) -> Any:
                # Only calls on the tree: anything else (a file descriptor, the
                # interpreter's own files) is neither side's file operation.
                where = os.fspath(path) if isinstance(path, str | os.PathLike) else None
                if isinstance(where, str) and (where == root or where.startswith(f"{root}/")):
                    seen[f"{_name} {os.path.relpath(where, root)}"] += 1
                return _real(path, *args, **kw)

            patch.setattr(os, name, counting)
        func()
    return seen


class TestFloor:
    """The floor is fair: exactly the file operations a scan makes, building nothing."""

    def test_same_calls_on_every_node(
        self, tree: tuple[str, int, int, int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every call on a node is made by both; only the scan's look at the root differs."""
        root = tree[0]
        floor_calls = _calls(root, lambda: floor(root), monkeypatch)
        scan_calls = _calls(root, lambda: hp.scan(sysfs=root), monkeypatch)
        # check_root(), and the optional bus/mdev and class/mdev_bus (Linux 4.10+).
        only_scan = {
            "stat .": 1,
            "stat devices": 1,
            "stat bus/mdev": 1,
            "listdir bus/mdev/devices": 1,
            "stat class/mdev_bus": 1,
        }
        assert only_scan == dict(scan_calls - floor_calls)
        assert {} == dict(floor_calls - scan_calls)


class TestPeers:
    """The Kimchi peer runs over the same host, and agrees where the rules agree."""

    def test_kimchi_agrees_on_gpu_and_vf(self, tree: tuple[str, int, int, int]) -> None:
        """For a GPU and an SR-IOV VF both answers are the same."""
        host = hp.scan(sysfs=tree[0])
        for name in ("0000:03:00.0", "0000:05:02.0"):
            dev = host.device(name)
            assert [d.name for d in host.affected_by(dev)] == kimchi_affected(host, dev)

    def test_kimchi_differs_on_usb(self, tree: tuple[str, int, int, int]) -> None:
        """For a USB keyboard Kimchi takes every leaf of its controller's group; we take none."""
        host = hp.scan(sysfs=tree[0])
        dev = host.device("1-1.1")
        assert () == host.affected_by(dev)
        assert len(kimchi_affected(host, dev)) > 5


class TestMeasure:
    """One whole measurement on a small tree, and its table."""

    def test_measure(self) -> None:
        """Every figure is there, and the table has one row."""
        result = measure(200, repeat=1, kimchi_sample=20)
        report = table([result])
        assert int(result["nodes"]) >= 200  # type: ignore[call-overload]
        assert 3 == len(report.splitlines())
        for key in ("floor", "scan", "passthrough", "affected_all", "kimchi_all"):
            assert float(result[key]) > 0  # type: ignore[arg-type]
        umock = result["umockdev"]
        if isinstance(umock, dict):
            assert True is umock["same"]


class TestStartup:
    """The start-up figures: fresh processes against the bare interpreter."""

    def test_startup_table(self) -> None:
        """Every figure is there, as one row of the table."""
        report = startup_table(startup(repeat=1))
        assert 3 == len(report.splitlines())
