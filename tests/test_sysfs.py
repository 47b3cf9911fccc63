"""The path reader on strange, partial and racing trees, under pyfakefs (docs/semantics.md)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru import _sysfs
from hostpassthru.testing import load_recording, materialize

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyfakefs.fake_filesystem import FakeFilesystem

DESKTOP = load_recording("desktop-gpu")
GPU = "devices/pci0000:00/0000:00:01.0/0000:01:00.0"


@pytest.fixture
def root(fs: FakeFilesystem) -> str:
    """The desktop fixture on a fake filesystem."""
    del fs
    return materialize(DESKTOP, "/host")


class TestRoot:
    """The sysfs root must exist and look like sysfs."""

    def test_missing_root(self, fs: FakeFilesystem) -> None:
        """A root that does not exist raises SysfsNotFoundError naming it."""
        del fs
        with pytest.raises(hp.SysfsNotFoundError, match="/nowhere: sysfs root does not exist"):
            hp.scan(sysfs="/nowhere")

    def test_not_sysfs(self, fs: FakeFilesystem) -> None:
        """A directory without devices/ or bus/ is not a sysfs tree."""
        fs.create_dir("/home/user")
        with pytest.raises(hp.HostpassthruError, match="/home/user: not a sysfs tree"):
            hp.scan(sysfs="/home/user")

    def test_file_root(self, fs: FakeFilesystem) -> None:
        """A file is not a sysfs root."""
        fs.create_file("/etc/motd")
        with pytest.raises(hp.SysfsNotFoundError, match="is not a directory"):
            hp.scan(sysfs="/etc/motd")

    def test_pathlike_and_trailing_slash(self, root: str) -> None:
        """A Path or a trailing slash reads the same tree."""
        assert hp.scan(sysfs=root) == hp.scan(sysfs=Path(root + "/"))

    def test_bare_tree(self, fs: FakeFilesystem) -> None:
        """A tree with only devices/ is empty, not an error."""
        fs.create_dir("/bare/devices")
        host = hp.scan(sysfs="/bare")
        assert () == host.devices
        assert {} == dict(host.iommu_groups)
        assert () == host.problems


class TestAttributes:
    """Missing attributes are None; unreadable and malformed ones are said."""

    def test_missing_attribute(self, root: str) -> None:
        """A missing attribute gives None and no problem."""
        os.remove(f"{root}/{GPU}/revision")
        host = hp.scan(sysfs=root)
        gpu = host.device("0000:01:00.0")
        assert None is (gpu.pci and gpu.pci.revision)
        assert () == host.problems

    def test_unreadable_attribute(self, root: str) -> None:
        """An attribute that cannot be read gives None and a problem naming both."""
        os.remove(f"{root}/{GPU}/class")
        os.mkdir(f"{root}/{GPU}/class")
        host = hp.scan(sysfs=root)
        gpu = host.device("0000:01:00.0")
        # Linux says EISDIR when read() meets a directory; pyfakefs says EBADF.
        assert None is (gpu.pci and gpu.pci.class_code)
        assert ["0000:01:00.0: class: unreadable ("] == [
            p[: p.index("(") + 1] for p in host.problems
        ]

    def test_garbage_bytes(self, root: str) -> None:
        """Bytes that are not text never stop a scan."""
        Path(f"{root}/{GPU}/vendor").write_bytes(b"\xff\xfe\x00garbage")
        host = hp.scan(sysfs=root)
        assert None is host.device("0000:01:00.0").vendor_id
        assert 1 == len(host.problems)

    def test_driver_not_a_link(self, root: str) -> None:
        """A driver that is a plain file is no driver, and said."""
        os.remove(f"{root}/{GPU}/driver")
        Path(f"{root}/{GPU}/driver").write_text("nouveau\n")
        host = hp.scan(sysfs=root)
        assert None is host.device("0000:01:00.0").driver
        assert ("0000:01:00.0: driver: not a symlink",) == host.problems

    def test_unbound(self, root: str) -> None:
        """A device without a driver link has driver None."""
        os.remove(f"{root}/{GPU}/driver")
        assert None is hp.scan(sysfs=root).device("0000:01:00.0").driver

    def test_bad_group_name(self, root: str) -> None:
        """A group directory that is not a number is skipped, and said."""
        os.makedirs(f"{root}/kernel/iommu_groups/bogus/devices")
        host = hp.scan(sysfs=root)
        assert 5 == len(host.iommu_groups)
        assert ("kernel/iommu_groups/bogus: not a group number",) == host.problems


class TestPartialAndRacing:
    """Dangling links are ignored; vanished devices are skipped."""

    def test_dangling_bus_link(self, root: str) -> None:
        """A bus entry whose device is gone is skipped."""
        shutil.rmtree(f"{root}/{GPU}")
        host = hp.scan(sysfs=root)
        assert "pci_0000_01_00_0" not in host
        assert () == host.problems

    def test_link_leaving_the_tree(self, root: str) -> None:
        """A bus entry that points outside the root is ignored."""
        os.symlink("/elsewhere", f"{root}/bus/pci/devices/0000:09:00.0")
        assert 9 == len(hp.scan(sysfs=root))

    def test_vanishing_during_scan(self, root: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """A device removed between listing and reading is skipped."""
        # The reader's os, which pyfakefs has replaced for this test.
        reader_os = vars(_sysfs)["os"]
        real: Callable[..., int] = reader_os.open

        def racing(path: str, flags: int, mode: int = 0o777) -> int:
            if path.endswith("0000:01:00.0/class"):
                shutil.rmtree(f"{root}/{GPU}")
            return real(path, flags, mode)

        monkeypatch.setattr(reader_os, "open", racing)
        host = hp.scan(sysfs=root)
        assert "pci_0000_01_00_0" not in host
        assert 8 == len(host)

    def test_group_link_fallback(self, root: str) -> None:
        """Without kernel/iommu_groups the dangling iommu_group links still give groups."""
        shutil.rmtree(f"{root}/kernel/iommu_groups")
        fallback = hp.scan(sysfs=root)
        assert 1 == fallback.device("0000:01:00.1").iommu_group
        assert () == fallback.problems

    def test_group_fallback_equals_directory(self, fs: FakeFilesystem) -> None:
        """The link fallback gives the same host as the groups directory."""
        del fs
        root = materialize(DESKTOP, "/a")
        full = hp.scan(sysfs=root)
        shutil.rmtree(f"{root}/kernel/iommu_groups")
        assert full == hp.scan(sysfs=root)

    def test_usb_without_uevent(self, root: str) -> None:
        """Without a uevent file, a name without a colon is a USB device."""
        usb1 = f"{root}/devices/pci0000:00/0000:00:14.0/usb1"
        os.remove(f"{usb1}/uevent")
        os.remove(f"{usb1}/1-0:1.0/uevent")
        usb = hp.scan(sysfs=root).device("usb1").usb
        assert usb is not None
        assert (9,) == usb.interface_classes

    def test_unlistable_bus(self, root: str) -> None:
        """A bus directory that is a file gives no devices of that bus."""
        shutil.rmtree(f"{root}/bus/usb")
        os.makedirs(f"{root}/bus/usb")
        Path(f"{root}/bus/usb/devices").write_text("")
        assert [] == [d for d in hp.scan(sysfs=root) if d.kind == "usb_device"]

    def test_relative_path_helper(self, root: str) -> None:
        """Bus links resolve to paths relative to the root."""
        assert GPU == _sysfs.relative_path(root, f"{root}/bus/pci/devices/0000:01:00.0")
