"""The public API's shape: types resolve, vocabularies are complete, modules form no cycle."""

from __future__ import annotations

import ast
import json
import pathlib
import subprocess
import sys
import typing
from typing import TYPE_CHECKING

import attrs
import pytest

import hostpassthru as hp
from hostpassthru._cli import main

if TYPE_CHECKING:
    from collections.abc import Callable

SRC = pathlib.Path(hp.__file__).parent

PUBLIC_CLASSES = sorted(name for name in hp.__all__ if isinstance(getattr(hp, name), type))


@pytest.mark.parametrize("name", PUBLIC_CLASSES)
def test_type_hints_resolve(name: str) -> None:
    """typing.get_type_hints() works on every public class."""
    hints = typing.get_type_hints(getattr(hp, name))
    assert isinstance(hints, dict)


def _classes_in(hint: object) -> set[type]:
    found = {hint} if isinstance(hint, type) and attrs.has(hint) else set()
    for arg in typing.get_args(hint):
        found |= _classes_in(arg)
    return found


@pytest.mark.parametrize("name", [n for n in PUBLIC_CLASSES if attrs.has(getattr(hp, n))])
def test_field_types_exported(name: str) -> None:
    """Every attrs class that a public class's field uses is exported."""
    hints = typing.get_type_hints(getattr(hp, name))
    public = [h for field, h in hints.items() if not field.startswith("_")]
    used = set().union(*(_classes_in(h) for h in public))
    exported = {getattr(hp, n) for n in hp.__all__}
    assert set() == used - exported


VOCABULARIES = [
    ("Kind", "KINDS", ("pci", "usb_device", "scsi", "mdev")),
    ("Source", "SOURCES", ("sysfs", "udev", "recording")),
    ("Reason", "REASONS", ("bridge", "pcie_port", "usb_hub", "has_passthrough_children")),
    ("Severity", "SEVERITIES", ("info", "warning", "action", "blocker")),
    ("Verdict", "VERDICTS", ("ready", "needs_preparation", "blocked", "unknown")),
    ("Why", "WHYS", ("iommu_group", "beneath")),
    (
        "GroupKind",
        "GROUP_KINDS",
        (
            "nothing_to_pass",
            "passes_alone",
            "alone_not_passable",
            "functions_together",
            "no_isolation",
        ),
    ),
    ("Document", "DOCUMENTS", ("list", "tree", "show", "affected", "groups", "check")),
    (
        "FindingCode",
        "FINDING_CODES",
        (
            "not_passable",
            "iommu_off",
            "no_iommu_group",
            "controller",
            "host_driver",
            "boot_vga",
            "no_reset",
            "sriov_pf_with_vfs",
            "sriov_vf",
            "vgpu",
            "vgpu_type_unset",
            "mdev",
            "mdev_no_driver",
            "acs_override",
            "usb_hub",
            "usb_no_iommu",
            "scsi_no_sg",
            "host_use_unknown",
            "framebuffer_console",
            "mounted",
            "swap",
            "holder",
            "default_route",
            "network_up",
            "driver_not_loaded",
            "group_in_use",
            "device_in_use",
            "already_prepared",
            "identity_changed",
            "no_binding_needed",
            "override_mismatch",
            "class_unknown",
            "not_sriov",
            "vfs_over_total",
            "vfs_enabled",
            "no_mdev_type",
            "no_instances",
            "not_mdev",
            "no_vgpu",
            "vgpu_type_not_creatable",
            "act_unfinished",
        ),
    ),
]


@pytest.mark.parametrize(("values", "expected"), [(v, e) for _, v, e in VOCABULARIES])
def test_vocabulary_tuple(values: str, expected: tuple[str, ...]) -> None:
    """Each tuple of values holds exactly the documented values, in order."""
    assert expected == getattr(hp, values)


@pytest.mark.parametrize(("literal", "expected"), [(t, e) for t, _, e in VOCABULARIES])
def test_vocabulary_literal(literal: str, expected: tuple[str, ...]) -> None:
    """Each Literal type allows exactly the values of its tuple."""
    assert expected == typing.get_args(getattr(hp, literal))


def _imports(path: pathlib.Path) -> set[str]:
    """The package modules one module imports, at run time or for type checking."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module is None:
                out |= {alias.name for alias in node.names}
            else:
                out.add(node.module)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hostpassthru."):
            out.add((node.module or "").removeprefix("hostpassthru."))
    return out


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle among the modules, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        stack.append(module)
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 1:
                return [*stack[stack.index(other) :], other]
            if other not in state and (found := visit(other)):
                return found
        stack.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_no_import_cycle() -> None:
    """No private module imports one that imports it back, even under TYPE_CHECKING.

    ``__init__`` re-exports everything and the command line's ``--version`` reads it
    late; both stand outside the layers.
    """
    graph = {
        p.stem: _imports(p) - {"__init__"}
        for p in SRC.glob("_*.py")
        if p.stem not in ("__init__", "__main__")
    }
    assert [] == _cycle(graph)


def test_json_document_is_what_the_cli_prints(
    sysfs_tree: Callable[[str], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``hostpassthru affected DEV --json`` prints json_document("affected", DEV)."""
    root = sysfs_tree("desktop-gpu")
    main(["affected", "0000:01:00.0", "--json", "--sysfs", root])
    printed = json.loads(capsys.readouterr().out)
    assert printed == hp.json_document("affected", "0000:01:00.0", host=hp.scan(sysfs=root))


