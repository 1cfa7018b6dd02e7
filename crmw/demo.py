"""`make demo`: the main job on the embedded default.

Generates sample exports into CRMW_HOME/landing (once per scale and seed), then
runs every stage that has landed, and ends by saying where everything is.
"""

from __future__ import annotations

import logging
import time

from crmw.settings import get_settings

log = logging.getLogger(__name__)


def run_demo(scale: float = 0.01, seed: int = 42) -> int:
    from crmw.console import console, print_batch
    from ingest.generator import generate
    from ingest.load import ingest_paths

    settings = get_settings().ensure()
    started = time.perf_counter()
    exports = settings.landing_dir / f"sample-scale{scale:g}-seed{seed}"
    if not (exports / "ground_truth" / "manifest.json").exists():
        console.print(f"generating sample exports (scale {scale:g}, seed {seed}) into {exports}")
        summary = generate(out_dir=exports, scale=scale, seed=seed, finance_dialect="ru_accounting")
        console.print(summary.describe())
    else:
        console.print(f"sample exports already in {exports}")

    console.print(f"ingesting into {settings.warehouse_path}")
    batch = ingest_paths([exports], settings.warehouse_path)
    print_batch(batch)
    if not batch.ok:
        return 1

    console.print()
    console.print(f"[bold]done in {time.perf_counter() - started:.1f}s[/]")
    console.print(f"  sample exports : {exports}")
    console.print(f"  ground truth   : {exports / 'ground_truth'}")
    console.print(f"  warehouse      : {settings.warehouse_path}  (schemas raw, quarantine, meta)")
    console.print("  quarantine     : crmw quarantine")
    return 0
