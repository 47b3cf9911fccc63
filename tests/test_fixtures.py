"""Every fact of every topology fixture's hand-written table, under every reader.

The tables are in ``fixture_tables.py``; each test here checks one fact, so a
failure names the fixture, the device and the fact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from fixture_tables import TABLES, Node

if TYPE_CHECKING:
    from collections.abc import Callable


def _cases(part: str) -> list[tuple[str, object]]:
    """(fixture, key) for every key of one part of every table."""
    return [(name, key) for name, table in TABLES.items() for key in getattr(table, part)]


def _ids(case: tuple[str, object]) -> str:
    return f"{case[0]}-{case[1]}"


def _names(devices: tuple[hp.Device, ...]) -> tuple[str, ...]:
    return tuple(d.name for d in devices)


@pytest.fixture
def scan(scan_fixture: Callable[[str], hp.Host]) -> Callable[[str], hp.Host]:
    """Scan a fixture with the reader under test."""
    return scan_fixture


@pytest.mark.parametrize("fixture", TABLES)
def test_node_order(fixture: str, scan: Callable[[str], hp.Host]) -> None:
    """Every node is there, in path order, and no other."""
    assert list(TABLES[fixture].nodes) == [d.name for d in scan(fixture)]


@pytest.mark.parametrize("case", _cases("nodes"), ids=_ids)
def test_node(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """A node's parent, effective group, driver and reasons."""
    fixture, name = case
    dev = scan(fixture).device(name)
    assert TABLES[fixture].nodes[name] == Node(dev.parent, dev.iommu_group, dev.driver, dev.reasons)


@pytest.mark.parametrize("fixture", TABLES)
def test_groups(fixture: str, scan: Callable[[str], hp.Host]) -> None:
    """The IOMMU groups list their PCI members, in the kernel's order of groups."""
    assert list(TABLES[fixture].groups.items()) == list(scan(fixture).iommu_groups.items())


@pytest.mark.parametrize("fixture", TABLES)
def test_iommu_enabled(fixture: str, scan: Callable[[str], hp.Host]) -> None:
    """The IOMMU counts as on exactly when the table has groups."""
    assert bool(TABLES[fixture].groups) is scan(fixture).iommu_enabled


@pytest.mark.parametrize("case", _cases("passthrough"), ids=_ids)
def test_passthrough(
    case: tuple[str, tuple[str | None, bool]], scan: Callable[[str], hp.Host]
) -> None:
    """passthrough_devices(cap, include_controllers=...), in path order."""
    fixture, (cap, controllers) = case
    actual = scan(fixture).passthrough_devices(cap, include_controllers=controllers)
    assert TABLES[fixture].passthrough[cap, controllers] == _names(actual)


@pytest.mark.parametrize("case", _cases("nodes"), ids=_ids)
def test_affected_by(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """What goes with a node, in path order; nothing where the table says nothing."""
    fixture, name = case
    assert TABLES[fixture].affected.get(name, ()) == _names(scan(fixture).affected_by(name))


@pytest.mark.parametrize("case", _cases("nodes"), ids=_ids)
def test_vanish_with_vfs(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """What disabling a PF's VFs removes, in VF order; nothing for every other node."""
    fixture, name = case
    assert TABLES[fixture].vanish.get(name, ()) == _names(scan(fixture).vanish_with_vfs(name))


@pytest.mark.parametrize("case", _cases("lookups"), ids=_ids)
def test_lookup(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """A device is found by its kernel name."""
    fixture, sys_name = case
    assert TABLES[fixture].lookups[sys_name] == scan(fixture).device(sys_name).name


@pytest.mark.parametrize("case", _cases("lookups"), ids=_ids)
def test_affected_by_kernel_name(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """affected_by takes a kernel name as well as a name."""
    fixture, sys_name = case
    expected = TABLES[fixture].affected.get(TABLES[fixture].lookups[sys_name], ())
    assert expected == _names(scan(fixture).affected_by(sys_name))


@pytest.mark.parametrize(
    "case",
    [(name, key) for name, table in TABLES.items() for key in table.missing],
    ids=_ids,
)
def test_missing(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """An unknown name raises DeviceNotFoundError, a LookupError."""
    fixture, name = case
    with pytest.raises(hp.DeviceNotFoundError):
        scan(fixture).device(name)


@pytest.mark.parametrize(
    "case",
    [
        (fixture, f"{device}/{attribute}")
        for fixture, table in TABLES.items()
        for device, facts in table.facts.items()
        for attribute in facts
    ],
    ids=_ids,
)
def test_fact(case: tuple[str, str], scan: Callable[[str], hp.Host]) -> None:
    """One attribute of one device (``pci.numa_node`` reaches into the PCI facts)."""
    fixture, where = case
    device, attribute = where.split("/")
    value: object = scan(fixture).device(device)
    for part in attribute.split("."):
        value = getattr(value, part)
    assert TABLES[fixture].facts[device][attribute] == value


@pytest.mark.parametrize("fixture", TABLES)
def test_no_problems(fixture: str, scan: Callable[[str], hp.Host]) -> None:
    """A clean tree reads without problems."""
    assert () == scan(fixture).problems
