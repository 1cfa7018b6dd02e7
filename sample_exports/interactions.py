"""Interactions logged in the CRM: activities (streamed month by month), support tickets and campaign
members. Volumes follow each customer's engagement, so churners go quiet over their trail, raise
more tickets that stay open, and respond less to campaigns.
"""

from __future__ import annotations

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
        self.lead_acts = LeadActivities(
            *(getattr(lead_acts, f)[lo] for f in LeadActivities.__dataclass_fields__)
        )

    def month(self, m: int) -> Table:
        world, acc, con, users = self.world, self.acc, self.con, self.world.users
        g, win, p = world.groups, world.window, world.params
        rng = rng_for(world.seed, "activities", win.month_labels[m])
        start, stop = int(win.month_start[m]), int(win.month_stop[m])
        started = g.first_purchase < stop
        days = (stop - start) / 30.4
        customer = clock.explode(rng.poisson(g.activity_rate * days * started))
        # outreach to prospects (groups not buying yet) that have an account
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
        grp, day, account, is_prospect = grp[ok], day[ok], account[ok], is_prospect[ok]
        n_r = len(grp)
        r_time = clock.office_seconds(rng, day)
        r_contact = np.where(rng.random(n_r) < 0.8, con.of_account_at(rng, account, day), -1)
        owner = users.owner_at(acc.owner0[account], day)
        support = rng.random(n_r) < 0.15
        if support.any():
            owner[support] = users.pick_employed(
                rng, ("support_agent",), acc.office[account[support]], day[support]
            )
        r_kind = np.where(
            is_prospect, clock.choice_p(rng, n_r, (0.6, 0.4, 0, 0)), clock.choice_p(rng, n_r, ROUTINE_TYPE_P)
        )
        r_inbound = ~is_prospect & (rng.random(n_r) < np.where(r_kind == 1, 0.45, 0.3))
        r_outcome = np.where(
            is_prospect,
            PROSPECT_OUTCOMES[rng.integers(0, len(PROSPECT_OUTCOMES), n_r)],
            ROUTINE_OUTCOMES[rng.integers(0, len(ROUTINE_OUTCOMES), n_r)],
        )

        s0, s1 = start * SECONDS_PER_DAY, stop * SECONDS_PER_DAY
        dl = slice(*np.searchsorted(self.deal_time, [s0, s1]))
        d_deal, d_time = self.deal_deal[dl], self.deal_time[dl]
        d_acc = self.deals.account[d_deal]
        d_day = d_time // SECONDS_PER_DAY
        d_contact = con.of_account_at(rng, d_acc, d_day)
        d_owner = users.owner_at(self.deals.owner0[d_deal], d_day)
        la = self.lead_acts
        ll = slice(*np.searchsorted(la.time_s, [s0, s1]))
        l_lead = la.lead[ll]
        l_owner = users.owner_at(self.leads.owner0[l_lead], la.time_s[ll] // SECONDS_PER_DAY)

        kind = np.concatenate([r_kind, self.deal_kind[dl], la.kind[ll]])
        time = np.concatenate([r_time, d_time, la.time_s[ll]])
        account_all = np.concatenate([account, d_acc, np.full(len(l_lead), -1, dtype=np.int64)])
        contact = np.concatenate([r_contact, d_contact, np.full(len(l_lead), -1, dtype=np.int64)])
        lead = np.concatenate([np.full(n_r + len(d_deal), -1, dtype=np.int64), l_lead])
        deal = np.concatenate(
            [np.full(n_r, -1, dtype=np.int64), d_deal, np.full(len(l_lead), -1, dtype=np.int64)]
        )
        owner_all = np.concatenate([owner, d_owner, l_owner])
        inbound = np.concatenate([r_inbound, self.deal_inbound[dl], la.inbound[ll]])
        outcome = np.concatenate([r_outcome, self.deal_outcome[dl], la.outcome[ll]])
        duration = np.concatenate(
            [_durations(rng, np.concatenate([r_kind, self.deal_kind[dl]])), la.duration[ll]]
        )
        outcome = np.where(kind == 3, None, outcome)
        order = np.argsort(time, kind="stable")
        n = len(order)
        ids = clock.make_ids("ACT-", np.arange(self.next_id, self.next_id + n), 8)
        self.next_id += n
        kind, time, account_all, contact, lead, deal, owner_all, inbound, outcome, duration = (
            a[order]
            for a in (kind, time, account_all, contact, lead, deal, owner_all, inbound, outcome, duration)
        )
        return Table(
            "activities",
            {
                "activity_id": ids.astype(object),
                "activity_type": np.array(ACTIVITY_TYPES, dtype=object)[kind],
                "direction": np.where(kind == 3, None, np.where(inbound, "inbound", "outbound")).astype(
                    object
                ),
                "occurred_at": time,
                "account_id": _opt_ids(acc.account_id, account_all),
                "contact_id": _opt_ids(con.contact_id, contact),
                "lead_id": _opt_ids(self.leads.lead_id, lead),
                "deal_id": _opt_ids(self.deals.deal_id, deal),
                "owner_user_id": world.users.user_id[owner_all],
                "duration_seconds": duration,
                "outcome": outcome,
            },
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
        "ticket_id": clock.make_ids("TKT-", np.arange(1, n + 1), 6),
        "account_id": acc.account_id[account[order]],
        "contact_id": _opt_ids(con.contact_id, contact[order]),
        "opened_at": opened[order],
        "priority": np.array(PRIORITIES, dtype=object)[prio[order]],
        "status": status[order].astype(object),
        "resolved_at": np.where(open_now, clock.NULL, resolved)[order],
        "category": TICKET_CATEGORIES[rng.integers(0, len(TICKET_CATEGORIES), n)],
        "channel": np.array(TICKET_CHANNELS, dtype=object)[clock.choice_p(rng, n, (0.3, 0.35, 0.2, 0.15))],
        "owner_user_id": users.user_id[owner[order]],
    }
    return Table("tickets", cols)


class CampaignMemberStream:
    """Campaign members (customers' and leads' touches) in time order, month by month."""

    def __init__(self, touches: Touches, camps: Campaigns, con: Contacts, acc: Accounts, leads: Leads):
        order = np.argsort(touches.touched_s, kind="stable")
        self.t = Touches(*(getattr(touches, f)[order] for f in Touches.__dataclass_fields__))
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
