"""The session record as one printable HTML page (run.py log --html): a table of
sessions for each day and a bar chart of the time spent expressing per day.

Self-contained: no scripts, fonts, styles or images from elsewhere, so it opens
and prints the same with no network. Every text from the record is escaped.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from html import escape
from typing import Any

from .record import DAYS, Entry, by_day, day_line
from .session import Breast, spoken_duration

BAR_COLOUR = "#1f5f8b"
"""The chart's bars (tests look for it in a screenshot)."""

# One drawing unit is one CSS pixel at full width.
_CHART_WIDTH = 720
_CHART_HEIGHT = 240
_PLOT_TOP = 28  # room for the figure above the tallest bar
_PLOT_BOTTOM = 196  # below: the baseline, then the day labels
_MOMENT_LIMIT = 24 * 3600.0
"""A "no milk" time further into a session than this is taken as damaged, not shown."""

_STYLE = """
:root { color: #111; background: #fff; }
body { font: 15px/1.45 system-ui, "Segoe UI", Arial, sans-serif; }
body { max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid #bbb; }
.period { margin: 0 0 1rem; color: #333; }
svg { display: block; width: 100%; max-width: 720px; height: auto; }
svg text { font: 13px system-ui, "Segoe UI", Arial, sans-serif; fill: #111; }
table { border-collapse: collapse; width: 100%; margin: 0 0 1rem; table-layout: fixed; }
caption { text-align: left; padding: 0 0 .35rem; color: #333; }
th, td { border: 1px solid #999; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #e8eef3; }
tfoot th, tfoot td { font-weight: 600; background: #f4f4f4; }
section.day { break-inside: avoid; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@page { margin: 15mm; }
@media print {
  body { font-size: 10pt; max-width: none; margin: 0; padding: 0; }
  h2 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
  th, td { padding: .2rem .35rem; }
}
"""


def page(entries: list[Entry], responses: dict[str, str], now: float, days: int = DAYS) -> str:
    """The whole page for the sessions of the last `days` days up to now (wall clock)."""
    today = datetime.fromtimestamp(now).date()
    first = today - timedelta(days=days - 1)
    grouped = by_day(entries, now, days)
    made = datetime.fromtimestamp(now).strftime("%d %B %Y at %H:%M")
    period = f"{_long_date(first)} to {_long_date(today)}; made {made}. Times are of day, by this computer's clock."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Hand expressing: sessions</title>",
        f"<style>{_STYLE}</style></head>",
        "<body>",
        "<h1>Hand expressing: sessions</h1>",
        f'<p class="period">{escape(period)}</p>',
    ]
    if not grouped:
        parts.append(f"<p>{escape(responses['log_empty'])}</p>")
    else:
        parts += ["<h2>Time expressing per day</h2>", _chart(grouped, first, days)]
        for day in sorted(grouped, reverse=True):
            parts.append(_day_table(day, grouped[day], responses))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _chart(grouped: dict[date, list[Entry]], first: date, days: int) -> str:
    """Bars of minutes a day, oldest on the left; the same figures as text in its
    title and description, which is what a screen reader reads of an image."""
    totals = [
        (day, sum(e.seconds for e in grouped.get(day, []))) for day in (first + timedelta(days=i) for i in range(days))
    ]
    # A scale in whole 10 minutes keeps the bars comparable from one printout to the next.
    top = max(600.0, math.ceil(max(seconds for _, seconds in totals) / 600.0) * 600.0)
    slot = _CHART_WIDTH / days
    bar = min(slot * 0.6, 64.0)
    height = _PLOT_BOTTOM - _PLOT_TOP
    title = f"Time expressing per day, the last {days} days"
    description = "; ".join(f"{_long_date(day)}: {spoken_duration(seconds)}" for day, seconds in totals) + "."
    shapes = []
    for i, (day, seconds) in enumerate(totals):
        centre = slot * i + slot / 2
        h = height * seconds / top
        if h > 0:
            shapes.append(
                f'<rect x="{centre - bar / 2:.1f}" y="{_PLOT_BOTTOM - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{BAR_COLOUR}"/>'
            )
        shapes += [
            _label(centre, _PLOT_BOTTOM - h - 6, f"{round(seconds / 60)} min"),
            _label(centre, _PLOT_BOTTOM + 18, day.strftime("%a")),
            _label(centre, _PLOT_BOTTOM + 34, day.strftime("%d %b")),
        ]
    size = f'viewBox="0 0 {_CHART_WIDTH} {_CHART_HEIGHT}" width="{_CHART_WIDTH}" height="{_CHART_HEIGHT}"'
    return "\n".join(
        [
            f'<svg role="img" aria-labelledby="chart-title chart-desc" {size} xmlns="http://www.w3.org/2000/svg">',
            f'<title id="chart-title">{escape(title)}</title>',
            f'<desc id="chart-desc">{escape(description)}</desc>',
            f'<line x1="0" y1="{_PLOT_BOTTOM}" x2="{_CHART_WIDTH}" y2="{_PLOT_BOTTOM}" stroke="#555"/>',
            *shapes,
            "</svg>",
        ]
    )


