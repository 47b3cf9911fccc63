"""The JSON documents: what ``hostpassthru COMMAND --json`` prints, for Python users too.

The explanations and readiness checks are imported by the documents that use
them, when first asked for: ``list --json`` and ``tree --json`` load neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

import attrs

from ._scan import scan

if TYPE_CHECKING:
    from ._explain import GroupVerdict
    from ._model import Device, Host
    from ._readiness import Assessment
    from ._records import Kind

__all__ = ["DOCUMENTS", "SCHEMA", "Document", "device_dict", "json_document"]

#: The version of the documents' shape; each document carries it as ``"schema"``.
SCHEMA = 1

#: The commands that print a JSON document.
Document = Literal["list", "tree", "show", "affected", "groups", "check"]
DOCUMENTS: tuple[Document, ...] = get_args(Document)


def device_dict(dev: Device) -> dict[str, Any]:
    """A device as a JSON-ready dict: its fields (lists for tuples) and its description."""
    out = attrs.asdict(dev)
    out["description"] = dev.description
    return out


def _tree_dict(host: Host, dev: Device) -> dict[str, Any]:
    return {
        **{k: getattr(dev, k) for k in ("name", "sys_name", "kind", "driver", "iommu_group")},
        "description": dev.description,
        "eligible": dev.eligible,
        "reasons": list(dev.reasons),
        "children": [_tree_dict(host, c) for c in host.children(dev)],
    }


def _affected_dicts(host: Host, dev: Device) -> list[dict[str, Any]]:
    from ._explain import explain_affected  # noqa: PLC0415 - see the top

    goes = explain_affected(host, dev)
    return [{"name": a.device.name, "why": a.why, "via": a.via} for a in goes]


def _verdict_dict(v: GroupVerdict) -> dict[str, Any]:
    return {
        "number": v.number,
        "members": [m.name for m in v.members],
        "going": [m.name for m in v.going],
        "staying": [m.name for m in v.staying],
        "verdict": v.verdict,
    }


def _assessment_dict(a: Assessment) -> dict[str, Any]:
    return {
        "device": a.device,
        "verdict": a.verdict,
        "findings": [attrs.asdict(f) for f in a.findings],
    }


def _show_document(host: Host, dev: Device) -> dict[str, Any]:
    from ._explain import group_verdict  # noqa: PLC0415 - see the top
    from ._readiness import assess  # noqa: PLC0415 - see the top

    group = None
    number = dev.iommu_group
    if dev.kind == "pci" and number is not None and number in host.iommu_groups:
        group = _verdict_dict(group_verdict(host, number))
    return {
        "device": device_dict(dev),
        "group": group,
        "affected": _affected_dicts(host, dev),
        "check": _assessment_dict(assess(host, dev)),
    }


def _groups_document(host: Host) -> dict[str, Any]:
    from ._explain import group_verdict  # noqa: PLC0415 - see the top

    return {
        "iommu_enabled": host.iommu_enabled,
        "groups": [_verdict_dict(group_verdict(host, n)) for n in host.iommu_groups],
        "problems": list(host.problems),
    }


def _check_document(host: Host, checked: tuple[Device, ...]) -> dict[str, Any]:
    from ._readiness import assess, iommu_status  # noqa: PLC0415 - see the top

    return {
        "iommu": attrs.asdict(iommu_status(host)),
        "devices": [_assessment_dict(assess(host, d)) for d in checked],
        "problems": list(host.problems),
    }


def _one(command: str, devices: tuple[Device, ...]) -> Device:
    if len(devices) != 1:
        raise ValueError(f"the {command} document is about one device, not {len(devices)}")
    return devices[0]


def _listed(
    host: Host,
    cap: Kind | None,
    include_controllers: bool,
    include_all: bool,
) -> tuple[Device, ...]:
    if not include_all:
        return host.passthrough_devices(cap, include_controllers=include_controllers)
    return tuple(d for d in host.devices if cap is None or d.kind == cap)


def _list_document(host: Host, listed: tuple[Device, ...], cap: Kind | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "iommu_enabled": host.iommu_enabled,
        "devices": [device_dict(d) for d in listed],
    }
    if cap == "mdev":
        # What each parent can still create, beside what exists.
        doc["mdev_types"] = [
            {"parent": p.name, **attrs.asdict(t)} for p in host.devices for t in p.mdev_types
        ]
    doc["problems"] = list(host.problems)
    return doc


def json_document(
    command: Document,
    *devices: Device | str,
    host: Host | None = None,
    cap: Kind | None = None,
    include_controllers: bool = False,
    include_all: bool = False,
) -> dict[str, Any]:
    """The document ``hostpassthru COMMAND [DEVICE ...] --json`` prints, as plain dicts and lists.

    ``json.dumps(json_document("list"), indent=2)`` is what ``hostpassthru list
    --json`` prints. *devices* are names, kernel names or Devices: "check" takes
    any number (none: the passthrough devices), "show" and "affected" exactly
    one, the others none. "list" takes the options of ``hostpassthru list``:
    *cap* (``--cap``), *include_controllers* (``--controllers``) and
    *include_all* (``--all``). Without *host*, this host is scanned.
    docs/json.md describes every document.
    """
    if host is None:
        host = scan()
    devs = tuple(host.device(d) for d in devices)
    if command in ("list", "tree", "groups") and devs:
        raise ValueError(f"the {command} document takes no devices")
    doc: dict[str, Any]
    if command == "list":
        doc = _list_document(host, _listed(host, cap, include_controllers, include_all), cap)
    elif command == "tree":
        doc = {
            "iommu_enabled": host.iommu_enabled,
            "tree": [_tree_dict(host, d) for d in host.devices if d.parent is None],
            "problems": list(host.problems),
        }
    elif command == "show":
        doc = _show_document(host, _one(command, devs))
    elif command == "affected":
        dev = _one(command, devs)
        doc = {"device": dev.name, "affected": _affected_dicts(host, dev)}
    elif command == "groups":
        doc = _groups_document(host)
    elif command == "check":
        doc = _check_document(host, devs or host.passthrough_devices())
    else:
        raise ValueError(f"command must be one of {', '.join(DOCUMENTS)}, not {command!r}")
    return {"schema": SCHEMA, **doc}
