"""Leads: who asked, through which channel, how engaged they were, and what came of it.

A lead's chance of ending in a won deal follows a logistic model of things later visible in the
exports: source channel, corporate vs personal e-mail, INN given, legal form, company size,
campaign touches, web behaviour (pages, extra forms, chat) and whether the person responded to the
first calls -- plus a latent intent and noise, so a model can learn it but not perfectly.
Prospect groups become customers with their first won lead; that decides their first purchase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ingest.contracts import LEAD_CHANNELS
from sample_exports import clock, names
from sample_exports.campaigns import Campaigns, Touches, sample_responses, type_index
from sample_exports.inn import corrupt_inn
from sample_exports.params import NEVER, SECONDS_PER_DAY, rng_for
from sample_exports.world import (
    REGION_CRM_VARIANTS,
    REGION_NAMES,
    REGIONS,
    World,
    assign_churn,
    assign_partners,
)

# in LEAD_CHANNELS order
CHANNEL_P_PROSPECT = (0.22, 0.15, 0.08, 0.10, 0.07, 0.07, 0.13, 0.06, 0.07, 0.05)
CHANNEL_P_CUSTOMER = (0.12, 0.05, 0.10, 0.15, 0.13, 0.16, 0.05, 0.10, 0.10, 0.04)
CHANNEL_EFFECT = {
    "web_form": 0.3, "ad": -0.5, "event": 0.6, "webinar": 0.3, "email": -0.2, "referral": 1.2,
    "cold_call": -1.0, "partner": 0.8, "chat": 0.2, "inbound_call": 0.7,
}  # fmt: skip
CHANNEL_CAMPAIGN = {"ad": "ads", "event": "event", "webinar": "webinar", "email": "email"}
WEB_CHANNELS = ("web_form", "chat", "ad")
OUTCOME_WON, OUTCOME_LOST, OUTCOME_OPEN, OUTCOME_NONE = 0, 1, 2, 3
LEAD_STATUSES = ("new", "working", "qualified", "converted", "disqualified")
LOST_REASONS = (
    "Цена выше, чем у конкурентов", "Выбрали конкурента", "Нет бюджета", "Перенесли сроки",
    "Не приняли решение", "Пропал контакт", "Не подошёл функционал",
)  # fmt: skip
PRODUCT_BASE_RUB = np.array([450e3, 180e3, 900e3, 350e3, 120e3, 60e3])  # in params.product_lines order
INTERCEPT = -5.8
SIGNAL = 1.5  # weight of the observable drivers against the logistic noise


@dataclass
class Leads:
    n: int
    group: np.ndarray
    entity: np.ndarray
    created_s: np.ndarray
    channel: np.ndarray  # index into LEAD_CHANNELS
    campaign: np.ndarray  # -1 when none
    company_name: np.ndarray  # object, None when not given
    inn: np.ndarray
    contact_name: np.ndarray
    person: list[tuple[str, str, str]]  # (last, first, patronymic)
    email: np.ndarray
    phone: np.ndarray
    region: np.ndarray
    has_visitor: np.ndarray
    status: np.ndarray  # index into LEAD_STATUSES
    converted_s: np.ndarray  # NEVER when not converted (by end date)
    outcome: np.ndarray  # OUTCOME_*
    close_s: np.ndarray  # when the deal closes (may be after the end date: then open)
    invoice_day: np.ndarray  # when a won deal is invoiced
    lost_stage: np.ndarray  # 0 qualification, 1 proposal, 2 negotiation
    amount: np.ndarray  # kopecks
    product: np.ndarray  # index into product lines
    owner0: np.ndarray
    # behaviour (also emitted as touches, web events and activities)
    pages_before: np.ndarray
    pages_after: np.ndarray
    extra_form: np.ndarray
    chat: np.ndarray
    responded: np.ndarray
    win_logit: np.ndarray

    @cached_property
    def lead_id(self) -> np.ndarray:
        return clock.numbered_ids("LD-", self.n, 6)


def deal_cycle_days(rng: np.random.Generator, amount_rub: np.ndarray) -> np.ndarray:
    """Sales cycle: weeks for small deals, months for big ones."""
    rel = np.maximum(amount_rub, 1.0) / 300e3
    days = np.exp(rng.normal(np.log(35.0), 0.45, len(amount_rub))) * rel**0.3
    return np.clip(days, 7, 330)


@dataclass
class _Drawn:
    """Leads drawn, in order of creation: whose, through which channel and campaign, when."""

    group: np.ndarray
    entity: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray
    created_s: np.ndarray
    customer: np.ndarray

    @property
    def created_day(self) -> np.ndarray:
        return self.created_s // SECONDS_PER_DAY


@dataclass
class _Behaviour:
    """What the lead is like and does: the drivers of the win model."""

    intent: np.ndarray  # latent
    individual: np.ndarray
    big_form: np.ndarray
    corp_email: np.ndarray
    inn_given: np.ndarray
    has_visitor: np.ndarray
    pages_before: np.ndarray
    pages_after: np.ndarray
    extra_form: np.ndarray
    chat: np.ndarray
    responded: np.ndarray


@dataclass
class _Outcome:
    product: np.ndarray
    amount: np.ndarray
    converted_s: np.ndarray
    close_s: np.ndarray
    invoice_day: np.ndarray
    outcome: np.ndarray
    lost_stage: np.ndarray


def build_leads(world: World, camps: Campaigns) -> tuple[Leads, Touches]:
    rng = rng_for(world.seed, "leads")
    d = _draw_leads(world, camps, rng)
    # a partner referred the lead: its group buys through that partner from now on
    referred = np.unique(d.group[d.channel == LEAD_CHANNELS.index("partner")])
    referred = referred[world.groups.partner[referred] < 0]
    assign_partners(world.groups, world.partners, referred, world.seed, "leads")
    b = _draw_behaviour(world, d, rng)
    t_lead, t_camp, t_day, t_resp = _draw_lead_touches(
        camps, d.created_day, b.intent, world.window.end_day, rng
    )
    logit, score = _win_score(world, d, b, np.bincount(t_lead, minlength=len(d.group)), rng)
    o = _draw_outcomes(world, d, score, rng)
    status = _statuses(d.created_day, world.window.end_day, o.outcome != OUTCOME_NONE, score, rng)
    owner0 = world.users.pick_employed(
        rng, ("sales_manager", "account_manager"), world.entities.office[d.entity], d.created_day
    )
    typed, persons = _typed_details(world, d, b, rng)
    leads = Leads(
        n=len(d.group),
        group=d.group,
        entity=d.entity,
        created_s=d.created_s,
        channel=d.channel,
        campaign=d.campaign,
        **typed,
        person=persons,
        has_visitor=b.has_visitor,
        status=status,
        converted_s=o.converted_s,
        outcome=o.outcome,
        close_s=o.close_s,
        invoice_day=o.invoice_day,
        lost_stage=o.lost_stage,
        amount=o.amount,
        product=o.product,
        owner0=owner0,
        pages_before=b.pages_before,
        pages_after=b.pages_after,
        extra_form=b.extra_form,
        chat=b.chat,
        responded=b.responded,
        win_logit=logit,
    )
    touches = Touches(
        campaign=t_camp,
        contact=np.full(len(t_camp), -1, dtype=np.int64),
        lead=t_lead,
        account=np.full(len(t_camp), -1, dtype=np.int64),
        touched_s=clock.office_seconds(rng, t_day),
        response=t_resp,
    )
    return leads, touches


def _draw_leads(world: World, camps: Campaigns, rng: np.random.Generator) -> _Drawn:
    p, g, win = world.params, world.groups, world.window
    S, E = win.start_day, win.end_day
    per_group = np.where(
        g.existing,
        p.leads_per_customer_group * np.exp(0.2 * g.size_z),
        p.leads_per_prospect_group * np.exp(0.25 * g.size_z),
    )
    counts = rng.poisson(per_group)
    grp = clock.explode(counts)
    n = len(grp)
    customer = g.existing[grp]
    channel = np.where(
        customer, clock.choice_p(rng, n, CHANNEL_P_CUSTOMER), clock.choice_p(rng, n, CHANNEL_P_PROSPECT)
    )
    created_day = S + (rng.random(n) * (E - S + 1)).astype(np.int64)
    campaign = _from_campaigns(camps, channel, created_day, E, rng)
    # leads of the entity most of the time, otherwise another entity of the group
    offset = np.where(rng.random(n) < 0.6, 0, (rng.random(n) * g.ent_count[grp]).astype(np.int64))
    ent = g.ent_start[grp] + offset
    created_s = clock.any_time_seconds(rng, created_day)
    order = np.argsort(created_s, kind="stable")
    return _Drawn(*(a[order] for a in (grp, ent, channel, campaign, created_s, customer)))


def _from_campaigns(
    camps: Campaigns, channel: np.ndarray, created_day: np.ndarray, end_day: int, rng: np.random.Generator
) -> np.ndarray:
    """Campaign channels: the lead comes from a campaign of the matching type, near its dates (a web
    form where there is none). Moves `created_day` and changes `channel` in place; returns the campaigns."""
    campaign = np.full(len(channel), -1, dtype=np.int64)
    for ch, ctype in CHANNEL_CAMPAIGN.items():
        rows = np.flatnonzero(channel == LEAD_CHANNELS.index(ch))
        of_type = camps.of_type(ctype)
        if len(rows) == 0 or len(of_type) == 0:
            channel[rows] = LEAD_CHANNELS.index("web_form")
            continue
        starts = camps.start_day[of_type]
        k = np.clip(np.searchsorted(starts, created_day[rows], side="right") - 1, 0, len(of_type) - 1)
        c = of_type[k]
        campaign[rows] = c
        span = camps.end_day[c] - camps.start_day[c] + 15
        created_day[rows] = np.minimum(
            camps.start_day[c] + (rng.random(len(rows)) * span).astype(np.int64), end_day
        )
    return campaign


def _draw_behaviour(world: World, d: _Drawn, rng: np.random.Generator) -> _Behaviour:
    g, ents = world.groups, world.entities
    n = len(d.group)
    intent = rng.normal(0.0, 1.0, n)
    z = g.size_z[d.group]
    form = ents.form[d.entity]
    individual = form == names.INDIVIDUAL_FORM
    corp_email = rng.random(n) < np.where(individual, 0.15, clock.sigmoid(0.2 + 0.6 * z + 0.5 * intent))
    is_ch = lambda *chs: np.isin(d.channel, [LEAD_CHANNELS.index(c) for c in chs])  # noqa: E731
    inn_p = np.where(is_ch("web_form", "partner", "referral"), clock.sigmoid(-1.0 + 0.5 * intent), 0.12)
    inn_given = (rng.random(n) < inn_p) & (ents.inn[d.entity] != "")
    has_visitor = is_ch(*WEB_CHANNELS) | (rng.random(n) < 0.3)
    return _Behaviour(
        intent=intent,
        individual=individual,
        big_form=np.isin(form, ("АО", "ПАО")),
        corp_email=corp_email,
        inn_given=inn_given,
        has_visitor=has_visitor,
        pages_before=np.where(has_visitor, rng.poisson(np.exp(1.0 + 0.45 * intent)), 0),
        pages_after=np.where(has_visitor, rng.poisson(np.exp(0.4 + 0.35 * intent)), 0),
        extra_form=has_visitor & (rng.random(n) < clock.sigmoid(-2.2 + 0.9 * intent)),
        chat=is_ch("chat") | (has_visitor & (rng.random(n) < clock.sigmoid(-2.4 + 0.7 * intent))),
        responded=rng.random(n) < clock.sigmoid(-0.2 + 1.0 * intent),
    )


def _draw_lead_touches(
    camps: Campaigns, created_day: np.ndarray, intent: np.ndarray, end_day: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Campaign touches of the leads: campaigns running from 60 days before to 30 days after each.
    Returns (lead, campaign, day, response) of each touch."""
    n_touch = np.minimum(rng.poisson(np.exp(0.1 + 0.4 * intent)), 6)
    t_lead = clock.explode(n_touch)
    lo = np.searchsorted(camps.start_day, created_day[t_lead] - 60)
    hi = np.searchsorted(camps.start_day, created_day[t_lead] + 30, side="right")
    ok = hi > lo
    t_lead, lo, hi = t_lead[ok], lo[ok], hi[ok]
    t_camp = lo + (rng.random(len(lo)) * (hi - lo)).astype(np.int64)
    span = camps.end_day[t_camp] - camps.start_day[t_camp] + 1
    t_day = camps.start_day[t_camp] + (rng.random(len(t_camp)) * span).astype(np.int64)
    t_ok = t_day <= end_day
    t_lead, t_camp, t_day = t_lead[t_ok], t_camp[t_ok], t_day[t_ok]
    t_resp = sample_responses(rng, type_index(camps.ctype[t_camp]), clock.sigmoid(0.5 + intent[t_lead]))
    return t_lead, t_camp, t_day, t_resp


