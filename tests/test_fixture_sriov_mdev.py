"""Hand-written expectations for the SR-IOV NIC, GVT-g and NVIDIA vGPU fixtures, every reader."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp

if TYPE_CHECKING:
    from collections.abc import Callable

UUID = "4b20d080-1b54-4048-85b3-a6a62d165c01"
MDEV = "mdev_4b20d080_1b54_4048_85b3_a6a62d165c01"

#: fixtures/sriov-nic.umockdev: name -> (parent, group, driver, reasons).
NIC_NODES = {
    "pci_0000_3a_00_0": (None, 24, "pcieport", ("bridge", "pcie_port", "has_passthrough_children")),
    "pci_0000_3b_00_0": ("pci_0000_3a_00_0", 25, "mlx5_core", ()),
    "pci_0000_3b_00_1": ("pci_0000_3a_00_0", 26, "mlx5_core", ()),
    "pci_0000_3b_00_2": ("pci_0000_3a_00_0", 110, "mlx5_core", ()),
    "pci_0000_3b_00_3": ("pci_0000_3a_00_0", 111, "mlx5_core", ()),
    "pci_0000_3b_00_4": ("pci_0000_3a_00_0", 112, "vfio-pci", ()),
    "pci_0000_3b_00_5": ("pci_0000_3a_00_0", 113, None, ()),
}
NIC_VFS = ("pci_0000_3b_00_2", "pci_0000_3b_00_3", "pci_0000_3b_00_4", "pci_0000_3b_00_5")

#: fixtures/gvtg-mdev.umockdev.
GVTG_NODES = {
    "pci_0000_00_00_0": (None, 0, "skl_uncore", ("bridge",)),
    "pci_0000_00_02_0": (None, 1, "i915", ("has_passthrough_children",)),
    MDEV: ("pci_0000_00_02_0", 13, "intel_vgpu_mdev", ()),
    "pci_0000_00_1f_3": (None, 7, "snd_hda_intel", ()),
}

#: fixtures/nvidia-vgpu-vf.umockdev: VF N of the L4 is 41:00.4 + N (offset 4, stride 1).
L4_VFS = tuple(f"pci_0000_41_{(4 + n) // 8:02x}_{(4 + n) % 8}" for n in range(32))


@pytest.fixture
def nic(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The ConnectX-5 host, scanned by the reader under test."""
    return scan_fixture("sriov-nic")


