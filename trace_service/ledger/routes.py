"""/api/v1/log: the public key, signed checkpoints, inclusion and consistency proofs.

The key, the checkpoints and consistency proofs are public: they hold hashes, sizes and
times only. An inclusion proof carries the event's content, so it needs ``trail:read`` and
is scoped like the trail: only to the parties the event concerns (trace_service.visibility).
"""

from __future__ import annotations

import base64

from flask import current_app, g
from flask_smorest import Blueprint

from trace_service import visibility
from trace_service.db import get_db
from trace_service.http import PUBLIC, require
from trace_service.ledger import services, settings, witnesses
from trace_service.ledger.schemas import (
    CheckpointOut, ConsistencyArgs, ConsistencyOut, InclusionArgs, InclusionBundleOut,
    PublicKeyOut,
)

blp = Blueprint("log", __name__, url_prefix="/api/v1/log",
                description="The tamper-evident log of events (docs/integrity.md)")


@blp.record_once
def _load_key(state):
    """Start-up: load the signing key, or refuse to start (production without one)."""
    settings.init_app(state.app)


def _key():
    return settings.log_key(current_app)


@blp.route("/public-key", methods=["GET"])
@require(PUBLIC)
@blp.response(200, PublicKeyOut)
def public_key():
    """The Ed25519 key that signs checkpoints: all an offline verifier has to trust."""
    key = _key()
    return {"log_id": key.name, "algorithm": "ed25519", "key_id": key.key_id_for().hex(),
            "public_key": base64.b64encode(key.public_bytes).decode(),
            "public_key_pem": key.public_pem, "verifier_key": key.verifier_key}


@blp.route("/checkpoints/latest", methods=["GET"])
@require(PUBLIC)
@blp.response(200, CheckpointOut)
def latest_checkpoint():
    """The newest signed checkpoint (a fresh one when the newest is older than the
    checkpoint interval and the log has grown)."""
    interval = current_app.config["LOG_CHECKPOINT_INTERVAL_SECONDS"]
    latest = services.latest_checkpoint(get_db(), _key(), interval)
    with get_db().read_session() as db:
        return _witnessed(db, latest)


@blp.route("/checkpoints/<int:size>", methods=["GET"])
@require(PUBLIC)
@blp.response(200, CheckpointOut)
def checkpoint(size):
    """The checkpoint signed at this tree size."""
    with get_db().read_session() as db:
        return _witnessed(db, services.checkpoint_at(db, size))


def _witnessed(db, checkpoint) -> dict:
    """The checkpoint's view with its witnesses' cosignatures: listed, and their lines
    appended to the note (any signed-note verifier ignores the lines it has no key for)."""
    view = checkpoint.view(_key())
    cosignatures = witnesses.cosignatures_of(db, checkpoint.size)
    view["note"] = witnesses.with_cosignatures(view["note"], cosignatures)
    view["cosignature_count"] = len(cosignatures)
    view["cosignatures"] = [{"witness": c["witness"], "cosigned_at": c["cosigned_at"]}
                            for c in cosignatures]
    return view


@blp.route("/proofs/inclusion", methods=["GET"])
@require("trail:read")
@blp.arguments(InclusionArgs, location="query")
@blp.response(200, InclusionBundleOut)
def inclusion(args):
    """The proof bundle of one event: content, sequence number, audit path and the signed
    checkpoint it leads to. Save it as a file and check it with ``trace-scan verify``."""
    actor = g.actor

    def visible(db, event):
        return visibility.may_read_event(db, actor, event)

    bundle = services.inclusion_bundle(get_db(), _key(), args["event_id"], args["size"],
                                       visible=visible)
    with get_db().read_session() as db:
        bundle["checkpoint"] = witnesses.with_cosignatures(
            bundle["checkpoint"], witnesses.cosignatures_of(db, bundle["tree_size"]))
    return bundle


@blp.route("/proofs/consistency", methods=["GET"])
@require(PUBLIC)
@blp.arguments(ConsistencyArgs, location="query")
@blp.response(200, ConsistencyOut)
def consistency(args):
    """Proof that the checkpoint at ``second`` extends the one at ``first`` (append-only)."""
    return services.consistency_bundle(get_db(), _key(), args["first"], args["second"])
