"""Marketing campaigns, the customers they touch, and the purchases some of them cause.

Every campaign promotes one product line. A campaign either has a planted effect or none. With lift
L, a touched customer group makes one extra purchase of the promoted line within 30 days
(LIFT_HORIZON_DAYS) with probability L. The additive change in its 30-day probability of buying at
all is then L * (1 - p0),
p0 being the chance it would have bought anyway; of buying the promoted line, L * (1 - p0_line).
Ground truth reports the mean of both over the groups the campaign touched (`true_lift`,
`true_lift_product_line`). Mailings and webinars hold a random share of the groups they select out
as a control group (campaign members with the response held_out, never contacted, never lifted);
ads and events have none. Most customers buy about monthly, so p0 is near 1 and `true_lift` is
small; the product-line lift is the one an analysis of the exports can recover. Customers are touched
at random among the active customers of the campaign's period, so touched and untouched groups are
comparable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sample_exports import clock
from sample_exports.params import GeneratorParams, Sizes, Window, day_to_date, rng_for

CAMPAIGN_TYPES = ("email", "ads", "event", "webinar")
CAMPAIGN_TYPE_WEIGHTS = (0.4, 0.25, 0.15, 0.2)
TYPE_RU = {"email": "Рассылка", "ads": "Реклама", "event": "Конференция", "webinar": "Вебинар"}
# (name in Russian, utm slug, product line promoted)
TOPICS = (
    ("облачные сервисы", "cloud", "cloud"),
    ("лицензии и подписки", "licenses", "licenses"),
    ("кибербезопасность", "security", "licenses"),
    ("импортозамещение", "import", "services"),
    ("техническая поддержка", "support", "support"),
    ("обучение персонала", "training", "training"),
    ("серверное оборудование", "hardware", "hardware"),
)
MONTHS_RU = ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
             "ноябрь", "декабрь")  # fmt: skip
RESPONSES = ("sent", "opened", "clicked", "registered", "attended", "responded", "held_out")
HELD_OUT = RESPONSES.index("held_out")
# response distribution by campaign type, in RESPONSES order
RESPONSE_P = {
    "email": (0.55, 0.28, 0.13, 0.0, 0.0, 0.04),
    "ads": (0.0, 0.0, 0.92, 0.0, 0.0, 0.08),
    "event": (0.0, 0.0, 0.0, 0.4, 0.53, 0.07),
    "webinar": (0.0, 0.0, 0.0, 0.5, 0.44, 0.06),
}
# share of active customer groups a campaign of each type touches
CUSTOMER_REACH = {"email": 0.6, "ads": 0.03, "event": 0.05, "webinar": 0.08}
HOLDOUT_TYPES = ("email", "webinar")
LIFT_HORIZON_DAYS = 30  # the extra purchase a campaign causes comes within a month of the touch


@dataclass
class Campaigns:
    n: int
    ctype: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray
    cost: np.ndarray  # kopecks
    utm: np.ndarray
    name: np.ndarray
    office: np.ndarray
    product: np.ndarray  # index into params.product_lines: the line the campaign promotes
    lift: np.ndarray  # planted probability of an extra purchase within LIFT_HORIZON_DAYS
    control_share: np.ndarray  # share of the selected customer groups held out as a control group
    treated_groups: np.ndarray  # filled by customer_touches: groups touched, and held out
    control_groups: np.ndarray
    # filled by customer_touches: mean additive change over the touched groups in the 30-day
    # probability of any purchase, and of a purchase of the promoted line
    true_lift: np.ndarray
    true_lift_product_line: np.ndarray

    @cached_property
    def campaign_id(self) -> np.ndarray:
        return clock.numbered_ids("CMP-", self.n, 4)

    def of_type(self, t: str) -> np.ndarray:
        return np.flatnonzero(self.ctype == t)


def build_campaigns(p: GeneratorParams, sizes: Sizes, win: Window, seed: int) -> Campaigns:
    rng = rng_for(seed, "campaigns")
    n = sizes.n_campaigns
    ctype = np.array(CAMPAIGN_TYPES, dtype=object)[clock.choice_p(rng, n, CAMPAIGN_TYPE_WEIGHTS)]
    # every type at least twice so leads of each channel find a campaign
    for i, t in enumerate(CAMPAIGN_TYPES * 2):
        ctype[i] = t
    start = np.sort(win.start_day + (rng.random(n) * (win.end_day - 10 - win.start_day)).astype(np.int64))
    ctype = ctype[rng.permutation(n)]
    duration = np.select(
        [ctype == "email", ctype == "ads", ctype == "event"],
        [rng.integers(1, 6, n), rng.integers(20, 61, n), np.zeros(n, dtype=np.int64)],
        np.zeros(n, dtype=np.int64),
    )
    end = np.minimum(start + duration, win.end_day)
    cost_rub = np.select(
        [ctype == "email", ctype == "ads", ctype == "event"],
        [rng.uniform(20e3, 150e3, n), rng.uniform(200e3, 2e6, n), rng.uniform(300e3, 3e6, n)],
        rng.uniform(30e3, 200e3, n),
    )
    cost = (np.round(cost_rub / 100) * 100 * 100).astype(np.int64)
    topic = rng.integers(0, len(TOPICS), n)
    office = np.where(rng.random(n) < 0.5, "MSK", rng.choice(["SPB", "EKB", "NSK", "KZN", "KRD"], n)).astype(
        object
    )
    names_, utms = [], []
    for i in range(n):
        d = day_to_date(int(start[i]))
        names_.append(f"{TYPE_RU[ctype[i]]}: {TOPICS[topic[i]][0]} ({MONTHS_RU[d.month - 1]} {d.year})")
        utms.append(f"{ctype[i]}_{TOPICS[topic[i]][1]}_{d.year}{d.month:02d}_c{i + 1:03d}")
    has_effect = rng.random(n) < p.campaign_effect_share
    has_effect[0], has_effect[1] = True, False  # both kinds always present
    lift = np.where(has_effect, rng.uniform(*p.campaign_lift_range, n), 0.0)
    # mailings and webinars hold a random share of their list out as a control group; nobody can be
    # held out of an ad or a conference (their effect is measured against similar untouched clients)
    holdout = np.isin(ctype, HOLDOUT_TYPES)
    control_share = np.where(
        holdout, rng_for(seed, "campaign_control").uniform(*p.control_share_range, n), 0.0
    )
    return Campaigns(
        n=n,
        ctype=ctype,
        start_day=start,
        end_day=end,
        cost=cost,
        utm=np.array(utms, dtype=object),
        name=np.array(names_, dtype=object),
        office=office,
        product=np.array([p.product_lines.index(TOPICS[t][2]) for t in topic], dtype=np.int64),
        lift=lift,
        control_share=control_share,
        treated_groups=np.zeros(n, dtype=np.int64),
        control_groups=np.zeros(n, dtype=np.int64),
        true_lift=np.zeros(n),
        true_lift_product_line=np.zeros(n),
    )


@dataclass
class Touches:
    """Campaign touches (campaign members), customers' and leads' together."""

    campaign: np.ndarray
    contact: np.ndarray  # -1 for lead touches
    lead: np.ndarray  # -1 for contact touches
    account: np.ndarray  # -1 when unknown
    touched_s: np.ndarray
    response: np.ndarray  # index into RESPONSES


@dataclass
class InducedPurchases:
    group: np.ndarray
    day: np.ndarray
    campaign: np.ndarray
    product: np.ndarray  # the line the campaign promotes


_RESPONSE_MATRIX = np.array([RESPONSE_P[t] for t in CAMPAIGN_TYPES])  # never draws held_out
_LOWEST_RESPONSE = np.argmax(_RESPONSE_MATRIX > 0, axis=1)


def type_index(ctype: np.ndarray) -> np.ndarray:
    """Index into CAMPAIGN_TYPES of each campaign type name."""
    out = np.zeros(len(ctype), dtype=np.int64)
    for i, t in enumerate(CAMPAIGN_TYPES):
        out[ctype == t] = i
    return out


def sample_responses(rng: np.random.Generator, type_idx: np.ndarray, engagement: np.ndarray) -> np.ndarray:
    """A response per touch by campaign type; disengaged clients respond less (drop to the lowest rung)."""
    resp = clock.choice_rows(rng, _RESPONSE_MATRIX[type_idx])
    drop = rng.random(len(resp)) > engagement
    return np.where(drop, _LOWEST_RESPONSE[type_idx], resp)


def customer_touches(
    world, contacts, camps: Campaigns, purchase_intensity
) -> tuple[Touches, InducedPurchases]:
    """Touch random active customers with each campaign; plant the campaign's effect on purchases.

    `purchase_intensity(groups, day)` is the expected number of ordinary purchases per day.
    """
    g = world.groups
    win = world.window
    rng = rng_for(world.seed, "campaign_touches")
    control_rng = rng_for(world.seed, "campaign_control_members")
    t_campaign, t_contact, t_account, t_time, t_resp = [], [], [], [], []
    i_group, i_day, i_campaign = [], [], []
    all_groups = np.arange(g.n)
    for c in range(camps.n):
        start = int(camps.start_day[c])
        ctype = camps.ctype[c]
        active = all_groups[g.is_customer_at(all_groups, np.full(g.n, start))]
        chosen = active[rng.random(len(active)) < CUSTOMER_REACH[ctype]]
        held = control_rng.random(len(chosen)) < camps.control_share[c]
        control = _control_members(control_rng, contacts, chosen[held], start, c)
        if control is not None:
            for parts, values in zip(
                (t_campaign, t_contact, t_account, t_time, t_resp), control, strict=True
            ):
                parts.append(values)
            camps.control_groups[c] = int(held.sum())
        chosen = chosen[~held]
        if len(chosen) == 0:
            continue
        # one or two people per touched group, among its contacts on that day
        per = 1 + (rng.random(len(chosen)) < 0.4).astype(np.int64)
        grp = np.repeat(chosen, per)
        span = int(camps.end_day[c]) - start + 1
        day = start + (rng.random(len(grp)) * span).astype(np.int64)
        contact = contacts.of_group_at(rng, grp, day)
        ok = contact >= 0
        grp, day, contact = grp[ok], day[ok], contact[ok]
        if len(grp) == 0:
            continue
        eng = g.engagement(grp, day, "activity")
        t_campaign.append(np.full(len(grp), c))
        t_contact.append(contact)
        t_account.append(contacts.account[contact])
        t_time.append(clock.office_seconds(rng, day))
        t_resp.append(sample_responses(rng, np.full(len(grp), CAMPAIGN_TYPES.index(ctype)), eng))
        # the effect: once per touched group
        by_day = np.lexsort((day, grp))
        touched, first = np.unique(grp[by_day], return_index=True)
        camps.treated_groups[c] = len(touched)
        t0 = day[by_day][first]  # the group's first touch
        # expected ordinary purchases in the horizon after the touch, and those of the promoted line
        lam = purchase_intensity(touched, t0 + LIFT_HORIZON_DAYS // 2) * float(LIFT_HORIZON_DAYS)
        frac = (t0 + LIFT_HORIZON_DAYS // 2 - win.start_day) / max(win.end_day - win.start_day, 1)
        lam_line = lam * clock.product_mix(world.params, frac)[:, camps.product[c]]
        active_later = g.engagement(touched, t0 + LIFT_HORIZON_DAYS // 2, "purchase") > 0
        lift = camps.lift[c] * active_later
        camps.true_lift[c] = float(np.mean(lift * np.exp(-lam)))  # L * (1 - p0), p0 = 1 - exp(-lam)
        camps.true_lift_product_line[c] = float(np.mean(lift * np.exp(-lam_line)))
        hit = rng.random(len(touched)) < camps.lift[c]
        if hit.any():
            i_group.append(touched[hit])
            i_day.append(t0[hit] + rng.integers(2, LIFT_HORIZON_DAYS - 1, int(hit.sum())))
            i_campaign.append(np.full(int(hit.sum()), c))

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    touches = Touches(
        campaign=cat(t_campaign),
        contact=cat(t_contact),
        lead=np.full(sum(len(x) for x in t_campaign), -1, dtype=np.int64),
        account=cat(t_account),
        touched_s=cat(t_time),
        response=cat(t_resp),
    )
    i_campaign = cat(i_campaign)
    induced = InducedPurchases(cat(i_group), cat(i_day), i_campaign, camps.product[i_campaign])
    keep = induced.day <= win.end_day
    return touches, clock.take(induced, keep)


def _control_members(
    rng: np.random.Generator, contacts, held: np.ndarray, start: int, c: int
) -> tuple[np.ndarray, ...] | None:
    """Campaign-member rows of the held-out groups: one person each, on the campaign's first day,
    response held_out (campaign, contact, account, time, response), or None when nobody is held out."""
    if len(held) == 0:
        return None
    day = np.full(len(held), start, dtype=np.int64)
    contact = contacts.of_group_at(rng, held, day)
    ok = contact >= 0
    contact, day = contact[ok], day[ok]
    n = len(contact)
    return (
        np.full(n, c),
        contact,
        contacts.account[contact],
        clock.office_seconds(rng, day),
        np.full(n, HELD_OUT),
    )


def concat_touches(*parts: Touches) -> Touches:
    return clock.concat(parts)
