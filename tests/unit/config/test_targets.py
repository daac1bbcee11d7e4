"""Sharding and first-poll spreading (targets.md, "Sharding"): FNV-1a 64 of the identity's
UTF-8 bytes, Lamping and Veach's jump consistent hash (as kube-state-metrics, through
dgryski/go-jump), StatefulSet ordinals, and where in the interval a first poll falls."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.config import targets
from exporter.config.targets import (
    Shard,
    fnv1a_64,
    jump_hash,
    ordinal_from_pod_name,
    spread,
)

KEYS = st.integers(min_value=0, max_value=2**64 - 1)
IDENTITIES = [f"p_{i:05d}" for i in range(10_000)]


@pytest.mark.parametrize(
    ("text", "value"),
    [("", 0xCBF29CE484222325), ("a", 0xAF63DC4C8601EC8C), ("foobar", 0x85944171F73967E8)],
)
def test_fnv1a_64_test_vectors(text: str, value: int) -> None:
    """The published FNV-1a 64-bit vectors."""
    assert fnv1a_64(text) == value


@pytest.mark.parametrize(
    ("key", "buckets", "bucket"),
    [(1, 1, 0), (42, 57, 43), (0xDEAD10CC, 1, 0), (0xDEAD10CC, 666, 361), (256, 1024, 520)],
)
def test_jump_hash_matches_go_jump(key: int, buckets: int, bucket: int) -> None:
    """The vectors of github.com/dgryski/go-jump, the implementation kube-state-metrics uses."""
    assert jump_hash(key, buckets) == bucket


def test_fnv1a_hashes_utf8_bytes_as_go_jump_does() -> None:
    """go-jump's HashString("中国", 10, NewFNV1a) is 5: FNV-1a over the UTF-8 bytes."""
    assert jump_hash(fnv1a_64("中国"), 10) == 5


@given(KEYS)
def test_one_bucket_holds_every_key(key: int) -> None:
    """With one shard every target is its."""
    assert jump_hash(key, 1) == 0


@given(KEYS, st.integers(min_value=1, max_value=10_000))
def test_jump_hash_is_within_range(key: int, buckets: int) -> None:
    """A bucket is always one of 0 .. buckets-1."""
    assert 0 <= jump_hash(key, buckets) < buckets


@given(KEYS, st.integers(min_value=1, max_value=500))
def test_growing_moves_a_key_only_to_the_new_bucket(key: int, buckets: int) -> None:
    """From n to n+1 buckets a key stays where it was or moves to bucket n."""
    assert jump_hash(key, buckets + 1) in (jump_hash(key, buckets), buckets)


def test_ten_thousand_identities_split_evenly_over_five_shards() -> None:
    """Each of 5 shards gets 2,000 of 10,000 identities, within 10 %."""
    counts = Counter(jump_hash(fnv1a_64(identity), 5) for identity in IDENTITIES)
    assert set(counts) == set(range(5))
    assert all(1800 <= count <= 2200 for count in counts.values()), counts


def test_growing_five_shards_to_six_moves_about_a_sixth() -> None:
    """Consistent hashing: going from 5 to 6 shards moves about 1/6 of the targets."""
    moved = sum(
        jump_hash(fnv1a_64(identity), 5) != jump_hash(fnv1a_64(identity), 6)
        for identity in IDENTITIES
    )
    assert 0.12 <= moved / len(IDENTITIES) <= 0.22


@pytest.mark.parametrize("total", range(1, 9))
def test_shards_partition_any_identity_set(total: int) -> None:
    """Every identity is owned by exactly one ordinal of a given total."""
    identities = [*IDENTITIES[:500], "sha256:0123456789abcdef", "", "日本"]
    for identity in identities:
        owners = [n for n in range(total) if Shard(n, total).owns(identity)]
        assert len(owners) == 1, (identity, owners)


def test_a_shard_owns_what_jump_hash_of_fnv_assigns_it() -> None:
    """The owner is jump_hash(fnv1a_64(identity), total), the same in every replica."""
    for identity in IDENTITIES[:200]:
        owner = jump_hash(fnv1a_64(identity), 3)
        assert Shard(owner, 3).owns(identity)


def test_the_default_shard_owns_everything() -> None:
    """Without sharding (0 of 1) every identity is this process's."""
    assert all(Shard().owns(identity) for identity in IDENTITIES[:200])


@pytest.mark.parametrize(
    ("name", "ordinal"),
    [
        ("livesession-exporter-2", 2),
        ("x-10", 10),
        ("exporter-0", 0),
        ("my-exporter-shard-07", 7),
    ],
)
def test_ordinal_from_pod_name(name: str, ordinal: int) -> None:
    """A StatefulSet pod's ordinal is the number after its last dash."""
    assert ordinal_from_pod_name(name) == ordinal


@pytest.mark.parametrize("name", ["noordinal", "exporter-", "exporter-2a", "exporter-+1", ""])
def test_a_pod_name_without_ordinal_is_a_value_error(name: str) -> None:
    """A name not ending in -<digits> says so."""
    with pytest.raises(ValueError, match="ordinal"):
        ordinal_from_pod_name(name)


def test_spread_is_deterministic_per_identity() -> None:
    """The same identity and interval give the same offset, restart after restart."""
    assert [spread(i, 30) for i in IDENTITIES[:100]] == [spread(i, 30) for i in IDENTITIES[:100]]


@given(st.text(), st.floats(min_value=0.001, max_value=86_400))
def test_spread_is_within_the_interval(identity: str, interval: float) -> None:
    """A first poll falls in [0, interval)."""
    assert 0 <= spread(identity, interval) < interval


def test_spread_scatters_targets_over_the_interval() -> None:
    """Several targets starting together are not polled at once: offsets differ and cover
    the interval."""
    offsets = sorted(spread(identity, 30) for identity in IDENTITIES[:50])
    assert len(set(offsets)) == 50
    assert offsets[0] < 6
    assert offsets[-1] > 24


def test_spread_stays_below_the_interval_at_the_largest_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Even an identity whose hash is 2**64 - 1 polls before the interval ends."""
    monkeypatch.setattr(targets, "fnv1a_64", lambda _: 2**64 - 1)
    assert spread("any", 30) < 30