@pytest.fixture
def gvtg(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The GVT-g desktop, scanned by the reader under test."""
    return scan_fixture("gvtg-mdev")


@pytest.fixture
def l4(scan_fixture: Callable[[str], hp.Host]) -> hp.Host:
    """The NVIDIA L4 with 32 VFs, scanned by the reader under test."""
    return scan_fixture("nvidia-vgpu-vf")


def _pci(host: hp.Host, name: str) -> hp.PciInfo:
    pci = host.device(name).pci
    assert pci is not None
    return pci


class TestSriovNic:
    """A ConnectX-5: PF 0 with 4 of 8 VFs and autoprobe on, PF 1 with SR-IOV off."""

    def test_nodes(self, nic: hp.Host) -> None:
        """Every node with its parent, group, driver and reasons; VFs are the PFs' siblings."""
        actual = {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in nic.devices}
        assert list(NIC_NODES.items()) == list(actual.items())

    def test_pf_counts(self, nic: hp.Host) -> None:
        """sriov_numvfs, sriov_totalvfs and sriov_drivers_autoprobe of PF 0."""
        pf = _pci(nic, "0000:3b:00.0")
        assert 4 == pf.sriov_numvfs
        assert 8 == pf.sriov_totalvfs
        assert True is pf.sriov_drivers_autoprobe

    def test_pf_vfs_in_n_order(self, nic: hp.Host) -> None:
        """The VFs come from the virtfnN links, VF 0 first."""
        assert NIC_VFS == _pci(nic, "pci_0000_3b_00_0").vfs

    def test_pf_without_vfs(self, nic: hp.Host) -> None:
        """PF 1 can have 8 VFs and has none: no virtfn links, no VFs."""
        pf = _pci(nic, "pci_0000_3b_00_1")
        assert 0 == pf.sriov_numvfs
        assert 8 == pf.sriov_totalvfs
        assert () == pf.vfs

    @pytest.mark.parametrize("n", range(4))
    def test_vf_index_and_pf(self, nic: hp.Host, n: int) -> None:
        """VF N names its PF and knows its N."""
        vf = _pci(nic, NIC_VFS[n])
        assert "pci_0000_3b_00_0" == vf.physfn
        assert n == vf.vf_index

    def test_vf_has_no_sriov_facts(self, nic: hp.Host) -> None:
        """A VF has no sriov_* files of its own and no VFs."""
        vf = _pci(nic, "pci_0000_3b_00_3")
        assert None is vf.sriov_numvfs
        assert None is vf.sriov_totalvfs
        assert None is vf.sriov_drivers_autoprobe
        assert () == vf.vfs

    def test_pf_has_no_vf_index(self, nic: hp.Host) -> None:
        """A PF is nobody's VF."""
        assert None is _pci(nic, "pci_0000_3b_00_0").vf_index

    def test_vfs_pass_alone(self, nic: hp.Host) -> None:
        """A VF follows its own group: nothing else goes with it."""
        assert () == nic.affected_by("pci_0000_3b_00_4")

    def test_pf_passes_alone(self, nic: hp.Host) -> None:
        """Passing the PF takes nothing with it (check() says to disable its VFs first)."""
        assert () == nic.affected_by("pci_0000_3b_00_0")

    def test_vanish_with_vfs(self, nic: hp.Host) -> None:
        """Disabling PF 0's VFs removes all four."""
        assert NIC_VFS == tuple(d.name for d in nic.vanish_with_vfs("0000:3b:00.0"))

    def test_vanish_with_no_vfs(self, nic: hp.Host) -> None:
        """PF 1 has no VFs on: nothing vanishes."""
        assert () == nic.vanish_with_vfs("pci_0000_3b_00_1")

    def test_vanish_with_vfs_of_a_vf(self, nic: hp.Host) -> None:
        """A VF has no VFs of its own."""
        assert () == nic.vanish_with_vfs("pci_0000_3b_00_2")

    def test_no_mdev(self, nic: hp.Host) -> None:
        """No mediated devices, no parent types."""
        assert () == nic.passthrough_devices("mdev")
        assert () == nic.device("pci_0000_3b_00_0").mdev_types

    def test_no_problems(self, nic: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == nic.problems


class TestGvtg:
    """GVT-g: the iGPU offers two types; one instance exists beneath it."""

    def test_nodes(self, gvtg: hp.Host) -> None:
        """The mdev is a node beneath its parent, in a group of its own."""
        actual = {d.name: (d.parent, d.iommu_group, d.driver, d.reasons) for d in gvtg.devices}
        assert list(GVTG_NODES.items()) == list(actual.items())

    def test_mdev_names(self, gvtg: hp.Host) -> None:
        """Kind mdev; the kernel name is the UUID, the name libvirt's."""
        dev = gvtg.device(UUID)
        assert "mdev" == dev.kind
        assert MDEV == dev.name
        assert UUID == dev.sys_name
        assert f"devices/pci0000:00/0000:00:02.0/{UUID}" == dev.path

    def test_mdev_facts(self, gvtg: hp.Host) -> None:
        """Its type, from the mdev_type link and the parent's type directory."""
        expected = hp.MdevInfo(
            type_id="i915-GVTg_V5_4", type_name="GVTg_V5_4", device_api="vfio-pci"
        )
        assert expected == gvtg.device(MDEV).mdev

    def test_mdev_has_no_ids(self, gvtg: hp.Host) -> None:
        """No vendor or product, no PCI facts; the description is the type's name."""
        dev = gvtg.device(MDEV)
        assert None is dev.vendor_id
        assert None is dev.product_id
        assert None is dev.pci
        assert "GVTg_V5_4" == dev.description

    def test_parent_types(self, gvtg: hp.Host) -> None:
        """The parent's two types with descriptions, API and what is left."""
        assert (
            hp.MdevType(
                id="i915-GVTg_V5_4",
                name="GVTg_V5_4",
                description=(
                    "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n"
                    "resolution: 1920x1200\nweight: 4"
                ),
                device_api="vfio-pci",
                available_instances=0,
                devices=(MDEV,),
            ),
            hp.MdevType(
                id="i915-GVTg_V5_8",
                name="GVTg_V5_8",
                description=(
                    "low_gm_size: 64MB\nhigh_gm_size: 384MB\nfence: 4\n"
                    "resolution: 1024x768\nweight: 2"
                ),
                device_api="vfio-pci",
                available_instances=1,
                devices=(),
            ),
        ) == gvtg.device("0000:00:02.0").mdev_types

    def test_others_have_no_types(self, gvtg: hp.Host) -> None:
        """Only the parent lists types."""
        assert () == gvtg.device("pci_0000_00_1f_3").mdev_types

    def test_passthrough_mdev(self, gvtg: hp.Host) -> None:
        """passthrough_devices("mdev") offers the instance."""
        assert (MDEV,) == tuple(d.name for d in gvtg.passthrough_devices("mdev"))

    def test_passthrough(self, gvtg: hp.Host) -> None:
        """The iGPU is offered through its mdev; the audio function by itself."""
        actual = tuple(d.name for d in gvtg.passthrough_devices())
        assert (MDEV, "pci_0000_00_1f_3") == actual

    def test_parent_as_controller(self, gvtg: hp.Host) -> None:
        """include_controllers adds the whole iGPU."""
        actual = tuple(d.name for d in gvtg.passthrough_devices(include_controllers=True))
        assert ("pci_0000_00_02_0", MDEV, "pci_0000_00_1f_3") == actual

    def test_nothing_goes_with_an_mdev(self, gvtg: hp.Host) -> None:
        """Its parent stays on the host."""
        assert () == gvtg.affected_by(MDEV)

    def test_the_mdev_goes_with_its_parent(self, gvtg: hp.Host) -> None:
        """Passing the whole iGPU takes its mediated device."""
        assert (MDEV,) == tuple(d.name for d in gvtg.affected_by("0000:00:02.0"))

    def test_mdev_group_is_not_an_iommu_group(self, gvtg: hp.Host) -> None:
        """Group 13 is the VFIO core's emulated group: not among the IOMMU groups."""
        assert [0, 1, 7] == list(gvtg.iommu_groups)

    def test_no_problems(self, gvtg: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == gvtg.problems


class TestNvidiaVgpuVf:
    """An L4 with 32 VFs, each with NVIDIA's nvidia/ vGPU files; VF 0 carries a vGPU."""

    def test_pf(self, l4: hp.Host) -> None:
        """32 of 32 VFs on, in N order."""
        pf = _pci(l4, "0000:41:00.0")
        assert 32 == pf.sriov_numvfs
        assert 32 == pf.sriov_totalvfs
        assert L4_VFS == pf.vfs

    def test_first_and_last_vf(self, l4: hp.Host) -> None:
        """VF 0 is 41:00.4, VF 31 is 41:04.3."""
        assert "pci_0000_41_00_4" == L4_VFS[0]
        assert 0 == _pci(l4, "0000:41:00.4").vf_index
        assert 31 == _pci(l4, "0000:41:04.3").vf_index

    def test_vf_with_a_vgpu(self, l4: hp.Host) -> None:
        """VF 0: type 921 set, and its name from the creatable list."""
        expected = hp.VgpuInfo(
            creatable=(hp.VgpuType(id=921, name="NVIDIA L4-2Q"),),
            current=921,
        )
        vgpu = _pci(l4, "0000:41:00.4").vgpu
        assert expected == vgpu
        assert "NVIDIA L4-2Q" == (vgpu and vgpu.current_name)

    def test_vf_without_a_vgpu(self, l4: hp.Host) -> None:
        """VF 1 carries no type yet: current 0."""
        vgpu = _pci(l4, "0000:41:00.5").vgpu
        assert 0 == (vgpu and vgpu.current)
        assert None is (vgpu and vgpu.current_name)

    def test_pf_has_no_vgpu_files(self, l4: hp.Host) -> None:
        """The nvidia/ directory is on VFs only."""
        assert None is _pci(l4, "pci_0000_41_00_0").vgpu

    def test_vfs_are_eligible(self, l4: hp.Host) -> None:
        """Every VF (and the PF) is offered."""
        actual = tuple(d.name for d in l4.passthrough_devices())
        assert ("pci_0000_41_00_0", *L4_VFS) == actual

    def test_vanish_with_vfs(self, l4: hp.Host) -> None:
        """Disabling the VFs removes all 32, the vGPU with VF 0."""
        assert L4_VFS == tuple(d.name for d in l4.vanish_with_vfs("pci_0000_41_00_0"))

    def test_no_problems(self, l4: hp.Host) -> None:
        """A clean tree reads without problems."""
        assert () == l4.problems
