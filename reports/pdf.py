"""Printing the report to PDF with xhtml2pdf: pure Python on reportlab, installed from the
Python registry with everything else, so no browser and no system library is needed.

xhtml2pdf reads HTML and a subset of CSS 2.1 (no variables, grid or flex, no inline
<svg>), so the PDF is printed from the report's print variant
(`reports.template.render_html(..., medium="pdf")`): plain colours, headline cards in a
table, each chart an <img> of its SVG (drawn by svglib), one section per page and a
footer with page numbers. The fonts are matplotlib's DejaVu (Cyrillic and the rouble
sign), registered for the text and for the charts' SVG text. Nothing is fetched: the
resource policy allows only the font folder, never the network.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

# the width a chart is drawn at on an A4 page with 11 mm margins (points)
CHART_WIDTH_PT = 540
INSTALL_HINT = "pip install xhtml2pdf (it is in requirements.lock; `make demo` installs it)"


class PdfEngineMissing(RuntimeError):
    """xhtml2pdf is not installed, so only the HTML report was written. Retrying does not help:
    install it (INSTALL_HINT)."""

    retryable = False


class PdfRenderError(RuntimeError):
    """xhtml2pdf could not lay out the page (its messages say where). Retrying does not help."""

    retryable = False


@functools.cache
def font_dir() -> Path:
    """matplotlib's bundled DejaVu fonts: always installed with the report's dependencies."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_css() -> str:
    """@font-face rules for the PDF: DejaVu Sans regular and bold under the name the CSS uses."""
    fonts = font_dir()
    return (
        f'@font-face {{ font-family: "DejaVu Sans"; src: url("{fonts / "DejaVuSans.ttf"}"); }}\n'
        f'@font-face {{ font-family: "DejaVu Sans"; src: url("{fonts / "DejaVuSans-Bold.ttf"}"); '
        "font-weight: bold; }\n"
    )


@functools.cache
def _register_chart_fonts() -> None:
    """The charts' SVG text names its fonts (charts.FONT_FAMILY); svglib must know them."""
    from svglib.fonts import register_font_family

    fonts = font_dir()
    for family in ("DejaVu Sans", "sans-serif"):
        register_font_family(family, str(fonts / "DejaVuSans.ttf"), bold=str(fonts / "DejaVuSans-Bold.ttf"))


def svg_image(svg: str, width_pt: int = CHART_WIDTH_PT) -> str:
    """An inline <svg> chart as an <img> with a data URI, which xhtml2pdf draws through svglib."""
    if "xmlns=" not in svg[: svg.index(">")]:
        svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{data}" width="{width_pt}">'


def count_pdf_pages(pdf: bytes | Path) -> int:
    """The pages of a PDF, read by pypdf (any writer, compressed object streams included)."""
    from pypdf import PdfReader

    source = io.BytesIO(pdf) if isinstance(pdf, bytes) else Path(pdf)
    return len(PdfReader(source).pages)


def html_to_pdf(html: str, pdf_path: Path) -> int:
    """Write the print variant `html` to `pdf_path` (atomically); return its page count.

    Raises PdfEngineMissing when xhtml2pdf is not installed, PdfRenderError when it fails.
    """
    try:
        from xhtml2pdf import pisa
        from xhtml2pdf.config.resources import ResourceAccessPolicy
    except ImportError as exc:
        raise PdfEngineMissing(f"no PDF engine: {INSTALL_HINT}") from exc

    _register_chart_fonts()
    policy = ResourceAccessPolicy(allow_remote=False, extra_roots=[str(font_dir())])
    buffer = io.BytesIO()
    # xhtml2pdf reports layout problems through its own loggers, at warning level: keep them
    # in the log file (crmw -v), not on the terminal
    status = pisa.CreatePDF(html, dest=buffer, encoding="utf-8", resource_policy=policy)
    if status.err:
        messages = "; ".join(str(m) for m in getattr(status, "log", [])[:3])
        raise PdfRenderError(f"xhtml2pdf could not print {pdf_path.name}: {messages or 'see the log'}")
    data = buffer.getvalue()
    tmp = pdf_path.with_name(f".{pdf_path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, pdf_path)
    return count_pdf_pages(data)
