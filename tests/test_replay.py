"""Replay from memory: a recording read straight into a snapshot equals its tree read back."""

from __future__ import annotations

import gc
import os
import tempfile
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import hostpassthru as hp
from hostpassthru import _recording, _scan, _sysfs, _tree
from hostpassthru._cli import main
from hostpassthru._recording import RecordedDevice, Recording
from hostpassthru.testing import fixture_names, fixture_path, load_recording, materialize

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_host(name: str, tmp_path: Path) -> None:
    """Every fixture replayed from memory gives the host its materialised tree gives."""
    recording = load_recording(name)
    assert hp.scan(sysfs=materialize(recording, tmp_path)) == _scan.replay(recording)


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_proc(name: str, tmp_path: Path) -> None:
    """... and the same /proc facts, where the fixture has /proc files."""
    recording = load_recording(name)
    root = materialize(recording, tmp_path)
    proc = tmp_path / "proc"
    tree = hp.scan(sysfs=root, proc=proc if proc.is_dir() else None)
    assert tree.proc == _scan.replay(recording).proc


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_file_host(name: str, tmp_path: Path) -> None:
    """Every fixture file parsed straight into the in-memory tree gives its tree's host."""
    tree = hp.scan(sysfs=materialize(load_recording(name), tmp_path))
    assert tree == _scan.replay_file(fixture_path(name))


@pytest.mark.parametrize("name", fixture_names())
def test_fixture_file_proc(name: str, tmp_path: Path) -> None:
    """... and its /proc facts."""
    root = materialize(load_recording(name), tmp_path)
    proc = tmp_path / "proc"
    tree = hp.scan(sysfs=root, proc=proc if proc.is_dir() else None)
    assert tree.proc == _scan.replay_file(fixture_path(name)).proc


def test_file_source_is_the_file() -> None:
    """A host replayed from a file names the file as its root."""
    path = fixture_path("vm-virtio")
    assert os.fspath(path) == _recording.read_snapshot(path).root


def test_source_says_recording() -> None:
    """A replayed host says where it came from."""
    assert "recording" == _scan.replay(load_recording("vm-virtio")).source


