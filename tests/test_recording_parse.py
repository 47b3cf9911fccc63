"""The recording parser's edges: escapes, line ends, blank and comment lines, errors, dumps."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostpassthru import _recording, _scan
from hostpassthru._errors import FixtureError
from hostpassthru._recording import RecordedDevice, materialize, parse_recording, read_any

_GPU = "/devices/pci0000:00/0000:00:02.0"


def _only(text: str) -> RecordedDevice:
    devices = parse_recording(text).devices
    assert 1 == len(devices)
    return devices[0]


def _error(text: str) -> str:
    with pytest.raises(FixtureError) as info:
        parse_recording(text, "r.umockdev")
    return str(info.value)


class TestEscapes:
    """A: lines carry GLib's g_strescape(); E: and L: lines are taken as written."""

    def test_newline(self) -> None:
        """The escaped newline that ends most attributes."""
        assert (("class", "0x030000\n"),) == _only(f"P: {_GPU}\nA: class=0x030000\\n\n").attributes

    def test_two_newlines(self) -> None:
        """Every escaped newline of a text, not only the last."""
        assert (("x", "a\nb\n"),) == _only(f"P: {_GPU}\nA: x=a\\nb\\n\n").attributes

    def test_escaped_backslash_before_n(self) -> None:
        """An escaped backslash before an n: a backslash and an n, not a newline."""
        assert (("x", "a\\n"),) == _only(f"P: {_GPU}\nA: x=a\\\\n\n").attributes

    def test_escaped_backslash_then_newline(self) -> None:
        """An escaped backslash, then an escaped newline."""
        assert (("x", "a\\\n"),) == _only(f"P: {_GPU}\nA: x=a\\\\\\n\n").attributes

    def test_octal_tab_and_quote(self) -> None:
        """Octal escapes, tabs and quotes beside an escaped newline."""
        text = f'P: {_GPU}\nA: x=\\101\\tB\\"\\n\n'
        assert (("x", 'A\tB"\n'),) == _only(text).attributes

    def test_unknown_escape(self) -> None:
        """An escape GLib never writes stands for its letter."""
        assert (("x", "q\n"),) == _only(f"P: {_GPU}\nA: x=\\q\\n\n").attributes

    def test_property_unescaped(self) -> None:
        """E: lines keep their backslashes."""
        assert (("ID_PATH", "a\\nb"),) == _only(f"P: {_GPU}\nE: ID_PATH=a\\nb\n").properties

    def test_value_with_equals(self) -> None:
        """The first = ends the name; the value keeps the others."""
        assert (("x", "a=b\n"),) == _only(f"P: {_GPU}\nA: x=a=b\\n\n").attributes

    def test_no_continuation(self) -> None:
        """A line without a type does not continue the line before it: it is wrong."""
        assert "r.umockdev:3: not a recording line: 'more'" == _error(
            f"P: {_GPU}\nA: x=one\nmore\n"
        )


