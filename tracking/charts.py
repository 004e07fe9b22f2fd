"""Charts drawn on the server as SVG: no script, no CDN, readable without
JavaScript, scaled by the browser to any width. Every label is escaped."""

from dataclasses import dataclass
from math import ceil, log10

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 34


@dataclass(frozen=True)
class Series:
    label: str
    values: list[int]
    css_class: str  # colours live in the stylesheet: chart-series-1, -2, ...


def _n(value: float) -> str:
    return f"{value:.1f}"


def _nice_max(value: int) -> int:
    """The top of the axis: four steps of 1, 2 or 5 x 10^n covering value."""
    quarter = max(1, ceil(value / 4))
    power = 10 ** int(log10(quarter))
    step = next(s * power for s in (1, 2, 5, 10) if s * power >= quarter)
    return 4 * step


def _ticks(top: int) -> list[int]:
    return [top * i // 4 for i in range(5)]


def _x_labels(labels: list[str], plot_width: float) -> list[tuple[float, str]]:
    # About one label per 90 px, always the first.
    every = max(1, ceil(len(labels) / max(1, plot_width // 90)))
    step = plot_width / max(1, len(labels) - 1) if len(labels) > 1 else 0
    return [(LEFT + i * step, label) for i, label in enumerate(labels) if i % every == 0]


def line_chart(*, title: str, labels: list[str], series: list[Series]) -> SafeString:
    """A line chart of one or more series over the same labels."""
    if not labels:
        return SafeString("")
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    step = plot_width / (len(labels) - 1) if len(labels) > 1 else 0

    def y(value: int) -> float:
        return TOP + plot_height - plot_height * value / top

    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, _n(y(t)), _n(y(t)), LEFT - 6, _n(y(t) + 4), t) for t in _ticks(top)),
    )
    x_axis = format_html_join(
        "",
        '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((_n(x), HEIGHT - 10, label) for x, label in _x_labels(labels, plot_width)),
    )
    lines = []
    for s in series:
        points = " ".join(f"{LEFT + i * step:.1f},{y(v):.1f}" for i, v in enumerate(s.values))
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="2.5"><title>{}: {} {}</title></circle>',
            (
                (_n(LEFT + i * step), _n(y(v)), labels[i], v, s.label)
                for i, v in enumerate(s.values)
            ),
        )
        lines.append(
            format_html(
                '<g class="chart-series {}"><polyline fill="none" points="{}"/>{}</g>',
                s.css_class,
                points,
                dots,
            )
        )
    legend = format_html_join(
        "",
        '<span class="chart-key {}">{}</span>',
        ((s.css_class, s.label) for s in series),
    )
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet">{}{}{}</svg>'
        '<figcaption class="chart-legend">{}</figcaption></figure>',
        WIDTH,
        HEIGHT,
        title,
        grid,
        x_axis,
        mark_safe("".join(lines)),  # each line was built with format_html
        legend,
    )


def bar_chart(*, title: str, labels: list[str], series: list[Series]) -> SafeString:
    """Grouped bars: one group per label, one bar per series."""
    if not labels:
        return SafeString("")
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((max(s.values, default=0) for s in series), default=0))
    group = plot_width / len(labels)
    bar = max(1.0, group * 0.8 / len(series))

    def y(value: int) -> float:
        return TOP + plot_height - plot_height * value / top

    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, _n(y(t)), _n(y(t)), LEFT - 6, _n(y(t) + 4), t) for t in _ticks(top)),
    )
    every = max(1, ceil(len(labels) / max(1, plot_width // 90)))
    x_axis = format_html_join(
        "",
        '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        (
            (_n(LEFT + group * (i + 0.5)), HEIGHT - 10, label)
            for i, label in enumerate(labels)
            if i % every == 0
        ),
    )
    bars = []
    for n, s in enumerate(series):
        rects = format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}"><title>{}: {} {}</title></rect>',
            (
                (
                    _n(LEFT + group * i + group * 0.1 + bar * n),
                    _n(y(v)),
                    _n(bar),
                    _n(TOP + plot_height - y(v)),
                    labels[i],
                    v,
                    s.label,
                )
                for i, v in enumerate(s.values)
            ),
        )
        bars.append(format_html('<g class="chart-series {}">{}</g>', s.css_class, rects))
    legend = format_html_join(
        "", '<span class="chart-key {}">{}</span>', ((s.css_class, s.label) for s in series)
    )
    return format_html(
        '<figure class="chart"><svg viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet">{}{}{}</svg>'
        '<figcaption class="chart-legend">{}</figcaption></figure>',
        WIDTH,
        HEIGHT,
        title,
        grid,
        x_axis,
        mark_safe("".join(bars)),  # each group was built with format_html
        legend,
    )
