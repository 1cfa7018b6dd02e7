"""The world behind the exports: the supplier's staff and partners, client groups, their legal entities,
and each group's life as a customer (first purchase, churn with its behavioural trail, win-back).

Everything here is a column-oriented numpy structure indexed by position; days are days since
1970-01-01 (`NEVER` when something does not happen). Later stages (crm, finance, web) read these
arrays and never change the population, except that lead conversions make prospects customers
(`Groups.become_customers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from sample_exports import clock, names
from sample_exports.holdings import plant_holdings
from sample_exports.inn import corrupt_inn, generate_inns, generate_kpp
from sample_exports.params import NEVER, GeneratorParams, Sizes, Window, rng_for

# name, INN region code, office, phone area code, weight
REGIONS: tuple[tuple[str, int, str, str, float], ...] = (
    ("Москва", 77, "MSK", "495", 0.28),
    ("Московская область", 50, "MSK", "496", 0.07),
    ("Санкт-Петербург", 78, "SPB", "812", 0.12),
    ("Ленинградская область", 47, "SPB", "813", 0.02),
    ("Свердловская область", 66, "EKB", "343", 0.07),
    ("Челябинская область", 74, "EKB", "351", 0.04),
    ("Новосибирская область", 54, "NSK", "383", 0.06),
    ("Томская область", 70, "NSK", "382", 0.02),
    ("Республика Татарстан", 16, "KZN", "843", 0.06),
    ("Самарская область", 63, "KZN", "846", 0.04),
    ("Нижегородская область", 52, "NNV", "831", 0.05),
    ("Краснодарский край", 23, "KRD", "861", 0.06),
    ("Ростовская область", 61, "KRD", "863", 0.04),
    ("Приморский край", 25, "VLD", "423", 0.04),
    ("Хабаровский край", 27, "VLD", "421", 0.03),
)
REGION_NAMES = tuple(r[0] for r in REGIONS)
REGION_OFFICE = np.array([r[2] for r in REGIONS], dtype=object)
REGION_WEIGHTS = np.array([r[4] for r in REGIONS])
OFFICE_CODES = ("MSK", "SPB", "EKB", "NSK", "KZN", "NNV", "KRD", "VLD")
# How the CRM writes a region now and then (the canonical name otherwise)
REGION_CRM_VARIANTS = {
    "Москва": ("г. Москва", "Moscow", "МОСКВА"),
    "Санкт-Петербург": ("СПб", "г. Санкт-Петербург", "St. Petersburg"),
    "Республика Татарстан": ("Татарстан", "РТ"),
    "Свердловская область": ("Свердловская обл.", "Екатеринбург"),
    "Новосибирская область": ("Новосибирская обл.", "Новосибирск"),
}
INDUSTRIES = (
    "Производство", "Розничная торговля", "Оптовая торговля", "Строительство", "Логистика", "Финансы",
    "ИТ", "Медицина", "Образование", "Энергетика", "Сельское хозяйство", "Госсектор",
)  # fmt: skip
SUPPLIER_DOMAIN = "sfera-it.ru"

MANAGER_ROLES = ("sales_manager", "account_manager")

# engagement level after churn (until won back), by kind of behaviour
TRAIL_RAMP = 0.3  # share of the trail over which disengagement ramps up to its full strength
AFTER_CHURN = {"purchase": 0.0, "activity": 0.12, "web": 0.12, "ticket": 0.05}


def office_weights() -> dict[str, float]:
    w: dict[str, float] = {}
    for _, _, office, _, weight in REGIONS:
        w[office] = w.get(office, 0.0) + weight
    return w


@dataclass
class Users:
    user_id: np.ndarray
    full_name: np.ndarray
    email: np.ndarray
    office: np.ndarray
    role: np.ndarray
    hired_day: np.ndarray
    left_day: np.ndarray  # NEVER while employed
    reassigned_to: np.ndarray  # index of the manager who took over the accounts, -1

    def __len__(self) -> int:
        return len(self.user_id)

    @property
    def is_manager(self) -> np.ndarray:
        return np.isin(self.role, MANAGER_ROLES)

    def employed(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (self.hired_day[idx] <= day) & (day < self.left_day[idx])

    def pick_employed(
        self, rng: np.random.Generator, roles: tuple[str, ...], office: np.ndarray, day: np.ndarray
    ) -> np.ndarray:
        """For each (office, day): a random user with one of `roles` employed that day, from that office
        when it has one."""
        office = np.asarray(office, dtype=object)
        day = np.asarray(day, dtype=np.int64)
        cand = np.flatnonzero(np.isin(self.role, roles))
        # a (query x candidate) score: employed and same office first, employed elsewhere next
        emp = (self.hired_day[cand][None, :] <= day[:, None]) & (day[:, None] < self.left_day[cand][None, :])
        same = self.office[cand][None, :] == office[:, None]
        score = rng.random((len(day), len(cand))) + emp * 2.0 + (emp & same) * 2.0
        return cand[np.argmax(score, axis=1)]

    def owner_at(self, owner0: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Who owns a record first owned by `owner0` on `day`: the reassignee once the owner has left."""
        left = self.left_day[owner0]
        return np.where(day >= left, self.reassigned_to[owner0], owner0)


