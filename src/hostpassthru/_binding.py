"""Acting on plans: prepare, release and recover, journaled, under a lock, with rollback.

Every write goes through a Kernel (``_kernel``); every step is journaled
(``_journal``) before the next; every failure rolls back what was done, in
reverse, from the host as it is then (not from memory of what was done), so
the same code recovers after a crash.
"""

from __future__ import annotations

import errno
import time
from typing import TYPE_CHECKING, Literal

import attrs

from . import _hostfacts
from ._acting import DEFAULT_TIMEOUT, DEFAULT_WAIT, Context, context
from ._acts import recover_acts
from ._errors import ActionFailedError, ActionRefusedError, JournalError, WriteTimeoutError
from ._journal import JournalEntry, JournalMember, StateDir
from ._kernel import Kernel
from ._model import Device
from ._plan import (
    BindingFacts,
    Member,
    Plan,
    Write,
    bind_write,
    make_plan,
    prepare_writes,
    refusal,
    restore_writes,
)
from ._readiness import Finding

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Sequence

    from ._model import Host

__all__ = [
    "BindingError",
    "MemberResult",
    "Outcome",
    "RefusedError",
    "plan",
    "prepare",
    "prepared",
    "recover",
    "release",
]

Action = Literal["prepare", "release", "recover"]
#: moved / restored: done; unchanged: nothing to do; stuck: an unbind did not return;
#: rolled_back: moved, then given back after a failure; gone: the device went away;
#: failed: a step failed on it; pending: not reached.
MemberState = Literal[
    "pending", "moved", "restored", "unchanged", "stuck", "rolled_back", "gone", "failed"
]


@attrs.frozen(kw_only=True)
class MemberResult:
    """One device of a prepare or release, with what happened to it."""

    name: str
    sys_name: str
    from_driver: str | None
    from_override: str | None
    to_driver: str | None
    state: MemberState


@attrs.frozen(kw_only=True)
class Outcome:
    """What a prepare, release or recover did (or, on a dry run, would do)."""

    action: Action
    members: tuple[MemberResult, ...]
    #: The writes made, in order (on a dry run: the writes it would make).
    writes: tuple[Write, ...]
    done: bool
    dry_run: bool = False
    rolled_back: bool = False
    refusals: tuple[Finding, ...] = ()
    notes: tuple[Finding, ...] = ()
    error: str | None = None
    #: The journals written or given back.
    journals: tuple[str, ...] = ()
    plan: Plan | None = None


class RefusedError(ActionRefusedError):
    """The pre-flight refused: nothing was written. ``outcome.refusals`` says why."""

    refusals: tuple[Finding, ...]

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome, action=outcome.action, refusals=outcome.refusals)
        self.outcome = outcome


class BindingError(ActionFailedError):
    """A write failed. Everything done was rolled back, or ``left`` says what was not."""

    def __init__(  # noqa: PLR0913 - the error names each part of what happened
        self,
        outcome: Outcome,
        *,
        step: str,
        device: str,
        error: int | None,
        why: str,
        rolled_back: bool,
        left: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            outcome, step, device, error, error=error, why=why, rolled_back=rolled_back
        )
        self.outcome = outcome
        self.step = step
        self.device = device
        self.left = left

    def __str__(self) -> str:
        return self._message(
            f"{self.outcome.action} failed at {self.step} of {self.device}",
            undone="everything done was rolled back",
            not_undone="NOT rolled back, left as is: " + "; ".join(self.left),
        )


@attrs.define
class _StepFailed(Exception):  # noqa: N818 - internal signal, never leaves this module
    step: str
    device: str
    errno: int | None
    why: str


_AFTER_STEP = {"override": "override", "unbind": "unbound", "probe": "probed", "bind": "bound"}


