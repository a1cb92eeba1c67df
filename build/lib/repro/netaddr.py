"""Which local address and interface reach a given host: how a multi-node stage picks the network it uses.

Ray and gloo otherwise guess (Ray asks the route to 8.8.8.8, gloo resolves the hostname), which on the
local 2-node Slurm picks the machine's public interface although every node is on the loopback. Asking
the routing table for the route to the first node gives the loopback there and the cluster network on
a real cluster. No packet is sent: connecting a UDP socket only selects the route.
"""

from __future__ import annotations

import ipaddress
import socket


def source_address(host: str) -> str:
    """The local IPv4 address this machine uses to reach `host` (a name or an address)."""
    target = socket.gethostbyname(host)
    if ipaddress.ip_address(target).is_loopback:
        return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((target, 9))
        return probe.getsockname()[0]


def interface_towards(host: str) -> str:
    """The name of the interface that carries `source_address(host)`: `lo` for a loopback host."""
    import psutil

    local = source_address(host)
    for name, addresses in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == local for a in addresses):
            return name
    raise RuntimeError(f"no interface has {local}, the address that reaches {host}")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