def _day_table(day: date, entries: list[Entry], responses: dict[str, str]) -> str:
    rows = [_session_row(entry) for entry in sorted(entries, key=lambda e: e.started)]
    moments = sum(len(_no_milk(entry)) for entry in entries)
    total = "".join(
        [
            '<tr><th scope="row">Total</th>',
            f"<td>{_length(sum(e.seconds for e in entries))}</td>",
            *(f"<td>{_length(sum(e.breast_seconds(b) for e in entries))}</td>" for b in Breast),
            "<td></td>",
            f"<td>{moments}</td></tr>",
        ]
    )
    return "\n".join(
        [
            '<section class="day">',
            f"<h2>{escape(_long_date(day))}</h2>",
            "<table>",
            f"<caption>{escape(day_line(day, entries, responses))}</caption>",
            # The same widths in every day's table, so that they line up down the page.
            "<colgroup>" + "".join(f'<col style="width: {w}%">' for w in (9, 15, 15, 15, 15, 31)) + "</colgroup>",
            "<thead><tr>"
            + "".join(
                f'<th scope="col">{name}</th>'
                for name in ("Start", "Length", "Left breast", "Right breast", "Positions used", "No milk")
            )
            + "</tr></thead>",
            "<tbody>",
            *rows,
            "</tbody>",
            f"<tfoot>{total}</tfoot>",
            "</table>",
            "</section>",
        ]
    )


def _session_row(entry: Entry) -> str:
    moments = _no_milk(entry)
    said = ", ".join(_moment(entry, moment) for moment in moments)
    cells = [
        f'<th scope="row">{_clock(entry.started)}</th>',
        f"<td>{_length(entry.seconds)}</td>",
        *(f"<td>{_length(entry.breast_seconds(b))}</td>" for b in Breast),
        f"<td>{_positions(entry)}</td>",
        f"<td>{len(moments)}{' — ' + said if said else ''}</td>",
    ]
    return f"<tr>{''.join(cells)}</tr>"


def _positions(entry: Entry) -> str:
    breasts = entry.data.get("breasts", {})
    used = [
        f"{breast.value} {escape(str(breasts[breast.value].get('positions')))}"
        for breast in Breast
        if breasts.get(breast.value, {}).get("positions")
    ]
    return ", ".join(used) or "none"


def _no_milk(entry: Entry) -> list[dict[str, Any]]:
    """The session's "no milk" moments; a damaged record's odd items are left out."""
    moments = entry.data.get("no_milk", [])
    return [m for m in moments if isinstance(m, dict)] if isinstance(moments, list) else []


def _moment(entry: Entry, moment: dict[str, Any]) -> str:
    """One "no milk" moment: "09:42 (left, position 2)"."""
    t = moment.get("t")
    when = _clock(entry.started + t) if isinstance(t, int | float) and 0 <= t < _MOMENT_LIMIT else "time unknown"
    where = ", ".join(
        escape(str(part))
        for part in (moment.get("breast"), moment.get("position") and f"position {moment['position']}")
        if part
    )
    return f"{when} ({where})" if where else when


def _length(seconds: float) -> str:
    """125 -> "2 min 5 s": short enough for a printed table's column."""
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _label(x: float, y: float, text: str) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{escape(text)}</text>'


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t).strftime("%H:%M")


def _long_date(day: date) -> str:
    return day.strftime("%A %d %B %Y")
