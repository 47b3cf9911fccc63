"""The command line: a thin layer that prints what the public API answers."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from ._cli_table import table
from ._documents import json_document
from ._errors import HostpassthruError
from ._records import KINDS
from ._scan import check, explain_affected, group_verdicts, iommu_status, replay_file, scan

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ._explain import Affected
    from ._model import Device, Host, PciInfo
    from ._readiness import Assessment, IommuStatus

__all__ = ["main", "run"]

_EPILOG = """\
examples:
  hostpassthru list                       what this host can pass through
  hostpassthru list --all                 every device, with why the others cannot
  hostpassthru tree                       the host as one tree
  hostpassthru show 0000:01:00.0          every fact about one device
  hostpassthru affected pci_0000_01_00_0  what leaves the host with it, and why
  hostpassthru groups                     the IOMMU groups, each with a verdict
  hostpassthru check                      the IOMMU, and a verdict per device
  hostpassthru check 0000:01:00.0         every finding on one device, with hints
  hostpassthru record --anonymize -o myhost.umockdev
  hostpassthru watch --json               each change of the host, as it happens
  hostpassthru --replay myhost.umockdev tree
  hostpassthru --sysfs /tmp/capture/sys list --json
  hostpassthru export nfd                 node labels for Kubernetes (NFD)
  hostpassthru export kubevirt            KubeVirt's permittedHostDevices
  hostpassthru prepare 0000:01:00.0 --dry-run   what moving its group to vfio-pci takes
  hostpassthru prepare 0000:01:00.0       move the whole group to vfio-pci, journaled
  hostpassthru release 0000:01:00.0       give it back exactly
  hostpassthru vfs 0000:3b:00.0 0 --dry-run     what disabling its VFs removes
  hostpassthru mdev create 0000:00:02.0 i915-GVTg_V5_8
