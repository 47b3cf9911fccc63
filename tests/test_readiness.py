"""Readiness: the IOMMU's state and each device's verdict, written out by hand per fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hostpassthru as hp
from hostpassthru import _scan, _sysfs
from hostpassthru._cli import main
from hostpassthru._readiness import ENABLE_HINT
from hostpassthru._records import ProcRecord, Snapshot
from hostpassthru._tree import build, parse_proc
from hostpassthru.testing import FakeHost, fixture_path, materialize, parse_recording

_SNAPSHOTS: dict[str, Snapshot] = {}


def scan(name: str, tmp_path: Path) -> hp.Host:
    """A readiness fixture with its /proc files.

    What the path reader finds is kept per fixture; the host is built anew each
    time, so that a mutated builder is seen under mutmut (docs/mutation.md).
    """
    if name not in _SNAPSHOTS:
        root = materialize(name, tmp_path)
        _SNAPSHOTS[name] = _sysfs.read(root, str(tmp_path / "proc"))
    return build(_SNAPSHOTS[name], _scan._names(None))


def verdicts(host: hp.Host) -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """Device -> (verdict, ((finding code, device concerned), ...)) for every node."""
    out: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    for dev in host:
        result = hp.check(dev, host=host)
        out[dev.name] = (result.verdict, tuple((f.code, f.device) for f in result.findings))
    return out


GPU, AUDIO, PORT = "pci_0000_01_00_0", "pci_0000_01_00_1", "pci_0000_00_01_0"


class TestFixtures:
    """Each readiness fixture, every device's verdict and findings (most severe first)."""

    def test_gpu_on_vfio_audio_on_host(self, tmp_path: Path) -> None:
        """The GPU is ready but for its audio function, still on snd_hda_intel."""
        host = scan("ready-gpu-vfio", tmp_path)
        assert {
            PORT: ("blocked", (("not_passable", PORT),)),
            GPU: ("needs_preparation", (("host_driver", AUDIO),)),
            AUDIO: ("needs_preparation", (("host_driver", AUDIO),)),
        } == verdicts(host)

    def test_sata_disk_holds_root(self, tmp_path: Path) -> None:
        """The disk holding / and swap blocks itself and its controller; the DVD is ready."""
        host = scan("ready-sata-root", tmp_path)
        ahci, disk, dvd = "pci_0000_00_17_0", "scsi_0_0_0_0", "scsi_1_0_0_0"
        assert {
            ahci: (
                "blocked",
                (
                    ("mounted", disk),
                    ("mounted", disk),
                    ("swap", disk),
                    ("host_driver", ahci),
                    ("no_reset", ahci),
                    ("controller", ahci),
                ),
            ),
            disk: ("blocked", (("mounted", disk), ("mounted", disk), ("swap", disk))),
            dvd: ("ready", ()),
        } == verdicts(host)

    def test_nic_with_default_route(self, tmp_path: Path) -> None:
        """The NIC with the default route is blocked; the other one needs its link down."""
        host = scan("ready-nic-route", tmp_path)
        first, second = "pci_0000_03_00_0", "pci_0000_04_00_0"
        assert {
            first: ("blocked", (("default_route", first), ("host_driver", first))),
            second: ("needs_preparation", (("host_driver", second), ("network_up", second))),
        } == verdicts(host)

    def test_boot_vga(self, tmp_path: Path) -> None:
        """The boot GPU with the framebuffer console needs preparation, not a refusal."""
        host = scan("ready-boot-vga", tmp_path)
        gpu, audio = "pci_0000_0a_00_0", "pci_0000_0a_00_1"
        assert {
            "pci_0000_00_03_1": ("blocked", (("not_passable", "pci_0000_00_03_1"),)),
            gpu: (
                "needs_preparation",
                (
                    ("host_driver", gpu),
                    ("boot_vga", gpu),
                    ("host_driver", audio),
                    ("framebuffer_console", gpu),
                ),
            ),
            audio: (
                "needs_preparation",
                (
                    ("host_driver", audio),
                    ("host_driver", gpu),
                    ("boot_vga", gpu),
                    ("framebuffer_console", gpu),
                ),
            ),
        } == verdicts(host)

    def test_iommu_off(self, tmp_path: Path) -> None:
        """With the IOMMU off every PCI device is blocked, and the status says what to do."""
        host = scan("ready-iommu-off", tmp_path)
        nic = "pci_0000_02_00_0"
        status = hp.iommu_status(host=host)
        assert {nic: ("blocked", (("iommu_off", nic), ("host_driver", nic)))} == verdicts(host)
        assert False is status.enabled
        assert () == status.units
        assert False is status.interrupt_remapping
        assert None is status.intel_iommu
        assert None is status.amd_iommu
        assert ENABLE_HINT == status.hint

    def test_acs_override(self, tmp_path: Path) -> None:
        """ACS override warns on each grouped device; a PF with VFs enabled needs them off."""
        host = scan("ready-acs-override", tmp_path)
        pf, vf = "pci_0000_05_00_0", "pci_0000_05_10_0"
        assert {
            pf: ("needs_preparation", (("sriov_pf_with_vfs", pf), ("acs_override", pf))),
            vf: ("ready", (("acs_override", vf), ("sriov_vf", vf))),
        } == verdicts(host)
        status = hp.iommu_status(host=host)
        assert "downstream,multifunction" == status.acs_override
        assert ("8086:1521",) == status.vfio_pci_ids
        assert "on" == status.intel_iommu

    def test_units_and_remapping(self, tmp_path: Path) -> None:
        """IOMMU units by kind, interrupt remapping from /proc/interrupts, iommu=pt."""
        status = hp.iommu_status(host=scan("ready-gpu-vfio", tmp_path))
        assert (("dmar0", "Intel VT-d"),) == status.units
        assert True is status.interrupt_remapping
        assert "pt" == status.iommu
        assert None is status.hint