@dataclass
class Partners:
    partner_id: np.ndarray
    name: np.ndarray
    partner_type: np.ndarray  # tier: distributor, reseller, agent
    inn: np.ndarray
    region: np.ndarray
    office: np.ndarray
    parent: np.ndarray  # index of the partner above it in the chain, -1 for the top
    commission_percent: np.ndarray  # hundredths of a percent of the deal amount (a decimal column)

    def chain(self, p: int) -> list[int]:
        """The partner and those above it, nearest first."""
        out = [p]
        while self.parent[out[-1]] >= 0 and len(out) < 8:
            out.append(int(self.parent[out[-1]]))
        return out


@dataclass
class Groups:
    n: int
    name: list[str]  # canonical group name (stem of the head entity)
    size_z: np.ndarray  # standardised log size: drives volumes and outcomes
    region: np.ndarray  # index into REGIONS
    industry: np.ndarray
    domain: list[str]
    offices: list[tuple[str, ...]]
    ent_start: np.ndarray
    ent_count: np.ndarray
    existing: np.ndarray  # already a customer when the window starts
    first_purchase: np.ndarray
    churn: np.ndarray
    won_back: np.ndarray
    trail_days: np.ndarray
    trail_strength: np.ndarray
    quiet_start: np.ndarray
    quiet_end: np.ndarray
    quiet_strength: np.ndarray
    purchase_rate: np.ndarray  # purchases per active month before trend and season
    amount_scale: np.ndarray
    cost_scale: np.ndarray  # the group's cost share relative to the product line's (discounts, terms)
    activity_rate: np.ndarray
    web_rate: np.ndarray
    ticket_rate: np.ndarray
    first_entity: np.ndarray  # entity that buys first (the lead's entity for new customers)
    partner: np.ndarray  # index of the partner the group buys through, -1 when it buys direct
    planted_holding: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))  # holdings.py

    @cached_property
    def group_id(self) -> np.ndarray:
        return clock.numbered_ids("G", self.n, 5)

    def distress(self, g: np.ndarray, day: np.ndarray) -> np.ndarray:
        """0 normally; over the months before churn it rises to `trail_strength`, reached a third of
        the way into the trail (clients disengage early, then linger until they stop buying)."""
        start = self.churn[g] - self.trail_days[g]
        frac = np.clip((day - start) / np.maximum(self.trail_days[g], 1) / TRAIL_RAMP, 0.0, 1.0)
        in_trail = (day >= start) & (day < self.churn[g])
        return np.where(in_trail, self.trail_strength[g] * frac, 0.0)

    def churned_at(self, g: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day >= self.churn[g]) & (day < self.won_back[g])

    def engagement(self, g: np.ndarray, day: np.ndarray, kind: str) -> np.ndarray:
        """How active a customer group is on `day` relative to its normal level (0..1).

        0 before the first purchase; lowered during a quiet period; declining through the churn
        trail; `AFTER_CHURN[kind]` between churn and win-back.
        """
        day = np.asarray(day, dtype=np.float64)
        level = 1.0 - self.distress(g, day)
        quiet = (day >= self.quiet_start[g]) & (day < self.quiet_end[g])
        level = np.where(quiet, level * (1.0 - self.quiet_strength[g]), level)
        level = np.where(self.churned_at(g, day), AFTER_CHURN[kind], level)
        return np.where(day < self.first_purchase[g], 0.0, level)

    def is_customer_at(self, g: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day >= self.first_purchase[g]) & ~self.churned_at(g, day)


