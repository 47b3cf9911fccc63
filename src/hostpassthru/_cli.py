"""The command line: a thin layer that prints what the public API answers."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import HostpassthruError
from ._records import KINDS
from ._scan import scan

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._model import Device, Host

__all__ = ["main"]

SCHEMA = 1

_EPILOG = """\
examples:
  hostpassthru list                       what this host can pass through
  hostpassthru list --all                 every device, with why the others cannot
  hostpassthru list --cap usb_device      USB devices only
  hostpassthru --sysfs /tmp/capture/sys list --json
"""


def device_dict(dev: Device) -> dict[str, Any]:
    """A device as a JSON-ready dict: the SPEC's field names, lists for tuples."""
    out = attrs.asdict(dev)
    out["description"] = dev.description
    return out


def _id(dev: Device) -> str:
    if dev.vendor_id is None:
        return "-"
    product = "????" if dev.product_id is None else f"{dev.product_id:04x}"
    return f"{dev.vendor_id:04x}:{product}"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _cmd_list(args: argparse.Namespace, host: Host) -> int:
    if args.all:
        devices = host.devices
        if args.cap:
            devices = tuple(d for d in devices if d.kind == args.cap)
    else:
        devices = host.passthrough_devices(args.cap, include_controllers=args.controllers)
    if args.json:
        _print_json(
            {
                "iommu_enabled": host.iommu_enabled,
                "devices": [device_dict(d) for d in devices],
                "problems": list(host.problems),
            }
        )
        return 0
    header: tuple[str, ...] = ("NAME", "KIND", "GROUP", "DRIVER", "ID", "DESCRIPTION")
    if args.all:
        header = (*header[:5], "REASONS", header[5])
    rows = [header]
    for d in devices:
        row: tuple[str, ...] = (
            d.name,
            d.kind,
            "-" if d.iommu_group is None else str(d.iommu_group),
            d.driver or "-",
            _id(d),
            d.description or "-",
        )
        if args.all:
            row = (*row[:5], ",".join(d.reasons) or "-", row[5])
        rows.append(row)
    if len(rows) == 1:
        print("no devices", file=sys.stderr)
    else:
        print(_table(rows))
    _warn_problems(host)
    return 0


def _warn_problems(host: Host) -> None:
    for line in host.problems:
        print(f"hostpassthru: warning: {line}", file=sys.stderr)


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps({"schema": SCHEMA, **document}, indent=2))


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:  # noqa: ANN401
    parser.add_argument(
        "--sysfs",
        metavar="PATH",
        default=default,
        help="read the sysfs tree under PATH instead of this host",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="print one JSON document",
    )


def _parser() -> argparse.ArgumentParser:
    from . import __version__  # noqa: PLC0415 - avoid a cycle at import time

    parser = argparse.ArgumentParser(
        prog="hostpassthru",
        description="Which host devices can be passed through to a VM, and what goes with them.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _global_options(parser, None)
    # The same options after the command; SUPPRESS keeps a subcommand's unset
    # option from overwriting what was given before the command.
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p_list = sub.add_parser(
        "list",
        parents=[common],
        help="the devices that can be passed through",
        description="The devices that can be passed through, as a table or JSON.",
        epilog="examples:\n  hostpassthru list\n  hostpassthru list --all --cap pci\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p_list.add_argument("--cap", choices=KINDS, help="only devices of this kind")
    p_list.add_argument(
        "--controllers",
        action="store_true",
        help="also whole controllers whose devices could go one by one",
    )
    p_list.add_argument(
        "--all",
        action="store_true",
        help="every device, with the reasons of those that cannot go",
    )
    p_list.set_defaults(run=_cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* (default: sys.argv[1:]); returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        host = scan(args.sysfs)
        return int(args.run(args, host))
    except HostpassthruError as exc:
        print(f"hostpassthru: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (hostpassthru list | head -1): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
