"""civic/charts.py: the SVG is well-formed XML, bars are proportional, labels are escaped,
empty and crowded charts still draw, the text alternative is there, and the colours are the
Okabe–Ito set."""

import re
import xml.etree.ElementTree as ET

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from civic.charts import OKABE_ITO, Datum, bar_chart, column_chart, stack_chart

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart) -> ET.Element:
    root = ET.fromstring(str(chart.svg))  # noqa: S314 - our own SVG; raises if not well-formed
    assert root.tag == f"{SVG}svg"
    return root


def bars(root) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("fill")]


def fills(root) -> set[str]:
    return {e.get("fill") for e in root.iter() if e.get("fill")}


def districts(n: int) -> list[Datum]:
    return [Datum(f"District {i}", i * 10) for i in range(1, n + 1)]


def chart_bars(data, **kw):
    return bar_chart(
        title="Ballots by district", data=data, label_heading="District", value_heading="Ballots",
        **kw,
    )  # fmt: skip


def test_bars_are_proportional_to_their_values_and_the_longest_fills_the_plot():
    chart = chart_bars([Datum("Almaly", 50), Datum("Medeu", 100), Datum("Auezov", 25)])
    widths = [float(r.get("width")) for r in bars(parse(chart))]
    assert widths[1] == max(widths)
    assert widths[0] == pytest.approx(widths[1] / 2, abs=0.1)
    assert widths[2] == pytest.approx(widths[1] / 4, abs=0.1)


def test_the_svg_is_responsive_accessible_and_has_no_style_attribute():
    chart = chart_bars(districts(3))
    root = parse(chart)
    assert root.get("width") == "100%" and re.fullmatch(r"0 0 320 [\d.]+", root.get("viewBox"))
    assert root.get("role") == "img"
    assert root.get("aria-label") == chart.summary
    assert "District 3" in chart.summary and "60 in all" in chart.summary
    assert "style=" not in str(chart.svg)  # the CSP allows no inline styles


def test_labels_and_values_are_escaped():
    evil = '<script>alert("x")</script> & "Quotes"'
    chart = chart_bars([Datum(evil, 3, text="<b>3</b>")])
    root = parse(chart)
    assert "<script>" not in str(chart.svg) and "<b>" not in str(chart.svg)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert any(t and t.startswith('<script>alert("x")') for t in texts)  # shown as text
    html = render_to_string("includes/charts/figure.html", {"chart": chart})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_zero_data_draws_empty_bars_and_says_so():
    chart = chart_bars([Datum("Almaly", 0), Datum("Medeu", 0)])
    root = parse(chart)
    assert [float(r.get("width")) for r in bars(root)] == [0, 0]
    assert chart.empty
    assert "no data yet" in chart.summary
    none = chart_bars([])
    assert "No data yet." in str(none.svg) and none.empty
    parse(none)
    columns = column_chart(title="Per hour", data=[], label_heading="Hour", value_heading="n")
    parse(columns)
    assert "No ballots yet." in str(columns.svg)


@pytest.mark.parametrize("n", [1, 30])
def test_one_or_thirty_categories_all_fit_the_drawing(n):
    chart = chart_bars(districts(n))
    root = parse(chart)
    height = float(root.get("viewBox").split()[3])
    rects = bars(root)
    assert len(rects) == n
    assert all(float(r.get("y")) + float(r.get("height")) <= height for r in rects)
    assert all(float(r.get("width")) <= 320 for r in rects)
    columns = column_chart(
        title="Per hour", data=districts(n), label_heading="Hour", value_heading="Ballots"
    )
    root = parse(columns)
    rects = bars(root)
    assert len(rects) == n
    assert all(float(r.get("x")) >= 0 for r in rects)
    assert all(float(r.get("x")) + float(r.get("width")) <= 320.01 for r in rects)
    heights = [float(r.get("height")) for r in rects]
    assert heights[-1] == max(heights) and heights[0] == pytest.approx(heights[-1] / n, abs=0.1)


def test_the_text_alternative_is_a_table_of_every_value():
    with translation.override("ru"):
        chart = chart_bars([Datum("Almaly", 1234), Datum("Medeu", 7)])
        html = render_to_string("includes/charts/figure.html", {"chart": chart})
    assert "<figure" in html and "<figcaption" in html and "Ballots by district" in html
    assert "<details" in html and "<table" in html
    assert '<th scope="row">Almaly</th><td class="num">1\xa0234</td>' in html
    assert '<th scope="row">Medeu</th><td class="num">7</td>' in html


def test_numbers_are_written_in_the_readers_language():
    with translation.override("en"):
        en = chart_bars([Datum("Almaly", 12345)])
    with translation.override("kk"):
        kk = chart_bars([Datum("Almaly", 12345)])
    assert ">12,345<" in str(en.svg)
    assert ">12\xa0345<" in str(kk.svg)


def test_the_colours_are_the_colour_blind_safe_set_and_parts_are_numbered():
    data = [Datum(f"Project {i}", 10) for i in range(10)]
    chart = stack_chart(
        title="Greedy", total=200, data=data, rest_label="Left unspent", rest_text="100 ₸",
        label_heading="Project", value_heading="Cost", summary="Spent 100 of 200",
    )  # fmt: skip
    root = parse(chart)
    segments = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-segment"]
    assert len(segments) == 10
    assert {s.get("fill") for s in segments} == set(OKABE_ITO)
    assert segments[0].get("fill") != segments[1].get("fill")
    assert sum(float(s.get("width")) for s in segments) == pytest.approx(
        319 / 2, abs=0.6
    )  # 0.1 a part
    # Colour is not the only cue: each part wide enough carries its number, as the legend does.
    numbers = [t.text for t in root.iter(f"{SVG}text")]
    assert numbers == [str(i) for i in range(1, 11)]
    html = render_to_string("includes/charts/figure.html", {"chart": chart})
    assert html.count("<li>") == 10 and "1.</span> Project 0" in html
    assert '<th scope="row">Left unspent</th><td class="num">100 ₸</td>' in html
    for c in (
        chart_bars(districts(3)),
        column_chart(title="t", data=districts(3), label_heading="h", value_heading="v"),
    ):
        assert fills(parse(c)) <= set(OKABE_ITO)


def test_a_few_columns_stay_narrow_and_their_labels_do_not_collide():
    one = parse(column_chart(title="t", data=districts(1), label_heading="h", value_heading="v"))
    (rect,) = bars(one)
    assert float(rect.get("width")) <= 320 / 12
    ticks = [t for t in one.iter(f"{SVG}text") if t.get("class") == "chart-tick"]
    assert [t.text for t in ticks] == ["District 1"]
    two = parse(column_chart(title="t", data=districts(2), label_heading="h", value_heading="v"))
    assert [t.text for t in two.iter(f"{SVG}text") if t.get("class") == "chart-tick"] == [
        "District 1"
    ]  # the second column's label would overlap the first: it is in the table
    many = parse(column_chart(title="t", data=districts(24), label_heading="h", value_heading="v"))
    ticks = [t for t in many.iter(f"{SVG}text") if t.get("class") == "chart-tick"]
    assert [t.text for t in ticks] == ["District 1", "District 12", "District 24"]
    assert [t.get("text-anchor") for t in ticks] == ["start", "middle", "end"]
