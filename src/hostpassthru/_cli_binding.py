"""The ``prepare``, ``release``, ``prepared`` and ``recover`` commands: plans, acts, exit codes.

Exit status (BINDING): 0 done (with --dry-run: would be done); 4 refused,
nothing written; 5 failed and rolled back; 6 failed and not everything could
be given back (the message says what is left). The commands that make and
remove devices (``_cli_acts``) share the exit codes, the options, the JSON of
findings and writes, and :func:`report`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from . import _seam
from ._acting import DEFAULT_TIMEOUT, DEFAULT_WAIT
from ._acts import ActError, ActRefusedError
from ._binding import BindingError, Outcome, RefusedError, prepare, prepared, recover, release
from ._cli_table import table
from ._documents import SCHEMA
from ._simkernel import SimulatedKernel

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._journal import JournalEntry
    from ._model import Host
    from ._plan import Write
    from ._readiness import Finding

__all__ = [
    "EXIT_FAILED",
    "EXIT_LEFT",
    "EXIT_REFUSED",
    "Views",
    "add_commands",
    "finding_dict",
    "findings_lines",
    "outcome_document",
    "report",
    "write_dict",
]

EXIT_REFUSED = 4
EXIT_FAILED = 5
EXIT_LEFT = 6

_PREPARE_EPILOG = """\
The device's whole IOMMU group moves (bridges and PCIe ports stay); each member's
driver, module and driver_override are journaled first, so that release gives
them back exactly and recover does after a crash. Exit status: 0 done, 4 refused
(nothing written), 5 failed and rolled back, 6 failed and not rolled back.

examples:
  hostpassthru prepare 0000:01:00.0 --dry-run   the plan: members, refusals, writes
  hostpassthru prepare 0000:01:00.0             to vfio-pci, the whole group
  hostpassthru prepare 0000:01:00.0 --driver auto --load-module
  hostpassthru prepare 0000:00:05.0 --driver none   unbind only, leave driverless
"""

_RELEASE_EPILOG = """\
Each device gets its original driver back by name, and its original
driver_override; a device that had no driver gets none.

examples:
  hostpassthru release 0000:01:00.0
  hostpassthru release --all --dry-run
