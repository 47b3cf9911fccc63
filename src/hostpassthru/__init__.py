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
from ._readiness import Assessment, Finding, IommuStatus
from ._records import KINDS, Kind
from ._rules import REASONS
from ._scan import (
    affected_by,
    check,
    explain_affected,
    group_verdicts,
    iommu_status,
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
    "Assessment",
    "Device",
    "DeviceNotFoundError",
    "Finding",
    "FixtureError",
    "GroupVerdict",
    "Host",
    "HostpassthruError",
    "IommuStatus",
    "Kind",
    "PciInfo",
    "ScsiInfo",
    "SysfsNotFoundError",
    "UsbInfo",
    "__version__",
    "affected_by",
    "check",
    "class_name",
    "explain_affected",
    "group_verdicts",
    "iommu_status",
    "passthrough_devices",
    "scan",
]
