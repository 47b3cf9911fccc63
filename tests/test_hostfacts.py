"""The two plain file calls that live host facts and the simulated kernel read with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hostpassthru._hostfacts import parse_hex, read_text

if TYPE_CHECKING:
    from pathlib import Path


def test_read_text_strips_the_newline(tmp_path: Path) -> None:
    """A sysfs value comes without its trailing newline."""
    (tmp_path / "vendor").write_text("0x10de\n")
    assert "0x10de" == read_text(f"{tmp_path}/vendor")


def test_read_text_of_a_missing_file_is_none(tmp_path: Path) -> None:
    """A file that is not there reads as None."""
    assert read_text(f"{tmp_path}/nothing") is None


def test_read_text_of_a_directory_is_none(tmp_path: Path) -> None:
    """Any OSError, not only a missing file, reads as None."""
    assert read_text(str(tmp_path)) is None


def test_read_text_replaces_undecodable_bytes(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 become U+FFFD instead of raising."""
    (tmp_path / "label").write_bytes(b"a\xffb\n")
    assert "a\ufffdb" == read_text(f"{tmp_path}/label")


def test_parse_hex_reads_a_prefixed_value() -> None:
    """``0x10de`` is 0x10DE."""
    assert 0x10DE == parse_hex("0x10de")


def test_parse_hex_of_none_is_none() -> None:
    """No text, no number."""
    assert parse_hex(None) is None


def test_parse_hex_of_a_malformed_value_is_none() -> None:
    """A value that is not hexadecimal is None, not an error."""
    assert parse_hex("0xzz") is None
