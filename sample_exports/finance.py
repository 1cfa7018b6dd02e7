"""Accounting: what customers bought (purchases -> invoices), what they paid, credit notes, and the
counterparty cards accounting keeps for the legal entities it invoices.

Purchases come from four sources: routine buying at the group's pace (trend x seasonality x
engagement, so nothing after churn), won deals of leads (a prospect's first purchase), purchases a
campaign caused, and the purchase that wins a churned group back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from sample_exports import clock, names
from sample_exports.campaigns import InducedPurchases
from sample_exports.leads import OUTCOME_WON, PRODUCT_BASE_RUB, Leads
from sample_exports.params import NEVER, day_number, rng_for
from sample_exports.world import REGION_NAMES, World
from sample_exports.writers import Table

SOURCE_ROUTINE, SOURCE_LEAD, SOURCE_INDUCED, SOURCE_WON_BACK = 0, 1, 2, 3
FOREIGN = (("USD", 0.5, 1 / 90), ("EUR", 0.35, 1 / 100), ("KZT", 0.15, 5.5))
PAYMENT_TERMS = np.array([10, 14, 30, 30, 30, 45])
CREDIT_REASONS = (
    "Возврат товара", "Скидка по договору", "Корректировка цены", "Ошибка в счёте", "Отказ от части услуг",
)  # fmt: skip
VAT_CHANGE_DAY = day_number(date(2026, 1, 1))  # VAT 20% -> 22%


@dataclass
class Purchases:
    group: np.ndarray
    entity: np.ndarray
    day: np.ndarray
    office: np.ndarray
    product: np.ndarray
    amount: np.ndarray  # hundredths of the currency
    currency: np.ndarray
    source: np.ndarray
    lead: np.ndarray
    campaign: np.ndarray
    deal: np.ndarray  # set by crm.build_deals


def purchase_intensity(world: World):
    """Expected routine purchases per day of groups on days (for the campaign lift ground truth)."""
    g, win, p = world.groups, world.window, world.params
    mult = clock.month_multiplier(p, win)

    def intensity(grp: np.ndarray, day: np.ndarray) -> np.ndarray:
        m = np.clip(win.month_index(day), 0, win.n_months - 1)
        return g.purchase_rate[grp] * mult[m] / 30.4 * g.engagement(grp, day, "purchase")

    return intensity


def _amounts(rng, p, g, grp, day, product, win) -> tuple[np.ndarray, np.ndarray]:
    december = win.month_of_year[np.clip(win.month_index(day), 0, win.n_months - 1)] == 12
    rub = PRODUCT_BASE_RUB[product] * g.amount_scale[grp] * np.exp(rng.normal(0.0, 0.6, len(grp)))
    rub = rub * np.where(december, 1.25, 1.0)
    rub = np.maximum(np.round(rub / 100) * 100, 1000)
    foreign = rng.random(len(grp)) < p.foreign_currency_share
    which = clock.choice_p(rng, len(grp), [f[1] for f in FOREIGN])
    rate = np.array([f[2] for f in FOREIGN])[which]
    amount = np.where(foreign, np.round(rub * rate, 2), rub)
    currency = np.where(foreign, np.array([f[0] for f in FOREIGN], dtype=object)[which], "RUB").astype(object)
    return (np.round(amount * 100)).astype(np.int64), currency


def simulate_purchases(world: World, leads: Leads, induced: InducedPurchases) -> Purchases:
    p, win = world.params, world.window
    rng = rng_for(world.seed, "purchases")
    grp, day = _routine_purchases(world, rng)
    # and the first purchases of won leads, those campaigns induced, and win-backs
    won = np.flatnonzero((leads.outcome == OUTCOME_WON) & (leads.invoice_day <= win.end_day))
    ok = world.groups.engagement(induced.group, induced.day, "purchase") > 0
    back = np.flatnonzero(world.groups.won_back <= win.end_day)
    parts = (len(grp), len(won), int(ok.sum()), len(back))
    none = [np.full(k, -1, dtype=np.int64) for k in parts]
    grp = np.concatenate([grp, leads.group[won], induced.group[ok], back])
    day = np.concatenate([day, leads.invoice_day[won], induced.day[ok], world.groups.won_back[back]])
    source = np.concatenate(
        [
            np.full(k, kind)
            for k, kind in zip(
                parts, (SOURCE_ROUTINE, SOURCE_LEAD, SOURCE_INDUCED, SOURCE_WON_BACK), strict=True
            )
        ]
    )
    lead = np.concatenate([none[0], won, none[2], none[3]])
    campaign = np.concatenate([none[0], none[1], induced.campaign[ok], none[3]])
    from_lead = source == SOURCE_LEAD
    ent = _buying_entity(world, grp, day, rng)
    ent = np.where(from_lead, leads.entity[np.maximum(lead, 0)], ent)
    office = _purchase_office(world, grp, ent, rng)
    frac = (day - win.start_day) / max(win.end_day - win.start_day, 1)
    product = clock.choice_rows(rng, clock.product_mix(p, frac))
    product = np.where(from_lead, leads.product[np.maximum(lead, 0)], product)
    induced_product = np.full(len(grp), -1, dtype=np.int64)
    induced_product[source == SOURCE_INDUCED] = induced.product[ok]
    product = np.where(source == SOURCE_INDUCED, induced_product, product)
    amount, currency = _amounts(rng, p, world.groups, grp, day, product, win)
    amount = np.where(from_lead, leads.amount[np.maximum(lead, 0)], amount)
    currency = np.where(from_lead, "RUB", currency).astype(object)
    deal = np.full(len(grp), -1, dtype=np.int64)
    purchases = Purchases(grp, ent, day, office, product, amount, currency, source, lead, campaign, deal)
    return clock.take(purchases, np.lexsort((ent, day)))


def _routine_purchases(world: World, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(group, day) of the purchases customers make at their pace: seasonal, bunched towards quarter
    ends, on working days, fading with engagement."""
    p, g, win = world.params, world.groups, world.window
    mult = clock.month_multiplier(p, win)
    dim = clock.days_in_months(win)
    started = g.first_purchase[:, None] < win.month_stop[None, :]
    lam = g.purchase_rate[:, None] * (mult * dim / 30.4)[None, :] * started
    cell = clock.explode(rng.poisson(lam).ravel())
    grp, month = cell // win.n_months, cell % win.n_months
    u = rng.random(len(grp))
    quarter_end = np.isin(win.month_of_year[month], (3, 6, 9, 12))
    u = np.where(quarter_end, u**0.6, u)  # quarter-end months: buying bunches towards the end
    day = win.month_start[month] + (u * dim[month]).astype(np.int64)
    day = clock.to_working_day(day, win.month_start[month], win.month_stop[month])
    keep = rng.random(len(grp)) < g.engagement(grp, day, "purchase")
    return grp[keep], day[keep]


