"""set_vfs, create_mdev, remove_mdev, set_vgpu_type: the simulated kernel, refusals, rollback."""

from __future__ import annotations

import errno
import json
import os
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from binding_support import FakeHostState, active, make_host, tree_state
from hostpassthru._cli import main
from hostpassthru.testing import SimulatedKernel, materialize

if TYPE_CHECKING:
    from pathlib import Path

PF = "0000:3b:00.0"
PF1 = "0000:3b:00.1"
NIC_VFS = ("pci_0000_3b_00_2", "pci_0000_3b_00_3", "pci_0000_3b_00_4", "pci_0000_3b_00_5")
GPU = "0000:00:02.0"
UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
NEW = "11111111-2222-3333-4444-555555555555"
V58 = "i915-GVTg_V5_8"
VF0 = "0000:41:00.4"
VF1 = "0000:41:00.5"


def _errno(kernel: SimulatedKernel, path: str, data: bytes) -> str:
    with pytest.raises(OSError, match=os.path.basename(path)) as info:
        kernel.write(path, data)
    return errno.errorcode[info.value.errno or 0]


def _journals(host: FakeHostState) -> list[str]:
    try:
        return sorted(os.listdir(os.path.join(host.state_dir, "acts")))
    except FileNotFoundError:
        return []


def _hold_group(host: FakeHostState, group: int) -> None:
    """A process (a VM) holds /dev/vfio/GROUP open, as /proc shows it."""
    fd_dir = os.path.join(host.top, "proc", "4242", "fd")
    os.makedirs(fd_dir, exist_ok=True)
    os.symlink(f"/dev/vfio/{group}", os.path.join(fd_dir, "7"))


class TestSimulatedSriov:
    """sriov_numvfs as drivers/pci/iov.c takes it."""

    def test_errors(self, tmp_path: Path) -> None:
        """EINVAL for no number, ERANGE above total, EBUSY from 4 to 2."""
        kernel = SimulatedKernel(materialize("sriov-nic", tmp_path))
        path = f"bus/pci/devices/{PF}/sriov_numvfs"
        assert "EINVAL" == _errno(kernel, path, b"four")
        assert "ERANGE" == _errno(kernel, path, b"9")
        assert "EBUSY" == _errno(kernel, path, b"2")

    def test_no_driver(self, tmp_path: Path) -> None:
        """ENOENT when the PF has no driver, or one without sriov_configure."""
        kernel = SimulatedKernel(materialize("sriov-nic", tmp_path))
        kernel.no_sriov_configure("mlx5_core")
        assert "ENOENT" == _errno(kernel, f"bus/pci/devices/{PF1}/sriov_numvfs", b"2")

    def test_off_and_on(self, tmp_path: Path) -> None:
        """0 removes the VFs and their groups; 2 makes two at offset 2, stride 1, probed."""
        root = materialize("sriov-nic", tmp_path)
        kernel = SimulatedKernel(root)
        kernel.write(f"bus/pci/devices/{PF}/sriov_numvfs", b"0")
        host = hp.scan(sysfs=root)
        assert ["pci_0000_3a_00_0", "pci_0000_3b_00_0", "pci_0000_3b_00_1"] == [
            d.name for d in host.devices
        ]
        assert [24, 25, 26] == list(host.iommu_groups)
        kernel.write(f"bus/pci/devices/{PF}/sriov_numvfs", b"2")
        host = hp.scan(sysfs=root)
        pf = host.device(PF).pci
        assert ("pci_0000_3b_00_2", "pci_0000_3b_00_3") == (pf and pf.vfs)
        assert 0 == host.device("0000:3b:00.2").iommu_group
        assert "mlx5_core" == host.device("0000:3b:00.2").driver
        assert 0x1018 == host.device("0000:3b:00.2").product_id
        assert () == host.problems