def _plan_on(  # noqa: PLR0913 - make_plan's inputs, as plan and prepare gather them
    ctx: Context,
    host: Host,
    devices: Device | str | Iterable[Device | str],
    *,
    driver: str | None,
    force: bool,
    load_module: bool,
) -> Plan:
    """The plan for *devices* on *host*, with the loaded drivers, open files and journals now."""
    chosen = _devices(host, devices)
    journaled = ctx.state.journaled()
    facts = BindingFacts(
        drivers=_hostfacts.loaded_drivers(ctx.kernel.sysfs),
        open_files=_hostfacts.open_dev_files(ctx.proc),
        journaled=journaled,
        vfio_aliases=_hostfacts.vfio_aliases(_hostfacts.modules_alias_path(ctx.kernel.sysfs)),
    )
    return make_plan(host, chosen, driver=driver, facts=facts, force=force, load_module=load_module)


def _keys(devices: Device | str | Iterable[Device | str]) -> list[Device | str]:
    """One device or several, as a list."""
    if isinstance(devices, (str, Device)):
        return [devices]
    return list(devices)


def _devices(host: Host, devices: Device | str | Iterable[Device | str]) -> list[Device]:
    out: list[Device] = []
    for key in _keys(devices):
        dev = host.device(key)
        if dev not in out:
            out.append(dev)
    return out


def plan(  # noqa: PLR0913 - BINDING's options, all keyword-only
    devices: Device | str | Sequence[Device | str],
    *,
    driver: str | None = "vfio-pci",
    host: Host | None = None,
    force: bool = False,
    load_module: bool = False,
    state_dir: str | os.PathLike[str] | None = None,
) -> Plan:
    """What preparing *devices* would do, read-only: members, refusals, the exact writes.

    *driver*: "vfio-pci" (default), another driver's name (a vfio variant,
    "pci-stub"), "auto" (the vfio variant driver whose alias matches each
    device, else vfio-pci) or None (unbind and leave driverless). *host*
    defaults to a fresh scan of this host; the loaded drivers, open files and
    journals are read live either way.
    """
    ctx = context(state_dir=state_dir)
    host = host if host is not None else ctx.scan()
    return _plan_on(ctx, host, devices, driver=driver, force=force, load_module=load_module)


def _results(
    members: Iterable[JournalMember | Member], state: dict[str, MemberState]
) -> tuple[MemberResult, ...]:
    return tuple(
        MemberResult(
            name=m.name,
            sys_name=m.sys_name,
            from_driver=m.from_driver,
            from_override=m.from_override,
            to_driver=m.to_driver,
            state=state.get(m.sys_name, "pending"),
        )
        for m in members
    )


def _journal_member(member: Member) -> JournalMember:
    return JournalMember(
        name=member.name,
        sys_name=member.sys_name,
        path=member.path,
        vendor_id=member.vendor_id,
        product_id=member.product_id,
        subsystem_vendor_id=member.subsystem_vendor_id,
        subsystem_product_id=member.subsystem_product_id,
        from_driver=member.from_driver,
        from_module=member.from_module,
        from_override=member.from_override,
        to_driver=member.to_driver,
    )


