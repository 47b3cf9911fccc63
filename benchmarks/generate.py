"""Write synthetic sysfs trees of a realistic shape, for the benchmark.

One *unit* is a slice of a large server, about a hundred nodes: a root port
with a PCIe switch (a GPU and its audio in one group, two NVMe drives), a
root port with an SR-IOV NIC and its VFs (each in a group of its own), a root
port with a SAS HBA and its disks, and an xHCI with hubs, keyboards and USB
sticks. Units repeat, each in a PCI domain of its own, until the tree holds
the nodes asked for. Group numbers are sparse and large. Each device
directory carries the usual files the library never reads (config,
resource, power/, msi_irqs/, ...), so that listing and lookups cost what
they cost on a real host.

Usage: python benchmarks/generate.py NODES DIRECTORY
"""

from __future__ import annotations

import os
import sys

import attrs

__all__ = ["Tree", "generate"]

_CONFIG = bytes(256)
_PCI_EXTRA = {
    "resource": "0x00000000f6000000 0x00000000f6ffffff 0x0000000000040200\n" * 6,
    "irq": "16\n",
    "enable": "1\n",
    "local_cpus": "ffff\n",
    "local_cpulist": "0-15\n",
    "msi_bus": "1\n",
    "d3cold_allowed": "1\n",
    "power_state": "D0\n",
    "driver_override": "(null)\n",
    "power/control": "on\n",
    "power/runtime_status": "active\n",
    "msi_irqs/40": "msix\n",
    "msi_irqs/41": "msix\n",
}
_USB_EXTRA = {
    "bcdDevice": "0100\n",
    "bConfigurationValue": "1\n",
    "bMaxPower": "100mA\n",
    "bNumInterfaces": " 1\n",
    "maxchild": "0\n",
    "power/control": "auto\n",
    "authorized": "1\n",
    "removable": "removable\n",
}


@attrs.define
class Tree:
    """What was written: the sysfs root and how many nodes of each kind."""

    root: str
    pci: int = 0
    usb: int = 0
    scsi: int = 0
    groups: int = 0

    @property
    def nodes(self) -> int:
        """All nodes: PCI functions, USB devices and SCSI devices."""
        return self.pci + self.usb + self.scsi


