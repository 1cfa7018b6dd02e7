"""The report's HTML: one self-contained page (CSS inline, charts inline SVG, no
scripts, no external assets) that prints one section per A4 page.

The same template renders two media: `screen` (the HTML file people open) and `pdf`
(what reports/pdf.py prints with xhtml2pdf, which reads CSS 2.1 only: plain colours,
cards in a table, charts as images, a footer frame with page numbers)."""

from __future__ import annotations

import jinja2

CSS = """
:root {
  --ink: #1d2733; --muted: #5b6b7b; --rule: #dde3ea; --soft: #f4f6f9;
  --good: #2e7d32; --bad: #c62828; --accent: #1f4e79; --warn: #ef8f00;
}
* { box-sizing: border-box; }
html { font-size: 13px; }
body {
  font-family: "DejaVu Sans", "Liberation Sans", "Segoe UI", Arial, Helvetica, sans-serif;
  color: var(--ink); margin: 0; background: #fff; line-height: 1.4;
  -webkit-print-color-adjust: exact; print-color-adjust: exact;
}
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 1.9rem; margin: 0 0 2px; color: var(--accent); }
h2 { font-size: 1.35rem; margin: 0 0 6px; color: var(--accent); border-bottom: 2px solid var(--accent);
     padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 14px 0 4px; }
p { margin: 4px 0 8px; }
.subtitle { color: var(--muted); margin-bottom: 16px; }
.banner { background: #fff4e5; border-left: 4px solid var(--warn); padding: 8px 12px; margin: 10px 0; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 14px 0 18px; }
.card { background: var(--soft); border-radius: 6px; padding: 10px 12px; min-height: 88px; }
.card .label { color: var(--muted); font-size: 0.85rem; }
.card .value { font-size: 1.35rem; font-weight: bold; margin: 2px 0; overflow-wrap: anywhere; }
.card .value.text { font-size: 1rem; }
.card .delta { font-size: 0.82rem; color: var(--muted); }
.good { color: var(--good); } .bad { color: var(--bad); } .flat { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 4px 0 10px; font-size: 0.88rem; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { text-align: left; color: var(--muted); font-weight: normal; border-bottom: 1px solid #b9c3cd; }
table.data td { white-space: nowrap; }
td.clip { max-width: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.metrics td:first-child { width: 32%; }
table.metrics td.value { font-weight: bold; }
.note { color: var(--muted); font-size: 0.8rem; }
.contents td:first-child { width: 2em; color: var(--muted); }
.status-ok { color: var(--ink); } .status-missing { color: var(--warn); }
.summary { font-size: 1.02rem; }
.chart-box { margin: 6px 0 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.unavailable { background: var(--soft); border-left: 4px solid var(--warn); padding: 10px 14px; margin: 10px 0; }
.partial { color: #8a5a00; font-size: 0.85rem; margin: 2px 0; }
footer { color: var(--muted); font-size: 0.8rem; margin-top: 24px; }
section.report-section { padding-top: 18px; }
@page { size: A4; margin: 12mm 11mm 14mm 11mm; }
@media print {
  html { font-size: 10.5px; }
  main { max-width: none; padding: 0; }
  section.report-section { break-before: page; padding-top: 0; }
  table, .chart-box, .card, tr { break-inside: avoid; }
  footer { display: none; }
}
"""