@attrs.define
class _Runner:
    """Carries out writes for one journal entry, saving it after each step."""

    kernel: Kernel
    state: StateDir
    entry: JournalEntry
    timeout: float
    writes: list[Write] = attrs.Factory(list)
    results: dict[str, MemberState] = attrs.Factory(dict)

    def mark(self, sys_name: str, step: str) -> None:
        self.entry = self.entry.with_member(sys_name, state=step)
        self.state.save(self.entry)

    def write(self, write: Write) -> None:
        deadline = self.timeout if write.step == "unbind" else None
        try:
            self.kernel.write(write.path, write.data, deadline=deadline)
        except WriteTimeoutError:
            self.results[write.device] = "stuck"
            self.mark(write.device, "stuck")
            raise _StepFailed(
                write.step,
                write.device,
                errno.ETIMEDOUT,
                f"the unbind did not return within {self.timeout:g} s (a user holds the "
                "device); it is stuck and is touched no further",
            ) from None
        except OSError as exc:
            raise _StepFailed(
                write.step, write.device, exc.errno, exc.strerror or str(exc)
            ) from None
        self.writes.append(write)
        self.mark(write.device, _AFTER_STEP[write.step])

    def bind_for_errno(self, sys_name: str, driver: str) -> None:
        """drivers_probe says nothing: a bind write tells why the device is not on *driver*."""
        try:
            self.write(bind_write(sys_name, driver))
        except _StepFailed as failure:
            now = _hostfacts.device_state(self.kernel.sysfs, sys_name).driver
            if failure.errno == errno.EBUSY and now == driver:
                return  # bound meanwhile: what we wanted
            if now is not None and now != driver and failure.errno == errno.EBUSY:
                failure.why = f"{now} took it instead of {driver}"
            raise
        if _hostfacts.device_state(self.kernel.sysfs, sys_name).driver != driver:
            raise _StepFailed("bind", sys_name, None, f"{driver} did not bind it")

    def verify(self, sys_name: str, driver: str | None) -> None:
        """Read the driver back; drivers_probe says nothing of what it bound."""
        now = _hostfacts.device_state(self.kernel.sysfs, sys_name).driver
        if driver is not None and now != driver:
            self.bind_for_errno(sys_name, driver)
        elif driver is None and now is not None:
            raise _StepFailed("unbind", sys_name, None, f"still bound to {now}")

    def move(self, member: Member) -> None:
        live = _hostfacts.device_state(self.kernel.sysfs, member.sys_name)
        if not live.present:
            raise _StepFailed("pre-flight", member.sys_name, errno.ENODEV, "the device is gone")
        mismatch = _identity_mismatch(_journal_member(member), live)
        if mismatch is not None:
            raise _StepFailed("pre-flight", member.sys_name, None, mismatch)
        if live.driver != member.from_driver:
            raise _StepFailed(
                "pre-flight",
                member.sys_name,
                None,
                f"its driver changed since the plan ({member.from_driver} -> {live.driver})",
            )
        if not member.moves:
            self.results[member.sys_name] = "unchanged"
            return
        for write in prepare_writes(member):
            self.write(write)
        self.verify(member.sys_name, member.to_driver)
        self.results[member.sys_name] = "moved"
        self.mark(member.sys_name, "moved")

    def restore(self, member: JournalMember, done: MemberState) -> None:
        """Give *member* back what it had, from how it is now; idempotent."""
        if self.results.get(member.sys_name) == "stuck":
            # Its unbind still blocks in the kernel and holds the device lock: any
            # other write to the device would block behind it. Touch it no further.
            raise _StepFailed(
                "unbind", member.sys_name, errno.ETIMEDOUT, "stuck: its unbind did not return"
            )
        live = _hostfacts.device_state(self.kernel.sysfs, member.sys_name)
        if not live.present:
            # Removal drops the override and the binding with the device: nothing of
            # ours is left on it. It is probed afresh if it comes back.
            self.results[member.sys_name] = "gone"
            return
        mismatch = _identity_mismatch(member, live)
        if mismatch is not None:
            raise _StepFailed("identity", member.sys_name, None, mismatch)
        writes = restore_writes(member, live.driver, live.override)
        if not writes:
            self.results.setdefault(member.sys_name, "unchanged")
            if self.results[member.sys_name] == "moved":
                self.results[member.sys_name] = done
            return
        for write in writes:
            self.write(write)
            if write.step == "probe":
                # Verified before the original override comes back (BINDING 3): a
                # device that did not bind keeps the override naming its driver.
                self.verify(member.sys_name, member.from_driver)
        if member.from_driver is None:
            self.verify(member.sys_name, None)
        self.results[member.sys_name] = done
        self.mark(member.sys_name, "restored")

    def give_back(self, done: MemberState) -> tuple[str, ...]:
        """Restore every member, in reverse order; what could not be, one line each."""
        left = []
        for member in reversed(self.entry.members):
            try:
                self.restore(member, done)
            except _StepFailed as failure:
                if self.results.get(member.sys_name) != "stuck":
                    self.results[member.sys_name] = "failed"
                left.append(_left_line(member, failure, self.kernel.sysfs))
        return tuple(left)


