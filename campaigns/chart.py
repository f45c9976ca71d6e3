"""The campaign page's per-number chart: attempts per hour as an inline SVG, with axes, values and words.

Rendered in Python, as phone_numbers/rows.py renders the Numbers page's rows: fifty charts of a dozen
labelled bars are some 6,000 template variables, which took most of the page's time through the
template engine (bench/campaign_page.py). No chart library and no inline style (CSP): app.css styles it.
"""

from __future__ import annotations

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
