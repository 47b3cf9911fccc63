"""SR-IOV, mediated devices and vGPU: parsing, odd trees, readiness and the CLI, by hand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru import _cli
from hostpassthru._sriov import parse_vgpu_current, parse_vgpu_types
from hostpassthru.testing import materialize, parse_recording

if TYPE_CHECKING:
    from pathlib import Path

UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
MDEV = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01"


class TestVgpuTypes:
    """NVIDIA's creatable_vgpu_types, read leniently."""

    def test_driver_format(self) -> None:
        """The header, then ``ID : name`` lines padded with spaces."""
        text = "ID    : vGPU Name\n557   : NVIDIA L4-1B\n558   : NVIDIA L4-2B\n"
        types, bad = parse_vgpu_types(text)
        assert ((557, "NVIDIA L4-1B"), (558, "NVIDIA L4-2B")) == types
        assert () == bad

    def test_header_alone(self) -> None:
        """A card whose capacity is used up shows the header alone."""
        types, bad = parse_vgpu_types("ID    : vGPU Name\n")
        assert () == types
        assert () == bad

    def test_empty(self) -> None:
        """An empty file: no types, nothing bad."""
        types, bad = parse_vgpu_types("")
        assert () == types
        assert () == bad

    def test_without_colon(self) -> None:
        """``ID name``, as some tools print it."""
        types, bad = parse_vgpu_types("1414 NVIDIA H200X-1-18C")
        assert ((1414, "NVIDIA H200X-1-18C"),) == types
        assert () == bad

    def test_name_first(self) -> None:
        """``name : ID``."""
        types, bad = parse_vgpu_types("NVIDIA H200X-141C : 1428")
        assert ((1428, "NVIDIA H200X-141C"),) == types
        assert () == bad

    def test_bad_lines_are_returned(self) -> None:
        """A line with no number is returned as bad; the good ones are kept."""
        text = "ID : vGPU Name\nwhat is this\n921 : NVIDIA L4-2Q\n"
        types, bad = parse_vgpu_types(text)
        assert ((921, "NVIDIA L4-2Q"),) == types
        assert ("what is this",) == bad

    def test_current(self) -> None:
        """The number alone, or an ``ID : name`` form."""
        assert 0 == parse_vgpu_current("0\n")
        assert 921 == parse_vgpu_current("921")
        assert 921 == parse_vgpu_current("921 : NVIDIA L4-2Q")

    def test_current_malformed(self) -> None:
        """Anything else is a ValueError."""
        with pytest.raises(ValueError, match="none"):
            parse_vgpu_current("none")


PCI = """
P: /devices/pci0000:00/0000:00:03.0
E: SUBSYSTEM=pci
A: class=0x030200\\n
A: vendor=0x10de\\n
A: device=0x27b8\\n
L: driver=../../../bus/pci/drivers/nvidia
"""


def _mdev(type_id: str) -> str:
    """The recording of an unbound mdev of *type_id* beneath the GPU of PCI."""
    return f"""
P: /devices/pci0000:00/0000:00:03.0/{UUID}
E: SUBSYSTEM=mdev
L: mdev_type=../mdev_supported_types/{type_id}
"""


def _host(tmp_path: Path, text: str) -> hp.Host:
    return hp.scan(sysfs=materialize(parse_recording(text), tmp_path))