def _left_line(member: JournalMember, failure: _StepFailed, sysfs: str) -> str:
    live = _hostfacts.device_state(sysfs, member.sys_name)
    now = live.driver or "no driver"
    override = live.override or "(null)"
    return (
        f"{member.sys_name} is on {now} with driver_override {override} "
        f"({failure.step}: {failure.why}); it had {member.from_driver or 'no driver'}"
    )


def _identity_mismatch(member: JournalMember, live: _hostfacts.DeviceState) -> str | None:
    recorded = (
        member.path,
        member.vendor_id,
        member.product_id,
        member.subsystem_vendor_id,
        member.subsystem_product_id,
    )
    now = (
        live.path,
        live.vendor_id,
        live.product_id,
        live.subsystem_vendor_id,
        live.subsystem_product_id,
    )
    if recorded == now:
        return None
    return (
        f"the device at {member.sys_name} is not the one journaled "
        f"(journaled {_ident(recorded)}, now {_ident(now)}): refusing to touch it"
    )


def _ident(values: tuple[str | int | None, ...]) -> str:
    path, *ids = values
    words = ["?" if v is None else f"{v:04x}" for v in ids if not isinstance(v, str)]
    return f"{words[0]}:{words[1]} subsystem {words[2]}:{words[3]} at {path}"


def _entry_id(devices: Sequence[Device]) -> str:
    return devices[0].name


def prepare(  # noqa: PLR0913 - BINDING's options, all keyword-only
    devices: Device | str | Sequence[Device | str],
    *,
    driver: str | None = "vfio-pci",
    force: bool = False,
    load_module: bool = False,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
    kernel: Kernel | None = None,
) -> Outcome:
    """Move *devices* and everything that must go with them to *driver*; journaled.

    Under the state directory's lock (waiting up to *wait* seconds), plans on
    a fresh scan, refuses with RefusedError (nothing written) if the plan has
    refusals, and otherwise writes, saving the journal after each step. An
    unbind that does not return within *timeout* seconds leaves its device
    stuck. Any failure rolls back everything done, in reverse, and raises
    BindingError saying whether the rollback finished. With *dry_run*, returns
    the plan's writes without making them.
    """
    ctx = context(kernel=kernel, state_dir=state_dir)
    with ctx.state.lock(wait):
        host = ctx.scan()
        the_plan = _plan_on(ctx, host, devices, driver=driver, force=force, load_module=load_module)
        base = Outcome(
            action="prepare",
            members=_results(the_plan.members, {}),
            writes=the_plan.writes,
            done=False,
            dry_run=dry_run,
            refusals=the_plan.refusals,
            notes=the_plan.notes,
            plan=the_plan,
        )
        if not the_plan.ok:
            raise RefusedError(base)
        if dry_run:
            return base
        return _apply(ctx, the_plan, base, timeout)


