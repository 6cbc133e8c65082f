"""/api/v1/keys: issue, list and revoke API keys (admin only)."""

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from trace_service import http
from trace_service.auth import services
from trace_service.auth.models import ApiKey
from trace_service.auth.permissions import ROLES
from trace_service.db import paginate
from trace_service.http import require
from trace_service.schemas import PageArgs, page_of

blp = Blueprint("keys", __name__, url_prefix="/api/v1", description="API keys")


class KeyIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    party_id = fields.String(load_default=None)
    device_id = fields.String(load_default=None)
    label = fields.String(load_default="", validate=validate.Length(max=100))


class KeyOut(Schema):
    id = fields.String()
    prefix = fields.String()
    role = fields.String()
    party_id = fields.String(allow_none=True)
    device_id = fields.String(allow_none=True)
    label = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class NewKeyOut(KeyOut):
    key = fields.String(attribute="plaintext",
                        metadata={"description": "The key itself; shown once, stored hashed"})


@blp.route("/keys", methods=["POST"])
@require("key:write")
@blp.arguments(KeyIn)
@blp.response(201, NewKeyOut)
def create_key(body):
    """Issue an API key. The plaintext is in this response only."""
    key, plaintext = services.create_key(http.ctx().db, **body)
    key.plaintext = plaintext  # not a column: lives only on this object, for this response
    return key


@blp.route("/keys", methods=["GET"])
@require("key:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(KeyOut, "KeyPage"))
def list_keys(args):
    """List keys by prefix (secrets are never shown again)."""
    return paginate(http.ctx().db, select(ApiKey), ApiKey.id, args["limit"], args["cursor"])


@blp.route("/keys/<prefix>/revoke", methods=["POST"])
@require("key:write")
@blp.response(200, KeyOut)
def revoke_key(prefix):
    """Revoke a key; it stops working at once."""
    return services.revoke_key(http.ctx().db, prefix)
