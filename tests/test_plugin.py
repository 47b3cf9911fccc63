"""The pytest plugin, as an embedder's test suite would use it (run through pytester)."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

EMBEDDER_TESTS = '''
import os

import hostpassthru as hp


def pick_devices_for_vm():
    """An embedder's own code: it scans this host, unchanged under test."""
    return [d.name for d in hp.passthrough_devices()]


def test_described_host(fake_host):
    fake_host.add_pci("0000:00:01.0", cls=0x060400, driver="pcieport", group=1)
    fake_host.add_pci("0000:01:00.0", parent="0000:00:01.0", cls=0x030000, group=1)
    fake_host.add_pci("0000:01:00.1", parent="0000:00:01.0", cls=0x040300, group=1)
    fake_host.add_pci("0000:00:14.0", cls=0x0C0330, driver="xhci_hcd", group=2)
    fake_host.add_usb("usb1", parent="0000:00:14.0", device_class=9, interfaces=(9,))
    fake_host.add_usb("1-1", parent="usb1", interfaces=(8,))
    fake_host.add_scsi("6:0:0:0", parent="1-1", block="sdb", generic="sg1")
    assert ["pci_0000_01_00_0", "pci_0000_01_00_1", "scsi_6_0_0_0"] == pick_devices_for_vm()
    assert ["pci_0000_01_00_1"] == [d.name for d in hp.affected_by("0000:01:00.0")]
    assert "usb_1_1" == hp.scan().device("6:0:0:0").parent


def test_shipped_fixture(fake_host):
    fake_host.load("desktop-gpu")
    assert "pci_0000_02_00_0" in pick_devices_for_vm()


def test_readiness_fixture_reads_its_proc(fake_host):
    fake_host.load("ready-nic-route")
    result = hp.check("0000:03:00.0")
    assert ("blocked", "default_route") == (result.verdict, result.findings[0].code)


def test_prepare_acts_on_the_fake_host(fake_host):
    """An embedder's VM start: prepare the GPU's group, then give it back."""
    fake_host.load("desktop-gpu")
    fake_host.kernel.load_driver("vfio-pci")
    hp.prepare("0000:01:00.0")
    assert ["vfio-pci", "vfio-pci"] == [
        hp.scan().device(a).driver for a in ("0000:01:00.0", "0000:01:00.1")
    ]
    hp.release("0000:01:00.0")
    assert ["nouveau", "snd_hda_intel"] == [
        hp.scan().device(a).driver for a in ("0000:01:00.0", "0000:01:00.1")
    ]


def test_injected_failure_reaches_the_embedder(fake_host):
    """A bind the kernel refuses: the embedder sees BindingError, rolled back."""
    import errno
    import pytest

    fake_host.load("desktop-gpu")
    fake_host.kernel.load_driver("vfio-pci")
    fake_host.kernel.probe_binds_nothing("0000:01:00.0")
    fake_host.kernel.fail("bind", "0000:01:00.0", errno.EINVAL)
    with pytest.raises(hp.BindingError) as exc:
        hp.prepare("0000:01:00.0")
    assert (True, "snd_hda_intel") == (
        exc.value.rolled_back,
        hp.scan().device("0000:01:00.1").driver,
    )


def test_recording_by_path(fake_host):
    fake_host.load(os.path.join(os.path.dirname(__file__), "host.umockdev"))
    assert ["pci_0000_00_1f_3"] == pick_devices_for_vm()
'''

RECORDING = """
P: /devices/pci0000:00/0000:00:1f.3
E: SUBSYSTEM=pci
A: class=0x040300\\\\n
L: iommu_group=../../../kernel/iommu_groups/12
"""

WRONG_EXPECTATION = """
import hostpassthru as hp


def test_wrong(fake_host):
    fake_host.add_pci("0000:00:02.0", cls=0x030000, driver="i915", group=0)
    assert [] == [d.name for d in hp.passthrough_devices()]
"""


class TestPlugin:
    """fake_host, as an embedder's suite uses it."""

    def test_embedder_suite_passes(self, pytester: pytest.Pytester) -> None:
        """An embedder-style module using fake_host passes."""
        pytester.makefile(".umockdev", host=RECORDING)
        pytester.makepyfile(test_embedder=EMBEDDER_TESTS)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=6)

    def test_wrong_expectation_fails_readably(self, pytester: pytest.Pytester) -> None:
        """A wrong expectation fails with pytest's readable diff."""
        pytester.makepyfile(test_wrong=WRONG_EXPECTATION)
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*assert [] == ['pci_0000_00_02_0']*"])

    def test_live_scan_restored(self, pytester: pytest.Pytester) -> None:
        """After the fixture, scan() reads this host again."""
        pytester.makepyfile(
            test_after="""
import hostpassthru as hp


def test_uses(fake_host):
    fake_host.add_pci("0000:00:02.0", group=0)
    assert 1 == len(hp.scan())


def test_after():
    assert "udev" == hp.scan().source
""",
        )
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)

    def test_without_pyfakefs(self, pytester: pytest.Pytester) -> None:
        """Where pyfakefs is missing, fake_host fails with one line naming the extra."""
        pytester.makeconftest(
            """
import importlib.util

_find = importlib.util.find_spec
def _hidden(name, *args, **kwargs):
    return None if name == "pyfakefs" else _find(name, *args, **kwargs)

importlib.util.find_spec = _hidden
""",
        )
        pytester.makepyfile(test_needs="def test_uses(fake_host):\n    pass\n")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            ["*the fake_host fixture needs pyfakefs: pip install 'hostpassthru?testing?'"],
        )

    def test_plugin_load_is_light(self) -> None:
        """Loading the plugin loads neither pyudev (libudev) nor the testing helpers."""
        code = (
            "import sys, hostpassthru.pytest_plugin as p; "
            "print(sorted(m for m in sys.modules if m.startswith(('pyudev', 'hostpassthru.t'))))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert "[]" == done.stdout.strip()
