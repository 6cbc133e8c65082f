"""/api/v1/parties/{id}/prefixes and /api/v1/authorisations: who owns which GTINs."""

from flask_smorest import Blueprint

from trace_service import http
from trace_service.brands import services
from trace_service.brands.schemas import (
    AuthorisationIn, AuthorisationOut, AuthorisationsOut, PrefixIn, PrefixOut, PrefixesOut,
)
from trace_service.http import require

blp = Blueprint("brands", __name__, url_prefix="/api/v1",
                description="Brand ownership: GS1 company prefixes and authorisations")


@blp.route("/parties/<party_id>/prefixes", methods=["POST"])
@require("party:write")
@blp.arguments(PrefixIn)
@blp.response(201, PrefixOut)
def record_prefix(body, party_id):
    """Record a GS1 company prefix a party holds (administrators, with the evidence)."""
    return services.record_prefix(http.ctx(), party_id, **body)


@blp.route("/parties/<party_id>/prefixes", methods=["GET"])
@require("party:read")
@blp.response(200, PrefixesOut)
def list_prefixes(party_id):
    """The company prefixes on record for a party (public facts about a brand)."""
    return {"items": services.prefixes_of(http.ctx(), party_id)}


@blp.route("/authorisations", methods=["POST"])
@require("brand:write")
@blp.arguments(AuthorisationIn)
@blp.response(201, AuthorisationsOut)
def grant(body):
    """A brand owner authorises another party to register named GTINs or a whole prefix."""
    return {"items": services.grant(http.ctx(), **body)}


@blp.route("/authorisations", methods=["GET"])
@require("brand:read")
@blp.response(200, AuthorisationsOut)
def list_authorisations():
    """Authorisations the caller gave or holds."""
    return {"items": services.authorisations(http.ctx())}


@blp.route("/authorisations/<authorisation_id>/revoke", methods=["POST"])
@require("brand:write")
@blp.response(200, AuthorisationOut)
def revoke(authorisation_id):
    """End an authorisation now (products already registered stay registered)."""
    return services.revoke(http.ctx(), authorisation_id)
