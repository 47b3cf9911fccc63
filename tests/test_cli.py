"""The command line, through main(argv) and through a real subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from hostpassthru._cli import main
from hostpassthru.testing import FakeHost, fixture_names, ids_from

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

LIST_DESKTOP = """\
NAME              KIND  GROUP  DRIVER         ID         DESCRIPTION
pci_0000_01_00_0  pci   1      nouveau        10de:1b81  NVIDIA Corporation GP104 [GeForce GTX 1070]
pci_0000_01_00_1  pci   1      snd_hda_intel  10de:10f0  NVIDIA Corporation
pci_0000_00_14_0  pci   4      xhci_hcd       8086:a36d  -
pci_0000_02_00_0  pci   8      nvme           144d:a808  -
"""

PCI_IDS = "10de  NVIDIA Corporation\n\t1b81  GP104 [GeForce GTX 1070]\n"


@pytest.fixture(autouse=True)
def names(tmp_path: Path) -> Iterator[None]:
    """A tiny pci.ids, so that descriptions do not depend on what this machine has."""
    ids = tmp_path / "ids"
    ids.mkdir()
    (ids / "pci.ids").write_text(PCI_IDS)
    with ids_from(ids):
        yield


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """main(argv) with its exit code, stdout and stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestList:
    """hostpassthru list."""

    def test_table(
        self,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """An aligned table of the passthrough devices."""
        root = sysfs_tree("desktop-gpu")
        code, out, err = run(["list", "--sysfs", root], capsys)
        assert 0 == code
        assert LIST_DESKTOP == out
        assert "" == err

    def test_all_shows_reasons(
        self,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """--all lists every node with a REASONS column."""
        code, out, _ = run(["--sysfs", sysfs_tree("desktop-gpu"), "list", "--all"], capsys)
        rows = {line.split()[0]: line.split()[5] for line in out.splitlines()[1:]}
        assert 0 == code
        assert "bridge,pcie_port,has_passthrough_children" == rows["pci_0000_00_01_0"]
        assert "usb_hub" == rows["usb_usb1"]
        assert "-" == rows["pci_0000_01_00_0"]

    def test_json(
        self,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """--json prints one document with a schema number and the model's field names."""
        code, out, _ = run(
            ["list", "--json", "--cap", "pci", "--sysfs", sysfs_tree("desktop-gpu")], capsys
        )
        doc = json.loads(out)
        gpu = doc["devices"][0]
        assert 0 == code
        assert 1 == doc["schema"]
        assert True is doc["iommu_enabled"]
        assert [] == doc["problems"]
        assert 4 == len(doc["devices"])
        expected = {
            "name": "pci_0000_01_00_0",
            "sys_name": "0000:01:00.0",
            "kind": "pci",
            "parent": "pci_0000_00_01_0",
            "children": [],
            "driver": "nouveau",
            "iommu_group": 1,
            "vendor_id": 0x10DE,
            "product_id": 0x1B81,
            "eligible": True,
            "reasons": [],
            "usb": None,
            "scsi": None,
        }
        assert expected == {k: gpu[k] for k in expected}
        assert {
            "class_code": 0x030000,
            "subsystem_vendor_id": 0x3842,
            "subsystem_product_id": 0x6173,
            "revision": 0xA1,
            "numa_node": None,
            "physfn": None,
            "boot_vga": True,
            "reset_methods": None,
            "has_reset": False,
            "sriov_numvfs": None,
            "driver_override": None,
            "modalias": None,
            "sriov_totalvfs": None,
            "sriov_drivers_autoprobe": None,
            "vfs": [],
            "vf_index": None,
            "vgpu": None,
        } == gpu["pci"]


class TestErrors:
    """User mistakes give one line on stderr and a non-zero exit, never a traceback."""

    def test_missing_sysfs(self, capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
        """A sysfs root that does not exist: exit 1, one line naming it."""
        code, out, err = run(["list", "--sysfs", f"{tmp_path}/nope"], capsys)
        assert 1 == code
        assert "" == out
        assert f"hostpassthru: {tmp_path}/nope: sysfs root does not exist\n" == err

    def test_bad_cap_is_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown --cap is a usage error, exit 2."""
        with pytest.raises(SystemExit) as info:
            main(["list", "--cap", "usb"])
        assert 2 == info.value.code
        assert "invalid choice" in capsys.readouterr().err


class TestHelpWidth:
    """Help is wrapped as argparse wraps it: to COLUMNS, else the terminal, else 80 columns."""

    USAGE_ONE_LINE = (
        "usage: hostpassthru list [-h] [--sysfs PATH] [--proc PATH] [--replay FILE] [--json]"
        " [--cap {pci,usb_device,scsi,mdev}] [--controllers] [--all]\n"
    )

    @staticmethod
    def usage(capsys: pytest.CaptureFixture[str]) -> list[str]:
        """The first two lines of ``list --help``."""
        with pytest.raises(SystemExit):
            main(["list", "--help"])
        return capsys.readouterr().out.splitlines(keepends=True)[:2]

    def test_columns(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """COLUMNS=200: the usage fits on one line."""
        monkeypatch.setenv("COLUMNS", "200")
        assert self.USAGE_ONE_LINE == self.usage(capsys)[0]

    def test_narrow_columns(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """COLUMNS=50: two columns stay free, so the usage wraps before 49."""
        monkeypatch.setenv("COLUMNS", "50")
        assert "usage: hostpassthru list [-h] [--sysfs PATH]\n" == self.usage(capsys)[0]

    def test_not_a_terminal(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """No COLUMNS and no terminal: 80 columns."""
        monkeypatch.delenv("COLUMNS", raising=False)
        first = "usage: hostpassthru list [-h] [--sysfs PATH] [--proc PATH] [--replay FILE]\n"
        second = "                         [--json] [--cap {pci,usb_device,scsi,mdev}]\n"
        assert [first, second] == self.usage(capsys)

    def test_terminal(self) -> None:
        """No COLUMNS, on a terminal 50 columns wide: wrapped to it."""
        import fcntl  # noqa: PLC0415 - Unix only, as this test
        import pty  # noqa: PLC0415
        import struct  # noqa: PLC0415
        import termios  # noqa: PLC0415

        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 50, 0, 0))
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        argv = [sys.executable, "-m", "hostpassthru", "list", "--help"]
        with subprocess.Popen(argv, stdout=terminal, stderr=terminal, env=env) as child:
            os.close(terminal)
            out = b""
            with contextlib.suppress(OSError):  # EIO once the child has closed its end
                while chunk := os.read(controller, 65536):
                    out += chunk
        os.close(controller)
        assert 0 == child.returncode
        first = out.splitlines(keepends=True)[0]
        assert b"usage: hostpassthru list [-h] [--sysfs PATH]\r\n" == first


class TestSubprocess:
    """The installed command and python -m."""

    def test_module_runs(self, sysfs_tree: Callable[[str], str]) -> None:
        """Python -m hostpassthru list prints the table."""
        done = subprocess.run(
            [sys.executable, "-m", "hostpassthru", "list", "--sysfs", sysfs_tree("desktop-gpu")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert 0 == done.returncode
        assert "NAME" == done.stdout.split()[0]
        assert "" == done.stderr

    def test_run_leaves_its_objects_to_the_exit(self, sysfs_tree: Callable[[str], str]) -> None:
        """run(), what the console script calls, returns main's code with every object frozen.

        Frozen objects are left out of the collection the interpreter makes as it ends.
        """
        code = (
            "import gc, sys\n"
            "from hostpassthru._cli import run\n"
            "before = gc.get_freeze_count()\n"
            "code = run()\n"
            "print(code, before, gc.get_freeze_count() > 0, file=sys.stderr)\n"
        )
        root = sysfs_tree("desktop-gpu")
        argv = [sys.executable, "-c", code, "list", "--json", "--sysfs", root]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert "0 0 True\n" == done.stderr

    def test_version(self) -> None:
        """--version prints the package version."""
        done = subprocess.run(
            [sys.executable, "-m", "hostpassthru", "--version"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert 0 == done.returncode
        assert done.stdout.startswith("hostpassthru ")

    def test_broken_pipe_is_quiet(self, sysfs_tree: Callable[[str], str]) -> None:
        """Output to a closed pipe ends quietly."""
        root = sysfs_tree("desktop-gpu")
        done = subprocess.run(  # noqa: S602 - the pipe to head is the point of the test
            f"{sys.executable} -m hostpassthru list --all --sysfs {root} | head -c 1",
            shell=True,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "N" == done.stdout
        assert "" == done.stderr

    def test_bad_root_no_traceback(self, tmp_path: object) -> None:
        """A non-sysfs directory gives one stderr line and exit 1."""
        done = subprocess.run(
            [sys.executable, "-m", "hostpassthru", "list", "--sysfs", str(tmp_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert 1 == done.returncode
        assert 1 == len(done.stderr.splitlines())
        assert "" == done.stdout


TREE_DESKTOP = """\
0000:00:00.0  host bridge  [skl_uncore]  group 0  (bridge)
0000:00:01.0  PCI bridge  [pcieport]  group 1  (bridge, pcie_port, has_passthrough_children)
|-- 0000:01:00.0  NVIDIA Corporation GP104 [GeForce GTX 1070]  [nouveau]  group 1  [passthrough]
`-- 0000:01:00.1  NVIDIA Corporation  [snd_hda_intel]  group 1  [passthrough]
0000:00:14.0  USB controller  [xhci_hcd]  group 4  [passthrough]
|-- usb1  Linux 5.5.0 xhci-hcd xHCI Host Controller  [usb]  group 4  (usb_hub)
`-- usb2  Linux 5.5.0 xhci-hcd xHCI Host Controller  [usb]  group 4  (usb_hub)
0000:00:1b.0  PCI bridge  [pcieport]  group 7  (bridge, pcie_port, has_passthrough_children)
`-- 0000:02:00.0  NVMe controller  [nvme]  group 8  [passthrough]
"""

GROUPS_DESKTOP = """\
group 0: host bridge: alone in its group, not passed (bridge)
  0000:00:00.0  host bridge  [skl_uncore]

group 1: GPU with its audio function: pass both
  0000:00:01.0  PCI bridge  [pcieport]  (stays with the host)
  0000:01:00.0  NVIDIA Corporation GP104 [GeForce GTX 1070]  [nouveau]
  0000:01:00.1  NVIDIA Corporation  [snd_hda_intel]

group 4: USB controller: passes alone
  0000:00:14.0  USB controller  [xhci_hcd]

group 7: bridges and ports only: nothing to pass
  0000:00:1b.0  PCI bridge  [pcieport]  (stays with the host)

group 8: NVMe controller: passes alone
  0000:02:00.0  NVMe controller  [nvme]
"""


TREE_BOOT_VGA = """\
0000:00:03.1  PCI bridge  [pcieport]  group 7  (bridge, pcie_port, has_passthrough_children)
|-- 0000:0a:00.0  GPU  [amdgpu]  group 8  [passthrough]
`-- 0000:0a:00.1  audio function  [snd_hda_intel]  group 8  [passthrough]
"""

GROUPS_BOOT_VGA = """\
group 7: bridges and ports only: nothing to pass
  0000:00:03.1  PCI bridge  [pcieport]  (stays with the host)

group 8: GPU with its audio function: pass both
  0000:0a:00.0  GPU  [amdgpu]
  0000:0a:00.1  audio function  [snd_hda_intel]
"""


class TestTreeAndGroups:
    """hostpassthru tree and groups, written out by hand."""

    @pytest.mark.parametrize(
        ("command", "fixture", "expected"),
        [
            # The host as one ASCII tree when stdout is not a terminal.
            ("tree", "desktop-gpu", TREE_DESKTOP),
            # Each group with its members and a verdict.
            ("groups", "desktop-gpu", GROUPS_DESKTOP),
            # The boot-VGA host: a port alone, and a GPU with its audio.
            ("tree", "ready-boot-vga", TREE_BOOT_VGA),
            ("groups", "ready-boot-vga", GROUPS_BOOT_VGA),
        ],
    )
    def test_printed(
        self,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
        command: str,
        fixture: str,
        expected: str,
    ) -> None:
        """The whole output for a pipe, exit 0, nothing on stderr."""
        code, out, err = run([command, "--sysfs", sysfs_tree(fixture)], capsys)
        assert 0 == code
        assert expected == out
        assert "" == err

    def test_groups_iommu_off(self, fs: object, capsys: pytest.CaptureFixture[str]) -> None:
        """Without groups, say the IOMMU is off and how to turn it on."""
        del fs
        os.makedirs("/off/sys/devices")
        code, out, _ = run(["groups", "--sysfs", "/off/sys"], capsys)
        assert 0 == code
        assert "intel_iommu=on" in out
        assert out.startswith("no IOMMU groups")

    def test_tree_json(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The tree as nested JSON."""
        code, out, _ = run(["tree", "--json", "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        doc = json.loads(out)
        assert 0 == code
        assert 1 == doc["schema"]
        assert 4 == len(doc["tree"])
        assert ["pci_0000_01_00_0", "pci_0000_01_00_1"] == [
            c["name"] for c in doc["tree"][1]["children"]
        ]

    def test_groups_json(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Groups as JSON: members, what goes, what stays, the verdict."""
        code, out, _ = run(["groups", "--json", "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        group = json.loads(out)["groups"][1]
        assert 0 == code
        assert {
            "number": 1,
            "members": ["pci_0000_00_01_0", "pci_0000_01_00_0", "pci_0000_01_00_1"],
            "going": ["pci_0000_01_00_0", "pci_0000_01_00_1"],
            "staying": ["pci_0000_00_01_0"],
            "verdict": "GPU with its audio function: pass both",
        } == group


class TestShowAndAffected:
    """hostpassthru show and affected."""

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("pci_0000_01_00_0", "pci_0000_01_00_1  same IOMMU group as pci_0000_01_00_0\n"),
            (
                "0000:00:14.0",
                "usb_usb1  beneath pci_0000_00_14_0\nusb_usb2  beneath pci_0000_00_14_0\n",
            ),
            ("usb1", "nothing else leaves the host with usb_usb1\n"),
        ],
    )
    def test_affected(
        self,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
        name: str,
        expected: str,
    ) -> None:
        """One device per line, with why it goes."""
        code, out, err = run(["affected", name, "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        assert 0 == code
        assert expected == out
        assert "" == err

    def test_affected_json(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The JSON of affected names each device, why and via whom."""
        code, out, _ = run(
            ["--json", "affected", "0000:01:00.1", "--sysfs", sysfs_tree("desktop-gpu")], capsys
        )
        assert 0 == code
        assert {
            "schema": 1,
            "device": "pci_0000_01_00_1",
            "affected": [
                {"name": "pci_0000_01_00_0", "why": "iommu_group", "via": "pci_0000_01_00_1"}
            ],
        } == json.loads(out)

    def test_show(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every fact, the group with its verdict, and what goes."""
        code, out, _ = run(["show", "0000:01:00.1", "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        facts = dict(line.split(":  ", 1) for line in out.splitlines())
        assert 0 == code
        assert "audio function" == facts["what"].strip()
        assert "10de:10f0" == facts["id"].strip()
        assert (
            "pci_0000_00_01_0, pci_0000_01_00_0, pci_0000_01_00_1".replace(
                "pci_0000_00_01_0", "pci_0000_00_01_0 (stays)"
            )
            == facts["group members"].strip()
        )
        assert (
            "pci_0000_01_00_0 (same IOMMU group as pci_0000_01_00_1)"
            == facts["goes with it"].strip()
        )

    def test_show_json(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The JSON of show carries the device, its group and what goes."""
        code, out, _ = run(["show", "usb1", "--json", "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        doc = json.loads(out)
        assert 0 == code
        assert ["schema", "device", "group", "affected", "check"] == list(doc)
        assert "usb_usb1" == doc["device"]["name"]
        assert None is doc["group"]
        assert [] == doc["affected"]

    def test_unknown_device(
        self, sysfs_tree: Callable[[str], str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An unknown device: exit 1 and one line with the closest names."""
        code, out, err = run(["show", "0000:01:00.3", "--sysfs", sysfs_tree("desktop-gpu")], capsys)
        assert 1 == code
        assert "" == out
        assert 1 == len(err.splitlines())
        assert "'0000:01:00.1'" in err


DEVICE_KEYS = {
    "name",
    "sys_name",
    "kind",
    "path",
    "parent",
    "children",
    "driver",
    "iommu_group",
    "vendor_id",
    "product_id",
    "vendor_name",
    "product_name",
    "description",
    "eligible",
    "reasons",
    "pci",
    "usb",
    "scsi",
    "mdev",
    "mdev_types",
}
SHAPES = {
    "list": {"schema", "iommu_enabled", "devices", "problems"},
    "tree": {"schema", "iommu_enabled", "tree", "problems"},
    "groups": {"schema", "iommu_enabled", "groups", "problems"},
    "show": {"schema", "device", "group", "affected", "check"},
    "affected": {"schema", "device", "affected"},
}


def _argv(command: str, host: hp.Host) -> list[str]:
    if command in ("show", "affected"):
        return [command, host.devices[0].name] if host.devices else [command, "none"]
    return [command]


class TestEveryCommandEveryFixture:
    """Each command runs on each fixture, and its JSON has the documented shape."""

    @pytest.mark.parametrize("command", sorted(SHAPES))
    @pytest.mark.parametrize("name", fixture_names())
    def test_json_shape(
        self,
        name: str,
        command: str,
        sysfs_tree: Callable[[str], str],
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The document's keys, and every device's keys, are the documented ones."""
        root = sysfs_tree(name)
        host = hp.scan(sysfs=root)
        code, out, _ = run([*_argv(command, host), "--json", "--sysfs", root], capsys)
        if not host.devices and command in ("show", "affected"):
            assert 1 == code
            assert "" == out
            return
        doc = json.loads(out)
        devices = doc.get("devices", [])
        if command == "show":
            devices = [doc["device"]]
        assert 0 == code
        assert SHAPES[command] == set(doc)
        assert 1 == doc["schema"]
        for dev in devices:
            assert DEVICE_KEYS == set(dev)
        for key in ("devices", "problems", "affected", "groups", "tree"):
            assert isinstance(doc.get(key, []), list)

    @pytest.mark.parametrize("command", sorted(SHAPES))
    @pytest.mark.parametrize("name", fixture_names())
    def test_text(self, name: str, command: str, sysfs_tree: Callable[[str], str]) -> None:
        """Through a real subprocess: exit 0, output, no traceback."""
        root = sysfs_tree(name)
        host = hp.scan(sysfs=root)
        if not host.devices and command in ("show", "affected"):
            return
        done = subprocess.run(
            [sys.executable, "-m", "hostpassthru", *_argv(command, host), "--sysfs", root],
            capture_output=True,
            text=True,
            check=False,
        )
        assert 0 == done.returncode
        assert done.stdout
        assert "" == done.stderr


TREE_UNICODE = (
    "0000:00:03.1  PCI bridge  [pcieport]  group 7  "
    "\x1b[2m(bridge, pcie_port, has_passthrough_children)\x1b[0m\n"
    """\
├── 0000:0a:00.0  GPU  [amdgpu]  group 8  \x1b[32m[passthrough]\x1b[0m
└── 0000:0a:00.1  audio function  [snd_hda_intel]  group 8  \x1b[32m[passthrough]\x1b[0m
"""
)


class FakeTerminal(io.StringIO):
    """A UTF-8 terminal, as far as isatty() and encoding tell."""

    encoding = "utf-8"

    def isatty(self) -> bool:
        """Claim to be a terminal."""
        return True


class TestTerminal:
    """tree on a terminal, on the boot-VGA host."""

    def test_terminal(
        self, sysfs_tree: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """On a UTF-8 terminal: box-drawing characters and colour."""
        monkeypatch.delenv("NO_COLOR", raising=False)
        out = FakeTerminal()
        monkeypatch.setattr(sys, "stdout", out)
        main(["tree", "--sysfs", sysfs_tree("ready-boot-vga")])
        assert TREE_UNICODE == out.getvalue()

    def test_no_color(
        self, sysfs_tree: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """NO_COLOR keeps a terminal's output free of escape sequences."""
        monkeypatch.setenv("NO_COLOR", "1")
        out = FakeTerminal()
        monkeypatch.setattr(sys, "stdout", out)
        main(["tree", "--sysfs", sysfs_tree("ready-boot-vga")])
        assert "\x1b" not in out.getvalue()
        assert "├──" in out.getvalue()


class TestVerdicts:
    """Group verdicts in words."""

    def test_chipset_group(self, tmp_path: Path) -> None:
        """An ISA bridge in the group goes along, and the verdict says the host needs it."""
        fake = (
            FakeHost(tmp_path)
            .add_pci("0000:00:1f.0", cls=0x060100, group=9)
            .add_pci("0000:00:1f.3", cls=0x040300, driver="snd_hda_intel", group=9)
            .add_pci("0000:00:1f.4", cls=0x0C0500, driver="i801_smbus", group=9)
            .add_pci("0000:00:02.0", cls=0x030000, driver="i915", group=2)
            .add_pci("0000:00:1c.0", cls=0x060400, driver="pcieport", group=5)
            .add_pci("0000:03:00.0", cls=0x020000, group=5, parent="0000:00:1c.0")
            .add_pci("0000:04:00.0", cls=0x010802, group=5, parent="0000:00:1c.0")
        )
        host = hp.scan(sysfs=fake.root)
        assert {
            2: "GPU: passes alone",
            5: "Ethernet controller, NVMe controller: "
            "2 devices without isolation, pass all together",
            9: "ISA bridge with its audio function and SMBus controller: pass all 3; "
            "the host usually needs the ISA bridge (0000:00:1f.0)",
        } == {v.number: v.verdict for v in hp.group_verdicts(host=host)}
