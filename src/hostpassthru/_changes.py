"""What changed between two scans of a host: devices added, removed and changed, groups judged.

Pure functions on Hosts and Snapshots; the watch (``_watch.py``) feeds them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import attrs

from ._explain import GroupVerdict, group_verdict
from ._model import Device, Host
from ._readiness import _neutral as neutral_driver
from ._records import Uevent

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._records import Snapshot

__all__ = ["Change", "DeviceChange", "GroupChange", "diff", "with_event_drivers"]

#: The Device fields compared, in the order they are reported.
_FIELDS = tuple(f.name for f in attrs.fields(Device))


@attrs.frozen(kw_only=True)
class DeviceChange:
    """One device present before and after, with the fields whose values differ."""

    before: Device
    after: Device
    #: Names of the Device fields that differ (``driver``, ``reasons``, ``children``, ...);
    #: a kind's facts by their own name (``pci.sriov_numvfs``, ``usb.devnum``).
    fields: tuple[str, ...]

    @property
    def name(self) -> str:
        """The device's name (the same before and after)."""
        return self.after.name

    def values(self, field: str) -> tuple[object, object]:
        """The value of *field* (a name from ``fields``) before and after."""
        return _get(self.before, field), _get(self.after, field)


def _get(dev: Device, field: str) -> object:
    value: object = dev
    for part in field.split("."):
        value = None if value is None else getattr(value, part)
    return value


@attrs.frozen(kw_only=True)
class GroupChange:
    """An IOMMU group whose members or drivers changed, judged anew."""

    number: int
    #: The group's verdict now; None when the group is gone.
    verdict: GroupVerdict | None
    #: The members that leave the host together and are bound to a host driver (not
    #: vfio-pci, pci-stub or none): while any is, VFIO refuses the group.
    host_drivers: tuple[Device, ...]

    @property
    def viable(self) -> bool:
        """True when the group exists and VFIO would accept it: no member on a host driver."""
        return self.verdict is not None and not self.host_drivers

    @property
    def summary(self) -> str:
        """The verdict and the group's binding in one line."""
        if self.verdict is None:
            return "gone"
        if not self.verdict.going:
            return self.verdict.verdict
        if self.host_drivers:
            bound = ", ".join(f"{d.sys_name} ({d.driver})" for d in self.host_drivers)
            return f"{self.verdict.verdict}; on host drivers: {bound}"
        return f"{self.verdict.verdict}; ready for VFIO"


@attrs.frozen(kw_only=True)
class Change:
    """One coalesced change of the host, as ``hp.watch()`` yields it."""

    #: The host after the change.
    host: Host
    #: The host before it.
    previous: Host
    added: tuple[Device, ...]
    removed: tuple[Device, ...]
    changed: tuple[DeviceChange, ...]
    #: Each IOMMU group whose members or members' drivers changed, ordered by number.
    groups: tuple[GroupChange, ...]
    #: The uevents coalesced into this change, oldest first (none for a polling watch).
    events: tuple[Uevent, ...] = ()
    #: "events": uevents arrived; "overflow": the monitor lost events and the host was
    #: scanned anew; "poll": a polling watch saw the tree differ.
    cause: Literal["events", "overflow", "poll"] = "events"

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed or self.groups)


def _fields(before: Device, after: Device) -> tuple[str, ...]:
    out: list[str] = []
    for name in _FIELDS:
        old, new = getattr(before, name), getattr(after, name)
        if old == new:
            continue
        if old is not None and new is not None and attrs.has(type(old)):
            # PciInfo, UsbInfo, ScsiInfo: name the facts that differ.
            out.extend(
                f"{name}.{f.name}"
                for f in attrs.fields(type(old))
                if getattr(old, f.name) != getattr(new, f.name)
            )
        else:
            out.append(name)
    return tuple(out)


def _group_change(host: Host, number: int) -> GroupChange:
    if number not in host.iommu_groups:
        return GroupChange(number=number, verdict=None, host_drivers=())
    verdict = group_verdict(host, number)
    bound = tuple(
        d for d in verdict.going if not neutral_driver(d.driver) and not d.stays_with_host
    )
    return GroupChange(number=number, verdict=verdict, host_drivers=bound)


def _touched_groups(
    before: Host,
    after: Host,
    changed: Iterable[DeviceChange],
) -> set[int]:
    numbers = {
        n
        for n in set(before.iommu_groups) | set(after.iommu_groups)
        if before.iommu_groups.get(n) != after.iommu_groups.get(n)
    }
    for c in changed:
        if "driver" in c.fields or "iommu_group" in c.fields:
            numbers.update(n for n in (c.before.iommu_group, c.after.iommu_group) if n is not None)
    return numbers


def diff(
    before: Host,
    after: Host,
    *,
    events: tuple[Uevent, ...] = (),
    cause: Literal["events", "overflow", "poll"] = "events",
) -> Change:
    """What changed from *before* to *after*; falsy when nothing did."""
    old = {d.name: d for d in before.devices}
    new = {d.name: d for d in after.devices}
    added = tuple(d for d in after.devices if d.name not in old)
    removed = tuple(d for d in before.devices if d.name not in new)
    changed = tuple(
        DeviceChange(before=old[d.name], after=d, fields=_fields(old[d.name], d))
        for d in after.devices
        if d.name in old and old[d.name] != d
    )
    groups = tuple(_group_change(after, n) for n in sorted(_touched_groups(before, after, changed)))
    return Change(
        host=after,
        previous=before,
        added=added,
        removed=removed,
        changed=changed,
        groups=groups,
        events=events,
        cause=cause,
    )


# Which record kind a uevent's subsystem and devtype name.
_KIND_OF_EVENT: Mapping[tuple[str, str | None], str] = {
    ("pci", None): "pci",
    ("usb", "usb_device"): "usb_device",
    ("scsi", "scsi_device"): "scsi",
}


def with_event_drivers(snapshot: Snapshot, events: Iterable[Uevent]) -> Snapshot:
    """*snapshot* with each evented device's driver as its last event said (DRIVER=).

    A scan after the events reads sysfs as it is then, and the driver may have
    changed again since; the events' own DRIVER properties are what happened,
    in order, and later events bring later drivers.
    """
    drivers: dict[tuple[str, str], str | None] = {}
    for event in events:
        kind = _KIND_OF_EVENT.get((event.subsystem or "", event.devtype))
        if kind is None or event.action not in ("add", "bind", "unbind", "change"):
            continue
        drivers[kind, event.sys_name] = event.driver
    if not drivers:
        return snapshot
    records = tuple(
        attrs.evolve(r, driver=drivers[r.kind, r.sys_name])
        if (r.kind, r.sys_name) in drivers
        else r
        for r in snapshot.records
    )
    return attrs.evolve(snapshot, records=records)