HOLDERS = r"""
F: /proc/self/mountinfo=22 1 253:0 / / rw - xfs /dev/mapper/vg-root rw\n
F: /proc/swaps=Filename Type Size Used Priority\n
F: /proc/net/route=Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n
P: /devices/pci0000:00/0000:02:00.0
E: SUBSYSTEM=pci
A: class=0x010802\n
A: reset_method=flr\n
L: driver=../../../bus/pci/drivers/nvme
L: iommu_group=../../../kernel/iommu_groups/3
P: /devices/pci0000:00/0000:02:00.0/nvme/nvme0/nvme0n1
E: SUBSYSTEM=block
A: dev=259:0\n
L: holders/dm-0=../../../../../../virtual/block/dm-0
P: /devices/virtual/block/dm-0
E: SUBSYSTEM=block
A: dev=253:0\n
P: /devices/pci0000:00/0000:03:00.0
E: SUBSYSTEM=pci
A: class=0x010802\n
A: reset_method=flr\n
L: iommu_group=../../../kernel/iommu_groups/4
P: /devices/pci0000:00/0000:03:00.0/nvme/nvme1/nvme1n1
E: SUBSYSTEM=block
A: dev=259:1\n
L: holders/md0=../../../../../../virtual/block/md0
P: /devices/virtual/block/md0
E: SUBSYSTEM=block
A: dev=9:0\n
"""


class TestHostUse:
    """Block device stacks, and what is said when /proc was not read."""

    def _host(self, tmp_path: Path, proc: bool) -> hp.Host:
        root = materialize(parse_recording(HOLDERS), tmp_path)
        return hp.scan(sysfs=root, proc=tmp_path / "proc" if proc else None)

    def test_stacked_and_mounted(self, tmp_path: Path) -> None:
        """An NVMe under a mounted LVM volume is blocked; one under an idle md needs it stopped."""
        host = self._host(tmp_path, proc=True)
        first = hp.check("0000:02:00.0", host=host)
        second = hp.check("0000:03:00.0", host=host)
        assert "blocked" == first.verdict
        assert ["mounted", "host_driver", "holder"] == [f.code for f in first.findings]
        assert "dm-0 (through nvme0n1) is mounted on /" == first.findings[0].message
        assert "needs_preparation" == second.verdict
        assert ["holder"] == [f.code for f in second.findings]

    def test_without_proc(self, tmp_path: Path) -> None:
        """Without /proc, mounts are unknown and said so; holders still count."""
        host = self._host(tmp_path, proc=False)
        result = hp.check("0000:02:00.0", host=host)
        assert None is host.proc
        assert "needs_preparation" == result.verdict
        assert ["host_driver", "holder", "host_use_unknown"] == [f.code for f in result.findings]


class TestKinds:
    """USB hubs, USB devices and SCSI devices without sg."""

    def test_usb_and_scsi(self, tmp_path: Path) -> None:
        """A hub is blocked, a USB device needs no IOMMU, a SCSI device needs an sg node."""
        fake = (
            FakeHost(tmp_path)
            .add_pci("0000:00:14.0", cls=0x0C0330, group=2)
            .add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
            .add_usb("1-1", parent="usb1", interfaces=(8,))
            .add_scsi("6:0:0:0", parent="1-1", generic=None)
        )
        host = hp.scan(sysfs=fake.root, proc=tmp_path / "proc")
        assert [
            ("blocked", ["usb_hub"]),
            ("ready", ["usb_no_iommu"]),
            ("blocked", ["scsi_no_sg"]),
        ] == [
            (r.verdict, [f.code for f in r.findings])
            for r in (hp.check(d, host=host) for d in ("usb1", "1-1", "6:0:0:0"))
        ]