class TestLines:
    """Line ends, blank lines, comments, the last block, empty texts."""

    def test_crlf(self) -> None:
        """CRLF line ends read as LF ones."""
        device = _only(f"P: {_GPU}\r\nE: SUBSYSTEM=pci\r\nA: class=0x030000\\n\r\n\r\n")
        assert (("class", "0x030000\n"),) == device.attributes

    def test_crlf_property(self) -> None:
        """No carriage return stays at the end of a property."""
        device = _only(f"P: {_GPU}\r\nE: SUBSYSTEM=pci\r\n")
        assert (("SUBSYSTEM", "pci"),) == device.properties

    def test_last_block_without_newline(self) -> None:
        """The last block needs neither a blank line nor a final newline."""
        device = _only(f"P: {_GPU}\nE: SUBSYSTEM=pci\nL: driver=../../../bus/pci/drivers/i915")
        assert (("driver", "../../../bus/pci/drivers/i915"),) == device.links

    def test_blocks_without_blank_line(self) -> None:
        """A P: line starts a block even without a blank line before it."""
        devices = parse_recording(f"P: {_GPU}\nE: A=1\nP: {_GPU}/drm\nE: B=2\n").devices
        assert [(("A", "1"),), (("B", "2"),)] == [d.properties for d in devices]

    def test_empty(self) -> None:
        """An empty text has no devices."""
        assert () == parse_recording("").devices

    def test_only_comments_and_blanks(self) -> None:
        """Comments and blank lines (spaces and tabs too) are no devices."""
        assert () == parse_recording("# umockdev recording\n\n \n\t\n#\n").devices

    def test_comment_and_blank_inside_a_block(self) -> None:
        """A comment or a blank line between a block's lines leaves the block open."""
        device = _only(f"P: {_GPU}\nE: A=1\n# note\n  \nE: B=2\n")
        assert (("A", "1"), ("B", "2")) == device.properties

    def test_trailing_slash(self) -> None:
        """A P: path's trailing slash is dropped."""
        assert _GPU == _only(f"P: {_GPU}/\n").path

    def test_nodes_skipped(self) -> None:
        """N: and S: lines are accepted and not kept."""
        device = _only(f"P: {_GPU}\nN: dri/card0\nS: dri/by-path/x\nE: A=1\n")
        assert (("A", "1"),) == device.properties

    def test_hex(self) -> None:
        """H: lines are bytes, in hex of either case."""
        device = _only(f"P: {_GPU}\nH: config=86807f0aFF\n")
        assert (("config", b"\x86\x80\x7f\x0a\xff"),) == device.binary_attributes

    def test_proc_block(self) -> None:
        """The /proc block's attributes are files, not a device."""
        text = f"P: {_recording.PROC_BLOCK}\nE: SUBSYSTEM=hostpassthru\nA: cmdline=quiet\\n\n"
        assert (("/proc/cmdline", "quiet\n"),) == parse_recording(text).files

    def test_old_proc_lines(self) -> None:
        """F: lines of older recordings are files too."""
        text = f"F: /proc/cmdline=iommu=pt\\n\nP: {_GPU}\n"
        assert (("/proc/cmdline", "iommu=pt\n"),) == parse_recording(text).files


class TestErrors:
    """A wrong line is named by its number and says what is wrong."""

    def test_unknown_type(self) -> None:
        """A line type the format lacks."""
        assert "r.umockdev:2: not a recording line: 'X: what'" == _error(f"P: {_GPU}\nX: what\n")

    def test_no_space(self) -> None:
        """A type without the space after its colon."""
        assert "r.umockdev:2: not a recording line: 'E:A=1'" == _error(f"P: {_GPU}\nE:A=1\n")

    def test_no_equals(self) -> None:
        """A property without =."""
        assert "r.umockdev:2: want NAME=VALUE, not 'A'" == _error(f"P: {_GPU}\nE: A\n")

    def test_type_alone(self) -> None:
        """A type with nothing after it."""
        assert "r.umockdev:2: want NAME=VALUE, not ''" == _error(f"P: {_GPU}\nA:\n")

    def test_empty_name(self) -> None:
        """An attribute without a name."""
        assert "r.umockdev:2: want NAME=VALUE, not '=1'" == _error(f"P: {_GPU}\nA: =1\n")

    def test_absolute_name(self) -> None:
        """A link name that leaves the device directory from the top."""
        assert "r.umockdev:2: want NAME=VALUE, not '/etc/x=y'" == _error(
            f"P: {_GPU}\nL: /etc/x=y\n"
        )

    def test_dotdot_name(self) -> None:
        """An attribute name that climbs out of the device directory."""
        assert "r.umockdev:2: want NAME=VALUE, not 'a/../../b=1'" == _error(
            f"P: {_GPU}\nA: a/../../b=1\n"
        )

    def test_dots_inside_a_name(self) -> None:
        """Two dots inside a name are no climb."""
        assert (("a..b", "1"),) == _only(f"P: {_GPU}\nE: a..b=1\n").properties

    def test_bad_hex(self) -> None:
        """An H: line that is not hex."""
        assert "r.umockdev:2: H: config is not hex" == _error(f"P: {_GPU}\nH: config=zz\n")

    def test_before_the_first_block(self) -> None:
        """A block's line before any P: line."""
        assert "r.umockdev:2: a device line before the first P: line" == _error(
            "# x\nE: SUBSYSTEM=pci\n"
        )

    def test_path_outside_devices(self) -> None:
        """A P: path not under /devices."""
        assert "r.umockdev:1: P: wants a path under /devices, not '/sys/x'" == _error("P: /sys/x\n")

    def test_path_climbs(self) -> None:
        """A P: path with a .. part."""
        assert "r.umockdev:1: P: wants a path under /devices, not '/devices/../x'" == _error(
            "P: /devices/../x\n"
        )

    def test_empty_path(self) -> None:
        """A P: line without a path."""
        assert "r.umockdev:3: P: wants a path under /devices, not ''" == _error(
            f"P: {_GPU}\n\nP:\n"
        )

    def test_file_outside_proc(self) -> None:
        """An F: line for a file outside /proc."""
        assert "r.umockdev:1: F: wants /proc/...=TEXT, not '/etc/shadow=x'" == _error(
            "F: /etc/shadow=x\n"
        )

    def test_crlf_line_number(self) -> None:
        """Line numbers count CRLF line ends once."""
        assert "r.umockdev:3: not a recording line: 'X: what'" == _error(
            f"P: {_GPU}\r\nE: A=1\r\nX: what\r\n"
        )


