"""The review as one self-contained HTML page: no script, no external asset, charts drawn as
inline SVG, laid out for a phone as well as a desk."""
from pathlib import Path
from typing import Any, Dict, List
from xml.sax.saxutils import escape

import jinja2
from markupsafe import Markup

from review.figures import FALLBACK, KINDS, NO_CLICK, NOT_COVERED

TEMPLATE = Path(__file__).with_name("template.html.j2")
KIND_LABELS = {"answered": "answered from the sources", "not_covered": "not covered",
               "suggestions": "did you mean", "declined": "declined", "failed": "failed",
               "other": "other (chit-chat, feedback, advisor)"}
KIND_COLOURS = {"answered": "#2e7d32", "not_covered": "#ef6c00", "suggestions": "#1565c0",
                "declined": "#757575", "failed": "#c62828", "other": "#b0bec5"}
REASON_LABELS = {NOT_COVERED: "not covered", NO_CLICK: "did you mean, no click",
                 FALLBACK: "not understood"}
CHART_WIDTH, CHART_HEIGHT, AXIS = 600, 160, 24
MAX_BAR = 36  # a week's bars as wide as a year's are thin


def kinds_chart(days: List[Dict[str, Any]]) -> str:
    """Messages per day, each bar split into the kinds of reply they got."""
    return _bars(days, lambda day: [(KIND_COLOURS[k], day["kinds"].get(k, 0), KIND_LABELS[k])
                                    for k in KINDS],
                 "Messages per day by kind of reply")


def conversations_chart(days: List[Dict[str, Any]]) -> str:
    return _bars(days, lambda day: [("#455a64", day["conversations"], "conversations")],
                 "Conversations per day")


def _bars(days: List[Dict[str, Any]], parts, title: str) -> str:
    stacks = [parts(day) for day in days]
    top = max([sum(value for _, value, _ in stack) for stack in stacks] + [1])
    slot = CHART_WIDTH / max(len(days), 1)
    width = max(min(slot * 0.8, MAX_BAR), 1)
    shapes = []
    for i, (day, stack) in enumerate(zip(days, stacks)):
        x, base = i * slot + (slot - width) / 2, CHART_HEIGHT
        for colour, value, label in stack:
            height = CHART_HEIGHT * value / top
            base -= height
            if value:
                shapes.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{width:.1f}" '
                              f'height="{height:.1f}" fill="{colour}"><title>'
                              f'{escape(day["day"])}: {value} {escape(label)}</title></rect>')
    step = max(1, len(days) // 6)  # at most about six dates under the axis
    labels = [f'<text x="{i * slot + slot / 2:.1f}" y="{CHART_HEIGHT + 16}" '
              f'text-anchor="middle">{escape(day["day"][5:])}</text>'
              for i, day in enumerate(days) if i % step == 0]
    return (f'<svg viewBox="-30 -12 {CHART_WIDTH + 40} {CHART_HEIGHT + AXIS + 12}" role="img" '
            f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title>'
            f'<text x="-4" y="4" text-anchor="end">{top}</text>'
            f'<text x="-4" y="{CHART_HEIGHT}" text-anchor="end">0</text>'
            f'<line x1="0" y1="{CHART_HEIGHT}" x2="{CHART_WIDTH}" y2="{CHART_HEIGHT}" '
            f'stroke="#999"/>{"".join(shapes)}{"".join(labels)}</svg>')


def render(review: Dict[str, Any]) -> str:
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True)
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(
        review=review, kinds=KINDS, kind_labels=KIND_LABELS, kind_colours=KIND_COLOURS,
        reason_labels=REASON_LABELS,
        kinds_chart=Markup(kinds_chart(review["days"])),
        conversations_chart=Markup(conversations_chart(review["days"])))
