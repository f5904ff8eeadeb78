"""Who a request comes from, for fair sharing (:mod:`foldlens.service.admission`).

The client is the peer address of the connection. Behind a reverse proxy every peer is the proxy,
so the proxy's ``X-Forwarded-For`` is read, but only when the peer is one of the ``trusted``
proxies: then the client is the right-most forwarded address that is not itself a trusted proxy.
Anyone else could write any address into that header.
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request


def normalized(address: str) -> str:
    """``address`` in its canonical spelling (``::ffff:1.2.3.4`` and ``1.2.3.4`` stay distinct);
    anything that is not an IP address is kept as it is, cut to 64 characters."""
    address = address.strip()
    try:
        return str(ipaddress.ip_address(address.strip("[]")))
    except ValueError:
        return address[:64]


def client_of(request: Request, trusted: frozenset[str]) -> str:
    """The address the request is taken to come from (see the module's docstring)."""
    peer = normalized(request.client.host) if request.client else "unknown"
    if peer not in trusted:
        return peer
    forwarded = [
        normalized(part)
        for header in request.headers.getlist("x-forwarded-for")
        for part in header.split(",")
        if part.strip()
    ]
    for address in reversed(forwarded):
        if address not in trusted:
            return address
    return peer
