"""A transparency-log witness (C2SP ``tlog-witness``, cosignatures per ``tlog-cosignature``).

A witness promises one thing: it cosigns a checkpoint of a log only if the log's key
signed it and it extends, by a verified RFC 6962 consistency proof, every checkpoint of
that log the witness cosigned before. So two checkpoints cosigned by the same witness are
never a fork, whoever holds the log's key and database. It keeps only the newest
checkpoint per log (a small SQLite file) and its own Ed25519 key.

``trace-witness init`` makes the key and names the logs; ``trace-witness serve`` answers
``POST /add-checkpoint``. See :mod:`tlog_witness.witness` for the checks.
"""
