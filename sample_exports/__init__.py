"""Sample-export generator: finance, CRM and web-channel exports of a simulated client base, with the
ground truth later stages are judged on (OUT/ground_truth/).

`generate(out_dir, scale, seed, ...)` writes
- OUT/finance/, OUT/crm/, OUT/web/: one file per event entity and calendar month
  (`entity__YYYY-MM.csv`), one per snapshot entity at the end date (`entity__YYYY-MM-DD.csv`), and
  accounts also at every quarter end. Finance files follow the generic or the Russian accounting
  dialect (`finance_dialect`); CRM files the generic, Salesforce or Bitrix24 dialect (`crm_dialect`;
  a vendor's files are named its way, `Opportunity__2026-09-30.csv`, `deal__2026-09-30.csv`, and
  entities the vendor does not export stay generic, with the vendor's ids); web files the generic or
  the GA4 dialect (`web_dialect`: `events__YYYY-MM.jsonl`).
- OUT/ground_truth/: groups, entities, source_records (the true entity behind every counterparty,
  account, lead with a company and web form with a company), quarantine and repairs (every planted
  fault; see faults.py for the rules), campaigns (true lift, control share and groups), managers,
  client_economics (net revenue, cost of sales and gross margin of the last 12 months and of the
  first year, first-touch origin, per group), leads (source channel, first-touch origin, outcome),
  partners (tier, parent, top of the chain) and partner_end_users (every partner in the chain of each
  won deal's partner, with the group), manifest.json.

The same arguments give the same bytes. The pipeline:
world (staff, partners, groups, entities, existing customers' churn) -> campaigns -> leads (whose won
deals make prospects customers) -> CRM accounts and contacts -> campaign touches (and the purchases
effective campaigns cause) -> purchases -> deals -> counterparties and the ledger -> files, snapshots
first, then month by month (activities and web events are drawn per month, so memory stays bounded).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from sample_exports import crm as crm_mod
from sample_exports import finance, interactions
from sample_exports.campaigns import Campaigns, Touches, build_campaigns, concat_touches, customer_touches
from sample_exports.leads import LeadActivities, Leads, build_leads, lead_activities
from sample_exports.params import (
    NEVER,
    SECONDS_PER_DAY,
    GeneratorParams,
    Sizes,
    Window,
    day_number,
    day_to_date,
)
from sample_exports.truth import GROUND_TRUTH_DIR, Business, manifest, write_ground_truth
from sample_exports.web import WebStream
from sample_exports.world import World, build_world
from sample_exports.writers import ExportWriter

log = logging.getLogger(__name__)

FINANCE_DIALECTS = ("generic", "ru_accounting")
CRM_DIALECTS = ("generic", "salesforce", "bitrix24")
WEB_DIALECTS = ("generic", "ga4")
OUTPUT_DIRS = ("finance", "crm", "web")

__all__ = ["GenerationSummary", "GeneratorParams", "generate"]


@dataclass
class GenerationSummary:
    out_dir: Path
    files: list[tuple[str, int]]
    seconds: float
    ground_truth_dir: Path
    quarantine_rows: int = 0
    repaired_values: int = 0
    world: dict[str, int] = field(default_factory=dict)

    def rows_by_entity(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for rel, rows in self.files:
            out[rel.split("/")[-1].split("__")[0]] += rows
        return dict(sorted(out.items()))

    def describe(self) -> str:
        lines = [f"Wrote {len(self.files)} export files to {self.out_dir} in {self.seconds:.1f} s."]
        lines.append("  " + ", ".join(f"{k}: {v:,}" for k, v in self.world.items()))
        lines.append("Rows per entity (all files, planted faults included):")
        lines += [f"  {entity:<20} {rows:>11,}" for entity, rows in self.rows_by_entity().items()]
        lines.append(
            f"Ground truth in {self.ground_truth_dir}: {self.quarantine_rows:,} rows to quarantine, "
            f"{self.repaired_values:,} mojibake values to repair."
        )
        return "\n".join(lines)


def _clear_previous_output(out_dir: Path) -> None:
    """Remove files an earlier run wrote here (another end date would leave stale months behind)."""
    removed = 0
    for sub in OUTPUT_DIRS:
        for path in sorted([*(out_dir / sub).glob("*__*.csv"), *(out_dir / sub).glob("*__*.jsonl")]):
            path.unlink()
            removed += 1
    gt = out_dir / GROUND_TRUTH_DIR
    if gt.is_dir():
        for path in sorted(gt.iterdir()):
            if path.is_file() and path.suffix in (".csv", ".json"):
                path.unlink()
                removed += 1
    if removed:
        log.info("removed %d files of an earlier run in %s", removed, out_dir)


def generate(
    out_dir: Path,
    scale: float = 0.01,
    seed: int = 42,
    finance_dialect: str = "generic",
    messiness: float = 0.01,
    end_date: date = date(2026, 9, 30),
    params: GeneratorParams | None = None,
    crm_dialect: str = "generic",
    web_dialect: str = "generic",
) -> GenerationSummary:
    """Write sample exports and ground truth to `out_dir`; see the module docstring."""
    started = time.perf_counter()
    _check_arguments(finance_dialect, crm_dialect, web_dialect, messiness)
    params = params or GeneratorParams()
    sizes = Sizes.from_params(params, scale)
    win = Window(end_date)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_previous_output(out_dir)
    log.info(
        "generating scale %s (%d groups), seed %d, %s .. %s",
        scale,
        sizes.n_groups,
        seed,
        day_to_date(win.start_day),
        end_date,
    )
    sim = _simulate(params, sizes, win, seed, started)
    web = WebStream(sim.world, sim.leads, sim.con, sim.acc, sim.camps)
    writer = ExportWriter(
        out_dir, seed, messiness, params, finance_dialect, crm_dialect=crm_dialect, web_dialect=web_dialect
    )
    users = sim.world.users
    writer.lookups.user_names = dict(
        zip(writer.ids.ids("users", users.user_id).tolist(), users.full_name.tolist(), strict=True)
    )
    _write_snapshots(writer, sim, web, win)
    _write_months(writer, sim, web, win)

    files = sorted(writer.log.files)
    man = manifest(
        params,
        sizes,
        seed=seed,
        scale=scale,
        end_date=end_date,
        window_start=day_to_date(win.start_day),
        finance_dialect=finance_dialect,
        messiness=messiness,
        files=files,
    )
    if (crm_dialect, web_dialect) != ("generic", "generic"):
        man |= {"crm_dialect": crm_dialect, "web_dialect": web_dialect}
    business = Business(sim.leads, sim.purchases, sim.ledger, sim.deals)
    gt_dir = write_ground_truth(
        out_dir, sim.world, sim.camps, writer.log, man, ids=writer.ids, business=business
    )
    g = sim.world.groups
    summary = GenerationSummary(
        out_dir=out_dir,
        files=files,
        seconds=time.perf_counter() - started,
        ground_truth_dir=gt_dir,
        quarantine_rows=len(writer.log.quarantine),
        repaired_values=len(writer.log.repairs),
        world={
            "groups": g.n,
            "customers": int((g.first_purchase < NEVER).sum()),
            "churned": int((g.churn < NEVER).sum()),
            "legal entities": sim.world.entities.n,
        },
    )
    log.info("done in %.1f s: %d files", summary.seconds, len(files))
    return summary


def _check_arguments(finance_dialect: str, crm_dialect: str, web_dialect: str, messiness: float) -> None:
    for kind, dialect, known in (
        ("finance", finance_dialect, FINANCE_DIALECTS),
        ("crm", crm_dialect, CRM_DIALECTS),
        ("web", web_dialect, WEB_DIALECTS),
    ):
        if dialect not in known:
            raise ValueError(f"{kind}_dialect must be one of {known}, got {dialect!r}")
    if not 0.0 <= messiness < 0.5:
        raise ValueError(f"messiness is a share of rows in [0, 0.5), got {messiness}")


@dataclass
class _Simulation:
    """Everything simulated before files are written."""

    world: World
    camps: Campaigns
    leads: Leads
    lead_touches: Touches
    acc: crm_mod.Accounts
    con: crm_mod.Contacts
    touches: Touches
    purchases: finance.Purchases
    deals: crm_mod.Deals
    cp: finance.Counterparties
    ledger: finance.Ledger
    lead_acts: LeadActivities


def _simulate(params: GeneratorParams, sizes: Sizes, win: Window, seed: int, started: float) -> _Simulation:
    world = build_world(params, sizes, win, seed)
    camps = build_campaigns(params, sizes, win, seed)
    leads, lead_touches = build_leads(world, camps)
    acc = crm_mod.build_accounts(world, leads)
    con = crm_mod.build_contacts(world, leads, acc)
    touches, induced = customer_touches(world, con, camps, finance.purchase_intensity(world))
    purchases = finance.simulate_purchases(world, leads, induced)
    deals = crm_mod.build_deals(world, leads, acc, purchases, camps)
    cp, card_of_purchase = finance.build_counterparties(world, purchases)
    ledger = finance.build_ledger(world, purchases, card_of_purchase)
    lead_acts = lead_activities(world, leads)
    log.info(
        "world built: %d groups, %d entities, %d leads, %d deals, %d invoices (%.1f s)",
        world.groups.n,
        world.entities.n,
        leads.n,
        deals.n,
        len(purchases.day),
        time.perf_counter() - started,
    )
    return _Simulation(
        world, camps, leads, lead_touches, acc, con, touches, purchases, deals, cp, ledger, lead_acts
    )


def _write_snapshots(writer: ExportWriter, sim: _Simulation, web: WebStream, win: Window) -> None:
    """Counterparties and the CRM snapshot entities at the end date; accounts also at every quarter end."""
    world, acc, con, leads, deals, camps = sim.world, sim.acc, sim.con, sim.leads, sim.deals, sim.camps
    end_label = win.end.isoformat()
    writer.write(finance.counterparties_table(sim.cp, win.end_day), end_label, record_truth=True)
    for snap in win.snapshot_dates:
        writer.write(
            crm_mod.accounts_table(world, acc, day_number(snap)),
            snap.isoformat(),
            record_truth=snap == win.end,
        )
    snapshot_tables = [
        crm_mod.users_table(world),
        crm_mod.partners_table(world),
        crm_mod.contacts_table(acc, con),
        crm_mod.leads_table(world, leads, acc, deals, camps, web.lead_visitor),
        crm_mod.deals_table(world, deals, acc, camps, leads),
        interactions.tickets_table(world, acc, con),
        crm_mod.campaigns_table(camps, world.params.product_lines),
    ]
    for table in snapshot_tables:
        writer.write(table, end_label, record_truth=table.entity == "leads")


def _write_months(writer: ExportWriter, sim: _Simulation, web: WebStream, win: Window) -> None:
    """The event entities, one file per calendar month."""
    purchases, ledger, cp, deals = sim.purchases, sim.ledger, sim.cp, sim.deals
    inv_month = win.month_index(purchases.day)
    pay_month = win.month_index(ledger.pay_day)
    cn_month = win.month_index(ledger.cn_day)
    sc_order = np.argsort(deals.sc_time, kind="stable")
    sc_month = win.month_index(deals.sc_time[sc_order] // SECONDS_PER_DAY)
    activity_stream = interactions.ActivityStream(
        sim.world, sim.acc, sim.con, sim.leads, deals, sim.lead_acts
    )
    members = interactions.CampaignMemberStream(
        concat_touches(sim.touches, sim.lead_touches), sim.camps, sim.con, sim.acc, sim.leads
    )
    for m, label in enumerate(win.month_labels):
        start, stop = int(win.month_start[m]), int(win.month_stop[m])
        writer.write(
            finance.invoices_table(
                sim.world, purchases, ledger, cp, deals.deal_id, np.flatnonzero(inv_month == m)
            ),
            label,
        )
        writer.write(finance.payments_table(purchases, ledger, cp, np.flatnonzero(pay_month == m)), label)
        writer.write(finance.credit_notes_table(purchases, ledger, cp, np.flatnonzero(cn_month == m)), label)
        writer.write(crm_mod.deal_stage_changes_table(deals, sc_order[sc_month == m]), label)
        writer.write(activity_stream.month(m), label)
        writer.write(members.month(start, stop), label)
        writer.write(web.month(m), label, record_truth=True)
        log.debug("month %s written", label)
