"""The two readers agree: on this machine's /sys, and on every fixture under umockdev."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from conftest import scan_under_umockdev
from hostpassthru import _scan, _udev
from hostpassthru.testing import fixture_names, materialize

if TYPE_CHECKING:
    from pathlib import Path

LSPCI = shutil.which("lspci")


class TestLive:
    """The live reader on this machine."""

    @pytest.mark.live
    def test_live_equals_path_reader(self) -> None:
        """scan() and scan(sysfs="/sys") give equal hosts; only the live scan reads /proc."""
        if not os.path.isdir("/sys/bus/pci/devices"):
            pytest.skip("this machine has no /sys/bus/pci")
        live = hp.scan()
        path = hp.scan(sysfs="/sys")
        assert live == path
        assert "udev" == live.source
        assert live.proc is not None
        assert None is path.proc

    @pytest.mark.live
    def test_module_functions_scan_live(self) -> None:
        """The module-level functions scan this host when given none."""
        if not os.path.isdir("/sys/bus/pci/devices"):
            pytest.skip("this machine has no /sys/bus/pci")
        host = hp.scan()
        devices = hp.passthrough_devices()
        assert devices == host.passthrough_devices()
        for dev in devices[:3]:
            assert host.affected_by(dev) == hp.affected_by(dev.name)

    def test_fallback_without_libudev(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Where libudev cannot be loaded, scan() reads /sys itself and says so."""
        if not os.path.isdir("/sys/devices"):
            pytest.skip("this machine has no /sys")

        def broken() -> None:
            raise _udev.UdevUnavailableError("No library named udev")

        monkeypatch.setattr(_udev, "_context", broken)
        host = _scan.scan()
        assert "sysfs" == host.source
        assert host.problems[0].startswith("libudev unavailable (No library named udev)")


@pytest.mark.umockdev
class TestUnderUmockdev:
    """The live reader (pyudev) sees each fixture as /sys and agrees with the path reader."""

    @pytest.mark.parametrize("name", fixture_names())
    def test_readers_agree(self, name: str, tmp_path: Path) -> None:
        """Both readers give equal hosts for the same tree."""
        root = materialize(name, tmp_path)
        live = scan_under_umockdev(str(tmp_path))
        assert hp.scan(sysfs=root) == live
        assert "udev" == live.source


class TestLspci:
    """lspci, reading the same fake tree, sees the same PCI devices and groups."""

    @pytest.mark.parametrize("name", fixture_names())
    def test_groups_match_lspci(self, name: str, tmp_path: Path) -> None:
        """Every PCI function and its IOMMU group, as lspci -vmm prints them."""
        if LSPCI is None:
            pytest.skip("lspci not installed (Debian package pciutils); .ci/run installs it")
        root = materialize(name, tmp_path)
        if not os.path.isdir(f"{root}/bus/pci"):
            pytest.skip("no bus/pci in this tree: lspci would read this machine instead")
        out = subprocess.run(
            [LSPCI, "-D", "-vmm", "-O", f"sysfs.path={root}/bus/pci"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        expected: dict[str, int | None] = {}
        for block in out.split("\n\n"):
            slot = re.search(r"^Slot:\s*(\S+)", block, re.MULTILINE)
            if slot is None:
                continue
            group = re.search(r"^IOMMUGroup:\s*(\d+)", block, re.MULTILINE)
            expected[slot.group(1)] = None if group is None else int(group.group(1))
        host = hp.scan(sysfs=root)
        assert expected == {d.sys_name: d.iommu_group for d in host if d.kind == "pci"}
