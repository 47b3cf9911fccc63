"""Fake hosts for tests: recordings in umockdev's format, materialised as sysfs trees.

The format itself (see ``docs/recording-format.md``) is read and written by
the library; this module adds the shipped fixtures by name and the
:class:`FakeHost` builder. This module imports nothing from pytest.
"""

from __future__ import annotations

import contextlib
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import _recording, _seam
from ._errors import FixtureError
from ._recording import (
    BUSES,
    RecordedDevice,
    Recording,
    materialize_device,
    parse_recording,
)
from ._simkernel import SimulatedKernel
from ._sysfs import up_to_root

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from ._kernel import Kernel

__all__ = [
    "BUSES",
    "FakeHost",
    "RecordedDevice",
    "Recording",
    "SimulatedKernel",
    "fixture_names",
    "fixture_path",
    "fixtures_dir",
    "ids_from",
    "live_host",
    "load_recording",
    "materialize",
    "parse_recording",
]

_SUFFIX = ".umockdev"


def _fixtures_candidates() -> tuple[Path, Path]:
    # Installed: package data under hostpassthru/fixtures. From a checkout
    # (an editable install): the repository's top-level fixtures/ directory.
    return (
        Path(str(resources.files("hostpassthru"))) / "fixtures",
        Path(__file__).resolve().parents[2] / "fixtures",
    )


def fixtures_dir() -> Path:
    """The directory of the shipped fixtures (package data, or the checkout's)."""
    packaged, checkout = _fixtures_candidates()
    return packaged if packaged.is_dir() else checkout


def fixture_names() -> tuple[str, ...]:
    """The names of the fixtures that ship with hostpassthru, sorted."""
    directory = fixtures_dir()
    if not directory.is_dir():
        return ()
    return tuple(sorted(p.name[: -len(_SUFFIX)] for p in directory.glob(f"*{_SUFFIX}")))


def fixture_path(name: str) -> Path:
    """The file of the shipped fixture *name*; raises FixtureError for an unknown name."""
    path = fixtures_dir() / f"{name}{_SUFFIX}"
    if not path.is_file():
        known = ", ".join(fixture_names()) or "none"
        raise FixtureError(name, None, f"no such fixture (known: {known})")
    return path


def _source_path(source: str | os.PathLike[str]) -> Path:
    """The shipped fixture for a bare name (no slash, no suffix, no such file), else *source*."""
    text = os.fspath(source)
    if os.sep in text or text.endswith(_SUFFIX) or os.path.exists(text):
        return Path(text)
    return fixture_path(text)


def load_recording(source: str | os.PathLike[str]) -> Recording:
    """Parse a shipped fixture by name, or a recording file by path."""
    path = _source_path(source)
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise FixtureError(str(path), None, exc.strerror or str(exc)) from None
    return parse_recording(text, str(path))


def materialize(recording: Recording | str | os.PathLike[str], dest: str | os.PathLike[str]) -> str:
    """Write *recording* as a sysfs tree under ``DEST/sys``; returns that sysfs root.

    *recording* is a parsed Recording, a shipped fixture's name or a file's path.
    """
    if not isinstance(recording, Recording):
        recording = load_recording(recording)
    return _recording.materialize(recording, dest)


def _block(
    path: str,
    subsystem: str,
    *,
    properties: Mapping[str, object] | None = None,
    attributes: Mapping[str, object] | None = None,
    links: Mapping[str, str | None] | None = None,
) -> RecordedDevice:
    properties = properties or {}
    attributes = attributes or {}
    links = links or {}
    return RecordedDevice(
        path=path,
        properties=(("SUBSYSTEM", subsystem), *((k, str(v)) for k, v in properties.items())),
        attributes=tuple((k, f"{v}\n") for k, v in attributes.items() if v is not None),
        links=tuple((k, v) for k, v in links.items() if v is not None),
    )


