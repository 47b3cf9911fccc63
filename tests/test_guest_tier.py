"""The guest tier: boot one QEMU guest with an emulated Intel IOMMU and run tests/guest in it.

One boot for the whole tier (tests/guest/run.py). It costs a minute or two, so
it runs only when asked: ``HOSTPASSTHRU_GUEST=1`` runs it where the tools are
installed, ``HOSTPASSTHRU_REQUIRE_GUEST=1`` (what ``.ci/run`` sets) also fails
where they are missing instead of skipping.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pytest

from guest import run

REQUIRED = bool(os.environ.get("HOSTPASSTHRU_REQUIRE_GUEST"))
WANTED = REQUIRED or bool(os.environ.get("HOSTPASSTHRU_GUEST"))


@pytest.fixture(scope="module")
def guest() -> run.GuestRun:
    """The guest's run, booted once for the module."""
    if not WANTED:
        pytest.skip(
            "guest tier not asked for: it boots a QEMU guest (1-2 minutes); "
            "set HOSTPASSTHRU_GUEST=1 (.ci/run sets HOSTPASSTHRU_REQUIRE_GUEST=1)",
        )
    missing = run.missing_tools()
    if missing:
        message = f"guest tier: cannot boot the guest; missing: {', '.join(missing)}"
        if REQUIRED:
            pytest.fail(f"HOSTPASSTHRU_REQUIRE_GUEST is set but {message}")
        pytest.skip(message)
    result = run.run_tier()
    found = re.findall(r"^=+ (.* in [0-9.]+s.*?) =+$", result.output, re.MULTILINE)
    print(
        f"guest tier: waited {result.waited_seconds:.0f} s for another guest, "
        f"boot {result.boot_seconds} s, whole tier {result.total_seconds:.1f} s, "
        f"QEMU max RSS {result.max_rss_mib:.0f} MiB; "
        f"guest pytest: {found[-1] if found else '(no summary)'}",
    )
    return result


def summary(guest: run.GuestRun) -> dict[str, int]:
    """The guest pytest's counts from its junit report."""
    assert guest.junit is not None, guest.tail()
    suite = ET.fromstring(guest.junit).find("testsuite")  # noqa: S314 - our own guest's report
    assert suite is not None
    return {k: int(suite.get(k, "0")) for k in ("tests", "failures", "errors", "skipped")}


def test_guest_pytest_passed(guest: run.GuestRun) -> None:
    """The guest's pytest exits with 0 (its output is in the message when not)."""
    assert 0 == guest.returncode, guest.tail()


def test_guest_ran_tests(guest: run.GuestRun) -> None:
    """The guest ran tests: a guest that skipped them all, or ran none, does not pass."""
    counts = summary(guest)
    assert 0 < counts["tests"] - counts["skipped"], guest.tail()


def test_guest_nothing_failed(guest: run.GuestRun) -> None:
    """No failure and no error in the guest's report."""
    counts = summary(guest)
    assert 0 == counts["failures"], guest.tail()
    assert 0 == counts["errors"], guest.tail()


def test_guest_skipped_nothing(guest: run.GuestRun) -> None:
    """Nothing skipped inside the guest: CI must not pass by skipping the real-IOMMU tests."""
    assert 0 == summary(guest)["skipped"], guest.tail()
