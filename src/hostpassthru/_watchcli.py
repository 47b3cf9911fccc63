"""``hostpassthru watch``: each change of the host as human lines or one JSON line."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import attrs

from ._documents import SCHEMA, device_dict
from ._explain import class_name

if TYPE_CHECKING:
    import argparse

    from ._changes import Change, DeviceChange, GroupChange
    from ._watch import Watch

__all__ = ["add_parser", "change_document", "change_lines", "run"]


def _jsonable(value: Any) -> Any:  # noqa: ANN401 - any field of a Device
    if attrs.has(type(value)):
        return attrs.asdict(value)
    return list(value) if isinstance(value, tuple) else value


def _changed(c: DeviceChange) -> dict[str, Any]:
    return {
        "name": c.name,
        "sys_name": c.after.sys_name,
        "fields": {
            f: {"before": _jsonable(before), "after": _jsonable(after)}
            for f in c.fields
            for before, after in (c.values(f),)
        },
    }


def _group(g: GroupChange) -> dict[str, Any]:
    v = g.verdict
    return {
        "number": g.number,
        "verdict": None if v is None else v.verdict,
        "summary": g.summary,
        "members": [] if v is None else [m.name for m in v.members],
        "going": [] if v is None else [m.name for m in v.going],
        "host_drivers": {d.name: d.driver for d in g.host_drivers},
        "viable": g.viable,
    }


def change_document(change: Change) -> dict[str, Any]:
    """A change as one JSON-ready document (``"schema": 1``)."""
    return {
        "schema": SCHEMA,
        "cause": change.cause,
        "added": [device_dict(d) for d in change.added],
        "removed": [device_dict(d) for d in change.removed],
        "changed": [_changed(c) for c in change.changed],
        "groups": [_group(g) for g in change.groups],
        "events": [attrs.asdict(e) | {"sys_name": e.sys_name} for e in change.events],
    }


def _value(value: Any) -> str:  # noqa: ANN401 - any field of a Device
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) or "()"
    return str(value)


#: Fields shown with their values; the others are named only.
_SHOWN = (
    "driver",
    "iommu_group",
    "eligible",
    "reasons",
    "parent",
    "pci.driver_override",
    "pci.sriov_numvfs",
    "pci.physfn",
    "usb.devnum",
)


def change_lines(change: Change) -> list[str]:
    """A change as human lines: + added, - removed, ~ changed, group verdicts, = events."""
    stamp = time.strftime("%H:%M:%S")
    lines = []
    if change.cause == "overflow":
        lines.append(f"{stamp} ! events were lost (monitor overflow); the host was scanned anew")
    for d in change.added:
        mark = "passthrough" if d.eligible else ", ".join(d.reasons) or "-"
        what = d.description or class_name(d)
        lines.append(f"{stamp} + {d.name}  {what}  [{d.driver or 'no driver'}]  ({mark})")
    lines.extend(f"{stamp} - {d.name}  {d.description or class_name(d)}" for d in change.removed)
    for c in change.changed:
        shown = [f for f in c.fields if f in _SHOWN]
        parts = [
            f"{f}: {_value(getattr(c.before, f))} -> {_value(getattr(c.after, f))}" for f in shown
        ]
        others = [f for f in c.fields if f not in _SHOWN]
        if others and not parts and others == ["children"]:
            continue  # a child came or went: its own + or - line says it
        if others:
            parts.append("also " + ", ".join(others))
        lines.append(f"{stamp} ~ {c.name}  " + "; ".join(parts))
    lines.extend(f"{stamp}   group {g.number}: {g.summary}" for g in change.groups)
    if len(lines) == (change.cause == "overflow"):
        # Events that changed nothing that matters (a "change" uevent, say): say so.
        names = sorted({e.sys_name for e in change.events})
        actions = sorted({e.action for e in change.events})
        lines.append(
            f"{stamp} = {', '.join(names) or 'host'}  {'/'.join(actions) or 'rescan'}: "
            "nothing changed that matters here"
        )
    return lines


def add_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add the ``watch`` command."""
    import argparse  # noqa: PLC0415 - only for the formatter class

    p = sub.add_parser(
        "watch",
        parents=[common],
        help="print each change of the host as it happens (Ctrl-C stops)",
        description=(
            "Print each change of the host as it happens: devices added, removed and "
            "changed, and the new verdict of each IOMMU group that changed. With --json, "
            "one JSON document per line. Ctrl-C stops."
        ),
        epilog="examples:\n  hostpassthru watch\n  hostpassthru watch --json | jq .groups\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--coalesce",
        type=float,
        default=0.15,
        metavar="SECONDS",
        help="wait this long for a burst of events to end (default: 0.15)",
    )
    p.add_argument(
        "--interval",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="with --sysfs or --replay, scan the tree this often (default: 0.5)",
    )
    p.add_argument(
        "--source",
        choices=("udev", "kernel"),
        help="whose uevents: udevd's or the kernel's (default: udev where udevd runs)",
    )
    p.set_defaults(run=None, run_watch=run)


def run(args: argparse.Namespace, sysfs: str | None, proc: str | None) -> int:
    """Watch until Ctrl-C (exit 0); a closed pipe ends it through the caller's handler."""
    from ._watch import watch  # noqa: PLC0415 - only this command needs it; start-up stays quick

    if args.coalesce < 0 or args.interval <= 0:
        print("hostpassthru: --coalesce must be >= 0 and --interval > 0", file=sys.stderr)
        return 2
    try:
        w = watch(
            sysfs, proc=proc, coalesce=args.coalesce, interval=args.interval, source=args.source
        )
    except ValueError as exc:  # --source udev where udevd does not run
        print(f"hostpassthru: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    try:
        with w:
            _print_changes(args, w)
    except KeyboardInterrupt:
        pass
    return 0


def _print_changes(args: argparse.Namespace, w: Watch) -> None:
    what = (
        f"polling {w.sysfs} every {args.interval} s"
        if w.source == "poll"
        else (f"{w.source} uevents")
    )
    print(
        f"hostpassthru: watching {len(w.host)} devices ({what}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    for change in w:
        if args.json:
            print(json.dumps(change_document(change)), flush=True)
        else:
            print("\n".join(change_lines(change)), flush=True)