"""


def _id(dev: Device) -> str:
    if dev.vendor_id is None:
        return "-"
    product = "????" if dev.product_id is None else f"{dev.product_id:04x}"
    return f"{dev.vendor_id:04x}:{product}"


def _cmd_list(args: argparse.Namespace, host: Host) -> int:
    if args.json:
        _print_json(
            json_document(
                "list",
                host=host,
                cap=args.cap,
                include_controllers=args.controllers,
                include_all=args.all,
            )
        )
        return 0
    if args.all:
        devices = tuple(d for d in host.devices if args.cap is None or d.kind == args.cap)
    else:
        devices = host.passthrough_devices(args.cap, include_controllers=args.controllers)
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
        print("no devices" if args.all else "no passthrough devices")
    else:
        print(table(rows))
    parents = [d for d in host.devices if d.mdev_types] if args.cap == "mdev" else []
    if parents:
        types: list[tuple[str, ...]] = [("PARENT", "TYPE", "NAME", "API", "AVAILABLE", "DEVICES")]
        types += [
            (
                p.name,
                t.id,
                t.name or "-",
                t.device_api or "-",
                "-" if t.available_instances is None else str(t.available_instances),
                str(len(t.devices)),
            )
            for p in parents
            for t in p.mdev_types
        ]
        print()
        print(table(types))
    _warn_problems(host)
    return 0


class _Style:
    """Colour and line drawing for a terminal; plain text for pipes and files."""

    def __init__(self) -> None:
        tty = sys.stdout.isatty()
        self.colour = tty and "NO_COLOR" not in os.environ
        encoding = (sys.stdout.encoding or "").lower().replace("-", "")
        self.unicode = tty and encoding == "utf8"

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def mark(self, dev: Device) -> str:
        if dev.eligible:
            return self.paint("[passthrough]", "32")
        return self.paint("(" + ", ".join(dev.reasons) + ")", "2")


def _line(dev: Device, style: _Style) -> str:
    from ._explain import class_name  # noqa: PLC0415 - kept off list's import path

    parts = [dev.sys_name, dev.description or class_name(dev), f"[{dev.driver or 'no driver'}]"]
    if dev.iommu_group is not None:
        parts.append(f"group {dev.iommu_group}")
    parts.append(style.mark(dev))
    return "  ".join(parts)


def _cmd_tree(args: argparse.Namespace, host: Host) -> int:
    if args.json:
        _print_json(json_document("tree", host=host))
        return 0
    roots = [d for d in host.devices if d.parent is None]
    style = _Style()
    tee, last, bar = ("├── ", "└── ", "│   ") if style.unicode else ("|-- ", "`-- ", "|   ")
    lines: list[str] = []

    def walk(dev: Device, prefix: str, is_last: bool, top: bool) -> None:
        lines.append(("" if top else prefix + (last if is_last else tee)) + _line(dev, style))
        kids = host.children(dev)
        below = "" if top else prefix + ("    " if is_last else bar)
        for i, kid in enumerate(kids):
            walk(kid, below, i == len(kids) - 1, top=False)

    for root in roots:
        walk(root, "", is_last=True, top=True)
    print("\n".join(lines) if lines else "no devices")
    _warn_problems(host)
    return 0


def _why(item: Affected) -> str:
    if item.why == "iommu_group":
        return f"same IOMMU group as {item.via}"
    return f"beneath {item.via}"


def _cmd_affected(args: argparse.Namespace, host: Host) -> int:
    dev = host.device(args.device)
    if args.json:
        _print_json(json_document("affected", dev, host=host))
        return 0
    rows: list[tuple[str, ...]] = [
        (a.device.name, _why(a)) for a in explain_affected(dev, host=host)
    ]
    if rows:
        print(table(rows))
    else:
        print(f"nothing else leaves the host with {dev.name}")
    _warn_problems(host)
    return 0


def _facts(dev: Device) -> list[tuple[str, str]]:
    from ._explain import class_name  # noqa: PLC0415 - kept off list's import path

    def text(value: object) -> str:
        if value is None or value == ():
            return "-"
        if isinstance(value, tuple):
            return ", ".join(str(v) for v in value)
        return str(value)

    facts = [
        ("name", dev.name),
        ("kernel name", dev.sys_name),
        ("kind", dev.kind),
        ("what", class_name(dev)),
        ("description", text(dev.description)),
        ("id", _id(dev)),
        ("driver", text(dev.driver)),
        ("path", dev.path),
        ("parent", text(dev.parent)),
        ("children", text(dev.children)),
        ("iommu group", text(dev.iommu_group)),
        ("eligible", "yes" if dev.eligible else "no: " + ", ".join(dev.reasons)),
    ]
    if dev.pci is not None:
        p = dev.pci
        facts += [
            ("class", "-" if p.class_code is None else f"0x{p.class_code:06x}"),
            (
                "subsystem",
                "-"
                if p.subsystem_vendor_id is None or p.subsystem_product_id is None
                else f"{p.subsystem_vendor_id:04x}:{p.subsystem_product_id:04x}",
            ),
            ("revision", "-" if p.revision is None else f"0x{p.revision:02x}"),
            ("numa node", text(p.numa_node)),
            (
                "sr-iov pf",
                text(p.physfn) + ("" if p.vf_index is None else f" (VF {p.vf_index})"),
            ),
            ("sr-iov vfs", _vf_count(p)),
            (
                "reset",
                "none"
                if not (p.reset_methods or p.has_reset)
                else text(p.reset_methods)
                if p.reset_methods
                else "yes",
            ),
            ("boot vga", "yes" if p.boot_vga else "-"),
        ]
    if dev.pci is not None and dev.pci.vgpu is not None:
        v = dev.pci.vgpu
        current = "-" if v.current is None else "none" if v.current == 0 else str(v.current)
        name = v.current_name
        facts += [
            ("vgpu type", current + (f" ({name})" if name and v.current else "")),
            ("vgpu creatable", ", ".join(f"{t.id} ({t.name})" for t in v.creatable) or "none"),
        ]
    if dev.mdev is not None:
        m = dev.mdev
        facts += [
            ("mdev type", text(m.type_id) + (f" ({m.type_name})" if m.type_name else "")),
            ("device api", text(m.device_api)),
        ]
    if dev.usb is not None:
        u = dev.usb
        facts += [
            ("bus/device", f"{text(u.busnum)}/{text(u.devnum)}"),
            ("speed", "-" if u.speed is None else f"{u.speed} Mbit/s"),
            ("serial", text(u.serial)),
            ("manufacturer", text(u.manufacturer)),
            ("product", text(u.product)),
            ("device class", "-" if u.device_class is None else f"{u.device_class:02x}"),
            ("interfaces", text(tuple(f"{c:02x}" for c in u.interface_classes))),
        ]
    if dev.scsi is not None:
        c = dev.scsi
        facts += [
            ("h:c:t:l", "-" if c.hctl is None else ":".join(map(str, c.hctl))),
            ("type", text(c.type)),
            ("vendor", text(c.vendor)),
            ("model", text(c.model)),
            ("block device", text(c.block)),
            ("generic", text(c.generic)),
        ]
    return facts


def _vf_count(p: PciInfo) -> str:
    if p.sriov_numvfs is None:
        return "-"
    total = "" if p.sriov_totalvfs is None else f" of {p.sriov_totalvfs}"
    probe = p.sriov_drivers_autoprobe
    autoprobe = "" if probe is None else f", drivers autoprobe {'on' if probe else 'off'}"
    return f"{p.sriov_numvfs}{total} enabled{autoprobe}"


def _virt_rows(host: Host, dev: Device) -> list[tuple[str, ...]]:
    """A PF's VFs, one line each, and a parent's mediated-device types."""
    rows: list[tuple[str, ...]] = []
    if dev.pci is not None:
        for n, name in enumerate(dev.pci.vfs):
            vf = host.device(name) if name in host else None
            what = "gone" if vf is None else f"[{vf.driver or 'no driver'}]"
            group = "" if vf is None or vf.iommu_group is None else f"  group {vf.iommu_group}"
            rows.append(("virtual functions:" if n == 0 else "", f"VF {n}  {name}  {what}{group}"))
    for n, t in enumerate(dev.mdev_types):
        available = "-" if t.available_instances is None else str(t.available_instances)
        line = f"{t.id}  {t.name or '-'}  {t.device_api or '-'}  {available} available"
        if t.devices:
            line += "  (" + ", ".join(t.devices) + ")"
        rows.append(("mdev types:" if n == 0 else "", line))
    return rows


def _cmd_show(args: argparse.Namespace, host: Host) -> int:
    dev = host.device(args.device)
    group = next(
        (v for v in group_verdicts(host=host) if dev.kind == "pci" and v.number == dev.iommu_group),
        None,
    )
    if args.json:
        _print_json(json_document("show", dev, host=host))
        return 0
    rows: list[tuple[str, ...]] = [(f"{k}:", v) for k, v in _facts(dev)]
    rows += _virt_rows(host, dev)
    if group is not None:
        rows.append(
            (
                "group members:",
                ", ".join(
                    m.name + (" (stays)" if m in group.staying else "") for m in group.members
                ),
            )
        )
        rows.append(("group verdict:", group.verdict))
    goes = explain_affected(dev, host=host)
    rows.append(("goes with it:", ", ".join(f"{a.device.name} ({_why(a)})" for a in goes) or "-"))
    assessment = check(dev, host=host)
    codes = ", ".join(f.code for f in assessment.findings if f.severity != "info")
    rows.append(
        ("readiness:", assessment.verdict.replace("_", " ") + (f" ({codes})" if codes else "")),
    )
    print(table(rows))
    _warn_problems(host)
    return 0


def _cmd_groups(args: argparse.Namespace, host: Host) -> int:
    if args.json:
        _print_json(json_document("groups", host=host))
        return 0
    from ._explain import class_name  # noqa: PLC0415 - kept off list's import path

    verdicts = group_verdicts(host=host)
    if not verdicts:
        print(f"no IOMMU groups: the IOMMU is off or absent; hint: {iommu_status(host=host).hint}")
        _warn_problems(host)
        return 0
    style = _Style()
    blocks = []
    for v in verdicts:
        lines = [style.paint(f"group {v.number}", "1") + f": {v.verdict}"]
        for m in v.members:
            stays = "  (stays with the host)" if m in v.staying else ""
            lines.append(
                f"  {m.sys_name}  {m.description or class_name(m)}  "
                f"[{m.driver or 'no driver'}]{stays}"
            )
        blocks.append("\n".join(lines))
    print("\n\n".join(blocks))
    _warn_problems(host)
    return 0


def _warn_problems(host: Host) -> None:
    for line in host.problems:
        print(f"hostpassthru: warning: {line}", file=sys.stderr)


def _print_json(document: dict[str, Any]) -> None:
    print(json.dumps(document, indent=2))


def _global_options(parser: argparse.ArgumentParser, default: Any) -> None:  # noqa: ANN401
    parser.add_argument(
        "--sysfs",
        metavar="PATH",
        default=default,
        help="read the sysfs tree under PATH instead of this host",
    )
    parser.add_argument(
        "--proc",
        metavar="PATH",
        default=default,
        help="read the /proc facts (mounts, swap, routes, command line) under PATH",
    )
    parser.add_argument(
        "--replay",
        metavar="FILE",
        default=default,
        help="read a recording (hostpassthru record, umockdev-record) instead of this host",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if default is None else default,
        help="print one JSON document",
    )


class _Version(argparse.Action):
    """--version, which reads the installed version only when asked: that read is slow."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        del namespace, values, option_string
        from . import __version__  # noqa: PLC0415 - the package imports this module

        print(f"{parser.prog} {__version__}")
        parser.exit()


