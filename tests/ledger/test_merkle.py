"""RFC 6962 hashing and proofs: reference vectors, and a naive recursive MTH for every
size 1..64 and every inclusion and consistency pair. The offline verifier in the client
package is held to the same cases."""

from __future__ import annotations

import functools
import hashlib

import pytest

from scanner_client import verify as offline
from trace_service.ledger import merkle

# The Certificate Transparency reference leaves (certificate-transparency merkle_tree_test,
# also used by Trillian and Go's sumdb/tlog tests).
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 3): ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    (1, 5): ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (0, 1): [],
}
CONSISTENCY = {
    (1, 1): [],
    (1, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
}


# --- a naive implementation, straight from RFC 6962 section 2.1 ---------------------------------


def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: tuple[bytes, ...]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


mth = functools.lru_cache(maxsize=None)(mth)


def path(m, d):
    if len(d) <= 1:
        return []
    k = _k(len(d))
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def build(data):
    """Stored nodes of a tree built leaf by leaf with append_leaf, and its frontier."""
    nodes, frontier = {}, []
    for i, item in enumerate(data):
        leaf = merkle.leaf_hash(item)
        nodes[(0, i)] = leaf
        for level, index, h in merkle.append_leaf(frontier, i, leaf):
            nodes[(level, index)] = h
    return nodes, frontier


DATA = tuple(bytes([i % 256]) * (i % 7) + i.to_bytes(2, "big") for i in range(64))


# --- tests ---------------------------------------------------------------------------------------


def test_the_empty_tree_hashes_to_sha256_of_nothing():
    assert merkle.EMPTY_ROOT.hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert merkle.root_from_frontier([]) == merkle.EMPTY_ROOT


def test_roots_of_the_reference_tree_match_the_published_vectors():
    for n in range(1, 9):
        _nodes, frontier = build(LEAVES[:n])
        assert merkle.root_from_frontier(frontier).hex() == ROOTS[n - 1]
        assert mth(tuple(LEAVES[:n])).hex() == ROOTS[n - 1]


@pytest.mark.parametrize("index,size", sorted(INCLUSION))
def test_inclusion_proofs_of_the_reference_tree_match_the_published_vectors(index, size):
    nodes, frontier = build(LEAVES[:size])
    proof = merkle.hashes_for(merkle.inclusion_ranges(index, size), nodes)
    assert [h.hex() for h in proof] == INCLUSION[(index, size)]
    leaf = merkle.leaf_hash(LEAVES[index])
    root = merkle.root_from_frontier(frontier)
    assert merkle.verify_inclusion(index, size, leaf, proof, root)
    assert offline.root_from_inclusion_proof(index, size, leaf, proof) == root


@pytest.mark.parametrize("first,second", sorted(CONSISTENCY))
def test_consistency_proofs_of_the_reference_tree_match_the_published_vectors(first, second):
    nodes, _ = build(LEAVES[:second])
    proof = merkle.hashes_for(merkle.consistency_ranges(first, second), nodes)
    assert [h.hex() for h in proof] == CONSISTENCY[(first, second)]
    old, new = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert merkle.verify_consistency(first, second, old, new, proof)
    assert offline.verify_consistency(first, second, old, new, proof)


def test_every_size_up_to_64_has_the_naive_root_and_the_frontier_of_its_binary_decomposition():
    for n in range(0, 65):
        nodes, frontier = build(DATA[:n])
        assert merkle.root_from_frontier(frontier) == mth(DATA[:n])
        assert len(frontier) == bin(n).count("1")
        assert frontier == [nodes[node] for node in merkle.frontier_nodes(n)]
        assert len(nodes) == 2 * n - bin(n).count("1")  # n leaves, n - popcount(n) inner


def test_the_chunked_root_equals_the_naive_one_for_every_size_and_chunk():
    for n in range(0, 65):
        for chunk_level in (0, 1, 2, 3, 5, 13):
            assert merkle.root_of(DATA[:n], chunk_level) == mth(DATA[:n]), (n, chunk_level)


def test_every_inclusion_proof_up_to_size_64_is_the_naive_one_and_verifies_both_ways():
    nodes, _ = build(DATA)
    for n in range(1, 65):
        root = mth(DATA[:n])
        for i in range(n):
            proof = merkle.hashes_for(merkle.inclusion_ranges(i, n), nodes)
            assert proof == path(i, DATA[:n]), (i, n)
            leaf = merkle.leaf_hash(DATA[i])
            assert merkle.verify_inclusion(i, n, leaf, proof, root)
            assert offline.root_from_inclusion_proof(i, n, leaf, proof) == root
            # The same proof for another leaf or index fails. (The size is bound by the
            # signed checkpoint: a path can have the same shape in two sizes.)
            assert not merkle.verify_inclusion(i, n, merkle.leaf_hash(b"x"), proof, root)
            if n > 1:
                assert not merkle.verify_inclusion((i + 1) % n, n, leaf, proof, root)


def test_every_consistency_proof_up_to_size_64_is_the_naive_one_and_verifies_both_ways():
    nodes, _ = build(DATA)
    for n in range(1, 65):
        new = mth(DATA[:n])
        for m in range(0, n + 1):
            proof = merkle.hashes_for(merkle.consistency_ranges(m, n), nodes)
            assert proof == (subproof(m, DATA[:n], True) if 0 < m < n else []), (m, n)
            old = mth(DATA[:m])
            assert merkle.verify_consistency(m, n, old, new, proof)
            assert offline.verify_consistency(m, n, old, new, proof)
            if 0 < m < n:
                forged_old = merkle.leaf_hash(b"forged")
                assert not merkle.verify_consistency(m, n, forged_old, new, proof)
                assert not offline.verify_consistency(m, n, old, forged_old, proof)
                assert not merkle.verify_consistency(m, n, old, new, proof[:-1])


def test_proof_ranges_read_few_stored_nodes():
    """A proof at one million leaves reads O(log n) stored nodes, not O(n)."""
    n = 1_000_003
    for i in (0, 1, n // 2, n - 1):
        assert len(merkle.needed_nodes(merkle.inclusion_ranges(i, n))) <= 2 * 20
    assert len(merkle.needed_nodes(merkle.consistency_ranges(999_999, n))) <= 2 * 20


def test_malformed_requests_are_refused():
    with pytest.raises(ValueError):
        merkle.inclusion_ranges(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_ranges(6, 5)
    with pytest.raises(ValueError):
        merkle.range_nodes(1, 3)  # not a subtree range
    assert merkle.root_from_inclusion_proof(5, 5, b"x" * 32, []) is None
    assert not merkle.verify_consistency(6, 5, b"", b"", [])
    assert not merkle.verify_consistency(3, 5, b"a", b"b", [])
