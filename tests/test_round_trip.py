"""record then --replay gives the host of the original tree, quirks of real captures included.

And umockdev's own tools load what record writes: umockdev-run -d FILE, with
the live reader inside seeing the host that --replay FILE sees.
"""

from __future__ import annotations

import base64
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostpassthru as hp
from hostpassthru import _scan, _tree
from hostpassthru._record import record
from hostpassthru.testing import FakeHost, fixture_names, materialize, parse_recording

UMOCKDEV_RUN = shutil.which("umockdev-run")
PCI_ROOT = "devices/pci0000:00"


def _replays(host: hp.Host, top: Path) -> tuple[hp.Host, hp.Host]:
    """*host* recorded, then replayed from memory and from a written tree."""
    recording = parse_recording(record(host).text)
    return _scan.replay(recording), hp.scan(sysfs=materialize(recording, top))


def _symlink(root: str, link: str, target: str) -> None:
    os.makedirs(os.path.dirname(f"{root}/{link}"), exist_ok=True)
    os.symlink(
        os.path.relpath(f"{root}/{target}", os.path.dirname(f"{root}/{link}")), f"{root}/{link}"
    )


def _quirk_root_bus_subsystem(root: str) -> None:
    """The root bus directory has a uevent and a subsystem link, and no bus/pci entry."""
    with open(f"{root}/{PCI_ROOT}/uevent", "w") as f:
        f.write("")
    _symlink(root, f"{PCI_ROOT}/subsystem", "bus/pci")


def _quirk_platform_group(root: str) -> None:
    """An IOMMU group whose only member is a platform device."""
    os.makedirs(f"{root}/devices/platform/ARMH0011:00")
    _symlink(root, "devices/platform/ARMH0011:00/iommu_group", "kernel/iommu_groups/40")
    _symlink(root, "kernel/iommu_groups/40/devices/ARMH0011:00", "devices/platform/ARMH0011:00")


def _quirk_phantom(root: str, usb_path: str, name: str) -> None:
    """A USB character device below the first interface (older kernels): no DEVTYPE."""
    base = os.path.basename(usb_path)
    path = f"{usb_path}/{base}:1.0/usb/{name}"
    os.makedirs(f"{root}/{path}")
    with open(f"{root}/{path}/uevent", "w") as f:
        f.write(f"MAJOR=180\nMINOR=0\nDEVNAME=usb/{name}\n")
    _symlink(root, f"{path}/subsystem", "bus/usb")
    _symlink(root, f"bus/usb/devices/{name}", path)


def _quirk_no_uevent(root: str, usb_path: str) -> None:
    """A USB device and its interface without uevent files: the name decides."""
    base = os.path.basename(usb_path)
    for path in (usb_path, f"{usb_path}/{base}:1.0"):
        os.remove(f"{root}/{path}/uevent")


def _quirk_reset_only(root: str, pci_path: str) -> None:
    """An older kernel's PCI device: a write-only reset file, no reset_method."""
    with open(f"{root}/{pci_path}/reset", "w") as f:
        f.write("")
    os.chmod(f"{root}/{pci_path}/reset", 0o200)


