"""Request and response schemas of /api/v1/log."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

B64 = "standard base64 of a 32-byte SHA-256 hash"
#: Tree sizes and indexes are 64-bit integers in the database.
MAX_SIZE = 2**63 - 1


class PublicKeyOut(Schema):
    log_id = fields.String(metadata={"description": "Name of the log: first line of every "
                                                    "checkpoint, key name of its signature"})
    algorithm = fields.String(metadata={"description": "ed25519"})
    key_id = fields.String(metadata={"description": "8 hex digits: SHA-256(log_id \\n 0x01 "
                                                    "public key)[:4], as in signed notes"})
    public_key = fields.String(metadata={"description": "base64 of the 32-byte public key"})
    public_key_pem = fields.String()
    verifier_key = fields.String(metadata={"description": "<log_id>+<key_id>+<base64(0x01 "
                                                          "|| public key)> (signed-note form)"})


class CosignatureOut(Schema):
    witness = fields.String(metadata={"description": "The witness's key name"})
    cosigned_at = fields.Integer(metadata={"description": "The witness's time, Unix seconds"})


class CheckpointOut(Schema):
    log_id = fields.String()
    size = fields.Integer(metadata={"description": "Number of events in the tree"})
    root_hash = fields.String(metadata={"description": B64})
    issued_at = fields.DateTime()
    note = fields.String(metadata={"description": "The signed checkpoint note (docs/integrity.md), "
                                              "with the witnesses' cosignature lines"})
    cosignature_count = fields.Integer(metadata={
        "description": "How many witnesses cosigned this checkpoint (docs/integrity.md)"})
    cosignatures = fields.List(fields.Nested(CosignatureOut))


class InclusionArgs(Schema):
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    size = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_SIZE),
                          metadata={"description": "A checkpoint's size; default: the newest "
                                                   "(signed now if none covers the event)"})


class InclusionBundleOut(Schema):
    """The proof bundle: everything an offline verifier needs besides the public key."""

    format = fields.String(metadata={"description": "trace-inclusion-proof/v1"})
    log_id = fields.String()
    event_id = fields.String()
    seq = fields.Integer(metadata={"description": "Sequence number of the event in the log"})
    leaf_index = fields.Integer(metadata={"description": "Leaf index (equal to seq)"})
    tree_size = fields.Integer()
    content = fields.String(metadata={"description": "The event's canonical content, exactly "
                                                     "the bytes that were hashed"})
    leaf_hash = fields.String(metadata={"description": "SHA-256(0x00 || content), " + B64})
    proof = fields.List(fields.String(), metadata={"description": "Audit path, leaf end first"})
    checkpoint = fields.String(metadata={"description": "Signed checkpoint note of tree_size"})


class ConsistencyArgs(Schema):
    first = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SIZE))
    second = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SIZE))


class ConsistencyOut(Schema):
    format = fields.String(metadata={"description": "trace-consistency-proof/v1"})
    log_id = fields.String()
    first = fields.Integer()
    second = fields.Integer()
    proof = fields.List(fields.String())
    first_checkpoint = fields.String()
    second_checkpoint = fields.String()