@dataclass
class Entities:
    n: int
    group: np.ndarray
    is_head: np.ndarray
    form: np.ndarray  # ООО, АО, ПАО, ЗАО, ИП
    native: list[str]  # canonical name in the company's own script
    other: list[str]  # the same in the other script
    region: np.ndarray
    office: np.ndarray
    inn: np.ndarray  # as known everywhere ('' when missing)
    inn_valid: np.ndarray
    kpp: np.ndarray
    is_branch: np.ndarray
    join_day: np.ndarray  # first day the entity can buy (new customers add entities over time)
    site: list[str | None] = field(default_factory=list)  # its own website (None: the group's domain)

    @cached_property
    def entity_id(self) -> np.ndarray:
        return clock.numbered_ids("E", self.n, 6)

    def name(self, i: int, rng: np.random.Generator, profile: str) -> str:
        return names.company_name(self.native[i], self.other[i], self.form[i], rng, profile)


@dataclass
class World:
    params: GeneratorParams
    sizes: Sizes
    window: Window
    seed: int
    users: Users
    partners: Partners
    groups: Groups
    entities: Entities


# ---------------------------------------------------------------------------- users
def build_users(p: GeneratorParams, sizes: Sizes, win: Window, seed: int) -> Users:
    rng = rng_for(seed, "users")
    S, E = win.start_day, win.end_day
    ow = office_weights()
    offices_by_weight = sorted(OFFICE_CODES, key=lambda o: -ow[o])
    rows: list[dict] = []

    def add(role: str, office: str, hired: int, left: int = NEVER) -> int:
        rows.append({"role": role, "office": office, "hired": hired, "left": left, "re": -1})
        return len(rows) - 1

    probs = np.array([ow[o] for o in OFFICE_CODES])
    for i in range(sizes.n_sales_managers):
        office = offices_by_weight[i] if i < len(offices_by_weight) else names.pick(rng, OFFICE_CODES, probs)
        role = MANAGER_ROLES[int(rng.random() < 0.4)]
        hired = S - int(rng.integers(60, 2500)) if rng.random() < 0.85 else S + int(rng.integers(0, 700))
        add(role, office, hired)
    # leavers: managers hired before the window, a replacement hired around their leaving
    managers = [i for i, r in enumerate(rows) if r["hired"] < S]
    n_leave = int(round(p.manager_leave_share * len(managers)))
    leavers = rng.choice(managers, size=min(n_leave, max(0, len(managers) - 2)), replace=False)
    for i in sorted(leavers.tolist()):
        left = int(rng.integers(S + 120, E - 45))
        rows[i]["left"] = left
        add(rows[i]["role"], rows[i]["office"], left - int(rng.integers(0, 45)))
    for i in sorted(leavers.tolist()):
        left = rows[i]["left"]
        stay = [
            j
            for j, r in enumerate(rows)
            if r["role"] in MANAGER_ROLES and r["left"] == NEVER and r["hired"] <= left
        ]
        local = [j for j in stay if rows[j]["office"] == rows[i]["office"]]
        rows[i]["re"] = int(names.pick(rng, local or stay))
    for _ in range(sizes.n_support_agents):
        hired = S - int(rng.integers(30, 2000))
        left = int(rng.integers(S + 60, E)) if rng.random() < 0.15 else NEVER
        add("support_agent", "MSK" if rng.random() < 0.6 else names.pick(rng, OFFICE_CODES), hired, left)
    for _ in range(sizes.n_marketers):
        add("marketing", "MSK" if rng.random() < 0.7 else "SPB", S - int(rng.integers(30, 2000)))

    n = len(rows)
    full_name, email = [], []
    for _ in range(n):
        last, first, patronymic, _ = names.person(rng)
        full_name.append(f"{last} {first} {patronymic}" if rng.random() < 0.6 else f"{first} {last}")
        email.append(
            f"{names.transliterate(first)[0].lower()}.{names.transliterate(last).lower()}@{SUPPLIER_DOMAIN}"
        )
    # colleagues with the same name get distinct addresses
    seen: dict[str, int] = {}
    for i, e in enumerate(email):
        if e in seen:
            seen[e] += 1
            local, _, dom = e.partition("@")
            email[i] = f"{local}{seen[e]}@{dom}"
        else:
            seen[e] = 1
    return Users(
        user_id=clock.numbered_ids("USR-", n, 4),
        full_name=np.array(full_name, dtype=object),
        email=np.array(email, dtype=object),
        office=np.array([r["office"] for r in rows], dtype=object),
        role=np.array([r["role"] for r in rows], dtype=object),
        hired_day=np.array([r["hired"] for r in rows], dtype=np.int64),
        left_day=np.array([r["left"] for r in rows], dtype=np.int64),
        reassigned_to=np.array([r["re"] for r in rows], dtype=np.int64),
    )


