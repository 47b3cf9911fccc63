"""Kubernetes exports against golden files written by hand from the fixtures.

tests/golden/k8s/ holds, for each host, the NFD feature file (``.features``),
the NodeFeature object (``.nodefeature.yaml``) and the KubeVirt merge patch
with its warnings (``.kubevirt.yaml``, ``.kubevirt.stderr``). They were
written from the fixture files (ids, drivers, groups, reset methods) and the
rules of the readiness table (docs/readiness.md), not produced by the code under test:

- desktop-gpu: the GPU and its audio function share group 1 with their root
  port; both are on host drivers, so both need preparation and each warns
  that its group is not viable.
- twins (built below with FakeHost, then recorded): two 8086:1521 functions
  on vfio-pci in one group, both ready; KubeVirt counts the group once.
- server-sriov: a PF with VFs (one VF driverless: viable, but KubeVirt wants
  vfio-pci, so it needs preparation), and two igb functions in one group.
- laptop-usb-sata: IOMMU off; a USB keyboard is ready (no VFIO for USB).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

import hostpassthru as hp
from hostpassthru import _cli, _cli_export, _export, _yaml
from hostpassthru.testing import FakeHost, fixture_path, materialize

GOLDEN = Path(__file__).parent / "golden" / "k8s"
HOSTS = ("desktop-gpu", "twins", "server-sriov", "laptop-usb-sata")
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
NS = "hostpassthru.feature.node.kubernetes.io"


def golden(name: str) -> str:
    """The text of a golden file."""
    return (GOLDEN / name).read_text(encoding="utf-8")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the command line."""
    code = _cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def build_twins(top: Path) -> str:
    """Two identical functions on vfio-pci in one group behind a root port; the sysfs root."""
    return (
        FakeHost(top)
        .add_pci("0000:00:1c.0", cls=0x060400, device=0xA33C, driver="pcieport", group=5)
        .add_pci("0000:03:00.0", parent="0000:00:1c.0", device=0x1521, driver="vfio-pci", group=5)
        .add_pci("0000:03:00.1", parent="0000:00:1c.0", device=0x1521, driver="vfio-pci", group=5)
        .root
    )


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each host's recording by name: the shipped fixtures, and the twins host recorded."""
    top = tmp_path_factory.mktemp("twins")
    path = top / "twins.umockdev"
    assert 0 == _cli.main(["record", "--sysfs", build_twins(top / "host"), "-o", str(path)])
    found = {name: str(fixture_path(name)) for name in HOSTS if name != "twins"}
    return {**found, "twins": str(path)}


def scanned(recording: str, tmp_path: Path) -> hp.Host:
    """A recording, scanned through a materialised tree."""
    return hp.scan(sysfs=materialize(recording, tmp_path))


@pytest.mark.parametrize("name", HOSTS)
def test_feature_file(name: str, recordings: dict[str, str], tmp_path: Path) -> None:
    """The feature file, at a fixed time with an hour's expiry, is the golden one."""
    made = _export.feature_file(scanned(recordings[name], tmp_path), now=NOW, expiry=HOUR)
    assert golden(f"{name}.features") == made.text


