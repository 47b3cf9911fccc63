"""The exported documents are valid for the cluster, checked offline by independent tools.

- NodeFeature objects and KubeVirt patches against the schemas in tests/data/k8s/:
  hand-written subsets of the NFD and KubeVirt CRD schemas (see their
  ``$comment``: written from the projects' Go API types, not copied), checked
  with ``jsonschema``.
- The DaemonSet manifest with ``kubernetes-validate`` (Kubernetes' own OpenAPI
  schemas, strict: unknown fields are errors).
- Label keys and values, extended resource names and the feature file's
  format against rules written here from the Kubernetes and NFD documentation.
- A YAML round trip (PyYAML, a YAML 1.1 reader: the one most eager to turn
  ``0001`` or ``1e10`` into numbers) gives back exactly the JSON document.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

import hostpassthru as hp
from hostpassthru import _cli, _export
from hostpassthru.testing import FakeHost, fixture_path, materialize

DATA = Path(__file__).parent / "data" / "k8s"
DAEMONSET = Path(__file__).parent.parent / "deploy" / "kubernetes" / "daemonset.yaml"
FIXTURES = (
    "desktop-gpu",
    "server-sriov",
    "laptop-usb-sata",
    "chipset-group",
    "vm-virtio",
    "intel-vmd",
    "sriov-nic",
    "gvtg-mdev",
    "nvidia-vgpu-vf",
)

# Kubernetes' "Labels and Selectors" page (concepts/overview/working-with-objects/labels),
# "Syntax and character set": a key is an optional prefix and a name joined by "/".
# The name: at most 63 characters, beginning and ending with an alphanumeric
# character, with dashes, underscores, dots and alphanumerics between. The prefix: a
# DNS subdomain, dot-separated DNS labels, at most 253 characters. A value: at most
# 63 characters, empty, or beginning and ending with an alphanumeric character with
# dashes, underscores, dots and alphanumerics between.
NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN = re.compile(rf"{DNS_LABEL}(\.{DNS_LABEL})*")
VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
# NFD's "Node labels" (usage/customization-guide): namespaces other than
# feature.node.kubernetes.io and profile.node.kubernetes.io and their sub-namespaces
# must be allowed with -extra-label-ns; ours must need no configuration.
NFD_NAMESPACE = re.compile(r"([-a-z0-9.]+\.)?feature\.node\.kubernetes\.io")


def is_label_key(key: str, *, prefixed: bool = True) -> bool:
    """A qualified name with a prefix, by the rules above."""
    prefix, slash, name = key.rpartition("/")
    if not slash:
        return not prefixed and bool(NAME.fullmatch(name))
    return len(prefix) <= 253 and bool(DNS_SUBDOMAIN.fullmatch(prefix) and NAME.fullmatch(name))


def is_extended_resource(name: str) -> bool:
    """A fully qualified name (a prefixed label key) outside the kubernetes.io domain.

    Kubernetes' "Managing Resources for Containers", section Extended resources.
    """
    domain = name.partition("/")[0]
    return is_label_key(name) and not (
        domain == "kubernetes.io" or domain.endswith(".kubernetes.io")
    )


def schema(name: str) -> dict[str, object]:
    """A schema of tests/data/k8s."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    """The JSON document a command prints."""
    assert 0 == _cli.main(argv)
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def run_yaml(argv: list[str], capsys: pytest.CaptureFixture[str]) -> object:
    """The YAML document a command prints, read by PyYAML."""
    assert 0 == _cli.main(argv)
    return yaml.safe_load(capsys.readouterr().out)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The two-identical-functions host as a recording."""
    top = tmp_path_factory.mktemp("twins")
    root = (
        FakeHost(top / "host")
        .add_pci("0000:00:1c.0", cls=0x060400, driver="pcieport", group=5)
        .add_pci("0000:03:00.0", parent="0000:00:1c.0", device=0x1521, driver="vfio-pci", group=5)
        .add_pci("0000:03:00.1", parent="0000:00:1c.0", device=0x1521, driver="vfio-pci", group=5)
        .root
    )
    path = str(top / "twins.umockdev")
    assert 0 == _cli.main(["record", "--sysfs", root, "-o", path])
    return path


@pytest.fixture(params=FIXTURES)
def recording(request: pytest.FixtureRequest) -> str:
    """Each fixture's recording in turn."""
    return str(fixture_path(request.param))