class FakeHost:
    """A host described in a few lines, written as a sysfs tree as each device is added.

    Works on a real directory and on a pyfakefs filesystem alike. Each ``add_*``
    returns the builder, so calls chain::

        host = (
            FakeHost(tmp_path)
            .add_pci("0000:00:01.0", cls=0x060400, driver="pcieport", group=1)
            .add_pci("0000:01:00.0", parent="0000:00:01.0", cls=0x030000, group=1)
        )
        hp.scan(sysfs=host.root)

    *parent* is a kernel name added before; a device without one sits on the
    root bus its address names (``pci0000:00``).
    """

    def __init__(
        self,
        top: str | os.PathLike[str],
        *,
        read_text: Callable[[Path], str] | None = None,
    ) -> None:
        self.top = os.path.abspath(os.fspath(top))
        #: The sysfs root to scan: ``TOP/sys``.
        self.root = materialize(Recording(source="<FakeHost>", devices=()), self.top)
        self._paths: dict[str, str] = {}
        self._kinds: dict[str, str] = {}
        self._read_text = read_text or (
            lambda p: p.read_text(encoding="utf-8", errors="surrogateescape")
        )
        #: The simulated kernel that carries out writes to this host (prepare, release).
        self.kernel = SimulatedKernel(self.root)

    def _add(self, dev: RecordedDevice) -> None:
        materialize_device(self.root, dev)

    def _path_of(self, parent: str) -> str:
        try:
            return self._paths[parent]
        except KeyError:
            raise FixtureError("<FakeHost>", None, f"no device {parent!r} added yet") from None

    def add_pci(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        address: str,
        *,
        parent: str | None = None,
        cls: int = 0x020000,
        vendor: int = 0x8086,
        device: int = 0x1533,
        driver: str | None = None,
        group: int | None = None,
        numa_node: int = -1,
        physfn: str | None = None,
    ) -> FakeHost:
        """Add a PCI function at *address* (``0000:01:00.0``)."""
        if parent is None:
            domain, bus = address.split(":")[:2]
            path = f"/devices/pci{domain}:{bus}/{address}"
        else:
            path = f"{self._path_of(parent)}/{address}"
        up = up_to_root(path)
        self._add(
            _block(
                path,
                "pci",
                properties={"PCI_SLOT_NAME": address, **({"DRIVER": driver} if driver else {})},
                attributes={
                    "class": f"0x{cls:06x}",
                    "vendor": f"0x{vendor:04x}",
                    "device": f"0x{device:04x}",
                    "subsystem_vendor": f"0x{vendor:04x}",
                    "subsystem_device": "0x0000",
                    "revision": "0x00",
                    "numa_node": numa_node,
                },
                links={
                    "driver": driver and f"{up}/bus/pci/drivers/{driver}",
                    "iommu_group": None if group is None else f"{up}/kernel/iommu_groups/{group}",
                    "physfn": physfn and f"../{physfn}",
                },
            ),
        )
        self._paths[address] = path
        self._kinds[address] = "pci"
        return self

    def add_usb(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        name: str,
        *,
        parent: str,
        vendor: int = 0x046D,
        product: int = 0xC52B,
        device_class: int = 0,
        interfaces: tuple[int, ...] = (3,),
        driver: str | None = "usb",
        serial: str | None = None,
        speed: str = "480",
    ) -> FakeHost:
        """Add USB device *name* (``usb1``, ``1-2``, ``1-2.3``) under *parent*.

        A root hub (``usbN``) goes under its PCI controller; other devices under
        a hub. Each class in *interfaces* becomes an interface of configuration 1.
        """
        path = f"{self._path_of(parent)}/{name}"
        up = up_to_root(path)
        bus = name[3:] if name.startswith("usb") else name.split("-", maxsplit=1)[0]
        devnum = sum(1 for n in self._paths if n.startswith((f"{bus}-", f"usb{bus}"))) + 1
        self._add(
            _block(
                path,
                "usb",
                properties={"DEVTYPE": "usb_device", "BUSNUM": bus, "DEVNUM": devnum},
                attributes={
                    "idVendor": f"{vendor:04x}",
                    "idProduct": f"{product:04x}",
                    "bDeviceClass": f"{device_class:02x}",
                    "busnum": bus,
                    "devnum": devnum,
                    "speed": speed,
                    "serial": serial,
                },
                links={"driver": driver and f"{up}/bus/usb/drivers/{driver}"},
            ),
        )
        base = f"{bus}-0" if name.startswith("usb") else name
        for i, cls in enumerate(interfaces):
            self._add(
                _block(
                    f"{path}/{base}:1.{i}",
                    "usb",
                    properties={"DEVTYPE": "usb_interface"},
                    attributes={"bInterfaceClass": f"{cls:02x}", "bInterfaceNumber": f"{i:02x}"},
                ),
            )
        self._paths[name] = path
        self._kinds[name] = "usb"
        return self

    def add_scsi(  # noqa: PLR0913 - one keyword per fact a test may want to set
        self,
        hctl: str,
        *,
        parent: str,
        type: int = 0,  # noqa: A002 - the SCSI attribute's own name
        vendor: str = "ATA",
        model: str = "Fake Disk",
        driver: str | None = "sd",
        block: str | None = "sda",
        generic: str | None = "sg0",
    ) -> FakeHost:
        """Add SCSI device *hctl* (``0:0:0:0``) under a PCI HBA or a USB storage device."""
        host_no, channel, target, _ = hctl.split(":")
        top = self._path_of(parent)
        if self._kinds[parent] == "usb":
            top += f"/{parent}:1.0"  # USB storage: the SCSI host hangs off its interface
        path = f"{top}/host{host_no}/target{host_no}:{channel}:{target}/{hctl}"
        up = up_to_root(path)
        self._add(
            _block(
                path,
                "scsi",
                properties={"DEVTYPE": "scsi_device"},
                attributes={"type": type, "vendor": vendor, "model": model},
                links={"driver": driver and f"{up}/bus/scsi/drivers/{driver}"},
            ),
        )
        self._add(
            _block(
                f"{path}/scsi_device/{hctl}", "scsi_device", links={"device": "../../../" + hctl}
            )
        )
        if block:
            self._add(_block(f"{path}/block/{block}", "block", properties={"DEVTYPE": "disk"}))
        if generic:
            self._add(_block(f"{path}/scsi_generic/{generic}", "scsi_generic"))
        self._paths[hctl] = path
        self._kinds[hctl] = "scsi"
        return self

    def load(self, source: str | os.PathLike[str]) -> FakeHost:
        """Add every device of a shipped fixture (by name) or a recording (by path)."""
        path = _source_path(source)
        try:
            text = self._read_text(path)
        except OSError as exc:
            raise FixtureError(str(path), None, exc.strerror or str(exc)) from None
        _recording.materialize(parse_recording(text, str(path)), self.top)
        return self


