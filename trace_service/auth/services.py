"""Issuing, checking and revoking API keys.

A key looks like ``trk_3f9a1c2b_<43 url-safe chars>``. The part before the second underscore
is the visible prefix (shown in listings and logs); only SHA-256 of the whole key is kept,
compared in constant time. Keys carry 256 bits of randomness, so a plain hash is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.auth.models import ApiKey
from trace_service.auth.permissions import ROLES, Actor
from trace_service.db import new_id, utcnow
from trace_service.errors import Unauthorized, Unprocessable
from trace_service.parties.models import Device, Party

KEY_PREFIX = "trk_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    db: Session, *, role: str, party_id: str | None = None, device_id: str | None = None,
    label: str = "",
) -> tuple[ApiKey, str]:
    """Make a key and return it with its one-time plaintext."""
    if role not in ROLES:
        raise Unprocessable("unknown_role", f"role must be one of {', '.join(ROLES)}", role=role)
    party = db.get(Party, party_id) if party_id else None
    if party_id and party is None:
        raise Unprocessable("party_not_found", f"party {party_id} does not exist", party=party_id)
    device = db.get(Device, device_id) if device_id else None
    if device_id and device is None:
        raise Unprocessable("device_not_found", f"device {device_id} does not exist",
                            device=device_id)
    if role == "device":
        if device is None:
            raise Unprocessable("device_required", "a device key must name its device")
        party_id = device.carrier_id
    elif role in ("merchant", "carrier"):
        if party is None:
            raise Unprocessable("party_required", f"a {role} key must name its party")
        expected = {"merchant": ("merchant", "manufacturer", "platform"), "carrier": ("carrier",)}
        if party.kind not in expected[role]:
            raise Unprocessable(
                "party_kind_mismatch",
                f"a {role} key cannot belong to a party of kind {party.kind}",
                role=role, party_kind=party.kind,
            )
    prefix = KEY_PREFIX + secrets.token_hex(4)
    plaintext = f"{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        id=new_id("key"), prefix=prefix, secret_hash=_hash(plaintext), role=role,
        party_id=party_id, device_id=device_id, label=label,
    )
    db.add(key)
    db.flush()
    return key, plaintext


def authenticate(db: Session, plaintext: str | None) -> Actor:
    """The actor behind a presented key, or 401."""
    if not plaintext:
        raise Unauthorized(
            "missing_api_key",
            "this endpoint needs an API key: send 'Authorization: Bearer trk_...'",
        )
    # The prefix is "trk_" and 8 hex digits; the secret after it may itself contain "_".
    prefix = plaintext[:PREFIX_LENGTH] if plaintext[PREFIX_LENGTH:PREFIX_LENGTH + 1] == "_" else ""
    key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(plaintext)):
        raise Unauthorized("invalid_api_key", "the API key is not valid")
    if key.revoked_at is not None:
        raise Unauthorized("revoked_api_key", f"the API key {key.prefix} was revoked")
    point_id = None
    if key.device_id:
        device = db.get(Device, key.device_id)
        if device is None or not device.active:
            raise Unauthorized("inactive_device", "the device behind this key is deactivated")
        point_id = device.point_id
    return Actor(key_id=key.id, role=key.role, party_id=key.party_id,
                 device_id=key.device_id, point_id=point_id)


def revoke_key(db: Session, prefix: str) -> ApiKey:
    from trace_service.errors import NotFound

    key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound("key_not_found", f"no API key with prefix {prefix}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
