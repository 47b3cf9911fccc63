"""Boot one throw-away QEMU guest with an emulated Intel IOMMU and run tests/guest in it.

The guest is virtme-ng's: Debian's distro kernel (``linux-image-amd64``) with
this machine's ``/`` as its root over 9p, read-only but for tmpfs overlays on
``/tmp``, ``/etc``, ``/usr``, ``/var`` and a few more, so the checkout, this
Python and its venv are there inside. Inside, anything goes: the tests bind
the guest's devices to vfio-pci and back, crash half-way and recover.

Run it by hand::

    python tests/guest/run.py            # exit status: the guest's pytest's
    python tests/guest/run.py -k groups  # extra arguments go to the guest's pytest

or through pytest on the host (``tests/test_guest_tier.py``), which skips
unless ``HOSTPASSTHRU_GUEST=1`` or ``HOSTPASSTHRU_REQUIRE_GUEST=1`` is set
(``.ci/run`` sets the second where it installed the tools).

Facts about this machine that shaped it (Debian 12, QEMU 7.2, virtme-ng 1.42):

- ``/dev/kvm`` is a paravirtual KVM that hangs a stock kernel right after the
  boot loader: the guest runs under TCG (``--disable-kvm``), where Python is
  about 27 times slower than on the host. Keep the guest's part small.
- virtiofsd fails here (``fuse: invalid argument``): ``--force-9p``.
- virtme-ng names QEMU's stdout as a file, which QEMU opens with O_TRUNC: its
  output must go to a pipe, never to a file that is appended to.
- Drive ids must not clash with virtme-ng's own (``sd0`` does): ours start
  with ``hp_``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "GUEST_MARK",
    "REPO",
    "GuestRun",
    "find_kernel",
    "missing_tools",
    "qemu_options",
    "run_tier",
    "vng_command",
]

REPO = Path(__file__).resolve().parents[2]

#: On the guest's kernel command line: tests/guest/conftest.py runs the guest
#: tests only where it finds this, so they never touch the host's devices.
GUEST_MARK = "hostpassthru.guest=1"

#: Modules that udev's coldplug in the guest would load for the emulated CPU and
#: platform and no test needs: kvm alone took 11 to 17 s of a 50 s boot under TCG,
#: the lot about half of it. (irqbypass stays: vfio-pci needs it.)
UNNEEDED_MODULES = (
    "kvm",
    "kvm_amd",
    "kvm_intel",
    "ccp",
    "powernow_k8",
    "pcspkr",
    "psmouse",
    "serio_raw",
    "evdev",
    "iTCO_wdt",
    "aesni_intel",
    "ghash_clmulni_intel",
    "sha1_ssse3",
    "sha256_ssse3",
    "sha512_ssse3",
    "crc32_pclmul",
    "crct10dif_pclmul",
)

#: The IOMMU on, in passthrough mode for the host's own devices.
KERNEL_ARGS = (
    "intel_iommu=on",
    "iommu=pt",
    "module_blacklist=" + ",".join(UNNEEDED_MODULES),
    GUEST_MARK,
)

#: Hard limit for the whole tier, boot included.
TIMEOUT = 300.0

#: How long to wait for another guest of this tier on the machine to end.
LOCK_WAIT = 900.0
_LOCK = "/run/lock/hostpassthru-guest.lock"

#: Guest memory; QEMU's own resident size comes on top.
MEMORY = "1G"

_BOOTED = "hostpassthru-guest: booted after "
_DONE = "hostpassthru-guest: pytest done after "

# The host's root, exported a second time for a mount with caching (see _guest_script).
_LOOSE_TAG = "hp_root"
_LOOSE_ROOT = "/run/hp-root"
_LOOSE_OPTIONS = "trans=virtio,version=9p2000.L,cache=loose,msize=524288,ro"


def _devices(stick: str, disk: str) -> tuple[str, ...]:
    """The QEMU devices that give the guest interesting IOMMU groups."""
    return (
        # The host's root again, read-only, for a mount with caching.
        "-virtfs",
        f"local,path=/,mount_tag={_LOOSE_TAG},security_model=none,readonly=on,multidevs=remap",
        # The emulated VT-d unit; intremap=on gives interrupt remapping (IR- chips),
        # caching-mode=on is what lets a guest hand devices to vfio.
        "-device",
        "intel-iommu,intremap=on,caching-mode=on",
        # A root port with a two-function e1000e behind it: one group of two.
        "-device",
        "pcie-root-port,id=hp_rp,chassis=1,slot=1",
        "-netdev",
        "user,id=hp_net0,restrict=on",
        "-device",
        "e1000e,bus=hp_rp,addr=00.0,multifunction=on,netdev=hp_net0",
        "-netdev",
        "user,id=hp_net1,restrict=on",
        "-device",
        "e1000e,bus=hp_rp,addr=00.1,netdev=hp_net1",
        # An e1000e and a virtio RNG, each in a group of its own.
        "-netdev",
        "user,id=hp_net2,restrict=on",
        "-device",
        "e1000e,netdev=hp_net2",
        "-device",
        "virtio-rng-pci",
        # HD audio with a codec, on a silent backend.
        "-audiodev",
        "none,id=hp_snd",
        "-device",
        "ich9-intel-hda,id=hp_hda",
        "-device",
        "hda-duplex,bus=hp_hda.0,audiodev=hp_snd",
        # An xHCI controller with a USB stick.
        "-device",
        "qemu-xhci,id=hp_xhci",
        "-drive",
        f"if=none,id=hp_stick,file={stick},format=raw,snapshot=on",
        "-device",
        "usb-storage,bus=hp_xhci.0,drive=hp_stick",
        # A disk on the q35 chipset's own AHCI (00:1f.2), which shares its IOMMU
        # group with the ISA bridge (00:1f.0) and the SMBus (00:1f.3).
        "-drive",
        f"if=none,id=hp_sata,file={disk},format=raw,snapshot=on",
        "-device",
        "ide-hd,drive=hp_sata,bus=ide.0",
    )


def qemu_options(workdir: str) -> tuple[str, ...]:
    """The QEMU devices, with their two raw disk images created in *workdir*."""
    images = []
    for name in ("stick.img", "sata.img"):
        path = os.path.join(workdir, name)
        with open(path, "wb") as f:
            f.truncate(64 * 1024 * 1024)
        images.append(path)
    return _devices(images[0], images[1])


def find_kernel() -> str | None:
    """The newest /boot/vmlinuz-* with its modules installed, or $HOSTPASSTHRU_GUEST_KERNEL."""
    chosen = os.environ.get("HOSTPASSTHRU_GUEST_KERNEL")
    if chosen:
        return chosen
    found = []
    for path in glob.glob("/boot/vmlinuz-*"):
        release = path.removeprefix("/boot/vmlinuz-")
        if os.path.isdir(f"/lib/modules/{release}/kernel"):
            key = tuple(int(n) for n in re.findall(r"\d+", release))
            found.append((key, path))
    return max(found)[1] if found else None


def _vng() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "vng")
    return beside if os.access(beside, os.X_OK) else shutil.which("vng")


def _is_static(path: str) -> bool:
    """True for an ELF executable without a program interpreter (a static binary)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:5] != b"\x7fELF\x02":  # 64-bit ELF
                return False
            phoff = int.from_bytes(head[0x20:0x28], "little")
            size = int.from_bytes(head[0x36:0x38], "little")
            count = int.from_bytes(head[0x38:0x3A], "little")
            f.seek(phoff)
            table = f.read(size * count)
    except OSError:
        return False
    pt_interp = 3
    return all(
        int.from_bytes(table[i * size : i * size + 4], "little") != pt_interp for i in range(count)
    )