class TestSimulatedMdev:
    """mdev create and remove as drivers/vfio/mdev takes them."""

    def test_create_errors(self, tmp_path: Path) -> None:
        """EINVAL for no UUID, EEXIST for one in use, EUSERS with no instance left."""
        kernel = SimulatedKernel(materialize("gvtg-mdev", tmp_path))
        types = f"bus/pci/devices/{GPU}/mdev_supported_types"
        assert "EINVAL" == _errno(kernel, f"{types}/{V58}/create", b"not-a-uuid")
        assert "EEXIST" == _errno(kernel, f"{types}/{V58}/create", UUID.encode())
        assert "EUSERS" == _errno(kernel, f"{types}/i915-GVTg_V5_4/create", NEW.encode())

    def test_remove_held(self, tmp_path: Path) -> None:
        """A VM holds the mdev: remove is EBUSY."""
        kernel = SimulatedKernel(materialize("gvtg-mdev", tmp_path))
        kernel.hold(UUID)
        assert "EBUSY" == _errno(kernel, f"bus/mdev/devices/{UUID}/remove", b"1")

    def test_create_and_remove(self, tmp_path: Path) -> None:
        """The new mdev is a node of its type, bound, in a group; removing it gives all back."""
        root = materialize("gvtg-mdev", tmp_path)
        kernel = SimulatedKernel(root)
        assert kernel.drivers  # completes the tree, as before any write
        before = tree_state(root)
        kernel.write(f"bus/pci/devices/{GPU}/mdev_supported_types/{V58}/create", NEW.encode())
        dev = hp.scan(sysfs=root).device(NEW)
        # Groups 0, 1, 7 and 13 are taken: the lowest free number is 2.
        assert "GVTg_V5_8" == dev.description
        assert "intel_vgpu_mdev" == dev.driver
        assert 2 == dev.iommu_group
        kernel.write(f"bus/mdev/devices/{NEW}/remove", b"1")
        assert before == tree_state(root)


class TestSimulatedVgpu:
    """NVIDIA's current_vgpu_type."""

    def test_errors(self, tmp_path: Path) -> None:
        """EINVAL for a type not creatable, EBUSY for a type while another is set."""
        kernel = SimulatedKernel(materialize("nvidia-vgpu-vf", tmp_path))
        assert "EINVAL" == _errno(kernel, f"bus/pci/devices/{VF1}/nvidia/current_vgpu_type", b"7")
        assert "EBUSY" == _errno(kernel, f"bus/pci/devices/{VF0}/nvidia/current_vgpu_type", b"920")