class TestProc:
    """The /proc parsers."""

    def test_parse(self) -> None:
        """Mounts by major:minor, swap by name, default-route interfaces, remapping."""
        facts = parse_proc(
            ProcRecord(
                cmdline="ro quiet intel_iommu=on,sm_on\n",
                mountinfo=(
                    "22 1 8:2 / / rw - ext4 /dev/sda2 rw\n"
                    "30 22 8:2 /home /srv\\040x rw - ext4 x rw\n"
                ),
                swaps="Filename Type Size Used Priority\n/dev/dm-1 partition 1 0 -2\n",
                route=(
                    "Iface Destination Gateway Flags RefCnt Use Metric Mask\n"
                    "eth0 00000000 0101A8C0 3 0 0 0 00000000\n"
                    "eth0 0000FEA9 00000000 1 0 0 0 0000FFFF\n"
                ),
                interrupts=" 24: 0 PCI-MSI eth0\n",
            ),
        )
        assert facts is not None
        assert ("ro", "quiet", "intel_iommu=on,sm_on") == facts.cmdline
        assert {"8:2": ("/", "/srv x")} == dict(facts.mounts or {})
        assert ("dm-1",) == facts.swaps
        assert ("eth0",) == facts.default_route
        assert False is facts.interrupt_remapping


class TestCheckCommand:
    """hostpassthru check: text, JSON and exit codes."""

    def _replay(self, name: str, tmp_path: Path) -> str:
        del tmp_path
        return str(fixture_path(name))

    def test_exit_codes(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """0 when all are ready, 3 when some need preparation, 4 when some are blocked."""
        acs = self._replay("ready-acs-override", tmp_path)
        codes = [
            main(["check", "pci_0000_05_10_0", "--replay", acs]),
            main(["check", "--replay", acs]),
            main(["check", "--replay", self._replay("ready-nic-route", tmp_path)]),
        ]
        capsys.readouterr()
        assert [0, 3, 4] == codes

    def test_text(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The IOMMU lines, then a table of verdicts."""
        main(["check", "--replay", self._replay("ready-nic-route", tmp_path)])
        assert (
            "IOMMU: on; units: none listed; interrupt remapping: unknown\n"
            "kernel command line: intel_iommu=on\n"
            "\n"
            "NAME              VERDICT            FINDINGS\n"
            "pci_0000_03_00_0  blocked            default_route; host_driver\n"
            "pci_0000_04_00_0  needs preparation  host_driver; network_up\n"
        ) == capsys.readouterr().out

    def test_summary_names_devices(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A finding about another device names it; several are counted."""
        main(["check", "--replay", self._replay("chipset-group", tmp_path)])
        rows = capsys.readouterr().out.splitlines()[3:]
        assert (
            "pci_0000_00_1f_2  needs preparation  host_driver x2: 00:1f.3, 00:1f.4; no_reset"
        ) == rows[2]

    def test_summary_names_other_device(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A finding about one other device names it, without a count."""
        main(["check", "--replay", self._replay("ready-gpu-vfio", tmp_path)])
        rows = capsys.readouterr().out.splitlines()[4:]
        assert "pci_0000_01_00_0  needs preparation  host_driver: 01:00.1" == rows[0]

    def test_findings_with_hints(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """With devices named, every finding comes with its hint."""
        main(["check", "0000:04:00.0", "--replay", self._replay("ready-nic-route", tmp_path)])
        out = capsys.readouterr().out.splitlines()
        assert [
            "pci_0000_04_00_0: needs preparation",
            "  action: host_driver: 0000:04:00.0 is bound to the host driver igb",
        ] == out[3:5]
        assert (
            "    hint: hostpassthru prepare 0000:04:00.0 (moves its whole group to vfio-pci, "
            "journaled; hostpassthru release gives it back)"
        ) == out[5]

    def test_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The JSON document: the IOMMU status, each device's verdict and findings."""
        code = main(["check", "--json", "--replay", self._replay("ready-iommu-off", tmp_path)])
        doc = json.loads(capsys.readouterr().out)
        finding = doc["devices"][0]["findings"][0]
        assert 4 == code
        assert 1 == doc["schema"]
        assert ["schema", "iommu", "devices", "problems"] == list(doc)
        assert False is doc["iommu"]["enabled"]
        assert "iommu_off" == finding["code"]
        assert "blocker" == finding["severity"]
        assert {"code", "severity", "device", "message", "hint"} == set(finding)
