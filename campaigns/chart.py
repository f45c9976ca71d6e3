"""The campaign page's per-number chart: attempts per hour as an inline SVG, with axes, values and words.

Rendered in Python, as phone_numbers/rows.py renders the Numbers page's rows: fifty charts of a dozen
labelled bars are some 6,000 template variables, which took most of the page's time through the
template engine (bench/campaign_page.py). No chart library and no inline style (CSP): app.css styles it.
"""

from __future__ import annotations

from datetime import date

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# A bar per hour with its value above it; a y axis from 0 to the busiest hour of the table; the hours
# along the x axis, every third labelled back from the current one.
LEFT, SLOT, BAR, TOP, BASELINE = 16, 12, 9, 10, 32
ZERO = mark_safe(' class="chart-zero"')  # noqa: S308 - a constant

SVG = (
    '<svg class="chart" viewBox="0 0 164 44" width="164" height="44" role="img" aria-label="{}">'
    '<line class="chart-axis" x1="15.5" y1="8" x2="15.5" y2="32.5"/>'
    '<line class="chart-axis" x1="15" y1="32.5" x2="160" y2="32.5"/>'
    '<text class="chart-y" x="13" y="13">{}</text><text class="chart-y" x="13" y="32">0</text>{}</svg>'
)
BAR_SVG = '<rect x="{}" y="{}" width="9" height="{}"{}><title>{}</title></rect>'
VALUE_SVG = '<text class="chart-value" x="{}" y="{}">{}</text>'
TICK_SVG = '<text class="chart-x" x="{}" y="42">{}</text>'


def chart_words(hours: tuple[str, ...], counts: tuple[int, ...]) -> str:
    """The chart in words, for screen readers."""
    busy = [f"{n} at {hour}" for hour, n in zip(hours, counts, strict=True) if n]
    if not busy:
        return f"No attempts in the last {len(hours)} hours."
    return f"Attempts per hour: {', '.join(busy)}; none in the other hours of the last {len(hours)}."


def chart_svg(hours: tuple[str, ...], counts: tuple[int, ...], top: int) -> SafeString:
    """Scaled to `top`, the busiest hour of the table; an hour without attempts is a hairline on the axis."""
    bars = []
    for i, (hour, n) in enumerate(zip(hours, counts, strict=True)):
        x = LEFT + i * SLOT
        height = round((BASELINE - TOP) * n / top, 1) if n else 1
        title = f"{hour}: {n} attempt{'' if n == 1 else 's'}"
        bars.append(format_html(BAR_SVG, x, _n(BASELINE - height), _n(height), "" if n else ZERO, title))
        if n:
            bars.append(format_html(VALUE_SVG, _n(x + BAR / 2), _n(BASELINE - height - 1.5), n))
    ticks = [
        format_html(TICK_SVG, _n(LEFT + i * SLOT + BAR / 2), hour)
        for i, hour in enumerate(hours)
        if (len(hours) - 1 - i) % 3 == 0
    ]
    return format_html(SVG, chart_words(hours, counts), top, mark_safe("".join(bars + ticks)))  # noqa: S308


def _n(value: float) -> str:
    return f"{value:g}"


# A number's page: one bar per day over its last 30 days, a y axis from 0 to `top`, every seventh day
# labelled back from today, and a marker under each day that had audit events (their names in its title).
D_LEFT, D_SLOT, D_BAR, D_TOP, D_BASE = 36, 18, 12, 10, 100
DAY_SVG = (
    '<svg class="chart chart-days" viewBox="0 0 {} 132" role="img" aria-labelledby="{}-title {}-desc">'
    '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
    '<line class="chart-axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
    '<line class="chart-axis" x1="{}" y1="{}" x2="{}" y2="{}"/>'
    '<text class="chart-y" x="{}" y="{}">{}</text><text class="chart-y" x="{}" y="{}">0{}</text>{}</svg>'
)
DAY_BAR_SVG = '<rect x="{}" y="{}" width="{}" height="{}"{}><title>{}</title></rect>'
DAY_TICK_SVG = '<text class="chart-x" x="{}" y="114">{}</text>'
EVENT_SVG = '<path class="chart-event" d="M{} 119 l4 7 h-8 z"><title>{}</title></path>'
NONE = mark_safe(' class="chart-none"')  # noqa: S308 - a constant: a day without data, not a zero


def day_chart_svg(
    *,
    key: str,
    title: str,
    desc: str,
    days: tuple[date, ...],
    values: tuple[int | None, ...],
    top: int,
    unit: str,
    events: tuple[tuple[str, ...], ...],
    axis_unit: str = "",
) -> SafeString:
    """`values` per day (None: nothing to show that day); `unit` follows each value in its bar's title,
    `axis_unit` the y axis's figures ("%")."""
    from tenants.templatetags.activity import action_label

    parts = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        x = D_LEFT + 2 + i * D_SLOT
        label = f"{day:%b} {day.day}"
        if value:
            height = round((D_BASE - D_TOP) * value / top, 1)
            parts.append(
                format_html(
                    DAY_BAR_SVG, x, _n(D_BASE - height), D_BAR, _n(height), "", f"{label}: {value}{unit}"
                )
            )
        else:
            said = f"{label}: 0{unit}" if value == 0 else f"{label}: no data"
            parts.append(
                format_html(DAY_BAR_SVG, x, D_BASE - 1, D_BAR, 1, ZERO if value == 0 else NONE, said)
            )
        if (len(days) - 1 - i) % 7 == 0:
            parts.append(format_html(DAY_TICK_SVG, _n(x + D_BAR / 2), label))
        if events[i]:
            names = ", ".join(action_label(a) for a in events[i])
            parts.append(format_html(EVENT_SVG, _n(x + D_BAR / 2), f"{label}: {names}"))
    width = D_LEFT + 2 + len(days) * D_SLOT + 4
    axis_x = D_LEFT + 0.5
    return format_html(
        DAY_SVG, width, key, key, key, title, key, desc,
        axis_x, D_TOP - 2, axis_x, D_BASE + 0.5,
        D_LEFT, D_BASE + 0.5, width - 2, D_BASE + 0.5,
        D_LEFT - 3, D_TOP + 3, f"{top}{axis_unit}", D_LEFT - 3, D_BASE, axis_unit,
        mark_safe("".join(parts)),  # noqa: S308
    )  # fmt: skip
