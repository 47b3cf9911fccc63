"""A simulated kernel: sysfs writes applied to a fake tree the way Linux applies them.

Shipped to embedders through ``hostpassthru.testing``. Its state is the tree
itself (links and files under the sysfs root), so a second SimulatedKernel on
the same tree, in another process, carries on where the first left off: a
test can kill a process after any write and recover in another.

What it models, from drivers/base/bus.c, drivers/base/dd.c,
drivers/pci/pci-driver.c, drivers/pci/pci-sysfs.c and drivers/vfio/pci:

- ``driver_override``: one trailing newline is stripped; an empty value
  clears it, which reads back ``(null)``; it binds and unbinds nothing.
- ``drivers/D/unbind``: ENODEV unless the device is bound to D; may block
  while a user holds the device.
- ``drivers/D/bind``: ENODEV for an unknown device or one D does not match
  (an override naming another driver matches nothing else); EBUSY when the
  device is bound; vfio drivers refuse a bridge or a device without an
  IOMMU group (EINVAL) and a PF with VFs enabled (EBUSY).
- ``drivers_probe``: ENODEV for an unknown device; otherwise success, bound
  or not: the override's driver if it is loaded, else the first loaded
  driver whose ids match.
- ``sriov_numvfs`` (drivers/pci/iov.c, ``sriov_numvfs_store()``): EINVAL for
  no number; ERANGE above ``sriov_totalvfs``; the same count does nothing;
  ENOENT when the PF has no driver or one without ``sriov_configure``
  (:meth:`no_sriov_configure`); 0 removes every VF (and what is beneath);
  N > 0 while VFs are on is EBUSY; else N VFs appear beside the PF at
  ``sriov_offset``/``sriov_stride``, each in a new IOMMU group (the lowest
  free number, as the IOMMU core's ida gives) where the host has groups, and
  are probed when ``sriov_drivers_autoprobe`` is 1.
- ``mdev_supported_types/T/create`` (drivers/vfio/mdev): EINVAL for no UUID,
  EEXIST for one in use, EUSERS when ``available_instances`` is 0; the mdev
  appears beneath its parent in a group of its own, bound to the one mdev
  driver there is. ``<uuid>/remove``: ``1`` removes it (EBUSY while a VM
  holds it, :meth:`hold`), ``0`` does nothing.
- ``nvidia/current_vgpu_type`` (NVIDIA's vGPU manager on a VF): EINVAL for no
  number or a type the VF does not list as creatable; EBUSY for a type while
  another is set; 0 removes the vGPU.
- Any other existing file: its content is replaced. A missing one: ENOENT.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import threading
import uuid
from typing import TYPE_CHECKING, Literal

import attrs

from ._errors import WriteTimeoutError
from ._hostfacts import parse_hex, read_text
from ._sriov import parse_vgpu_types

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["Operation", "SimulatedKernel"]

Operation = Literal[
    "driver_override",
    "unbind",
    "bind",
    "drivers_probe",
    "new_id",
    "sriov_numvfs",
    "mdev_create",
    "mdev_remove",
    "vgpu_type",
    "other",
]


# Modules whose PCI driver has another name (modprobe treats "-" and "_" alike).
_MODULE_DRIVERS = {"vfio_pci": "vfio-pci", "pci_stub": "pci-stub"}


@attrs.define
class _Failure:
    operation: Operation | None
    address: str | None
    errno: int
    times: int


def _is_vfio(driver: str) -> bool:
    # vfio-pci and its variant drivers (mlx5_vfio_pci, hisi_acc_vfio_pci, ...).
    return driver == "vfio-pci" or driver.endswith("vfio_pci")


_VIRT_OPERATIONS = ("sriov_numvfs", "mdev_create", "mdev_remove", "vgpu_type")


def _virt_operation(real_dir: str, name: str) -> Operation:
    """Which SR-IOV, mdev or vGPU write this is, or "other"."""
    if name == "sriov_numvfs":
        return "sriov_numvfs"
    if name == "create" and os.path.basename(os.path.dirname(real_dir)) == "mdev_supported_types":
        return "mdev_create"
    if name == "remove" and os.path.islink(f"{real_dir}/mdev_type"):
        return "mdev_remove"
    if name == "current_vgpu_type" and os.path.basename(real_dir) == "nvidia":
        return "vgpu_type"
    return "other"


def _number(text: str, limit: int, full: str) -> int:
    """A decimal number up to *limit*, as kstrtoul() reads one; EINVAL otherwise."""
    word = text.strip()
    if not (word.isascii() and word.isdigit()) or int(word) > limit:
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), full)
    return int(word)


class SimulatedKernel:
    """Applies sysfs writes to the fake tree under *sysfs* as Linux would.

    *drivers* maps each PCI driver to the (vendor, device) ids it matches on
    its own. By default it is read off the tree: every bound device's driver
    matches that device's ids. Pass the same mapping to a second instance
    (``SimulatedKernel(root, drivers=first.drivers)``) so that it matches as
    the first did, whatever has been rebound since.

    Failures are injected with :meth:`fail`, :meth:`probe_binds_nothing`,
    :meth:`hold`, :attr:`read_only` and :meth:`after_write`.
    """

    def __init__(
        self,
        sysfs: str | os.PathLike[str],
        *,
        drivers: Mapping[str, Iterable[tuple[int, int]]] | None = None,
    ) -> None:
        self._sysfs = os.path.normpath(os.path.abspath(os.fspath(sysfs)))
        self._lock = threading.RLock()
        self._drivers: dict[str, tuple[tuple[int, int], ...]] | None = (
            None
            if drivers is None
            else {name: tuple(sorted(set(ids))) for name, ids in drivers.items()}
        )
        #: Every write asked for, in order: (path relative to the root, data), failed or not.
        self.writes: list[tuple[str, bytes]] = []
        #: When True, every write fails with EACCES, as on a read-only /sys.
        self.read_only = False
        self._failures: list[_Failure] = []
        self._probe_nothing: set[str] = set()
        self._held: dict[str, threading.Event] = {}
        self._pending_unbind: dict[str, str] = {}
        self._after: list[Callable[[SimulatedKernel, int, str, bytes], None]] = []
        self._vfio_minor = 0
        self._crash_first = False
        self._no_sriov: set[str] = set()

    # -- the Kernel protocol -------------------------------------------------

    @property
    def sysfs(self) -> str:
        """The sysfs root of the fake tree."""
        return self._sysfs

    @property
    def drivers(self) -> dict[str, tuple[tuple[int, int], ...]]:
        """Driver -> the (vendor, device) ids it matches on its own."""
        return dict(self._table())

    def _table(self) -> dict[str, tuple[tuple[int, int], ...]]:
        """The driver table, read off the tree on first use (a test builds the tree first)."""
        with self._lock:
            if self._drivers is None:
                found: dict[str, set[tuple[int, int]]] = {}
                for address in self._addresses():
                    driver = self.driver_of(address)
                    ids = self._ids(address)
                    if driver is not None and ids is not None:
                        found.setdefault(driver, set()).add(ids)
                self._drivers = {k: tuple(sorted(v)) for k, v in found.items()}
                for address in self._addresses():
                    self._complete(address)
            return self._drivers

    def __repr__(self) -> str:
        return f"SimulatedKernel({self._sysfs!r})"

    def write(self, path: str, data: bytes, *, deadline: float | None = None) -> None:
        """Apply one write as the kernel would; raises OSError with the kernel's errno."""
        self._table()
        if self._crash_first:
            os.kill(os.getpid(), signal.SIGKILL)
        self.writes.append((path, data))
        full = os.path.join(self._sysfs, path)
        directory, name = os.path.split(full)
        real_dir = os.path.realpath(directory)
        if self.read_only:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), full)
        operation = self._operation(real_dir, name)
        value = data.decode("utf-8", "replace")
        address = value.strip() if operation in ("bind", "unbind", "drivers_probe") else None
        if address is None and operation in ("driver_override", "sriov_numvfs", "mdev_remove"):
            address = os.path.basename(real_dir)
        elif operation == "mdev_create":
            address = os.path.basename(os.path.dirname(os.path.dirname(real_dir)))
        elif operation == "vgpu_type":
            address = os.path.basename(os.path.dirname(real_dir))
        self._maybe_fail(operation, address, full)
        if operation == "unbind":
            self._unbind_store(os.path.basename(real_dir), value.strip(), full, deadline)
        else:
            with self._lock:
                self._store(operation, real_dir, name, value, data, full)
        index = len(self.writes)
        for callback in list(self._after):
            callback(self, index, path, data)

    def load_module(self, name: str) -> None:
        """``modprobe NAME``: the module's driver appears under bus/pci/drivers."""
        module = name.replace("-", "_")
        self.load_driver(_MODULE_DRIVERS.get(module, name), module=module)

    # -- what tests set up -----------------------------------------------------

    def load_driver(
        self,
        name: str,
        *,
        ids: Iterable[tuple[int, int]] = (),
        module: str | None = None,
    ) -> None:
        """Make driver *name* loaded (its directory exists), matching *ids* on its own."""
        with self._lock:
            home = self._driver_dir(name)
            os.makedirs(home, exist_ok=True)
            for attribute in ("bind", "unbind", "new_id", "remove_id"):
                if not os.path.exists(f"{home}/{attribute}"):
                    with open(f"{home}/{attribute}", "w", encoding="ascii"):
                        pass
            module = module or name.replace("-", "_")
            link = f"{home}/module"
            if not os.path.lexists(link):
                target = os.path.join(self._sysfs, "module", module)
                os.makedirs(target, exist_ok=True)
                os.symlink(os.path.relpath(target, home), link)
            table = self._table()
            table[name] = tuple(sorted({*table.get(name, ()), *ids}))

    def unload_driver(self, name: str) -> None:
        """Remove driver *name*; its devices are unbound first, as rmmod does."""
        with self._lock:
            for address in self._addresses():
                if self.driver_of(address) == name:
                    self._detach(address)
            shutil.rmtree(self._driver_dir(name), ignore_errors=True)

    def fail(
        self,
        operation: Operation | None,
        address: str | None = None,
        error: int = errno.EBUSY,
        *,
        times: int = 1,
    ) -> None:
        """The next *times* writes of *operation* (None: any) for *address* fail with *error*."""
        self._failures.append(_Failure(operation, address, error, times))

    def no_sriov_configure(self, driver: str) -> None:
        """*driver* cannot enable VFs (it has no ``sriov_configure``): writes give ENOENT."""
        self._no_sriov.add(driver)

    def probe_binds_nothing(self, address: str) -> None:
        """``drivers_probe`` of *address* succeeds and binds nothing, as when no driver probes."""
        self._probe_nothing.add(address)

    def hold(self, address: str) -> None:
        """A user holds *address*: unbinding it blocks until :meth:`let_go`.

        A held mediated device (by UUID) refuses ``remove`` with EBUSY.
        """
        self._held.setdefault(address, threading.Event())

    def let_go(self, address: str) -> None:
        """The user lets go of *address*; an unbind that timed out meanwhile completes now."""
        event = self._held.pop(address, None)
        if event is not None:
            event.set()
        driver = self._pending_unbind.pop(address, None)
        if driver is not None:
            with self._lock:
                if self.driver_of(address) == driver:
                    self._detach(address)

    def after_write(self, callback: Callable[[SimulatedKernel, int, str, bytes], None]) -> None:
        """Call ``callback(kernel, n, path, data)`` after the n-th write (1-based) succeeds."""
        self._after.append(callback)

    def crash_after(self, count: int) -> None:
        """Kill this process with SIGKILL right after the *count*-th successful write.

        0 kills it when the first write is asked for, before it is applied.
        """
        if count == 0:
            self._crash_first = True
            return

        def crash(_: SimulatedKernel, n: int, path: str, data: bytes) -> None:
            del path, data
            if n >= count:
                os.kill(os.getpid(), signal.SIGKILL)

        self.after_write(crash)

    def race_bind(self, address: str, driver: str) -> None:
        """Another agent binds *address* to *driver* now, override or not.

        What a racing probe does on a kernel without driver_override, or after
        another manager cleared it: the device is taken between two steps.
        """
        with self._lock:
            if self.driver_of(address) is not None:
                self._detach(address)
            self._attach(address, driver)

    def vanish(self, address: str) -> None:
        """Hot-unplug *address*: its directory and every link to it go away."""
        with self._lock:
            directory = self._device_dir(address)
            if directory is None:
                return
            if self.driver_of(address) is not None:
                self._detach(address)
            stash = self._stash(address)
            shutil.rmtree(stash, ignore_errors=True)
            os.makedirs(os.path.dirname(stash), exist_ok=True)
            group = self._group(address)
            shutil.move(directory, stash)
            with open(f"{stash}.path", "w", encoding="utf-8") as f:
                f.write(directory)
            os.unlink(f"{self._sysfs}/bus/pci/devices/{address}")
            if group is not None:
                link = f"{self._sysfs}/kernel/iommu_groups/{group}/devices/{address}"
                if os.path.lexists(link):
                    os.unlink(link)

    def reappear(
        self,
        address: str,
        *,
        vendor: int | None = None,
        device: int | None = None,
        probe: bool = True,
    ) -> None:
        """Hot-plug a vanished *address* again, with other ids if given; then probe it."""
        with self._lock:
            stash = self._stash(address)
            with open(f"{stash}.path", encoding="utf-8") as f:
                directory = f.read()
            shutil.move(stash, directory)
            os.unlink(f"{stash}.path")
            if vendor is not None:
                self._put(f"{directory}/vendor", f"0x{vendor:04x}\n")
            if device is not None:
                self._put(f"{directory}/device", f"0x{device:04x}\n")
            self._put(f"{directory}/driver_override", "(null)\n")
            self._link(directory, f"{self._sysfs}/bus/pci/devices/{address}")
            group = self._group(address)
            if group is not None:
                self._link(
                    directory, f"{self._sysfs}/kernel/iommu_groups/{group}/devices/{address}"
                )
            if probe:
                self._probe(address)

    def driver_of(self, address: str) -> str | None:
        """The driver *address* is bound to, read off the tree; None when unbound or gone."""
        try:
            return os.path.basename(os.readlink(f"{self._sysfs}/bus/pci/devices/{address}/driver"))
        except OSError:
            return None

    def override_of(self, address: str) -> str | None:
        """The raw ``driver_override`` text of *address* (``(null)`` when unset)."""
        return read_text(f"{self._sysfs}/bus/pci/devices/{address}/driver_override")

    # -- the kernel's side -----------------------------------------------------

    def _operation(self, real_dir: str, name: str) -> Operation:
        drivers = f"{self._sysfs}/bus/pci/drivers"
        if name == "drivers_probe" and real_dir == f"{self._sysfs}/bus/pci":
            return "drivers_probe"
        if os.path.dirname(real_dir) == drivers and name in ("bind", "unbind", "new_id"):
            return name  # type: ignore[return-value]
        if name == "driver_override":
            return "driver_override"
        return _virt_operation(real_dir, name)

    def _maybe_fail(self, operation: Operation, address: str | None, full: str) -> None:
        for failure in self._failures:
            if failure.times <= 0:
                continue
            if failure.operation not in (None, operation):
                continue
            if failure.address not in (None, address):
                continue
            failure.times -= 1
            raise OSError(failure.errno, os.strerror(failure.errno), full)

    def _store(  # noqa: PLR0913, PLR0917 - the parts of one write, as write() split them
        self,
        operation: Operation,
        real_dir: str,
        name: str,
        value: str,
        data: bytes,
        full: str,
    ) -> None:
        if operation == "driver_override":
            if not os.path.isfile(f"{real_dir}/{name}"):
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), full)
            # driver_set_override(): one trailing newline goes; nothing left clears it.
            text = value.removesuffix("\n")
            self._put(f"{real_dir}/{name}", f"{text or '(null)'}\n")
        elif operation == "bind":
            self._bind_store(os.path.basename(real_dir), value.strip(), full)
        elif operation == "drivers_probe":
            address = value.strip()
            if self._device_dir(address) is None:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), full)
            if self.driver_of(address) is None and address not in self._probe_nothing:
                self._probe(address)
        elif operation in _VIRT_OPERATIONS:
            self._virt_store(operation, real_dir, value, full)
        elif operation == "new_id":
            # Global per vendor:device, binds every matching unbound device: never used
            # by hostpassthru; modelled so that a test can catch it being used.
            raise OSError(
                errno.EPERM, "new_id is not simulated: hostpassthru must not use it", full
            )
        else:
            if not os.path.isfile(full):
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), full)
            with open(full, "wb") as f:
                f.write(data)

    def _unbind_store(self, driver: str, address: str, full: str, deadline: float | None) -> None:
        with self._lock:
            if self.driver_of(address) != driver:
                raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), full)
        held = self._held.get(address)
        if held is not None and not held.wait(deadline):
            # The real write goes on blocking in the kernel and completes when the
            # user lets go; the caller gave up waiting.
            self._pending_unbind[address] = driver
            raise WriteTimeoutError(full, deadline or 0.0)
        with self._lock:
            if self.driver_of(address) == driver:
                self._detach(address)

    def _bind_store(self, driver: str, address: str, full: str) -> None:
        if self._device_dir(address) is None or not self._matches(driver, address):
            raise OSError(errno.ENODEV, os.strerror(errno.ENODEV), full)
        if self.driver_of(address) is not None:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), full)
        refusal = self._probe_refusal(driver, address)
        if refusal is not None:
            raise OSError(refusal, os.strerror(refusal), full)
        self._attach(address, driver)

    def _probe_refusal(self, driver: str, address: str) -> int | None:
        """The errno the driver's probe() returns for this device, or None if it binds."""
        if not _is_vfio(driver):
            return None
        directory = self._device_dir(address)
        cls = parse_hex(read_text(f"{directory}/class"))
        # vfio_pci_probe(): only normal (type 0) headers. PCI-to-PCI bridges (0x0604,
        # 0x0609) have type 1 and CardBus bridges (0x0607) type 2; host and ISA
        # bridges have a normal header and bind.
        if cls is not None and cls >> 8 in (0x0604, 0x0607, 0x0609):
            return errno.EINVAL
        # vfio_pci_core_register_device() -> vfio_group_find_or_alloc(): no group, no VFIO.
        if self._group(address) is None:
            return errno.EINVAL
        # vfio_pci_probe() refuses a PF whose VFs are enabled (since Linux 4.x).
        numvfs = read_text(f"{directory}/sriov_numvfs")
        if numvfs is not None and numvfs.isdigit() and int(numvfs) > 0:
            return errno.EBUSY
        return None

    def _matches(self, driver: str, address: str) -> bool:
        if not os.path.isdir(self._driver_dir(driver)):
            return False
        override = self.override_of(address)
        if override not in (None, "(null)", ""):
            # pci_match_device(): a set override matches its driver alone.
            return override == driver
        ids = self._ids(address)
        return ids is not None and ids in self._table().get(driver, ())

    def _probe(self, address: str) -> None:
        """device_attach(): the first loaded driver that matches and whose probe accepts."""
        override = self.override_of(address)
        candidates = (
            [override]
            if override is not None and override not in ("(null)", "")
            else sorted(d for d in self._table() if os.path.isdir(self._driver_dir(d)))
        )
        for driver in candidates:
            if self._matches(driver, address) and self._probe_refusal(driver, address) is None:
                self._attach(address, driver)
                return

    def _attach(self, address: str, driver: str) -> None:
        directory = self._device_dir(address)
        if directory is None:
            return
        home = self._driver_dir(driver)
        self._link(home, f"{directory}/driver")
        self._link(directory, f"{home}/{address}")
        self._uevent_driver(directory, driver)
        if _is_vfio(driver):
            # Linux 6.1 added the vfio-dev/vfioN directory of the device cdev.
            self._vfio_minor += 1
            os.makedirs(f"{directory}/vfio-dev/vfio{self._vfio_minor}", exist_ok=True)

    def _detach(self, address: str) -> None:
        directory = self._device_dir(address)
        driver = self.driver_of(address)
        if directory is None or driver is None:
            return
        os.unlink(f"{directory}/driver")
        entry = f"{self._driver_dir(driver)}/{address}"
        if os.path.lexists(entry):
            os.unlink(entry)
        shutil.rmtree(f"{directory}/vfio-dev", ignore_errors=True)
        self._uevent_driver(directory, None)

    # -- SR-IOV, mediated devices, vGPU ------------------------------------------

    def _virt_store(self, operation: Operation, real_dir: str, value: str, full: str) -> None:
        store = {
            "sriov_numvfs": self._sriov_store,
            "mdev_create": self._mdev_create,
            "mdev_remove": self._mdev_remove,
            "vgpu_type": self._vgpu_store,
        }[operation]
        store(real_dir, value, full)

    def _sriov_store(self, pf_dir: str, value: str, full: str) -> None:
        address = os.path.basename(pf_dir)
        count = _number(value, 0xFFFF, full)  # kstrtou16()
        total = _number(read_text(f"{pf_dir}/sriov_totalvfs") or "0", 0xFFFF, full)
        if count > total:
            raise OSError(errno.ERANGE, os.strerror(errno.ERANGE), full)
        current = _number(read_text(f"{pf_dir}/sriov_numvfs") or "0", 0xFFFF, full)
        if count == current:
            return
        driver = self.driver_of(address)
        if driver is None or driver in self._no_sriov:
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT), full)
        if count == 0:
            for vf in self._vfs(pf_dir):
                self._remove_vf(pf_dir, vf)
        elif current:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), full)
        else:
            self._add_vfs(pf_dir, count)
        self._put(f"{pf_dir}/sriov_numvfs", f"{count}\n")

    def _vfs(self, pf_dir: str) -> list[tuple[int, str]]:
        """(N, kernel name) of each virtfnN link of a PF, in N order."""
        return sorted(
            (int(entry[6:]), os.path.basename(os.readlink(f"{pf_dir}/{entry}")))
            for entry in os.listdir(pf_dir)
            if entry.startswith("virtfn") and entry[6:].isdigit()
        )

    def _remove_vf(self, pf_dir: str, vf: tuple[int, str]) -> None:
        number, address = vf
        directory = self._device_dir(address)
        if directory is not None:
            for entry in os.listdir(directory):
                if os.path.islink(f"{directory}/{entry}/mdev_type"):
                    self._drop_mdev(f"{directory}/{entry}")
            types = f"{directory}/nvidia/creatable_vgpu_types"
            if os.path.isfile(types):
                # Kept where the next VFs of this PF will find NVIDIA's files again.
                template = self._stash(f"vgpu-{os.path.basename(pf_dir)}")
                os.makedirs(os.path.dirname(template), exist_ok=True)
                shutil.copyfile(types, template)
            self._detach(address)
            self._ungroup(address, self._group(address))
            os.unlink(f"{self._sysfs}/bus/pci/devices/{address}")
            shutil.rmtree(directory)
        os.unlink(f"{pf_dir}/virtfn{number}")

    def _add_vfs(self, pf_dir: str, count: int) -> None:
        pf = os.path.basename(pf_dir)
        domain, bus, slot_fn = pf.split(":")
        slot, fn = slot_fn.split(".")
        routing = (int(bus, 16) << 8) | (int(slot, 16) << 3) | int(fn)
        offset = int(read_text(f"{pf_dir}/sriov_offset") or "1")
        stride = int(read_text(f"{pf_dir}/sriov_stride") or "1")
        vf_device = read_text(f"{pf_dir}/sriov_vf_device")
        grouped = bool(self._groups())
        template = self._stash(f"vgpu-{pf}")
        for n in range(count):
            rid = routing + offset + n * stride
            address = f"{domain}:{(rid >> 8) & 0xFF:02x}:{(rid >> 3) & 0x1F:02x}.{rid & 7}"
            directory = os.path.join(os.path.dirname(pf_dir), address)
            os.makedirs(directory)
            for name in ("vendor", "subsystem_vendor", "subsystem_device", "class", "revision"):
                self._put(f"{directory}/{name}", f"{read_text(f'{pf_dir}/{name}') or ''}\n")
            device = f"0x{int(vf_device, 16):04x}" if vf_device else read_text(f"{pf_dir}/device")
            self._put(f"{directory}/device", f"{device}\n")
            self._put(f"{directory}/numa_node", f"{read_text(f'{pf_dir}/numa_node') or '-1'}\n")
            self._put(f"{directory}/reset_method", "flr\n")
            self._put(f"{directory}/driver_override", "(null)\n")
            cls = parse_hex(read_text(f"{pf_dir}/class")) or 0
            vendor = (read_text(f"{directory}/vendor") or "0x0")[2:].upper()
            ids = f"{vendor}:{(device or '0x0')[2:].upper()}"
            self._put(
                f"{directory}/uevent",
                f"PCI_CLASS={cls:X}\nPCI_ID={ids}\nPCI_SLOT_NAME={address}\n",
            )
            self._link(pf_dir, f"{directory}/physfn")
            self._link(f"{self._sysfs}/bus/pci", f"{directory}/subsystem")
            self._link(directory, f"{self._sysfs}/bus/pci/devices/{address}")
            self._link(directory, f"{pf_dir}/virtfn{n}")
            if grouped:
                self._regroup(directory, address)
            if os.path.isfile(template):
                os.makedirs(f"{directory}/nvidia")
                shutil.copyfile(template, f"{directory}/nvidia/creatable_vgpu_types")
                self._put(f"{directory}/nvidia/current_vgpu_type", "0\n")
        if read_text(f"{pf_dir}/sriov_drivers_autoprobe") != "0":
            for n in range(count):
                self._probe(os.path.basename(os.readlink(f"{pf_dir}/virtfn{n}")))

    def _groups(self) -> set[int]:
        try:
            names = os.listdir(f"{self._sysfs}/kernel/iommu_groups")
        except OSError:
            return set()
        return {int(name) for name in names if name.isdigit()}

    def _regroup(self, directory: str, name: str) -> None:
        """Put a new device in a new group of its own: the lowest free number."""
        used = self._groups()
        number = next(n for n in range(len(used) + 1) if n not in used)
        group = f"{self._sysfs}/kernel/iommu_groups/{number}"
        os.makedirs(f"{group}/devices")
        self._link(directory, f"{group}/devices/{name}")
        self._link(group, f"{directory}/iommu_group")

    def _ungroup(self, name: str, number: str | None) -> None:
        """Take a device out of its group; an empty group goes (iommu_group_release())."""
        if number is None:
            return
        group = f"{self._sysfs}/kernel/iommu_groups/{number}"
        if os.path.lexists(f"{group}/devices/{name}"):
            os.unlink(f"{group}/devices/{name}")
        if os.path.isdir(f"{group}/devices") and not os.listdir(f"{group}/devices"):
            shutil.rmtree(group)

    def _mdev_create(self, type_dir: str, value: str, full: str) -> None:
        try:
            name = str(uuid.UUID(value.strip()))
        except ValueError:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), full) from None
        if os.path.lexists(f"{self._sysfs}/bus/mdev/devices/{name}"):
            raise OSError(errno.EEXIST, os.strerror(errno.EEXIST), full)
        available = _number(read_text(f"{type_dir}/available_instances") or "0", 1 << 31, full)
        if available < 1:
            raise OSError(errno.EUSERS, os.strerror(errno.EUSERS), full)
        parent = os.path.dirname(os.path.dirname(type_dir))
        directory = f"{parent}/{name}"
        os.makedirs(directory)
        os.makedirs(f"{type_dir}/devices", exist_ok=True)
        os.makedirs(f"{self._sysfs}/bus/mdev/devices", exist_ok=True)
        self._put(f"{directory}/remove", "")
        self._put(f"{directory}/uevent", f"MDEV_TYPE={os.path.basename(type_dir)}\n")
        self._link(type_dir, f"{directory}/mdev_type")
        self._link(f"{self._sysfs}/bus/mdev", f"{directory}/subsystem")
        self._link(directory, f"{self._sysfs}/bus/mdev/devices/{name}")
        self._link(directory, f"{type_dir}/devices/{name}")
        # vfio_register_emulated_iommu_dev(): a group of its own, IOMMU or not.
        self._regroup(directory, name)
        try:
            drivers = sorted(os.listdir(f"{self._sysfs}/bus/mdev/drivers"))
        except OSError:
            drivers = []
        if len(drivers) == 1:
            home = f"{self._sysfs}/bus/mdev/drivers/{drivers[0]}"
            self._link(home, f"{directory}/driver")
            self._link(directory, f"{home}/{name}")
            self._uevent_driver(directory, drivers[0])
        self._put(f"{type_dir}/available_instances", f"{available - 1}\n")

    def _mdev_remove(self, directory: str, value: str, full: str) -> None:
        if _number(value, 1 << 31, full) == 0:
            return
        if os.path.basename(directory) in self._held:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), full)
        self._drop_mdev(directory)

    def _drop_mdev(self, directory: str) -> None:
        name = os.path.basename(directory)
        type_dir = os.path.realpath(f"{directory}/mdev_type")
        if os.path.lexists(f"{type_dir}/devices/{name}"):
            os.unlink(f"{type_dir}/devices/{name}")
        available = read_text(f"{type_dir}/available_instances")
        if available is not None and available.isdigit():
            self._put(f"{type_dir}/available_instances", f"{int(available) + 1}\n")
        if os.path.islink(f"{directory}/driver"):
            home = os.path.realpath(f"{directory}/driver")
            if os.path.lexists(f"{home}/{name}"):
                os.unlink(f"{home}/{name}")
        try:
            group: str | None = os.path.basename(os.readlink(f"{directory}/iommu_group"))
        except OSError:
            group = None
        self._ungroup(name, group)
        if os.path.lexists(f"{self._sysfs}/bus/mdev/devices/{name}"):
            os.unlink(f"{self._sysfs}/bus/mdev/devices/{name}")
        shutil.rmtree(directory)

    def _vgpu_store(self, nvidia_dir: str, value: str, full: str) -> None:
        wanted = _number(value, 1 << 31, full)
        current = _number(read_text(f"{nvidia_dir}/current_vgpu_type") or "0", 1 << 31, full)
        if wanted == current:
            return
        if wanted and current:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), full)
        if wanted:
            types, _ = parse_vgpu_types(read_text(f"{nvidia_dir}/creatable_vgpu_types") or "")
            if wanted not in {i for i, _ in types}:
                raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), full)
        self._put(f"{nvidia_dir}/current_vgpu_type", f"{wanted}\n")

    # -- the tree --------------------------------------------------------------

    def _addresses(self) -> list[str]:
        try:
            return sorted(os.listdir(f"{self._sysfs}/bus/pci/devices"))
        except OSError:
            return []

    def _device_dir(self, address: str) -> str | None:
        link = f"{self._sysfs}/bus/pci/devices/{address}"
        if not os.path.isdir(link):
            return None
        return os.path.realpath(link)

    def _driver_dir(self, driver: str) -> str:
        return f"{self._sysfs}/bus/pci/drivers/{driver}"

    def _ids(self, address: str) -> tuple[int, int] | None:
        directory = f"{self._sysfs}/bus/pci/devices/{address}"
        vendor, device = (
            parse_hex(read_text(f"{directory}/vendor")),
            parse_hex(read_text(f"{directory}/device")),
        )
        return None if vendor is None or device is None else (vendor, device)

    def _group(self, address: str) -> str | None:
        for base in (f"{self._sysfs}/bus/pci/devices/{address}", self._stash(address)):
            try:
                return os.path.basename(os.readlink(f"{base}/iommu_group"))
            except OSError:
                continue
        return None

    def _stash(self, address: str) -> str:
        return os.path.join(os.path.dirname(self._sysfs), ".simkernel-unplugged", address)

    @staticmethod
    def _put(path: str, text: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    @staticmethod
    def _link(target: str, link: str) -> None:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(os.path.relpath(target, os.path.dirname(link)), link)

    def _complete(self, address: str) -> None:
        """Add what the kernel always has and recordings often lack, before the first write.

        Every PCI device has driver_override (Linux 3.16); a driver's directory
        links to each device it has; a bound device's uevent says DRIVER=; an
        mdev type has its devices/ directory.
        """
        directory = self._device_dir(address)
        if directory is None:
            return
        if not os.path.exists(f"{directory}/driver_override"):
            self._put(f"{directory}/driver_override", "(null)\n")
        types = f"{directory}/mdev_supported_types"
        if os.path.isdir(types):
            # Every mdev type has its devices/ directory, and the mdev bus its list.
            for type_id in os.listdir(types):
                os.makedirs(f"{types}/{type_id}/devices", exist_ok=True)
            os.makedirs(f"{self._sysfs}/bus/mdev/devices", exist_ok=True)
        driver = self.driver_of(address)
        if driver is not None:
            entry = f"{self._driver_dir(driver)}/{address}"
            if not os.path.lexists(entry) and os.path.isdir(self._driver_dir(driver)):
                self._link(directory, entry)
        self._uevent_driver(directory, driver)

    def _uevent_driver(self, directory: str, driver: str | None) -> None:
        path = f"{directory}/uevent"
        text = read_text(path)
        if text is None:
            return
        lines = text.splitlines()
        at = next((i for i, line in enumerate(lines) if line.startswith("DRIVER=")), None)
        if driver is None and at is not None:
            del lines[at]
        elif driver is not None and at is not None:
            lines[at] = f"DRIVER={driver}"
        elif driver is not None:
            # dev_uevent() writes DRIVER= before what the bus adds (PCI_CLASS=, ...).
            lines.insert(0, f"DRIVER={driver}")
        self._put(path, "".join(f"{line}\n" for line in lines))
