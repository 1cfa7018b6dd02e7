"""Ground truth: what later stages are judged against, written to OUT/ground_truth/ as UTF-8 CSV."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import numpy as np

from ingest.contracts import LEAD_CHANNELS
from sample_exports.campaigns import Campaigns
from sample_exports.crm import Deals
from sample_exports.finance import FOREIGN, Ledger, Purchases
from sample_exports.ids import IdStyle
from sample_exports.leads import OUTCOME_LOST, OUTCOME_NONE, OUTCOME_OPEN, OUTCOME_WON, Leads
from sample_exports.params import GENERATOR_VERSION, NEVER, day_to_date
from sample_exports.world import MANAGER_ROLES, REGION_NAMES, World
from sample_exports.writers import GroundTruthLog

GROUND_TRUTH_DIR = "ground_truth"


def _date_or_empty(day: int) -> str:
    return "" if day >= NEVER else day_to_date(day).isoformat()


def _write(path: Path, header: list[str], rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _flag(value) -> str:
    return "true" if value else "false"


@dataclass
class Business:
    """What the ground truth of the economics needs from the simulation."""

    leads: Leads
    purchases: Purchases
    ledger: Ledger
    deals: Deals


def write_ground_truth(
    out_dir: Path,
    world: World,
    camps: Campaigns,
    log: GroundTruthLog,
    manifest: dict,
    ids: IdStyle | None = None,
    business: Business | None = None,
) -> Path:
    """`ids`: how the exports wrote CRM ids, so that truth names records the way the warehouse does.
    `business`: leads, purchases, ledger and deals, for the economics, lead origins and partners."""
    ids = ids or IdStyle()
    gt = out_dir / GROUND_TRUTH_DIR
    gt.mkdir(parents=True, exist_ok=True)
    if business is not None:
        economics = group_economics(world, business)
        _write_economics(gt / "client_economics.csv", world, economics)
        _write_leads(gt / "leads.csv", world, business.leads, ids)
        _write_partners(gt / "partners.csv", world, ids)
        _write_partner_end_users(gt / "partner_end_users.csv", world, business.deals, ids)
    _write_groups(gt / "groups.csv", world)
    _write_entities(gt / "entities.csv", world)
    _write_source_records(gt / "source_records.csv", world, log)
    _write(gt / "quarantine.csv", ["file", "row_number", "entity", "reason"], sorted(log.quarantine))
    _write(gt / "repairs.csv", ["file", "row_number", "column", "original"], sorted(log.repairs))
    _write_campaigns(gt / "campaigns.csv", world, camps, ids)
    _write_managers(gt / "managers.csv", world, ids)
    with open(gt / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2, sort_keys=True, default=_json_default)
        fh.write("\n")
    return gt


def _write_groups(path: Path, world: World) -> None:
    g = world.groups
    header = ["group_id", "group_name", "n_entities", "offices", "is_customer"]
    planted = g.planted_holding if len(g.planted_holding) else np.zeros(g.n, dtype=bool)
    _write(
        path,
        [*header, "first_purchase_date", "churn_date", "won_back_date", "is_planted_holding"],
        (
            (
                group_id,
                g.name[i],
                int(g.ent_count[i]),
                ";".join(g.offices[i]),
                _flag(g.first_purchase[i] < NEVER),
                _date_or_empty(int(g.first_purchase[i])),
                _date_or_empty(int(g.churn[i])),
                _date_or_empty(int(g.won_back[i])),
                _flag(planted[i]),
            )
            for i, group_id in enumerate(g.group_id.tolist())
        ),
    )


def _write_entities(path: Path, world: World) -> None:
    ents, group_ids = world.entities, world.groups.group_id.tolist()
    _write(
        path,
        ["entity_id", "group_id", "canonical_name", "legal_form", "inn", "inn_is_valid", "kpp", "region"],
        (
            (
                entity_id,
                group_ids[int(ents.group[e])],
                ents.native[e],
                ents.form[e],
                ents.inn[e],
                _flag(ents.inn_valid[e]),
                ents.kpp[e],
                REGION_NAMES[int(ents.region[e])],
            )
            for e, entity_id in enumerate(ents.entity_id.tolist())
        ),
    )


def _write_source_records(path: Path, world: World, log: GroundTruthLog) -> None:
    ents, group_ids, entity_ids = (
        world.entities,
        world.groups.group_id.tolist(),
        world.entities.entity_id.tolist(),
    )
    _write(
        path,
        ["source", "entity", "record_id", "entity_id", "group_id"],
        (
            (source, entity, record_id, entity_ids[e], group_ids[int(ents.group[e])])
            for source, entity, record_id, e in log.source_records
        ),
    )


def _write_campaigns(path: Path, world: World, camps: Campaigns, ids: IdStyle) -> None:
    camp_ids = ids.ids("campaigns", camps.campaign_id).tolist()
    header = [
        "campaign_id",
        "true_lift",
        "has_effect",
        "product_line",
        "true_lift_product_line",
        "planted_lift",
    ]
    _write(
        path,
        [*header, "control_share", "treated_groups", "control_groups"],
        (
            (
                camp_ids[c],
                f"{camps.true_lift[c]:.4f}",
                _flag(camps.lift[c] > 0),
                world.params.product_lines[camps.product[c]],
                f"{camps.true_lift_product_line[c]:.4f}",
                f"{camps.lift[c]:.4f}",
                f"{camps.control_share[c]:.4f}",
                int(camps.treated_groups[c]),
                int(camps.control_groups[c]),
            )
            for c in range(camps.n)
        ),
    )


def _write_managers(path: Path, world: World, ids: IdStyle) -> None:
    users = world.users
    managers = np.flatnonzero(np.isin(users.role, MANAGER_ROLES))
    user_ids = ids.ids("users", users.user_id)
    _write(
        path,
        ["user_id", "left_date", "reassigned_to"],
        (
            (
                user_ids[u],
                _date_or_empty(int(users.left_day[u])),
                user_ids[users.reassigned_to[u]] if users.reassigned_to[u] >= 0 else "",
            )
            for u in managers.tolist()
        ),
    )


# a lead's source channel -> the first-touch origin the warehouse publishes (mart_lead_origin)
CHANNEL_ORIGIN = {
    "web_form": "web_form", "ad": "ad_click", "event": "event", "webinar": "event", "email": "email_campaign",
    "referral": "client_referral", "cold_call": "cold_call", "partner": "partner_referral", "chat": "chat",
    "inbound_call": "inbound_call",
}  # fmt: skip
OUTCOME_NAMES = {OUTCOME_WON: "won", OUTCOME_LOST: "lost", OUTCOME_OPEN: "open", OUTCOME_NONE: "none"}
DAYS_12M = 365
_RUB_PER_UNIT = {"RUB": 1.0, **{code: 1.0 / per_rub for code, _, per_rub in FOREIGN}}


@dataclass
class GroupEconomics:
    """Per group, in roubles: the 12 months to the end date, and the first year of new customers."""

    net_revenue_12m: np.ndarray
    cost_of_sales_12m: np.ndarray
    first_year_gross_margin: np.ndarray  # NaN unless the first purchase is a full year before the end
    origin: list[str]  # first-touch origin of the group's first lead ('' when none)


def group_economics(world: World, b: Business) -> GroupEconomics:
    """Net revenue (before VAT, less the pre-VAT part of credit notes), cost of sales and gross
    margin by group, as the warehouse computes them from the exports (credit notes do not lower cost)."""
    g, p, E = world.groups, b.purchases, world.window.end_day
    rate = np.array([_RUB_PER_UNIT[c] for c in p.currency.tolist()]) if len(p.day) else np.zeros(0)
    total = p.amount + b.ledger.vat
    credited = np.zeros(len(p.day))
    np.add.at(credited, b.ledger.cn_invoice, b.ledger.cn_amount)
    net = (
        (p.amount - credited * np.divide(p.amount, total, out=np.zeros(len(p.day)), where=total > 0))
        * rate
        / 100
    )
    cost = b.ledger.cost * rate / 100
    recent = p.day > E - DAYS_12M
    revenue_12m = np.bincount(p.group[recent], weights=net[recent], minlength=g.n)
    cost_12m = np.bincount(p.group[recent], weights=cost[recent], minlength=g.n)
    first = g.first_purchase[p.group]
    first_year = (p.day >= first) & (p.day < first + DAYS_12M)
    margin_first_year = np.bincount(p.group[first_year], weights=(net - cost)[first_year], minlength=g.n)
    complete = (~g.existing) & (g.first_purchase + DAYS_12M <= E + 1)
    origin = [""] * g.n
    leads = b.leads
    for lead in np.argsort(leads.created_s, kind="stable").tolist():
        grp = int(leads.group[lead])
        if not origin[grp]:
            origin[grp] = CHANNEL_ORIGIN[LEAD_CHANNELS[leads.channel[lead]]]
    return GroupEconomics(revenue_12m, cost_12m, np.where(complete, margin_first_year, np.nan), origin)


def _money(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.2f}"


def _write_economics(path: Path, world: World, e: GroupEconomics) -> None:
    g = world.groups
    _write(
        path,
        ["group_id", "net_revenue_12m_rub", "cost_of_sales_12m_rub", "gross_margin_12m_rub"]
        + ["first_year_gross_margin_rub", "first_touch_origin", "is_existing_customer"],
        (
            (
                group_id,
                _money(e.net_revenue_12m[i]),
                _money(e.cost_of_sales_12m[i]),
                _money(e.net_revenue_12m[i] - e.cost_of_sales_12m[i]),
                _money(e.first_year_gross_margin[i]),
                "" if g.existing[i] else e.origin[i],
                _flag(g.existing[i]),
            )
            for i, group_id in enumerate(g.group_id.tolist())
        ),
    )


def _write_leads(path: Path, world: World, leads: Leads, ids: IdStyle) -> None:
    lead_ids = ids.ids("leads", leads.lead_id).tolist()
    group_ids = world.groups.group_id
    _write(
        path,
        ["lead_id", "group_id", "source_channel", "first_touch_origin", "outcome"],
        (
            (
                lead_ids[i],
                group_ids[leads.group[i]],
                LEAD_CHANNELS[leads.channel[i]],
                CHANNEL_ORIGIN[LEAD_CHANNELS[leads.channel[i]]],
                OUTCOME_NAMES[int(leads.outcome[i])],
            )
            for i in range(leads.n)
        ),
    )


def _write_partners(path: Path, world: World, ids: IdStyle) -> None:
    pt = world.partners
    partner_ids = ids.ids("partners", pt.partner_id).tolist()
    _write(
        path,
        ["partner_id", "tier", "parent_partner_id", "top_partner_id", "depth"],
        (
            (
                partner_ids[i],
                pt.partner_type[i],
                partner_ids[pt.parent[i]] if pt.parent[i] >= 0 else "",
                partner_ids[pt.chain(i)[-1]],
                len(pt.chain(i)) - 1,
            )
            for i in range(len(partner_ids))
        ),
    )


def _write_partner_end_users(path: Path, world: World, deals: Deals, ids: IdStyle) -> None:
    """Every partner in the chain of each won deal's partner, with the deal's client group."""
    pt = world.partners
    partner_ids = ids.ids("partners", pt.partner_id).tolist()
    pairs: set[tuple[int, int, int, int]] = set()
    won = np.flatnonzero((deals.partner >= 0) & (deals.outcome == OUTCOME_WON))
    for d in won.tolist():
        seller = int(deals.partner[d])
        for level, p in enumerate(pt.chain(seller)):
            pairs.add((p, int(deals.group[d]), seller, level))
    group_ids = world.groups.group_id
    _write(
        path,
        ["partner_id", "group_id", "selling_partner_id", "levels_below"],
        sorted(
            (partner_ids[p], group_ids[grp], partner_ids[seller], level) for p, grp, seller, level in pairs
        ),
    )


def _json_default(obj):
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def manifest(
    params,
    sizes,
    *,
    seed: int,
    scale: float,
    end_date: date,
    window_start: date,
    finance_dialect: str,
    messiness: float,
    files: list[tuple[str, int]],
) -> dict:
    return {
        "generator_version": GENERATOR_VERSION,
        "parameters": asdict(params),
        "sizes": asdict(sizes),
        "seed": seed,
        "scale": scale,
        "end_date": end_date,
        "window_start": window_start,
        "finance_dialect": finance_dialect,
        "messiness": messiness,
        "rows_per_file": dict(sorted(files)),
    }