def _buying_entity(world: World, grp: np.ndarray, day: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Which legal entity buys: mostly the first ones; only entities that have started buying."""
    g = world.groups
    offset = (rng.random(len(grp)) ** 1.7 * g.ent_count[grp]).astype(np.int64)
    ent = g.ent_start[grp] + offset
    return np.where(world.entities.join_day[ent] <= day, ent, g.first_entity[grp])


def _purchase_office(world: World, grp: np.ndarray, ent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The entity's office when the group deals with it, else the group's main office; now and then
    another office of the group."""
    g = world.groups
    max_off = max(len(o) for o in g.offices)
    off_tab = np.array([list(o) + [o[0]] * (max_off - len(o)) for o in g.offices], dtype=object)
    n_off = np.array([len(o) for o in g.offices])
    own = world.entities.office[ent]
    in_group = (off_tab[grp] == own[:, None]).any(axis=1)
    office = np.where(in_group, own, off_tab[grp, 0])
    other = off_tab[grp, (rng.random(len(grp)) * n_off[grp]).astype(np.int64)]
    return np.where(rng.random(len(grp)) < 0.07, other, office).astype(object)


# ---------------------------------------------------------------------------- counterparties
@dataclass
class Counterparties:
    n: int
    entity: np.ndarray
    created_day: np.ndarray
    name: np.ndarray
    inn: np.ndarray
    kpp: np.ndarray
    region: np.ndarray
    address: np.ndarray

    @cached_property
    def counterparty_id(self) -> np.ndarray:
        return clock.numbered_ids("00-", self.n, 6)


def build_counterparties(world: World, purchases: Purchases) -> tuple[Counterparties, np.ndarray]:
    """Cards for every invoiced entity (a few get two); also returns the card each purchase is billed to."""
    p, g, ents, win = world.params, world.groups, world.entities, world.window
    rng = rng_for(world.seed, "counterparties")
    E = win.end_day
    first = np.full(ents.n, NEVER, dtype=np.int64)
    np.minimum.at(first, purchases.entity, purchases.day)
    n_buys = np.bincount(purchases.entity, minlength=ents.n)
    e1 = np.flatnonzero(first < NEVER)
    old = ents.join_day[e1] < win.start_day  # existing customers' entities: cards from before the window
    c1 = np.where(
        old,
        np.minimum(first[e1], g.first_purchase[ents.group[e1]]) - rng.integers(0, 200, len(e1)),
        first[e1],
    )
    c1 = c1 - rng.integers(0, 30, len(e1))
    second = (n_buys[e1] >= 3) & (rng.random(len(e1)) < p.second_counterparty_share)
    c2 = (
        np.maximum(c1, first[e1])
        + 90
        + (rng.random(len(e1)) * np.maximum(E - 120 - first[e1], 1)).astype(np.int64)
    )
    second &= c2 < E - 30
    ent_all = np.concatenate([e1, e1[second]])
    day_all = np.concatenate([c1, c2[second]])
    is_second = np.concatenate([np.zeros(len(e1), bool), np.ones(int(second.sum()), bool)])
    order = np.lexsort((ent_all, day_all))
    ent_all, day_all, is_second = ent_all[order], day_all[order], is_second[order]
    n = len(ent_all)
    card1 = np.full(ents.n, -1, dtype=np.int64)
    card2 = np.full(ents.n, -1, dtype=np.int64)
    card1[ent_all[~is_second]] = np.flatnonzero(~is_second)
    card2[ent_all[is_second]] = np.flatnonzero(is_second)
    c2_day = np.where(card2 >= 0, day_all[np.maximum(card2, 0)], NEVER)
    use2 = (purchases.day >= c2_day[purchases.entity]) & (rng.random(len(purchases.day)) < 0.5)
    card_of_purchase = np.where(use2, card2[purchases.entity], card1[purchases.entity])

    name, inn, kpp, region, addr = [], [], [], [], []
    first_address: dict[int, str] = {}
    for i in range(n):
        e = int(ent_all[i])
        name.append(ents.name(e, rng, "finance"))
        # accounting checks INN check digits on entry: a known-bad INN is left empty
        valid = ents.inn[e] if ents.inn_valid[e] else None
        inn.append(None if is_second[i] and rng.random() < 0.4 else valid)
        kpp.append(ents.kpp[e] or None)
        reg = REGION_NAMES[ents.region[e]]
        region.append(reg)
        a = first_address.get(e) if rng.random() < 0.5 else None
        a = a or names.address(reg, rng)
        first_address.setdefault(e, a)
        addr.append(a)
    return (
        Counterparties(
            n=n,
            entity=ent_all,
            created_day=day_all,
            name=np.array(name, dtype=object),
            inn=np.array(inn, dtype=object),
            kpp=np.array(kpp, dtype=object),
            region=np.array(region, dtype=object),
            address=np.array(addr, dtype=object),
        ),
        card_of_purchase,
    )


def counterparties_table(cp: Counterparties, snapshot_day: int) -> Table:
    rows = np.flatnonzero(cp.created_day <= snapshot_day)
    return Table(
        "counterparties",
        {
            "counterparty_id": cp.counterparty_id[rows],
            "name": cp.name[rows],
            "inn": cp.inn[rows],
            "kpp": cp.kpp[rows],
            "region": cp.region[rows],
            "address": cp.address[rows],
            "created_date": cp.created_day[rows],
        },
        truth_entity=cp.entity[rows],
    )


# ---------------------------------------------------------------------------- ledger
@dataclass
class Ledger:
    """Invoices (one per purchase, in purchase order), payments and credit notes."""

    inv_id: np.ndarray
    inv_card: np.ndarray
    inv_day: np.ndarray
    inv_due: np.ndarray
    vat: np.ndarray
    deal_ref: np.ndarray  # deal index recorded by accounting, -1
    pay_invoice: np.ndarray
    pay_day: np.ndarray
    pay_amount: np.ndarray
    pay_applied: np.ndarray
    cn_invoice: np.ndarray
    cn_day: np.ndarray
    cn_amount: np.ndarray
    cn_reason: np.ndarray
    cost: np.ndarray  # cost of sales of each invoice, hundredths of its currency
    cost_posted: np.ndarray  # accounting posted the cost (else the export leaves it empty)


def invoice_costs(world: World, purchases: Purchases) -> tuple[np.ndarray, np.ndarray]:
    """(cost of sales, posted) of each purchase: the product line's cost share, scaled for the group
    (discounts for big clients), with noise per invoice; a few costs are not posted yet."""
    p = world.params
    rng = rng_for(world.seed, "costs")
    n = len(purchases.day)
    base = np.asarray(p.cost_share_by_line)[purchases.product] if n else np.zeros(0)
    share = np.clip(base * world.groups.cost_scale[purchases.group] * rng.lognormal(0.0, 0.1, n), 0.05, 1.3)
    cost = np.round(purchases.amount * share).astype(np.int64)
    posted = rng.random(n) >= p.cost_unposted_share
    return cost, posted


def build_ledger(world: World, purchases: Purchases, card_of_purchase: np.ndarray) -> Ledger:
    p, g, win = world.params, world.groups, world.window
    rng = rng_for(world.seed, "ledger")
    E = win.end_day
    n = len(purchases.day)
    day = purchases.day
    inv_id = clock.numbered_ids("INV-", n, 7)
    terms = PAYMENT_TERMS[rng.integers(0, len(PAYMENT_TERMS), n)]
    due = day + terms
    vat_rate = np.where(day >= VAT_CHANGE_DAY, 0.22, 0.20)
    vat = np.where(purchases.currency == "RUB", np.round(purchases.amount * vat_rate), 0).astype(np.int64)
    total = purchases.amount + vat
    deal_ref = np.where((purchases.deal >= 0) & (rng.random(n) < 0.85), purchases.deal, -1)

    # credit notes
    has_cn = rng.random(n) < p.credit_note_share
    cn_day = day + rng.integers(3, 60, n)
    has_cn &= cn_day <= E
    cn_amount = np.maximum(np.round(total * rng.uniform(0.05, 1.0, n) / 100) * 100, 100).astype(np.int64)
    cn_amount = np.minimum(cn_amount, total)
    due_total = total - np.where(has_cn, cn_amount, 0)

    # payments: on time, late, partial or never; a client on its way out pays later and less (healthy
    # clients rarely leave an invoice unpaid for good: the rest of the unpaid money is distress)
    distress = g.distress(purchases.group, day)
    u = rng.random(n)
    p_unpaid = p.unpaid_share + 0.3 * distress
    p_partial = p.partial_payment_share + 0.1 * distress
    p_late = p.late_payment_share + 0.55 * distress
    unpaid = u < p_unpaid
    partial = ~unpaid & (u < p_unpaid + p_partial)
    late = ~unpaid & ~partial & (u < p_unpaid + p_partial + p_late)
    on_time_day = day + 1 + (rng.random(n) * terms).astype(np.int64)
    late_day = due + 1 + rng.exponential(12 + 50 * distress).astype(np.int64)
    first_day = np.where(late, late_day, on_time_day)
    first_amt = np.where(
        partial, np.round(due_total * rng.uniform(0.3, 0.7, n) / 100) * 100, due_total
    ).astype(np.int64)
    second = partial & (rng.random(n) < p.partial_paid_later_share)
    second_day = due + rng.integers(10, 80, n)
    pay_inv = np.concatenate([np.flatnonzero(~unpaid), np.flatnonzero(second)])
    pay_day = np.concatenate([first_day[~unpaid], second_day[second]])
    pay_amt = np.concatenate([first_amt[~unpaid], (due_total - first_amt)[second]])
    keep = (pay_day <= E) & (pay_amt > 0)
    pay_inv, pay_day, pay_amt = pay_inv[keep], pay_day[keep], pay_amt[keep]
    pay_day = np.maximum(clock.to_working_day(pay_day, pay_day - 3, E + 1), day[pay_inv])
    order = np.lexsort((pay_inv, pay_day))
    pay_inv, pay_day, pay_amt = pay_inv[order], pay_day[order], pay_amt[order]
    applied = rng.random(len(pay_inv)) >= p.unapplied_payment_share
    cn = np.flatnonzero(has_cn)
    cn_order = np.lexsort((cn, cn_day[cn]))
    cn = cn[cn_order]
    cost, cost_posted = invoice_costs(world, purchases)
    return Ledger(
        inv_id=inv_id,
        inv_card=card_of_purchase,
        inv_day=day,
        inv_due=due,
        vat=vat,
        deal_ref=deal_ref,
        pay_invoice=pay_inv,
        pay_day=pay_day,
        pay_amount=pay_amt,
        pay_applied=applied,
        cn_invoice=cn,
        cn_day=cn_day[cn],
        cn_amount=cn_amount[cn],
        cn_reason=np.array(CREDIT_REASONS, dtype=object)[rng.integers(0, len(CREDIT_REASONS), len(cn))],
        cost=cost,
        cost_posted=cost_posted,
    )


def invoices_table(world, purchases: Purchases, ledger: Ledger, cp: Counterparties, deal_ids, rows) -> Table:
    lines = np.array(world.params.product_lines, dtype=object)
    ref = ledger.deal_ref[rows]
    deal_ref = np.where(ref >= 0, deal_ids[np.maximum(ref, 0)], None)
    return Table(
        "invoices",
        {
            "invoice_id": ledger.inv_id[rows],
            "counterparty_id": cp.counterparty_id[ledger.inv_card[rows]],
            "invoice_date": ledger.inv_day[rows],
            "due_date": ledger.inv_due[rows],
            "office_code": purchases.office[rows],
            "product_line": lines[purchases.product[rows]],
            "amount": purchases.amount[rows],
            "vat_amount": ledger.vat[rows],
            "currency": purchases.currency[rows],
            "deal_ref": deal_ref,
            "cost_amount": np.where(ledger.cost_posted[rows], ledger.cost[rows], clock.NULL),
        },
    )


def payments_table(purchases: Purchases, ledger: Ledger, cp: Counterparties, rows: np.ndarray) -> Table:
    """Payments `rows` (positions in date order, which also number them)."""
    inv = ledger.pay_invoice[rows]
    ids = clock.make_ids("PAY-", (rows + 1), 7)
    return Table(
        "payments",
        {
            "payment_id": ids.astype(object),
            "counterparty_id": cp.counterparty_id[ledger.inv_card[inv]],
            "invoice_id": np.where(ledger.pay_applied[rows], ledger.inv_id[inv], None),
            "payment_date": ledger.pay_day[rows],
            "amount": ledger.pay_amount[rows],
            "currency": purchases.currency[inv],
        },
    )


def credit_notes_table(purchases: Purchases, ledger: Ledger, cp: Counterparties, rows: np.ndarray) -> Table:
    inv = ledger.cn_invoice[rows]
    ids = clock.make_ids("CN-", (rows + 1), 6)
    return Table(
        "credit_notes",
        {
            "credit_note_id": ids.astype(object),
            "invoice_id": ledger.inv_id[inv],
            "counterparty_id": cp.counterparty_id[ledger.inv_card[inv]],
            "credit_note_date": ledger.cn_day[rows],
            "amount": ledger.cn_amount[rows],
            "currency": purchases.currency[inv],
            "reason": ledger.cn_reason[rows],
        },
    )