class TestSetVfs:
    """set_vfs: 0 -> N and N -> 0, refusals, rollback."""

    def test_dry_run(self, tmp_path: Path) -> None:
        """Lists the four VFs that would vanish and the one write; writes nothing."""
        host = make_host("sriov-nic", tmp_path)
        with active(host):
            outcome = hp.set_vfs(PF, 0, dry_run=True)
        assert NIC_VFS == outcome.act.vanish
        assert ["echo '0' > /sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs"] == [
            str(w) for w in outcome.writes
        ]
        assert [] == host.diff()
        assert [] == host.kernel.writes

    def test_off_then_on(self, tmp_path: Path) -> None:
        """4 -> 0 removes the VFs, 0 -> 4 brings four back; no journal is left."""
        host = make_host("sriov-nic", tmp_path)
        with active(host):
            off = hp.set_vfs(PF, 0)
            on = hp.set_vfs(PF, 4)
        assert NIC_VFS == off.vanished
        assert NIC_VFS == on.appeared
        assert [] == _journals(host)

    def test_same_count(self, tmp_path: Path) -> None:
        """Asking for what there is writes nothing."""
        host = make_host("sriov-nic", tmp_path)
        with active(host):
            outcome = hp.set_vfs(PF, 4)
        assert True is outcome.done
        assert () == outcome.writes

    @pytest.mark.parametrize(
        ("pf", "count", "code"),
        [
            (PF, 2, "vfs_enabled"),
            (PF, 9, "vfs_over_total"),
            ("0000:3a:00.0", 1, "not_sriov"),
        ],
    )
    def test_refused(self, tmp_path: Path, pf: str, count: int, code: str) -> None:
        """Refused before any write: the kernel would say EBUSY, ERANGE, or nothing."""
        host = make_host("sriov-nic", tmp_path)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.set_vfs(pf, count)
        assert [code] == [f.code for f in info.value.refusals]
        assert [] == host.kernel.writes

    def test_refused_while_a_vm_holds_a_vf(self, tmp_path: Path) -> None:
        """VF 2's group is open in a process: disabling the VFs is refused."""
        host = make_host("sriov-nic", tmp_path)
        _hold_group(host, 112)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.set_vfs(PF, 0)
        assert [("group_in_use", "pci_0000_3b_00_4")] == [
            (f.code, f.device) for f in info.value.refusals
        ]
        assert [] == host.diff()

    def test_refused_while_a_vf_is_prepared(self, tmp_path: Path) -> None:
        """A VF prepared by hostpassthru must be released before its PF loses it."""
        host = make_host("sriov-nic", tmp_path)
        with active(host):
            hp.prepare("0000:3b:00.2")
            with pytest.raises(hp.ActRefusedError) as info:
                hp.set_vfs(PF, 0)
        assert ["already_prepared"] == [f.code for f in info.value.refusals]

    @pytest.mark.parametrize("error", [errno.ENOENT, errno.EBUSY, errno.ERANGE, errno.EACCES])
    def test_kernel_error_changes_nothing(self, tmp_path: Path, error: int) -> None:
        """The write fails: ActError with the errno, rolled back, the tree as it was."""
        host = make_host("sriov-nic", tmp_path)
        host.kernel.fail("sriov_numvfs", PF1, error)
        with active(host), pytest.raises(hp.ActError) as info:
            hp.set_vfs(PF1, 2)
        assert error == info.value.errno
        assert True is info.value.rolled_back
        assert [] == host.diff()
        assert [] == _journals(host)

    def test_pf_driver_cannot(self, tmp_path: Path) -> None:
        """A PF whose driver has no sriov_configure: ENOENT from the kernel itself."""
        host = make_host("sriov-nic", tmp_path)
        host.kernel.no_sriov_configure("mlx5_core")
        with active(host), pytest.raises(hp.ActError) as info:
            hp.set_vfs(PF1, 2)
        assert errno.ENOENT == info.value.errno
        assert "the host is as it was" in str(info.value)