class TestRules:
    """The rules above say no to what Kubernetes refuses (so their yes means something)."""

    @pytest.mark.parametrize(
        "key",
        [
            "a/b:c",
            "hostpassthru.feature.node.kubernetes.io/pci-10de:1b81.ready",
            "Host.example/x",
            "x/" + "n" * 64,
            "x/-a",
            "feature.node.kubernetes.io/",
        ],
    )
    def test_bad_keys(self, key: str) -> None:
        """Colons, upper-case prefixes, long or badly ended names."""
        assert not is_label_key(key)

    @pytest.mark.parametrize("value", ["10de:1b81", "a/b", "-1", "x" * 64, "a b"])
    def test_bad_values(self, value: str) -> None:
        """Colons, slashes, a leading dash, 64 characters, spaces."""
        assert not VALUE.fullmatch(value)

    @pytest.mark.parametrize("name", ["kubernetes.io/gpu", "a.kubernetes.io/gpu", "gpu"])
    def test_bad_resources(self, name: str) -> None:
        """Extended resources are prefixed, outside kubernetes.io."""
        assert not is_extended_resource(name)


def _feature_lines(text: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Labels, no-label features and directives, as NFD's local source reads the file.

    From NFD's "Feature files" documentation: one ``name[=value]`` per line (value
    "true" when left out), ``#`` starts a comment, ``# +no-label`` keeps the next
    feature out of the labels, ``# +expiry-time=RFC3339`` drops what follows after
    that time.
    """
    labels: dict[str, str] = {}
    raw: dict[str, str] = {}
    directives: list[str] = []
    skip = False
    for line in (raw_line.strip() for raw_line in text.split("\n")):
        if not line:
            continue
        if line.startswith("# +"):
            directives.append(line)
            skip = skip or line == "# +no-label"
            continue
        if line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        (raw if skip else labels)[name] = value if eq else "true"
        skip = False
    return labels, raw, directives


class TestFeatureFile:
    """What NFD reads: valid labels in our namespace, facts kept out of labels."""

    def test_labels(self, recording: str, tmp_path: Path) -> None:
        """Every label key and value is valid and in a namespace NFD allows by default."""
        host = hp.scan(sysfs=materialize(recording, tmp_path))
        text = _export.feature_file(host, now=dt.datetime.now(dt.UTC), expiry=None).text
        labels, _, _ = _feature_lines(text)
        assert [] == [k for k in labels if not is_label_key(k)]
        assert [] == [v for v in labels.values() if not VALUE.fullmatch(v)]
        assert {"hostpassthru.feature.node.kubernetes.io"} == {k.split("/")[0] for k in labels}
        assert NFD_NAMESPACE.fullmatch("hostpassthru.feature.node.kubernetes.io")

    def test_values_are_counts_and_booleans(self, recording: str, tmp_path: Path) -> None:
        """Labels carry numbers and true/false only."""
        host = hp.scan(sysfs=materialize(recording, tmp_path))
        text = _export.feature_file(host, now=dt.datetime.now(dt.UTC), expiry=None).text
        labels, _, _ = _feature_lines(text)
        assert [] == [v for v in labels.values() if not re.fullmatch(r"[0-9]+|true|false", v)]

    def test_directives(self, tmp_path: Path) -> None:
        """The expiry comes first and parses as RFC 3339; one no-label per device fact."""
        host = hp.scan(sysfs=materialize(fixture_path("server-sriov"), tmp_path))
        now = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
        text = _export.feature_file(host, now=now, expiry=dt.timedelta(minutes=45)).text
        _, raw, directives = _feature_lines(text)
        assert ["# +expiry-time=2026-07-01T02:15:00Z"] + ["# +no-label"] * 6 == directives
        assert dt.datetime(2026, 7, 1, 2, 15, tzinfo=dt.UTC) == dt.datetime.fromisoformat(
            directives[0].partition("=")[2]
        )
        assert 6 == len(raw)


class TestNodeFeature:
    """NodeFeature objects match NFD's API and carry valid labels."""

    def test_schema(self, recording: str, capsys: pytest.CaptureFixture[str]) -> None:
        """The object validates against the NodeFeature schema."""
        argv = ["--replay", recording, "export", "nodefeature", "--node", "worker-3", "--json"]
        jsonschema.validate(run_json(argv, capsys), schema("nodefeature-v1alpha1.schema.json"))

    def test_names(self, recording: str, capsys: pytest.CaptureFixture[str]) -> None:
        """Name, labels and node-name label are what Kubernetes and NFD accept."""
        argv = ["--replay", recording, "export", "nodefeature", "--node", "worker-3", "--json"]
        doc = run_json(argv, capsys)
        meta, spec = doc["metadata"], doc["spec"]
        assert isinstance(meta, dict)
        assert isinstance(spec, dict)
        labels = {**meta["labels"], **spec["labels"]}
        assert DNS_SUBDOMAIN.fullmatch(meta["name"])
        assert "worker-3" == meta["labels"]["nfd.node.kubernetes.io/node-name"]
        assert [] == [k for k in labels if not is_label_key(k)]
        assert [] == [v for v in labels.values() if not VALUE.fullmatch(v)]

    def test_a_wrong_object_fails(self) -> None:
        """The schema refuses a typo and a missing node-name label."""
        bad = {
            "apiVersion": "nfd.k8s-sigs.io/v1alpha1",
            "kind": "NodeFeature",
            "metadata": {"name": "x", "labels": {}},
            "spec": {"feature": {}},
        }
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema("nodefeature-v1alpha1.schema.json"))


