"""The ``export`` commands: documents for Kubernetes, printed or written atomically."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any

from . import _export, _yaml
from ._documents import SCHEMA
from ._scan import replay_file

if TYPE_CHECKING:
    from ._model import Host

__all__ = ["FEATURES_DIR", "FEATURE_FILE", "add_commands", "write_atomically"]

#: Where NFD's local source reads feature files (nfd-worker's default).
FEATURES_DIR = "/etc/kubernetes/node-feature-discovery/features.d/"
#: Our file's name in that directory.
FEATURE_FILE = "hostpassthru"
DEFAULT_EXPIRY = 3600

_NFD_EPILOG = """\
Labels (namespace hostpassthru.feature.node.kubernetes.io, counts and booleans
only): iommu, and per vendor:device (pci-10de-1b81, usb-046d-c31c) present,
passable, ready, needs-preparation and, for PCI, host-driver. Each device's
facts follow as a no-label feature. NFD drops the file at its expiry time
unless it is rewritten (--watch rewrites it at half the expiry).

examples:
  hostpassthru export nfd
  hostpassthru export nfd -o - --replay myhost.umockdev
"""

_KUBEVIRT_EPILOG = """\
One entry per vendor:device that some host can pass, named DOMAIN/pci-VVVV-DDDD
or DOMAIN/usb-VVVV-PPPP; both lists are given whole, as a merge patch replaces
lists. What will not work (a group that is not viable, identical functions in
one group, a device ready on no node) is said on stderr. KubeVirt also needs
the HostDevices feature gate.

examples:
  hostpassthru export kubevirt > patch.yaml
  kubectl patch kubevirt kubevirt -n kubevirt --type merge --patch-file patch.yaml
  hostpassthru export kubevirt --replay node1.umockdev node2.umockdev
  hostpassthru export kubevirt --external-provider 10de=nvidia.com/GP104_GEFORCE_GTX_1070
