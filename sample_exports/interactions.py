"""Interactions logged in the CRM: activities (streamed month by month), support tickets and campaign
members. Volumes follow each customer's engagement, so churners go quiet over their trail, raise
more tickets that stay open, and respond less to campaigns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sample_exports import clock
from sample_exports.campaigns import RESPONSES, Campaigns, Touches
from sample_exports.crm import Accounts, Contacts, Deals, _opt_ids
from sample_exports.leads import ACTIVITY_TYPES, LeadActivities, Leads
from sample_exports.params import SECONDS_PER_DAY, rng_for
from sample_exports.world import World
from sample_exports.writers import Table

ROUTINE_TYPE_P = (0.45, 0.38, 0.12, 0.05)
ROUTINE_OUTCOMES = np.array(
    [
        "Обсудили продление", "Клиент доволен", "Запросил счёт", "Не дозвонился", "Отправлено письмо",
        "Встреча проведена", "Перезвонить", "Обсудили проблему", "Follow-up sent", "Жалоба на сроки",
    ],
    dtype=object,
)  # fmt: skip
PROSPECT_OUTCOMES = np.array(
    ["Холодный звонок", "Отправлена презентация", "Не заинтересован", "Перезвонить через месяц", "Нет ЛПР"],
    dtype=object,
)
DEAL_OUTCOMES = np.array(
    [
        "Отправлено КП",
        "Обсудили условия",
        "Согласование договора",
        "Презентация решения",
        "Уточнение требований",
    ],
    dtype=object,
)
TICKET_CATEGORIES = np.array(
    [
        "Лицензирование",
        "Установка и настройка",
        "Ошибка в работе",
        "Счета и оплата",
        "Доступ и учётные записи",
        "Оборудование",
        "Консультация",
    ],
    dtype=object,
)
PRIORITIES = ("low", "normal", "high", "critical")
TICKET_CHANNELS = ("phone", "email", "portal", "chat")


def _durations(rng: np.random.Generator, kind: np.ndarray) -> np.ndarray:
    n = len(kind)
    call = rng.lognormal(np.log(200), 0.8, n)
    meeting = rng.uniform(1800, 5400, n)
    d = np.where(kind == 0, call, np.where(kind == 2, meeting, -1.0))
    return np.where(d < 0, clock.NULL, d.astype(np.int64))


@dataclass
class _Batch:
    """Activities of one kind of work in a month, before ids and order (indices: -1 for none)."""

    kind: np.ndarray
    time: np.ndarray
    account: np.ndarray
    contact: np.ndarray
    lead: np.ndarray
    deal: np.ndarray
    owner: np.ndarray
    inbound: np.ndarray
    outcome: np.ndarray
    duration: np.ndarray | None = None  # seconds, NULL when not a call or meeting

    @staticmethod
    def none(n: int) -> np.ndarray:
        return np.full(n, -1, dtype=np.int64)


class ActivityStream:
    """Activities month by month: routine account work, deal work and lead follow-up."""

    def __init__(
        self,
        world: World,
        acc: Accounts,
        con: Contacts,
        leads: Leads,
        deals: Deals,
        lead_acts: LeadActivities,
    ):
        self.world, self.acc, self.con, self.leads, self.deals = world, acc, con, leads, deals
        self.next_id = 1
        rng = rng_for(world.seed, "deal_activities")
        end_s = (world.window.end_day + 1) * SECONDS_PER_DAY
        stop = np.minimum(deals.close_s, end_s - 1)
        span_days = np.maximum(stop - deals.created_s, 0) / SECONDS_PER_DAY
        k = np.minimum(rng.poisson(0.6 + span_days / 14), 14)
        deal = clock.explode(k)
        t = deals.created_s[deal] + (rng.random(len(deal)) * (stop - deals.created_s)[deal]).astype(np.int64)
        order = np.argsort(t, kind="stable")
        self.deal_deal, self.deal_time = deal[order], t[order]
        self.deal_kind = clock.choice_p(rng, len(deal), (0.4, 0.4, 0.2, 0.0))
        self.deal_inbound = rng.random(len(deal)) < 0.3
        self.deal_outcome = DEAL_OUTCOMES[rng.integers(0, len(DEAL_OUTCOMES), len(deal))]
        lo = np.argsort(lead_acts.time_s, kind="stable")
        self.lead_acts = clock.take(lead_acts, lo)

    def month(self, m: int) -> Table:
        world, win = self.world, self.world.window
        rng = rng_for(world.seed, "activities", win.month_labels[m])
        start, stop = int(win.month_start[m]), int(win.month_stop[m])
        routine = self._routine(start, stop, rng)
        s0, s1 = start * SECONDS_PER_DAY, stop * SECONDS_PER_DAY
        deal_work = self._deal_work(s0, s1, rng)
        lead_work = self._lead_work(s0, s1)
        calls_and_meetings = _durations(rng, np.concatenate([routine.kind, deal_work.kind]))
        routine.duration, deal_work.duration = np.split(calls_and_meetings, [len(routine.kind)])
        b = clock.concat([routine, deal_work, lead_work])
        b.outcome = np.where(b.kind == 3, None, b.outcome)
        order = np.argsort(b.time, kind="stable")
        b = clock.take(b, order)
        n = len(order)
        ids = clock.make_ids("ACT-", np.arange(self.next_id, self.next_id + n), 8)
        self.next_id += n
        return Table(
            "activities",
            {
                "activity_id": ids.astype(object),
                "activity_type": np.array(ACTIVITY_TYPES, dtype=object)[b.kind],
                "direction": np.where(b.kind == 3, None, np.where(b.inbound, "inbound", "outbound")).astype(
                    object
                ),
                "occurred_at": b.time,
                "account_id": _opt_ids(self.acc.account_id, b.account),
                "contact_id": _opt_ids(self.con.contact_id, b.contact),
                "lead_id": _opt_ids(self.leads.lead_id, b.lead),
                "deal_id": _opt_ids(self.deals.deal_id, b.deal),
                "owner_user_id": self.world.users.user_id[b.owner],
                "duration_seconds": b.duration,
                "outcome": b.outcome,
            },
        )

    def _routine(self, start: int, stop: int, rng: np.random.Generator) -> _Batch:
        """Routine account work with customers (at the pace of their engagement) and outreach to
        prospects (groups not buying yet) that have an account."""
        world, acc, con, users = self.world, self.acc, self.con, self.world.users
        g, p = world.groups, world.params
        started = g.first_purchase < stop
        days = (stop - start) / 30.4
        customer = clock.explode(rng.poisson(g.activity_rate * days * started))
        prospect = clock.explode(
            rng.poisson(np.full(g.n, p.prospect_activities_per_month * days) * (g.first_purchase > start))
        )
        grp = np.concatenate([customer, prospect])
        is_prospect = np.arange(len(grp)) >= len(customer)
        day = start + (rng.random(len(grp)) * (stop - start)).astype(np.int64)
        day = np.where(rng.random(len(grp)) < 0.92, clock.to_working_day(day, start, stop), day)
        level = np.where(is_prospect, day < g.first_purchase[grp], g.engagement(grp, day, "activity"))
        keep = rng.random(len(grp)) < level
        grp, day, is_prospect = grp[keep], day[keep], is_prospect[keep]
        account = acc.of_group_at(rng, grp, day)
        ok = account >= 0
        day, account, is_prospect = day[ok], account[ok], is_prospect[ok]
        n = len(day)
        time = clock.office_seconds(rng, day)
        contact = np.where(rng.random(n) < 0.8, con.of_account_at(rng, account, day), -1)
        owner = users.owner_at(acc.owner0[account], day)
        support = rng.random(n) < 0.15
        if support.any():
            owner[support] = users.pick_employed(
                rng, ("support_agent",), acc.office[account[support]], day[support]
            )
        kind = np.where(
            is_prospect, clock.choice_p(rng, n, (0.6, 0.4, 0, 0)), clock.choice_p(rng, n, ROUTINE_TYPE_P)
        )
        inbound = ~is_prospect & (rng.random(n) < np.where(kind == 1, 0.45, 0.3))
        outcome = np.where(
            is_prospect,
            PROSPECT_OUTCOMES[rng.integers(0, len(PROSPECT_OUTCOMES), n)],
            ROUTINE_OUTCOMES[rng.integers(0, len(ROUTINE_OUTCOMES), n)],
        )
        none = _Batch.none(n)
        return _Batch(kind, time, account, contact, none, none, owner, inbound, outcome)

    def _deal_work(self, s0: int, s1: int, rng: np.random.Generator) -> _Batch:
        """Work on open deals between two times (drawn for the whole history at the start)."""
        dl = slice(*np.searchsorted(self.deal_time, [s0, s1]))
        deal, time = self.deal_deal[dl], self.deal_time[dl]
        account = self.deals.account[deal]
        day = time // SECONDS_PER_DAY
        contact = self.con.of_account_at(rng, account, day)
        owner = self.world.users.owner_at(self.deals.owner0[deal], day)
        none = _Batch.none(len(deal))
        kind, inbound, outcome = self.deal_kind[dl], self.deal_inbound[dl], self.deal_outcome[dl]
        return _Batch(kind, time, account, contact, none, deal, owner, inbound, outcome)

    def _lead_work(self, s0: int, s1: int) -> _Batch:
        """Follow-up of leads between two times (drawn with the leads)."""
        la = self.lead_acts
        ll = slice(*np.searchsorted(la.time_s, [s0, s1]))
        lead = la.lead[ll]
        owner = self.world.users.owner_at(self.leads.owner0[lead], la.time_s[ll] // SECONDS_PER_DAY)
        none = _Batch.none(len(lead))
        return _Batch(
            la.kind[ll],
            la.time_s[ll],
            none,
            none,
            lead,
            none,
            owner,
            la.inbound[ll],
            la.outcome[ll],
            la.duration[ll],
        )


def tickets_table(world: World, acc: Accounts, con: Contacts) -> Table:
    """Support tickets over the whole history, as they stand at the end date."""
    g, win, p, users = world.groups, world.window, world.params, world.users
    rng = rng_for(world.seed, "tickets")
    E = win.end_day
    dim = clock.days_in_months(win)
    started = g.first_purchase[:, None] < win.month_stop[None, :]
    lam = (g.ticket_rate[:, None] * (dim / 30.4)[None, :] * 3.0) * started
    cell = clock.explode(rng.poisson(lam).ravel())
    grp, month = cell // win.n_months, cell % win.n_months
    day = clock.random_days_in_months(rng, month, win)
    distress = g.distress(grp, day)
    level = np.where(day < g.first_purchase[grp], 0.0, np.where(g.churned_at(grp, day), 0.05, 1.0))
    keep = rng.random(len(grp)) < (1.0 + 2.0 * distress) / 3.0 * level
    grp, day, distress = grp[keep], day[keep], distress[keep]
    account = acc.of_group_at(rng, grp, day)
    ok = account >= 0
    grp, day, distress, account = grp[ok], day[ok], distress[ok], account[ok]
    n = len(grp)
    opened = clock.any_time_seconds(rng, day)
    base = np.array([0.25, 0.5, 0.2, 0.05])
    probs = base[None, :] * np.column_stack([np.ones(n), np.ones(n), 1 + 2 * distress, 1 + 3 * distress])
    prio = clock.choice_rows(rng, probs)
    median_h = np.array([168.0, 72.0, 24.0, 6.0])[prio] * (1 + 2 * distress)
    hours = rng.lognormal(np.log(median_h), 0.8)
    never = rng.random(n) < p.unresolved_ticket_share + 0.55 * distress
    resolved = opened + (hours * 3600).astype(np.int64)
    end_s = (E + 1) * SECONDS_PER_DAY
    open_now = never | (resolved >= end_s)
    status_open = np.array(["open", "in_progress", "waiting"], dtype=object)[
        clock.choice_p(rng, n, (0.5, 0.3, 0.2))
    ]
    status = np.where(
        open_now, status_open, np.where(resolved < end_s - 7 * SECONDS_PER_DAY, "closed", "resolved")
    )
    order = np.argsort(opened, kind="stable")
    contact = con.of_account_at(rng, account, day)
    owner = users.pick_employed(rng, ("support_agent",), acc.office[account], day)
    cols = {
        "ticket_id": clock.numbered_ids("TKT-", n, 6),
        "account_id": acc.account_id[account[order]],
        "contact_id": _opt_ids(con.contact_id, contact[order]),
        "opened_at": opened[order],
        "priority": np.array(PRIORITIES, dtype=object)[prio[order]],
        "status": status[order].astype(object),
        "resolved_at": np.where(open_now, clock.NULL, resolved)[order],
        "category": TICKET_CATEGORIES[rng.integers(0, len(TICKET_CATEGORIES), n)],
        "channel": np.array(TICKET_CHANNELS, dtype=object)[clock.choice_p(rng, n, (0.3, 0.35, 0.2, 0.15))],
        "owner_user_id": users.user_id[owner[order]],
        "partner_id": _opt_ids(world.partners.partner_id, _ticket_partners(world, grp)[order]),
    }
    return Table("tickets", cols)


def _ticket_partners(world: World, grp: np.ndarray) -> np.ndarray:
    """The partner that raised each ticket for its end user (-1: the client raised it)."""
    rng = rng_for(world.seed, "ticket_partners")
    via = world.groups.partner[grp]
    return np.where((via >= 0) & (rng.random(len(grp)) < world.params.partner_ticket_share), via, -1)


class CampaignMemberStream:
    """Campaign members (customers' and leads' touches) in time order, month by month."""

    def __init__(self, touches: Touches, camps: Campaigns, con: Contacts, acc: Accounts, leads: Leads):
        order = np.argsort(touches.touched_s, kind="stable")
        self.t = clock.take(touches, order)
        self.camps, self.con, self.acc, self.leads = camps, con, acc, leads

    def month(self, start_day: int, stop_day: int) -> Table:
        t = self.t
        rows = np.arange(
            *np.searchsorted(t.touched_s, [start_day * SECONDS_PER_DAY, stop_day * SECONDS_PER_DAY])
        )
        ids = clock.make_ids("CM-", (rows + 1), 7)
        return Table(
            "campaign_members",
            {
                "campaign_member_id": ids.astype(object),
                "campaign_id": self.camps.campaign_id[t.campaign[rows]],
                "contact_id": _opt_ids(self.con.contact_id, t.contact[rows]),
                "lead_id": _opt_ids(self.leads.lead_id, t.lead[rows]),
                "account_id": _opt_ids(self.acc.account_id, t.account[rows]),
                "touched_at": t.touched_s[rows],
                "response": np.array(RESPONSES, dtype=object)[t.response[rows]],
            },
        )
