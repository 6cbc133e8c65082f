"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification. Pure functions.

Definitions (RFC 9162 section 2.1.1)::

    MTH({})       = SHA-256()
    MTH({d0})     = SHA-256(0x00 || d0)                      leaf hash
    MTH(D[0:n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   k = largest power of 2 < n

Storage model. A *complete aligned subtree* ("node") ``(level, index)`` is the perfect
subtree over the leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 nodes are
the leaf hashes. Once a node is complete it never changes, so a log stores each one once.
Every range that RFC 6962's recursive definitions ever hash, ``D[a:b]``, starts at a
multiple of the largest power of two not above its length, so its hash is a right fold of
at most log2(n) stored nodes (:func:`range_nodes`). The root of a tree of size n is the
fold of the nodes of n's binary decomposition, the *frontier* (what Trillian calls a
compact range); appending a leaf turns the frontier into the next one in O(log n).

The proof *generation* side takes the node hashes it needs from a caller-supplied mapping,
so the same code serves the database, tests and benchmarks; hashing and the *verification*
of proofs come from :mod:`tlog_check.merkle`, shared with the scanner and the witness.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

# Hashing and proof verification are tlog_check's, the code every verifier of this log runs
# (scanner, witness): the service checks itself with exactly what others check it with.
from tlog_check.merkle import (  # noqa: F401  (re-exported)
    EMPTY_ROOT, leaf_hash, node_hash, root_from_inclusion_proof, verify_consistency,
    verify_inclusion,
)

HASH_SIZE = 32

Node = tuple[int, int]  # (level, index)


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


# --- frontier (compact range) -----------------------------------------------------------


def frontier_nodes(size: int) -> list[Node]:
    """The nodes whose fold is the root of a tree of ``size`` leaves, largest first."""
    return range_nodes(0, size)


def append_leaf(frontier: list[bytes], size: int, leaf: bytes) -> Sequence[tuple[int, int, bytes]]:
    """Append ``leaf`` as leaf number ``size``; update ``frontier`` in place.

    Returns the nodes of level >= 1 completed by this leaf, as ``(level, index, hash)``,
    lowest level first (on average one per leaf, at most log2(size + 1)).
    """
    if not size & 1:  # an even leaf completes nothing (half of all appends)
        frontier.append(leaf)
        return ()
    completed = []
    h = leaf
    index = size
    level = 0
    sha256 = hashlib.sha256
    while index & 1:
        h = sha256(b"\x01" + frontier.pop() + h).digest()
        index >>= 1
        level += 1
        completed.append((level, index, h))
    frontier.append(h)
    return completed


def fold(hashes: Sequence[bytes]) -> bytes:
    """Right fold of node hashes: the hash of the range they cover (left to right)."""
    if not hashes:
        return EMPTY_ROOT
    h = hashes[-1]
    for left in reversed(hashes[:-1]):
        h = node_hash(left, h)
    return h


def root_from_frontier(frontier: Sequence[bytes]) -> bytes:
    return fold(frontier)


# --- whole runs of leaves at once (verification) ----------------------------------------------


def subtree_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every complete node over an aligned run of leaf hashes, level by level (level 0 is
    ``leaves``). List comprehensions: hashing, not the interpreter, sets the pace."""
    sha256 = hashlib.sha256
    levels = [leaves]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([sha256(b"\x01" + left + right).digest()
                       for left, right in zip(below[0::2], below[1::2])])
    return levels


def prefix_frontier(levels: list[list[bytes]], p: int) -> list[bytes]:
    """The frontier of the first ``p`` leaves of a run, from its :func:`subtree_levels`."""
    return [levels[level][(p >> level) - 1] for level in range(len(levels) - 1, -1, -1)
            if (p >> level) & 1]


def root_of(data: Sequence[bytes], chunk_level: int = 13) -> bytes:
    """MTH of the leaves ``data``, computed a chunk of 2**chunk_level leaves at a time."""
    sha256 = hashlib.sha256
    chunk = 1 << chunk_level
    upper: list[bytes] = []
    tail: list[bytes] = []
    for start in range(0, len(data), chunk):
        leaves = [sha256(b"\x00" + d).digest() for d in data[start:start + chunk]]
        levels = subtree_levels(leaves)
        if len(leaves) == chunk:
            append_leaf(upper, start >> chunk_level, levels[chunk_level][0])
        else:
            tail = prefix_frontier(levels, len(leaves))
    return fold(upper + tail)


# --- ranges and proofs --------------------------------------------------------------------


def range_nodes(start: int, end: int) -> list[Node]:
    """The stored nodes covering ``[start, end)``, left to right.

    Only valid for the ranges RFC 6962 hashes: ``start`` is a multiple of the largest power
    of two not above ``end - start`` (true of every range in a tree, a path or a proof).
    """
    nodes = []
    pos = start
    remaining = end - start
    while remaining:
        level = remaining.bit_length() - 1
        width = 1 << level
        if pos % width:
            raise ValueError(f"[{start}, {end}) is not a subtree range")
        nodes.append((level, pos >> level))
        pos += width
        remaining -= width
    return nodes


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(index, D[0:size]), leaf end first (RFC 6962 2.1.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    out: list[tuple[int, int]] = []
    lo, hi, m = 0, size, index
    # Walk from the root down, collecting siblings; RFC order is the reverse.
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(first, D[0:second]) (RFC 6962 2.1.2)."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    if first == 0 or first == second:
        return []
    out: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, second, first, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                out.append((lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    out.reverse()
    return out


def proof_nodes(ranges: Iterable[tuple[int, int]]) -> list[list[Node]]:
    return [range_nodes(a, b) for a, b in ranges]


def hashes_for(ranges: Iterable[tuple[int, int]],
               lookup: Mapping[Node, bytes] | Callable[[Node], bytes]) -> list[bytes]:
    """Hash each range from stored nodes (``lookup[(level, index)]``)."""
    get = lookup.__getitem__ if isinstance(lookup, Mapping) else lookup
    return [fold([get(node) for node in range_nodes(a, b)]) for a, b in ranges]


def needed_nodes(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for a, b in ranges for node in range_nodes(a, b)}