# ---------------------------------------------------------------------------- partners
# tiers and their shares; commission percent range by tier
PARTNER_TIER_SHARES = {"distributor": 0.12, "reseller": 0.58, "agent": 0.30}
PARTNER_COMMISSION = {"distributor": (4.0, 8.0), "reseller": (8.0, 15.0), "agent": (12.0, 25.0)}


def build_partners(sizes: Sizes, seed: int) -> Partners:
    """Partners in chains: distributors at the top, resellers (most under a distributor), agents
    (under a reseller, now and then straight under a distributor)."""
    rng = rng_for(seed, "partners")
    n = sizes.n_partners
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    inns = generate_inns(rng, np.array([REGIONS[r][1] for r in region]), np.zeros(n, dtype=bool)).astype(
        object
    )
    name = []
    for i in range(n):
        native, other = names.company_stem(rng, latin=rng.random() < 0.3)
        form = names.pick(rng, names.ORG_FORMS, names.ORG_FORM_WEIGHTS)
        name.append(names.company_name(native, other, form, rng, "crm"))
        r = rng.random()
        if r < 0.05:
            inns[i] = corrupt_inn(inns[i], rng)  # flagged by ingest, not quarantined
        elif r < 0.1:
            inns[i] = None
    tier_rng = rng_for(seed, "partner_chains")
    tiers = np.array(list(PARTNER_TIER_SHARES), dtype=object)
    tier = tiers[clock.choice_p(tier_rng, n, list(PARTNER_TIER_SHARES.values()))]
    tier[0] = "distributor"  # every chain can start somewhere
    office = REGION_OFFICE[region]
    parent = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        above = ("distributor",) if tier[i] == "reseller" else ("reseller", "distributor")
        if tier[i] == "distributor" or tier_rng.random() < 0.2:
            continue  # a distributor, or a partner working alone
        pool = np.flatnonzero(
            np.isin(tier, above[:1] if tier_rng.random() < 0.85 else above) & (np.arange(n) != i)
        )
        local = pool[office[pool] == office[i]]
        pool = local if len(local) and tier_rng.random() < 0.7 else pool
        if len(pool):
            parent[i] = int(pool[int(tier_rng.integers(len(pool)))])
    lo = np.array([PARTNER_COMMISSION[t][0] for t in tier])
    hi = np.array([PARTNER_COMMISSION[t][1] for t in tier])
    commission = np.round(lo + tier_rng.random(n) * (hi - lo), 1)
    return Partners(
        partner_id=clock.numbered_ids("PRT-", n, 4),
        name=np.array(name, dtype=object),
        partner_type=tier,
        inn=inns,
        region=np.array([REGION_NAMES[r] for r in region], dtype=object),
        office=office,
        parent=_no_cycles(parent),
        commission_percent=(commission * 100).astype(np.int64),
    )


