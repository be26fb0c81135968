"""Template tags that turn a page's figures into civic.charts charts.

{% load charts %}
{% spent_chart outcome as chart %}{% include "includes/charts/figure.html" %}
"""

from django import template
from django.utils.translation import gettext as _

from civic.charts import Chart, Datum, stack_chart

register = template.Library()


@register.simple_tag
def spent_chart(outcome: dict) -> Chart:
    """A budget outcome (budgets.views._outcome_view) as one bar for the whole budget: the
    funded projects in order, each numbered, and what is left unspent. The parts are the
    projects' shares of the budget, so the bar is the same length whatever the amount."""
    segments = outcome.get("segments") or []
    return stack_chart(
        title=outcome.get("rule_label", ""),
        total=100,
        data=[Datum(s["title"], s["share"], text=s["cost_text"]) for s in segments],
        rest_label=_("Left unspent"),
        rest_text=outcome.get("left_text", ""),
        label_heading=_("Project"),
        value_heading=_("Cost"),
        summary=outcome.get("chart_label", ""),
    )
