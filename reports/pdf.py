"""Printing the HTML report to PDF with headless Chromium (Playwright drives Debian's
`chromium`; Playwright's own browser downloads are never used).

The page is opened from its file with every network request refused, so the PDF is
exactly what the offline HTML shows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

FOOTER = (
    '<div style="font-size:7px; font-family: DejaVu Sans, Arial, sans-serif; color:#5b6b7b; width:100%; '
    'padding:0 11mm; display:flex; justify-content:space-between;">'
    '<span>{title}</span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)

_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


class ChromiumNotFound(RuntimeError):
    """No Chromium to print the PDF with. Install Debian's `chromium` (apt-get install chromium),
    set CRMW_CHROMIUM to a Chromium binary, or render with pdf=False."""

    retryable = False


def find_chromium(env: dict[str, str] | None = None) -> Path:
    """CRMW_CHROMIUM if set, else the first Chromium on PATH, else /usr/bin/chromium."""
    env = os.environ if env is None else env
    candidates = [env.get("CRMW_CHROMIUM")] if env.get("CRMW_CHROMIUM") else []
    candidates += [shutil.which(name) for name in CHROMIUM_NAMES]
    candidates.append("/usr/bin/chromium")
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise ChromiumNotFound(
        "no Chromium found (looked at CRMW_CHROMIUM, "
        + ", ".join(CHROMIUM_NAMES)
        + " on PATH, /usr/bin/chromium): "
        "install Debian's chromium, set CRMW_CHROMIUM, or render the report with pdf=False"
    )


def count_pdf_pages(data: bytes) -> int:
    """Pages in a PDF written by Chromium (its page objects are not compressed)."""
    return len(_PAGE_OBJECT.findall(data))


def html_to_pdf(html_path: Path, pdf_path: Path, title: str = "", chromium: Path | None = None) -> int:
    """Print `html_path` to `pdf_path` (A4, backgrounds, page numbers); return the page count."""
    chromium = chromium or find_chromium()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _print(html_path, pdf_path, title, chromium)
    # Playwright's sync API refuses to run inside an event loop (Jupyter, some schedulers)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_print, html_path, pdf_path, title, chromium).result()


def _print(html_path: Path, pdf_path: Path, title: str, chromium: Path) -> int:
    from playwright.sync_api import sync_playwright

    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page()
            blocked: list[str] = []

            def refuse(route) -> None:
                blocked.append(route.request.url)
                route.abort()

            page.route(re.compile(r"^(?!file:|data:|about:).*"), refuse)
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            page.emulate_media(media="print")
            page.pdf(
                path=str(tmp),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER.format(title=_escape(title)),
                margin={"top": "12mm", "bottom": "14mm", "left": "11mm", "right": "11mm"},
            )
            if blocked:
                log.warning(
                    "the report asked for %d external resources (refused): %s", len(blocked), blocked[:3]
                )
        finally:
            browser.close()
    os.replace(tmp, pdf_path)
    return count_pdf_pages(pdf_path.read_bytes())


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
