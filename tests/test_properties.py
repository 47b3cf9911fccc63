"""Properties over random trees: the rules hold whatever the topology, garbage never raises."""

from __future__ import annotations

import os
import shutil
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hostpassthru as hp
from hostpassthru._records import DeviceRecord, Kind, Snapshot
from hostpassthru._tree import build
from hostpassthru.testing import load_recording, materialize

PCI_CLASSES = (
    "0x060000",
    "0x060100",
    "0x060400",
    "0x060940",
    "0x030000",
    "0x0c0330",
    "0x010601",
    "0x020000",
    "garbage",
    "",
)
USB_CLASSES = ("00", "09", "03", "ef", "zz")
DRIVERS = (None, "pcieport", "vfio-pci", "ahci", "usb")


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    """A random tree of PCI, USB and SCSI nodes, with non-node directories between them."""
    count = draw(st.integers(min_value=0, max_value=30))
    paths: list[str] = []
    records: list[DeviceRecord] = []
    for i in range(count):
        parent = draw(st.sampled_from(["devices/pci0000:00", *paths]))
        between = draw(st.sampled_from(["", "/host0", "/ata1/host0/target0:0:0", "/1-1:1.0"]))
        kind: Kind = draw(st.sampled_from(("pci", "usb_device", "scsi")))
        sys_name = {"pci": f"0000:{i:02x}:00.0", "usb_device": f"1-{i}", "scsi": f"{i}:0:0:0"}[kind]
        path = f"{parent}{between}/{sys_name}"
        if len(paths) > 0 and draw(st.booleans()):
            # A sibling named like its neighbour plus a suffix ("1-1" and "1-1.5"): it
            # sorts between that neighbour and the neighbour's own children.
            sys_name = f"{parent.rpartition('/')[2]}.{i}"
            path = f"{parent}.{i}"
        paths.append(path)
        if kind == "pci":
            attributes = {"class": draw(st.sampled_from(PCI_CLASSES))}
        elif kind == "usb_device":
            attributes = {"bDeviceClass": draw(st.sampled_from(USB_CLASSES))}
        else:
            attributes = {"type": draw(st.sampled_from(("0", "5", "x")))}
        records.append(
            DeviceRecord(
                kind=kind,
                sys_name=sys_name,
                path=path,
                driver=draw(st.sampled_from(DRIVERS)),
                attributes=attributes,
            ),
        )
    groups: dict[int, list[str]] = {}
    for record in records:
        if record.kind == "pci":
            number = draw(st.one_of(st.none(), st.sampled_from((0, 1, 2, 77, 4096))))
            if number is not None:
                groups.setdefault(number, []).append(record.sys_name)
    shuffled = draw(st.permutations(records))
    return Snapshot(
        root="/sys",
        source="sysfs",
        records=tuple(shuffled),
        groups={k: tuple(v) for k, v in groups.items()},
    )


def _beneath(dev: hp.Device, other: hp.Device) -> bool:
    return other.path.startswith(dev.path + "/")


class TestRandomTrees:
    """Invariants of the pure core over random topologies."""

    @given(snapshots())
    @settings(max_examples=300)
    def test_parent_is_nearest_node_ancestor(self, snapshot: Snapshot) -> None:
        """Each parent is the deepest node whose directory holds the node."""
        host = build(snapshot)
        for dev in host:
            holders = [d for d in host if _beneath(d, dev)]
            nearest = max(holders, key=lambda d: len(d.path), default=None)
            assert (None if nearest is None else nearest.name) == dev.parent

    @given(snapshots())
    @settings(max_examples=300)
    def test_eligible_never_has_eligible_descendant(self, snapshot: Snapshot) -> None:
        """An eligible node has no eligible descendant, and has_passthrough_children says why."""
        host = build(snapshot)
        for dev in host:
            below = [d for d in host.descendants(dev) if d.eligible]
            assert not (dev.eligible and below)
            assert bool(below) == ("has_passthrough_children" in dev.reasons)
            assert dev.eligible == (not dev.reasons)

    @given(snapshots())
    @settings(max_examples=300)
    def test_ordered_and_unique(self, snapshot: Snapshot) -> None:
        """Every returned sequence is ordered by path and free of duplicates."""
        host = build(snapshot)
        sequences = [
            host.devices,
            host.passthrough_devices(),
            host.passthrough_devices(include_controllers=True),
        ]
        sequences += [host.affected_by(d) for d in host]
        for seq in sequences:
            paths = [d.path for d in seq]
            assert sorted(set(paths)) == paths

    @given(snapshots())
    @settings(max_examples=300)
    def test_affected_by(self, snapshot: Snapshot) -> None:
        """A PCI device takes the other going members of its group and every subtree.

        The expectation is built from the snapshot's records alone: a member stays
        with the host when pcieport binds it or its class is 0x0604xx or 0x0609xx.
        """
        host = build(snapshot)
        group_of = {name: n for n, members in snapshot.groups.items() for name in members}
        for dev in host:
            roots = [r for r in snapshot.records if r.path == dev.path]
            number = group_of.get(dev.sys_name) if dev.kind == "pci" else None
            if number is not None:
                roots += [
                    r
                    for r in snapshot.records
                    if r.kind == "pci"
                    and group_of.get(r.sys_name) == number
                    and r.path != dev.path
                    and r.driver != "pcieport"
                    and r.attributes.get("class", "")[:6] not in ("0x0604", "0x0609")
                ]
            expected = {r.path for r in roots[1:]} | {
                r.path
                for r in snapshot.records
                if any(r.path.startswith(root.path + "/") for root in roots)
            }
            expected.discard(dev.path)
            assert expected == {d.path for d in host.affected_by(dev)}


DESKTOP = load_recording("desktop-gpu")
ATTRIBUTE_FILES = (
    "class",
    "vendor",
    "device",
    "revision",
    "numa_node",
    "idVendor",
    "bDeviceClass",
    "busnum",
    "speed",
    "serial",
    "uevent",
    "bInterfaceClass",
)


class TestGarbage:
    """Random bytes in attribute files never make a scan raise."""

    @given(st.dictionaries(st.sampled_from(ATTRIBUTE_FILES), st.binary(max_size=64), min_size=1))
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_garbage_never_raises(self, garbage: dict[str, bytes]) -> None:
        """Whatever the files say, scan returns a host, one node per device."""
        top = tempfile.mkdtemp()
        try:
            root = materialize(DESKTOP, top)
            for directory, _, files in os.walk(f"{root}/devices"):
                for name in files:
                    if name in garbage:
                        with open(os.path.join(directory, name), "wb") as f:
                            f.write(garbage[name])
            host = hp.scan(sysfs=root)
            assert {"pci"} <= {d.kind for d in host}
        finally:
            shutil.rmtree(top)