# The print variant for xhtml2pdf: the screen CSS's colours written out (no variables), one
# section per page, and a footer frame carrying "page X of Y".
PDF_CSS = """
@page { size: a4 portrait; margin: 12mm 11mm 16mm 11mm;
  @frame footer { -pdf-frame-content: page-footer; bottom: 6mm; margin-left: 11mm; margin-right: 11mm;
                  height: 7mm; } }
body { font-family: "DejaVu Sans"; font-size: 8pt; color: #1d2733; line-height: 1.3; }
h1 { font-size: 16pt; margin: 0 0 2pt 0; color: #1f4e79; }
h2 { font-size: 12pt; margin: 0 0 4pt 0; color: #1f4e79; border-bottom: 1.5pt solid #1f4e79;
     padding-bottom: 2pt; }
h3 { font-size: 9pt; margin: 8pt 0 2pt 0; }
p { margin: 2pt 0 4pt 0; }
a { color: #1d2733; text-decoration: none; }
.subtitle { color: #5b6b7b; margin-bottom: 8pt; }
.banner { background-color: #fff4e5; border-left: 3pt solid #ef8f00; padding: 4pt 6pt; margin: 6pt 0; }
table.cards { margin: 8pt 0 10pt 0; }
table.cards td { background-color: #f4f6f9; padding: 5pt 6pt; border: 2pt solid #ffffff; width: 25%; }
.card-label { color: #5b6b7b; font-size: 7pt; }
.card-value { font-size: 11pt; font-weight: bold; }
.card-value-text { font-size: 9pt; font-weight: bold; }
.card-delta { font-size: 6.5pt; color: #5b6b7b; }
.good { color: #2e7d32; } .bad { color: #c62828; } .flat { color: #5b6b7b; }
table { width: 100%; margin: 2pt 0 6pt 0; font-size: 7pt; }
th, td { padding: 1.5pt 3pt; border-bottom: 0.5pt solid #dde3ea; vertical-align: top; }
th { text-align: left; color: #5b6b7b; font-weight: normal; border-bottom: 0.5pt solid #b9c3cd; }
td.r, th.r { text-align: right; }
td.value { font-weight: bold; }
.note { color: #5b6b7b; font-size: 6.5pt; }
.status-missing { color: #ef8f00; }
.summary { font-size: 8.5pt; }
.unavailable { background-color: #f4f6f9; border-left: 3pt solid #ef8f00; padding: 6pt 8pt; margin: 6pt 0; }
.partial { color: #8a5a00; font-size: 7pt; }
h2 { page-break-before: always; }
table.contents td.n { width: 4%; color: #5b6b7b; }
table.contents td.t { width: 34%; }
table.metrics td.label { width: 24%; }
#page-footer { font-size: 6.5pt; color: #5b6b7b; }
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="crm-warehouse reports">
<title>{{ title }}</title>
<style>{% if pdf %}{{ font_css | safe }}{% endif %}{{ css | safe }}</style>
</head>
<body>
{% macro card(m) -%}
  <div class="label card-label">{{ m.label }}</div>
  <div class="value{% if m.unit == 'text' %} text card-value-text{% else %} card-value{% endif %}">{{ m.text }}</div>
  {% if m.unit != 'text' and m.previous is not none %}
  <div class="delta card-delta"><span class="{{ m.vs_previous.tone }}">{{ m.vs_previous.change }}</span> vs previous
  {% if m.year_ago is not none %}· <span class="{{ m.vs_year_ago.tone }}">{{ m.vs_year_ago.change }}</span> vs year ago{% endif %}</div>
  {% elif m.note %}<div class="delta card-delta">{{ m.note }}</div>{% endif %}
{%- endmacro %}
{% if pdf %}<div id="page-footer"><table><tr><td>{{ title }}</td>
  <td class="r">page <pdf:pagenumber> of <pdf:pagecount></td></tr></table></div>{% endif %}
<main>
<header id="summary">
  <h1>{{ title }}</h1>
  <div class="subtitle">{{ period.label }} ({{ period.start | day }} – {{ period.last_day | day }})
    · compared with {{ previous.label }} and {{ year_ago.label }}
    · data as of {{ as_of | day }} · generated {{ generated_at.strftime('%d %b %Y %H:%M') }} UTC</div>
  {% for text in banners %}<div class="banner">{{ text }}</div>{% endfor %}
  {% if pdf %}
  <table class="cards">
  {% for row in headlines | batch(4) %}<tr>{% for section, m in row %}<td>{{ card(m) }}</td>{% endfor %}</tr>{% endfor %}
  </table>
  {% else %}
  <div class="cards">
  {% for section, m in headlines %}<div class="card">{{ card(m) }}</div>{% endfor %}
  </div>
  {% endif %}
  <h3>Contents</h3>
  <table class="contents">
  {% for s in sections %}
    <tr><td class="n">{{ loop.index }}</td><td class="t"><a href="#{{ s.key }}">{{ s.title }}</a></td>
      <td>{% if s.available %}<span class="status-ok">{{ s.summary | truncate(150) }}</span>
          {% else %}<span class="status-missing">not available yet</span>{% endif %}</td></tr>
  {% endfor %}
  </table>
  <p class="note">Money is in roubles. "Previous" is {{ previous.label }}; "year ago" is {{ year_ago.label }}.
  Changes are relative for amounts and counts and in percentage points (pp) for rates; green is good news,
  red bad. People appear only by pseudonymous ids (managers by CRM user id); companies by name, sole
  proprietors by client id.</p>
</header>
{% for s in sections %}
<section class="report-section" id="{{ s.key }}" data-status="{{ 'ok' if s.available else 'unavailable' }}">
  <h2>{{ loop.index }}. {{ s.title }}</h2>
  {% if not s.available %}
  <div class="unavailable"><strong>Not available yet.</strong> {{ s.unavailable }}.
    The section fills in once that table is published.</div>
  {% else %}
  {% if s.summary %}<p class="summary">{{ s.summary }}</p>{% endif %}
  {% for text in s.partial %}<p class="partial">{{ text }}</p>{% endfor %}
  {% if s.metrics %}
  <table class="metrics">
    <thead><tr><th></th><th class="r">{{ period.short_label }}</th><th class="r">{{ previous.short_label }}</th>
      <th class="r">change</th><th class="r">{{ year_ago.short_label }}</th><th class="r">change</th><th>note</th></tr></thead>
    <tbody>
    {% for m in s.metrics %}
    <tr><td class="label">{{ m.label }}</td><td class="r value">{{ m.text }}</td>
      {% if m.unit == 'text' or (m.previous is none and m.year_ago is none) %}<td class="r">–</td><td class="r"></td><td class="r">–</td><td class="r"></td>
      {% else %}
      <td class="r">{{ m.vs_previous.value }}</td><td class="r {{ m.vs_previous.tone }}">{{ m.vs_previous.change }}</td>
      <td class="r">{{ m.vs_year_ago.value }}</td><td class="r {{ m.vs_year_ago.tone }}">{{ m.vs_year_ago.change }}</td>
      {% endif %}
      <td class="note">{{ m.note }}</td></tr>
    {% endfor %}
    </tbody>
  </table>
  {% endif %}
  {% if s.chart_svg %}<div class="chart-box" title="{{ s.chart_title }}">{% if pdf %}{{ s.chart_svg | svg_image | safe }}{% else %}{{ s.chart_svg | safe }}{% endif %}</div>{% endif %}
  {% for t in s.tables %}
  <h3>{{ t.title }}</h3>
  {% if t.rows %}
  <table class="data">
    <thead><tr>{% for c in t.columns %}<th class="{{ t.align[loop.index0] }}">{{ c }}</th>{% endfor %}</tr></thead>
    <tbody>{% for row in t.rows %}<tr>{% for v in row %}{% set width = t.clip.get(loop.index0) %}<td class="{{ t.align[loop.index0] }}{% if width %} clip" style="width: {{ width }}" title="{{ v }}{% endif %}">{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody>
  </table>
  {% else %}<p class="note">{{ t.empty_text }}</p>{% endif %}
  {% endfor %}
  {% for n in s.notes %}<p class="note">{{ n }}</p>{% endfor %}
  {% endif %}
</section>
{% endfor %}
{% if not pdf %}<footer>crm-warehouse · {{ title }} · read from {{ published_name }}</footer>{% endif %}
</main>
</body>
</html>
"""


def _day(value) -> str:
    return "–" if value is None else f"{value:%d %b %Y}"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["day"] = _day
    return env


def render_html(medium: str = "screen", **context) -> str:
    """The report page for `medium`: "screen" (the HTML file) or "pdf" (what reports.pdf prints)."""
    if medium not in ("screen", "pdf"):
        raise ValueError(f"medium is 'screen' or 'pdf', not {medium!r}")
    env = environment()
    if medium == "pdf":
        from reports.pdf import font_css, svg_image

        env.filters["svg_image"] = svg_image
        return env.from_string(TEMPLATE).render(css=PDF_CSS, font_css=font_css(), pdf=True, **context)
    return env.from_string(TEMPLATE).render(css=CSS, pdf=False, **context)