class TestKubevirt:
    """The KubeVirt patch matches KubeVirt's API, with valid resource names."""

    def test_schema(self, recording: str, twins: str, capsys: pytest.CaptureFixture[str]) -> None:
        """The patch of each fixture, and of all of them, validates."""
        for argv in (
            ["export", "kubevirt", "--json", "--replay", recording],
            [
                "export",
                "kubevirt",
                "--json",
                "--replay",
                recording,
                twins,
                "--external-provider",
                "10de",
            ],
        ):
            doc = run_json(argv, capsys)
            jsonschema.validate(doc, schema("kubevirt-permittedhostdevices-patch.schema.json"))

    def test_resource_names(
        self, recording: str, twins: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every resource name is a valid extended resource; every id lower-case hex."""
        doc = run_json(["export", "kubevirt", "--json", "--replay", recording, twins], capsys)
        allowed = doc["spec"]["configuration"]["permittedHostDevices"]  # type: ignore[index]
        entries = allowed["pciHostDevices"] + allowed["usb"]
        assert [] == [e for e in entries if not is_extended_resource(e["resourceName"])]
        assert [] == [
            e
            for e in allowed["pciHostDevices"]
            if not re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", e["pciVendorSelector"])
        ]
        assert [] == [
            s
            for e in allowed["usb"]
            for s in e["selectors"]
            if not (
                re.fullmatch(r"[0-9a-f]{4}", s["vendor"])
                and re.fullmatch(r"[0-9a-f]{4}", s["product"])
            )
        ]

    def test_a_wrong_patch_fails(self) -> None:
        """The schema refuses a selector that is not a string, and a stray field."""
        bad: object
        for bad in (
            {
                "spec": {
                    "configuration": {
                        "permittedHostDevices": {
                            "usb": [
                                {
                                    "resourceName": "a.io/b",
                                    "selectors": [{"vendor": 1234, "product": "0001"}],
                                }
                            ]
                        }
                    }
                }
            },
            {"spec": {"configuration": {"permittedHostDevices": {"pciHostDevice": []}}}},
        ):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema("kubevirt-permittedhostdevices-patch.schema.json"))


class TestYamlRoundTrip:
    """The YAML that is printed reads back as exactly the JSON document: no id became a number."""

    @pytest.mark.parametrize("command", [["nodefeature", "--node", "node-1"], ["kubevirt"]])
    def test_same_document(
        self, command: list[str], recording: str, twins: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """YAML and --json agree on every fixture."""
        for replay in (recording, twins):
            argv = ["--replay", replay, "export", *command]
            assert run_json([*argv, "--json"], capsys) == run_yaml(argv, capsys)

    def test_ids_that_look_like_numbers(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """USB ids 1e10 (a float to YAML 1.2), 0777 (octal to 1.1) and 1234 stay strings."""
        root = (
            FakeHost(tmp_path)
            .add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd", group=2)
            .add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
            .add_usb("1-1", parent="usb1", vendor=0x1E10, product=0x0777)
            .add_usb("1-2", parent="usb1", vendor=0x1234, product=0x5678)
            .root
        )
        doc = run_yaml(["--sysfs", root, "export", "kubevirt"], capsys)
        usb = doc["spec"]["configuration"]["permittedHostDevices"]["usb"]  # type: ignore[index]
        assert [
            [{"vendor": "1234", "product": "5678"}],
            [{"vendor": "1e10", "product": "0777"}],
        ] == [e["selectors"] for e in usb]


class TestDaemonSet:
    """deploy/kubernetes/daemonset.yaml is valid for the Kubernetes API."""

    def test_valid(self) -> None:
        """Each object validates strictly (unknown fields are errors) against Kubernetes 1.30."""
        docs = list(yaml.safe_load_all(DAEMONSET.read_text(encoding="utf-8")))
        for doc in docs:
            kubernetes_validate.validate(doc, "1.30", strict=True)
        assert ["Namespace", "DaemonSet"] == [d["kind"] for d in docs]

    def test_a_wrong_manifest_fails(self) -> None:
        """A typo in a field is caught (so the pass above means something)."""
        doc = list(yaml.safe_load_all(DAEMONSET.read_text(encoding="utf-8")))[1]
        doc["spec"]["template"]["spec"]["hostPid"] = True
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(doc, "1.30", strict=True)

    def test_writes_where_nfd_reads(self) -> None:
        """The container writes NFD's features.d, mounted from the host's same path."""
        doc = list(yaml.safe_load_all(DAEMONSET.read_text(encoding="utf-8")))[1]
        pod = doc["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        container = pod["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        where = "/etc/kubernetes/node-feature-discovery/features.d"
        assert where == volumes[mounts[where]]["hostPath"]["path"]
        assert f"-o {where}" in container["args"][0]
