"""The Kubernetes exports' costs on synthetic hosts: what they add to a scan.

    python benchmarks/export.py [--sizes 1000,10000] [--repeat 3]

For each size, a tree from ``benchmarks/generate.py`` is scanned once, then
the feature file, the NodeFeature object and the KubeVirt patch are made from
that host (best of ``--repeat``), and the feature file's size and the devices
whose facts did not fit under NFD's 64 KiB are reported. Prints a Markdown
table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import hostpassthru as hp
from hostpassthru import _export

sys.path.insert(0, str(Path(__file__).parent))
from generate import generate  # found through the sys.path line above


def _best(repeat: int, work: object) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str]) -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    now = dt.datetime.now(dt.UTC)
    hour = dt.timedelta(hours=1)
    rows = [
        (
            "| nodes | passthrough devices | scan s | feature file s | NodeFeature s "
            "| KubeVirt patch s | file bytes | facts left out |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="hostpassthru-export-bench-") as top:
            tree = generate(size, top)
            start = time.perf_counter()
            host = hp.scan(sysfs=tree.root)
            scan_s = time.perf_counter() - start
            made = _export.feature_file(host, now=now, expiry=hour)
            states = _export.device_states(host)
            nfd_s = _best(args.repeat, lambda h=host: _export.feature_file(h, now=now, expiry=hour))
            nf_s = _best(args.repeat, lambda h=host: _export.node_feature(h, node="n"))
            kv_s = _best(args.repeat, lambda h=host: _export.kubevirt_patch([("n", h)]))
            rows.append(
                f"| {len(host.devices):,} | {len(states):,} | {scan_s:.2f} | {nfd_s:.2f} "
                f"| {nf_s:.2f} | {kv_s:.2f} | {len(made.text.encode()):,} "
                f"| {len(made.omitted):,} |"
            )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
