"""Kubernetes documents from hosts: NFD feature files, NodeFeature objects, KubeVirt's allow-list.

Pure functions of `Host` snapshots (and of the time, passed in): the command
line writes what they return. Three facts of the cluster shape them:

- NFD (node-feature-discovery) reads feature files from its local source
  directory, skips dot-files and files over 64 KiB, and gives each
  ``# +no-label`` directive to the one feature line after it
  (source/local/local.go, NFD v0.15 and later). Its master accepts label
  namespaces ending in ``.feature.node.kubernetes.io`` without configuration.
- Label values hold at most 63 characters of ``[A-Za-z0-9_.-]``: no ``:`` or
  ``/``. So labels carry counts and booleans; ids and addresses go into
  no-label features and NodeFeature instances.
- KubeVirt's PCI device plugin offers only functions bound to ``vfio-pci``, and
  one allocatable device per IOMMU group (it keys devices by group), from
  ``permittedHostDevices`` entries each naming one ``vendor:device``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from ._errors import ExportError
from ._model import Device
from ._readiness import assess
from ._rules import is_vfio_driver

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._model import Host

__all__ = [
    "LABEL_NS",
    "MAX_FEATURE_FILE",
    "NODE_NAME_LABEL",
    "DeviceState",
    "FeatureFile",
    "IdCount",
    "KubevirtExport",
    "device_states",
    "feature_file",
    "id_counts",
    "kubevirt_patch",
    "labels",
    "node_feature",
]

#: Our label namespace: a sub-namespace of NFD's, allowed by nfd-master by default.
LABEL_NS = "hostpassthru.feature.node.kubernetes.io"
#: NFD's local source ignores a larger feature file (MaxFeatureFileSize).
MAX_FEATURE_FILE = 65536
#: The label NFD requires on a NodeFeature object: the node it describes.
NODE_NAME_LABEL = "nfd.node.kubernetes.io/node-name"
NODE_FEATURE_API = "nfd.k8s-sigs.io/v1alpha1"
DEFAULT_RESOURCE_DOMAIN = "hostpassthru.io"

State = Literal["ready", "needs_preparation", "blocked"]
ExportKind = Literal["pci", "usb_device"]

# Kubernetes' name rules (k8s.io/apimachinery/pkg/util/validation): an RFC 1123
# DNS subdomain (at most 253 characters), and a label value (at most 63).
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_SELECTOR = re.compile(r"[0-9a-f]{4}(:[0-9a-f]{4})?")


@attrs.frozen(kw_only=True)
class DeviceState:
    """One passthrough device as a cluster sees it."""

    device: Device
    #: ready: nothing stands between it and a VM (a PCI function on vfio-pci, its
    #: whole group viable); needs_preparation: passable after actions; blocked.
    state: State
    #: Codes of the findings that are not infos, each once, in check()'s order.
    findings: tuple[str, ...]
    #: The codes among them that block it.
    blockers: tuple[str, ...]
    #: The device itself is bound to a host driver (PCI only).
    host_driver: bool
    #: Other endpoints of its group on a host driver: the group is not viable.
    partners_on_host_drivers: tuple[Device, ...]
    #: Other endpoints of its group with the same vendor:device.
    twins: tuple[Device, ...]
    #: What leaves the host with it (names), besides itself.
    goes_with: tuple[str, ...]

    @property
    def key(self) -> tuple[ExportKind, int, int]:
        """(kind, vendor, product): what KubeVirt selects on."""
        dev = self.device
        return dev.kind, dev.vendor_id, dev.product_id  # type: ignore[return-value]


def device_states(host: Host) -> tuple[DeviceState, ...]:
    """Every PCI and USB passthrough device with ids, with its state, ordered by path.

    SCSI and mediated devices are left out: they have no vendor:device id to select on.
    """
    out = []
    for dev in host.passthrough_devices():
        if dev.kind not in ("pci", "usb_device") or None in (dev.vendor_id, dev.product_id):
            continue
        assessment = assess(host, dev)
        state: State
        if assessment.verdict == "blocked":
            state = "blocked"
        elif assessment.verdict == "ready" and (
            dev.kind != "pci"
            or is_vfio_driver(dev.driver)
            # A VF carrying an NVIDIA vGPU type is passed as it is, on NVIDIA's driver
            # (KubeVirt's PCI plugin accepts those too).
            or any(f.code == "vgpu" for f in assessment.findings)
        ):
            state = "ready"
        else:
            # A driverless function is viable, but KubeVirt offers only vfio-pci ones; an
            # "unknown" verdict (facts missing from a udevadm dump) is not a block either.
            state = "needs_preparation"
        on_host = [f.device for f in assessment.findings if f.code == "host_driver"]
        twins = tuple(
            m
            for m in host.group_going(dev)
            if m.name != dev.name and (m.vendor_id, m.product_id) == (dev.vendor_id, dev.product_id)
        )
        out.append(
            DeviceState(
                device=dev,
                state=state,
                findings=tuple(
                    dict.fromkeys(f.code for f in assessment.findings if f.severity != "info")
                ),
                blockers=tuple(
                    dict.fromkeys(f.code for f in assessment.findings if f.severity == "blocker")
                ),
                host_driver=dev.name in on_host,
                partners_on_host_drivers=tuple(
                    host.device(n) for n in dict.fromkeys(on_host) if n != dev.name
                ),
                twins=twins,
                goes_with=tuple(d.name for d in host.affected_by(dev)),
            ),
        )
    return tuple(out)


@attrs.frozen(kw_only=True)
class IdCount:
    """How many devices of one vendor:device a host has, by state."""

    kind: ExportKind
    vendor_id: int
    product_id: int
    #: Passthrough devices with this id, whatever their state.
    present: int
    #: Not blocked: ready or needing preparation.
    passable: int
    ready: int
    needs_preparation: int
    #: Bound to a host driver themselves (PCI); None for USB, where it means nothing.
    host_driver: int | None

    @property
    def stem(self) -> str:
        """The label name stem: ``pci-10de-1b81``, ``usb-046d-c31c``."""
        kind = "pci" if self.kind == "pci" else "usb"
        return f"{kind}-{self.vendor_id:04x}-{self.product_id:04x}"


def id_counts(states: Sequence[DeviceState]) -> tuple[IdCount, ...]:
    """The states counted per vendor:device; PCI first, then USB, each by id."""
    by_key: dict[tuple[ExportKind, int, int], list[DeviceState]] = {}
    for s in states:
        by_key.setdefault(s.key, []).append(s)
    out = []
    for key in sorted(by_key, key=lambda k: (k[0] != "pci", k[1], k[2])):
        group = by_key[key]
        kind, vendor, product = key
        out.append(
            IdCount(
                kind=kind,
                vendor_id=vendor,
                product_id=product,
                present=len(group),
                passable=sum(s.state != "blocked" for s in group),
                ready=sum(s.state == "ready" for s in group),
                needs_preparation=sum(s.state == "needs_preparation" for s in group),
                host_driver=sum(s.host_driver for s in group) if kind == "pci" else None,
            ),
        )
    return tuple(out)


def labels(host: Host, states: Sequence[DeviceState] | None = None) -> dict[str, str]:
    """The node labels: ``iommu``, and per vendor:device its counts; in a stable order."""
    if states is None:
        states = device_states(host)
    out = {f"{LABEL_NS}/iommu": "true" if host.iommu_enabled else "false"}
    for c in id_counts(states):
        counts: list[tuple[str, int | None]] = [
            ("present", c.present),
            ("passable", c.passable),
            ("ready", c.ready),
            ("needs-preparation", c.needs_preparation),
            ("host-driver", c.host_driver),
        ]
        for name, value in counts:
            if value is not None:
                out[f"{LABEL_NS}/{c.stem}.{name}"] = str(value)
    return out


def _facts(s: DeviceState) -> list[tuple[str, str]]:
    """The structured facts of one device, as (name, value) pairs in a fixed order."""
    dev = s.device
    facts = [
        ("kind", dev.kind),
        ("address", dev.sys_name),
        ("vendor", f"{dev.vendor_id:04x}"),
        ("device", f"{dev.product_id:04x}"),
        ("group", None if dev.iommu_group is None else str(dev.iommu_group)),
        ("driver", dev.driver),
        ("state", s.state),
        ("findings", "+".join(s.findings) or None),
        ("goes-with", "+".join(s.goes_with) or None),
    ]
    return [(k, v) for k, v in facts if v is not None]


@attrs.frozen(kw_only=True)
class FeatureFile:
    """The text of an NFD feature file, and the devices whose facts did not fit."""

    text: str
    #: The node labels it carries.
    labels: Mapping[str, str]
    #: Names of devices whose no-label facts were left out to stay under the size limit.
    omitted: tuple[str, ...]


_HEADER = (
    "# hostpassthru export nfd: what this node can pass through to a VM.",
    "# Replaced whole (written to a dot-file, then renamed); edits are lost.",
)


def feature_file(
    host: Host,
    *,
    now: dt.datetime,
    expiry: dt.timedelta | None,
    limit: int = MAX_FEATURE_FILE,
) -> FeatureFile:
    """An NFD local-source feature file for *host*, at most *limit* bytes.

    Labels first; then, each behind its own ``# +no-label`` directive, one
    feature per device with its facts (``kind=pci,address=...,state=...``),
    as many as fit. *now* must be timezone-aware; with *expiry*, NFD drops
    the file's features at ``now + expiry`` unless it is rewritten.
    """
    lines = list(_HEADER)
    if expiry is not None:
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        # RFC 3339 in UTC, which NFD parses (Go's time.RFC3339).
        until = (now + expiry).astimezone(dt.UTC)
        lines.append(f"# +expiry-time={until:%Y-%m-%dT%H:%M:%SZ}")
    states = device_states(host)
    node_labels = labels(host, states)
    lines += [f"{k}={v}" for k, v in node_labels.items()]
    size = sum(len(line.encode()) + 1 for line in lines)
    if size > limit:
        raise ExportError("feature file", f"the labels alone take {size} bytes, over {limit}")
    omitted: list[str] = []
    for s in states:
        value = ",".join(f"{k}={v}" for k, v in _facts(s))
        block = ["# +no-label", f"{LABEL_NS}/{s.device.name}={value}"]
        cost = sum(len(line.encode()) + 1 for line in block)
        if omitted or size + cost > limit:
            omitted.append(s.device.name)
            continue
        lines += block
        size += cost
    return FeatureFile(text="\n".join(lines) + "\n", labels=node_labels, omitted=tuple(omitted))


def _check_node(node: str) -> None:
    if not (len(node) <= 63 and _DNS_SUBDOMAIN.fullmatch(node) and _LABEL_VALUE.fullmatch(node)):
        raise ExportError(
            node,
            "not a node name NFD can label: lower-case letters, digits, '-' and '.', "
            "at most 63 characters, starting and ending with a letter or digit",
        )


def node_feature(host: Host, *, node: str, namespace: str | None = None) -> dict[str, object]:
    """A NodeFeature object (nfd.k8s-sigs.io/v1alpha1) for *host* as node *node*.

    ``spec.labels`` are the labels of the feature file; ``spec.features`` has
    ``hostpassthru.node`` attributes (``iommu``) and one ``hostpassthru.device``
    instance per device, with the attribute names of NFD's own ``pci.device``
    (``vendor``, ``device``) where they mean the same.
    """
    _check_node(node)
    if namespace is not None and not (
        len(namespace) <= 63 and _LABEL_VALUE.fullmatch(namespace) and namespace.islower()
    ):
        raise ExportError(namespace, "not a namespace name (an RFC 1123 label)")
    states = device_states(host)
    metadata: dict[str, object] = {
        "name": f"hostpassthru-{node}",
        "labels": {NODE_NAME_LABEL: node},
    }
    if namespace is not None:
        metadata["namespace"] = namespace
    return {
        "apiVersion": NODE_FEATURE_API,
        "kind": "NodeFeature",
        "metadata": metadata,
        "spec": {
            "labels": labels(host, states),
            "features": {
                "attributes": {
                    "hostpassthru.node": {
                        "elements": {"iommu": "true" if host.iommu_enabled else "false"},
                    },
                },
                "instances": {
                    "hostpassthru.device": {
                        "elements": [
                            {"attributes": {"name": s.device.name, **dict(_facts(s))}}
                            for s in states
                        ],
                    },
                },
            },
        },
    }


@attrs.frozen(kw_only=True)
class KubevirtExport:
    """A JSON merge patch for the KubeVirt CR, and what will not work as hoped."""

    patch: Mapping[str, object]
    warnings: tuple[str, ...]


def _check_domain(domain: str) -> None:
    if not (len(domain) <= 253 and _DNS_SUBDOMAIN.fullmatch(domain)) or (
        domain == "kubernetes.io" or domain.endswith(".kubernetes.io")
    ):
        raise ExportError(
            domain,
            "not a domain for extended resources: a DNS subdomain outside kubernetes.io",
        )


def _check_resource(name: str) -> None:
    domain, slash, base = name.partition("/")
    _check_domain(domain)
    if not (slash and 0 < len(base) <= 63 and _LABEL_VALUE.fullmatch(base)):
        raise ExportError(name, "not an extended resource name (DOMAIN/NAME)")


def _parse_selector(text: str) -> str:
    selector = text.lower()
    if not _SELECTOR.fullmatch(selector):
        raise ExportError(text, "not a vendor or vendor:device id (10de, 10de:1b81)")
    return selector


def parse_external(specs: Sequence[str]) -> dict[str, str | None]:
    """``--external-provider`` values: ``VENDOR[:DEVICE][=RESOURCE]`` -> {selector: resource}."""
    out: dict[str, str | None] = {}
    for spec in specs:
        selector, eq, resource = spec.partition("=")
        if eq:
            _check_resource(resource)
        out[_parse_selector(selector)] = resource if eq else None
    return out


def _id(key: tuple[ExportKind, int, int]) -> str:
    return f"{key[1]:04x}:{key[2]:04x}"


def kubevirt_patch(
    hosts: Sequence[tuple[str, Host]],
    *,
    domain: str = DEFAULT_RESOURCE_DOMAIN,
    external: Mapping[str, str | None] | None = None,
) -> KubevirtExport:
    """``permittedHostDevices`` for the devices of *hosts* (name, host), as a JSON merge patch.

    One entry per vendor:device passable on at least one host, named
    ``DOMAIN/pci-VVVV-DDDD`` or ``DOMAIN/usb-VVVV-PPPP``. Both lists are given
    whole (a merge patch replaces lists); ``mediatedDevices`` is left alone.
    *external* maps ``vendor`` or ``vendor:device`` to the resource name its
    vendor's device plugin advertises (None: keep ours), and marks those
    entries ``externalResourceProvider``.
    """
    _check_domain(domain)
    external = dict(external or {})
    seen: dict[tuple[ExportKind, int, int], list[tuple[str, DeviceState]]] = {}
    for host_name, host in hosts:
        for s in device_states(host):
            seen.setdefault(s.key, []).append((host_name, s))
    warnings: list[str] = []
    pci: list[dict[str, object]] = []
    usb: list[dict[str, object]] = []
    for key in sorted(seen, key=lambda k: (k[0] != "pci", k[1], k[2])):
        found = seen[key]
        ident = _id(key)
        if all(s.state == "blocked" for _, s in found):
            where = ", ".join(dict.fromkeys(h for h, _ in found))
            codes = "+".join(dict.fromkeys(c for _, s in found for c in s.blockers))
            warnings.append(f"{ident}: blocked on every node ({where}: {codes}); left out")
            continue
        resource, provider = _resource(key, domain, external)
        for host_name, s in found:
            warnings += _host_warnings(host_name, s, resource)
        if not any(s.state == "ready" for _, s in found):
            warnings.append(
                f"{ident}: ready on no node (a PCI function must be on vfio-pci with its whole "
                f"group viable): a VM asking for {resource} stays Pending until a node is "
                "prepared"
                if key[0] == "pci"
                else f"{ident}: ready on no node: a VM asking for {resource} stays Pending"
            )
        entry: dict[str, object]
        if key[0] == "pci":
            entry = {"pciVendorSelector": ident, "resourceName": resource}
        else:
            entry = {
                "resourceName": resource,
                "selectors": [{"vendor": f"{key[1]:04x}", "product": f"{key[2]:04x}"}],
            }
        if provider:
            entry["externalResourceProvider"] = True
        (pci if key[0] == "pci" else usb).append(entry)
    matched = {_id(k) for k in seen} | {f"{k[1]:04x}" for k in seen}
    warnings += [
        f"--external-provider {selector}: no device has this id"
        for selector in external
        if selector not in matched
    ]
    patch = {
        "spec": {
            "configuration": {"permittedHostDevices": {"pciHostDevices": pci, "usb": usb}},
        },
    }
    return KubevirtExport(patch=patch, warnings=tuple(warnings))


def _resource(
    key: tuple[ExportKind, int, int],
    domain: str,
    external: Mapping[str, str | None],
) -> tuple[str, bool]:
    ours = f"{domain}/{'pci' if key[0] == 'pci' else 'usb'}-{key[1]:04x}-{key[2]:04x}"
    for selector in (_id(key), f"{key[1]:04x}"):
        if selector in external:
            return external[selector] or ours, True
    return ours, False


def _host_warnings(host_name: str, s: DeviceState, resource: str) -> list[str]:
    dev = s.device
    if dev.kind != "pci" or s.state == "blocked":
        return []
    ident = f"{dev.vendor_id:04x}:{dev.product_id:04x}"
    where = f"{ident} on {host_name} ({dev.sys_name})"
    out = [
        f"{where}: IOMMU group {dev.iommu_group} also holds {partner.sys_name} on "
        f"{partner.driver}: the group is not viable until it is on vfio-pci too"
        for partner in s.partners_on_host_drivers
    ]
    # Report each set of twins once, at its first member.
    if s.twins and dev.path < min(t.path for t in s.twins):
        names = ", ".join([dev.sys_name, *(t.sys_name for t in s.twins)])
        out.append(
            f"{ident} on {host_name}: {names} share IOMMU group {dev.iommu_group}: "
            f"KubeVirt offers one device per group, so this node counts 1 {resource}, "
            f"not {1 + len(s.twins)}",
        )
    return out
