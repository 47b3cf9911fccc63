"""The replay benchmark: --replay from memory against --sysfs on the written-out tree.

    python benchmarks/replay.py --sizes 1000,10000 --write BENCHMARKS.md

For each size it writes a synthetic host (benchmarks/generate.py), records it
with ``hostpassthru record`` and measures, best of ``--repeat`` runs:

1. ``hostpassthru --replay FILE list --json``, in this process: the recording
   parsed and read into records from memory;
2. ``hostpassthru --sysfs ROOT list --json`` on the recording materialised in
   tmpfs (``/dev/shm``): the same command on the same tree, as files; (1) and
   (2) run in turn after one untimed run of each, so that a change of the
   machine's load hits both, and each is timed by the clock and by the
   process's CPU time (which other processes on the same cores disturb less);
3. the old way, materialise then scan, once in tmpfs and once in a directory
   on disk (what --replay did before it read from memory);
4. ``python -m hostpassthru --replay FILE list --json`` as a user runs it, a
   fresh process each time, start-up included.

Targets (issue 13): (1) within 1.5 times (2); (4) under 1 s for a
1,000-device capture. With ``--write FILE`` it replaces the "Replay" section
of FILE (BENCHMARKS.md), or appends one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import hostpassthru as hp
from hostpassthru._cli import main as cli
from hostpassthru._record import record
from hostpassthru._recording import materialize, read_recording

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate

if TYPE_CHECKING:
    from collections.abc import Callable

_BEGIN = "<!-- replay benchmark: begin -->"
_END = "<!-- replay benchmark: end -->"


def in_turn(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(clock, CPU) seconds of the fastest run of each of *first* and *second*, run in turn.

    One untimed run of each comes first, so that neither pays for what the
    process does once (imports, the names database, growing its heap).
    """
    first()
    second()
    times: list[list[tuple[float, float]]] = [[], []]
    for _ in range(repeat):
        for func, runs in zip((first, second), times, strict=True):
            clock, cpu = time.perf_counter(), time.process_time()
            func()
            runs.append((time.perf_counter() - clock, time.process_time() - cpu))
    return (
        (min(t for t, _ in times[0]), min(c for _, c in times[0])),
        (min(t for t, _ in times[1]), min(c for _, c in times[1])),
    )


def best(func: Callable[[], object], repeat: int) -> float:
    """The fastest of *repeat* runs of *func*, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def quiet(argv: list[str]) -> None:
    """Run the command line with *argv*, its output thrown away."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli(argv)
    if code != 0:
        raise SystemExit(f"hostpassthru {' '.join(argv)} exited {code}")


def old_replay(path: str, directory: str | None) -> None:
    """What --replay did before: write the tree out, scan it, remove it."""
    with tempfile.TemporaryDirectory(dir=directory) as top:
        hp.scan(sysfs=materialize(read_recording(path), top))


def measure(size: int, repeat: int, old_repeat: int) -> dict[str, float | int]:
    """Every measurement on one synthetic host of about *size* nodes."""
    top = tempfile.mkdtemp(prefix=f"hostpassthru-replay-bench-{size}-")
    shm = tempfile.mkdtemp(prefix="hostpassthru-replay-bench-", dir="/dev/shm")
    try:
        tree = generate(size, top)
        recording = os.path.join(top, "host.umockdev")
        with open(recording, "w", encoding="utf-8") as f:
            f.write(record(hp.scan(sysfs=tree.root)).text)
        root = materialize(read_recording(recording), shm)
        command = ["list", "--json"]
        (replay, replay_cpu), (sysfs, sysfs_cpu) = in_turn(
            lambda: quiet(["--replay", recording, *command]),
            lambda: quiet(["--sysfs", root, *command]),
            repeat,
        )
        old_shm = best(lambda: old_replay(recording, os.path.dirname(shm)), old_repeat)
        old_disk = best(lambda: old_replay(recording, top), old_repeat)
        argv = [sys.executable, "-m", "hostpassthru", "--replay", recording, *command]
        process = best(
            lambda: subprocess.run(argv, check=True, capture_output=True, timeout=600), repeat
        )
        return {
            "nodes": tree.nodes,
            "size": os.path.getsize(recording),
            "replay": replay,
            "sysfs": sysfs,
            "cpu_ratio": replay_cpu / sysfs_cpu,
            "old_shm": old_shm,
            "old_disk": old_disk,
            "process": process,
        }
    finally:
        shutil.rmtree(top, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


def table(results: list[dict[str, float | int]]) -> str:
    """The results as a Markdown table."""
    lines = [
        (
            "| nodes | recording KB | --replay s | --sysfs on tmpfs s | replay/sysfs (≤ 1.5) "
            "| replay/sysfs, CPU time | old: materialise + scan, tmpfs s | old, disk s "
            "| fresh process s (< 1 at 1,000) |"
        ),
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['nodes']} | {int(r['size']) // 1024} | {r['replay']:.3f} | {r['sysfs']:.3f} "
        f"| {r['replay'] / r['sysfs']:.2f} | {r['cpu_ratio']:.2f} | {r['old_shm']:.3f} "
        f"| {r['old_disk']:.3f} | {r['process']:.3f} |"
        for r in results
    ]
    return "\n".join(lines)


def section(results: list[dict[str, float | int]], argv: list[str], load: str) -> str:
    """The Markdown section for BENCHMARKS.md."""
    return "\n".join(
        [
            _BEGIN,
            "## Replay",
            "",
            (
                f"Command: `python benchmarks/replay.py {' '.join(argv)}` "
                f"({time.strftime('%Y-%m-%d')}, same machine; load average {load})."
            ),
            "",
            (
                "`hostpassthru list --json`, best of the runs, in one process: `--replay FILE` "
                "reads the recording into records from memory; `--sysfs` reads the same "
                "recording materialised in tmpfs; the two run in turn after one untimed run "
                "of each, and the CPU-time "
                "ratio is that of the process's own CPU time. *old*: what `--replay` did "
                "before, write the tree out (tmpfs, or a directory on disk) and scan it. "
                "*fresh process*: "
                "`python -m hostpassthru --replay FILE list --json`, start-up included."
            ),
            "",
            table(results),
            _END,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="node counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument(
        "--old-repeat", type=int, default=1, help="runs of the old way (slow; for comparison)"
    )
    parser.add_argument("--write", metavar="FILE", help="replace the Replay section of FILE")
    args = parser.parse_args(argv)
    before = os.getloadavg()[0]
    results = [measure(int(size), args.repeat, args.old_repeat) for size in args.sizes.split(",")]
    load = (
        f"{before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores"
    )
    print(table(results))
    print(f"load average {load}")
    if args.write:
        text = Path(args.write).read_text(encoding="utf-8")
        new = section(results, sys.argv[1:] if argv is None else argv, load)
        if _BEGIN in text and _END in text:
            head, _, rest = text.partition(_BEGIN)
            text = head + new + rest.partition(_END)[2]
        else:
            text = text.rstrip("\n") + "\n\n" + new + "\n"
        Path(args.write).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
