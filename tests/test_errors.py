"""The errors' words: each names its culprit, in the form its shared base gives it."""

from __future__ import annotations

import errno

import hostpassthru as hp

PF = "pci_0000_3b_00_0"
NUMVFS = "bus/pci/devices/0000:3b:00.0/sriov_numvfs"


def _blocker(code: hp.FindingCode, message: str) -> hp.Finding:
    return hp.Finding(code=code, severity="blocker", device=PF, message=message, hint=None)


def _vfs_outcome(*refusals: hp.Finding) -> hp.ActOutcome:
    act = hp.Act(action="set_vfs", device=PF, before="4", after="2", writes=(), refusals=refusals)
    return hp.ActOutcome(act=act, done=False)


def _release_outcome(*refusals: hp.Finding) -> hp.Outcome:
    return hp.Outcome(action="release", members=(), writes=(), done=False, refusals=refusals)


def test_act_refused_names_the_act_and_every_reason() -> None:
    """set_vfs's refusal says the act, then each code with its message."""
    exc = hp.ActRefusedError(
        _vfs_outcome(
            _blocker("vfs_enabled", "4 VFs are on"),
            _blocker("group_in_use", "a VM holds it"),
        )
    )
    expected = (
        "set_vfs refused, nothing written: vfs_enabled: 4 VFs are on; group_in_use: a VM holds it"
    )
    assert expected == str(exc)


def test_release_refused_names_its_action() -> None:
    """A release's refusal says "release", from its outcome."""
    exc = hp.RefusedError(_release_outcome(_blocker("identity_changed", "not the one")))
    assert "release refused, nothing written: identity_changed: not the one" == str(exc)


def test_refusals_are_those_of_the_outcome() -> None:
    """The base's ``refusals`` are the act's own findings."""
    finding = _blocker("not_sriov", "no VFs")
    exc = hp.ActRefusedError(_vfs_outcome(finding))
    assert (finding,) == exc.refusals


def test_act_error_not_undone_says_what_is_left() -> None:
    """A failed act that could not be undone: the path, the errno's name, what is left."""
    exc = hp.ActError(
        _vfs_outcome(),
        path=NUMVFS,
        error=errno.EBUSY,
        why="Device or resource busy",
        rolled_back=False,
        left="/sys/x (gone); journal j keeps it for recover",
    )
    expected = (
        f"set_vfs failed writing /sys/{NUMVFS}: Device or resource busy (EBUSY); "
        "NOT undone: /sys/x (gone); journal j keeps it for recover"
    )
    assert expected == str(exc)


def _binding_error(
    step: str, error: int | None, why: str, left: tuple[str, ...] = ()
) -> hp.BindingError:
    """A release's failure on 0000:01:00.0; rolled back when nothing is *left*."""
    return hp.BindingError(
        _release_outcome(),
        step=step,
        device="0000:01:00.0",
        error=error,
        why=why,
        rolled_back=not left,
        left=left,
    )


def test_binding_error_without_errno_names_no_code() -> None:
    """No errno, no parenthesis; every line left is said."""
    left = ("a is on nouveau", "b is gone")
    exc = _binding_error("release", None, "not every device could be given back", left)
    expected = (
        "release failed at release of 0000:01:00.0: not every device could be given back; "
        "NOT rolled back, left as is: a is on nouveau; b is gone"
    )
    assert expected == str(exc)


def test_unknown_errno_is_said_as_its_number() -> None:
    """An errno Python has no name for is said as its number."""
    exc = _binding_error("bind", 4242, "odd")
    expected = "release failed at bind of 0000:01:00.0: odd (4242); everything done was rolled back"
    assert expected == str(exc)


def _io_error() -> hp.ActionFailedError:
    return hp.ActError(
        _vfs_outcome(), path=NUMVFS, error=errno.EIO, why="I/O error", rolled_back=True
    )


def test_failed_act_keeps_its_errno() -> None:
    """The errno stays readable on the shared base."""
    assert errno.EIO == _io_error().errno


def test_failed_act_keeps_why() -> None:
    """The reason stays readable on the shared base."""
    assert "I/O error" == _io_error().why


def test_failed_act_keeps_rolled_back() -> None:
    """Whether it was undone stays readable on the shared base."""
    assert _io_error().rolled_back


def test_journal_error_says_path_then_why() -> None:
    """A JournalError reads ``<path>: <why>``."""
    exc = hp.JournalError("/run/hostpassthru/acts/a.json", "cannot remove (Permission denied)")
    assert "/run/hostpassthru/acts/a.json: cannot remove (Permission denied)" == str(exc)


def test_journal_error_keeps_its_path() -> None:
    """The path stays an attribute."""
    exc = hp.JournalError("/run/hostpassthru/acts/a.json", "bad")
    assert "/run/hostpassthru/acts/a.json" == exc.path


def test_export_error_says_what_then_why() -> None:
    """An ExportError reads ``<what>: <why>`` and is a ValueError."""
    exc = hp.ExportError("--name", "not a DNS label")
    assert "--name: not a DNS label" == str(exc)


def test_export_error_is_a_value_error() -> None:
    """Embedders may catch it as a ValueError."""
    assert isinstance(hp.ExportError("--name", "bad"), ValueError)


def test_export_error_keeps_what() -> None:
    """What was wrong stays an attribute."""
    assert "--name" == hp.ExportError("--name", "bad").what


def test_sysfs_not_found_keeps_path() -> None:
    """The path stays an attribute."""
    assert "/nowhere" == hp.SysfsNotFoundError("/nowhere", "no sysfs").path


def test_sysfs_not_found_keeps_why() -> None:
    """The reason stays an attribute."""
    assert "no sysfs" == hp.SysfsNotFoundError("/nowhere", "no sysfs").why