class TestMdevActs:
    """create_mdev and remove_mdev."""

    def test_create_and_remove(self, tmp_path: Path) -> None:
        """A V5_8 instance made with a given UUID, then removed: the tree as it was."""
        host = make_host("gvtg-mdev", tmp_path)
        with active(host):
            made = hp.create_mdev(GPU, V58, NEW)
            gone = hp.remove_mdev(NEW)
        assert ("mdev_11111111_2222_3333_4444_555555555555",) == made.appeared
        assert ("mdev_11111111_2222_3333_4444_555555555555",) == gone.vanished
        assert [] == host.diff()

    def test_new_uuid(self, tmp_path: Path) -> None:
        """Without a UUID, a new one is made and said."""
        host = make_host("gvtg-mdev", tmp_path)
        with active(host):
            made = hp.create_mdev(GPU, V58)
        assert made.act.uuid is not None
        assert (f"mdev_{made.act.uuid.replace('-', '_')}",) == made.appeared

    @pytest.mark.parametrize(
        ("type_id", "code"),
        [("i915-GVTg_V5_4", "no_instances"), ("i915-GVTg_V5_1", "no_mdev_type")],
    )
    def test_create_refused(self, tmp_path: Path, type_id: str, code: str) -> None:
        """No instance left, or no such type: refused, nothing written."""
        host = make_host("gvtg-mdev", tmp_path)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.create_mdev(GPU, type_id, NEW)
        assert [code] == [f.code for f in info.value.refusals]
        assert [] == host.kernel.writes

    @pytest.mark.parametrize("error", [errno.EUSERS, errno.EEXIST, errno.EINVAL])
    def test_create_error(self, tmp_path: Path, error: int) -> None:
        """The kernel refuses the create: nothing to undo, the tree as it was."""
        host = make_host("gvtg-mdev", tmp_path)
        host.kernel.fail("mdev_create", GPU, error)
        with active(host), pytest.raises(hp.ActError) as info:
            hp.create_mdev(GPU, V58, NEW)
        assert error == info.value.errno
        assert True is info.value.rolled_back
        assert [] == host.diff()

    def test_remove_refused_while_held(self, tmp_path: Path) -> None:
        """The mdev's group 13 is open in a VM: refused."""
        host = make_host("gvtg-mdev", tmp_path)
        _hold_group(host, 13)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.remove_mdev(UUID)
        assert ["group_in_use"] == [f.code for f in info.value.refusals]

    def test_remove_busy(self, tmp_path: Path) -> None:
        """The kernel says EBUSY (an older vendor driver with the VM on): nothing changes."""
        host = make_host("gvtg-mdev", tmp_path)
        host.kernel.hold(UUID)
        with active(host), pytest.raises(hp.ActError) as info:
            hp.remove_mdev(UUID)
        assert errno.EBUSY == info.value.errno
        assert [] == host.diff()

    def test_remove_not_an_mdev(self, tmp_path: Path) -> None:
        """A PCI function is no mediated device."""
        host = make_host("gvtg-mdev", tmp_path)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.remove_mdev(GPU)
        assert ["not_mdev"] == [f.code for f in info.value.refusals]


class TestVgpu:
    """set_vgpu_type on NVIDIA's VFs."""

    def test_set_and_clear(self, tmp_path: Path) -> None:
        """VF 1 gets type 921, then none: the tree as it was."""
        host = make_host("nvidia-vgpu-vf", tmp_path)
        with active(host):
            hp.set_vgpu_type(VF1, 921)
            vgpu = hp.scan().device(VF1).pci
            hp.set_vgpu_type(VF1, 0)
        assert 921 == (vgpu and vgpu.vgpu and vgpu.vgpu.current)
        assert [] == host.diff()

    @pytest.mark.parametrize(
        ("device", "type_id", "code"),
        [(VF1, 7, "vgpu_type_not_creatable"), ("0000:41:00.0", 921, "no_vgpu")],
    )
    def test_refused(self, tmp_path: Path, device: str, type_id: int, code: str) -> None:
        """A type the VF does not offer, or a device without NVIDIA's files."""
        host = make_host("nvidia-vgpu-vf", tmp_path)
        with active(host), pytest.raises(hp.ActRefusedError) as info:
            hp.set_vgpu_type(device, type_id)
        assert [code] == [f.code for f in info.value.refusals]

    def test_second_write_fails(self, tmp_path: Path) -> None:
        """921 -> 920 goes through 0; the second write fails, and the 0 is undone."""
        host = make_host("nvidia-vgpu-vf", tmp_path)
        types = os.path.join(host.root, "bus/pci/devices", VF0, "nvidia/creatable_vgpu_types")
        with open(types, "w", encoding="utf-8") as f:
            f.write("ID    : vGPU Name\n920   : NVIDIA L4-1Q\n921   : NVIDIA L4-2Q\n")
        host.before = tree_state(host.root)

        def fail_next(kernel: SimulatedKernel, n: int, path: str, data: bytes) -> None:
            del path, data
            if n == 1:
                kernel.fail("vgpu_type", VF0, errno.EINVAL)

        host.kernel.after_write(fail_next)
        with active(host), pytest.raises(hp.ActError) as info:
            hp.set_vgpu_type(VF0, 920)
        assert errno.EINVAL == info.value.errno
        assert True is info.value.rolled_back
        assert [b"0", b"920", b"921"] == [data for _, data in host.kernel.writes]
        assert [] == host.diff()


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the CLI in-process."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


