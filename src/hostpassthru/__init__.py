"""Which host devices can be passed through to a VM, and what goes with them.

Read from Linux sysfs alone::

    import hostpassthru as hp

    host = hp.scan()
    for dev in host.passthrough_devices():
        print(dev.name, [d.name for d in host.affected_by(dev)])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._errors import DeviceNotFoundError, FixtureError, HostpassthruError, SysfsNotFoundError
from ._explain import Affected, GroupVerdict, class_name
from ._model import Device, Host, PciInfo, ScsiInfo, UsbInfo
from ._records import KINDS, Kind
from ._rules import REASONS
from ._scan import (
    affected_by,
    explain_affected,
    group_verdicts,
    passthrough_devices,
    scan,
)

try:
    __version__ = version("hostpassthru")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "KINDS",
    "REASONS",
    "Affected",
    "Device",
    "DeviceNotFoundError",
    "FixtureError",
    "GroupVerdict",
    "Host",
    "HostpassthruError",
    "Kind",
    "PciInfo",
    "ScsiInfo",
    "SysfsNotFoundError",
    "UsbInfo",
    "__version__",
    "affected_by",
    "class_name",
    "explain_affected",
    "group_verdicts",
    "passthrough_devices",
    "scan",
]
