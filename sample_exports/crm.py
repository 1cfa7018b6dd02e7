"""CRM records: accounts (with owners, parents and duplicates), contacts (who move and go quiet), deals
and their stage history; plus the export tables of the CRM snapshot entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ingest.contracts import LEAD_CHANNELS
from sample_exports import clock, names
from sample_exports.campaigns import Campaigns
from sample_exports.leads import (
    LEAD_STATUSES,
    LOST_REASONS,
    OUTCOME_LOST,
    OUTCOME_NONE,
    OUTCOME_OPEN,
    OUTCOME_WON,
    PRODUCT_BASE_RUB,
    Leads,
    deal_cycle_days,
)
from sample_exports.params import NEVER, SECONDS_PER_DAY, rng_for
from sample_exports.world import INDUSTRIES, REGION_CRM_VARIANTS, REGION_NAMES, REGIONS, World
from sample_exports.writers import Table

MANAGERS = ("sales_manager", "account_manager")
DEAL_STAGES = ("qualification", "proposal", "negotiation", "won", "lost")


def _region_text(rng: np.random.Generator, region_idx: np.ndarray, variant_share: float) -> np.ndarray:
    out = np.array([REGION_NAMES[r] for r in region_idx], dtype=object)
    for i in np.flatnonzero(rng.random(len(out)) < variant_share):
        out[i] = names.pick(rng, REGION_CRM_VARIANTS.get(out[i], (out[i],)))
    return out


@dataclass
class Accounts:
    n: int
    entity: np.ndarray
    group: np.ndarray
    created_s: np.ndarray
    is_duplicate: np.ndarray
    parent: np.ndarray  # account index, -1
    name: np.ndarray
    inn: np.ndarray
    kpp: np.ndarray
    region: np.ndarray
    website: np.ndarray
    phone: np.ndarray
    industry: np.ndarray
    owner0: np.ndarray  # owner at creation (user index); reassigned when they leave
    office: np.ndarray
    primary_of_entity: np.ndarray  # entity -> its (first) account, -1
    group_ptr: np.ndarray  # CSR of primary accounts by group
    group_rows: np.ndarray

    @cached_property
    def account_id(self) -> np.ndarray:
        return clock.numbered_ids("ACC-", self.n, 6)

    def created_day(self) -> np.ndarray:
        return self.created_s // SECONDS_PER_DAY

    def of_group_at(self, rng: np.random.Generator, grp: np.ndarray, day: np.ndarray) -> np.ndarray:
        """A random primary account of each group that exists on `day`; -1 when it has none yet."""
        if len(self.group_rows) == 0:
            return np.full(len(grp), -1, dtype=np.int64)
        acc = clock.pick_in_csr(rng, self.group_ptr, self.group_rows, grp)
        created = self.created_day()
        first = self.group_rows[np.minimum(self.group_ptr[grp], len(self.group_rows) - 1)]  # earliest
        has = self.group_ptr[grp + 1] > self.group_ptr[grp]
        acc = np.where((acc >= 0) & (created[np.maximum(acc, 0)] <= day), acc, np.where(has, first, -1))
        return np.where((acc >= 0) & (created[np.maximum(acc, 0)] <= day), acc, -1)


@dataclass
class Contacts:
    n: int
    account: np.ndarray
    group: np.ndarray
    created_s: np.ndarray
    until_day: np.ndarray  # day the person left this account (moved), NEVER
    is_active: np.ndarray  # at the end date
    full_name: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    job_title: np.ndarray
    has_visitor: np.ndarray
    person: list[tuple[str, str, str]]
    account_ptr: np.ndarray
    account_rows: np.ndarray
    group_ptr: np.ndarray
    group_rows: np.ndarray

    @cached_property
    def contact_id(self) -> np.ndarray:
        return clock.numbered_ids("CON-", self.n, 6)

    def _valid(self, c: np.ndarray, day: np.ndarray) -> np.ndarray:
        ok = c >= 0
        cc = np.maximum(c, 0)
        return ok & (self.created_s[cc] // SECONDS_PER_DAY <= day) & (day < self.until_day[cc])

    def of_account_at(self, rng: np.random.Generator, acc: np.ndarray, day: np.ndarray) -> np.ndarray:
        c = clock.pick_in_csr(rng, self.account_ptr, self.account_rows, np.maximum(acc, 0))
        c = np.where(acc >= 0, c, -1)
        return np.where(self._valid(c, day), c, -1)

    def of_group_at(self, rng: np.random.Generator, grp: np.ndarray, day: np.ndarray) -> np.ndarray:
        out = np.full(len(grp), -1, dtype=np.int64)
        for _ in range(3):
            todo = out < 0
            c = clock.pick_in_csr(rng, self.group_ptr, self.group_rows, grp[todo])
            out[todo] = np.where(self._valid(c, day[todo]), c, -1)
        return out


# ---------------------------------------------------------------------------- accounts
def build_accounts(world: World, leads: Leads) -> Accounts:
    p, g, ents = world.params, world.groups, world.entities
    rng = rng_for(world.seed, "accounts")
    acc_day = _account_days(world, leads, rng)
    ent_of, created_s, is_dup = _with_duplicates(world, acc_day, rng)
    n = len(ent_of)
    acc_grp = ents.group[ent_of]
    primary = np.full(ents.n, -1, dtype=np.int64)
    prim_rows = np.flatnonzero(~is_dup)
    primary[ent_of[prim_rows]] = prim_rows
    # parent links: in some holdings every other account points to the head entity's account
    linked_group = rng.random(g.n) < p.parent_link_share
    if g.planted_holding.any():  # planted holdings are not linked in the CRM (sample_exports/holdings.py)
        linked_group &= ~g.planted_holding
    head_acc = primary[g.ent_start[acc_grp]]
    parent = np.where(
        linked_group[acc_grp]
        & ~ents.is_head[ent_of]
        & ~is_dup
        & (head_acc >= 0)
        & (head_acc != np.arange(n)),
        head_acc,
        -1,
    )
    office = ents.office[ent_of]
    owner0 = world.users.pick_employed(rng, MANAGERS, office, created_s // SECONDS_PER_DAY)
    details = _account_details(world, ent_of, acc_grp, is_dup, rng)
    ptr, rows = clock.csr(np.where(is_dup, g.n, acc_grp), g.n + 1)
    return Accounts(
        n=n,
        entity=ent_of,
        group=acc_grp,
        created_s=created_s,
        is_duplicate=is_dup,
        parent=parent,
        **details,
        region=_region_text(rng, ents.region[ent_of], 0.2),
        owner0=owner0,
        office=office,
        primary_of_entity=primary,
        group_ptr=ptr[: g.n + 1],
        group_rows=rows[: ptr[g.n]],
    )


def _account_days(world: World, leads: Leads, rng: np.random.Generator) -> np.ndarray:
    """The day each entity's account is opened (NEVER: none): customers', new customers' (when their
    lead converted) and prospects' (after a lead, or targeted cold)."""
    p, g, ents, win = world.params, world.groups, world.entities, world.window
    E = win.end_day
    acc_day = np.full(ents.n, NEVER, dtype=np.int64)
    covered = (rng.random(ents.n) < p.account_coverage) | ents.is_head
    grp = ents.group
    first = g.first_purchase[grp]
    head_day = first - rng.integers(0, 300, ents.n)
    other_day = np.where(
        g.existing[grp],
        head_day + rng.integers(0, 1500, ents.n),
        ents.join_day - rng.integers(0, 30, ents.n),
    )
    is_customer = first < NEVER
    base = np.where(ents.is_head | (np.arange(ents.n) == g.first_entity[grp]), head_day, other_day)
    acc_day = np.where(covered & is_customer, base, acc_day)
    # new customers: the buying entity's account was opened when its lead converted
    conv = leads.outcome != OUTCOME_NONE
    conv_day = np.where(conv, leads.converted_s // SECONDS_PER_DAY, NEVER)
    np.minimum.at(acc_day, leads.entity, conv_day)
    new_first = ~g.existing[grp] & (np.arange(ents.n) == g.first_entity[grp]) & is_customer
    lead_acc = np.full(ents.n, NEVER, dtype=np.int64)
    np.minimum.at(lead_acc, leads.entity, conv_day)
    acc_day = np.where(new_first, np.minimum(lead_acc, first), acc_day)
    # prospects: sales open accounts for companies they work on (after a lead) or target cold
    first_lead = np.full(ents.n, NEVER, dtype=np.int64)
    np.minimum.at(first_lead, leads.entity, leads.created_s // SECONDS_PER_DAY)
    with_lead = first_lead < NEVER
    cold_day = win.start_day - 700 + (rng.random(ents.n) * (E - win.start_day + 700)).astype(np.int64)
    prospect_day = np.where(with_lead, first_lead + rng.integers(0, 30, ents.n), cold_day)
    share = np.where(with_lead, p.prospect_account_share_with_lead, p.prospect_account_share_cold)
    opened = ~is_customer & (rng.random(ents.n) < share * np.where(ents.is_head, 1.0, 0.4))
    return np.where(opened, np.minimum(acc_day, prospect_day), acc_day)


def _with_duplicates(
    world: World, acc_day: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Accounts opened by the end date, and duplicates: the same entity entered again later under a
    variant name. Returns (entity, created_s, is_duplicate) of each account, in order of creation."""
    E = world.window.end_day
    e_idx = np.flatnonzero(acc_day <= E)
    created_s = clock.office_seconds(rng, acc_day[e_idx])
    dup_day = acc_day[e_idx] + rng.integers(30, 900, len(e_idx))
    dup = (rng.random(len(e_idx)) < world.params.duplicate_account_share) & (dup_day <= E)
    d_idx = e_idx[dup]
    all_ent = np.concatenate([e_idx, d_idx])
    all_created = np.concatenate([created_s, clock.office_seconds(rng, dup_day[dup])])
    is_dup = np.concatenate([np.zeros(len(e_idx), bool), np.ones(len(d_idx), bool)])
    order = np.lexsort((all_ent, all_created))
    return all_ent[order], all_created[order], is_dup[order]


def _account_details(
    world: World, ent_of: np.ndarray, acc_grp: np.ndarray, is_dup: np.ndarray, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """What the CRM holds of each account's company: name, INN, KPP, website, phone, industry."""
    g, ents = world.groups, world.entities
    out = clock.Rows("name", "inn", "kpp", "website", "phone", "industry")
    for i in range(len(ent_of)):
        e, gg = int(ent_of[i]), int(acc_grp[i])
        out.add("name", ents.name(e, rng, "crm"))
        r = rng.random()
        v = ents.inn[e] or None
        out.add("inn", None if (r < 0.1 or (is_dup[i] and r < 0.5)) else v)
        out.add("kpp", None if rng.random() < 0.3 or not ents.kpp[e] else ents.kpp[e])
        r = rng.random()
        site = ents.site[e] if ents.site and ents.site[e] else g.domain[gg]
        out.add("website", None if r < 0.4 else (f"www.{site}" if r < 0.7 else f"https://{site}"))
        r = rng.random()
        area = REGIONS[ents.region[e]][3]
        out.add(
            "phone", None if r < 0.3 else names.odd_phone(rng) if r < 0.32 else names.phone_number(rng, area)
        )
        out.add("industry", INDUSTRIES[g.industry[gg]] if rng.random() < 0.85 else None)
    return out.arrays()


# ---------------------------------------------------------------------------- contacts
def build_contacts(world: World, leads: Leads, acc: Accounts) -> Contacts:
    p, g, E = world.params, world.groups, world.window.end_day
    rng = rng_for(world.seed, "contacts")
    c_acc, c_day, from_lead = _contact_seeds(world, leads, acc, rng)
    m = _with_movers(world, acc, c_acc, c_day, from_lead, rng)
    n = len(m.account)
    grp = acc.group[m.account]
    churned_now = g.churned_at(grp, np.full(n, E))
    is_active = (m.until_day == NEVER) & ~(churned_now & (rng.random(n) < 0.7))
    is_active &= rng.random(n) >= p.contact_deactivation_share
    has_visitor = g.first_purchase[grp] < NEVER
    has_visitor &= rng.random(n) < 0.45
    details, persons = _contact_details(world, leads, grp, m.moved_from, m.lead, rng)
    a_ptr, a_rows = clock.csr(m.account, acc.n)
    g_ptr, g_rows = clock.csr(grp, g.n)
    return Contacts(
        n=n,
        account=m.account,
        group=grp,
        created_s=m.created_s,
        until_day=m.until_day,
        is_active=is_active,
        **details,
        has_visitor=has_visitor,
        person=persons,
        account_ptr=a_ptr,
        account_rows=a_rows,
        group_ptr=g_ptr,
        group_rows=g_rows,
    )


def _contact_seeds(
    world: World, leads: Leads, acc: Accounts, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, day, lead or -1) of the people the CRM knows: a few at each primary account, and the
    people of converted leads, at the account on conversion."""
    prim = np.flatnonzero(~acc.is_duplicate)
    size_z = world.groups.size_z[acc.group[prim]]
    k = 1 + np.minimum(rng.poisson(world.params.contacts_per_account * np.exp(0.3 * size_z)), 7)
    c_acc = prim[clock.explode(k)]
    rank = clock.rank_within(clock.explode(k), k)
    c_day = acc.created_day()[c_acc] + np.where(rank == 0, 0, rng.integers(0, 500, len(c_acc)))
    from_lead = np.full(len(c_acc), -1, dtype=np.int64)
    conv = np.flatnonzero(leads.outcome != OUTCOME_NONE)
    l_acc = acc.primary_of_entity[leads.entity[conv]]
    ok = l_acc >= 0
    conv, l_acc = conv[ok], l_acc[ok]
    c_acc = np.concatenate([c_acc, l_acc])
    c_day = np.concatenate([c_day, leads.converted_s[conv] // SECONDS_PER_DAY])
    from_lead = np.concatenate([from_lead, conv])
    keep = c_day <= world.window.end_day
    return c_acc[keep], c_day[keep], from_lead[keep]


@dataclass
class _ContactRows:
    """Contact records in order of creation, a mover's new record among them."""

    account: np.ndarray
    created_s: np.ndarray
    moved_from: np.ndarray  # the record of the same person before the move, -1
    until_day: np.ndarray
    lead: np.ndarray


def _with_movers(
    world: World,
    acc: Accounts,
    c_acc: np.ndarray,
    c_day: np.ndarray,
    from_lead: np.ndarray,
    rng: np.random.Generator,
) -> _ContactRows:
    """Movers: the old record goes inactive, a new one appears at the new account with the same e-mail."""
    E = world.window.end_day
    c_grp = acc.group[c_acc]
    n0 = len(c_acc)
    can_move = c_day < E - 120
    moves = can_move & (rng.random(n0) < world.params.contact_move_share)
    move_day = c_day + 60 + (rng.random(n0) * np.maximum(E - c_day - 60, 1)).astype(np.int64)
    mv = np.flatnonzero(moves)
    same_group = rng.random(len(mv)) < 0.6
    dest_same = acc.of_group_at(rng, c_grp[mv], move_day[mv])
    other_grp = rng.integers(0, world.groups.n, len(mv))
    dest_other = acc.of_group_at(rng, other_grp, move_day[mv])
    dest = np.where(same_group & (dest_same >= 0) & (dest_same != c_acc[mv]), dest_same, dest_other)
    ok = (dest >= 0) & (dest != c_acc[mv])
    mv, dest = mv[ok], dest[ok]
    until = np.full(n0, NEVER, dtype=np.int64)
    until[mv] = move_day[mv]
    none = np.full(len(mv), -1, dtype=np.int64)
    all_acc = np.concatenate([c_acc, dest])
    created_s = clock.office_seconds(rng, np.concatenate([c_day, move_day[mv]]))
    order = np.lexsort((np.arange(len(all_acc)), created_s))
    inv = np.empty_like(order)
    inv[order] = np.arange(len(order))
    rows = _ContactRows(
        all_acc,
        created_s,
        np.concatenate([np.full(n0, -1, dtype=np.int64), mv]),
        np.concatenate([until, np.full(len(mv), NEVER, dtype=np.int64)]),
        np.concatenate([from_lead, none]),
    )
    rows = clock.take(rows, order)
    rows.moved_from = np.where(rows.moved_from >= 0, inv[np.maximum(rows.moved_from, 0)], -1)
    return rows


def _contact_details(
    world: World,
    leads: Leads,
    grp: np.ndarray,
    moved_from: np.ndarray,
    from_lead: np.ndarray,
    rng: np.random.Generator,
) -> tuple[dict[str, np.ndarray], list[tuple[str, str, str]]]:
    """Name, e-mail, phone and job title of each contact (a mover keeps name and e-mail; a lead's
    person keeps the lead's e-mail where it is usable), and the person."""
    domain = world.groups.domain
    out = clock.Rows("full_name", "email", "phone", "job_title")
    persons: list[tuple[str, str, str]] = []
    for i in range(len(grp)):
        src, lead = moved_from[i], from_lead[i]
        if src >= 0:  # the same person at the new account: same name and e-mail
            last, first, patronymic = persons[src]
            addr = out.rows["email"][src]
        elif lead >= 0:
            last, first, patronymic = leads.person[lead]
            addr = leads.email[lead] if leads.email[lead] is not None else None
            if addr is None or "@" not in addr or " " in addr:
                addr = names.email_address(last, first, domain[grp[i]], rng)
        else:
            last, first, patronymic, _ = names.person(rng)
            corporate = rng.random() < 0.65
            addr = names.email_address(last, first, domain[grp[i]] if corporate else None, rng)
            r = rng.random()
            addr = None if r < 0.05 else names.malformed_email(addr, rng) if r < 0.06 else addr
        persons.append((last, first, patronymic))
        out.add("email", addr)
        out.add("full_name", names.person_name(last, first, patronymic, rng, "crm"))
        r = rng.random()
        out.add(
            "phone", None if r < 0.1 else names.odd_phone(rng) if r < 0.115 else names.phone_number(rng, None)
        )
        out.add("job_title", names.pick(rng, names.JOB_TITLES) if rng.random() < 0.85 else None)
    return out.arrays(), persons


# ---------------------------------------------------------------------------- deals
@dataclass
class Deals:
    n: int
    account: np.ndarray
    group: np.ndarray
    created_s: np.ndarray
    close_s: np.ndarray  # actual (won/lost) or planned (open) close
    outcome: np.ndarray  # OUTCOME_WON / LOST / OPEN
    final_stage: np.ndarray  # index into DEAL_STAGES (current stage at the end date)
    amount: np.ndarray
    currency: np.ndarray
    product: np.ndarray
    lead: np.ndarray
    campaign: np.ndarray
    partner: np.ndarray
    owner0: np.ndarray
    office: np.ndarray
    lost_reason: np.ndarray
    # stage history, one row per stage entered
    sc_deal: np.ndarray
    sc_stage: np.ndarray
    sc_time: np.ndarray
    sc_amount: np.ndarray

    @cached_property
    def deal_id(self) -> np.ndarray:
        return clock.numbered_ids("DL-", self.n, 6)


@dataclass
class DealSeeds:
    """Deals to create, before ids and stage history are assigned."""

    group: np.ndarray
    entity: np.ndarray
    created_s: np.ndarray
    close_s: np.ndarray
    outcome: np.ndarray
    lost_stage: np.ndarray
    amount: np.ndarray
    currency: np.ndarray
    product: np.ndarray
    lead: np.ndarray
    campaign: np.ndarray
    purchase: np.ndarray  # purchase index it produced (won), -1

    @classmethod
    def of(cls, n: int, **given: np.ndarray) -> DealSeeds:
        """Seeds with the given columns; the others: stage 0, roubles, no lead, campaign or purchase."""
        none = {f: np.full(n, -1, dtype=np.int64) for f in ("lead", "campaign", "purchase")}
        defaults = {"lost_stage": np.zeros(n, dtype=np.int64), "currency": np.full(n, "RUB", dtype=object)}
        return cls(**{**defaults, **none, **given})


def build_deals(world: World, leads: Leads, acc: Accounts, purchases, camps: Campaigns) -> Deals:
    """Deals from converted leads, deals behind a share of purchases, lost deals and open pipeline.

    Sets `purchases.deal` for purchases that came from a deal.
    """
    rng = rng_for(world.seed, "deals")
    end_s = (world.window.end_day + 1) * SECONDS_PER_DAY
    d = clock.concat(
        [
            _lead_deals(leads, purchases),
            _purchase_deals(world, purchases, rng),
            _lost_deals(world, end_s, rng),
            _open_deals(world, end_s, rng),
        ]
    )
    d, account = _on_accounts(d, acc, end_s, rng)
    n = len(account)
    purchases.deal[:] = -1
    has_p = d.purchase >= 0
    purchases.deal[d.purchase[has_p]] = np.flatnonzero(has_p)
    final_stage, last_amount, history = _stage_history(d, end_s, rng)
    office = acc.office[account]
    created_day = d.created_s // SECONDS_PER_DAY
    owner0 = world.users.owner_at(acc.owner0[account], created_day)
    partner = _deal_partners(world, d.group, office)
    campaign = d.campaign.copy()
    noise = (campaign < 0) & (rng.random(n) < 0.05)
    prior = np.searchsorted(camps.start_day, created_day) - 1
    campaign = np.where(noise & (prior >= 0), np.maximum(prior, 0), campaign)
    lost_reason = np.where(
        d.outcome == OUTCOME_LOST, np.array(LOST_REASONS, dtype=object)[rng.integers(0, 7, n)], None
    )
    return Deals(
        n=n,
        account=account,
        group=d.group,
        created_s=d.created_s,
        close_s=d.close_s,
        outcome=d.outcome,
        final_stage=final_stage,
        amount=np.where(d.outcome == OUTCOME_WON, d.amount, last_amount),
        currency=d.currency,
        product=d.product,
        lead=d.lead,
        campaign=campaign,
        partner=partner,
        owner0=owner0,
        office=office,
        lost_reason=lost_reason,
        **history,
    )


def _lead_deals(leads: Leads, purchases) -> DealSeeds:
    """1. converted leads"""
    conv = np.flatnonzero(leads.outcome != OUTCOME_NONE)
    lead_purchase = np.full(leads.n, -1, dtype=np.int64)
    lp = np.flatnonzero(purchases.lead >= 0)
    lead_purchase[purchases.lead[lp]] = lp
    return DealSeeds.of(
        len(conv),
        group=leads.group[conv],
        entity=leads.entity[conv],
        created_s=leads.converted_s[conv],
        close_s=leads.close_s[conv],
        outcome=leads.outcome[conv],
        lost_stage=leads.lost_stage[conv],
        amount=leads.amount[conv],
        product=leads.product[conv],
        lead=conv,
        campaign=leads.campaign[conv],
        purchase=np.where(leads.outcome[conv] == OUTCOME_WON, lead_purchase[conv], -1),
    )


def _purchase_deals(world: World, purchases, rng: np.random.Generator) -> DealSeeds:
    """2. purchases that went through the pipeline (never the lead's, already covered)"""
    big = purchases.amount > np.median(purchases.amount) if len(purchases.amount) else purchases.amount > 0
    want = (purchases.lead < 0) & (
        (purchases.source != 0)
        | (rng.random(len(purchases.day)) < world.params.deal_share_of_purchases * np.where(big, 1.4, 0.6))
    )
    pi = np.flatnonzero(want)
    close_s = clock.office_seconds(rng, purchases.day[pi] - rng.integers(0, 6, len(pi)))
    cycle = deal_cycle_days(rng, purchases.amount[pi] / 100.0)
    created_s = close_s - (cycle * SECONDS_PER_DAY).astype(np.int64)
    ok = created_s >= world.window.start_day * SECONDS_PER_DAY
    pi, close_s, created_s = pi[ok], close_s[ok], created_s[ok]
    induced = purchases.campaign[pi]
    credit = np.where((induced >= 0) & (rng.random(len(pi)) < 0.6), induced, -1)
    return DealSeeds.of(
        len(pi),
        group=purchases.group[pi],
        entity=purchases.entity[pi],
        created_s=created_s,
        close_s=close_s,
        outcome=np.full(len(pi), OUTCOME_WON),
        amount=purchases.amount[pi],
        currency=purchases.currency[pi],
        product=purchases.product[pi],
        campaign=credit,
        purchase=pi,
    )


def _priced(
    world: World, grp: np.ndarray, created_s: np.ndarray, frac: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(product, amount in kopecks, close) of new deals of some groups: the product mix of their time,
    the group's scale and a sales cycle that grows with the amount."""
    product = clock.choice_rows(rng, clock.product_mix(world.params, frac))
    rub = PRODUCT_BASE_RUB[product] * world.groups.amount_scale[grp] * np.exp(rng.normal(0, 0.6, len(grp)))
    close = created_s + (deal_cycle_days(rng, rub) * SECONDS_PER_DAY).astype(np.int64)
    return product, (np.round(rub / 100) * 10_000).astype(np.int64), close


def _any_entity(g, grp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return g.ent_start[grp] + (rng.random(len(grp)) * g.ent_count[grp]).astype(np.int64)


def _lost_deals(world: World, end_s: int, rng: np.random.Generator) -> DealSeeds:
    """3. lost deals of customers, at the pace of their engagement"""
    p, g, win = world.params, world.groups, world.window
    gm_g = np.repeat(np.arange(g.n), win.n_months)
    gm_m = np.tile(np.arange(win.n_months), g.n)
    mid = win.month_start[gm_m] + 14
    lam = p.lost_deals_per_customer_month * np.exp(0.3 * g.size_z[gm_g]) * g.engagement(gm_g, mid, "activity")
    rows = clock.explode(rng.poisson(lam))
    lg, lm = gm_g[rows], gm_m[rows]
    created = clock.office_seconds(rng, clock.random_days_in_months(rng, lm, win))
    frac = (created // SECONDS_PER_DAY - win.start_day) / max(win.end_day - win.start_day, 1)
    product, amount, close = _priced(world, lg, created, frac, rng)
    return DealSeeds.of(
        len(lg),
        group=lg,
        entity=_any_entity(g, lg, rng),
        created_s=created,
        close_s=close,
        outcome=np.where(close >= end_s, OUTCOME_OPEN, OUTCOME_LOST),
        lost_stage=clock.choice_p(rng, len(lg), (0.35, 0.4, 0.25)),
        amount=amount,
        product=product,
    )


def _open_deals(world: World, end_s: int, rng: np.random.Generator) -> DealSeeds:
    """4. open pipeline of current customers"""
    p, g, E = world.params, world.groups, world.window.end_day
    active = np.flatnonzero(g.is_customer_at(np.arange(g.n), np.full(g.n, E)))
    oc = rng.poisson(p.open_deals_per_customer * np.exp(0.3 * g.size_z[active]))
    og = active[clock.explode(oc)]
    created = clock.office_seconds(rng, E - rng.integers(0, 150, len(og)))
    product, amount, close = _priced(world, og, created, np.ones(len(og)), rng)
    close = np.where(close < end_s, end_s + rng.integers(5, 90, len(og)) * SECONDS_PER_DAY, close)
    return DealSeeds.of(
        len(og),
        group=og,
        entity=_any_entity(g, og, rng),
        created_s=created,
        close_s=close,
        outcome=np.full(len(og), OUTCOME_OPEN),
        amount=amount,
        product=product,
    )


def _on_accounts(
    d: DealSeeds, acc: Accounts, end_s: int, rng: np.random.Generator
) -> tuple[DealSeeds, np.ndarray]:
    """The account of each deal: the entity's own if it exists by then, else the group's, else the
    deal is dropped. Returns the deals kept, in order of creation, and their accounts."""
    created_day = d.created_s // SECONDS_PER_DAY
    account = acc.primary_of_entity[d.entity]
    acc_created = np.where(account >= 0, acc.created_s[np.maximum(account, 0)], NEVER * SECONDS_PER_DAY)
    fallback = acc.of_group_at(rng, d.group, created_day)
    account = np.where((account >= 0) & (acc_created <= d.created_s), account, fallback)
    keep = np.flatnonzero((account >= 0) & (d.created_s < end_s))
    d, account = clock.take(d, keep), account[keep]
    order = np.lexsort((d.group, d.created_s))
    return clock.take(d, order), account[order]


def _stage_history(
    d: DealSeeds, end_s: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Stages entered (small won deals may skip negotiation, lost ones stop where they were lost, open
    ones are not closed) with their times and amount estimates. Returns each deal's stage at the end
    date and its last estimate, and the history (Deals.sc_*), one row per stage entered."""
    n = len(d.group)
    length = np.maximum(d.close_s - d.created_s, 3 * SECONDS_PER_DAY)
    t_stage = np.stack(
        [d.created_s, d.created_s + length // 4, d.created_s + (length * 13) // 20, d.created_s + length],
        axis=1,
    )
    small = d.amount < 150_000 * 100
    skip_neg = (d.outcome == OUTCOME_WON) & small & (rng.random(n) < 0.3)
    entered = np.ones((n, 4), dtype=bool)
    entered[:, 2] = ~skip_neg
    lost = d.outcome == OUTCOME_LOST
    entered[lost, 1] = d.lost_stage[lost] >= 1
    entered[lost, 2] = d.lost_stage[lost] >= 2
    entered[d.outcome == OUTCOME_OPEN, 3] = False
    entered &= t_stage < end_s
    stage_code = np.tile(np.array([0, 1, 2, 3]), (n, 1))
    stage_code[:, 3] = np.where(d.outcome == OUTCOME_WON, 3, 4)
    est = np.stack(
        [
            d.amount * rng.uniform(0.7, 1.3, n),
            d.amount * rng.uniform(0.9, 1.1, n),
            d.amount.astype(float),
            d.amount.astype(float),
        ],
        axis=1,
    )
    est = (np.round(est / 10_000) * 10_000).astype(np.int64)
    sc_deal, sc_col = np.nonzero(entered)
    last = entered.shape[1] - 1 - np.argmax(entered[:, ::-1], axis=1)
    history = {
        "sc_deal": sc_deal,
        "sc_stage": stage_code[sc_deal, sc_col],
        "sc_time": t_stage[sc_deal, sc_col],
        "sc_amount": est[sc_deal, sc_col],
    }
    return stage_code[np.arange(n), last], est[np.arange(n), last], history


def _deal_partners(world: World, group: np.ndarray, office: np.ndarray) -> np.ndarray:
    """The partner of each deal, -1 for none: a group served through a partner buys through it most of
    the time; now and then another deal goes through a partner of the deal's office once."""
    rng = rng_for(world.seed, "deal_partners")
    n = len(office)
    own = world.groups.partner[group]
    partner = np.where((own >= 0) & (rng.random(n) < 0.85), own, -1)
    one_off = np.flatnonzero((partner < 0) & (rng.random(n) < world.params.one_off_partner_deal_share))
    parts = world.partners
    for i in one_off.tolist():
        local = np.flatnonzero(parts.office == office[i])
        pool = local if len(local) and rng.random() < 0.8 else np.arange(len(parts.partner_id))
        partner[i] = int(pool[int(rng.integers(len(pool)))])
    return partner


# ---------------------------------------------------------------------------- export tables
def _opt_ids(ids: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = np.empty(len(idx), dtype=object)
    ok = idx >= 0
    out[ok] = ids[idx[ok]]
    return out


def users_table(world: World) -> Table:
    u = world.users
    return Table(
        "users",
        {
            "user_id": u.user_id,
            "full_name": u.full_name,
            "email": u.email,
            "office_code": u.office,
            "role": u.role,
            "hired_date": u.hired_day,
            "left_date": np.where(u.left_day == NEVER, clock.NULL, u.left_day),
        },
    )


def partners_table(world: World) -> Table:
    pt = world.partners
    return Table(
        "partners",
        {
            "partner_id": pt.partner_id,
            "name": pt.name,
            "partner_type": pt.partner_type,
            "inn": pt.inn,
            "region": pt.region,
            "parent_partner_id": _opt_ids(pt.partner_id, pt.parent),
            "commission_percent": pt.commission_percent,
        },
    )


def accounts_table(world: World, acc: Accounts, snapshot_day: int) -> Table:
    rows = np.flatnonzero(acc.created_day() <= snapshot_day)
    ids = acc.account_id
    owner = world.users.owner_at(acc.owner0[rows], np.full(len(rows), snapshot_day))
    return Table(
        "accounts",
        {
            "account_id": ids[rows],
            "name": acc.name[rows],
            "inn": acc.inn[rows],
            "kpp": acc.kpp[rows],
            "parent_account_id": _opt_ids(ids, np.where(acc.parent[rows] >= 0, acc.parent[rows], -1)),
            "region": acc.region[rows],
            "website": acc.website[rows],
            "phone": acc.phone[rows],
            "industry": acc.industry[rows],
            "owner_user_id": world.users.user_id[owner],
            "office_code": acc.office[rows],
            "created_at": acc.created_s[rows],
        },
        truth_entity=acc.entity[rows],
    )


def contacts_table(acc: Accounts, con: Contacts) -> Table:
    return Table(
        "contacts",
        {
            "contact_id": con.contact_id,
            "account_id": acc.account_id[con.account],
            "full_name": con.full_name,
            "email": con.email,
            "phone": con.phone,
            "job_title": con.job_title,
            "is_active": con.is_active.astype(np.int8),
            "created_at": con.created_s,
        },
    )


def leads_table(
    world: World, leads: Leads, acc: Accounts, deals: Deals, camps: Campaigns, visitor_ids
) -> Table:
    E = world.window.end_day
    deal_of_lead = np.full(leads.n, -1, dtype=np.int64)
    has = deals.lead >= 0
    deal_of_lead[deals.lead[has]] = np.flatnonzero(has)
    conv = deal_of_lead >= 0
    status = np.where(conv | (leads.status != LEAD_STATUSES.index("converted")), leads.status, 4)
    account = np.where(conv, deals.account[np.maximum(deal_of_lead, 0)], -1)
    owner = world.users.owner_at(leads.owner0, np.full(leads.n, E))
    return Table(
        "leads",
        {
            "lead_id": leads.lead_id,
            "created_at": leads.created_s,
            "source_channel": np.array(LEAD_CHANNELS, dtype=object)[leads.channel],
            "company_name": leads.company_name,
            "inn": leads.inn,
            "contact_name": leads.contact_name,
            "email": leads.email,
            "phone": leads.phone,
            "region": leads.region,
            "campaign_id": _opt_ids(camps.campaign_id, leads.campaign),
            "web_visitor_id": np.where(leads.has_visitor, visitor_ids, None),
            "status": np.array(LEAD_STATUSES, dtype=object)[status],
            "converted_account_id": _opt_ids(acc.account_id, account),
            "converted_deal_id": _opt_ids(deals.deal_id, deal_of_lead),
            "converted_at": np.where(conv, leads.converted_s, clock.NULL),
            "owner_user_id": world.users.user_id[owner],
        },
        truth_entity=np.where(leads.company_name != None, leads.entity, -1),  # noqa: E711
    )


def deals_table(world: World, deals: Deals, acc: Accounts, camps: Campaigns, leads: Leads) -> Table:
    E = world.window.end_day
    closed = deals.outcome != OUTCOME_OPEN
    lines = np.array(world.params.product_lines, dtype=object)
    return Table(
        "deals",
        {
            "deal_id": deals.deal_id,
            "account_id": acc.account_id[deals.account],
            "created_at": deals.created_s,
            "stage": np.array(DEAL_STAGES, dtype=object)[deals.final_stage],
            "amount": deals.amount,
            "currency": deals.currency,
            "product_line": lines[deals.product],
            "expected_close_date": np.where(closed, clock.NULL, deals.close_s // SECONDS_PER_DAY),
            "closed_at": np.where(closed, deals.close_s, clock.NULL),
            "lost_reason": deals.lost_reason,
            "owner_user_id": world.users.user_id[world.users.owner_at(deals.owner0, np.full(deals.n, E))],
            "partner_id": _opt_ids(world.partners.partner_id, deals.partner),
            "lead_id": _opt_ids(leads.lead_id, deals.lead),
            "campaign_id": _opt_ids(camps.campaign_id, deals.campaign),
            "office_code": deals.office,
        },
    )


def deal_stage_changes_table(deals: Deals, rows: np.ndarray) -> Table:
    return Table(
        "deal_stage_changes",
        {
            "deal_id": deals.deal_id[deals.sc_deal[rows]],
            "stage": np.array(DEAL_STAGES, dtype=object)[deals.sc_stage[rows]],
            "changed_at": deals.sc_time[rows],
            "amount": deals.sc_amount[rows],
        },
    )


def campaigns_table(camps: Campaigns, product_lines: tuple[str, ...]) -> Table:
    return Table(
        "campaigns",
        {
            "campaign_id": camps.campaign_id,
            "name": camps.name,
            "campaign_type": camps.ctype,
            "start_date": camps.start_day,
            "end_date": camps.end_day,
            "cost": camps.cost,
            "currency": np.full(camps.n, "RUB", dtype=object),
            "utm_campaign": camps.utm,
            "office_code": camps.office,
            "product_line": np.array(product_lines, dtype=object)[camps.product],
        },
    )
