"""The watch's costs: latency from a uevent to its change, and the CPU an idle watch takes.

    python benchmarks/watch.py [--seconds 30] [--events 20]

1. Latency, live (root, on a machine with the virtio RNG, 1af4:1044/1005):
   ``change`` is written to the RNG's ``uevent`` file (harmless: the kernel
   only re-sends the device's uevent), and the time until ``next_change()``
   returns it is measured, with the default coalescing (0.15 s) and with none.
2. Latency, polling: a driver link of the ``desktop-gpu`` fixture is flipped
   and the time until the polling watch (interval 0.5 s) reports it measured.
3. CPU of an idle ``hostpassthru watch`` process over ``--seconds``: the live
   watch (kernel or udev uevents), and polling watches of the fixture and of a
   synthetic 1,000-node tree (``benchmarks/generate.py``), from /proc/PID/stat.

Prints a Markdown table and notes; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hostpassthru as hp
from hostpassthru.testing import materialize

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from generate import generate  # noqa: I001 - found through the sys.path lines above
from realkernel import find_virtio_rng

_TICK = os.sysconf("SC_CLK_TCK")
_AUDIO = "devices/pci0000:00/0000:00:01.0/0000:01:00.1"


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rpartition(")")[2].split()
    # utime and stime are fields 14 and 15 of the whole line (11 and 12 after the name).
    return (int(fields[11]) + int(fields[12])) / _TICK


def idle_cpu(seconds: float, *args: str) -> tuple[float, str]:
    """CPU percent of an idle ``hostpassthru watch *args`` over *seconds*, and its source."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostpassthru", "watch", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = proc.stderr.readline().strip() if proc.stderr else ""
    time.sleep(1)  # let the interpreter settle after the first scan
    start = _cpu_seconds(proc.pid)
    time.sleep(seconds)
    used = _cpu_seconds(proc.pid) - start
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=10)
    return 100 * used / seconds, ready.partition("(")[2].partition(")")[0]


def live_latency(events: int, coalesce: float) -> list[float] | None:
    """Seconds from writing ``change`` to the RNG's uevent to the change; None without one."""
    address = find_virtio_rng() if os.geteuid() == 0 else None
    if address is None:
        return None
    uevent = f"/sys/bus/pci/devices/{address}/uevent"
    out = []
    with hp.watch(coalesce=coalesce) as w:
        for _ in range(events):
            time.sleep(0.05)
            started = time.perf_counter()
            with open(uevent, "w", encoding="ascii") as f:
                f.write("change")
            change = w.next_change(timeout=5)
            out.append(time.perf_counter() - started)
            if change is None:
                raise SystemExit("no change within 5 s of a uevent")
    return out


def poll_latency(events: int, interval: float) -> list[float]:
    """Seconds from flipping a driver link of a fixture tree to the polling watch's change."""
    top = tempfile.mkdtemp(prefix="hostpassthru-bench-watch-")
    try:
        root = materialize("desktop-gpu", top)
        link = f"{root}/{_AUDIO}/driver"
        drivers = ("snd_hda_intel", "vfio-pci")
        out = []
        with hp.watch(root, interval=interval) as w:
            for i in range(events):
                target = f"{root}/bus/pci/drivers/{drivers[(i + 1) % 2]}"
                os.makedirs(target, exist_ok=True)
                time.sleep(interval * (i % 7) / 7)  # spread over the polling phase
                started = time.perf_counter()
                os.unlink(link)
                os.symlink(os.path.relpath(target, os.path.dirname(link)), link)
                change = w.next_change(timeout=5)
                out.append(time.perf_counter() - started)
                if change is None:
                    raise SystemExit("no change within 5 s of a flipped driver link")
        return out
    finally:
        shutil.rmtree(top, ignore_errors=True)


def _ms(values: list[float] | None) -> str:
    if not values:
        return "n/a (needs root and the virtio RNG)"
    return (
        f"median {1000 * statistics.median(values):.1f} ms, "
        f"max {1000 * max(values):.1f} ms (n={len(values)})"
    )


def main() -> None:
    """Run every measurement and print the results as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--seconds", type=float, default=30, help="idle time per CPU run")
    parser.add_argument("--events", type=int, default=20, help="events per latency run")
    args = parser.parse_args()

    top = tempfile.mkdtemp(prefix="hostpassthru-bench-watch-")
    try:
        fixture = materialize("desktop-gpu", os.path.join(top, "fixture"))
        synthetic = generate(1000, os.path.join(top, "synthetic"))
        count = len(hp.scan(sysfs=synthetic.root))
        scan_started = time.perf_counter()
        for _ in range(10):
            hp.scan(sysfs=synthetic.root)
        scan_ms = 100 * (time.perf_counter() - scan_started)
        rows = [
            ("live latency, coalesce 0.15 s", _ms(live_latency(args.events, 0.15))),
            ("live latency, coalesce 0", _ms(live_latency(args.events, 0.0))),
            ("polling latency, interval 0.5 s", _ms(poll_latency(args.events, 0.5))),
        ]
        live, source = idle_cpu(args.seconds)
        rows.append((f"idle CPU, live watch ({source})", f"{live:.2f} %"))
        fix, _ = idle_cpu(args.seconds, "--sysfs", fixture, "--interval", "0.5")
        rows.append(("idle CPU, polling desktop-gpu (9 nodes) every 0.5 s", f"{fix:.2f} %"))
        syn, _ = idle_cpu(args.seconds, "--sysfs", synthetic.root, "--interval", "0.5")
        rows.append((f"idle CPU, polling {count} nodes every 0.5 s", f"{syn:.2f} %"))
        rows.append((f"one scan of the {count}-node tree", f"{scan_ms:.1f} ms"))
    finally:
        shutil.rmtree(top, ignore_errors=True)

    print(
        f"Machine: {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"Linux {platform.release()}; hostpassthru {hp.__version__}."
    )
    print(
        f"Command: `python benchmarks/watch.py --seconds {args.seconds:g} --events {args.events}`."
    )
    print()
    print("| measure | result |")
    print("| --- | --- |")
    for what, result in rows:
        print(f"| {what} | {result} |")


if __name__ == "__main__":
    main()