def test_json_document_affected(sysfs_tree: Callable[[str], str]) -> None:
    """The affected document, written out by hand from the desktop-gpu fixture."""
    host = hp.scan(sysfs=sysfs_tree("desktop-gpu"))
    expected = {
        "schema": 1,
        "device": "pci_0000_01_00_0",
        "affected": [{"name": "pci_0000_01_00_1", "why": "iommu_group", "via": "pci_0000_01_00_0"}],
    }
    assert expected == hp.json_document("affected", "0000:01:00.0", host=host)


@pytest.mark.parametrize(
    ("command", "devices"),
    [("show", ()), ("affected", ("0000:01:00.0", "0000:01:00.1")), ("tree", ("0000:01:00.0",))],
)
def test_json_document_device_count(
    command: hp.Document,
    devices: tuple[str, ...],
    sysfs_tree: Callable[[str], str],
) -> None:
    """A document gets the number of devices its command takes, or says so."""
    host = hp.scan(sysfs=sysfs_tree("desktop-gpu"))
    with pytest.raises(ValueError, match=f"the {command} document"):
        hp.json_document(command, *devices, host=host)


GROUP_KINDS = [
    ("desktop-gpu", 0, "alone_not_passable"),
    ("desktop-gpu", 1, "functions_together"),
    ("desktop-gpu", 4, "passes_alone"),
    ("desktop-gpu", 7, "nothing_to_pass"),
    ("chipset-group", 10, "functions_together"),
]


@pytest.mark.parametrize(("fixture", "number", "expected"), GROUP_KINDS)
def test_group_kind(
    fixture: str,
    number: int,
    expected: str,
    sysfs_tree: Callable[[str], str],
) -> None:
    """GroupVerdict.kind says the verdict for a program."""
    host = hp.scan(sysfs=sysfs_tree(fixture))
    verdict = next(v for v in hp.group_verdicts(host=host) if v.number == number)
    assert expected == verdict.kind


def _type_checking_imports() -> dict[str, tuple[str, ...]]:
    """Module -> names, from the ``if TYPE_CHECKING:`` block of ``__init__.py``."""
    tree = ast.parse((SRC / "__init__.py").read_text())
    block = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name)
        if node.test.id == "TYPE_CHECKING"
    )
    return {
        node.module: tuple(a.name for a in node.names)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }


def test_lazy_exports_match_type_checking_imports() -> None:
    """The names imported on first use are the names type checkers see."""
    assert _type_checking_imports() == hp._EXPORTS


def test_all_is_every_export() -> None:
    """__all__ lists the lazy exports, the errors and __version__, nothing else."""
    lazy = {name for names in hp._EXPORTS.values() for name in names}
    tree = ast.parse((SRC / "__init__.py").read_text())
    errors = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module == "_errors"
        for alias in node.names
    }
    assert sorted(lazy | errors | {"__version__"}) == sorted(hp.__all__)


def test_import_is_light() -> None:
    """``import hostpassthru`` loads neither attrs, pyudev, typing nor importlib.metadata."""
    code = (
        "import sys, hostpassthru; "
        "print(sorted(m for m in ('attrs', 'pyudev', 'typing', 'importlib.metadata') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]\n" == done.stdout


def test_list_loads_only_what_a_scan_needs(tmp_path: pathlib.Path) -> None:
    """``list --json`` on a tree loads no command it does not run, and no monitor or child.

    Each module here costs start-up time a user feels on every call: the acting
    commands, recordings, the simulated kernel, the explanations and readiness
    checks other commands ask for, pyudev, the socket and subprocess modules
    only a live monitor and modprobe use, and shutil (with bz2 and lzma), which
    argparse would import for the terminal's width.
    """
    root = tmp_path / "sys"
    (root / "devices").mkdir(parents=True)
    (root / "bus" / "pci" / "devices").mkdir(parents=True)
    heavy = (
        "hostpassthru._binding",
        "hostpassthru._acts",
        "hostpassthru._recording",
        "hostpassthru._simkernel",
        "hostpassthru._export",
        "hostpassthru._explain",
        "hostpassthru._readiness",
        "hostpassthru._watch",
        "hostpassthru.testing",
        "pyudev",
        "shutil",
        "socket",
        "subprocess",
    )
    code = (
        "import sys\n"
        "from hostpassthru._cli import main\n"
        f"main(['--sysfs', {str(root)!r}, 'list', '--json'])\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "[]\n" == done.stderr


def test_version_is_read_when_asked() -> None:
    """__version__ comes from the installed metadata."""
    from importlib.metadata import version  # noqa: PLC0415

    assert version("hostpassthru") == hp.__version__


PYFAKEFS_FIRST = """
import os

import hostpassthru as hp


def _sysfs(top):
    os.makedirs(os.path.join(top, "sys", "devices"))
    os.makedirs(os.path.join(top, "sys", "bus"))
    return os.path.join(top, "sys")


def test_first_scan_under_pyfakefs(fs):
    assert 0 == len(hp.scan(sysfs=_sysfs("/fake")))


def test_then_a_real_tree(tmp_path):
    assert 0 == len(hp.scan(sysfs=_sysfs(str(tmp_path))))
"""


def test_first_use_under_pyfakefs(pytester: pytest.Pytester) -> None:
    """Modules first imported in a pyfakefs test serve the next test with the real os."""
    pytester.makepyfile(test_embedder=PYFAKEFS_FIRST)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=2)
