"""Who is at the other end of a connection to the result server, for jobs that report without
the cook's secret: Houdini's job helper given an address a scheduler rebuilt (``ip:port``), its
``PDGPingHelper``, a job without ``PDG_JOBID``.

Two answers, and nothing else, stand in for the secret:

- **A process of the cook's own user on this machine.** The kernel knows the owner of the
  connecting socket (the ``sock_diag`` netlink query ``ss`` uses: one exact lookup, ~20 µs);
  such a process could read the secret from the cook's environment anyway. Another local user
  is an outsider, on loopback too.
- **A host the scheduler's ``pdg_trustedhosts`` names** (addresses, networks such as
  ``10.1.0.0/16``, host names; ``*`` for every host, as open as Houdini is).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from functools import lru_cache

_SOCK_DIAG = 4               # NETLINK_SOCK_DIAG
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NO_COOKIE = 0xFFFFFFFF      # INET_DIAG_NOCOOKIE, both halves: look up by addresses
_ALL_STATES = 0xFFFFFFFF

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _packed(family: int, ip: str) -> bytes:
    return socket.inet_pton(family, ip).ljust(16, b"\0")


def socket_owner(peer: tuple, server_side: tuple) -> int | None:
    """The uid owning the TCP socket on this machine whose address is ``peer`` and which is
    connected to ``server_side``; None when there is none here (a connection from another
    host) or the kernel cannot be asked."""
    try:
        ip = str(ipaddress.ip_address(str(peer[0]).split("%")[0]))
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        server_ip = str(server_side[0]).split("%")[0]
        if family == socket.AF_INET6 and ":" not in server_ip:
            server_ip = f"::ffff:{server_ip}"
        sockid = struct.pack("!HH16s16s", int(peer[1]), int(server_side[1]),
                             _packed(family, ip), _packed(family, server_ip))
        request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, _ALL_STATES) + \
            sockid + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
        header = struct.pack("=IHHII", 16 + len(request), _SOCK_DIAG_BY_FAMILY,
                             _NLM_F_REQUEST, 1, 0)
        with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _SOCK_DIAG) as link:
            link.settimeout(1.0)
            link.sendto(header + request, (0, 0))
            answer = link.recv(8192)
    except (OSError, AttributeError, ValueError):  # no netlink (not Linux), no inet_diag
        return None
    if len(answer) < 16 + 84:
        return None
    _, kind = struct.unpack_from("=IH", answer)
    if kind != _SOCK_DIAG_BY_FAMILY:  # NLMSG_ERROR: no such socket here
        return None
    # nlmsghdr (16), inet_diag_msg: family..retrans (4), sockid (48), expires, rqueue,
    # wqueue (12), then the uid
    return int(struct.unpack_from("=I", answer, 16 + 4 + 48 + 12)[0])


@lru_cache(maxsize=1)
def owners_known() -> bool:
    """Whether this machine answers :func:`socket_owner` (Linux with ``inet_diag``): a
    connection made here to a listener of our own is looked up."""
    try:
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen(1)
            with socket.create_connection(listener.getsockname(), timeout=1.0):
                accepted, peer = listener.accept()
                with accepted:
                    return socket_owner(peer, accepted.getsockname()) == os.geteuid()
    except OSError:
        return False


class TrustedHosts:
    """``pdg_trustedhosts``: whitespace- or comma-separated addresses, networks and host
    names whose connections are trusted without the secret; ``*`` for all."""

    def __init__(self, text: str = ""):
        words = text.replace(",", " ").split()
        self.everyone = "*" in words
        self.networks: list[Network] = []
        self.unknown: list[str] = []  # names that did not resolve (said at cook start)
        for word in words:
            if word == "*":
                continue
            try:
                self.networks.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                self._resolve(word)

    def _resolve(self, name: str) -> None:
        try:
            infos = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            self.unknown.append(name)
            return
        for info in infos:
            self.networks.append(ipaddress.ip_network(str(info[4][0]).split("%")[0]))

    def __bool__(self) -> bool:
        return self.everyone or bool(self.networks)

    def admits(self, ip: str) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(ip.split("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


__all__ = ["TrustedHosts", "is_loopback", "owners_known", "socket_owner"]
