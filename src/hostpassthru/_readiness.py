"""Readiness: the IOMMU's state and, per device, what stands between it and a VM (pure).

The facts come from the model (``Host.class_devices``, ``Host.proc``); this module
only judges them.
"""

from __future__ import annotations

from typing import Literal, get_args

import attrs

from ._model import ClassDevice, Device, Host, ProcFacts, VgpuInfo
from ._sriov import passed_in_place

__all__ = [
    "FINDING_CODES",
    "SEVERITIES",
    "VERDICTS",
    "Assessment",
    "Finding",
    "FindingCode",
    "IommuStatus",
    "Severity",
    "Verdict",
    "assess",
    "iommu_status",
]

#: How much a finding weighs, least first.
Severity = Literal["info", "warning", "action", "blocker"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
#: What the findings on one device add up to.
Verdict = Literal["ready", "needs_preparation", "blocked", "unknown"]
VERDICTS: tuple[Verdict, ...] = get_args(Verdict)
#: The stable codes of the findings (docs/readiness.md).
FindingCode = Literal[
    "not_passable",
    "iommu_off",
    "no_iommu_group",
    "controller",
    "host_driver",
    "boot_vga",
    "no_reset",
    "sriov_pf_with_vfs",
    "sriov_vf",
    "vgpu",
    "vgpu_type_unset",
    "mdev",
    "mdev_no_driver",
    "acs_override",
    "usb_hub",
    "usb_no_iommu",
    "scsi_no_sg",
    "host_use_unknown",
    "framebuffer_console",
    "mounted",
    "swap",
    "holder",
    "default_route",
    "network_up",
    "driver_not_loaded",
    "group_in_use",
    "device_in_use",
    "already_prepared",
    "identity_changed",
    "no_binding_needed",
    "override_mismatch",
    "class_unknown",
    "not_sriov",
    "vfs_over_total",
    "vfs_enabled",
    "no_mdev_type",
    "no_instances",
    "not_mdev",
    "no_vgpu",
    "vgpu_type_not_creatable",
    "act_unfinished",
]
FINDING_CODES: tuple[FindingCode, ...] = get_args(FindingCode)


@attrs.frozen(kw_only=True)
class IommuStatus:
    """Whether the IOMMU is on, and what the firmware and the kernel command line say."""

    enabled: bool
    #: (name, kind) of each IOMMU unit under class/iommu: "Intel VT-d", "AMD-Vi", "ARM SMMU".
    units: tuple[tuple[str, str], ...]
    interrupt_remapping: bool | None
    #: The kernel command line, None where /proc was not read.
    cmdline: tuple[str, ...] | None
    intel_iommu: str | None
    amd_iommu: str | None
    #: "pt" (passthrough for host DMA) and the like: the ``iommu=`` option.
    iommu: str | None
    #: pcie_acs_override=...: groups then look isolated but are not.
    acs_override: str | None
    vfio_pci_ids: tuple[str, ...]
    #: What to do, when the IOMMU is off.
    hint: str | None


def _unit_kind(name: str) -> str:
    if name.startswith("dmar"):
        return "Intel VT-d"
    if name.startswith("ivhd"):
        return "AMD-Vi"
    if "smmu" in name:
        return "ARM SMMU"
    return "IOMMU"


def _option(cmdline: tuple[str, ...] | None, key: str) -> str | None:
    if cmdline is None:
        return None
    value = None
    for word in cmdline:
        name, eq, rest = word.partition("=")
        if name == key:
            value = rest if eq else ""
    return value


ENABLE_HINT = (
    "enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the firmware settings, add intel_iommu=on "
    "(Intel; AMD's is on by default, else amd_iommu=on) to the kernel command line, and reboot"
)


def iommu_status(host: Host) -> IommuStatus:
    """The IOMMU's state from sysfs and, where it was read, the kernel command line."""
    cmdline = None if host.proc is None else host.proc.cmdline
    units = tuple(
        (d.name, _unit_kind(d.name)) for d in host.class_devices if d.subsystem == "iommu"
    )
    ids = _option(cmdline, "vfio-pci.ids") or _option(cmdline, "vfio_pci.ids") or ""
    hint = None
    if not host.iommu_enabled:
        hint = ENABLE_HINT
        intel = _option(cmdline, "intel_iommu")
        if intel is not None and intel.startswith("off"):
            hint = "intel_iommu=off is on the kernel command line: remove it; then " + hint
    return IommuStatus(
        enabled=host.iommu_enabled,
        units=units,
        interrupt_remapping=None if host.proc is None else host.proc.interrupt_remapping,
        cmdline=cmdline,
        intel_iommu=_option(cmdline, "intel_iommu"),
        amd_iommu=_option(cmdline, "amd_iommu"),
        iommu=_option(cmdline, "iommu"),
        acs_override=_option(cmdline, "pcie_acs_override"),
        vfio_pci_ids=tuple(i for i in ids.split(",") if i),
        hint=hint,
    )


@attrs.frozen(kw_only=True)
class Finding:
    """One thing that stands between a device and a VM, or is worth knowing."""

    #: Stable, one of FINDING_CODES (docs/readiness.md).
    code: FindingCode
    severity: Severity
    #: The name of the device it concerns (the one checked, or one that goes with it).
    device: str
    message: str
    hint: str | None = None


@attrs.frozen(kw_only=True)
class Assessment:
    """The verdict on passing one device, with every finding behind it."""

    device: str
    #: blocked if any finding is a blocker; needs_preparation if any asks an action; else ready.
    verdict: Verdict
    findings: tuple[Finding, ...]


# Drivers VFIO accepts in a viable group besides vfio-pci and its variant drivers
# (mlx5_vfio_pci, ...): pci-stub, which claims a device and does nothing.
_NEUTRAL_DRIVERS = ("pci-stub",)


def _neutral(driver: str | None) -> bool:
    return driver is None or driver in _NEUTRAL_DRIVERS or "vfio" in driver


def _bind_hint(dev: Device) -> str:
    return (
        f"hostpassthru prepare {dev.sys_name} (moves its whole group to vfio-pci, journaled; "
        "hostpassthru release gives it back)"
    )


@attrs.define
class _Checker:
    host: Host
    dev: Device
    findings: list[Finding] = attrs.Factory(list)

    def add(
        self,
        code: FindingCode,
        severity: Severity,
        message: str,
        hint: str | None = None,
        device: Device | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                code=code,
                severity=severity,
                device=(device or self.dev).name,
                message=message,
                hint=hint,
            ),
        )

    def going(self) -> tuple[Device, ...]:
        return (self.dev, *self.host.affected_by(self.dev))

    def pci(self) -> bool:
        """PCI findings; False when the device is infrastructure and nothing more applies."""
        if not self._placement():
            return False
        members = [d for d in self.going() if d.kind == "pci"]
        for member in members:
            if (
                not _neutral(member.driver)
                and not member.stays_with_host
                and not passed_in_place(member)
            ):
                self.add(
                    "host_driver",
                    "action",
                    f"{member.sys_name} is bound to the host driver {member.driver}",
                    _bind_hint(self.dev),
                    member,
                )
            override = None if member.pci is None else member.pci.driver_override
            if override is not None and member.driver is not None and override != member.driver:
                # driver_override (Linux 3.16) decides the next probe only: a device
                # bound before it was set keeps its driver until it is unbound.
                self.add(
                    "override_mismatch",
                    "warning",
                    f"{member.sys_name} has driver_override {override} but is bound to "
                    f"{member.driver}: the next probe (a driver reload, a hotplug) moves it",
                    "let one manager own it: hostpassthru prepare/release set and restore it; "
                    f"else clear it with echo > /sys/bus/pci/devices/{member.sys_name}/"
                    "driver_override",
                    member,
                )
            if member.pci is not None and member.pci.boot_vga:
                self.add(
                    "boot_vga",
                    "action",
                    f"{member.sys_name} is the boot VGA device: the host console goes dark with it",
                    "use another GPU for the console, or release the framebuffer "
                    "(video=efifb:off) and unbind the console before starting the VM",
                    member,
                )
        self._function()
        acs = iommu_status(self.host).acs_override
        if acs is not None and self.dev.iommu_group is not None:
            self.add(
                "acs_override",
                "warning",
                f"pcie_acs_override={acs} is on the kernel command line: the groups look "
                "isolated but are not, and the devices can still reach each other",
                "remove pcie_acs_override, or accept that isolation between these devices is lost",
            )
        return True

    def _placement(self) -> bool:
        """Whether the device can be assigned at all: its kind, the IOMMU, its group."""
        host, dev = self.host, self.dev
        infrastructure = [r for r in dev.reasons if r in ("bridge", "pcie_port")]
        if infrastructure:
            self.add(
                "not_passable",
                "blocker",
                f"{dev.sys_name} is a {' and a '.join(infrastructure)}: "
                "bridges and ports are not passed",
                "pass the endpoints beneath it instead",
            )
        if dev.pci is not None and dev.pci.class_code is None:
            # SPEC 3: an unreadable class is no bridge, so the rules offer the device;
            # a udevadm dump without PCI_CLASS cannot tell a host bridge from a GPU.
            self.add(
                "class_unknown",
                "blocker",
                f"{dev.sys_name}'s PCI class is unknown (no class attribute, no PCI_CLASS "
                "property): it may be a bridge, which cannot be passed",
                "record the host with hostpassthru record, which keeps the class",
            )
        if not host.iommu_enabled:
            self.add(
                "iommu_off",
                "blocker",
                "the IOMMU is off or absent: VFIO cannot assign PCI devices",
                iommu_status(host).hint,
            )
        elif dev.iommu_group is None:
            self.add(
                "no_iommu_group",
                "blocker",
                f"{dev.sys_name} is in no IOMMU group (behind Intel VMD, or left out by "
                "the platform)",
                "pass the whole controller it sits behind, or disable VMD in the firmware",
            )
        if dev.reasons == ("has_passthrough_children",):
            self.add(
                "controller",
                "info",
                f"{dev.sys_name} is a controller whose devices can be passed one by one",
                "pass the devices beneath it instead, unless the VM needs the whole controller",
            )
        return not infrastructure

    def _function(self) -> None:
        """Reset and SR-IOV facts of the function itself."""
        dev, pci = self.dev, self.dev.pci
        if pci is None:
            return
        if not pci.reset_methods and not pci.has_reset:
            self.add(
                "no_reset",
                "warning",
                f"{dev.sys_name} offers no reset method: it may not come back after the VM stops",
                "prefer a device with FLR; expect to reboot the host to reuse it",
            )
        if pci.sriov_numvfs:
            self.add(
                "sriov_pf_with_vfs",
                "action",
                f"{dev.sys_name} is an SR-IOV physical function with {pci.sriov_numvfs} "
                "VFs enabled",
                f"disable them first (echo 0 > /sys/bus/pci/devices/{dev.sys_name}/"
                "sriov_numvfs), or pass a VF instead",
            )
        if pci.vgpu is not None:
            self._vgpu(pci.vgpu)
        if pci.physfn is not None:
            self.add(
                "sriov_vf",
                "info",
                f"{dev.sys_name} is an SR-IOV virtual function of {pci.physfn}",
                f"keep {pci.physfn} bound to its host driver while the VF is in use",
            )

    def _vgpu(self, vgpu: VgpuInfo) -> None:
        """NVIDIA's vGPU on a VF: passed as it is once a type is set, never through vfio-pci."""
        addr = self.dev.sys_name
        if vgpu.current is None:
            return
        if vgpu.current == 0:
            ids = ", ".join(f"{t.id} ({t.name})" for t in vgpu.creatable)
            self.add(
                "vgpu_type_unset",
                "action",
                f"{addr} carries no vGPU type yet: NVIDIA's driver passes the VF only once "
                "one is set" + ("" if ids else ", and the card has no room for another vGPU"),
                f"choose one of {ids} and write its id to "
                f"/sys/bus/pci/devices/{addr}/nvidia/current_vgpu_type"
                if ids
                else "remove a vGPU from another VF of the card (write 0 to its current_vgpu_type)",
            )
            return
        name = vgpu.current_name
        self.add(
            "vgpu",
            "info",
            f"{addr} carries vGPU type {vgpu.current}"
            + (f" ({name})" if name else "")
            + ": NVIDIA's driver passes it as it is, without vfio-pci",
            f"keep it bound to {self.dev.driver or 'its driver'}; "
            "pass it to the VM as a PCI host device",
        )

    def mdev(self) -> None:
        """A mediated device: only it goes; its parent stays with the host."""
        dev = self.dev
        what = (dev.mdev.type_name or dev.mdev.type_id) if dev.mdev is not None else None
        parent = dev.parent or "a parent that is not a node"
        self.add(
            "mdev",
            "info",
            f"a mediated device{f' of type {what}' if what else ''} on {parent}: "
            "only it goes, its parent stays with the host",
        )
        if dev.driver is None:
            self.add(
                "mdev_no_driver",
                "action",
                f"{dev.sys_name} is bound to no driver: VFIO cannot open it",
                "load its vendor's mdev driver (kvmgt for GVT-g, nvidia_vgpu_vfio for NVIDIA, "
                "vfio_ccw or vfio_ap on s390; vfio_mdev before Linux 5.16)",
            )

    def usb(self) -> None:
        if "usb_hub" in self.dev.reasons:
            self.add(
                "usb_hub",
                "blocker",
                f"{self.dev.sys_name} is a USB hub: hubs are not passed",
                "pass the devices behind it one by one",
            )
        else:
            self.add(
                "usb_no_iommu", "info", "USB devices go through QEMU's usb-host: no IOMMU is needed"
            )

    def scsi(self) -> None:
        scsi = self.dev.scsi
        if scsi is None or scsi.generic is None:
            self.add(
                "scsi_no_sg",
                "blocker",
                f"{self.dev.sys_name} has no SCSI generic (sg) node",
                "load the sg module (modprobe sg)",
            )

    def host_use(self) -> None:
        """Block devices, swap and network interfaces that the host still uses."""
        proc = self.host.proc
        if proc is None:
            self.add(
                "host_use_unknown",
                "info",
                "/proc was not read: mounts, swap and routes were not checked",
                "scan with proc= (the live scan reads /proc)",
            )
        for owner, cdev in (
            (dev, cdev) for dev in self.going() for cdev in self.host.class_devices_of(dev)
        ):
            if cdev.subsystem == "block":
                self._block(cdev, owner, proc)
            elif cdev.subsystem == "net":
                self._net(cdev, owner, proc)
            elif cdev.subsystem == "graphics":
                self.add(
                    "framebuffer_console",
                    "action",
                    f"{cdev.name} on {owner.sys_name} may hold the host console",
                    "release the framebuffer before starting the VM",
                    owner,
                )

    def _block(
        self,
        cdev: ClassDevice,
        owner: Device,
        proc: ProcFacts | None,
    ) -> None:
        stack = [cdev.name]
        seen: set[str] = set()
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            block = self.host.block_device(name)
            via = "" if name == cdev.name else f" (through {cdev.name})"
            if proc is not None and block is not None:
                devnum = block.attributes.get("dev")
                if proc.mounts is not None and devnum in proc.mounts:
                    where = ", ".join(proc.mounts[devnum])  # type: ignore[index]
                    self.add(
                        "mounted",
                        "blocker",
                        f"{name}{via} is mounted on {where}",
                        "unmount it, or keep this device on the host",
                        owner,
                    )
                if proc.swaps is not None and name in proc.swaps:
                    self.add(
                        "swap",
                        "blocker",
                        f"{name}{via} is in use as swap",
                        f"swapoff /dev/{name}, or keep this device on the host",
                        owner,
                    )
            if block is not None:
                for holder in block.holders:
                    if holder not in seen and name == cdev.name:
                        self.add(
                            "holder",
                            "action",
                            f"{name} is part of {holder} (device mapper, md or LVM)",
                            f"stop {holder} first",
                            owner,
                        )
                    stack.append(holder)

    def _net(self, cdev: ClassDevice, owner: Device, proc: ProcFacts | None) -> None:
        if proc is not None and proc.default_route is not None and cdev.name in proc.default_route:
            self.add(
                "default_route",
                "blocker",
                f"{cdev.name} carries the host's default route",
                "move the route to another interface, or keep this device on the host",
                owner,
            )
        elif cdev.attributes.get("operstate") == "up":
            self.add(
                "network_up",
                "action",
                f"{cdev.name} is up on the host",
                f"ip link set {cdev.name} down, after moving what uses it",
                owner,
            )


_RANK: dict[Severity, int] = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def assess(host: Host, dev: Device) -> Assessment:
    """Every finding on passing *dev*, and the verdict they add up to."""
    checker = _Checker(host, dev)
    passable = True
    if dev.kind == "pci":
        passable = checker.pci()
    elif dev.kind == "usb_device":
        checker.usb()
    elif dev.kind == "mdev":
        checker.mdev()
    else:
        checker.scsi()
    if passable:
        checker.host_use()
    findings = tuple(sorted(checker.findings, key=lambda f: -_RANK[f.severity]))
    worst = max((_RANK[f.severity] for f in findings), default=0)
    verdict: Verdict = "blocked" if worst == 3 else "needs_preparation" if worst == 2 else "ready"
    if any(f.code == "class_unknown" for f in findings):
        # Whether it is a bridge, and so whether it can be passed at all, is not known.
        verdict = "unknown"
    return Assessment(device=dev.name, verdict=verdict, findings=findings)
