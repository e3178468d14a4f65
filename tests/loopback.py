"""Loopback for the tests: a free port, and the sockets of a set of processes, read from /proc (no psutil
needed), to prove traffic stays on loopback."""
import ipaddress
import os
import socket
import struct

LISTEN = "0A"  # TCP state in /proc/net/tcp


def free_port(host="127.0.0.1"):
    """A TCP port on ``host`` that nobody listens on at the moment (the system picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _address(text):
    host, port = text.split(":")
    if len(host) == 8:
        raw = struct.pack("<I", int(host, 16))
    else:  # IPv6: four little-endian 32-bit words
        raw = b"".join(struct.pack("<I", int(host[i:i + 8], 16)) for i in range(0, 32, 8))
    ip = ipaddress.ip_address(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw))
    return ip, int(port, 16)


def _table():
    """socket inode -> (protocol, local (ip, port), remote (ip, port), state), from /proc/net."""
    table = {}
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{protocol}") as f:
                lines = f.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            table[fields[9]] = (protocol, _address(fields[1]), _address(fields[2]), fields[3])
    return table


def _inodes(pid):
    found = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                found.add(link[8:-1])
    except OSError:
        pass
    return found


def descendants(pid):
    """``pid`` and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def sockets(pids):
    """(pid, protocol, local, remote, state) of every internet socket the processes hold."""
    table = _table()
    return [(pid, *table[inode]) for pid in pids for inode in _inodes(pid) if inode in table]


def is_loopback(ip):
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return ip.is_loopback


def off_loopback(found):
    """The sockets that are connected, or bound, to an address outside loopback.

    A listener on the wildcard address (0.0.0.0, ::) sends nothing; it is returned by :func:`wildcard`.
    """
    return [s for s in found if not is_loopback(s[2][0]) and not s[2][0].is_unspecified
            or s[4] != LISTEN and not s[3][0].is_unspecified and not is_loopback(s[3][0])]


def wildcard(found):
    return [s for s in found if s[2][0].is_unspecified]
