"""Ground truth: what later stages are judged against, written to OUT/ground_truth/ as UTF-8 CSV."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np

from sample_exports.campaigns import Campaigns
from sample_exports.ids import IdStyle
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


def write_ground_truth(
    out_dir: Path,
    world: World,
    camps: Campaigns,
    log: GroundTruthLog,
    manifest: dict,
    ids: IdStyle | None = None,
) -> Path:
    """`ids`: how the exports wrote CRM ids, so that truth names records the way the warehouse does."""
    ids = ids or IdStyle()
    gt = out_dir / GROUND_TRUTH_DIR
    gt.mkdir(parents=True, exist_ok=True)
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
    _write(
        path,
        ["campaign_id", "true_lift", "has_effect", "product_line", "true_lift_product_line", "planted_lift"],
        (
            (
                camp_ids[c],
                f"{camps.true_lift[c]:.4f}",
                _flag(camps.lift[c] > 0),
                world.params.product_lines[camps.product[c]],
                f"{camps.true_lift_product_line[c]:.4f}",
                f"{camps.lift[c]:.4f}",
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