@contextlib.contextmanager
def live_host(
    sysfs: str | os.PathLike[str],
    *,
    proc: str | os.PathLike[str] | None = None,
    kernel: Kernel | None = None,
    ids: Sequence[str | os.PathLike[str]] | None = None,
) -> Iterator[Kernel]:
    """Within the block, the fake host under *sysfs* is "this host".

    ``hostpassthru.scan()`` with no argument reads it (with plain file calls:
    libudev would see the real /sys), and ``prepare``, ``release`` and
    ``recover`` act on it through *kernel*: by default a
    :class:`SimulatedKernel` on the same tree, which the block gets, to
    inject failures. Its /proc is *proc*, by default ``proc/`` beside the
    sysfs root (where recordings' ``F:`` lines go), read when it exists; its
    journal goes to ``run/hostpassthru`` beside it unless
    ``HOSTPASSTHRU_STATE_DIR`` says otherwise. *ids* are directories with
    ``pci.ids`` and ``usb.ids`` for names. Blocks nest; when one ends, what
    was there before is back::

        with hostpassthru.testing.live_host(tmp_path / "sys") as kernel:
            kernel.fail("bind", "0000:01:00.1", errno.EBUSY)
            my_manager.start_vm()       # calls hostpassthru.prepare(...)
    """
    root = os.path.normpath(os.path.abspath(os.fspath(sysfs)))
    if kernel is None:
        kernel = SimulatedKernel(root)
    target = _seam.LiveTarget(
        sysfs=root,
        proc=os.path.join(os.path.dirname(root), "proc") if proc is None else os.fspath(proc),
        kernel=kernel,
        ids=None if ids is None else tuple(os.fspath(d) for d in ids),
        real=False,
    )
    with _seam.pushed(target):
        yield kernel


@contextlib.contextmanager
def ids_from(*directories: str | os.PathLike[str]) -> Iterator[None]:
    """Within the block, names come from the ``pci.ids``/``usb.ids`` in *directories*.

    For every scan, live or not, so that a test's descriptions do not depend
    on what the machine has installed.
    """
    target = attrs.evolve(_seam.current(), ids=tuple(os.fspath(d) for d in directories))
    with _seam.pushed(target):
        yield
