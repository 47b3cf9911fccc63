"""Send uevents to processes under umockdev-wrapper, speaking umockdev's socket protocol.

umockdev's preload library turns each netlink uevent socket that libudev opens
in the wrapped process into a Unix datagram socket ``$UMOCKDEV_DIR/event<fd>``
(src/libumockdev-preload.c, netlink_bind()), and its sender writes to every
such socket a message in udevd's own format (src/uevent_sender.c, mirroring
systemd's device_monitor_send_device()): a 40-byte header, then the
properties, each ``KEY=value`` ending in a NUL byte. This module does the same
from Python, so the tests need no GObject bindings (python3-gi is a Debian
package a clean virtual environment cannot see) and can send exactly the
properties the kernel would, DRIVER= included.
"""

from __future__ import annotations

import glob
import os
import socket
import struct

__all__ = ["listeners", "send"]

_MAGIC = 0xFEEDCAFE
_HEADER = struct.Struct("=8s4I4I")


def _hash32(text: str) -> int:
    """MurmurHash2 as systemd's (and umockdev's) string_hash32(): the socket filter's key."""
    data = text.encode()
    m, r = 0x5BD1E995, 24
    h = len(data)
    mask = 0xFFFFFFFF
    i = 0
    while len(data) - i >= 4:
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
        i += 4
    rest = data[i:]
    if len(rest) == 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h


_seqnum = 1000


def listeners(top: str) -> list[str]:
    """The event sockets the wrapped processes under *top* listen on."""
    return glob.glob(os.path.join(top, "event[0-9]*"))


def send(top: str, action: str, devpath: str, subsystem: str, **properties: str) -> int:
    """Send one uevent to every listener under *top*; returns how many received it."""
    global _seqnum  # noqa: PLW0603 - one sequence per test process, as the kernel has one
    _seqnum += 1
    props = {
        "ACTION": action,
        "DEVPATH": devpath,
        "SUBSYSTEM": subsystem,
        "SEQNUM": str(_seqnum),
        **properties,
    }
    body = b"".join(f"{k}={v}".encode() + b"\0" for k, v in props.items())
    devtype = properties.get("DEVTYPE")
    header = _HEADER.pack(
        b"libudev\0",
        socket.htonl(_MAGIC),
        _HEADER.size,
        _HEADER.size,
        len(body),
        socket.htonl(_hash32(subsystem)),
        socket.htonl(_hash32(devtype)) if devtype else 0,
        0,
        0,
    )
    sent = 0
    for path in listeners(top):
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(header + body, path)
            except ConnectionRefusedError:
                continue  # a listener that closed its monitor
            sent += 1
    return sent
