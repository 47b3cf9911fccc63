"""Explanations in words: why each device goes with another, and a verdict on each group."""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from ._model import Device, Host

__all__ = [
    "GROUP_KINDS",
    "WHYS",
    "Affected",
    "GroupKind",
    "GroupVerdict",
    "Why",
    "class_name",
    "explain_affected",
    "group_verdict",
]

#: Why a device goes with another: the same IOMMU group, or beneath it (or a group member).
Why = Literal["iommu_group", "beneath"]
WHYS: tuple[Why, ...] = get_args(Why)
#: What passing one IOMMU group means, as GroupVerdict.kind says it.
GroupKind = Literal[
    "nothing_to_pass",
    "passes_alone",
    "alone_not_passable",
    "functions_together",
    "no_isolation",
]
GROUP_KINDS: tuple[GroupKind, ...] = get_args(GroupKind)

# Short names for the PCI classes (base class and subclass) that passthrough
# users meet; pci.ids has the long ones.
_CLASS_NAMES = {
    0x0100: "SCSI controller",
    0x0101: "IDE controller",
    0x0104: "RAID controller",
    0x0106: "SATA controller",
    0x0107: "SAS controller",
    0x0108: "NVMe controller",
    0x0180: "storage controller",
    0x0200: "Ethernet controller",
    0x0207: "InfiniBand controller",
    0x0280: "network controller",
    0x0300: "GPU",
    0x0302: "GPU",
    0x0380: "display controller",
    0x0401: "audio device",
    0x0403: "audio function",
    0x0480: "multimedia controller",
    0x0500: "RAM controller",
    0x0580: "memory controller",
    0x0600: "host bridge",
    0x0601: "ISA bridge",
    0x0604: "PCI bridge",
    0x0609: "PCI bridge",
    0x0C03: "USB controller",
    0x0C05: "SMBus controller",
    0x0C80: "serial bus controller",
    0x1180: "signal processing controller",
    0x1200: "processing accelerator",
}


def class_name(dev: Device) -> str:
    """A short name for what the device is: "GPU", "NVMe controller", "USB hub"."""
    if dev.kind == "mdev":
        return "mediated device"
    if dev.kind == "usb_device":
        return "USB hub" if "usb_hub" in dev.reasons else "USB device"
    if dev.kind == "scsi":
        kinds = {0: "disk", 1: "tape drive", 5: "CD/DVD drive", 8: "media changer"}
        return kinds.get(
            dev.scsi.type if dev.scsi and dev.scsi.type is not None else -1, "SCSI device"
        )
    code = None if dev.pci is None else dev.pci.class_code
    if code is None:
        return "PCI device"
    return _CLASS_NAMES.get(code >> 8, "PCI device")


@attrs.frozen(kw_only=True)
class Affected:
    """One device that leaves the host with another, and why."""

    device: Device
    #: "iommu_group": a member of the same IOMMU group; "beneath": below *via*.
    why: Why
    #: The name of the device that brings it along: the one asked about, or a group member.
    via: str


def explain_affected(host: Host, dev: Device) -> tuple[Affected, ...]:
    """``host.affected_by(dev)``, each with the reason it goes."""
    members = {m.name for m in host.group_going(dev)}
    members.discard(dev.name)
    out = []
    for other in host.affected_by(dev):
        if other.name in members:
            out.append(Affected(device=other, why="iommu_group", via=dev.name))
            continue
        via = next(a.name for a in host.ancestors(other) if a.name == dev.name or a.name in members)
        out.append(Affected(device=other, why="beneath", via=via))
    return tuple(out)


@attrs.frozen(kw_only=True)
class GroupVerdict:
    """What passing anything of one IOMMU group means, in one line."""

    number: int
    #: Every PCI member, ordered by path.
    members: tuple[Device, ...]
    #: The members that leave the host together, ordered by path.
    going: tuple[Device, ...]
    #: The bridges and ports that may stay with the host.
    staying: tuple[Device, ...]
    #: The verdict for a program: one of GROUP_KINDS.
    kind: GroupKind
    #: The verdict in words, for a person.
    verdict: str


def _same_slot(devices: tuple[Device, ...]) -> bool:
    return len({d.sys_name.rpartition(".")[0] for d in devices}) == 1


def group_verdict(host: Host, number: int) -> GroupVerdict:
    """The verdict on IOMMU group *number*: what goes if any member is passed."""
    members = host.group(number)
    going = tuple(m for m in members if not m.stays_with_host)
    staying = tuple(m for m in members if m.stays_with_host)
    names = [class_name(d) for d in going]
    kind: GroupKind
    if not going:
        kind, verdict = "nothing_to_pass", "bridges and ports only: nothing to pass"
    elif len(going) == 1:
        dev = going[0]
        if dev.eligible or dev.reasons == ("has_passthrough_children",):
            kind, verdict = "passes_alone", f"{names[0]}: passes alone"
        else:
            kind = "alone_not_passable"
            verdict = f"{names[0]}: alone in its group, not passed ({', '.join(dev.reasons)})"
    elif _same_slot(going):
        rest = " and ".join(names[1:])
        count = "both" if len(going) == 2 else f"all {len(going)}"
        kind, verdict = "functions_together", f"{names[0]} with its {rest}: pass {count}"
    else:
        kind = "no_isolation"
        verdict = f"{', '.join(names)}: {len(going)} devices without isolation, pass all together"
    blockers = [f"{class_name(d)} ({d.sys_name})" for d in going if "bridge" in d.reasons]
    if blockers and len(going) > 1:
        verdict += "; the host usually needs the " + ", ".join(blockers)
    return GroupVerdict(
        number=number,
        members=members,
        going=going,
        staying=staying,
        kind=kind,
        verdict=verdict,
    )
