"""A small run of benchmarks/watch.py's pieces, so that it never rots (no timings asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

from hostpassthru.testing import materialize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from watch import idle_cpu, poll_latency


def test_poll_latency_measures_each_change() -> None:
    """Two flips of a driver link give two latencies."""
    assert 2 == len(poll_latency(2, 0.05))


def test_idle_cpu_reads_the_watching_process(tmp_path: Path) -> None:
    """The idle run says what it watched: a polled tree here."""
    root = materialize("desktop-gpu", tmp_path)
    _, source = idle_cpu(0.2, "--sysfs", root, "--interval", "0.5")
    assert f"polling {root} every 0.5 s" == source