def _apply(ctx: Context, the_plan: Plan, base: Outcome, timeout: float) -> Outcome:
    for module in the_plan.load:
        try:
            ctx.kernel.load_module(module)
        except OSError as exc:
            outcome = attrs.evolve(base, error=f"cannot load {module}: {exc.strerror}")
            raise BindingError(
                outcome,
                step="load",
                device=the_plan.devices[0],
                error=exc.errno,
                why=f"cannot load {module} ({exc.strerror})",
                rolled_back=True,
            ) from None
    if not the_plan.writes:
        state: dict[str, MemberState] = {m.sys_name: "unchanged" for m in the_plan.members}
        return attrs.evolve(base, members=_results(the_plan.members, state), done=True)
    entry = JournalEntry(
        id=the_plan.devices[0],
        device=the_plan.devices[0],
        driver=the_plan.driver,
        sysfs=ctx.kernel.sysfs,
        created=time.time(),
        phase="preparing",
        members=tuple(_journal_member(m) for m in the_plan.members),
    )
    ctx.state.save(entry)
    runner = _Runner(ctx.kernel, ctx.state, entry, timeout)
    try:
        for member in the_plan.members:
            runner.move(member)
    except _StepFailed as failure:
        if runner.results.get(failure.device) != "stuck":
            runner.results[failure.device] = "failed"
        runner.entry = attrs.evolve(runner.entry, phase="rolling_back")
        ctx.state.save(runner.entry)
        left = runner.give_back("rolled_back")
        if not left:
            ctx.state.remove(entry.id)
        outcome = attrs.evolve(
            base,
            members=_results(the_plan.members, runner.results),
            writes=tuple(runner.writes),
            rolled_back=not left,
            error=f"{failure.step} of {failure.device}: {failure.why}",
            journals=() if not left else (entry.id,),
        )
        raise BindingError(
            outcome,
            step=failure.step,
            device=failure.device,
            error=failure.errno,
            why=failure.why,
            rolled_back=not left,
            left=left,
        ) from None
    ctx.state.save(attrs.evolve(runner.entry, phase="prepared"))
    return attrs.evolve(
        base,
        members=_results(the_plan.members, runner.results),
        writes=tuple(runner.writes),
        done=True,
        journals=(entry.id,),
    )


def _select(
    entries: tuple[JournalEntry, ...],
    devices: Device | str | Sequence[Device | str] | None,
) -> list[JournalEntry]:
    if devices is None:
        return list(entries)
    wanted = [k.name if isinstance(k, Device) else k for k in _keys(devices)]
    chosen: list[JournalEntry] = []
    for key in wanted:
        entry = next(
            (e for e in entries for m in e.members if key in (m.name, m.sys_name)),
            None,
        )
        if entry is None:
            raise JournalError(key, "not prepared by hostpassthru: no journal holds it")
        if entry not in chosen:
            chosen.append(entry)
    return chosen


def release(  # noqa: PLR0913 - BINDING's options, all keyword-only
    devices: Device | str | Sequence[Device | str] | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
    kernel: Kernel | None = None,
) -> Outcome:
    """Give the journaled sets holding *devices* (None: every one) back exactly.

    Each device gets its original driver (by name, not whatever the kernel
    would pick) and its original driver_override; a device that had no driver
    gets none. Refused while a process holds a member's group open
    (``/dev/vfio/N``), unless *force*. A journal whose device is no longer the
    one it recorded is refused.
    """
    return _give_back(
        "release",
        devices,
        dry_run=dry_run,
        force=force,
        timeout=timeout,
        wait=wait,
        state_dir=state_dir,
        kernel=kernel,
    )


def recover(
    *,
    dry_run: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wait: float = DEFAULT_WAIT,
    state_dir: str | os.PathLike[str] | None = None,
    kernel: Kernel | None = None,
) -> Outcome:
    """After a crash: bring every journaled device back to its recorded state.

    First the acts that make and remove devices (VFs, mediated devices, vGPU
    types) are undone, then the prepared sets given back. Reads the host
    afresh, so it is idempotent: a second run finds nothing to do.
    """
    ctx = context(kernel=kernel, state_dir=state_dir)
    with ctx.state.lock(wait):
        act_writes, act_left = recover_acts(
            dry_run=dry_run, timeout=timeout, state_dir=ctx.state.path, kernel=ctx.kernel
        )
    outcome = _give_back(
        "recover",
        None,
        dry_run=dry_run,
        force=True,
        timeout=timeout,
        wait=wait,
        state_dir=state_dir,
        kernel=ctx.kernel,
    )
    outcome = attrs.evolve(outcome, writes=act_writes + outcome.writes)
    if act_left:
        outcome = attrs.evolve(outcome, done=False, error="; ".join(act_left))
        raise BindingError(
            outcome,
            step="recover",
            device=act_left[0].split(" ", 1)[0],
            error=None,
            why="not every act could be undone",
            rolled_back=False,
            left=act_left,
        )
    return outcome


