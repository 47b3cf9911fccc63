"""up_to_root: the ``../`` of sysfs's relative links, shared by the recorder and FakeHost."""

from __future__ import annotations

from hostpassthru._sysfs import up_to_root


def test_a_pci_function_climbs_three_levels() -> None:
    """devices/pci0000:00/0000:00:01.0 is three directories below the root."""
    assert "../../.." == up_to_root("devices/pci0000:00/0000:00:01.0")


def test_a_top_directory_climbs_one_level() -> None:
    """The devices directory is one level below the root."""
    assert ".." == up_to_root("devices")


def test_slashes_at_the_ends_do_not_count() -> None:
    """A leading or trailing slash adds no level."""
    assert "../.." == up_to_root("/devices/platform/")