"""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:  # noqa: ANN401 - argparse's private subparsers type
    """Add ``export nfd``, ``export nodefeature`` and ``export kubevirt`` to *sub*."""
    raw = argparse.RawDescriptionHelpFormatter
    p_export = sub.add_parser(
        "export",
        help="documents for Kubernetes: NFD feature file or NodeFeature, KubeVirt's allow-list",
        description="Documents for Kubernetes: node labels for NFD, KubeVirt's allow-list.",
        epilog="examples:\n  hostpassthru export nfd\n  hostpassthru export kubevirt\n",
        formatter_class=raw,
    )
    formats = p_export.add_subparsers(dest="format", metavar="FORMAT", required=True)

    p_nfd = formats.add_parser(
        "nfd",
        parents=[common],
        help="write a feature file for NFD's local source",
        description="Write this host's labels and device facts as a feature file for NFD.",
        epilog=_NFD_EPILOG,
        formatter_class=raw,
    )
    p_nfd.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=FEATURES_DIR,
        help=f"write DIR/{FEATURE_FILE} (default: {FEATURES_DIR}); '-' prints it",
    )
    p_nfd.add_argument(
        "--expiry",
        metavar="SECONDS",
        type=int,
        default=DEFAULT_EXPIRY,
        help=f"NFD drops the labels after this long (default: {DEFAULT_EXPIRY}; 0: never)",
    )
    p_nfd.add_argument(
        "--watch",
        action="store_true",
        help="keep running: rewrite the file when the host changes, and at half the expiry",
    )
    p_nfd.set_defaults(run=_cmd_nfd)

    p_nf = formats.add_parser(
        "nodefeature",
        parents=[common],
        help="print a NodeFeature object (nfd.k8s-sigs.io/v1alpha1) for this node",
        description="Print this host's labels and devices as a NodeFeature object.",
        epilog="example:\n  hostpassthru export nodefeature --node node1 | kubectl apply -f -\n",
        formatter_class=raw,
    )
    p_nf.add_argument(
        "--node",
        metavar="NAME",
        default=os.environ.get("NODE_NAME"),
        help="the Kubernetes node this host is (default: $NODE_NAME)",
    )
    p_nf.add_argument("--namespace", metavar="NS", help="metadata.namespace of the object")
    p_nf.set_defaults(run=_cmd_nodefeature)

    # Not the common options: --replay takes several recordings here.
    p_kv = formats.add_parser(
        "kubevirt",
        help="print permittedHostDevices for the KubeVirt CR, as a merge patch",
        description="Print permittedHostDevices for the KubeVirt CR as a JSON merge patch "
        "(YAML unless --json), from this host or the union of several recordings.",
        epilog=_KUBEVIRT_EPILOG,
        formatter_class=raw,
    )
    p_kv.add_argument("--sysfs", metavar="PATH", default=argparse.SUPPRESS, help="read this tree")
    p_kv.add_argument("--proc", metavar="PATH", default=argparse.SUPPRESS, help="its /proc facts")
    p_kv.add_argument(
        "--replay",
        dest="replays",
        metavar="FILE",
        nargs="+",
        action="extend",
        default=[],
        help="read these recordings (one per node) instead of this host",
    )
    p_kv.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="JSON")
    p_kv.add_argument(
        "--external-provider",
        metavar="ID[=RESOURCE]",
        action="append",
        default=[],
        help="devices of this vendor or vendor:device are served by their vendor's device "
        "plugin, under RESOURCE if given",
    )
    p_kv.add_argument(
        "--resource-domain",
        metavar="DOMAIN",
        default=_export.DEFAULT_RESOURCE_DOMAIN,
        help=f"domain of our resource names (default: {_export.DEFAULT_RESOURCE_DOMAIN})",
    )
    p_kv.set_defaults(run=_cmd_kubevirt)


def write_atomically(directory: str, name: str, text: str) -> str:
    """Write *text* to DIRECTORY/NAME through a dot-file and a rename; returns the path.

    NFD skips dot-files, and a rename within a directory is atomic: its reader
    sees the old file or the new one, never a part.
    """
    path = os.path.join(directory, name)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
    try:
        data = text.encode()
        while data:
            data = data[os.write(fd, data) :]
        os.fchmod(fd, 0o644)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.rename(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp)
        raise
    return path


def _cmd_nfd(args: argparse.Namespace, host: Host) -> int:
    if args.expiry < 0:
        print("hostpassthru: --expiry must be 0 or more seconds", file=sys.stderr)
        return 2
    writer = _FeatureWriter(args.output, args.expiry, as_json=args.json)
    if not args.watch:
        return writer.write(host)
    if args.replay is not None:
        print(
            "hostpassthru: a recording does not change: --watch reads this host or --sysfs",
            file=sys.stderr,
        )
        return 2
    return _watch_nfd(args, writer)


class _FeatureWriter:
    """Writes the feature file (or prints it) and says so when the labels change.

    With *as_json*, each write prints one JSON document instead: where the file
    went (null for ``-o -``), its labels and the devices whose facts did not fit.
    """

    def __init__(self, output: str, expiry: int, *, as_json: bool = False) -> None:
        self.output = output
        self.expiry = dt.timedelta(seconds=expiry) if expiry else None
        self.as_json = as_json
        self.labels: dict[str, str] | None = None

    def write(self, host: Host) -> int:
        made = _export.feature_file(host, now=dt.datetime.now(dt.UTC), expiry=self.expiry)
        labels = dict(made.labels)
        if made.omitted and labels != self.labels:
            print(
                f"hostpassthru: warning: the facts of {len(made.omitted)} devices did not fit "
                f"in {_export.MAX_FEATURE_FILE} bytes; their counts are in the labels",
                file=sys.stderr,
            )
        path = None
        if self.output == "-":
            if not self.as_json:
                sys.stdout.write(made.text)
        else:
            try:
                path = write_atomically(self.output, FEATURE_FILE, made.text)
            except OSError as exc:
                print(f"hostpassthru: {self.output}: {exc.strerror or exc}", file=sys.stderr)
                return 1
            if labels != self.labels and not self.as_json:
                print(f"hostpassthru: wrote {path} ({len(labels)} labels)", file=sys.stderr)
        if self.as_json:
            document = {"path": path, "labels": labels, "omitted": list(made.omitted)}
            print(json.dumps({"schema": SCHEMA, **document}, indent=2))
        sys.stdout.flush()
        self.labels = labels
        return 0


def _watch_nfd(args: argparse.Namespace, writer: _FeatureWriter) -> int:
    """Rewrite the file on every change of the host (--sysfs, or this host), and at half expiry."""
    from ._watch import watch  # noqa: PLC0415 - only the --watch form needs the monitor

    refresh = None if writer.expiry is None else writer.expiry.total_seconds() / 2
    try:
        with watch(args.sysfs, proc=args.proc) as changes:
            code = writer.write(changes.host)
            while code == 0:
                changes.next_change(timeout=refresh)
                code = writer.write(changes.host)
    except KeyboardInterrupt:
        return 0
    return code


def _print(document: dict[str, Any], as_json: bool, comments: tuple[str, ...] = ()) -> None:
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        sys.stdout.write(_yaml.dump(document, comments=comments))


def _cmd_nodefeature(args: argparse.Namespace, host: Host) -> int:
    if not args.node:
        print("hostpassthru: export nodefeature needs --node NAME (or $NODE_NAME)", file=sys.stderr)
        return 2
    document = _export.node_feature(host, node=args.node, namespace=args.namespace)
    _print(document, args.json)
    return 0


def _host_name(args: argparse.Namespace) -> str:
    if args.replay is not None:
        return _stem(args.replay)
    if args.sysfs is not None:
        return str(args.sysfs)
    return os.uname().nodename


def _stem(path: str) -> str:
    return os.path.basename(path).removesuffix(".umockdev")


def replayed_hosts(paths: list[str]) -> list[tuple[str, Host]]:
    """Each recording scanned, named by its file name."""
    return [(_stem(path), replay_file(path)) for path in paths]


def _cmd_kubevirt(args: argparse.Namespace, host: Host | None) -> int:
    if host is None:
        if args.sysfs is not None:
            print("hostpassthru: --sysfs and --replay cannot be used together", file=sys.stderr)
            return 2
        hosts = replayed_hosts(args.replays)
    else:
        hosts = [(_host_name(args), host)]
    external = _export.parse_external(args.external_provider)
    made = _export.kubevirt_patch(hosts, domain=args.resource_domain, external=external)
    for line in made.warnings:
        print(f"hostpassthru: warning: {line}", file=sys.stderr)
    comments = (
        f"permittedHostDevices from {', '.join(name for name, _ in hosts)} (hostpassthru).",
        "Apply: kubectl patch kubevirt kubevirt -n kubevirt --type merge --patch-file FILE",
        "KubeVirt needs the HostDevices feature gate for these to be used.",
    )
    _print(dict(made.patch), args.json, comments)
    return 0
