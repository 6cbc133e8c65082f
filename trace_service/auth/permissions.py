"""Roles and the permissions they grant. Anything not granted here is denied.

Permission names are ``resource:action``. Every API route declares exactly one with
``@require(...)``; a route without one is refused for everybody (see ``trace_service.http``).
Row-level scoping (a merchant sees its own orders, a carrier its own parcels, a device
writes only at its point) is enforced in the services, from the ``Actor``.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("admin", "merchant", "carrier", "device", "inspector")

READ_ALL = {
    "blocklist:read", "party:read", "point:read", "product:read", "listing:read", "order:read",
    "parcel:read", "trail:read", "complaint:read", "review:read", "return:read",
    "brand:read", "transfer:read",
}

GRANTS: dict[str, frozenset[str]] = {
    "admin": frozenset(READ_ALL | {
        "party:write", "key:write", "key:read", "point:write", "device:write", "staff:write",
        "product:write", "complaint:write", "complaint:handle", "review:write",
        # Recording brand authorisations on a brand owner's behalf (with its grantor_id).
        "brand:write",
        # Printing labels (QR / DataMatrix / GS1-128 / EAN-13, A4 sheets).
        "label:write",
        # The inspectors' access log: admins read it; nobody can change it.
        "accesslog:read",
    }),
    "merchant": frozenset({
        "party:read", "product:read", "product:write", "listing:read", "listing:write",
        "order:read", "order:write", "parcel:read", "parcel:write", "parcel:dispatch",
        "trail:read", "review:read", "review:write", "complaint:read", "complaint:write",
        "complaint:handle", "return:read", "return:write", "blocklist:read",
        "label:write",
        # Brand owners authorise licensees; custodians ship and receive goods.
        "brand:read", "brand:write", "transfer:read", "transfer:write",
    }),
    "carrier": frozenset({
        "party:read", "point:read", "product:read", "parcel:read", "parcel:dispatch",
        "receipt:write", "trail:read", "staff:write", "blocklist:read", "transfer:read",
    }),
    "device": frozenset({"point:read", "product:read", "scan:write", "receipt:write",
                         "blocklist:read"}),
    "inspector": frozenset(READ_ALL | {
        "complaint:write", "complaint:handle",
        # The inspector's desk (trace_service.inspect, trace_service.recalls).
        "inspect:read", "recall:write", "spotcheck:write",
    }),
}


@dataclass(frozen=True)
class Actor:
    """Who is calling: the key's role and the party, device and point it is bound to."""

    key_id: str
    role: str
    party_id: str | None = None
    device_id: str | None = None
    point_id: str | None = None

    def can(self, permission: str) -> bool:
        return permission in GRANTS.get(self.role, frozenset())

    @property
    def sees_everything(self) -> bool:
        return self.role in ("admin", "inspector")
