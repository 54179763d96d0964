"""Server-side SVG charts: no chart library, no script, readable by screen readers.

Each function returns SVG markup with a <title> and a <desc> that lists the figures, so the
chart says the same thing to someone who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from outdial.store.reportstore import HourCount
from outdial.web.display import local_time

BAR_HEIGHT = 22  # px per row of a horizontal bar chart
LABEL_WIDTH = 130  # px for row labels
CHART_WIDTH = 460  # px
ANSWERED = "#2e7d32"
UNANSWERED = "#c62828"
NEUTRAL = "#1565c0"

# colours per callee type: answered ones green/blue, unanswered ones warm, never dialed grey
CALLEE_COLOURS = {
    "voice": "#2e7d32",
    "answeringmachine": "#1565c0",
    "fax": "#6a1b9a",
    "unknown": "#616161",
    "busy": "#ef6c00",
    "noanswer": "#c62828",
    "informationtone": "#ad1457",
    "linefailure": "#4e342e",
    "noattempt": "#9e9e9e",
}


def _svg(width: int, height: int, title: str, desc: str, body: str) -> Markup:
    ident = "chart-" + title.lower().replace(" ", "-")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="chart" role="img" aria-labelledby="{ident}t {ident}d">'
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def outcomes_chart(counts: dict[str, int]) -> Markup:
    """Horizontal bars: final calls per callee type."""
    total = sum(counts.values())
    title = "Outcomes by callee type"
    if not total:
        return _svg(CHART_WIDTH, 30, title, "No completed calls yet.", _empty(30))
    peak = max(counts.values())
    room = CHART_WIDTH - LABEL_WIDTH - 70
    rows = []
    for index, (callee_type, count) in enumerate(counts.items()):
        y = index * BAR_HEIGHT
        width = max(1, round(room * count / peak))
        colour = CALLEE_COLOURS.get(callee_type, NEUTRAL)
        share = 100 * count / total
        rows.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">'
            f"{escape(callee_type)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{BAR_HEIGHT - 6}" '
            f'fill="{colour}"/>'
            f'<text x="{LABEL_WIDTH + width + 6}" y="{y + 15}">{count} ({share:.0f}%)</text>'
        )
    desc = "; ".join(f"{t}: {n}" for t, n in counts.items())
    return _svg(CHART_WIDTH, BAR_HEIGHT * len(counts), title, desc, "".join(rows))


def hours_chart(hours: Sequence[HourCount], zone: str) -> Markup:
    """Stacked columns per hour: answered and unanswered final calls."""
    title = "Calls per hour"
    height, bottom, left = 160, 22, 34
    if not hours:
        return _svg(CHART_WIDTH, 30, title, "No hours to show.", _empty(30))
    peak = max((h.answered + h.unanswered for h in hours), default=0)
    if not peak:
        desc = "No calls finished in the last 24 hours."
        return _svg(CHART_WIDTH, 30, title, desc, _empty(30, "No calls finished in 24 hours"))
    plot = height - bottom - 8
    step = (CHART_WIDTH - left) / len(hours)
    parts = [
        f'<text x="{left - 4}" y="14" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{CHART_WIDTH}" y2="{height - bottom}" '
        'stroke="#999"/>',
    ]
    for index, hour in enumerate(hours):
        x = left + index * step + 1
        answered_h = plot * hour.answered / peak
        unanswered_h = plot * hour.unanswered / peak
        base = height - bottom
        parts.append(
            f'<rect x="{x:.1f}" y="{base - answered_h:.1f}" width="{step - 2:.1f}" '
            f'height="{answered_h:.1f}" fill="{ANSWERED}"/>'
            f'<rect x="{x:.1f}" y="{base - answered_h - unanswered_h:.1f}" '
            f'width="{step - 2:.1f}" height="{unanswered_h:.1f}" fill="{UNANSWERED}"/>'
        )
        if index % 4 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}">'
                f"{local_time(hour.hour, zone, with_date=False)}</text>"
            )
    busy = [h for h in hours if h.answered or h.unanswered]
    desc = "; ".join(
        f"{local_time(h.hour, zone, with_date=False)}: {h.answered} answered, "
        f"{h.unanswered} not answered"
        for h in busy
    )
    return _svg(CHART_WIDTH, height, title, desc, "".join(parts))


def rate_chart(rate: float | None) -> Markup:
    """A meter: the share of attempted calls that were answered."""
    title = "Answer rate"
    if rate is None:
        return _svg(CHART_WIDTH, 30, title, "No attempted calls yet.", _empty(30))
    width = CHART_WIDTH - 70
    filled = round(width * rate)
    body = (
        f'<rect x="0" y="4" width="{width}" height="20" fill="#eceff1"/>'
        f'<rect x="0" y="4" width="{filled}" height="20" fill="{ANSWERED}"/>'
        f'<text x="{width + 8}" y="19">{rate:.0%}</text>'
    )
    return _svg(CHART_WIDTH, 28, title, f"{rate:.0%} of attempted calls were answered.", body)


def _empty(height: int, text: str = "Nothing to show yet") -> str:
    return f'<text x="0" y="{height - 10}" class="empty">{escape(text)}</text>'