def _no_cycles(parent: np.ndarray) -> np.ndarray:
    """Cut the link that closes a loop (an agent under a reseller under that agent cannot happen; two
    resellers' agents can point at each other's parents only through a reseller, but be sure)."""
    parent = parent.copy()
    for i in range(len(parent)):
        seen, p = {i}, parent[i]
        while p >= 0:
            if p in seen:
                parent[i] = -1
                break
            seen.add(int(p))
            p = parent[p]
    return parent


# ---------------------------------------------------------------------------- groups and entities
_OFFICE_REGIONS = {o: [i for i, r in enumerate(REGIONS) if r[2] == o] for o in OFFICE_CODES}


@dataclass
class _EntityDraft:
    """Entities being drawn, group by group: legal form, names, region, branch."""

    form: np.ndarray
    native: list[str]
    other: list[str]
    region: np.ndarray
    branch: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _EntityDraft:
        return cls(
            np.empty(n, dtype=object),
            [""] * n,
            [""] * n,
            np.empty(n, dtype=np.int64),
            np.zeros(n, dtype=bool),
        )


def build_groups_and_entities(
    p: GeneratorParams, sizes: Sizes, win: Window, seed: int
) -> tuple[Groups, Entities]:
    rng = rng_for(seed, "groups")
    n = sizes.n_groups
    w = np.array(p.entities_per_group_weights, dtype=float)
    n_ent = rng.choice(np.arange(1, len(w) + 1), size=n, p=w / w.sum())
    log_n = np.log(n_ent)
    size_z = 0.55 * (log_n - log_n.mean()) / max(log_n.std(), 1e-9) + rng.normal(0.0, 0.83, n)
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    industry = rng.integers(0, len(INDUSTRIES), n)
    latin = rng.random(n) < p.latin_name_share
    logit = np.log(p.existing_customer_share / (1 - p.existing_customer_share)) + 0.5 * size_z
    existing = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    ent_start = np.concatenate([[0], np.cumsum(n_ent)[:-1]]).astype(np.int64)
    n_total = int(n_ent.sum())
    e_group = np.repeat(np.arange(n), n_ent)
    ents = _EntityDraft.empty(n_total)
    g_name: list[str] = []
    domain: list[str] = []
    offices: list[tuple[str, ...]] = []
    used_domains: set[str] = set()
    for g in range(n):
        stem_native, stem_other = names.company_stem(rng, bool(latin[g]))
        if latin[g]:
            stem_native, stem_other = stem_other, stem_native
        g_name.append(stem_native)
        domain.append(_unique_domain(stem_other if not latin[g] else stem_native, used_domains, rng))
        offices.append(_group_offices(p, REGIONS[region[g]][2], n_ent[g], rng))
        quals = list(rng.permutation(len(names.QUALIFIERS)))
        group = _Group(
            ent_start[g], n_ent[g], offices[g], region[g], size_z[g], latin[g], stem_native, stem_other
        )
        for k in range(n_ent[g]):
            _draw_entity(p, ents, group, k, quals, rng)

    planted, sites = plant_holdings(
        p, seed, ents.form, ents.native, ents.other, ents.region, ents.branch, ent_start, n_ent, g_name,
        domain, offices, _OFFICE_REGIONS, REGION_OFFICE,
    )  # fmt: skip
    inn, kpp, inn_valid = _tax_ids(p, ents, ent_start[e_group], rng)
    groups = _groups(p, g_name, size_z, region, industry, domain, offices, ent_start, n_ent, existing, rng)
    groups.planted_holding = planted
    e_head = np.zeros(n_total, dtype=bool)
    e_head[ent_start] = True
    entities = Entities(
        n=n_total,
        group=e_group,
        is_head=e_head,
        form=ents.form,
        native=ents.native,
        other=ents.other,
        region=ents.region,
        office=REGION_OFFICE[ents.region],
        inn=inn,
        inn_valid=inn_valid,
        kpp=kpp,
        is_branch=ents.branch,
        join_day=np.full(n_total, -NEVER, dtype=np.int64),
        site=sites,
    )
    groups.cost_scale = np.exp(0.06 * size_z + rng_for(seed, "cost_scale").normal(0.0, 0.08, n))
    existing_idx = np.flatnonzero(existing)
    groups.first_purchase[existing_idx] = win.start_day - rng.integers(60, 2500, len(existing_idx))
    assign_churn(groups, existing_idx, p, win, rng_for(seed, "churn", "existing"))
    return groups, entities


