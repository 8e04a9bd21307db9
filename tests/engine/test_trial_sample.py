"""The trial's stratified sampler: size, proportional allocation, every stratum, determinism."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.engine.trial import allocate, sample_size, stratified_sample, stratum_of

strata_sizes = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 60), min_size=1, max_size=8
).filter(lambda d: sum(d.values()) > 0)


@given(strata_sizes, st.floats(0.01, 1.0))
def test_allocation_is_proportional_within_rounding(sizes: dict[str, int], fraction: float) -> None:
    total = sum(sizes.values())
    n = sample_size(total, fraction)
    alloc = allocate(sizes, n)
    assert sum(alloc.values()) == n
    nonempty = [k for k, v in sizes.items() if v > 0]
    assert set(alloc) == set(nonempty)
    exact = {k: n * sizes[k] / total for k in nonempty}
    for k in nonempty:
        assert 0 <= alloc[k] <= sizes[k]
    if all(exact[k] >= 1 for k in nonempty):
        # nothing had to be bumped up to one: plain largest-remainder rounding
        assert all(math.floor(exact[k]) <= alloc[k] <= math.ceil(exact[k]) for k in nonempty)
    else:
        # bumped strata get exactly one; a donor gives at most one lead per bumped stratum
        bumped = sum(1 for k in nonempty if exact[k] < 1)
        for k in nonempty:
            assert alloc[k] <= math.ceil(exact[k]) or alloc[k] == 1
            assert alloc[k] >= math.floor(exact[k]) - bumped


@given(strata_sizes, st.floats(0.01, 1.0))
def test_every_stratum_is_represented_when_the_sample_is_large_enough(
    sizes: dict[str, int], fraction: float
) -> None:
    n = sample_size(sum(sizes.values()), fraction)
    alloc = allocate(sizes, n)
    if n >= len(alloc):
        assert all(v >= 1 for v in alloc.values())


@given(
    st.lists(
        st.tuples(st.integers(1, 10_000), st.sampled_from("ABCD")),
        max_size=300,
        unique_by=lambda t: t[0],
    ),
    st.floats(0.01, 1.0),
    st.integers(0, 2**31),
)
def test_sample_is_deterministic_by_seed_and_drawn_from_its_strata(
    leads: list[tuple[int, str]], fraction: float, seed: int
) -> None:
    first = stratified_sample(leads, fraction, seed)
    assert first == stratified_sample(list(reversed(leads)), fraction, seed)
    stratum = dict(leads)
    assert all(stratum[s.lead_id] == s.stratum for s in first)
    assert len({s.lead_id for s in first}) == len(first) == sample_size(len(leads), fraction)
    counts = Counter(s.stratum for s in first)
    assert dict(counts) == {
        k: v for k, v in allocate(Counter(stratum.values()), len(first)).items() if v
    }


def test_different_seeds_draw_different_samples() -> None:
    leads = [(i, "AB"[i % 2]) for i in range(1, 401)]
    samples = {tuple(s.lead_id for s in stratified_sample(leads, 0.05, seed)) for seed in range(5)}
    assert len(samples) == 5


def test_small_known_allocation() -> None:
    # 100 leads, 10 %: 70/20/9/1 -> exact 7, 2, 0.9, 0.1 -> 7, 2, 1 then the one-per-stratum rule
    assert allocate({"a": 70, "b": 20, "c": 9, "d": 1}, 10) == {"a": 6, "b": 2, "c": 1, "d": 1}
    assert allocate({"a": 70, "b": 20, "c": 9, "d": 1}, 3) == {"a": 2, "b": 1, "c": 0, "d": 0}


def test_sizes_and_strata_names() -> None:
    assert (sample_size(0, 0.1), sample_size(5, 0.01), sample_size(200, 0.04)) == (0, 1, 8)
    with pytest.raises(ValueError, match="fraction"):
        sample_size(10, 0.0)
    assert stratum_of({"country": "US", "time_zone": None}, ["country", "time_zone"]) == (
        "country=US|time_zone="
    )
    assert stratum_of({}, []) == "all"
