"""A real kernel with a real IOMMU: what the Kubernetes exports say, before and after vfio-pci.

The guest's two-function e1000e behind a root port is one IOMMU group of two
identical functions: KubeVirt would count it once. A third e1000e sits in a
group of its own.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest

import hostpassthru as hp
from guest.guestsys import driver_of, group_of, require_guest
from hostpassthru import _cli

if TYPE_CHECKING:
    from pathlib import Path

require_guest()
pytestmark = pytest.mark.guest

NS = "hostpassthru.feature.node.kubernetes.io"
STEM = f"{NS}/pci-8086-10d3"


def labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The labels ``hostpassthru export nfd --json`` reports for the guest."""
    out = tmp_path / "features.d"
    out.mkdir(exist_ok=True)
    assert 0 == _cli.main(["export", "nfd", "--json", "-o", str(out)])
    return json.loads(capsys.readouterr().out)["labels"]  # type: ignore[no-any-return]


def test_the_pair_is_counted_once_by_kubevirt(
    pair: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The export warns that the two functions of one group make one KubeVirt device."""
    assert 0 == _cli.main(["export", "kubevirt"])
    err = capsys.readouterr().err.splitlines()
    expected = (
        f"hostpassthru: warning: 8086:10d3 on {os.uname().nodename}: {pair[0]}, {pair[1]} "
        f"share IOMMU group {group_of(pair[0])}: KubeVirt offers one device per group, so "
        "this node counts 1 hostpassthru.io/pci-8086-10d3, not 2"
    )
    assert expected in err


def test_counts_follow_vfio_pci(
    pair: tuple[str, str],
    vfio_pci: None,  # noqa: ARG001 - loads the module
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The pair on vfio-pci is ready (2); given back, the labels are as before."""
    state = tmp_path / "state"
    before = labels(tmp_path, capsys)
    hp.prepare(pair[0], state_dir=state)
    try:
        on_vfio = (driver_of(pair[0]), driver_of(pair[1]))
        during = labels(tmp_path, capsys)
    finally:
        hp.release(pair[0], state_dir=state)
    after = labels(tmp_path, capsys)
    assert "3" == before[f"{STEM}.present"]
    assert "0" == before[f"{STEM}.ready"]
    assert "3" == before[f"{STEM}.host-driver"]
    assert ("vfio-pci", "vfio-pci") == on_vfio
    assert "2" == during[f"{STEM}.ready"]
    assert "1" == during[f"{STEM}.host-driver"]
    assert before == after
