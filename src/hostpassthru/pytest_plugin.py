"""hostpassthru's pytest plugin: the ``fake_host`` fixture, for embedders' own tests.

Registered through the ``pytest11`` entry point; it imports nothing of
hostpassthru until a test asks for the fixture.
"""

from __future__ import annotations

import contextlib
import importlib.util
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pyfakefs.fake_filesystem import FakeFilesystem

    from hostpassthru.testing import FakeHost

__all__ = ["fake_host"]


@pytest.fixture
def fake_host(request: pytest.FixtureRequest) -> Iterator[FakeHost]:
    """A fake host on pyfakefs; while active, it is "this host" for hostpassthru.

    Describe the host with ``add_pci``, ``add_usb``, ``add_scsi``, or ``load``
    a shipped fixture by name or a recording by path; the code under test
    calls ``hostpassthru.scan()`` (or ``passthrough_devices()``, ...) unchanged,
    and ``prepare``/``release``/``recover`` act on the fake host through its
    simulated kernel, ``fake_host.kernel`` (inject failures there).
    """
    # Import before pyfakefs starts: a module first imported under pyfakefs keeps
    # the fake os module after the test, and the next test's fake filesystem
    # would meet the stale one.
    import hostpassthru  # noqa: PLC0415 - keep plugin load light
    from hostpassthru import testing  # noqa: PLC0415

    for name in hostpassthru.__all__:  # the package imports its modules on first use
        getattr(hostpassthru, name)

    if importlib.util.find_spec("pyfakefs") is None:
        pytest.fail(
            "the fake_host fixture needs pyfakefs: pip install 'hostpassthru[testing]'",
            pytrace=False,
        )
    fs: FakeFilesystem = request.getfixturevalue("fs")

    # The shipped fixtures and the recordings a test names live on the real
    # filesystem: map them into the fake one, read-only, as they are asked for.
    with contextlib.suppress(OSError):
        fs.add_real_directory(str(testing.fixtures_dir()))

    def read_real(path: Path) -> str:
        if not fs.exists(str(path)):
            fs.add_real_file(str(path))
        return path.read_text(encoding="utf-8", errors="surrogateescape")

    host = testing.FakeHost("/", read_text=read_real)
    with testing.live_host(host.root, kernel=host.kernel):
        yield host
