"""Holdings planted the way real ones look, and the generator's other groups do not (GeneratorParams.
holding_share; 0 plants none and leaves every other draw as it was).

A planted holding is a group of several legal entities: the parent, named after a made-up brand
("Корвелзан"), and subsidiaries named "<brand> <line of business>" ("Корвелзан Трейд") registered in
another federal district, each with its own website ("korvelzan-treid.ru"), none linked to the parent
in the CRM, whose people write from the parent's corporate e-mail domain (the group's domain, used by
contacts, leads and web forms as for every group). Branches (the head's INN and their own KPP) stay
what they are. Everything here draws from its own random stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sample_exports import names
from sample_exports.params import GeneratorParams, rng_for

# the federal district of each office's regions: a subsidiary goes to an office of another one
OFFICE_DISTRICT = {
    "MSK": "central", "SPB": "north-west", "EKB": "ural", "NSK": "siberia", "KZN": "volga",
    "NNV": "volga", "KRD": "south", "VLD": "far-east",
}  # fmt: skip


def plant_holdings(
    p: GeneratorParams,
    seed: int,
    form: np.ndarray,
    native: list[str],
    other: list[str],
    region: np.ndarray,
    branch: np.ndarray,
    group_start: np.ndarray,
    group_size: np.ndarray,
    group_name: list[str],
    domain: list[str],
    offices: list[tuple[str, ...]],
    office_regions: dict[str, Sequence[int]],
    region_office: np.ndarray,
) -> tuple[np.ndarray, list[str | None]]:
    """Turn a share of the multi-entity groups into planted holdings, in place (names, regions, group
    names, domains, offices). Returns (whether each group is a planted holding, each entity's own
    website or None: the group's)."""
    n_groups, n_entities = len(group_name), len(native)
    planted = np.zeros(n_groups, dtype=bool)
    sites: list[str | None] = [None] * n_entities
    if p.holding_share <= 0:
        return planted, sites
    rng = rng_for(seed, "holdings")
    used = {name.lower() for name in group_name}
    for g in range(n_groups):
        start, size = int(group_start[g]), int(group_size[g])
        members = [
            e for e in range(start + 1, start + size) if not branch[e] and form[e] != names.INDIVIDUAL_FORM
        ]
        if not members or form[start] == names.INDIVIDUAL_FORM or rng.random() >= p.holding_share:
            continue
        planted[g] = True
        brand, latin = names.brand_root(rng)
        while brand.lower() in used:
            brand, latin = names.brand_root(rng)
        used.add(brand.lower())
        for e in range(start, start + size):
            if e == start or branch[e]:  # the parent and its branches carry the brand alone
                native[e], other[e] = brand, latin
        group_name[g] = brand
        domain[g] = f"{latin.lower()}.ru"
        home = OFFICE_DISTRICT[region_office[region[start]]]
        away = [o for o in sorted(OFFICE_DISTRICT) if OFFICE_DISTRICT[o] != home]
        # each subsidiary its own line of business: two companies of one name would be namesakes
        lines = rng.permutation(len(names.HOLDING_QUALIFIERS))
        for k, e in enumerate(members):
            qualifier = names.HOLDING_QUALIFIERS[int(lines[k % len(lines)])]
            native[e] = f"{brand} {qualifier}"
            other[e] = f"{latin} {names.transliterate(qualifier)}"
            office = names.pick(rng, away)
            region[e] = names.pick(rng, office_regions[office])
            if office not in offices[g]:
                offices[g] = (*offices[g], office)
            sites[e] = f"{latin.lower()}-{names.transliterate(qualifier).lower()}.ru"
    return planted, sites