def _unique_domain(stem: str, used: set[str], rng: np.random.Generator) -> str:
    """A website belongs to one company: a taken domain gets a numbered variant, as real namesakes
    register (stroiteh2.ru). No random draw, so the rest of the data is unchanged."""
    candidate = names.company_domain(stem, rng)
    name_part, dot, zone = candidate.partition(".")
    suffix = 2
    while candidate in used:
        candidate = f"{name_part}{suffix}{dot}{zone}"
        suffix += 1
    used.add(candidate)
    return candidate


def _group_offices(p: GeneratorParams, home: str, n_ent: int, rng: np.random.Generator) -> tuple[str, ...]:
    """The home office of a group, and for some groups of several entities one or two more."""
    offices = [home]
    if n_ent >= 2 and rng.random() < p.multi_office_share:
        extra = [o for o in OFFICE_CODES if o != home]
        k = 1 + int(rng.random() < 0.25 and n_ent >= 3)
        offices += list(rng.choice(extra, size=k, replace=False))
    return tuple(offices)


class _Group(NamedTuple):
    """What a group's entities are drawn from."""

    start: int  # its first entity, the head
    n_ent: int
    offices: tuple[str, ...]  # home office first
    region: int
    size_z: float
    latin: bool
    stem_native: str
    stem_other: str


