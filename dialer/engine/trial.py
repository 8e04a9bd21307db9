"""Trial mode's sample: a random stratified sample of a campaign's dialable leads (pure code).

A trial dials a small sample of the list first, to measure the list (hit rate, machines, talk
time...) before the whole of it is dialled. The sample is stratified by lead fields (country,
time zone, ...) with proportional allocation, so the measure is not skewed by whichever segment
happens to come first in the list:

* ``n = round(fraction x N)`` leads, at least one when the list is not empty;
* stratum ``h`` of ``N_h`` leads gets ``floor(n N_h / N)``, and the leads left over go to the
  largest remainders (Hamilton's method, exact integer arithmetic; ties by stratum name);
* when ``n`` is at least the number of strata, every stratum gets at least one lead: an empty
  stratum takes one from the stratum most over its exact share;
* within each stratum the leads are drawn by a ``random.Random(seed)``, strata in name order and
  leads in id order, so one seed always gives the same sample.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class SampledLead:
    lead_id: int
    stratum: str


def sample_size(population: int, fraction: float) -> int:
    """How many leads a trial of ``fraction`` of ``population`` leads dials."""
    if population <= 0:
        return 0
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"sample fraction must be in (0, 1], got {fraction}")
    return min(population, max(1, round(fraction * population)))


def allocate(strata: Mapping[str, int], n: int) -> dict[str, int]:
    """Leads to draw from each stratum (sizes ``strata``) for a sample of ``n`` (see module)."""
    sizes = {k: v for k, v in strata.items() if v > 0}
    total = sum(sizes.values())
    if n < 0 or n > total:
        raise ValueError(f"sample of {n} from {total} leads")
    if n == 0:
        return dict.fromkeys(sizes, 0)
    alloc = {k: n * v // total for k, v in sizes.items()}
    left = n - sum(alloc.values())
    by_remainder = sorted(sizes, key=lambda k: (-(n * sizes[k] % total), k))
    for key in by_remainder[:left]:
        alloc[key] += 1
    if n >= len(sizes):
        share = {k: Fraction(n * v, total) for k, v in sizes.items()}
        for empty in sorted((k for k in sizes if alloc[k] == 0), key=lambda k: (-share[k], k)):
            donor = max(
                (k for k in sizes if alloc[k] >= 2),
                key=lambda k: (alloc[k] - share[k], alloc[k], k),
            )
            alloc[donor] -= 1
            alloc[empty] = 1
    return alloc


def stratified_sample(
    leads: Iterable[tuple[int, str]], fraction: float, seed: int
) -> list[SampledLead]:
    """Draw the trial sample from ``(lead_id, stratum)`` pairs; sorted by stratum, then lead."""
    members: dict[str, list[int]] = {}
    for lead_id, stratum in leads:
        members.setdefault(stratum, []).append(lead_id)
    population = sum(len(ids) for ids in members.values())
    alloc = allocate({k: len(v) for k, v in members.items()}, sample_size(population, fraction))
    rng = random.Random(seed)
    sample: list[SampledLead] = []
    for stratum in sorted(members):
        ids = sorted(members[stratum])
        chosen = sorted(rng.sample(ids, alloc.get(stratum, 0)))
        sample.extend(SampledLead(lead_id, stratum) for lead_id in chosen)
    return sample


def stratum_of(values: Mapping[str, object], fields: Iterable[str]) -> str:
    """The stratum name of a lead from its ``fields`` values: ``country=US|time_zone=...``
    (``all`` when stratified by nothing; a missing value is empty)."""
    parts = [f"{f}={'' if values.get(f) is None else values.get(f)}" for f in fields]
    return "|".join(parts) if parts else "all"
