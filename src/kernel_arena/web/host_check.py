"""Which ``Host`` headers the viewer answers: the guard against DNS rebinding.

A web page on another site can make a browser send requests to the viewer by pointing its own
domain name at the viewer's address; the browser then sends that domain as the ``Host``. The
viewer answers only requests whose ``Host`` names the address it is bound to:

- bound to a loopback address (the default, ``127.0.0.1``): ``localhost``, ``127.0.0.1``,
  ``[::1]`` or the bound address itself;
- bound to every interface (``0.0.0.0``, ``::``): those, any IP address literal, and this
  machine's host names (``socket.gethostname()`` and its fully qualified form);
- bound to one address or name: that address or name, and the loopback names.

The port in the header is not checked (a tunnel or proxy may change it); a request without a
``Host`` header (HTTP/1.0 tools) is answered.
"""

from __future__ import annotations

import ipaddress
import socket

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})


def host_name(header: str) -> str:
    """The name of a ``Host`` header without its port and brackets, lower case."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def is_loopback(bound: str) -> bool:
    """Does the bound address only accept connections from this machine?"""
    name = bound.lower()
    return name in LOOPBACK_NAMES or (_is_ip(name) and ipaddress.ip_address(name).is_loopback)


def host_allowed(header: str | None, bound: str) -> bool:
    """Should a request with this ``Host`` header be answered by a server bound to ``bound``?"""
    if header is None:
        return True
    name, bound = host_name(header), bound.lower()
    if name in LOOPBACK_NAMES or name == bound:
        return True
    if bound in WILDCARDS:
        return _is_ip(name) or name in {socket.gethostname().lower(), socket.getfqdn().lower()}
    return False