def missing_tools() -> tuple[str, ...]:
    """What this machine lacks to boot the guest, each with where it comes from."""
    missing = []
    if _vng() is None:
        missing.append("vng (PyPI: virtme-ng)")
    if shutil.which("qemu-system-x86_64") is None:
        missing.append("qemu-system-x86_64 (Debian: qemu-system-x86)")
    busybox = shutil.which("busybox")
    # virtme-ng copies busybox into the guest's initramfs, where no libraries are.
    if busybox is None or not _is_static(busybox):
        missing.append("a static busybox (Debian: busybox-static)")
    kernel = find_kernel()
    if kernel is None:
        missing.append("a /boot/vmlinuz-* with its /lib/modules (Debian: linux-image-amd64)")
    elif not os.access(kernel, os.R_OK):
        missing.append(f"read access to {kernel} (Debian installs it for root only)")
    return tuple(missing)


def _python_dirs() -> tuple[str, ...]:
    """The directories the guest's Python reads: the interpreter's, the venv's, the checkout."""
    dirs = sorted({os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, str(REPO))})
    # A directory inside another is covered by the outer one's bind mount.
    return tuple(d for d in dirs if not any(d.startswith(o + "/") for o in dirs))


def _guest_script(pytest_args: tuple[str, ...], outdir: str) -> str:
    """The shell command the guest runs: note the boot time, then pytest on tests/guest."""
    pytest_cmd = [
        sys.executable,
        "-m",
        "pytest",
        "tests/guest",
        # The root is read-only: no cache, no bytecode; and the repository's
        # conftest (pyfakefs, pytester, fixtures) and the plugins of installed
        # packages (PYTEST_DISABLE_PLUGIN_AUTOLOAD below) are not needed here:
        # every import costs under TCG.
        "-p",
        "no:cacheprovider",
        "--confcutdir=tests/guest",
        "--durations=8",
        f"--junitxml={outdir}/guest.xml",
        "-v",
        *pytest_args,
    ]
    # virtme-ng's 9p root has no cache: every stat and every page fault of an
    # mmap is a round trip to QEMU, and Python's imports make thousands. The
    # same root exported a second time and mounted with cache=loose halves the
    # cold import time of pytest (33 s -> 16 s under TCG here); it is bound over
    # the directories Python reads. Where the mount fails the tests run anyway.
    binds = " && ".join(
        f"mount --bind {shlex.quote(_LOOSE_ROOT + d)} {shlex.quote(d)}" for d in _python_dirs()
    )
    return (
        f'read up idle < /proc/uptime; echo "{_BOOTED}${{up}} s"; '
        f"{{ mkdir -p {_LOOSE_ROOT} && mount -t 9p -o {_LOOSE_OPTIONS} {_LOOSE_TAG} "
        f"{_LOOSE_ROOT} && {binds}; }} || echo 'hostpassthru-guest: no cached 9p root'; "
        f"cd {shlex.quote(str(REPO))} || exit 2; "
        "PYTHONDONTWRITEBYTECODE=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "
        "HOSTPASSTHRU_STATE_DIR=/tmp/hostpassthru-state "
        f"{shlex.join(pytest_cmd)}; status=$?; "
        f'read up idle < /proc/uptime; echo "{_DONE}${{up}} s"; exit $status'
    )