def _columns() -> int:
    """The terminal's width, found as ``shutil.get_terminal_size()`` finds it.

    argparse makes a formatter for every option it is given, and its own asks
    shutil for the width; importing shutil (with bz2 and lzma) costs each run
    about 2 ms, for a number only a help or usage message uses.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    stdout = sys.__stdout__  # None without a console
    if columns <= 0 and stdout is not None:
        with contextlib.suppress(ValueError, OSError):  # closed, or not a terminal
            columns = os.get_terminal_size(stdout.fileno()).columns
    return columns if columns > 0 else 80


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """argparse's formatter for text laid out by hand, told the width (see _columns)."""

    def __init__(self, prog: str) -> None:
        # argparse keeps two columns free, as it does with the width it finds itself.
        super().__init__(prog, width=_columns() - 2)


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hostpassthru",
        description="Which host devices can be passed through to a VM, and what goes with them.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    _global_options(parser, None)
    # The same options after the command; SUPPRESS keeps a subcommand's unset
    # option from overwriting what was given before the command.
    common = argparse.ArgumentParser(add_help=False, formatter_class=_Formatter)
    _global_options(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p_list = sub.add_parser(
        "list",
        parents=[common],
        help="the devices that can be passed through",
        description="The devices that can be passed through, as a table or JSON.",
        epilog="examples:\n  hostpassthru list\n  hostpassthru list --all --cap pci\n",
        formatter_class=_Formatter,
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

    def command(name: str, helptext: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            parents=[common],
            help=helptext,
            description=helptext[0].upper() + helptext[1:] + ".",
            epilog=f"example:\n  {example}\n",
            formatter_class=_Formatter,
        )

    command(
        "tree", "the whole host as one tree, with marks and reasons", "hostpassthru tree"
    ).set_defaults(run=_cmd_tree)
    p_show = command("show", "every fact about one device", "hostpassthru show 0000:01:00.0")
    p_show.add_argument("device", help="a name (pci_0000_01_00_0) or kernel name (0000:01:00.0)")
    p_show.set_defaults(run=_cmd_show)
    p_aff = command(
        "affected",
        "what leaves the host with DEVICE, and why",
        "hostpassthru affected pci_0000_01_00_0",
    )
    p_aff.add_argument("device", help="a name (pci_0000_01_00_0) or kernel name (0000:01:00.0)")
    p_aff.set_defaults(run=_cmd_affected)
    command(
        "groups", "every IOMMU group with its members and a verdict", "hostpassthru groups"
    ).set_defaults(run=_cmd_groups)
    p_check = command(
        "check",
        "say before the VM fails: the IOMMU, and each device's verdict and findings",
        "hostpassthru check 0000:01:00.0",
    )
    p_check.add_argument(
        "devices",
        nargs="*",
        metavar="DEVICE",
        help="devices to check (default: all passthrough devices)",
    )
    p_check.set_defaults(run=_cmd_check)
    p_rec = command(
        "record",
        "write this host's devices as a recording, to replay or attach to a bug report",
        "hostpassthru record --anonymize -o myhost.umockdev",
    )
    p_rec.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p_rec.add_argument(
        "--anonymize",
        action="store_true",
        help="replace serial numbers with stable placeholders, and say which on stderr",
    )
    p_rec.set_defaults(run=_cmd_record)
    _add_lazy_commands(sub, common, _wanted(argv))
    return parser


#: Commands whose modules are imported only when one of them is asked for: they
#: bring the write layer, the journal, the exporters and the monitor, most of the
#: start-up cost of a plain ``hostpassthru list``.
_LAZY = {
    "export": "export",
    "prepare": "binding",
    "release": "binding",
    "recover": "binding",
    "prepared": "binding",
    "watch": "watch",
    "vfs": "acts",
    "mdev": "acts",
    "vgpu": "acts",
}
_CORE = frozenset({"list", "tree", "show", "affected", "groups", "check", "record"})


def _wanted(argv: Sequence[str] | None) -> frozenset[str] | None:
    """The lazy command groups *argv* names; None for all of them (help, or no command)."""
    for token in sys.argv[1:] if argv is None else argv:
        if token in ("-h", "--help"):
            return None
        if token in _LAZY:
            return frozenset({_LAZY[token]})
        if token in _CORE:
            return frozenset()
    return None


def _add_lazy_commands(
    sub: Any,  # noqa: ANN401 - argparse's private subparsers type
    common: argparse.ArgumentParser,
    wanted: frozenset[str] | None,
) -> None:
    def want(group: str) -> bool:
        return wanted is None or group in wanted

    # Imports inside: they are the point of the lazy table above.
    if want("export"):
        from ._cli_export import add_commands  # noqa: PLC0415 - see above

        add_commands(sub, common)
    if want("binding") or want("acts"):
        from . import _cli_binding  # noqa: PLC0415 - see above

        if want("binding"):
            _cli_binding.add_commands(sub, common)
    if want("watch"):
        from ._watchcli import add_parser  # noqa: PLC0415 - see above

        add_parser(sub, common)
    if want("acts"):
        from . import _cli_acts  # noqa: PLC0415 - see above

        _cli_acts.add_commands(sub, common, list(_cli_binding.acting_parents()))


def _cmd_record(args: argparse.Namespace, host: Host) -> int:
    from ._record import record  # noqa: PLC0415 - only this command writes recordings

    recorded = record(host, anonymize=args.anonymize, proc=args.proc_root)
    if args.output in (None, "-"):
        sys.stdout.write(recorded.text)
    else:
        try:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(recorded.text)
        except OSError as exc:
            print(f"hostpassthru: {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    for line in recorded.replaced:
        print(f"hostpassthru: anonymized {line}", file=sys.stderr)
    if recorded.holds:
        print("hostpassthru: the recording holds:", file=sys.stderr)
        for line in recorded.holds:
            print(f"hostpassthru:   {line}", file=sys.stderr)
        print(
            "hostpassthru: to attach it to a public report, record with --anonymize",
            file=sys.stderr,
        )
    return 0


EXIT_NEEDS_PREPARATION = 3
EXIT_BLOCKED = 4
_VERDICT_EXIT = {
    "ready": 0,
    "needs_preparation": EXIT_NEEDS_PREPARATION,
    "blocked": EXIT_BLOCKED,
    "unknown": EXIT_BLOCKED,  # not known to be passable: a script must not go on
}


def _iommu_lines(status: IommuStatus) -> list[str]:
    def yes_no(value: bool | None) -> str:
        return "unknown" if value is None else "on" if value else "off"

    units = ", ".join(f"{name} ({kind})" for name, kind in status.units) or "none listed"
    state = "on" if status.enabled else "off"
    remapping = yes_no(status.interrupt_remapping)
    lines = [f"IOMMU: {state}; units: {units}; interrupt remapping: {remapping}"]
    if status.cmdline is not None:
        options = [
            f"{key}={value}"
            for key, value in (
                ("intel_iommu", status.intel_iommu),
                ("amd_iommu", status.amd_iommu),
                ("iommu", status.iommu),
                ("pcie_acs_override", status.acs_override),
                ("vfio-pci.ids", ",".join(status.vfio_pci_ids) or None),
            )
            if value is not None
        ]
        lines.append(f"kernel command line: {' '.join(options) or 'no IOMMU options'}")
    if status.hint:
        lines.append(f"hint: {status.hint}")
    return lines


def _short(sys_name: str) -> str:
    """A PCI address without the usual domain (``00:1f.3``); other names as they are."""
    return sys_name.removeprefix("0000:")


def _summary(host: Host, result: Assessment) -> str:
    """The non-info finding codes of one device, naming the devices they concern.

    ``no_reset`` when it concerns the device itself; ``host_driver: 01:00.1`` or
    ``host_driver x3: 00:1f.0, 00:1f.3, 00:1f.4`` when it concerns others too.
    """
    concerns: dict[str, list[str]] = {}
    for f in result.findings:
        if f.severity != "info":
            concerns.setdefault(f.code, []).append(f.device)
    parts = []
    for code, names in concerns.items():
        devices = list(dict.fromkeys(names))
        if devices == [result.device]:
            parts.append(code if len(names) == 1 else f"{code} x{len(names)}")
            continue
        count = f" x{len(devices)}" if len(devices) > 1 else ""
        where = ", ".join(_short(host.device(n).sys_name) for n in devices)
        parts.append(f"{code}{count}: {where}")
    return "; ".join(parts) or "-"


def _cmd_check(args: argparse.Namespace, host: Host) -> int:
    devices = [host.device(d) for d in args.devices] if args.devices else host.passthrough_devices()
    results = [check(d, host=host) for d in devices]
    status = iommu_status(host=host)
    code = max((_VERDICT_EXIT[r.verdict] for r in results), default=0)
    if args.json:
        _print_json(json_document("check", *devices, host=host))
        return code
    lines = _iommu_lines(status)
    if args.devices:
        for r in results:
            lines += ["", f"{r.device}: {r.verdict.replace('_', ' ')}"]
            for f in r.findings:
                concerns = "" if f.device == r.device else f" ({f.device})"
                lines.append(f"  {f.severity}: {f.code}{concerns}: {f.message}")
                if f.hint:
                    lines.append(f"    hint: {f.hint}")
    else:
        rows: list[tuple[str, ...]] = [("NAME", "VERDICT", "FINDINGS")]
        rows += [
            (
                r.device,
                r.verdict.replace("_", " "),
                _summary(host, r),
            )
            for r in results
        ]
        lines += ["", table(rows) if results else "no passthrough devices"]
    print("\n".join(lines))
    _warn_problems(host)
    return code


@contextlib.contextmanager
def _sysfs_root(args: argparse.Namespace) -> Iterator[tuple[str | None, str | None]]:
    """The tree to read: --sysfs, a --replay recording written out for the while, or this host.

    Only ``record --replay`` writes a recording out: the recorder reads a tree.
    """
    if args.replay is None:
        yield args.sysfs, args.proc
        return
    # Imported here: only --replay needs them, and every command starts faster.
    import tempfile  # noqa: PLC0415

    from ._recording import materialize, read_recording  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="hostpassthru-replay-") as top:
        root = materialize(read_recording(args.replay), top)
        proc = os.path.join(top, "proc")
        yield root, args.proc or (proc if os.path.isdir(proc) else None)


def _run_on(args: argparse.Namespace, root: str | None, proc: str | None) -> int:
    """Run the command on the tree at *root* (None: this host)."""
    if args.run is None:  # watch scans for itself, after opening its monitor
        return int(args.run_watch(args, root, proc))
    host = scan(root, proc=proc)
    # The /proc that scan() read: given, the replay's, or this host's for a live scan.
    args.proc_root = proc if root is not None else proc or "/proc"
    return int(args.run(args, host))


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one exit per outcome
    """Run the command line with *argv* (default: sys.argv[1:]); returns the exit code."""
    parser = _parser(argv)
    args = parser.parse_args(argv)
    if args.sysfs is not None and args.replay is not None:
        parser.error("--sysfs and --replay cannot be used together")
    try:
        if getattr(args, "act", False):
            # prepare, release, recover, prepared: they read the host themselves,
            # under the lock, and act on it.
            from . import _cli_binding  # noqa: PLC0415 - imported only for its commands

            return _cli_binding.run(args)
        if getattr(args, "replays", None):
            # export kubevirt --replay FILE ...: the command reads its hosts itself.
            return int(args.run(args, None))
        if args.replay is not None and args.run not in (_cmd_record, None):
            # Replayed from memory; only record writes the tree out, to read it back.
            return int(args.run(args, replay_file(args.replay, proc=args.proc)))
        with _sysfs_root(args) as (root, proc):
            return _run_on(args, root, proc)
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


def run() -> int:
    """The ``hostpassthru`` command: :func:`main` on this process's arguments, as it ends.

    On its way out the interpreter searches every object for reference cycles
    and frees what it finds: the classes and functions of every module loaded,
    about 6 ms of a ``list`` on a small host. The process is ending, so the
    objects are frozen (left out of every later collection) and the operating
    system takes the memory back. Files are closed by their ``with`` blocks,
    and standard output is flushed at exit as before.
    """
    code = main()
    gc.freeze()
    return code
