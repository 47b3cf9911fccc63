"""The journal directory's two file calls, shared by prepare's journals and the acts'."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru._journal import (
    JournalEntry,
    JournalMember,
    StateDir,
    journal_files,
    remove_durably,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_journal_files_of_a_missing_directory_are_none(tmp_path: Path) -> None:
    """No directory yet (nothing was ever journaled): no journals."""
    assert [] == journal_files(f"{tmp_path}/journal")


def test_journal_files_are_the_json_files_by_name(tmp_path: Path) -> None:
    """Only ``*.json``, sorted by name; a write's temporary file and other files are not."""
    for name in ("b.json", "a.json", ".a.json.4242", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [f"{tmp_path}/a.json", f"{tmp_path}/b.json"] == journal_files(str(tmp_path))


def test_journal_files_of_a_file_is_a_journal_error(tmp_path: Path) -> None:
    """A directory that cannot be listed names itself in a JournalError."""
    (tmp_path / "journal").write_text("")
    with pytest.raises(hp.JournalError, match=r"/journal: cannot list \(Not a directory\)"):
        journal_files(f"{tmp_path}/journal")


def test_remove_durably_removes_the_file(tmp_path: Path) -> None:
    """The journal is gone after."""
    (tmp_path / "a.json").write_text("{}")
    remove_durably(str(tmp_path), "a.json")
    assert [] == os.listdir(tmp_path)


def test_remove_durably_of_a_file_already_gone_is_fine(tmp_path: Path) -> None:
    """Removing twice (a crash between remove and return) raises nothing."""
    remove_durably(str(tmp_path), "a.json")
    assert [] == os.listdir(tmp_path)


def test_remove_durably_of_a_directory_is_a_journal_error(tmp_path: Path) -> None:
    """What cannot be removed names its path in a JournalError."""
    (tmp_path / "a.json").mkdir()
    with pytest.raises(hp.JournalError, match=r"/a\.json: cannot remove"):
        remove_durably(str(tmp_path), "a.json")


def _member(name: str, sys_name: str) -> JournalMember:
    return JournalMember(
        name=name,
        sys_name=sys_name,
        path=f"devices/pci0000:00/0000:00:01.0/{sys_name}",
        vendor_id=0x10DE,
        product_id=0x1B81,
        subsystem_vendor_id=None,
        subsystem_product_id=None,
        from_driver="nouveau",
        from_module="nouveau",
        from_override=None,
        to_driver="vfio-pci",
    )


def test_journaled_names_the_journal_of_every_member(tmp_path: Path) -> None:
    """Each member of each journal, by kernel name, with its journal's id."""
    state = StateDir(tmp_path)
    gpu = (_member("pci_0000_01_00_0", "0000:01:00.0"), _member("pci_0000_01_00_1", "0000:01:00.1"))
    nic = (_member("pci_0000_02_00_0", "0000:02:00.0"),)
    for id_, members in (("gpu", gpu), ("nic", nic)):
        state.save(
            JournalEntry(
                id=id_,
                device=members[0].name,
                driver="vfio-pci",
                sysfs="/sys",
                created=1.5,
                phase="prepared",
                members=members,
            )
        )
    expected = {"0000:01:00.0": "gpu", "0000:01:00.1": "gpu", "0000:02:00.0": "nic"}
    assert expected == state.journaled()


def test_journaled_without_journals_is_empty(tmp_path: Path) -> None:
    """No journal, no device held."""
    assert {} == StateDir(tmp_path).journaled()
