"""The Dagster UI serves the whole asset graph (headless Chromium, Debian's package: optional,
this test is skipped without it; CI installs none)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no chromium installed (optional: apt-get install chromium); CI installs none",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def webserver(tmp_path):
    port = free_port()
    env = {**os.environ, "CRMW_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path / "dagster")}
    (tmp_path / "dagster").mkdir()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-m",
            "dagster_project.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/server_info", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("the Dagster webserver did not start within 120 s")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_the_asset_graph_shows_ingest_warehouse_and_publish_assets(webserver):
    from playwright.sync_api import sync_playwright

    from ingest.contracts import CONTRACTS

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(webserver + "/asset-groups", wait_until="networkidle", timeout=90_000)
        skip = page.get_by_role("button", name="Skip")
        if skip.count():
            skip.first.click()
        page.get_by_text("warehouse").first.wait_for(timeout=60_000)
        page.wait_for_timeout(2000)
        graph_text = page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "dagster_asset_graph.png"))
        pages = {}
        for key in ("published_warehouse", "raw/invoices", "staging/stg_finance__invoices"):
            page.goto(f"{webserver}/assets/{key}", wait_until="networkidle", timeout=90_000)
            page.get_by_text("Materialize").first.wait_for(timeout=60_000)
            pages[key] = page.inner_text("body")
        browser.close()
    assert "ingest" in graph_text and "warehouse" in graph_text
    assert str(len(CONTRACTS)) in graph_text  # the ingest group holds one asset per contract entity
    for key, text in pages.items():
        assert key.split("/")[-1] in text and "Lineage" in text, key
    assert errors == []
