"""watch on a real kernel: the uevents of a prepare and a release, with the group judged anew."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import attrs
import pytest

import hostpassthru as hp
from guest.guestsys import group_of, require_guest, restore_problems

if TYPE_CHECKING:
    from collections.abc import Iterator

require_guest()
pytestmark = [pytest.mark.guest, pytest.mark.usefixtures("vfio_pci")]

#: How long to wait for the events of one prepare or release under TCG.
WAIT = 60.0


@attrs.frozen
class Seen:
    """What a watch reported while the pair moved to *driver*."""

    #: Each function's driver changes, (before, after), in the order reported.
    drivers: dict[str, list[tuple[object, object]]]
    #: The pair's group, as last judged.
    group: hp.GroupChange | None


def follow(w: hp.Watch, pair: tuple[str, str], driver: str) -> Seen:
    """Read changes until the watch has said both functions are on *driver* (or WAIT passed)."""
    drivers: dict[str, list[tuple[object, object]]] = {a: [] for a in pair}
    group = None
    number = group_of(pair[0])
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        change = w.next_change(timeout=deadline - time.monotonic())
        if change is None:
            break
        for c in change.changed:
            if c.after.sys_name in drivers and "driver" in c.fields:
                drivers[c.after.sys_name].append(c.values("driver"))
        group = next((g for g in change.groups if g.number == number), group)
        if all(d and d[-1][1] == driver for d in drivers.values()):
            break
    return Seen(drivers, group)


@attrs.frozen
class Watched:
    """What the watch said during a prepare, then during a release."""

    prepare: Seen
    release: Seen


@pytest.fixture(scope="class")
def watched(pair: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    """One watch over a prepare of function 0 and the release of the group."""
    assert [] == restore_problems(pair)
    state = str(tmp_path_factory.mktemp("watch") / "state")
    try:
        with hp.watch() as w:
            hp.prepare(pair[0], state_dir=state)
            prepared = follow(w, pair, "vfio-pci")
            hp.release(pair[0], state_dir=state)
            released = follow(w, pair, "e1000e")
        yield Watched(prepared, released)
    finally:
        if hp.prepared(state_dir=state):
            hp.recover(state_dir=state)


class TestWatch:
    """Driver changes and the group's verdict, as uevents reported them."""

    def test_prepare_moves_each_function_from_e1000e(
        self, watched: Watched, pair: tuple[str, str]
    ) -> None:
        """The first driver change of each function starts on e1000e."""
        assert ["e1000e", "e1000e"] == [watched.prepare.drivers[a][0][0] for a in pair]

    def test_prepare_ends_on_vfio_pci(self, watched: Watched, pair: tuple[str, str]) -> None:
        """The last driver change of each function ends on vfio-pci."""
        assert ["vfio-pci", "vfio-pci"] == [watched.prepare.drivers[a][-1][1] for a in pair]

    def test_group_viable_once_prepared(self, watched: Watched) -> None:
        """With both functions on vfio-pci, the group is judged viable."""
        assert watched.prepare.group is not None
        assert watched.prepare.group.viable

    def test_release_ends_on_e1000e(self, watched: Watched, pair: tuple[str, str]) -> None:
        """The last driver change of each function ends on e1000e again."""
        assert ["e1000e", "e1000e"] == [watched.release.drivers[a][-1][1] for a in pair]

    def test_group_on_host_drivers_once_released(
        self, watched: Watched, pair: tuple[str, str]
    ) -> None:
        """Released, the group names both functions as on a host driver: not viable."""
        assert watched.release.group is not None
        assert list(pair) == [d.sys_name for d in watched.release.group.host_drivers]