def vng_command(workdir: str, pytest_args: tuple[str, ...] = ()) -> list[str]:
    """The whole virtme-ng command line."""
    vng = _vng()
    kernel = find_kernel()
    if vng is None or kernel is None:
        raise RuntimeError(f"cannot boot the guest; missing: {', '.join(missing_tools())}")
    options = qemu_options(workdir)
    return [
        vng,
        "--run",
        kernel,
        "--disable-kvm",
        "--force-9p",
        # The microvm machine has no PCI bus and so no IOMMU: q35.
        "--disable-microvm",
        "--memory",
        MEMORY,
        "--cpus",
        "2",
        # The kernel's and virtme-ng-init's messages go to the output too: when a
        # boot hangs or crawls, the output says where.
        "--verbose",
        "--cwd",
        str(REPO),
        # The one place the guest writes that the host sees: the junit report.
        f"--rwdir={workdir}",
        *(f"--append={arg}" for arg in KERNEL_ARGS),
        f"--qemu-opts={shlex.join(options)}",
        "--exec",
        _guest_script(pytest_args, workdir),
    ]


@dataclass(frozen=True)
class GuestRun:
    """What one boot of the guest gave back."""

    returncode: int
    output: str
    #: Seconds from starting vng until the guest ran its first command, None if
    #: it never got that far.
    boot_seconds: float | None
    #: Wall-clock seconds for the whole tier, boot and shutdown included.
    total_seconds: float
    #: Largest resident size of a child process (QEMU), in MiB.
    max_rss_mib: float
    #: The guest pytest's junit report, None if it wrote none.
    junit: str | None
    #: Seconds spent waiting for another guest of this tier to end.
    waited_seconds: float = 0.0

    def tail(self, lines: int = 300) -> str:
        """The last *lines* of the output (the console's included): enough to see a failure."""
        return "\n".join(self.output.splitlines()[-lines:])