class TestOddTrees:
    """Malformed, missing and unusual facts: never a crash, a problem line where due."""

    def test_malformed_vgpu_files(self, tmp_path: Path) -> None:
        """A bad type line and a bad current type are problems; the rest is kept."""
        host = _host(
            tmp_path,
            PCI
            + """
P: /devices/pci0000:00/0000:00:03.1
E: SUBSYSTEM=pci
A: class=0x030200\\n
A: nvidia/creatable_vgpu_types=ID : vGPU Name\\nbroken\\n7 : X-1Q\\n
A: nvidia/current_vgpu_type=lots\\n
L: physfn=../0000:00:03.0
""",
        )
        vgpu = host.device("0000:00:03.1").pci
        assert hp.VgpuInfo(creatable=(hp.VgpuType(id=7, name="X-1Q"),), current=None) == (
            vgpu and vgpu.vgpu
        )
        assert (
            "0000:00:03.1: nvidia/creatable_vgpu_types: skipped 'broken'",
            "0000:00:03.1: nvidia/current_vgpu_type: malformed value 'lots'",
        ) == host.problems

    def test_malformed_available_instances(self, tmp_path: Path) -> None:
        """An unreadable count is None and a problem."""
        host = _host(
            tmp_path,
            PCI.replace(
                "L: driver",
                "A: mdev_supported_types/nvidia-63/available_instances=many\\n\nL: driver",
            ),
        )
        (t,) = host.device("0000:00:03.0").mdev_types
        assert None is t.available_instances
        assert ("nvidia-63: available_instances: malformed value 'many'",) == host.problems

    def test_mdev_group_with_iommu_off(self, tmp_path: Path) -> None:
        """GVT-g works with the IOMMU off: the mdev's emulated group does not turn it on."""
        host = _host(
            tmp_path,
            PCI.replace(
                "L: driver",
                "A: mdev_supported_types/nvidia-63/name=GRID M10-2Q\\n\nL: driver",
            )
            + f"""
P: /devices/pci0000:00/0000:00:03.0/{UUID}
E: SUBSYSTEM=mdev
L: mdev_type=../mdev_supported_types/nvidia-63
L: iommu_group=../../../../kernel/iommu_groups/0
""",
        )
        assert False is host.iommu_enabled
        assert {} == dict(host.iommu_groups)
        assert 0 == host.device(MDEV).iommu_group

    def test_mdev_of_unknown_type(self, tmp_path: Path) -> None:
        """An mdev whose parent lists no such type keeps its type id, no name."""
        host = _host(
            tmp_path,
            PCI + _mdev("nvidia-99"),
        )
        dev = host.device(MDEV)
        assert hp.MdevInfo(type_id="nvidia-99", type_name=None, device_api=None) == dev.mdev
        assert "nvidia-99" == dev.description
        assert None is dev.driver

    def test_vanish_takes_what_is_beneath_a_vf(self, tmp_path: Path) -> None:
        """An mdev on a VF (NVIDIA's older vGPU on SR-IOV) vanishes with the VF."""
        host = _host(
            tmp_path,
            PCI.replace("L: driver", "A: sriov_numvfs=1\\n\nL: virtfn0=../0000:00:03.4\nL: driver")
            + f"""
P: /devices/pci0000:00/0000:00:03.4
E: SUBSYSTEM=pci
A: class=0x030200\\n
L: physfn=../0000:00:03.0

P: /devices/pci0000:00/0000:00:03.4/{UUID}
E: SUBSYSTEM=mdev
L: mdev_type=../mdev_supported_types/nvidia-558
""",
        )
        actual = tuple(d.name for d in hp.vanish_with_vfs("0000:00:03.0", host=host))
        assert ("pci_0000_00_03_4", MDEV) == actual

    def test_vanish_of_a_usb_device(self, tmp_path: Path) -> None:
        """Only a PCI function can have VFs."""
        host = hp.scan(
            sysfs=hp.testing.FakeHost(tmp_path)
            .add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd")
            .add_usb("usb1", parent="0000:00:14.0", device_class=9)
            .root,
        )
        assert () == host.vanish_with_vfs("usb_usb1")


def _codes(a: hp.Assessment) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity, f.device) for f in a.findings]