def test_no_tree_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--replay writes nothing: no temporary directory is made."""
    made: list[str] = []

    def mkdtemp(*args: object, **kwargs: object) -> str:
        made.append(f"{args} {kwargs}")
        return "/nonexistent"

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    recording = tmp_path / "vm.umockdev"
    recording.write_text(_recording.dump(load_recording("vm-virtio")))
    assert 0 == main(["--replay", str(recording), "list"])
    assert [] == made


def test_replay_with_proc_option(tmp_path: Path) -> None:
    """--proc beside --replay reads /proc from that directory instead of the recording."""
    (tmp_path / "net").mkdir()
    (tmp_path / "cmdline").write_text("quiet intel_iommu=off\n")
    host = _scan.replay(load_recording("ready-gpu-vfio"), proc=tmp_path)
    assert ("quiet", "intel_iommu=off") == host.proc.cmdline  # type: ignore[union-attr]


# Random recordings: paths from a realistic tree, each with a random subsystem,
# properties, attributes and links, including the quirks of real captures.
_PCI = "/devices/pci0000:00"
_SCSI = f"{_PCI}/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"
_PATHS = (
    _PCI,
    f"{_PCI}/0000:00:01.0",
    f"{_PCI}/0000:00:01.0/0000:01:00.0",
    f"{_PCI}/0000:00:14.0",
    f"{_PCI}/0000:00:14.0/usb1",
    f"{_PCI}/0000:00:14.0/usb1/1-1",
    f"{_PCI}/0000:00:14.0/usb1/1-1/1-1:1.0",
    f"{_PCI}/0000:00:14.0/usb1/1-1/1-1:1.0/usb/hiddev0",
    f"{_PCI}/0000:00:17.0",
    _SCSI,
    f"{_SCSI}/scsi_device/0:0:0:0",
    f"{_SCSI}/block/sda",
    f"{_SCSI}/block/sda/sda1",
    f"{_SCSI}/scsi_generic/sg0",
    "/devices/virtual/net/lo",
    "/devices/virtual/iommu/dmar0",
)
_SUBSYSTEMS = (None, "pci", "usb", "scsi", "scsi_device", "block", "net", "iommu", "platform")
_ATTRIBUTES = (
    "class",
    "vendor",
    "idVendor",
    "bDeviceClass",
    "bInterfaceClass",
    "type",
    "dev",
    "operstate",
    "serial",
    "reset_method",
    "reset",
    "numa_node",
    "sriov_numvfs",
    "power/control",
    "mdev_supported_types/nv-1/name",
)
_VALUES = ("0x060400\n", "0x030000\n", "09\n", "03\n", "0\n", "-1\n", "", "up\n", "8:0\n", "x y")
_LINKS = ("driver", "iommu_group", "physfn", "device", "holders/dm-0", "subsystem", "virtfn0")
_TARGETS = (
    "../../../bus/pci/drivers/vfio-pci",
    "../../../kernel/iommu_groups/3",
    "../../../kernel/iommu_groups/12",
    "../../kernel/iommu_groups/x",
    "../0000:00:01.0",
    "../../0:0:0:0",
    "../../../../../../../../../../../../../outside",
    "/absolute",
    "dangling",
)

_block = st.builds(
    lambda subsystem, devtype, attributes, binary, links: (
        subsystem,
        devtype,
        attributes,
        binary,
        links,
    ),
    st.sampled_from(_SUBSYSTEMS),
    st.sampled_from((None, "usb_device", "usb_interface", "disk")),
    st.dictionaries(st.sampled_from(_ATTRIBUTES), st.sampled_from(_VALUES), max_size=4),
    st.booleans(),
    st.dictionaries(st.sampled_from(_LINKS), st.sampled_from(_TARGETS), max_size=3),
)


def _recording_of(blocks: dict[str, tuple[object, ...]]) -> Recording:
    devices = []
    for path, (subsystem, devtype, attributes, binary, links) in sorted(blocks.items()):
        properties = [("DEVTYPE", str(devtype))] if devtype else []
        if subsystem:
            properties.append(("SUBSYSTEM", str(subsystem)))
        devices.append(
            RecordedDevice(
                path=path,
                properties=tuple(properties),
                attributes=tuple(attributes.items()),  # type: ignore[attr-defined]
                binary_attributes=((("manufacturer", b"\xff\xfe\x00"),) if binary else ()),
                links=tuple(links.items()),  # type: ignore[attr-defined]
            )
        )
    return Recording(source="<random>", devices=tuple(devices))


@given(st.dictionaries(st.sampled_from(_PATHS), _block, max_size=10))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_recordings(blocks: dict[str, tuple[object, ...]]) -> None:
    """A random recording: the snapshot from memory is the path reader's on the written tree."""
    recording = _recording_of(blocks)
    with tempfile.TemporaryDirectory() as top:
        try:
            root = materialize(recording, top)
        except OSError:
            reject()  # a recording no tree can hold (a file where a directory must be)
        on_disk = _sysfs.read(root)
    in_memory = _recording.snapshot(recording)
    assert on_disk.groups == in_memory.groups
    assert sorted(on_disk.records, key=repr) == sorted(in_memory.records, key=repr)
    assert sorted(on_disk.class_devices, key=repr) == sorted(in_memory.class_devices, key=repr)
    assert sorted(on_disk.problems) == sorted(in_memory.problems)
    assert sorted(on_disk.mdev_types, key=repr) == sorted(in_memory.mdev_types, key=repr)


def test_random_recordings_cover_nodes() -> None:
    """The random recordings' building blocks can make every kind of node (a sanity check)."""
    recording = _recording_of(
        {
            f"{_PCI}/0000:00:14.0": ("pci", None, {"class": "0x0c0330\n"}, False, {}),
            f"{_PCI}/0000:00:14.0/usb1": ("usb", "usb_device", {}, False, {}),
            _SCSI: ("scsi", None, {}, False, {}),
            f"{_SCSI}/scsi_device/0:0:0:0": ("scsi_device", None, {}, False, {}),
        }
    )
    kinds = [r.kind for r in _recording.snapshot(recording).records]
    assert ["pci", "usb_device", "scsi"] == kinds


def test_os_is_not_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The snapshot is made without a single file call."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError((args, kwargs))

    recording = load_recording("server-sriov")
    for name in ("open", "listdir", "readlink", "stat", "lstat", "scandir"):
        monkeypatch.setattr(os, name, refuse)
    snapshot = _recording.snapshot(recording)
    monkeypatch.undo()
    assert 0 < len(snapshot.records)


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_left_as_it_was(enabled: bool) -> None:
    """Parsing and replaying pause Python's garbage collector and leave it as they found it."""
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        _scan.replay(load_recording("vm-virtio"))
        assert enabled == gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_left_as_it_was_by_a_file(enabled: bool) -> None:
    """Replaying a file leaves the collector as it found it, too."""
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        _scan.replay_file(fixture_path("vm-virtio"))
        assert enabled == gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_built_with_collector_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    """As scan(), a replay builds the host with the collector paused, from a file or not."""
    seen: list[bool] = []

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return _tree.build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_scan, "build", spy)
    was = gc.isenabled()
    try:
        gc.enable()
        _scan.replay(load_recording("vm-virtio"))
        _scan.replay_file(fixture_path("vm-virtio"))
    finally:
        (gc.enable if was else gc.disable)()
    assert [False, False] == seen
