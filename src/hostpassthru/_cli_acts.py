"""The ``vfs``, ``mdev create``, ``mdev remove`` and ``vgpu`` commands: acts, exit codes.

Exit status as for prepare: 0 done (with --dry-run: would be done); 4
refused, nothing written; 5 failed and undone; 6 failed and not undone.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._acts import ActOutcome, create_mdev, remove_mdev, set_vfs
from ._acts import set_vgpu_type as set_vgpu
from ._cli_binding import Views, finding_dict, findings_lines, report, write_dict
from ._documents import SCHEMA

if TYPE_CHECKING:
    from ._model import Host

__all__ = ["act_document", "add_commands"]

_VFS_EPILOG = """\
The kernel goes from 0 to N VFs and from N to 0 only: with VFs on, disable them
first. Disabling removes every VF and what sits beneath (--dry-run lists it);
refused while a VM holds one open. Journaled: a crash is undone by recover.
Exit status: 0 done, 4 refused (nothing written), 5 failed and undone, 6 not undone.

examples:
  hostpassthru vfs 0000:3b:00.0 0 --dry-run   what would vanish
  hostpassthru vfs 0000:3b:00.0 4             enable 4 VFs
"""

_MDEV_EPILOG = """\
examples:
  hostpassthru list --cap mdev                          the types and what is left
  hostpassthru mdev create 0000:00:02.0 i915-GVTg_V5_8  a new one, with a new UUID
  hostpassthru mdev remove 4b20d080-1b54-4048-85b3-a6a62d165c01
"""


def act_document(outcome: ActOutcome) -> dict[str, Any]:
    """The JSON document of an act (``--json``)."""
    act = outcome.act
    return {
        "schema": SCHEMA,
        "action": act.action,
        "device": act.device,
        "uuid": act.uuid,
        "before": act.before,
        "after": act.after,
        "dry_run": outcome.dry_run,
        "vanish": list(act.vanish),
        "refusals": [finding_dict(f) for f in act.refusals],
        "writes": [write_dict(w) for w in outcome.writes],
        "done": outcome.done,
        "rolled_back": outcome.rolled_back,
        "appeared": list(outcome.appeared),
        "vanished": list(outcome.vanished),
        "error": outcome.error,
    }


def _what(outcome: ActOutcome) -> str:
    act = outcome.act
    if act.action == "set_vfs":
        return f"{act.device}: {act.before} -> {act.after} VFs"
    if act.action == "set_vgpu_type":
        return f"{act.device}: vGPU type {act.before} -> {act.after}"
    verb = "create" if act.action == "create_mdev" else "remove"
    return f"{act.device}: {verb} mediated device {act.uuid}"


def _print_plan(outcome: ActOutcome) -> None:
    act = outcome.act
    lines = [f"{act.action} {_what(outcome)}"]
    if act.vanish:
        lines.append("vanishes: " + ", ".join(act.vanish))
    if act.refusals:
        lines += findings_lines("refused, nothing written:", act.refusals)
    elif act.writes:
        lines.append("writes:")
        lines += [f"  {w}" for w in act.writes]
    else:
        lines.append("nothing to write")
    print("\n".join(lines))


def _print_result(outcome: ActOutcome) -> None:
    lines = [f"{'done' if outcome.done else 'failed'}: {_what(outcome)}"]
    if outcome.vanished:
        lines.append("vanished: " + ", ".join(outcome.vanished))
    if outcome.appeared:
        lines.append("appeared: " + ", ".join(outcome.appeared))
    print("\n".join(lines))


_VIEWS = Views(document=act_document, plan=_print_plan, refused=_print_plan, result=_print_result)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "dry_run": args.dry_run,
        "timeout": args.timeout,
        "wait": args.wait,
        "state_dir": args.state_dir,
    }


def _cmd_vfs(args: argparse.Namespace, host: Host | None) -> int:
    del host
    return report(args, lambda: set_vfs(args.pf, args.count, **_options(args)), _VIEWS)


def _cmd_mdev_create(args: argparse.Namespace, host: Host | None) -> int:
    del host
    return report(
        args, lambda: create_mdev(args.parent, args.type, args.uuid, **_options(args)), _VIEWS
    )


def _cmd_mdev_remove(args: argparse.Namespace, host: Host | None) -> int:
    del host
    return report(args, lambda: remove_mdev(args.mdev, **_options(args)), _VIEWS)


def _cmd_vgpu(args: argparse.Namespace, host: Host | None) -> int:
    del host
    return report(args, lambda: set_vgpu(args.vf, args.type_id, **_options(args)), _VIEWS)


def add_commands(
    sub: Any,  # noqa: ANN401
    common: argparse.ArgumentParser,
    acting: list[argparse.ArgumentParser],
) -> None:
    """Add ``vfs``, ``mdev create``, ``mdev remove`` and ``vgpu`` to *sub*."""
    raw = argparse.RawDescriptionHelpFormatter
    parents = [common, *acting]
    p = sub.add_parser(
        "vfs",
        parents=parents,
        help="enable N SR-IOV VFs on a PF, or disable them (0); journaled",
        description="Set the number of SR-IOV virtual functions of PF to COUNT.",
        epilog=_VFS_EPILOG,
        formatter_class=raw,
    )
    p.add_argument("pf", metavar="PF", help="the physical function: a name or kernel name")
    p.add_argument("count", metavar="COUNT", type=int, help="VFs to enable; 0 disables them")
    p.set_defaults(run=_cmd_vfs, act=True)

    p = sub.add_parser(
        "mdev",
        help="create or remove a mediated device; journaled",
        description="Create or remove a mediated device (Intel GVT-g, NVIDIA vGPU, s390).",
        epilog=_MDEV_EPILOG,
        formatter_class=raw,
    )
    mdev = p.add_subparsers(dest="mdev_command", metavar="ACTION", required=True)
    c = mdev.add_parser(
        "create",
        parents=parents,
        help="create one of PARENT's mediated-device TYPE",
        description="Create a mediated device of TYPE on PARENT.",
        epilog=_MDEV_EPILOG,
        formatter_class=raw,
    )
    c.add_argument("parent", metavar="PARENT", help="the parent device")
    c.add_argument("type", metavar="TYPE", help="a type id, as list --cap mdev shows them")
    c.add_argument("--uuid", help="the new device's UUID (default: a new random one)")
    c.set_defaults(run=_cmd_mdev_create, act=True)
    r = mdev.add_parser(
        "remove",
        parents=parents,
        help="remove a mediated device (its parent stays)",
        description="Remove the mediated device UUID; refused while a VM holds it.",
        epilog=_MDEV_EPILOG,
        formatter_class=raw,
    )
    r.add_argument("mdev", metavar="UUID", help="its UUID or mdev_... name")
    r.set_defaults(run=_cmd_mdev_remove, act=True)

    p = sub.add_parser(
        "vgpu",
        parents=parents,
        help="set the NVIDIA vGPU type of a VF (0 removes it); journaled",
        description="Write TYPE_ID to VF's nvidia/current_vgpu_type (vGPU 17+, Linux >= 6.8).",
        epilog="example:\n  hostpassthru vgpu 0000:41:00.5 921\n",
        formatter_class=raw,
    )
    p.add_argument("vf", metavar="VF", help="the virtual function")
    p.add_argument("type_id", metavar="TYPE_ID", type=int, help="a creatable type id, or 0")
    p.set_defaults(run=_cmd_vgpu, act=True)
