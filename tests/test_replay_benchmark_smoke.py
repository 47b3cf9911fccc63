"""A small run of the replay benchmark, so that it never rots (no timings asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from replay import main


def test_writes_its_section(tmp_path: Path) -> None:
    """A run on a tiny host replaces the Replay section of the file it is given."""
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("# Benchmarks\n")
    assert 0 == main(["--sizes", "60", "--repeat", "1", "--write", str(target)])
    assert 0 == main(["--sizes", "60", "--repeat", "1", "--write", str(target)])
    assert 1 == target.read_text().count("## Replay")