class TestQuirks:
    """Each quirk of real captures, by hand."""

    def _host(self, top: Path) -> FakeHost:
        return (
            FakeHost(top)
            .add_pci("0000:00:01.0", cls=0x060400, driver="pcieport", group=1)
            .add_pci("0000:01:00.0", parent="0000:00:01.0", cls=0x030000, group=1)
            .add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd", group=2)
            .add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
            .add_usb("1-1", parent="usb1", serial="X1")
        )

    def test_root_bus_with_subsystem_link(self, tmp_path: Path) -> None:
        """The root bus directory with a subsystem link does not become a node when replayed."""
        fake = self._host(tmp_path / "a")
        _quirk_root_bus_subsystem(fake.root)
        original = hp.scan(sysfs=fake.root)
        memory, tree = _replays(original, tmp_path / "b")
        assert "pci_pci0000_00" not in [d.name for d in memory]
        assert original == memory
        assert original == tree

    def test_platform_group(self, tmp_path: Path) -> None:
        """A group with no PCI member stays a group."""
        fake = self._host(tmp_path / "a")
        _quirk_platform_group(fake.root)
        original = hp.scan(sysfs=fake.root)
        memory, tree = _replays(original, tmp_path / "b")
        assert () == memory.iommu_groups[40]
        assert original == memory
        assert original == tree

    def test_phantom_and_no_uevent(self, tmp_path: Path) -> None:
        """A phantom stays out; a device without uevent stays in."""
        fake = self._host(tmp_path / "a")
        usb = f"{PCI_ROOT}/0000:00:14.0/usb1/1-1"
        _quirk_phantom(fake.root, usb, "hiddev0")
        _quirk_no_uevent(fake.root, usb)
        original = hp.scan(sysfs=fake.root)
        memory, tree = _replays(original, tmp_path / "b")
        assert ["usb_usb1", "usb_1_1"] == [d.name for d in memory if d.kind == "usb_device"]
        assert original == memory
        assert original == tree

    def test_reset_only(self, tmp_path: Path) -> None:
        """A device with only a write-only reset file keeps has_reset."""
        fake = self._host(tmp_path / "a")
        _quirk_reset_only(fake.root, f"{PCI_ROOT}/0000:00:01.0/0000:01:00.0")
        original = hp.scan(sysfs=fake.root)
        memory, _ = _replays(original, tmp_path / "b")
        assert True is memory.device("0000:01:00.0").pci.has_reset  # type: ignore[union-attr]
        assert original == memory


_QUIRKS = ("root_bus", "platform_group", "phantom", "no_uevent", "reset_only")


def _random_host(
    top: str, spec: list[tuple[int, int | None, str | None, int]], quirks: set[str]
) -> str:
    """A FakeHost from *spec* with *quirks* added; returns its sysfs root."""
    fake = FakeHost(top)
    usb_paths: list[str] = []
    pci_paths: list[str] = []
    for i, (cls, group, driver, children) in enumerate(spec):
        address = f"0000:{i:02x}:00.0"
        fake.add_pci(address, cls=cls, group=group, driver=driver)
        pci_paths.append(f"devices/pci0000:{i:02x}/{address}")
        if cls == 0x0C0330:
            fake.add_usb(f"usb{i + 1}", parent=address, device_class=9, interfaces=(9,))
            for j in range(children):
                fake.add_usb(f"{i + 1}-{j + 1}", parent=f"usb{i + 1}", serial=f"S{j}")
                usb_paths.append(f"{pci_paths[-1]}/usb{i + 1}/{i + 1}-{j + 1}")
        elif cls == 0x010601:
            for j in range(children):
                fake.add_scsi(f"{i}:0:{j}:0", parent=address, block=f"sd{j}", generic=f"sg{j}")
    _add_quirks(fake.root, quirks, pci_paths, usb_paths)
    return fake.root


def _add_quirks(root: str, quirks: set[str], pci_paths: list[str], usb_paths: list[str]) -> None:
    if "root_bus" in quirks and pci_paths:
        _quirk_root_bus_subsystem(root)
    if "platform_group" in quirks:
        _quirk_platform_group(root)
    if "phantom" in quirks and usb_paths:
        _quirk_phantom(root, usb_paths[0], "cdc-wdm0")
    if "no_uevent" in quirks and usb_paths:
        _quirk_no_uevent(root, usb_paths[-1])
    if "reset_only" in quirks and pci_paths:
        _quirk_reset_only(root, pci_paths[0])


