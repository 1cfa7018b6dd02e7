"""Web-channel events, generated month by month: anonymous traffic, customers' people (who identify
themselves once through a form, so their later visits can be linked), and leads (browsing before
the form or chat that created them, ad clicks with their campaign's utm tags, visits afterwards).

Only the lead and identification events (a few per lead or person) are planned up front; page views
of anonymous and customer sessions are drawn per month, so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.contracts import LEAD_CHANNELS, WEB_EVENT_TYPES
from sample_exports import clock, names
from sample_exports.campaigns import Campaigns
from sample_exports.crm import Accounts, Contacts
from sample_exports.leads import Leads
from sample_exports.params import SECONDS_PER_DAY, rng_for
from sample_exports.world import REGION_NAMES, REGION_WEIGHTS, World
from sample_exports.writers import Table

SITE = "https://sfera-it.ru"
PAGES = np.array(
    [
        "/",
        "/products/licenses",
        "/products/cloud",
        "/products/hardware",
        "/services/implementation",
        "/support",
        "/support/docs",
        "/pricing",
        "/blog/importozameshchenie",
        "/blog/cloud-migration",
        "/contacts",
        "/about",
        "/webinars",
        "/events",
        "/cases",
        "/careers",
        "/contacts/form",
        "/pricing/request",
        "/support/request",
        "/downloads/price",
    ],
    dtype=object,
)
PAGE_P = {
    "anonymous": (10, 5, 5, 3, 2, 2, 1, 4, 6, 5, 3, 2, 2, 2, 2, 3, 0, 0, 0, 0),
    "customer": (3, 2, 3, 1, 2, 8, 9, 2, 1, 1, 1, 0.5, 2, 1, 0.5, 0, 0, 0, 0, 0),
    "lead": (4, 6, 6, 4, 4, 1, 1, 6, 2, 2, 3, 2, 2, 1, 4, 0, 0, 0, 0, 0),
}
FORM_PAGES = (16, 17)  # index in PAGES
IDENTIFY_PAGES = (18, 19)
REFERRERS = np.array(
    [
        None,
        "https://yandex.ru/",
        "https://www.google.com/",
        "https://vc.ru/",
        "https://habr.com/",
        "https://t.me/",
        "https://dzen.ru/",
        SITE + "/",
    ],
    dtype=object,
)
REFERRER_P = (30, 28, 17, 6, 6, 5, 3, 0)
INTERNAL_REFERRER = 7
AD_SOURCES = (
    ("yandex", "https://yandex.ru/"),
    ("google", "https://www.google.com/"),
    ("vk", "https://vk.com/"),
)
DEVICES = np.array(["desktop", "mobile", "tablet"], dtype=object)
KIND = {name: i for i, name in enumerate(WEB_EVENT_TYPES)}
NS_ANON, NS_LEAD, NS_CONTACT, NS_GROUP, NS_CHAT = 0, 1 << 40, 2 << 40, 3 << 40, 4 << 40
_ALPHABET = np.array(list("0123456789abcdefghjkmnpqrstuvwxyz"[:32]))


def opaque_ids(prefix: str, keys: np.ndarray, seed: int, width: int = 12) -> np.ndarray:
    """Stable random-looking ids (`prefix` + base-32 of a splitmix64 hash of key and seed)."""
    with np.errstate(over="ignore"):
        z = np.asarray(keys, dtype=np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15) % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    digits = np.stack([(z >> np.uint64(5 * k)) & np.uint64(31) for k in range(width)], axis=1).astype(
        np.int64
    )
    chars = np.ascontiguousarray(_ALPHABET[digits]).view(f"U{width}").reshape(len(z))
    return np.strings.add(prefix, chars)


@dataclass
class Events:
    """Web events under construction (compact codes; strings are made when a month is written)."""

    time: np.ndarray
    visitor: np.ndarray  # visitor key (namespaced int)
    kind: np.ndarray
    page: np.ndarray  # index into PAGES, -1
    referrer: np.ndarray  # index into REFERRERS, -1
    ad_source: np.ndarray  # index into AD_SOURCES, -1
    utm_campaign: np.ndarray  # campaign index, -1
    chat: np.ndarray  # chat session key, -1
    form_lead: np.ndarray  # lead whose form fields the event carries, -1
    form_contact: np.ndarray  # contact whose identification form it is, -1
    lead_id: np.ndarray  # lead to write in lead_id, -1
    device: np.ndarray
    geo: np.ndarray  # region index, -1

    @staticmethod
    def empty() -> Events:
        z = np.zeros(0, dtype=np.int64)
        return Events(*(z for _ in Events.__dataclass_fields__))


def _single(time, visitor, kind, **kw) -> Events:
    n = len(time)
    neg = np.full(n, -1, dtype=np.int64)
    base = {f: neg for f in Events.__dataclass_fields__}
    base.update(time=np.asarray(time, np.int64), visitor=np.asarray(visitor, np.int64), kind=np.full(n, kind))
    base.update({k: np.broadcast_to(np.asarray(v, np.int64), (n,)).copy() for k, v in kw.items()})
    return Events(**base)


def sessions(
    rng: np.random.Generator,
    visitor: np.ndarray,
    start: np.ndarray,
    pages: np.ndarray,
    pool: str,
    device: np.ndarray,
    geo: np.ndarray,
    ad_campaign: np.ndarray | None = None,
) -> Events:
    """Page views of sessions (an ad click first where `ad_campaign` >= 0), seconds apart."""
    n = len(visitor)
    ad = np.zeros(n, dtype=bool) if ad_campaign is None else ad_campaign >= 0
    per = pages + ad
    owner = clock.explode(per)
    rank = clock.rank_within(owner, per)
    gaps = rng.integers(15, 240, len(owner))
    gaps[rank == 0] = 0
    csum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(per)[:-1]]).astype(np.int64)
    offset = csum - csum[np.minimum(first[owner], max(len(csum) - 1, 0))] if len(owner) else csum
    is_ad = ad[owner] & (rank == 0)
    w = np.array(PAGE_P[pool], dtype=float)
    page = rng.choice(len(PAGES), size=len(owner), p=w / w.sum())
    src = rng.integers(0, len(AD_SOURCES), n)
    first_event = rank == 0
    landing = ad[owner] & (rank == 1)
    ref = np.where(
        first_event & ~is_ad,
        clock.choice_p(rng, len(owner), REFERRER_P),
        np.where(is_ad, -1, INTERNAL_REFERRER),
    )
    ad_src = np.where(is_ad | landing, src[owner], -1)
    camp = (
        np.full(len(owner), -1, dtype=np.int64)
        if ad_campaign is None
        else np.where(is_ad | landing, ad_campaign[owner], -1)
    )
    return Events(
        time=start[owner] + offset,
        visitor=visitor[owner],
        kind=np.where(is_ad, KIND["ad_click"], KIND["page_view"]),
        page=np.where(is_ad, 0, page),
        referrer=ref,
        ad_source=ad_src,
        utm_campaign=camp,
        chat=np.full(len(owner), -1, dtype=np.int64),
        form_lead=np.full(len(owner), -1, dtype=np.int64),
        form_contact=np.full(len(owner), -1, dtype=np.int64),
        lead_id=np.full(len(owner), -1, dtype=np.int64),
        device=device[owner],
        geo=geo[owner],
    )


def chats(rng, visitor, start, chat_key, lead_id, device, geo) -> Events:
    """A chat_start and a few chat_messages per chat."""
    k = 2 + rng.poisson(2.5, len(visitor))
    owner = clock.explode(k)
    rank = clock.rank_within(owner, k)
    gaps = np.where(rank == 0, 0, rng.integers(10, 150, len(owner)))
    csum = np.cumsum(gaps)
    first = np.concatenate([[0], np.cumsum(k)[:-1]]).astype(np.int64)
    offset = csum - csum[first[owner]] if len(owner) else csum
    ev = _single(
        start[owner] + offset,
        visitor[owner],
        KIND["chat_message"],
        chat=chat_key[owner],
        lead_id=lead_id[owner],
        device=device[owner],
        geo=geo[owner],
        page=rng.choice([0, 7, 1, 2], size=len(owner)),
    )
    ev.kind = np.where(rank == 0, KIND["chat_start"], KIND["chat_message"])
    return ev


class WebStream:
    def __init__(self, world: World, leads: Leads, con: Contacts, acc: Accounts, camps: Campaigns):
        self.world, self.leads, self.con, self.acc, self.camps = world, leads, con, acc, camps
        self.next_id = 1
        rng = rng_for(world.seed, "web_plan")
        win = world.window
        # the web_visitor_id the CRM stores on each lead (used where the lead has a visitor)
        self.lead_visitor = opaque_ids("v", NS_LEAD + np.arange(leads.n), world.seed).astype(object)
        parts = [self._lead_events(rng), self._identify_events(rng)]
        planned = clock.concat(parts)
        s0, s1 = win.start_day * SECONDS_PER_DAY, (win.end_day + 1) * SECONDS_PER_DAY
        planned = clock.take(planned, np.flatnonzero((planned.time >= s0) & (planned.time < s1)))
        self.planned = clock.take(planned, np.argsort(planned.time, kind="stable"))
        vis = np.flatnonzero(con.has_visitor)
        self.visitor_ptr, self.visitor_rows = clock.csr(con.group[vis], world.groups.n)
        self.visitor_rows = vis[self.visitor_rows]
        self.ads = camps.of_type("ads")

    # ------------------------------------------------------------------ planned events
    def _lead_events(self, rng: np.random.Generator) -> Events:
        leads, ents = self.leads, self.world.entities
        L = np.flatnonzero(leads.has_visitor)
        key = NS_LEAD + L
        device = clock.choice_p(rng, len(L), (0.6, 0.35, 0.05))
        geo = np.where(rng.random(len(L)) < 0.8, ents.region[leads.entity[L]], -1)
        created = leads.created_s[L]
        ch = leads.channel[L]
        parts = []
        # browsing before the lead: sessions of ~3 pages over the previous month
        n_sess = (leads.pages_before[L] + 2) // 3
        so = clock.explode(n_sess)
        pages = np.maximum(leads.pages_before[L][so] // np.maximum(n_sess[so], 1), 1)
        start = created[so] - (rng.uniform(0.05, 30, len(so)) * SECONDS_PER_DAY).astype(np.int64)
        ad_lead = ch == LEAD_CHANNELS.index("ad")
        first_sess = clock.rank_within(so, n_sess) == 0
        ad_camp = np.where(ad_lead[so] & first_sess, leads.campaign[L][so], -1)
        parts.append(sessions(rng, key[so], start, pages, "lead", device[so], geo[so], ad_camp))

        # the form or chat that created the lead
        def form_submits(rows: np.ndarray, time: np.ndarray) -> Events:
            """The lead's form, sent by some of the leads (`rows`) at `time`."""
            page = rng.choice(FORM_PAGES, int(rows.sum()))
            return _single(
                time,
                key[rows],
                KIND["form_submit"],
                form_lead=L[rows],
                lead_id=L[rows],
                device=device[rows],
                geo=geo[rows],
                page=page,
            )

        wf = ch == LEAD_CHANNELS.index("web_form")
        parts.append(form_submits(wf, created[wf]))
        cl = ch == LEAD_CHANNELS.index("chat")
        later_chat = leads.chat[L] & ~cl
        chat_start = np.where(
            cl, created, created + (rng.uniform(1, 20, len(L)) * SECONDS_PER_DAY).astype(np.int64)
        )
        has_chat = cl | later_chat
        parts.append(
            chats(
                rng,
                key[has_chat],
                chat_start[has_chat],
                NS_CHAT + L[has_chat],
                np.where(cl, L, -1)[has_chat],
                device[has_chat],
                geo[has_chat],
            )
        )
        ef = leads.extra_form[L]
        t_ef = created[ef] + (rng.uniform(3, 40, int(ef.sum())) * SECONDS_PER_DAY).astype(np.int64)
        parts.append(form_submits(ef, t_ef))
        # visits after the lead
        n_after = (leads.pages_after[L] + 2) // 3
        ao = clock.explode(n_after)
        pages_a = np.maximum(leads.pages_after[L][ao] // np.maximum(n_after[ao], 1), 1)
        start_a = created[ao] + (rng.uniform(1, 45, len(ao)) * SECONDS_PER_DAY).astype(np.int64)
        parts.append(sessions(rng, key[ao], start_a, pages_a, "lead", device[ao], geo[ao]))
        return clock.concat(parts)

    def _identify_events(self, rng: np.random.Generator) -> Events:
        """Customers' people identify themselves once through a form (support request, price download)."""
        con, win = self.con, self.world.window
        c = np.flatnonzero(con.has_visitor)
        day = np.maximum(con.created_s[c] // SECONDS_PER_DAY, win.start_day) + rng.integers(0, 60, len(c))
        t = clock.office_seconds(rng, day)
        geo = self.world.entities.region[self.acc.entity[con.account[c]]]
        return _single(
            t,
            NS_CONTACT + c,
            KIND["form_submit"],
            form_contact=c,
            device=np.zeros(len(c), np.int64),
            geo=geo,
            page=rng.choice(IDENTIFY_PAGES, len(c)),
        )

    # ------------------------------------------------------------------ one month
    def month(self, m: int) -> Table:
        world = self.world
        g, win, p = world.groups, world.window, world.params
        rng = rng_for(world.seed, "web", win.month_labels[m])
        start, stop = int(win.month_start[m]), int(win.month_stop[m])
        mult = clock.month_multiplier(p, win)[m] ** 0.5 * (stop - start) / 30.4
        parts = []
        # anonymous traffic
        n_anon = int(rng.poisson(world.sizes.anonymous_sessions_per_month * mult))
        visitor = (world.sizes.anonymous_visitor_pool * rng.random(n_anon) ** 2.5).astype(np.int64) + NS_ANON
        day = start + (rng.random(n_anon) * (stop - start)).astype(np.int64)
        t0 = clock.any_time_seconds(rng, day)
        device = clock.choice_p(rng, n_anon, (0.55, 0.4, 0.05))
        geo = rng.choice(len(REGION_NAMES), size=n_anon, p=REGION_WEIGHTS)
        pages = 1 + rng.poisson(p.pages_per_session - 1, n_anon)
        ads = self.ads[(self.camps.start_day[self.ads] < stop) & (self.camps.end_day[self.ads] >= start)]
        ad_camp = np.full(n_anon, -1, dtype=np.int64)
        if len(ads):
            is_ad = rng.random(n_anon) < 0.12
            ad_camp[is_ad] = ads[rng.integers(0, len(ads), int(is_ad.sum()))]
        parts.append(sessions(rng, visitor, t0, pages, "anonymous", device, geo, ad_camp))
        chat = rng.random(n_anon) < 0.02
        chat_keys = NS_CHAT + (1 << 36) + m * 10_000_000 + np.flatnonzero(chat)
        parts.append(
            chats(
                rng,
                visitor[chat],
                t0[chat] + 30,
                chat_keys,
                np.full(int(chat.sum()), -1),
                device[chat],
                geo[chat],
            )
        )
        news = rng.random(n_anon) < 0.01
        parts.append(
            _single(
                t0[news] + 60,
                visitor[news],
                KIND["form_submit"],
                device=device[news],
                geo=geo[news],
                page=np.full(int(news.sum()), 10),
                form_contact=np.full(int(news.sum()), -2),
            )
        )
        # customers' people
        started = g.first_purchase < stop
        grp = clock.explode(rng.poisson(g.web_rate * (stop - start) / 30.4 * started))
        day = start + (rng.random(len(grp)) * (stop - start)).astype(np.int64)
        keep = rng.random(len(grp)) < g.engagement(grp, day, "web")
        grp, day = grp[keep], day[keep]
        vis = clock.pick_in_csr(rng, self.visitor_ptr, self.visitor_rows, grp)
        vkey = np.where(vis >= 0, NS_CONTACT + vis, NS_GROUP + grp)
        n_c = len(grp)
        pages = 1 + rng.poisson(p.pages_per_session - 1, n_c)
        parts.append(
            sessions(
                rng,
                vkey,
                clock.office_seconds(rng, day),
                pages,
                "customer",
                clock.choice_p(rng, n_c, (0.8, 0.17, 0.03)),
                g.region[grp],
            )
        )
        s0, s1 = start * SECONDS_PER_DAY, stop * SECONDS_PER_DAY
        pl = self.planned
        parts.append(clock.take(pl, slice(*np.searchsorted(pl.time, [s0, s1]))))
        ev = clock.concat(parts)
        ev = clock.take(ev, np.flatnonzero((ev.time >= s0) & (ev.time < s1)))
        ev = clock.take(ev, np.argsort(ev.time, kind="stable"))
        return self._table(ev, rng)

    def _table(self, ev: Events, rng: np.random.Generator) -> Table:
        n = len(ev.time)
        leads, con, seed = self.leads, self.con, self.world.seed
        ids = clock.make_ids("EV-", np.arange(self.next_id, self.next_id + n), 9)
        self.next_id += n
        visitor = opaque_ids("v", ev.visitor, seed).astype(object)
        chat = np.empty(n, dtype=object)
        has_chat = ev.chat >= 0
        chat[has_chat] = opaque_ids("chat-", ev.chat[has_chat], seed, width=10)
        page_url = np.where(
            ev.page >= 0, np.strings.add(SITE, PAGES[np.maximum(ev.page, 0)].astype(str)), None
        )
        referrer = np.where(ev.referrer >= 0, REFERRERS[np.maximum(ev.referrer, 0)], None)
        ad_ref = np.array([s[1] for s in AD_SOURCES], dtype=object)
        referrer = np.where(ev.kind == KIND["ad_click"], ad_ref[np.maximum(ev.ad_source, 0)], referrer)
        has_utm = ev.utm_campaign >= 0
        utm_source = np.where(
            has_utm, np.array([s[0] for s in AD_SOURCES], dtype=object)[np.maximum(ev.ad_source, 0)], None
        )
        utm_campaign = np.where(has_utm, self.camps.utm[np.maximum(ev.utm_campaign, 0)], None)
        # form fields: a lead's form repeats what the lead typed; a person's identification form is typed anew
        form_company = np.empty(n, dtype=object)
        form_inn = np.empty(n, dtype=object)
        form_email = np.empty(n, dtype=object)
        form_phone = np.empty(n, dtype=object)
        truth = np.full(n, -1, dtype=np.int64)
        fl = np.flatnonzero(ev.form_lead >= 0)
        lead = ev.form_lead[fl]
        form_company[fl] = leads.company_name[lead]
        form_inn[fl] = leads.inn[lead]
        form_email[fl] = leads.email[lead]
        form_phone[fl] = leads.phone[lead]
        truth[fl] = np.where(leads.company_name[lead] != None, leads.entity[lead], -1)  # noqa: E711
        fc = np.flatnonzero(ev.form_contact >= 0)
        c = ev.form_contact[fc]
        ents = self.world.entities
        ent = self.acc.entity[con.account[c]]
        for j, (i, e) in enumerate(zip(fc.tolist(), ent.tolist(), strict=True)):
            form_company[i] = ents.name(e, rng, "typed")
            form_email[i] = con.email[c[j]]
            form_phone[i] = con.phone[c[j]] if rng.random() < 0.4 else None
            form_inn[i] = ents.inn[e] if rng.random() < 0.1 and ents.inn[e] else None
        truth[fc] = ent
        news = np.flatnonzero(ev.form_contact == -2)
        for i in news.tolist():
            last, first, _, _ = names.person(rng)
            form_email[i] = names.email_address(last, first, None, rng)
        return Table(
            "web_events",
            {
                "event_id": ids.astype(object),
                "event_at": ev.time,
                "visitor_id": visitor,
                "event_type": np.array(WEB_EVENT_TYPES, dtype=object)[ev.kind],
                "page_url": page_url,
                "referrer": referrer,
                "utm_source": utm_source,
                "utm_medium": np.where(has_utm, "cpc", None),
                "utm_campaign": utm_campaign,
                "chat_session_id": chat,
                "form_company": form_company,
                "form_inn": form_inn,
                "form_email": form_email,
                "form_phone": form_phone,
                "lead_id": np.where(ev.lead_id >= 0, leads.lead_id[np.maximum(ev.lead_id, 0)], None),
                "device": DEVICES[np.clip(ev.device, 0, 2)],
                "geo_region": np.where(
                    ev.geo >= 0, np.array(REGION_NAMES, dtype=object)[np.maximum(ev.geo, 0)], None
                ),
            },
            truth_entity=truth,
        )