def prepared(*, state_dir: str | os.PathLike[str] | None = None) -> tuple[JournalEntry, ...]:
    """The sets that journals hold: prepared, or left half-done by a crash."""
    return context(state_dir=state_dir).state.entries()


def _give_back(  # noqa: PLR0913 - release's and recover's options
    action: Action,
    devices: Device | str | Sequence[Device | str] | None,
    *,
    dry_run: bool,
    force: bool,
    timeout: float,
    wait: float,
    state_dir: str | os.PathLike[str] | None,
    kernel: Kernel | None,
) -> Outcome:
    ctx = context(kernel=kernel, state_dir=state_dir)
    with ctx.state.lock(wait):
        entries = _select(ctx.state.entries(), devices)
        members = [m for e in entries for m in reversed(e.members)]
        refusals = _release_refusals(ctx, entries, force)
        planned: list[Write] = []
        for member in members:
            live = _hostfacts.device_state(ctx.kernel.sysfs, member.sys_name)
            if live.present and _identity_mismatch(member, live) is None:
                planned += restore_writes(member, live.driver, live.override)
        base = Outcome(
            action=action,
            members=_results(members, {}),
            writes=tuple(planned),
            done=False,
            dry_run=dry_run,
            refusals=tuple(refusals),
            journals=tuple(e.id for e in entries),
        )
        if refusals:
            raise RefusedError(base)
        if dry_run:
            return base
        results: dict[str, MemberState] = {}
        writes: list[Write] = []
        left: list[str] = []
        for entry in entries:
            runner = _Runner(ctx.kernel, ctx.state, attrs.evolve(entry, phase="releasing"), timeout)
            ctx.state.save(runner.entry)
            entry_left = runner.give_back("restored")
            results.update(runner.results)
            writes += runner.writes
            if entry_left:
                left += entry_left
            else:
                ctx.state.remove(entry.id)
        outcome = attrs.evolve(
            base,
            members=_results(members, results),
            writes=tuple(writes),
            done=not left,
            rolled_back=False,
        )
        if left:
            outcome = attrs.evolve(outcome, error="; ".join(left))
            first = left[0].split(" ", 1)[0]
            raise BindingError(
                outcome,
                step="release",
                device=first,
                error=None,
                why="not every device could be given back",
                rolled_back=False,
                left=tuple(left),
            )
        return outcome


def _release_refusals(ctx: Context, entries: list[JournalEntry], force: bool) -> list[Finding]:
    refusals = []
    open_files = _hostfacts.open_dev_files(ctx.proc)
    for entry in entries:
        for member in entry.members:
            live = _hostfacts.device_state(ctx.kernel.sysfs, member.sys_name)
            mismatch = None if not live.present else _identity_mismatch(member, live)
            if mismatch is not None:
                refusals.append(
                    refusal(
                        "identity_changed",
                        member.name,
                        mismatch,
                        f"check the host; remove {ctx.state.journal_dir}/{entry.id}.json "
                        "by hand once you know the device is as it should be",
                    ),
                )
            group = live.group if live.present else None
            pids = (
                None
                if open_files is None or group is None
                else open_files.get(f"/dev/vfio/{group}")
            )
            if pids and not force:
                refusals.append(
                    refusal(
                        "group_in_use",
                        member.name,
                        f"/dev/vfio/{group} is open in process "
                        + ", ".join(map(str, pids))
                        + ": the VM has not let go of the group",
                        "stop the VM first (a host driver bound into a group in use is "
                        "refused with EBUSY since Linux 5.19)",
                    ),
                )
    return refusals
