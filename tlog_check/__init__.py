"""Checking a transparency log: RFC 6962 / 9162 proofs and the C2SP note formats.

One small package that the service, the scanner client and the witness all use, so there
is exactly one implementation of every check a third party relies on:

* :mod:`tlog_check.merkle`      leaf / node hashing, inclusion and consistency proofs;
* :mod:`tlog_check.note`        signed notes (C2SP ``signed-note``) and Ed25519 verifier keys;
* :mod:`tlog_check.checkpoint`  checkpoint bodies (C2SP ``tlog-checkpoint``);
* :mod:`tlog_check.cosignature` witness cosignatures (C2SP ``tlog-cosignature``, v1).

It depends on ``cryptography`` only. Every failure is a :class:`TlogError` carrying a
stable ``code``, so callers can map it to their own exit codes or HTTP statuses.
"""

from tlog_check.errors import Malformed, NotVerified, TlogError
from tlog_check.merkle import (
    EMPTY_ROOT, leaf_hash, node_hash, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
)
from tlog_check.note import (
    ALG_COSIGNATURE_V1, ALG_ED25519, SIGNATURE_PREFIX, NoteSignature, VerifierKey,
    format_signature_line, key_id, parse_note, parse_verifier_key, verify_note,
)
from tlog_check.checkpoint import Checkpoint, parse_checkpoint, open_checkpoint
from tlog_check.cosignature import (
    CosignatureKey, cosignature_message, make_cosignature, verify_cosignature,
)

__all__ = [
    "ALG_COSIGNATURE_V1", "ALG_ED25519", "Checkpoint", "CosignatureKey", "EMPTY_ROOT",
    "Malformed", "NoteSignature", "NotVerified", "SIGNATURE_PREFIX", "TlogError",
    "VerifierKey", "cosignature_message", "format_signature_line", "key_id", "leaf_hash",
    "make_cosignature", "node_hash", "open_checkpoint", "parse_checkpoint", "parse_note",
    "parse_verifier_key", "root_from_inclusion_proof", "verify_consistency",
    "verify_cosignature", "verify_inclusion", "verify_note",
]