"""


def write_dict(write: Write) -> dict[str, str]:
    """A write, as the JSON of every acting command holds it."""
    return {
        "device": write.device,
        "step": write.step,
        "path": f"/sys/{write.path}",
        "data": write.data.decode(),
    }


def finding_dict(finding: Finding) -> dict[str, Any]:
    """A refusal or a note, as the JSON of every acting command holds it."""
    return {
        "code": finding.code,
        "device": finding.device,
        "message": finding.message,
        "hint": finding.hint,
    }


def outcome_document(outcome: Outcome) -> dict[str, Any]:
    """The JSON document of a prepare, release or recover (``--json``)."""
    return {
        "schema": SCHEMA,
        "action": outcome.action,
        "dry_run": outcome.dry_run,
        "members": [attrs.asdict(m) for m in outcome.members],
        "refusals": [finding_dict(f) for f in outcome.refusals],
        "notes": [finding_dict(f) for f in outcome.notes],
        "writes": [write_dict(w) for w in outcome.writes],
        "done": outcome.done,
        "rolled_back": outcome.rolled_back,
        "error": outcome.error,
        "journals": list(outcome.journals),
    }


def _members_table(outcome: Outcome, *, states: bool) -> str:
    header = ("DEVICE", "FROM", "OVERRIDE", "TO") + (("STATE",) if states else ())
    rows = [header]
    for m in outcome.members:
        row = (m.sys_name, m.from_driver or "-", m.from_override or "-", m.to_driver or "(none)")
        rows.append(row + ((m.state.replace("_", " "),) if states else ()))
    return table(rows)


def findings_lines(title: str, findings: tuple[Finding, ...]) -> list[str]:
    """*title*, then each finding with its hint; nothing at all for no findings."""
    lines = [title] if findings else []
    for f in findings:
        lines.append(f"  {f.code} ({f.device}): {f.message}")
        if f.hint:
            lines.append(f"    hint: {f.hint}")
    return lines


def _print_plan(outcome: Outcome) -> None:
    lines = []
    if outcome.members:
        lines.append(_members_table(outcome, states=False))
    if outcome.plan is not None and outcome.plan.staying:
        lines.append("stays with the host: " + ", ".join(outcome.plan.staying))
    lines += findings_lines("notes:", outcome.notes)
    if outcome.refusals:
        pass
    elif outcome.writes:
        lines.append("writes:")
        lines += [f"  {w}" for w in outcome.writes]
    elif not outcome.refusals:
        lines.append("nothing to write")
    print("\n".join(lines))


def _print_result(outcome: Outcome) -> None:
    if outcome.members:
        print(_members_table(outcome, states=True))
    journal = f" (journal {', '.join(outcome.journals)})" if outcome.journals else ""
    if outcome.done and outcome.action == "prepare":
        print(f"prepared{journal}")
    elif outcome.done:
        print(f"given back{journal}" if outcome.members else "nothing to give back")


def _print_refused(outcome: Outcome) -> None:
    _print_plan(outcome)
    print("\n".join(findings_lines("refused, nothing written:", outcome.refusals)))


@attrs.frozen
class Views:
    """How one family of acting commands shows its outcomes (of one type)."""

    #: The ``--json`` document.
    document: Callable[[Any], dict[str, Any]]
    #: What would be done (a dry run), and what was refused.
    plan: Callable[[Any], None]
    refused: Callable[[Any], None]
    #: What was done, or how far it got before a failure.
    result: Callable[[Any], None]


_VIEWS = Views(
    document=outcome_document, plan=_print_plan, refused=_print_refused, result=_print_result
)


def report(args: argparse.Namespace, act: Callable[[], Any], views: Views) -> int:
    """Run *act*, show its outcome (or its error's) as *views* say; the exit status."""
    try:
        outcome = act()
    except (RefusedError, ActRefusedError) as exc:
        if args.json:
            print(json.dumps(views.document(exc.outcome), indent=2))
        else:
            views.refused(exc.outcome)
        return EXIT_REFUSED
    except (BindingError, ActError) as exc:
        if args.json:
            print(json.dumps(views.document(exc.outcome), indent=2))
        else:
            views.result(exc.outcome)
        print(f"hostpassthru: {exc}", file=sys.stderr)
        return EXIT_FAILED if exc.rolled_back else EXIT_LEFT
    if args.json:
        print(json.dumps(views.document(outcome), indent=2))
    elif outcome.dry_run:
        views.plan(outcome)
    else:
        views.result(outcome)
    return 0


def _driver(text: str) -> str | None:
    return None if text == "none" else text


def _cmd_prepare(args: argparse.Namespace, host: Host | None) -> int:
    del host

    def act(dry_run: bool) -> Outcome:
        return prepare(
            tuple(args.devices),
            driver=_driver(args.driver),
            force=args.force,
            load_module=args.load_module,
            dry_run=dry_run,
            timeout=args.timeout,
            wait=args.wait,
            state_dir=args.state_dir,
        )

    if not args.dry_run and not args.json:
        # The plan first, as a table, then the result: what is about to happen is on
        # the screen before anything is written.
        code = report(args, lambda: act(dry_run=True), _VIEWS)
        if code != 0:
            return code
        print()
    return report(args, lambda: act(dry_run=args.dry_run), _VIEWS)


def _cmd_release(args: argparse.Namespace, host: Host | None) -> int:
    del host
    if bool(args.devices) == bool(args.all):
        print("hostpassthru: release: name the devices, or --all", file=sys.stderr)
        return 2
    return report(
        args,
        lambda: release(
            None if args.all else tuple(args.devices),
            dry_run=args.dry_run,
            force=args.force,
            timeout=args.timeout,
            wait=args.wait,
            state_dir=args.state_dir,
        ),
        _VIEWS,
    )


def _cmd_recover(args: argparse.Namespace, host: Host | None) -> int:
    del host
    return report(
        args,
        lambda: recover(
            dry_run=args.dry_run,
            timeout=args.timeout,
            wait=args.wait,
            state_dir=args.state_dir,
        ),
        _VIEWS,
    )


def _entry_dict(entry: JournalEntry) -> dict[str, Any]:
    return attrs.asdict(entry)


def _cmd_prepared(args: argparse.Namespace, host: Host | None) -> int:
    del host
    entries = prepared(state_dir=args.state_dir)
    if args.json:
        print(
            json.dumps({"schema": SCHEMA, "prepared": [_entry_dict(e) for e in entries]}, indent=2)
        )
        return 0
    if not entries:
        print("nothing is prepared")
        return 0
    blocks = []
    for entry in entries:
        rows: list[tuple[str, ...]] = [("DEVICE", "ON", "HAD", "OVERRIDE HAD", "STEP")]
        rows += [
            (
                m.sys_name,
                m.to_driver or "(none)",
                m.from_driver or "-",
                m.from_override or "-",
                m.state,
            )
            for m in entry.members
        ]
        blocks.append(
            f"{entry.id}: {entry.phase}, to {entry.driver or 'no driver'}\n" + table(rows)
        )
    print("\n\n".join(blocks))
    return 0


@contextlib.contextmanager
def acting_on(args: argparse.Namespace) -> Iterator[None]:
    """This host, or with --sysfs/--replay a fake host acted on through a simulated kernel."""
    if args.sysfs is None and args.replay is None:
        yield
        return
    if args.replay is not None:
        if not getattr(args, "dry_run", False) and args.command != "prepared":
            raise _UsageError(f"{args.command} --replay shows what it would do only: add --dry-run")
        # Only a plan on a recording needs the format module.
        from ._recording import materialize, read_recording  # noqa: PLC0415

        with tempfile.TemporaryDirectory(prefix="hostpassthru-replay-") as top:
            root = materialize(read_recording(args.replay), top)
            with _fake(root, args):
                yield
        return
    with _fake(os.path.abspath(args.sysfs), args):
        yield


class _UsageError(Exception):
    pass


@contextlib.contextmanager
def _fake(root: str, args: argparse.Namespace) -> Iterator[None]:
    top = os.path.dirname(os.path.normpath(root))
    target = _seam.LiveTarget(
        sysfs=root,
        proc=args.proc or os.path.join(top, "proc"),
        kernel=SimulatedKernel(root),
        real=False,
    )
    with _seam.pushed(target):
        yield


def run(args: argparse.Namespace) -> int:
    """Run a binding command: on this host, or on the fake host --sysfs/--replay name."""
    try:
        with acting_on(args):
            return int(args.run(args, None))
    except _UsageError as exc:
        print(f"hostpassthru: {exc}", file=sys.stderr)
        return 2


def acting_parents() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The options of every command that writes: --dry-run, --timeout, --wait; --state-dir."""
    acting = argparse.ArgumentParser(add_help=False)
    acting.add_argument(
        "--dry-run", action="store_true", help="say what would be done; write nothing"
    )
    acting.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="how long an unbind may block before its device is left stuck "
        f"(default {DEFAULT_TIMEOUT:g})",
    )
    acting.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT,
        metavar="SECONDS",
        help=f"how long to wait for another manager's lock (default {DEFAULT_WAIT:g})",
    )
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-dir",
        metavar="DIR",
        help="where journals live (default $HOSTPASSTHRU_STATE_DIR or /run/hostpassthru)",
    )
    return acting, state


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``prepare``, ``release``, ``prepared`` and ``recover`` to *sub*."""
    raw = argparse.RawDescriptionHelpFormatter
    acting, state = acting_parents()

    p = sub.add_parser(
        "prepare",
        parents=[common, acting, state],
        help="move a device's whole IOMMU group to vfio-pci (journaled, rolled back on failure)",
        description="Move DEVICE and everything that must go with it to vfio-pci (or --driver).",
        epilog=_PREPARE_EPILOG,
        formatter_class=raw,
    )
    p.add_argument("devices", nargs="+", metavar="DEVICE", help="a name or kernel name")
    p.add_argument(
        "--driver",
        default="vfio-pci",
        metavar="NAME",
        help="the target: vfio-pci (default), auto (a vfio variant driver when one matches), "
        "another driver's name, or none (unbind only)",
    )
    p.add_argument("--force", action="store_true", help="go on although the host uses the device")
    p.add_argument(
        "--load-module",
        action="store_true",
        help="load the target driver's module (modprobe) when it is not loaded",
    )
    p.set_defaults(run=_cmd_prepare, act=True)

    p = sub.add_parser(
        "release",
        parents=[common, acting, state],
        help="give prepared devices back their drivers and overrides, exactly",
        description="Give the prepared sets holding DEVICE (or --all) back what they had.",
        epilog=_RELEASE_EPILOG,
        formatter_class=raw,
    )
    p.add_argument("devices", nargs="*", metavar="DEVICE", help="a name or kernel name")
    p.add_argument("--all", action="store_true", help="every prepared set")
    p.add_argument("--force", action="store_true", help="even while the group is held open")
    p.set_defaults(run=_cmd_release, act=True)

    p = sub.add_parser(
        "recover",
        parents=[common, acting, state],
        help="after a crash: bring back everything a journal holds",
        description="Bring every journaled device back to its recorded state; safe to repeat.",
        epilog="example:\n  hostpassthru recover\n",
        formatter_class=raw,
    )
    p.set_defaults(run=_cmd_recover, act=True)

    p = sub.add_parser(
        "prepared",
        parents=[common, state],
        help="what the journals hold: prepared sets and their original drivers",
        description="What the journals hold: each prepared set, with what its devices had.",
        epilog="example:\n  hostpassthru prepared --json\n",
        formatter_class=raw,
    )
    p.set_defaults(run=_cmd_prepared, act=True)