def _draw_entity(
    p: GeneratorParams, ents: _EntityDraft, g: _Group, k: int, quals: list[int], rng: np.random.Generator
) -> None:
    """The k-th entity of a group (the first is its head): region, legal form (or an individual
    entrepreneur), name, branch."""
    e, head = g.start + k, g.start
    if k == 0:
        ents.region[e] = g.region
        individual = g.n_ent == 1 and g.size_z < 0.3 and rng.random() < p.individual_share_single
    else:
        home = g.offices[0]
        off = g.offices[k % len(g.offices)] if len(g.offices) > 1 else home
        same = off == home and rng.random() < 0.7
        ents.region[e] = g.region if same else names.pick(rng, _OFFICE_REGIONS[off])
        individual = rng.random() < p.individual_share_member
    if individual:
        last, first, patronymic, _ = names.person(rng)
        ents.form[e] = names.INDIVIDUAL_FORM
        ents.native[e] = f"{last} {first} {patronymic}"
        ents.other[e] = names.transliterate(ents.native[e])
        return
    weights = (0.55, 0.25, 0.08, 0.12) if g.size_z > 1.2 else names.ORG_FORM_WEIGHTS
    ents.form[e] = names.pick(rng, names.ORG_FORMS, weights)
    if k == 0:
        ents.native[e], ents.other[e] = g.stem_native, g.stem_other
    elif ents.form[head] != names.INDIVIDUAL_FORM and rng.random() < p.branch_share:
        ents.branch[e] = True
        ents.form[e] = ents.form[head]
        ents.native[e], ents.other[e] = ents.native[head], ents.other[head]
    elif rng.random() < p.unrelated_name_share:
        latin_stem = bool(g.latin) and rng.random() < 0.5
        cyrillic, latin_spelling = names.company_stem(rng, latin_stem)
        ents.native[e], ents.other[e] = (
            (latin_spelling, cyrillic) if latin_stem else (cyrillic, latin_spelling)
        )
    else:
        q = names.QUALIFIERS[quals[k % len(quals)]]
        ents.native[e] = f"{g.stem_native} {q if not g.latin else names.transliterate(q)}"
        ents.other[e] = f"{g.stem_other} {names.transliterate(q) if not g.latin else q}"


