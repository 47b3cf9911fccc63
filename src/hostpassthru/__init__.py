"""Which host devices can be passed through to a VM, and what goes with them.

Read from Linux sysfs alone::

    import hostpassthru as hp

    host = hp.scan()
    for dev in host.passthrough_devices():
        print(dev.name, [d.name for d in host.affected_by(dev)])
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._binding import (
    BindingError,
    MemberResult,
    Outcome,
    RefusedError,
    plan,
    prepare,
    prepared,
    recover,
    release,
)
from ._documents import DOCUMENTS, SCHEMA, Document, json_document
from ._errors import (
    DeviceNotFoundError,
    ExportError,
    FixtureError,
    HostpassthruError,
    JournalError,
    LockTimeoutError,
    SysfsNotFoundError,
    WriteTimeoutError,
)
from ._explain import GROUP_KINDS, WHYS, Affected, GroupKind, GroupVerdict, Why, class_name
from ._journal import JournalEntry, JournalMember
from ._kernel import Kernel, LiveKernel
from ._model import ClassDevice, Device, Host, PciInfo, ProcFacts, ScsiInfo, UsbInfo
from ._plan import REFUSAL_CODES, Member, Plan, Write
from ._readiness import (
    FINDING_CODES,
    SEVERITIES,
    VERDICTS,
    Assessment,
    Finding,
    FindingCode,
    IommuStatus,
    Severity,
    Verdict,
)
from ._records import KINDS, SOURCES, Kind, Source
from ._rules import REASONS, Reason
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
    "DOCUMENTS",
    "FINDING_CODES",
    "GROUP_KINDS",
    "KINDS",
    "REASONS",
    "REFUSAL_CODES",
    "SCHEMA",
    "SEVERITIES",
    "SOURCES",
    "VERDICTS",
    "WHYS",
    "Affected",
    "Assessment",
    "BindingError",
    "ClassDevice",
    "Device",
    "DeviceNotFoundError",
    "Document",
    "ExportError",
    "Finding",
    "FindingCode",
    "FixtureError",
    "GroupKind",
    "GroupVerdict",
    "Host",
    "HostpassthruError",
    "IommuStatus",
    "JournalEntry",
    "JournalError",
    "JournalMember",
    "Kernel",
    "Kind",
    "LiveKernel",
    "LockTimeoutError",
    "Member",
    "MemberResult",
    "Outcome",
    "PciInfo",
    "Plan",
    "ProcFacts",
    "Reason",
    "RefusedError",
    "ScsiInfo",
    "Severity",
    "Source",
    "SysfsNotFoundError",
    "UsbInfo",
    "Verdict",
    "Why",
    "Write",
    "WriteTimeoutError",
    "__version__",
    "affected_by",
    "check",
    "class_name",
    "explain_affected",
    "group_verdicts",
    "iommu_status",
    "json_document",
    "passthrough_devices",
    "plan",
    "prepare",
    "prepared",
    "recover",
    "release",
    "scan",
]