class TestCli:
    """vfs, mdev create, mdev remove, vgpu: --dry-run, --json, exit codes 0/4/5."""

    def test_vfs_dry_run(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """What disabling the VFs removes, and the one write; exit 0, nothing written."""
        root = materialize("sriov-nic", tmp_path)
        before = tree_state(root)
        code, out, err = run(["vfs", PF, "0", "--dry-run", "--sysfs", root], capsys)
        assert 0 == code
        assert "" == err
        assert (
            "set_vfs pci_0000_3b_00_0: 4 -> 0 VFs\n"
            "vanishes: pci_0000_3b_00_2, pci_0000_3b_00_3, pci_0000_3b_00_4, pci_0000_3b_00_5\n"
            "writes:\n"
            "  echo '0' > /sys/bus/pci/devices/0000:3b:00.0/sriov_numvfs\n"
        ) == out
        assert before == tree_state(root)

    def test_vfs_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """4 -> 2: refused, exit 4, with the hint."""
        root = materialize("sriov-nic", tmp_path)
        code, out, _ = run(["vfs", PF, "2", "--sysfs", root], capsys)
        assert 4 == code
        assert "    hint: hostpassthru vfs 0000:3b:00.0 0 first" in out.splitlines()

    def test_vfs_json(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Off, as JSON: done, what vanished."""
        root = materialize("sriov-nic", tmp_path)
        code, out, _ = run(["vfs", PF, "0", "--json", "--sysfs", root], capsys)
        doc = json.loads(out)
        assert 0 == code
        assert True is doc["done"]
        assert list(NIC_VFS) == doc["vanished"]
        assert "4" == doc["before"]
        assert "0" == doc["after"]

    def test_mdev_create_and_remove(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Create with a UUID, then remove: each says what appeared or vanished."""
        root = materialize("gvtg-mdev", tmp_path)
        code, out, _ = run(["mdev", "create", GPU, V58, "--uuid", NEW, "--sysfs", root], capsys)
        assert 0 == code
        assert (
            f"done: pci_0000_00_02_0: create mediated device {NEW}\n"
            "appeared: mdev_11111111_2222_3333_4444_555555555555\n"
        ) == out
        code, out, _ = run(["mdev", "remove", NEW, "--sysfs", root], capsys)
        assert 0 == code
        assert "vanished: mdev_11111111_2222_3333_4444_555555555555" in out.splitlines()

    def test_mdev_create_refused(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """No V5_4 instance left: exit 4."""
        root = materialize("gvtg-mdev", tmp_path)
        code, _, _ = run(["mdev", "create", GPU, "i915-GVTg_V5_4", "--sysfs", root], capsys)
        assert 4 == code

    def test_vgpu(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A type for VF 1."""
        root = materialize("nvidia-vgpu-vf", tmp_path)
        code, out, _ = run(["vgpu", VF1, "921", "--sysfs", root], capsys)
        assert 0 == code
        assert "done: pci_0000_41_00_5: vGPU type 0 -> 921\n" == out

    def test_failed_and_undone(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """The PF's driver cannot enable VFs: ENOENT, exit 5, one line on stderr."""
        root = materialize("sriov-nic", tmp_path)
        unbind = os.path.join(root, "bus/pci/devices", PF1, "driver")
        os.unlink(unbind)
        code, _, err = run(["vfs", PF1, "2", "--sysfs", root], capsys)
        assert 5 == code
        assert (
            "hostpassthru: set_vfs failed writing /sys/bus/pci/devices/0000:3b:00.1/sriov_numvfs: "
            "No such file or directory (ENOENT); the host is as it was\n"
        ) == err