def _tax_ids(
    p: GeneratorParams, ents: _EntityDraft, head_of: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(INN, KPP, INN valid) of each entity. KPP by the tax office where the entity is registered; a
    branch (reason 43) sits under its head's INN (`head_of`: the group's first entity)."""
    n = len(ents.form)
    individual = ents.form == names.INDIVIDUAL_FORM
    region_code = np.array([REGIONS[r][1] for r in ents.region])
    inn = generate_inns(rng, region_code, individual).astype(object)
    tax_office = region_code * 100 + rng.integers(1, 50, n)
    kpp = generate_kpp(tax_office, ents.branch).astype(object)
    kpp[individual] = ""
    u = rng.random(n)
    invalid = (u < p.invalid_inn_share) & ~ents.branch
    missing = (u >= p.invalid_inn_share) & (u < p.invalid_inn_share + p.missing_inn_share) & ~ents.branch
    for e in np.flatnonzero(invalid):
        inn[e] = corrupt_inn(inn[e], rng)
    inn[missing] = ""
    branch_of_bad = ents.branch & (invalid | missing)[head_of]
    inn[ents.branch] = inn[head_of[ents.branch]]
    return inn, kpp, ~(invalid | missing | branch_of_bad)


def _groups(
    p: GeneratorParams,
    g_name: list[str],
    size_z: np.ndarray,
    region: np.ndarray,
    industry: np.ndarray,
    domain: list[str],
    offices: list[tuple[str, ...]],
    ent_start: np.ndarray,
    n_ent: np.ndarray,
    existing: np.ndarray,
    rng: np.random.Generator,
) -> Groups:
    """The groups, not customers yet (no first purchase, churn or quiet period), with their rates."""
    n = len(g_name)
    size_noise = rng.normal(0.0, 0.3, (4, n))
    never = {f: np.full(n, NEVER, dtype=np.int64) for f in ("first_purchase", "churn", "won_back")}
    return Groups(
        n=n,
        name=g_name,
        size_z=size_z,
        region=region,
        industry=industry,
        domain=domain,
        offices=offices,
        ent_start=ent_start,
        ent_count=n_ent.astype(np.int64),
        existing=existing,
        **never,
        trail_days=np.zeros(n, dtype=np.int64),
        trail_strength=np.zeros(n),
        quiet_start=np.full(n, NEVER, dtype=np.int64),
        quiet_end=np.full(n, NEVER, dtype=np.int64),
        quiet_strength=np.zeros(n),
        purchase_rate=p.purchases_per_customer_month
        * np.exp(p.purchase_size_elasticity * size_z + size_noise[0]),
        amount_scale=np.exp(0.35 * size_z + size_noise[1]),
        # big clients get discounts, so the same goods cost a larger share of what they pay
        cost_scale=np.ones(n),  # drawn apart (build_groups_and_entities), the other draws unchanged
        activity_rate=p.activities_per_customer_month * np.exp(0.3 * size_z + size_noise[2]),
        web_rate=p.customer_sessions_per_month * np.exp(0.3 * size_z + size_noise[3]),
        ticket_rate=p.tickets_per_customer_month * np.exp(0.3 * size_z),
        first_entity=ent_start.copy(),
        partner=np.full(n, -1, dtype=np.int64),
    )


def assign_churn(
    groups: Groups, idx: np.ndarray, p: GeneratorParams, win: Window, rng: np.random.Generator
) -> None:
    """Decide churn, trail, win-back and quiet periods for the customer groups `idx` (first purchase set)."""
    S, E = win.start_day, win.end_day
    k = len(idx)
    lo = np.maximum(S + 200, groups.first_purchase[idx] + 270)
    hi = E - 20
    can = lo < hi
    churns = can & (rng.random(k) < p.churn_share)
    churn_day = (lo + rng.random(k) * (hi - lo)).astype(np.int64)
    silent = rng.random(k) < p.silent_churn_share
    strength = np.where(silent, rng.uniform(0.1, 0.3, k), rng.uniform(0.7, 0.95, k))
    trail = rng.integers(p.trail_days[0], p.trail_days[1] + 1, k)
    back_room = hi - 30 - churn_day
    back = churns & (back_room > 150) & (rng.random(k) < p.won_back_share)
    back_day = (
        churn_day + 150 + (rng.random(k) * np.maximum(np.minimum(back_room, 540) - 150, 0)).astype(np.int64)
    )
    groups.churn[idx] = np.where(churns, churn_day, NEVER)
    groups.trail_days[idx] = np.where(churns, trail, 0)
    groups.trail_strength[idx] = np.where(churns, strength, 0.0)
    groups.won_back[idx] = np.where(back, back_day, NEVER)
    quiet = ~churns & (rng.random(k) < p.quiet_period_share)
    q_start = (np.maximum(S, groups.first_purchase[idx] + 60) + rng.random(k) * (E - 150 - S)).astype(
        np.int64
    )
    q_len = rng.integers(60, 150, k)
    groups.quiet_start[idx] = np.where(quiet, q_start, NEVER)
    groups.quiet_end[idx] = np.where(quiet, q_start + q_len, NEVER)
    groups.quiet_strength[idx] = np.where(quiet, rng.uniform(0.25, 0.5, k), 0.0)


def assign_partners(groups: Groups, partners: Partners, idx: np.ndarray, seed: int, label: str = "") -> None:
    """Give the groups `idx` a partner to buy through: one of their home office's partners mostly
    (resellers and agents sell to end users; a distributor now and then sells direct)."""
    rng = rng_for(seed, "group_partner_choice", label)
    sells = np.where(partners.partner_type == "distributor", 0.25, 1.0)
    home = REGION_OFFICE[groups.region[idx]]
    for g, office in zip(idx.tolist(), home.tolist(), strict=True):
        local = partners.office == office
        w = sells * (local if local.any() and rng.random() < 0.8 else 1.0)
        groups.partner[g] = int(rng.choice(len(w), p=w / w.sum()))


def build_world(p: GeneratorParams, sizes: Sizes, win: Window, seed: int) -> World:
    users = build_users(p, sizes, win, seed)
    partners = build_partners(sizes, seed)
    groups, entities = build_groups_and_entities(p, sizes, win, seed)
    assign_partners(
        groups,
        partners,
        np.flatnonzero(rng_for(seed, "group_partners").random(groups.n) < p.partner_group_share),
        seed,
    )
    return World(
        params=p,
        sizes=sizes,
        window=win,
        seed=seed,
        users=users,
        partners=partners,
        groups=groups,
        entities=entities,
    )
