"""`make demo`: the main job on the embedded default.

Generates sample exports into CRMW_HOME/landing (once per scale and seed), then
runs every stage that has landed, and ends by saying where everything is.
"""

from __future__ import annotations

import logging
import time

from warehouse.settings import get_settings

log = logging.getLogger(__name__)


def run_demo(scale: float = 0.01, seed: int = 42) -> int:
    from crmw.console import console
    from sample_exports import generate

    settings = get_settings().ensure()
    started = time.perf_counter()
    exports = settings.landing_dir / f"sample-scale{scale:g}-seed{seed}"
    if not (exports / "ground_truth" / "manifest.json").exists():
        console.print(f"generating sample exports (scale {scale:g}, seed {seed}) into {exports}")
        summary = generate(out_dir=exports, scale=scale, seed=seed, finance_dialect="ru_accounting")
        console.print(summary.describe())
    else:
        console.print(f"sample exports already in {exports}")

    console.print(f"running the whole graph into {settings.warehouse_path}")
    from crmw.orchestrate import run_everything

    result = run_everything(settings)
    if not result["success"]:
        console.print(f"[red]run failed at {', '.join(result['failed_steps'])}[/]; `crmw ui` shows the logs")
        return 1

    console.print()
    console.print(f"[bold]done in {time.perf_counter() - started:.1f}s[/]")
    console.print(f"  sample exports : {exports}")
    console.print(f"  ground truth   : {exports / 'ground_truth'}")
    console.print(f"  warehouse      : {settings.warehouse_path}  (raw, quarantine, meta, staging, marts)")
    console.print(f"  published copy : {settings.published_path}  (read this one: marts, ml, meta)")
    console.print(f"  reports        : {settings.reports_dir}")
    console.print("  next           : crmw quarantine | crmw status | crmw ui")
    return 0