@given(
    st.lists(
        st.tuples(
            st.sampled_from((0x020000, 0x030000, 0x0C0330, 0x010601, 0x060400)),
            st.one_of(st.none(), st.integers(0, 50)),
            st.sampled_from((None, "vfio-pci", "pcieport", "xhci_hcd")),
            st.integers(0, 3),
        ),
        max_size=6,
    ),
    st.sets(st.sampled_from(_QUIRKS)),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_hosts_with_quirks(
    spec: list[tuple[int, int | None, str | None, int]], quirks: set[str]
) -> None:
    """A random host with random quirks: both replays equal the original."""
    with tempfile.TemporaryDirectory() as top:
        original = hp.scan(sysfs=_random_host(f"{top}/a", spec, quirks))
        memory, tree = _replays(original, Path(top) / "b")
    assert original == memory
    assert original == tree


# umockdev's own tools.

_UDEV_CHILD = """
import base64, pickle, sys
from hostpassthru import _udev
sys.stdout.write(base64.b64encode(pickle.dumps(_udev.read("/sys"))).decode())
"""


def _umockdev_run(recording: Path, *command: str) -> subprocess.CompletedProcess[str]:
    if UMOCKDEV_RUN is None:
        if os.environ.get("HOSTPASSTHRU_REQUIRE_UMOCKDEV"):
            pytest.fail("HOSTPASSTHRU_REQUIRE_UMOCKDEV is set but umockdev-run is missing")
        pytest.skip("umockdev-run not installed (Debian package umockdev); .ci/run installs it")
    return subprocess.run(
        [UMOCKDEV_RUN, "-d", str(recording), "--", *command],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _live_under_umockdev(recording: Path) -> hp.Host:
    """The live reader (pyudev) inside umockdev-run -d RECORDING."""
    done = _umockdev_run(recording, sys.executable, "-c", _UDEV_CHILD)
    assert "" == done.stderr
    snapshot = pickle.loads(base64.b64decode(done.stdout))  # noqa: S301 - our own child's output
    return _tree.build(snapshot, _scan._names(None))


def _recorded(root: str, path: Path) -> Path:
    path.write_text(record(hp.scan(sysfs=root), proc=None).text)
    return path


@pytest.mark.umockdev
class TestUmockdev:
    """umockdev-run -d FILE loads what record writes; its live reader agrees with --replay."""

    @pytest.mark.parametrize("name", fixture_names())
    def test_loads(self, name: str, tmp_path: Path) -> None:
        """umockdev-run accepts the recording of every fixture."""
        recording = _recorded(materialize(name, tmp_path / "tree"), tmp_path / "r.umockdev")
        done = _umockdev_run(recording, "true")
        assert 0 == done.returncode
        assert "" == done.stderr

    @pytest.mark.parametrize("name", fixture_names())
    def test_live_reader_agrees(self, name: str, tmp_path: Path) -> None:
        """The live reader (pyudev) under umockdev-run sees the host --replay sees."""
        recording = _recorded(materialize(name, tmp_path / "tree"), tmp_path / "r.umockdev")
        replayed = _scan.replay(parse_recording(recording.read_text()))
        assert replayed == _live_under_umockdev(recording)

    def test_proc_files_load(self, tmp_path: Path) -> None:
        """A recording with /proc files loads too (they are a block of their own)."""
        name = "ready-sata-root"
        root = materialize(name, tmp_path / "tree")
        recording = tmp_path / "r.umockdev"
        recording.write_text(record(hp.scan(sysfs=root), proc=str(tmp_path / "tree/proc")).text)
        done = _umockdev_run(recording, "true")
        assert 0 == done.returncode
        assert "" == done.stderr

    @pytest.mark.live
    def test_this_machine(self, tmp_path: Path) -> None:
        """A recording of this machine loads, and the live reader inside sees --replay's host."""
        if not os.path.isdir("/sys/bus/pci/devices"):
            pytest.skip("this machine has no /sys/bus/pci")
        recording = tmp_path / "me.umockdev"
        recording.write_text(record(hp.scan(sysfs="/sys"), proc="/proc").text)
        replayed = _scan.replay(parse_recording(recording.read_text()))
        assert replayed == _live_under_umockdev(recording)
        assert hp.scan(sysfs="/sys") == replayed