def _win_score(
    world: World, d: _Drawn, b: _Behaviour, touches_per_lead: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(the win logit, the score with its logistic noise: won above 0, converted above -1.8)."""
    observable = (
        np.array([CHANNEL_EFFECT[c] for c in LEAD_CHANNELS])[d.channel]
        + 0.7 * d.customer
        + 0.8 * b.corp_email
        + 0.5 * b.inn_given
        - 0.6 * b.individual
        + 0.3 * b.big_form
        + 0.3 * world.groups.size_z[d.group]
        + 0.3 * touches_per_lead
        + 0.35 * np.log1p(b.pages_before)
        + 0.5 * b.extra_form
        + 0.4 * b.chat
        + 1.0 * b.responded
    )
    n = len(d.group)
    logit = INTERCEPT + SIGNAL * observable + 0.3 * b.intent + rng.normal(0.0, 0.3, n)
    return logit, logit + rng.logistic(0.0, 1.0, n)


def _draw_outcomes(world: World, d: _Drawn, score: np.ndarray, rng: np.random.Generator) -> _Outcome:
    p, g, win = world.params, world.groups, world.window
    S, E = win.start_day, win.end_day
    n, grp, created_day = len(d.group), d.group, d.created_day
    won = score > 0
    converted = score > -1.8
    frac = (created_day - S) / max(E - S, 1)
    product = clock.choice_rows(rng, clock.product_mix(p, frac))
    amount_rub = PRODUCT_BASE_RUB[product] * g.amount_scale[grp] * np.exp(rng.normal(0.0, 0.6, n)) * 1.3
    amount = (np.round(amount_rub / 100) * 100 * 100).astype(np.int64)
    converted_s = d.created_s + (rng.uniform(2, 25, n) * SECONDS_PER_DAY).astype(np.int64)
    close_s = converted_s + (deal_cycle_days(rng, amount_rub) * SECONDS_PER_DAY).astype(np.int64)
    outcome = np.where(won, OUTCOME_WON, OUTCOME_LOST)
    lost_stage = clock.choice_p(rng, n, (0.4, 0.35, 0.25))
    end_s = (E + 1) * SECONDS_PER_DAY
    invoice_day = np.minimum(close_s // SECONDS_PER_DAY + rng.integers(0, 4, n), E)
    _first_customers(world, d, invoice_day, converted & won & (close_s < end_s))
    # a deal cannot be won while the group has churned (or before it became a customer)
    blocked = won & ~g.is_customer_at(grp, invoice_day)
    outcome = np.where(blocked, OUTCOME_LOST, outcome)
    outcome = np.where(converted & (close_s >= end_s), OUTCOME_OPEN, outcome)
    outcome = np.where(~converted | (converted_s >= end_s), OUTCOME_NONE, outcome)
    converted_s = np.where(outcome != OUTCOME_NONE, converted_s, NEVER)
    return _Outcome(product, amount, converted_s, close_s, invoice_day, outcome, lost_stage)


def _first_customers(world: World, d: _Drawn, invoice_day: np.ndarray, won_in_window: np.ndarray) -> None:
    """Prospects become customers with their first won deal (invoiced up to 3 days after it closes);
    their churn is drawn and their entities start buying one after another."""
    p, g, ents, grp = world.params, world.groups, world.entities, d.group
    new_customer_idx = []
    for lead in np.flatnonzero(won_in_window & ~g.existing[grp]):
        gg = grp[lead]
        if g.first_purchase[gg] == NEVER or invoice_day[lead] < g.first_purchase[gg]:
            if g.first_purchase[gg] == NEVER:
                new_customer_idx.append(gg)
            g.first_purchase[gg] = invoice_day[lead]
            g.first_entity[gg] = d.entity[lead]
    new_customers = np.array(sorted(set(new_customer_idx)), dtype=np.int64)
    churn_rng = rng_for(world.seed, "churn", "new")
    assign_churn(g, new_customers, p, world.window, churn_rng)
    for gg in new_customers.tolist():
        lo_e, k = g.ent_start[gg], g.ent_count[gg]
        ents.join_day[lo_e : lo_e + k] = g.first_purchase[gg] + churn_rng.integers(30, 500, k)
        ents.join_day[g.first_entity[gg]] = g.first_purchase[gg]


def _statuses(
    created_day: np.ndarray, end_day: int, converted: np.ndarray, score: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    age_days = end_day - created_day
    status = LEAD_STATUSES.index
    return np.where(
        converted,
        status("converted"),
        np.where(
            age_days < 10,
            status("new"),
            np.where(
                age_days < 45,
                np.where(score > -3.0, status("qualified"), status("working")),
                np.where(rng.random(len(created_day)) < 0.85, status("disqualified"), status("working")),
            ),
        ),
    )


def _typed_details(
    world: World, d: _Drawn, b: _Behaviour, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[tuple[str, str, str]]]:
    """What the lead typed: company, INN, name, e-mail, phone, region (columns of Leads), and the person."""
    g, ents = world.groups, world.entities
    typed: dict[str, list] = {
        k: [] for k in ("company_name", "inn", "contact_name", "email", "phone", "region")
    }
    persons = []
    for i in range(len(d.group)):
        e = d.entity[i]
        typed["company_name"].append(ents.name(e, rng, "typed") if rng.random() < 0.9 else None)
        if b.inn_given[i]:
            v = ents.inn[e]
            typed["inn"].append(corrupt_inn(v, rng) if rng.random() < 0.04 else v)
        else:
            typed["inn"].append(None)
        last, first, patronymic, _ = names.person(rng)
        persons.append((last, first, patronymic))
        typed["contact_name"].append(names.person_name(last, first, patronymic, rng, "typed"))
        addr = names.email_address(last, first, g.domain[d.group[i]] if b.corp_email[i] else None, rng)
        r = rng.random()
        typed["email"].append(None if r < 0.06 else names.malformed_email(addr, rng) if r < 0.08 else addr)
        typed["phone"].append(_typed_phone(REGIONS[ents.region[e]][3], rng))
        reg = REGION_NAMES[ents.region[e]]
        r = rng.random()
        typed["region"].append(
            None if r < 0.4 else names.pick(rng, REGION_CRM_VARIANTS.get(reg, (reg,))) if r < 0.5 else reg
        )
    return {k: np.array(v, dtype=object) for k, v in typed.items()}, persons


def _typed_phone(area: str, rng: np.random.Generator) -> str | None:
    r = rng.random()
    if r < 0.3:
        return None
    if r < 0.315:
        return names.odd_phone(rng)
    return names.phone_number(rng, None if rng.random() < 0.7 else area)


@dataclass
class LeadActivities:
    lead: np.ndarray
    time_s: np.ndarray
    kind: np.ndarray  # index into ACTIVITY_TYPES
    inbound: np.ndarray
    outcome: np.ndarray  # object
    duration: np.ndarray  # seconds, NULL when not a call or meeting


ACTIVITY_TYPES = ("call", "email", "meeting", "event")
OUTCOMES_REACHED = ("Заинтересован, просит КП", "Договорились о встрече", "Запросил демо", "Interested")
OUTCOMES_NOT_REACHED = ("Не дозвонился", "Не заинтересован", "Перезвонить позже", "No answer")


def lead_activities(world: World, leads: Leads) -> LeadActivities:
    """Calls and e-mails with each lead in its first weeks; responsive leads answer and call back."""
    rng = rng_for(world.seed, "lead_activities")
    E = world.window.end_day
    k = 1 + rng.poisson(1.0 + 0.8 * leads.responded)
    lead = clock.explode(k)
    first = clock.rank_within(lead, k) == 0
    t = leads.created_s[lead] + (rng.uniform(0.05, 30, len(lead)) * SECONDS_PER_DAY).astype(np.int64)
    t = np.where(
        first, leads.created_s[lead] + (rng.uniform(0.02, 3, len(lead)) * 3600 * 24).astype(np.int64), t
    )
    kind = np.where(first, 0, clock.choice_p(rng, len(lead), (0.55, 0.37, 0.08, 0.0)))
    responded = leads.responded[lead]
    kind = np.where((kind == 2) & ~responded, 0, kind)
    inbound = ~first & responded & (rng.random(len(lead)) < 0.35)
    # a lead made from a call that came in: its first activity is that call, when the lead was created
    called_in = first & (leads.channel[lead] == LEAD_CHANNELS.index("inbound_call"))
    inbound |= called_in
    t = np.where(called_in, leads.created_s[lead], t)
    reached = np.where(first, responded, rng.random(len(lead)) < 0.5) | called_in
    pool = np.where(reached, 0, 1)
    phrases = np.array([OUTCOMES_REACHED, OUTCOMES_NOT_REACHED], dtype=object)
    outcome = phrases[pool, rng.integers(0, 4, len(lead))]
    outcome = np.where(kind == 1, None, outcome)
    duration = np.where(
        kind == 0,
        np.where(reached, rng.lognormal(np.log(240), 0.6, len(lead)), rng.uniform(5, 40, len(lead))),
        np.where(kind == 2, rng.uniform(1800, 5400, len(lead)), np.nan),
    )
    duration = np.where(np.isnan(duration), clock.NULL, np.nan_to_num(duration).astype(np.int64))
    keep = t < (E + 1) * SECONDS_PER_DAY
    return clock.take(LeadActivities(lead, t, kind, inbound, outcome, duration), keep)
