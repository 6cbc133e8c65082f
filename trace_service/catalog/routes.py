"""/api/v1/products, /lots, /units, /listings."""

from flask_smorest import Blueprint
from sqlalchemy import select

from trace_service import http
from trace_service.catalog import services
from trace_service.catalog.models import Listing, Product
from trace_service.catalog.schemas import (
    ListingIn, ListingOut, LotIn, LotOut, ProductIn, ProductOut, UnitsIn, UnitsOut,
)
from trace_service.db import paginate
from trace_service.http import require
from trace_service.schemas import PageArgs, page_of

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Products and listings")


@blp.route("/products", methods=["POST"])
@require("product:write")
@blp.arguments(ProductIn)
@blp.response(201, ProductOut)
def create_product(body):
    """Register a product by GTIN (normalised to GTIN-14): its brand owner (the holder of its
    GS1 company prefix) or a party the owner authorised."""
    return services.create_product(http.ctx(), **body)


@blp.route("/products", methods=["GET"])
@require("product:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ProductOut, "ProductPage"))
def list_products(args):
    """List products."""
    return paginate(http.ctx().db, select(Product), Product.gtin, args["limit"], args["cursor"])


@blp.route("/products/<gtin>", methods=["GET"])
@require("product:read")
@blp.response(200, ProductOut)
def get_product(gtin):
    """One product (any GTIN length accepted)."""
    return services.get_product(http.ctx(), gtin)


@blp.route("/products/<gtin>/maker-confirmation", methods=["POST"])
@require("product:write")
@blp.response(200, ProductOut)
def confirm_maker(gtin):
    """The named maker confirms it makes this product (until then it is not shown as such)."""
    return services.confirm_maker(http.ctx(), gtin)


@blp.route("/lots", methods=["POST"])
@require("product:write")
@blp.arguments(LotIn)
@blp.response(201, LotOut)
def create_lot(body):
    """Register (commission) a lot with its dates and origin."""
    return services.create_lot(http.ctx(), **body)


@blp.route("/units", methods=["POST"])
@require("product:write")
@blp.arguments(UnitsIn)
@blp.response(201, UnitsOut)
def register_units(body):
    """Commission serialised units: GTIN+serials, or 20-digit drug codes."""
    return {"units": services.register_units(http.ctx(), **body)}


@blp.route("/listings", methods=["POST"])
@require("listing:write")
@blp.arguments(ListingIn)
@blp.response(201, ListingOut)
def create_listing(body):
    """List a product; needs real-name verification and a valid licence for its category."""
    return services.create_listing(http.ctx(), **body)


@blp.route("/listings", methods=["GET"])
@require("listing:read")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ListingOut, "ListingPage"))
def list_listings(args):
    """Listings (a merchant sees its own)."""
    c = http.ctx()
    stmt = select(Listing)
    if not c.actor.sees_everything:
        stmt = stmt.where(Listing.merchant_id == c.actor.party_id)
    return paginate(c.db, stmt, Listing.id, args["limit"], args["cursor"])


@blp.route("/listings/<listing_id>", methods=["GET"])
@require("listing:read")
@blp.response(200, ListingOut)
def get_listing(listing_id):
    """One listing."""
    return services.get_listing(http.ctx(), listing_id)


@blp.route("/listings/<listing_id>/withdraw", methods=["POST"])
@require("listing:write")
@blp.response(200, ListingOut)
def withdraw_listing(listing_id):
    """Take a listing off sale."""
    return services.withdraw_listing(http.ctx(), listing_id)
