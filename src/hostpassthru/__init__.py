"""Which host devices can be passed through to a VM, and what goes with them.

Read from Linux sysfs alone::

    import hostpassthru as hp

    host = hp.scan()
    for dev in host.passthrough_devices():
        print(dev.name, [d.name for d in host.affected_by(dev)])
"""

from __future__ import annotations

import importlib
import sys

from ._errors import (
    ActionFailedError,
    ActionRefusedError,
    DeviceNotFoundError,
    ExportError,
    FixtureError,
    HostpassthruError,
    JournalError,
    LockTimeoutError,
    SysfsNotFoundError,
    WriteTimeoutError,
)

# typing itself takes longer to import than the rest of this module; the
# constant is what typing.TYPE_CHECKING is, and what type checkers look for.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._acts import (
        Act,
        ActError,
        ActOutcome,
        ActRefusedError,
        create_mdev,
        remove_mdev,
        set_vfs,
        set_vgpu_type,
    )
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
    from ._changes import Change, DeviceChange, GroupChange
    from ._documents import DOCUMENTS, SCHEMA, Document, json_document
    from ._explain import GROUP_KINDS, WHYS, Affected, GroupKind, GroupVerdict, Why, class_name
    from ._journal import JournalEntry, JournalMember
    from ._kernel import Kernel, LiveKernel
    from ._model import (
        ClassDevice,
        Device,
        Host,
        MdevInfo,
        MdevType,
        PciInfo,
        ProcFacts,
        ScsiInfo,
        UsbInfo,
        VgpuInfo,
        VgpuType,
    )
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
    from ._records import KINDS, SOURCES, Kind, Source, Uevent
    from ._rules import REASONS, Reason
    from ._scan import (
        affected_by,
        check,
        explain_affected,
        group_verdicts,
        iommu_status,
        passthrough_devices,
        scan,
        vanish_with_vfs,
    )
    from ._watch import Watch, watch

    __version__: str

# The public names and the private module each comes from. They are imported on
# first use (PEP 562): ``import hostpassthru`` stays cheap, and a command loads
# only the modules it needs. Type checkers read the imports above instead; a
# test keeps both lists equal. A new export goes into both.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_acts": (
        "Act",
        "ActError",
        "ActOutcome",
        "ActRefusedError",
        "create_mdev",
        "remove_mdev",
        "set_vfs",
        "set_vgpu_type",
    ),
    "_binding": (
        "BindingError",
        "MemberResult",
        "Outcome",
        "RefusedError",
        "plan",
        "prepare",
        "prepared",
        "recover",
        "release",
    ),
    "_changes": ("Change", "DeviceChange", "GroupChange"),
    "_documents": ("DOCUMENTS", "SCHEMA", "Document", "json_document"),
    "_explain": (
        "GROUP_KINDS",
        "WHYS",
        "Affected",
        "GroupKind",
        "GroupVerdict",
        "Why",
        "class_name",
    ),
    "_journal": ("JournalEntry", "JournalMember"),
    "_kernel": ("Kernel", "LiveKernel"),
    "_model": (
        "ClassDevice",
        "Device",
        "Host",
        "MdevInfo",
        "MdevType",
        "PciInfo",
        "ProcFacts",
        "ScsiInfo",
        "UsbInfo",
        "VgpuInfo",
        "VgpuType",
    ),
    "_plan": ("REFUSAL_CODES", "Member", "Plan", "Write"),
    "_readiness": (
        "FINDING_CODES",
        "SEVERITIES",
        "VERDICTS",
        "Assessment",
        "Finding",
        "FindingCode",
        "IommuStatus",
        "Severity",
        "Verdict",
    ),
    "_records": ("KINDS", "SOURCES", "Kind", "Source", "Uevent"),
    "_rules": ("REASONS", "Reason"),
    "_scan": (
        "affected_by",
        "check",
        "explain_affected",
        "group_verdicts",
        "iommu_status",
        "passthrough_devices",
        "scan",
        "vanish_with_vfs",
    ),
    "_watch": ("Watch", "watch"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def _forget_unloaded() -> None:
    """Drop this package's attributes for submodules that left ``sys.modules``.

    pyfakefs unloads the modules first imported during a fake test; the next
    import must load them again (with the real os), and ``from . import _x``
    would otherwise find the unloaded module as an attribute of this package.
    """
    for attr, value in list(globals().items()):
        submodule = type(value) is type(sys) and value.__name__.startswith(f"{__name__}.")
        if submodule and value.__name__ not in sys.modules:
            del globals()[attr]


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is not None:
        # Not kept in this module's globals, for the same reason.
        full = f"{__name__}.{module}"
        if full not in sys.modules:
            _forget_unloaded()
        return getattr(importlib.import_module(full), name)
    if name == "__version__":
        # Read from the installed metadata when first asked for: importlib.metadata
        # costs more than the rest of the import together.
        from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

        try:
            value = version("hostpassthru")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            value = "0+unknown"
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
    "Act",
    "ActError",
    "ActOutcome",
    "ActRefusedError",
    "ActionFailedError",
    "ActionRefusedError",
    "Affected",
    "Assessment",
    "BindingError",
    "Change",
    "ClassDevice",
    "Device",
    "DeviceChange",
    "DeviceNotFoundError",
    "Document",
    "ExportError",
    "Finding",
    "FindingCode",
    "FixtureError",
    "GroupChange",
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
    "MdevInfo",
    "MdevType",
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
    "Uevent",
    "UsbInfo",
    "Verdict",
    "VgpuInfo",
    "VgpuType",
    "Watch",
    "Why",
    "Write",
    "WriteTimeoutError",
    "__version__",
    "affected_by",
    "check",
    "class_name",
    "create_mdev",
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
    "remove_mdev",
    "scan",
    "set_vfs",
    "set_vgpu_type",
    "vanish_with_vfs",
    "watch",
]