def _write(path: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _link(target: str, link: str) -> None:
    os.symlink(os.path.relpath(target, os.path.dirname(link)), link)


@attrs.define
class _Writer:
    tree: Tree
    bus_numbers: dict[str, int] = attrs.Factory(dict)
    scsi_host: int = 0
    usb_bus: int = 0
    block: int = 0

    @property
    def root(self) -> str:
        return self.tree.root

    def device_dir(self, path: str, subsystem: str, uevent: str, files: dict[str, str]) -> str:
        full = f"{self.root}/{path}"
        os.makedirs(full, exist_ok=True)
        _write(f"{full}/uevent", uevent)
        for name, text in files.items():
            if "/" in name:
                os.makedirs(f"{full}/{name.rpartition('/')[0]}", exist_ok=True)
            _write(f"{full}/{name}", text)
        bus = subsystem in ("pci", "usb", "scsi")
        home = f"{self.root}/bus/{subsystem}" if bus else f"{self.root}/class/{subsystem}"
        os.makedirs(f"{home}/devices" if bus else home, exist_ok=True)
        _link(home, f"{full}/subsystem")
        name = path.rpartition("/")[2]
        _link(full, f"{home}/devices/{name}" if bus else f"{home}/{name}")
        return full

    def driver(self, full: str, subsystem: str, driver: str | None) -> None:
        if driver:
            target = f"{self.root}/bus/{subsystem}/drivers/{driver}"
            os.makedirs(target, exist_ok=True)
            _link(target, f"{full}/driver")

    def pci(  # noqa: PLR0913, PLR0917 - one argument per fact, as a PCI function has them
        self,
        parent: str,
        address: str,
        cls: int,
        vendor: int,
        device: int,
        driver: str | None,
        group: int | None,
        *,
        extra: dict[str, str] | None = None,
    ) -> str:
        path = f"{parent}/{address}"
        files = {
            "class": f"0x{cls:06x}\n",
            "vendor": f"0x{vendor:04x}\n",
            "device": f"0x{device:04x}\n",
            "subsystem_vendor": f"0x{vendor:04x}\n",
            "subsystem_device": "0x0000\n",
            "revision": "0x01\n",
            "numa_node": "0\n",
            "modalias": f"pci:v{vendor:08X}d{device:08X}\n",
            **_PCI_EXTRA,
            **(extra or {}),
        }
        uevent = f"PCI_CLASS={cls:X}\nPCI_ID={vendor:04X}:{device:04X}\nPCI_SLOT_NAME={address}\n"
        if driver:
            uevent = f"DRIVER={driver}\n" + uevent
        full = self.device_dir(path, "pci", uevent, files)
        _write(f"{full}/config", _CONFIG)
        self.driver(full, "pci", driver)
        if group is not None:
            gdir = f"{self.root}/kernel/iommu_groups/{group}"
            if not os.path.isdir(gdir):
                os.makedirs(f"{gdir}/devices")
                self.tree.groups += 1
            _link(gdir, f"{full}/iommu_group")
            _link(full, f"{gdir}/devices/{address}")
        self.tree.pci += 1
        return path

    def usb(self, parent: str, name: str, cls: int, interfaces: tuple[int, ...]) -> str:
        path = f"{parent}/{name}"
        busnum = name[3:] if name.startswith("usb") else name.split("-", 1)[0]
        self.tree.usb += 1
        files = {
            "idVendor": "046d\n",
            "idProduct": "c52b\n",
            "bDeviceClass": f"{cls:02x}\n",
            "busnum": f"{busnum}\n",
            "devnum": f"{self.tree.usb % 127 + 1}\n",
            "speed": "480\n",
            "manufacturer": "Logitech\n",
            "product": "USB Receiver\n",
            **_USB_EXTRA,
        }
        full = self.device_dir(path, "usb", "DEVTYPE=usb_device\nDRIVER=usb\n", files)
        self.driver(full, "usb", "usb")
        base = f"{busnum}-0" if name.startswith("usb") else name
        for i, icls in enumerate(interfaces):
            iface = self.device_dir(
                f"{path}/{base}:1.{i}",
                "usb",
                "DEVTYPE=usb_interface\n",
                {"bInterfaceClass": f"{icls:02x}\n", "bInterfaceNumber": f"{i:02x}\n"},
            )
            self.driver(iface, "usb", "hub" if icls == 9 else "usbhid")
        return path

    def scsi(self, parent: str, target: int, driver: str) -> str:
        host = self.scsi_host
        hctl = f"{host}:0:{target}:0"
        path = f"{parent}/target{host}:0:{target}/{hctl}"
        files = {
            "type": "0\n",
            "vendor": "SEAGATE \n",
            "model": "ST4000NM0025    \n",
            "rev": "E004\n",
            "state": "running\n",
            "queue_depth": "254\n",
        }
        full = self.device_dir(path, "scsi", "DEVTYPE=scsi_device\n", files)
        self.driver(full, "scsi", driver)
        self.device_dir(f"{path}/scsi_device/{hctl}", "scsi_device", "", {})
        _link(full, f"{full}/scsi_device/{hctl}/device")
        name = f"sd{self.block}"
        self.device_dir(
            f"{path}/block/{name}",
            "block",
            "DEVTYPE=disk\n",
            {"dev": f"8:{self.block % 256}\n", "size": "7814037168\n"},
        )
        os.makedirs(f"{full}/block/{name}/holders", exist_ok=True)
        self.device_dir(f"{path}/scsi_generic/sg{self.block}", "scsi_generic", "", {})
        self.block += 1
        self.tree.scsi += 1
        return path

    def unit(self, index: int) -> None:
        """One slice of a server, in PCI domain *index*: about a hundred nodes."""
        dom = f"{index:04x}"
        top = f"devices/pci{dom}:00"
        g = index * 1000 + 7  # sparse, large group numbers
        self.pci(top, f"{dom}:00:00.0", 0x060000, 0x8086, 0x2020, None, g)
        port = self.pci(top, f"{dom}:00:01.0", 0x060400, 0x8086, 0x2030, "pcieport", g + 1)
        up = self.pci(port, f"{dom}:01:00.0", 0x060400, 0x10B5, 0x8747, "pcieport", g + 2)
        down0 = self.pci(up, f"{dom}:02:00.0", 0x060400, 0x10B5, 0x8747, "pcieport", g + 3)
        self.pci(down0, f"{dom}:03:00.0", 0x030000, 0x10DE, 0x2204, "nouveau", g + 10)
        self.pci(down0, f"{dom}:03:00.1", 0x040300, 0x10DE, 0x1AEF, "snd_hda_intel", g + 10)
        down1 = self.pci(up, f"{dom}:02:01.0", 0x060400, 0x10B5, 0x8747, "pcieport", g + 4)
        self.pci(down1, f"{dom}:04:00.0", 0x010802, 0x144D, 0xA824, "nvme", g + 11)
        self.pci(down1, f"{dom}:04:00.1", 0x010802, 0x144D, 0xA824, "nvme", g + 12)
        port2 = self.pci(top, f"{dom}:00:02.0", 0x060400, 0x8086, 0x2031, "pcieport", g + 5)
        vfs = 24
        pf = self.pci(
            port2,
            f"{dom}:05:00.0",
            0x020000,
            0x8086,
            0x1572,
            "i40e",
            g + 20,
            extra={"sriov_numvfs": f"{vfs}\n", "reset_method": "flr bus\n"},
        )
        for vf in range(vfs):
            path = self.pci(
                port2,
                f"{dom}:05:{2 + vf // 8:02x}.{vf % 8}",
                0x020000,
                0x8086,
                0x154C,
                "iavf",
                g + 100 + vf,
                extra={"reset_method": "flr\n"},
            )
            # As the kernel links them: physfn on the VF, virtfnN on the PF.
            _link(f"{self.root}/{pf}", f"{self.root}/{path}/physfn")
            _link(f"{self.root}/{path}", f"{self.root}/{pf}/virtfn{vf}")
        port3 = self.pci(top, f"{dom}:00:03.0", 0x060400, 0x8086, 0x2032, "pcieport", g + 6)
        hba = self.pci(port3, f"{dom}:06:00.0", 0x010700, 0x1000, 0x0097, "mpt3sas", g + 30)
        host_dir = f"{hba}/host{self.scsi_host}"
        self.device_dir(host_dir, "scsi", "DEVTYPE=scsi_host\n", {"proc_name": "mpt3sas\n"})
        for t in range(24):
            port_dir = f"{host_dir}/port-{self.scsi_host}:{t}/end_device-{self.scsi_host}:{t}"
            os.makedirs(f"{self.root}/{port_dir}", exist_ok=True)
            self.scsi(port_dir, t, "sd")
        self.scsi_host += 1
        xhci = self.pci(top, f"{dom}:00:14.0", 0x0C0330, 0x8086, 0xA36D, "xhci_hcd", g + 40)
        self.usb_bus += 1
        bus = self.usb_bus
        root_hub = self.usb(xhci, f"usb{bus}", 9, (9,))
        for h in range(1, 3):
            hub = self.usb(root_hub, f"{bus}-{h}", 9, (9,))
            for d in range(1, 5):
                self.usb(hub, f"{bus}-{h}.{d}", 0, (3, 3))
        stick = self.usb(root_hub, f"{bus}-3", 0, (8,))
        stick_host = f"{stick}/{bus}-3:1.0/host{self.scsi_host}"
        self.device_dir(stick_host, "scsi", "DEVTYPE=scsi_host\n", {})
        self.scsi(stick_host, 0, "sd")
        self.scsi_host += 1


def generate(nodes: int, directory: str) -> Tree:
    """Write a tree of at least *nodes* nodes under ``DIRECTORY/sys``."""
    root = os.path.join(os.path.abspath(directory), "sys")
    for top in ("bus", "class", "devices", "kernel/iommu_groups"):
        os.makedirs(f"{root}/{top}", exist_ok=True)
    tree = Tree(root=root)
    writer = _Writer(tree)
    index = 0
    while tree.nodes < nodes:
        writer.unit(index)
        index += 1
    return tree


def main(argv: list[str]) -> int:
    """Command line: NODES DIRECTORY."""
    if len(argv) != 2 or not argv[0].isdigit():
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    tree = generate(int(argv[0]), argv[1])
    print(
        f"{tree.root}: {tree.nodes} nodes ({tree.pci} pci, {tree.usb} usb, {tree.scsi} scsi), "
        f"{tree.groups} groups"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