@contextlib.contextmanager
def _machine_lock(wait: float) -> Iterator[float | None]:
    """One guest at a time on this machine: yields the seconds waited, None if it gave up.

    Two guests under TCG on a small machine each take more than twice as long
    as one: the second is better off waiting for the first.
    """
    os.makedirs(os.path.dirname(_LOCK), exist_ok=True)
    with open(_LOCK, "w", encoding="ascii") as lock:
        start = time.monotonic()
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() - start >= wait:
                    yield None
                    return
                time.sleep(1)
        try:
            yield time.monotonic() - start
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def run_tier(
    pytest_args: tuple[str, ...] = (),
    *,
    timeout: float = TIMEOUT,
    lock_wait: float = LOCK_WAIT,
) -> GuestRun:
    """Boot the guest once, run tests/guest in it, and return what happened.

    Waits first (up to *lock_wait* seconds) for any other guest of this tier on
    the machine to end; *timeout* counts from the boot.
    """
    with _machine_lock(lock_wait) as waited:
        if waited is None:
            return GuestRun(
                returncode=-1,
                output=f"hostpassthru-guest: another guest held {_LOCK} for {lock_wait} s\n",
                boot_seconds=None,
                total_seconds=0.0,
                max_rss_mib=0.0,
                junit=None,
                waited_seconds=lock_wait,
            )
        run = _boot(pytest_args, timeout)
    return dataclasses.replace(run, waited_seconds=waited)


def _boot(pytest_args: tuple[str, ...], timeout: float) -> GuestRun:
    with tempfile.TemporaryDirectory(prefix="hostpassthru-guest-") as workdir:
        command = vng_command(workdir, pytest_args)
        lines: list[str] = []
        booted: list[float] = []
        last: list[float] = [0.0]
        start = time.monotonic()
        # A pipe, never a file: QEMU opens the stdout virtme-ng names with O_TRUNC.
        # Its own session, so that a timeout ends vng and QEMU together.
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,
        )

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                last[0] = time.monotonic() - start
                if _BOOTED in line and not booted:
                    booted.append(last[0])
                lines.append(line)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            returncode = -1
            lines.append(
                f"hostpassthru-guest: timed out after {timeout} s "
                f"(last output at {last[0]:.0f} s; "
                f"{'booted' if booted else 'the guest never reached its first command'})\n",
            )
        reader.join(timeout=10)
        total = time.monotonic() - start
        junit_path = os.path.join(workdir, "guest.xml")
        junit = Path(junit_path).read_text(encoding="utf-8") if os.path.exists(junit_path) else None
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return GuestRun(
        returncode=returncode,
        output="".join(lines),
        boot_seconds=booted[0] if booted else None,
        total_seconds=total,
        max_rss_mib=rss,
        junit=junit,
    )


def main(argv: list[str] | None = None) -> int:
    """Boot the guest, print its output and timings, exit with its pytest's status.

    Every argument goes to the guest's pytest as it is (``-k groups -x``).
    """
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    missing = missing_tools()
    if missing:
        print(f"cannot boot the guest; missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    result = run_tier(tuple(args))
    print(result.output, end="")
    print(
        f"hostpassthru-guest: exit {result.returncode}; boot {result.boot_seconds} s; "
        f"tier {result.total_seconds:.1f} s; QEMU max RSS {result.max_rss_mib:.0f} MiB",
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