class TestReadiness:
    """check() knows mediated devices and VFs that NVIDIA's driver passes itself."""

    def test_mdev_is_ready(self, tmp_path: Path) -> None:
        """A bound mdev: ready, with the mdev info first."""
        host = hp.scan(sysfs=materialize("gvtg-mdev", tmp_path))
        a = hp.check(MDEV, host=host)
        assert "ready" == a.verdict
        assert [
            ("mdev", "info", MDEV),
            ("host_use_unknown", "info", MDEV),
        ] == _codes(a)

    def test_mdev_message(self, tmp_path: Path) -> None:
        """The message names the type and says the parent stays."""
        host = hp.scan(sysfs=materialize("gvtg-mdev", tmp_path))
        assert (
            "a mediated device of type GVTg_V5_4 on pci_0000_00_02_0: only it goes, "
            "its parent stays with the host"
        ) == hp.check(MDEV, host=host).findings[0].message

    def test_unbound_mdev(self, tmp_path: Path) -> None:
        """An mdev without a driver needs one: VFIO cannot open it."""
        host = _host(
            tmp_path,
            PCI + _mdev("nvidia-63"),
        )
        a = hp.check(MDEV, host=host)
        assert "needs_preparation" == a.verdict
        first = a.findings[0]
        assert "mdev_no_driver" == first.code
        assert "action" == first.severity
        assert MDEV == first.device

    def test_vgpu_vf_is_not_bound_to_vfio(self, tmp_path: Path) -> None:
        """VF 0 carries a vGPU: ready on nvidia, no host_driver finding."""
        host = hp.scan(sysfs=materialize("nvidia-vgpu-vf", tmp_path))
        a = hp.check("0000:41:00.4", host=host)
        assert "ready" == a.verdict
        assert [
            ("vgpu", "info", "pci_0000_41_00_4"),
            ("sriov_vf", "info", "pci_0000_41_00_4"),
            ("host_use_unknown", "info", "pci_0000_41_00_4"),
        ] == _codes(a)

    def test_vgpu_vf_without_type(self, tmp_path: Path) -> None:
        """VF 1 has no type yet: set one, and the hint names those creatable."""
        host = hp.scan(sysfs=materialize("nvidia-vgpu-vf", tmp_path))
        finding = hp.check("0000:41:00.5", host=host).findings[0]
        assert "vgpu_type_unset" == finding.code
        assert "action" == finding.severity
        assert (
            "choose one of 921 (NVIDIA L4-2Q) and write its id to "
            "/sys/bus/pci/devices/0000:41:00.5/nvidia/current_vgpu_type"
        ) == finding.hint

    def test_ordinary_vf_on_host_driver(self, tmp_path: Path) -> None:
        """A NIC VF on mlx5_core still needs vfio-pci."""
        host = hp.scan(sysfs=materialize("sriov-nic", tmp_path))
        a = hp.check("0000:3b:00.2", host=host)
        first = a.findings[0]
        assert "host_driver" == first.code
        assert "action" == first.severity
        assert "pci_0000_3b_00_2" == first.device


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process."""
    code = _cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    """show lists a PF's VFs and a parent's types; list --cap mdev shows the types too."""

    def test_list_cap_mdev(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """The instance, then each type with what is left."""
        root = materialize("gvtg-mdev", tmp_path)
        code, out, err = run(["list", "--cap", "mdev", "--sysfs", root], capsys)
        assert 0 == code
        assert "" == err
        assert (
            "NAME                                       KIND  GROUP  DRIVER           ID  "
            "DESCRIPTION\n"
            f"{MDEV}  mdev  13     intel_vgpu_mdev  -   GVTg_V5_4\n"
            "\n"
            "PARENT            TYPE            NAME       API       AVAILABLE  DEVICES\n"
            "pci_0000_00_02_0  i915-GVTg_V5_4  GVTg_V5_4  vfio-pci  0          1\n"
            "pci_0000_00_02_0  i915-GVTg_V5_8  GVTg_V5_8  vfio-pci  1          0\n"
        ) == out

    def test_list_cap_mdev_json(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """The types come as mdev_types, each with its parent."""
        root = materialize("gvtg-mdev", tmp_path)
        _, out, _ = run(["list", "--cap", "mdev", "--json", "--sysfs", root], capsys)
        doc = json.loads(out)
        assert [MDEV] == [d["name"] for d in doc["devices"]]
        assert {
            "parent": "pci_0000_00_02_0",
            "id": "i915-GVTg_V5_8",
            "name": "GVTg_V5_8",
            "description": (
                "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\nresolution: 1024x768\nweight: 2"
            ),
            "device_api": "vfio-pci",
            "available_instances": 1,
            "devices": [],
        } == doc["mdev_types"][1]

    def test_list_without_cap_has_no_types(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """Other lists keep their shape."""
        root = materialize("gvtg-mdev", tmp_path)
        _, out, _ = run(["list", "--json", "--sysfs", root], capsys)
        assert {"schema", "iommu_enabled", "devices", "problems"} == set(json.loads(out))

    def test_show_pf(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """The counts and every VF with its driver and group."""
        root = materialize("sriov-nic", tmp_path)
        _, out, _ = run(["show", "0000:3b:00.0", "--sysfs", root], capsys)
        lines = out.splitlines()
        assert "sr-iov vfs:         4 of 8 enabled, drivers autoprobe on" in lines
        start = lines.index("virtual functions:  VF 0  pci_0000_3b_00_2  [mlx5_core]  group 110")
        assert [
            "                    VF 1  pci_0000_3b_00_3  [mlx5_core]  group 111",
            "                    VF 2  pci_0000_3b_00_4  [vfio-pci]  group 112",
            "                    VF 3  pci_0000_3b_00_5  [no driver]  group 113",
        ] == lines[start + 1 : start + 4]

    def test_show_vf(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """A VF names its PF and its index."""
        root = materialize("sriov-nic", tmp_path)
        _, out, _ = run(["show", "0000:3b:00.4", "--sysfs", root], capsys)
        assert "sr-iov pf:      pci_0000_3b_00_0 (VF 2)" in out.splitlines()

    def test_show_parent(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """A parent's types with what is left and their instances."""
        root = materialize("gvtg-mdev", tmp_path)
        _, out, _ = run(["show", "0000:00:02.0", "--sysfs", root], capsys)
        lines = out.splitlines()
        start = lines.index(
            f"mdev types:     i915-GVTg_V5_4  GVTg_V5_4  vfio-pci  0 available  ({MDEV})",
        )
        assert (
            "                i915-GVTg_V5_8  GVTg_V5_8  vfio-pci  1 available" == lines[start + 1]
        )

    def test_show_mdev(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """An mdev: its type and API; nothing goes with it."""
        root = materialize("gvtg-mdev", tmp_path)
        _, out, _ = run(["show", UUID, "--sysfs", root], capsys)
        lines = out.splitlines()
        assert "mdev type:     i915-GVTg_V5_4 (GVTg_V5_4)" in lines
        assert "device api:    vfio-pci" in lines
        assert "goes with it:  -" in lines

    def test_show_vgpu_vf(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """A VF with NVIDIA's files: its type and what it could carry."""
        root = materialize("nvidia-vgpu-vf", tmp_path)
        _, out, _ = run(["show", "0000:41:00.4", "--sysfs", root], capsys)
        lines = out.splitlines()
        assert "vgpu type:       921 (NVIDIA L4-2Q)" in lines
        assert "vgpu creatable:  921 (NVIDIA L4-2Q)" in lines


class TestPlan:
    """plan() moves no driver for an mdev or a VF that NVIDIA's driver passes itself."""

    def test_vgpu_vf(self, tmp_path: Path) -> None:
        """VF 0 of the L4: no member, no write, a note saying why."""
        host = hp.scan(sysfs=materialize("nvidia-vgpu-vf", tmp_path))
        p = hp.plan("0000:41:00.4", host=host)
        assert () == p.members
        assert () == p.writes
        assert (
            "0000:41:00.4 is a VF with NVIDIA's vGPU files: NVIDIA's driver passes it as it "
            "is; binding it to vfio-pci would lose the vGPU"
        ) == p.notes[0].message

    def test_mdev(self, tmp_path: Path) -> None:
        """An mdev: no member, no write; its parent keeps its driver."""
        host = hp.scan(sysfs=materialize("gvtg-mdev", tmp_path))
        p = hp.plan(MDEV, host=host)
        assert () == p.members
        assert () == p.writes
        assert "no_binding_needed" == p.notes[0].code
        assert MDEV == p.notes[0].device

    def test_nic_vf_is_bound(self, tmp_path: Path) -> None:
        """A NIC VF on mlx5_core is moved like any function: alone, its group its own."""
        host = hp.scan(sysfs=materialize("sriov-nic", tmp_path))
        p = hp.plan("0000:3b:00.2", host=host)
        assert ("pci_0000_3b_00_2",) == tuple(m.name for m in p.members)
