"""On the real kernel (root): the exported counts follow the virtio RNG's driver.

The RNG is the one device these tests may touch (tests/realkernel.py); the
``virtio_rng`` fixture gives it back its driver whatever happens here.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from hostpassthru import _cli
from realkernel import write

if TYPE_CHECKING:
    from pathlib import Path

    import realkernel

NS = "hostpassthru.feature.node.kubernetes.io"


def _read(path: str) -> str:
    with open(path, encoding="ascii") as f:
        return f.read().strip()


def labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    """The labels that ``hostpassthru export nfd`` writes for this host, read back."""
    assert 0 == _cli.main(["export", "nfd", "-o", str(tmp_path)])
    capsys.readouterr()
    text = (tmp_path / "hostpassthru").read_text(encoding="utf-8")
    out = {}
    skip = False
    for line in text.splitlines():
        if line.startswith("#"):
            skip = skip or line == "# +no-label"
            continue
        if not skip:
            key, _, value = line.partition("=")
            out[key] = value
        skip = False
    return out


def test_unbinding_the_rng_changes_the_counts(
    virtio_rng: realkernel.VirtioRng,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Unbound, the RNG is on no host driver any more; bound back, the labels are as before."""
    if virtio_rng.driver is None:
        pytest.skip("the virtio RNG has no driver to unbind")
    vendor = _read(f"{virtio_rng.sysfs_dir}/vendor").removeprefix("0x")
    device = _read(f"{virtio_rng.sysfs_dir}/device").removeprefix("0x")
    stem = f"{NS}/pci-{vendor}-{device}"
    before = labels(tmp_path, capsys)

    write(f"{virtio_rng.sysfs_dir}/driver/unbind", virtio_rng.address)
    unbound = labels(tmp_path, capsys)

    write("/sys/bus/pci/drivers_probe", virtio_rng.address)
    deadline = time.monotonic() + 5
    while not os.path.exists(f"{virtio_rng.sysfs_dir}/driver") and time.monotonic() < deadline:
        time.sleep(0.05)
    restored = labels(tmp_path, capsys)

    assert "1" == before[f"{stem}.host-driver"]
    assert "0" == unbound[f"{stem}.host-driver"]
    assert "1" == unbound[f"{stem}.present"]
    assert before == restored
