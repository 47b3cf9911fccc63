"""Block-style YAML for the plain documents we export, every string quoted (no dependency)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["dump"]

# A key that every YAML 1.1 and 1.2 reader takes as the same plain string: no
# indicator first, nothing a resolver could turn into a bool, null or number.
_PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*")
_RESOLVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # A JSON string is a YAML double-quoted scalar: "1e00" or "0001" stay strings,
        # where a plain scalar would become a float or (YAML 1.1) an octal number.
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _key(key: str) -> str:
    if _PLAIN_KEY.fullmatch(key) and key.lower() not in _RESOLVED:
        return key
    return json.dumps(key, ensure_ascii=False)


def _lines(value: object, indent: str) -> list[str]:
    """The lines of a mapping or sequence at *indent*; scalars are handled by the caller."""
    out: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{_key(str(key))}:"
            if isinstance(item, dict | list | tuple) and item:
                out.append(head)
                out.extend(_lines(item, indent + "  "))
            else:
                out.append(f"{head} {_empty(item)}")
    else:
        for item in value:  # type: ignore[attr-defined]
            if isinstance(item, dict | list | tuple) and item:
                nested = _lines(item, indent + "  ")
                out.append(f"{indent}- {nested[0].lstrip()}")
                out.extend(nested[1:])
            else:
                out.append(f"{indent}- {_empty(item)}")
    return out


def _empty(value: object) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value)


def dump(document: Mapping[str, object], *, comments: Sequence[str] = ()) -> str:
    """*document* as block YAML, with *comments* as ``#`` lines on top; ends with a newline."""
    head = [f"# {c}".rstrip() for c in comments]
    return "\n".join([*head, *_lines(dict(document), "")]) + "\n"