@pytest.mark.parametrize("name", HOSTS)
def test_nodefeature(
    name: str, recordings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The nodefeature export prints the golden object."""
    argv = ["--replay", recordings[name], "export", "nodefeature", "--node", "node-1"]
    code, out, err = run(argv, capsys)
    assert 0 == code
    assert golden(f"{name}.nodefeature.yaml") == out
    assert "" == err


@pytest.mark.parametrize("name", HOSTS)
def test_kubevirt(
    name: str, recordings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The kubevirt export prints the golden patch, and the golden warnings on stderr."""
    expected = (0, golden(f"{name}.kubevirt.yaml"), golden(f"{name}.kubevirt.stderr"))
    assert expected == run(["export", "kubevirt", "--replay", recordings[name]], capsys)


def test_kubevirt_union(recordings: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """Two recordings: one entry per id; an id ready on one node is not 'ready on no node'."""
    argv = ["export", "kubevirt", "--replay", recordings["server-sriov"], recordings["twins"]]
    argv += ["--external-provider", "144D"]
    expected = (0, golden("union.kubevirt.yaml"), golden("union.kubevirt.stderr"))
    assert expected == run(argv, capsys)


def test_kubevirt_replay_before_the_command(
    recordings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The global --replay (one recording) works as well, named after its file."""
    argv = ["--replay", recordings["twins"], "export", "kubevirt"]
    code, out, _ = run(argv, capsys)
    assert 0 == code
    assert golden("twins.kubevirt.yaml") == out


def test_kubevirt_json(recordings: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the same patch as JSON, without comments."""
    _, out, _ = run(["export", "kubevirt", "--json", "--replay", recordings["twins"]], capsys)
    assert (
        '{\n  "spec": {\n    "configuration": {\n      "permittedHostDevices": {\n'
        '        "pciHostDevices": [\n          {\n'
        '            "pciVendorSelector": "8086:1521",\n'
        '            "resourceName": "hostpassthru.io/pci-8086-1521"\n          }\n        ],\n'
        '        "usb": []\n      }\n    }\n  }\n}\n'
    ) == out


def test_external_provider_with_its_resource(
    recordings: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """ID=RESOURCE takes the vendor plugin's resource name; an id on no host is a warning."""
    argv = ["export", "kubevirt", "--replay", recordings["twins"], "--external-provider"]
    argv += ["8086:1521=intel.com/i350", "--external-provider", "10de"]
    code, out, err = run(argv, capsys)
    assert 0 == code
    assert (
        '        - pciVendorSelector: "8086:1521"\n'
        '          resourceName: "intel.com/i350"\n'
        "          externalResourceProvider: true\n"
    ) in out
    assert "hostpassthru: warning: --external-provider 10de: no device has this id\n" in err


def test_blocked_everywhere_is_left_out(tmp_path: Path) -> None:
    """A device blocked on every node gets no entry, and a warning says why."""
    root = FakeHost(tmp_path).add_pci("0000:00:02.0", cls=0x030000, device=0x3E92).root
    made = _export.kubevirt_patch([("igpu-host", hp.scan(sysfs=root))])
    assert {"pciHostDevices": [], "usb": []} == made.patch["spec"]["configuration"][  # type: ignore[index]
        "permittedHostDevices"
    ]
    assert ("8086:3e92: blocked on every node (igpu-host: iommu_off); left out",) == made.warnings


def test_a_vgpu_vf_is_ready_on_nvidia(tmp_path: Path) -> None:
    """A VF carrying a vGPU type (nvidia/current_vgpu_type=921) is ready without vfio-pci.

    In the nvidia-vgpu-vf fixture, 0000:41:00.4 has a type; its 32 sister VFs have none
    (they need one first), and the PF has VFs enabled.
    """
    host = scanned(str(fixture_path("nvidia-vgpu-vf")), tmp_path)
    labels = _export.labels(host)
    assert "1" == labels[f"{NS}/pci-10de-27b8.ready"]


class TestNfdCommand:
    """export nfd writes the file atomically where NFD reads it."""

    def test_writes_the_golden_file_with_a_fresh_expiry(
        self, recordings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The file is the golden one but for the expiry, an hour from now; no dot-file stays."""
        before = dt.datetime.now(dt.UTC).replace(microsecond=0)
        argv = ["--replay", recordings["desktop-gpu"], "export", "nfd", "-o", str(tmp_path)]
        code, out, err = run(argv, capsys)
        after = dt.datetime.now(dt.UTC)
        lines = (tmp_path / "hostpassthru").read_text(encoding="utf-8").splitlines(keepends=True)
        expected = golden("desktop-gpu.features").splitlines(keepends=True)
        stamp = dt.datetime.fromisoformat(lines[2].removeprefix("# +expiry-time=").strip())
        assert 0 == code
        assert "" == out
        assert f"hostpassthru: wrote {tmp_path}/hostpassthru (21 labels)\n" == err
        assert expected[:2] + expected[3:] == lines[:2] + lines[3:]
        assert before + HOUR <= stamp <= after + HOUR
        assert ["hostpassthru"] == os.listdir(tmp_path)

    def test_replaces_the_file(
        self, recordings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A second run replaces the first file whole."""
        (tmp_path / "hostpassthru").write_text("old=1\n" * 50000, encoding="utf-8")
        argv = ["--replay", recordings["laptop-usb-sata"], "export", "nfd", "-o", str(tmp_path)]
        argv += ["--expiry", "0"]
        run(argv, capsys)
        expected = golden("laptop-usb-sata.features").replace(
            "# +expiry-time=2026-01-01T01:00:00Z\n", ""
        )
        assert expected == (tmp_path / "hostpassthru").read_text(encoding="utf-8")

    def test_stdout(self, recordings: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
        """-o - prints the file."""
        argv = ["--replay", recordings["twins"], "export", "nfd", "-o", "-", "--expiry", "0"]
        expected = golden("twins.features").replace("# +expiry-time=2026-01-01T01:00:00Z\n", "")
        code, out, err = run(argv, capsys)
        assert 0 == code
        assert expected == out
        assert "" == err

    def test_json(
        self, recordings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--json says where the file went and what labels it carries."""
        argv = ["--replay", recordings["laptop-usb-sata"], "export", "nfd", "--json"]
        code, out, err = run([*argv, "-o", str(tmp_path)], capsys)
        assert 0 == code
        assert "" == err
        assert {
            "schema": 1,
            "path": f"{tmp_path}/hostpassthru",
            "labels": {
                f"{NS}/iommu": "false",
                f"{NS}/usb-046d-c31c.present": "1",
                f"{NS}/usb-046d-c31c.passable": "1",
                f"{NS}/usb-046d-c31c.ready": "1",
                f"{NS}/usb-046d-c31c.needs-preparation": "0",
            },
            "omitted": [],
        } == json.loads(out)

    def test_missing_directory(
        self, recordings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A directory that does not exist: one line, exit 1, nothing created."""
        missing = tmp_path / "features.d"
        argv = ["--replay", recordings["twins"], "export", "nfd", "-o", str(missing)]
        code, out, err = run(argv, capsys)
        assert 1 == code
        assert "" == out
        assert f"hostpassthru: {missing}: No such file or directory\n" == err
        assert not missing.exists()

    def test_negative_expiry(
        self, recordings: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A negative expiry is a usage error."""
        argv = ["--replay", recordings["twins"], "export", "nfd", "--expiry", "-5"]
        code, out, err = run(argv, capsys)
        assert 2 == code
        assert "" == out
        assert "hostpassthru: --expiry must be 0 or more seconds\n" == err


class TestBadInput:
    """Mistakes give one line on stderr and a non-zero exit."""

    @pytest.mark.parametrize(
        ("extra", "message"),
        [
            (
                ["nodefeature", "--node", "Node_1"],
                (
                    "Node_1: not a node name NFD can label: lower-case letters, digits, '-' and "
                    "'.', at most 63 characters, starting and ending with a letter or digit"
                ),
            ),
            (
                ["nodefeature", "--node", "n" * 64],
                "n" * 64 + ": not a node name NFD can label: lower-case letters, digits, '-' "
                "and '.', at most 63 characters, starting and ending with a letter or digit",
            ),
            (
                ["nodefeature", "--node", "node-1", "--namespace", "Kube"],
                "Kube: not a namespace name (an RFC 1123 label)",
            ),
            (
                ["kubevirt", "--resource-domain", "devices.kubernetes.io"],
                (
                    "devices.kubernetes.io: not a domain for extended resources: a DNS subdomain "
                    "outside kubernetes.io"
                ),
            ),
            (
                ["kubevirt", "--external-provider", "nvidia"],
                "nvidia: not a vendor or vendor:device id (10de, 10de:1b81)",
            ),
            (
                ["kubevirt", "--external-provider", "10de=nvidia.com"],
                "nvidia.com: not an extended resource name (DOMAIN/NAME)",
            ),
        ],
    )
    def test_one_line(
        self,
        extra: list[str],
        message: str,
        recordings: dict[str, str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Each bad name is refused with what is wrong."""
        argv = ["--replay", recordings["twins"], "export", *extra]
        code, out, err = run(argv, capsys)
        assert 1 == code
        assert "" == out
        assert f"hostpassthru: {message}\n" == err

    def test_no_node(
        self,
        recordings: dict[str, str],
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Without --node or $NODE_NAME, nodefeature says what it needs."""
        monkeypatch.delenv("NODE_NAME", raising=False)
        argv = ["--replay", recordings["twins"], "export", "nodefeature"]
        expected = "hostpassthru: export nodefeature needs --node NAME (or $NODE_NAME)\n"
        code, out, err = run(argv, capsys)
        assert 2 == code
        assert "" == out
        assert expected == err

    def test_node_from_the_environment(
        self,
        recordings: dict[str, str],
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """$NODE_NAME (the downward API in a DaemonSet) names the node."""
        monkeypatch.setenv("NODE_NAME", "node-1")
        argv = ["--replay", recordings["twins"], "export", "nodefeature"]
        code, out, err = run(argv, capsys)
        assert 0 == code
        assert golden("twins.nodefeature.yaml") == out
        assert "" == err

    def test_sysfs_with_replays(
        self, recordings: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--sysfs and --replay together are refused."""
        argv = ["export", "kubevirt", "--sysfs", str(tmp_path), "--replay", recordings["twins"]]
        expected = "hostpassthru: --sysfs and --replay cannot be used together\n"
        code, out, err = run(argv, capsys)
        assert 2 == code
        assert "" == out
        assert expected == err


class TestFeatureFileLimit:
    """NFD ignores a feature file over 64 KiB: labels always fit, facts as many as fit."""

    def test_facts_that_do_not_fit_are_left_out(self, tmp_path: Path) -> None:
        """With room for the labels and one device's facts, the rest are named as omitted."""
        host = hp.scan(sysfs=build_twins(tmp_path))
        text = golden("twins.features")
        cut = text.index("# +no-label\nhostpassthru.feature.node.kubernetes.io/pci_0000_03_00_1")
        made = _export.feature_file(host, now=NOW, expiry=HOUR, limit=len(text.encode()) - 1)
        assert text[:cut] == made.text
        assert ("pci_0000_03_00_1",) == made.omitted

    def test_labels_over_the_limit(self, tmp_path: Path) -> None:
        """Labels that alone exceed the limit are an error, not a truncated file."""
        host = hp.scan(sysfs=build_twins(tmp_path))
        with pytest.raises(hp.HostpassthruError, match=r"over 100$"):
            _export.feature_file(host, now=NOW, expiry=HOUR, limit=100)

    def test_many_devices_stay_under_64_kib(self, tmp_path: Path) -> None:
        """1,000 VFs: every label written, the file under NFD's limit."""
        fake = FakeHost(tmp_path)
        for i in range(1000):
            bus, fn = divmod(i, 8)
            fake.add_pci(
                f"0000:{0x10 + bus // 32:02x}:{bus % 32:02x}.{fn}",
                device=0x154C,
                driver="vfio-pci",
                group=100 + i,
            )
        made = _export.feature_file(hp.scan(sysfs=fake.root), now=NOW, expiry=HOUR)
        assert 65536 >= len(made.text.encode())
        assert f"{NS}/pci-8086-154c.ready=1000\n" in made.text
        assert 1000 - made.text.count("# +no-label\n") == len(made.omitted)

    def test_now_must_carry_a_zone(self, tmp_path: Path) -> None:
        """A naive time cannot be written as RFC 3339."""
        host = hp.scan(sysfs=build_twins(tmp_path))
        with pytest.raises(ValueError, match="timezone-aware"):
            _export.feature_file(host, now=dt.datetime(2026, 1, 1), expiry=HOUR)  # noqa: DTZ001


def test_write_atomically_cleans_up(tmp_path: Path) -> None:
    """A write that fails leaves neither the dot-file nor a half file."""

    class Boom(str):
        __slots__ = ()

        def encode(self, *_: object, **__: object) -> bytes:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _cli_export.write_atomically(str(tmp_path), "hostpassthru", Boom("x"))
    assert [] == os.listdir(tmp_path)


class TestYaml:
    """The YAML writer quotes every string, so nothing turns into a number or a bool."""

    def test_scalars(self) -> None:
        """Strings that a plain YAML scalar would read as float, octal, bool or null."""
        doc = {"a": ["1e00", "0001", "yes", "on", "null", "10de:1b81", ""], "b": True, "c": 3}
        expected = (
            'a:\n  - "1e00"\n  - "0001"\n  - "yes"\n  - "on"\n  - "null"\n'
            '  - "10de:1b81"\n  - ""\nb: true\nc: 3\n'
        )
        assert expected == _yaml.dump(doc)

    def test_keys_that_need_quotes(self) -> None:
        """Keys are plain where no reader could resolve them to something else."""
        assert '"on": {}\n"0x10": []\nx.y/z-w: null\n' == _yaml.dump(
            {"on": {}, "0x10": [], "x.y/z-w": None}
        )

    def test_comments_and_nesting(self) -> None:
        """Comments on top; mappings in sequences start on the dash line."""
        expected = '# top\nl:\n  - k: 1\n    m:\n      - - "x"\n'
        assert expected == _yaml.dump({"l": [{"k": 1, "m": [["x"]]}]}, comments=("top",))
