"""Charts as inline SVG, built on the server: one renderer for pages and live fragments.

A chart is a `Chart`: the SVG (responsive: a viewBox, width 100 %), a one-sentence summary
(the SVG's accessible name), and the rows of its data table (the text alternative that
templates/includes/charts/figure.html shows in a <details>). Numbers are formatted here, once,
in the current language. No style attributes (the CSP forbids inline styles): colours are
presentation attributes from the Okabe–Ito palette, sizes come from static/css/birge.css
(the `/* charts */` block). Colour is never the only cue: every bar carries its label or a
number that the legend and the data table repeat.

Three shapes: `bar_chart` (horizontal bars, one per category: districts, projects),
`column_chart` (vertical bars over time: turnout per hour or day) and `stack_chart` (one bar
split into parts of a whole: a budget spent, project by project).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from civic.templatetags.numbers import format_number, format_percent

# Okabe & Ito (2008), "Color Universal Design": told apart with every common colour-vision
# deficiency. Yellow last: it is the palest on white.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermilion
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)
MAIN = OKABE_ITO[0]

# The drawing's coordinate system: 320 units wide, text 13 units high. On a 390 px phone a
# unit is about 1 px (a chart in a card) to 1.1 px, so text stays 13-14 px; CSS caps the
# width so it does not grow huge on a desktop.
WIDTH = 320
FONT = 13
LABEL_CHARS = 44
BAR_HEIGHT = 12
BAR_ROW = 38  # a label line above its bar
VALUE_ROOM = 64  # right of the longest bar, for its value
COLUMN_AREA = 120  # height of the columns' plot
STACK_HEIGHT = 28
MIN_COLUMNS = 12


def number(value, decimals: int = 0) -> str:
    """A number as the current language writes it (civic's one number format)."""
    return format_number(value, decimals)


def percent(value) -> str:
    """31.06 → '31,1 %' (kk/ru) or '31.1 %' (en) (civic's one percent format)."""
    return format_percent(value)


@dataclass
class Datum:
    """One bar: its label, its value, and how the value reads (formatted if not given)."""

    label: str
    value: float
    text: str = ""
    colour: str = MAIN

    def __post_init__(self):
        self.value = max(0, self.value or 0)
        if not self.text:
            self.text = number(self.value)


@dataclass
class Chart:
    kind: str
    title: str
    summary: str
    svg: SafeString
    label_heading: str
    value_heading: str
    rows: list[Datum] = field(default_factory=list)
    numbered: bool = False  # the table and legend number the rows, as the SVG does
    extra_rows: list[Datum] = field(default_factory=list)  # shown in the table, not drawn
    # A stable name on a live page ("poll-5-districts"): the data table's <details> keeps
    # its id, so it stays open when a live fragment replaces the chart.
    key: str = ""

    @property
    def empty(self) -> bool:
        return not any(d.value for d in self.rows)

    @property
    def table_rows(self) -> list[Datum]:
        return [*self.rows, *self.extra_rows]


def _f(x: float) -> str:
    """A coordinate: short, with a dot whatever the language."""
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _svg(*, width: float, height: float, summary: str, body: list[str], kind: str) -> SafeString:
    # aria-label, not aria-labelledby: ids could repeat once live fragments are swapped in.
    # Every text in `body` went through escape(); the numbers are ours.
    return mark_safe(  # noqa: S308
        f'<svg class="chart-svg chart-{kind}" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'width="100%" role="img" aria-label="{escape(summary)}" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg">' + "".join(body) + "</svg>"
    )


def _short(label: str, chars: int = LABEL_CHARS) -> str:
    return Truncator(label).chars(chars)


def bar_chart(
    *,
    title: str,
    data: list[Datum],
    label_heading: str,
    value_heading: str,
    summary: str | None = None,
    extra_rows: list[Datum] | None = None,
) -> Chart:
    """Horizontal bars, longest = full width; each label sits above its bar, the value at
    the bar's end, so a phone reads it without a legend."""
    data = list(data)
    peak = max((d.value for d in data), default=0)
    span = WIDTH - VALUE_ROOM
    body = []
    for i, d in enumerate(data):
        top = i * BAR_ROW
        length = span * d.value / peak if peak else 0
        bar_y = top + FONT + 5
        body.append(
            f'<g class="chart-bar"><title>{escape(d.label)}: {escape(d.text)}</title>'
            f'<text x="0" y="{_f(top + FONT)}" class="chart-label">{escape(_short(d.label))}</text>'
            f'<rect x="0" y="{_f(bar_y)}" width="{_f(max(length, 1 if d.value else 0))}" '
            f'height="{BAR_HEIGHT}" fill="{d.colour}" rx="2"></rect>'
            f'<line x1="0.5" y1="{_f(bar_y - 1)}" x2="0.5" y2="{_f(bar_y + BAR_HEIGHT + 1)}" '
            f'class="chart-axis"></line>'
            f'<text x="{_f(length + 4)}" y="{_f(bar_y + BAR_HEIGHT - 2)}" '
            f'class="chart-value">{escape(d.text)}</text></g>'
        )
    height = max(len(data) * BAR_ROW, BAR_ROW)
    if not data:
        empty = _("No data yet.")  # outside the f-string: extracted
        body.append(f'<text x="0" y="{FONT + 4}" class="chart-empty">{escape(empty)}</text>')
    if summary is None:
        summary = _summary(title, data)
    return Chart(
        kind="bars",
        title=title,
        summary=summary,
        svg=_svg(width=WIDTH, height=height, summary=summary, body=body, kind="bars"),
        label_heading=label_heading,
        value_heading=value_heading,
        rows=data,
        extra_rows=list(extra_rows or []),
    )


def _summary(title: str, data: list[Datum]) -> str:
    """The summary: "Title: the largest is X (n of total)." — what a sighted reader takes in at a glance."""
    total = sum(d.value for d in data)
    if not total:
        return _("%(title)s: no data yet.") % {"title": title}
    top = max(data, key=lambda d: d.value)
    return _("%(title)s: %(total)s in all; the most, %(value)s, for %(label)s.") % {
        "title": title,
        "total": number(total),
        "value": top.text,
        "label": top.label,
    }


def column_chart(
    *,
    title: str,
    data: list[Datum],
    label_heading: str,
    value_heading: str,
    summary: str | None = None,
) -> Chart:
    """Vertical bars in order (time): the peak's value on a guide line, the first, middle
    and last labels under the axis, every value in the bar's tooltip and the data table."""
    data = list(data)
    # A few columns stay columns (not slabs): the drawing is laid out for at least
    # MIN_COLUMNS, left-aligned; the axis and the guide line still span the width.
    n = max(len(data), MIN_COLUMNS)
    peak = max((d.value for d in data), default=0)
    left, top, bottom = 0, FONT + 6, FONT + 8
    pitch = WIDTH / n
    bar = max(pitch * 0.75, 0.5)
    base = top + COLUMN_AREA
    body = [
        f'<line x1="0" y1="{_f(base + 0.5)}" x2="{WIDTH}" y2="{_f(base + 0.5)}" class="chart-axis"></line>'
    ]
    if peak:
        most = _("Most: %(value)s") % {"value": number(peak)}  # outside the f-string: extracted
        body.append(
            f'<line x1="0" y1="{_f(top)}" x2="{WIDTH}" y2="{_f(top)}" class="chart-grid"></line>'
            f'<text x="0" y="{_f(top - 4)}" class="chart-value">{escape(most)}</text>'
        )
    for i, d in enumerate(data):
        h = COLUMN_AREA * d.value / peak if peak else 0
        x = left + i * pitch + (pitch - bar) / 2
        body.append(
            f'<rect x="{_f(x)}" y="{_f(base - h)}" width="{_f(bar)}" height="{_f(h)}" '
            f'fill="{d.colour}"><title>{escape(d.label)}: {escape(d.text)}</title></rect>'
        )

    # Labels under the axis: the first; the middle and the last when the columns fill the
    # width; else the last only where it leaves the first room (the table has them all).
    def centre(i: int) -> float:
        return left + i * pitch + pitch / 2

    ticks = []
    if data:
        last = len(data) - 1
        ticks.append((0, "start", 0))
        if len(data) >= MIN_COLUMNS:
            ticks += [(last // 2, "middle", centre(last // 2)), (last, "end", WIDTH)]
        elif last and centre(last) >= WIDTH * 0.4:
            ticks.append((last, "middle", centre(last)))
    for i, anchor, x in ticks:
        body.append(
            f'<text x="{_f(x)}" y="{_f(base + bottom + 1)}" text-anchor="{anchor}" '
            f'class="chart-tick">{escape(_short(data[i].label, 20))}</text>'
        )
    if not peak:
        empty = _("No ballots yet.")  # outside the f-string: extracted
        body.append(
            f'<text x="{WIDTH / 2}" y="{_f(top + COLUMN_AREA / 2)}" text-anchor="middle" '
            f'class="chart-empty">{escape(empty)}</text>'
        )
    if summary is None:
        summary = _summary(title, data)
    return Chart(
        kind="columns",
        title=title,
        summary=summary,
        svg=_svg(width=WIDTH, height=base + bottom + 4, summary=summary, body=body, kind="columns"),
        label_heading=label_heading,
        value_heading=value_heading,
        rows=data,
    )


def stack_chart(
    *,
    title: str,
    total: float,
    data: list[Datum],
    rest_label: str,
    rest_text: str | None = None,
    label_heading: str,
    value_heading: str,
    summary: str,
) -> Chart:
    """One bar for the whole (`total`), filled part by part in palette order; each part
    numbered (the legend and table repeat the numbers), the rest left pale and outlined."""
    data = list(data)
    for i, d in enumerate(data):
        d.colour = OKABE_ITO[i % len(OKABE_ITO)]
    used = sum(d.value for d in data)
    whole = max(total or 0, used) or 1
    top = 2
    body = [
        f'<rect x="0.5" y="{top + 0.5}" width="{WIDTH - 1}" height="{STACK_HEIGHT}" '
        f'class="chart-rest"></rect>'
    ]
    x = 0.5
    for i, d in enumerate(data, start=1):
        w = (WIDTH - 1) * d.value / whole
        body.append(
            f'<g class="chart-part"><title>{i}. {escape(d.label)}: {escape(d.text)}</title>'
            f'<rect x="{_f(x)}" y="{top + 0.5}" width="{_f(w)}" height="{STACK_HEIGHT}" '
            f'fill="{d.colour}" class="chart-segment"></rect>'
        )
        if w >= 14:  # room for its number, on a white disc that reads on any colour
            cx, cy = x + w / 2, top + 0.5 + STACK_HEIGHT / 2
            body.append(
                f'<circle cx="{_f(cx)}" cy="{_f(cy)}" r="7.5" class="chart-badge"></circle>'
                f'<text x="{_f(cx)}" y="{_f(cy + 3.5)}" text-anchor="middle" '
                f'class="chart-badge-text">{i}</text>'
            )
        body.append("</g>")
        x += w
    rest = max(0, (total or 0) - used)
    extra = [Datum(rest_label, rest, text=rest_text or "")] if total else []
    return Chart(
        kind="stack",
        title=title,
        summary=summary,
        svg=_svg(
            width=WIDTH, height=STACK_HEIGHT + top * 2 + 1, summary=summary, body=body, kind="stack"
        ),
        label_heading=label_heading,
        value_heading=value_heading,
        rows=data,
        numbered=True,
        extra_rows=extra,
    )
