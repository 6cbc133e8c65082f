"""Request and response schemas of the inspector's API (/api/v1/inspect, /api/v1/access-log)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from trace_service.inspect import anomalies, spotchecks
from trace_service.inspect.trace import DEFAULT_HOPS, DIRECTIONS, MAX_HOPS
from trace_service.parties.models import CATEGORIES
from trace_service.recalls.models import RECALL_STATUSES, SEVERITIES
from trace_service.schemas import query_time

KEY_HELP = ("Any identifier: GS1 element string, Digital Link URI, 20-digit drug code, SSCC, "
            "waybill/NUMBER, or a canonical key")
Cursor = fields.String(load_default=None, validate=validate.Length(max=200))
Since = query_time(load_default=None, metadata={"description": "From (inclusive), "
                                                                "1900-01-01 or later"})
Until = query_time(load_default=None, metadata={"description": "Until (exclusive), "
                                                                "2200-12-31 or earlier"})


def _key(required_note: str = "required"):
    return fields.String(load_default=None, validate=validate.Length(min=1, max=300),
                         metadata={"description": f"{KEY_HELP} ({required_note})"})


# --- search and trail ----------------------------------------------------------------------


class SearchArgs(Schema):
    q = fields.String(load_default=None, validate=validate.Length(min=1, max=300),
                      metadata={"description": KEY_HELP + "; a bare GTIN (every key of the "
                                "product); a lot number or serial alone; an ord_/pcl_/lot_/"
                                "lst_ id"})
    kind = fields.String(load_default=None, validate=validate.OneOf(("unit", "lot", "parcel")))
    merchant_id = fields.String(load_default=None, validate=validate.Length(max=40))
    carrier_id = fields.String(load_default=None, validate=validate.Length(max=40))
    category = fields.String(load_default=None, validate=validate.OneOf(CATEGORIES))
    since = Since
    until = Until
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor


class SearchItem(Schema):
    kind = fields.String()
    key = fields.String()
    state = fields.String()
    gtin = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    lot = fields.String(allow_none=True)
    recalled = fields.Boolean()
    owner_id = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class SearchOut(Schema):
    understood = fields.List(fields.String(), metadata={"description": "How the query was read"})
    items = fields.List(fields.Nested(SearchItem))
    next_cursor = fields.String(allow_none=True)


class InspectTrailArgs(Schema):
    key = _key()
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = Cursor


class IntegrityOut(Schema):
    status = fields.String(metadata={"description": "verified, pending (logged after the newest "
                                                    "checkpoint), failed or not_logged"})
    seq = fields.Integer(metadata={"description": "The event's entry number in the log"})
    tree_size = fields.Integer(metadata={"description": "Size of the checkpoint checked against"})
    reason = fields.String()


class StepOut(Schema):
    event_id = fields.String()
    biz_step = fields.String()
    disposition = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    via = fields.String(metadata={"description": "direct, or container (through a parcel)"})
    when = fields.Dict(metadata={"description": "event_time (UTC), zone_offset, local_time, "
                                                "record_time"})
    who = fields.Dict(metadata={"description": "party, device, staff number"})
    where = fields.Dict(metadata={"description": "point, city, GLN"})
    transactions = fields.Dict()
    quantities = fields.List(fields.Dict())
    integrity = fields.Nested(IntegrityOut)
    content = fields.Dict(metadata={"description": "The canonical event content"})


class InspectTrailOut(Schema):
    trace_key = fields.Dict()
    checkpoint = fields.Dict(allow_none=True,
                             metadata={"description": "The signed checkpoint checked against"})
    integrity = fields.String(metadata={"description": "The worst status of the page's steps"})
    steps = fields.List(fields.Nested(StepOut))
    next_cursor = fields.String(allow_none=True)


# --- trace ------------------------------------------------------------------------------------


class TraceArgs(Schema):
    key = _key()
    direction = fields.String(load_default="both", validate=validate.OneOf(DIRECTIONS))
    hops = fields.Integer(load_default=DEFAULT_HOPS, validate=validate.Range(min=1, max=MAX_HOPS))
    since = Since
    until = Until
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    cursor = Cursor


class SourceOut(Schema):
    hop = fields.Integer()
    relation = fields.String(metadata={"description": "from_lot, product, made_by, "
                                                      "registered_by, sold_through, sold_by, "
                                                      "contains, shipped_for_order, sent_by, "
                                                      "carried_by"})
    kind = fields.String()
    ref = fields.String()
    name = fields.String(allow_none=True)
    details = fields.Dict()


class BackwardOut(Schema):
    items = fields.List(fields.Nested(SourceOut))
    truncated = fields.Boolean()


class MovementOut(Schema):
    hop = fields.Integer()
    line_id = fields.Integer()
    item_key = fields.String()
    item_kind = fields.String()
    item_state = fields.String(allow_none=True)
    order_id = fields.String()
    placed_at = fields.DateTime()
    merchant_id = fields.String(allow_none=True)
    merchant = fields.String(allow_none=True)
    listing_id = fields.String()
    quantity = fields.Integer()
    parcel_key = fields.String(allow_none=True)
    parcel_state = fields.String(allow_none=True)
    packed_quantity = fields.Integer(allow_none=True)
    carrier_id = fields.String(allow_none=True)
    carrier = fields.String(allow_none=True)
    point_id = fields.String(allow_none=True)
    point = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    returned = fields.String(allow_none=True)
    position = fields.String()


class ForwardOut(Schema):
    summary = fields.Dict(allow_none=True,
                          metadata={"description": "Totals over all movements (first page)"})
    items = fields.List(fields.Nested(MovementOut))


class TraceOut(Schema):
    origin = fields.Dict()
    direction = fields.String()
    hops = fields.Integer()
    since = fields.DateTime(allow_none=True)
    until = fields.DateTime(allow_none=True)
    backward = fields.Nested(BackwardOut, allow_none=True)
    forward = fields.Nested(ForwardOut, allow_none=True)
    next_cursor = fields.String(allow_none=True)


# --- anomalies --------------------------------------------------------------------------------


class AnomalyArgs(Schema):
    kind = fields.String(load_default=None, validate=validate.OneOf(anomalies.KINDS))
    since = Since
    until = Until
    gap_hours = fields.Float(load_default=24.0, validate=validate.Range(min=0, max=24 * 90))
    max_speed_kmh = fields.Float(load_default=150.0, validate=validate.Range(min=1, max=5000))
    min_city_gap_minutes = fields.Float(load_default=60.0,
                                        validate=validate.Range(min=0, max=24 * 60))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor


class FindingOut(Schema):
    kind = fields.String()
    at = fields.DateTime()
    key = fields.String(allow_none=True)
    summary = fields.String()
    details = fields.Dict()


class FindingsOut(Schema):
    count = fields.Integer(metadata={"description": f"Findings in the window (at most "
                                                    f"{anomalies.MAX_PER_KIND})"})
    items = fields.List(fields.Nested(FindingOut))
    next_cursor = fields.String(allow_none=True)


class AnomaliesOut(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    settings = fields.Dict()
    kinds = fields.Dict(keys=fields.String(), values=fields.Nested(FindingsOut))


# --- spot checks ------------------------------------------------------------------------------


class SpotCheckIn(Schema):
    population = fields.String(required=True, validate=validate.OneOf(spotchecks.POPULATIONS))
    n = fields.Integer(required=True, strict=True,
                       validate=validate.Range(min=1, max=spotchecks.MAX_SAMPLE))
    seed = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=0,
                                                                                  max=2**63 - 1),
                          metadata={"description": "Default: a random seed, recorded"})
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)),
                             load_default=list, validate=validate.Length(max=len(CATEGORIES)))
    merchant_id = fields.String(load_default=None, validate=validate.Length(max=40))
    weights = fields.Dict(keys=fields.String(validate=validate.OneOf(CATEGORIES)),
                          values=fields.Integer(strict=True, validate=validate.Range(min=0,
                                                                                     max=1000)),
                          load_default=dict,
                          metadata={"description": "Category risk weights overriding the "
                                                   "defaults"})


class TaskOut(Schema):
    id = fields.String()
    position = fields.Integer()
    weight = fields.Integer()
    status = fields.String()
    notes = fields.String(allow_none=True)
    recorded_at = fields.DateTime(allow_none=True)
    recall_id = fields.String(allow_none=True)
    listing_id = fields.String(allow_none=True)
    lot_id = fields.String(allow_none=True)
    key = fields.String()
    title = fields.String()
    merchant_id = fields.String()
    gtin = fields.String()
    lot = fields.String()
    category = fields.String()


class SpotCheckOut(Schema):
    id = fields.String()
    created_at = fields.DateTime()
    population = fields.String()
    criteria = fields.Dict()
    seed = fields.Integer()
    requested = fields.Integer()
    population_size = fields.Integer()
    population_digest = fields.String()
    algorithm = fields.String()
    tasks = fields.List(fields.Nested(TaskOut))


class SpotCheckSummary(Schema):
    id = fields.String()
    created_at = fields.DateTime()
    population = fields.String()
    seed = fields.Integer()
    requested = fields.Integer()
    population_size = fields.Integer()


class SpotCheckPage(Schema):
    items = fields.List(fields.Nested(SpotCheckSummary))
    next_cursor = fields.String(allow_none=True)


class InspectPageArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Cursor


class RecallSpec(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    authority = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    lots = fields.List(fields.String(validate=validate.Length(min=1, max=300)),
                       load_default=None, validate=validate.Length(min=1, max=100))


class ResultIn(Schema):
    result = fields.String(required=True, validate=validate.OneOf(spotchecks.RESULTS))
    notes = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    recall = fields.Nested(RecallSpec, load_default=None,
                           metadata={"description": "Open a recall in the same step (failed "
                                                    "checks only); lots default to the task's"})


# --- recalls ----------------------------------------------------------------------------------


class RecallIn(Schema):
    lots = fields.List(fields.String(validate=validate.Length(min=1, max=300)), required=True,
                       validate=validate.Length(min=1, max=100),
                       metadata={"description": "Lots: element strings, Digital Links or "
                                                "canonical keys 01/{GTIN}/10/{lot}"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES),
                             metadata={"description": "I: may cause serious harm or death; II: "
                                                      "temporary or reversible harm; III: "
                                                      "unlikely to harm"})
    authority = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reference = fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class CloseIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class RecallListArgs(InspectPageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(RECALL_STATUSES))


class RecallOut(Schema):
    id = fields.String()
    status = fields.String()
    severity = fields.String()
    reason = fields.String()
    authority = fields.String()
    reference = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    opened_by = fields.String()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_note = fields.String(allow_none=True)
    lots = fields.List(fields.Dict())


class RecallDetailOut(RecallOut):
    progress = fields.Dict()
    parcels_stopped = fields.List(fields.Dict(), metadata={"description": "Parcels carrying "
                                                           "recalled goods, not delivered"})
    holders = fields.List(fields.Dict(), metadata={
        "description": "Traders still holding recalled goods, per party and lot: lot "
                       "quantities, units in stock, and units the party shipped that are "
                       "not yet received (units_in_transfer)"})


class RecallPage(Schema):
    items = fields.List(fields.Nested(RecallOut))
    next_cursor = fields.String(allow_none=True)


class BuyerOut(Schema):
    line_id = fields.Integer()
    order_id = fields.String()
    key = fields.String()
    quantity = fields.Integer()
    merchant_id = fields.String()
    merchant = fields.String(allow_none=True)
    placed_at = fields.DateTime()
    order_status = fields.String()
    buyer = fields.Dict(allow_none=True, metadata={"description": "Masked"})
    consignee = fields.Dict(allow_none=True, metadata={"description": "Masked"})


class BuyerPage(Schema):
    items = fields.List(fields.Nested(BuyerOut))
    next_cursor = fields.String(allow_none=True)


# --- access log and exports -------------------------------------------------------------------


class AccessLogArgs(InspectPageArgs):
    key_id = fields.String(load_default=None, validate=validate.Length(max=40))
    since = Since
    until = Until


class AccessLogOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    key_id = fields.String()
    role = fields.String()
    party_id = fields.String(allow_none=True)
    channel = fields.String(metadata={"description": "api or console"})
    method = fields.String()
    path = fields.String()
    query = fields.String(allow_none=True)
    endpoint = fields.String(allow_none=True)
    status = fields.Integer()
    subject = fields.String(allow_none=True)
    remote_addr = fields.String(allow_none=True)


class AccessLogPage(Schema):
    items = fields.List(fields.Nested(AccessLogOut))
    next_cursor = fields.String(allow_none=True)


class ExportTrailArgs(Schema):
    key = _key()
    sort = fields.String(load_default=None, validate=validate.Length(max=40),
                         metadata={"description": "A column to sort by"})
    order = fields.String(load_default="asc", validate=validate.OneOf(("asc", "desc")))


class ExportTraceArgs(ExportTrailArgs):
    part = fields.String(load_default="forward", validate=validate.OneOf(("forward", "backward")),
                         metadata={"description": "CSV only: forward movements or backward "
                                                  "sources"})
    direction = fields.String(load_default="both", validate=validate.OneOf(DIRECTIONS),
                              metadata={"description": "JSON only"})
    hops = fields.Integer(load_default=DEFAULT_HOPS, validate=validate.Range(min=1, max=MAX_HOPS))
    since = Since
    until = Until


class EvidenceArgs(Schema):
    key = _key()