class TestDumps:
    """read_any: a text with a line type of udevadm's database is a dump, wherever the line is."""

    def test_late_dump_line(self) -> None:
        """A recording-shaped text with one dump line at its end is a dump."""
        text = f"P: {_GPU}\nE: SUBSYSTEM=pci\n\nP: {_GPU}/drm\nE: SUBSYSTEM=drm\nM: drm\n"
        assert "export-db" == read_any(text).format

    def test_dump_line_after_a_wrong_line(self) -> None:
        """A dump line after a line no format has: still a dump, the wrong line skipped."""
        text = f"P: {_GPU}\nX: what\nE: SUBSYSTEM=pci\nM: 0000:00:02.0\n"
        assert "export-db" == read_any(text).format

    def test_skipped_lines_counted(self) -> None:
        """The dump's skipped lines are counted by type in problems."""
        text = f"P: {_GPU}\nX: what\nE: SUBSYSTEM=pci\nM: 0000:00:02.0\nL: 0\n"
        problems = read_any(text, "d.db").problems
        assert (
            "d.db: skipped lines of types umockdev's format lacks (L: 1, M: 1, X: 1)"
            == (problems[1])
        )

    def test_wrong_recording(self) -> None:
        """A wrong line and no dump line: the recording's error."""
        with pytest.raises(FixtureError) as info:
            read_any(f"P: {_GPU}\nX: what\n", "r.umockdev")
        assert "r.umockdev:2: not a recording line: 'X: what'" == str(info.value)

    def test_recording(self) -> None:
        """A recording stays a recording."""
        assert "umockdev" == read_any(f"P: {_GPU}\nE: SUBSYSTEM=pci\nL: driver=x\n").format


def test_property_not_utf8() -> None:
    """A property with a byte that is not UTF-8 replays, the byte replaced where it is read."""
    text = f"P: {_GPU}\nE: SUBSYSTEM=pci\nE: ID_MODEL=ab\udcffcd\nA: class=0x030000\\n\n"
    host = _scan.replay(parse_recording(text))
    assert ["pci_0000_00_02_0"] == [d.name for d in host.devices]


def test_property_not_utf8_written(tmp_path: Path) -> None:
    """materialize() writes such a property's byte as it was in the file."""
    text = f"P: {_GPU}\nE: SUBSYSTEM=pci\nE: ID_MODEL=ab\udcffcd\n"
    root = Path(materialize(parse_recording(text), tmp_path))
    assert b"ID_MODEL=ab\xffcd\n" == (root / _GPU.lstrip("/") / "uevent").read_bytes()
