"""The night report's plots, drawn from the facts with matplotlib's Agg backend (no display)
and returned as PNG bytes to embed in the HTML: timeline, weather, schedule Gantt.
"""

from __future__ import annotations

import io
from datetime import datetime

import matplotlib

matplotlib.use("Agg")  # headless: the orchestrator and the CLI have no display

import matplotlib.dates as mdates  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

STATE_COLOURS = {
    "observing": "#2e7d32",
    "opening": "#81c784",
    "night_waiting": "#90a4ae",
    "closing": "#ffb74d",
    "closed_weather": "#e53935",
    "dusk_flats": "#fff176",
    "dawn_flats": "#fff176",
    "darks_bias": "#9575cd",
    "day": "#ffe0b2",
    "parked": "#b0bec5",
    "startup": "#cfd8dc",
    "manual": "#4fc3f7",
    "paused": "#4dd0e1",
    "error": "#000000",
}
UNSAFE_COLOUR = "#e53935"
GANTT_MAX_HEIGHT_IN = 16.0  # a night of 1,000 sequences stays a readable picture
GANTT_LABELLED_ROWS = 60


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    # no Software tag: the report carries no address of any kind
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


def _time_axis(ax, facts: dict) -> None:
    ax.set_xlim(_t(facts["window"]["start"]), _t(facts["window"]["end"]))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))


def _shade_unsafe(ax, facts: dict) -> None:
    for period in facts["weather"]["unsafe_periods"]:
        ax.axvspan(_t(period["start"]), _t(period["end"]), color=UNSAFE_COLOUR, alpha=0.15, lw=0)


def _bars(ax, bars: list[tuple[float, datetime, datetime, str]], height: float) -> None:
    """Horizontal bars (centre y, start, end, colour) as one collection: a night of 1,000
    sequences is one artist, not 1,000 (the axes' limits are set by the caller)."""
    verts = []
    for y, start, end in ((b[0], mdates.date2num(b[1]), mdates.date2num(b[2])) for b in bars):
        low, high = y - height / 2, y + height / 2
        verts.append([(start, low), (start, high), (end, high), (end, low)])
    if verts:
        colours = [b[3] for b in bars]
        ax.add_collection(
            PolyCollection(verts, facecolors=colours, edgecolors="none"), autolim=False
        )


def timeline_png(facts: dict) -> bytes:
    """Majordome states and weather safety over the night, one row each (UTC)."""
    fig = Figure(figsize=(10, 1.9))
    ax = fig.add_subplot()
    window_end = _t(facts["window"]["end"])
    timeline = facts["timeline"]
    spans: list[tuple[str, datetime, datetime]] = []
    if timeline["initial_state"]:
        first = timeline["transitions"][0]["time"] if timeline["transitions"] else None
        spans.append(
            (
                timeline["initial_state"],
                _t(facts["window"]["start"]),
                _t(first or facts["window"]["end"]),
            )
        )
    for i, tr in enumerate(timeline["transitions"]):
        nxt = (
            timeline["transitions"][i + 1]["time"] if i + 1 < len(timeline["transitions"]) else None
        )
        spans.append((tr["to"], _t(tr["time"]), _t(nxt) if nxt else window_end))
    bars = [(1.5, start, end, STATE_COLOURS.get(state, "#607d8b")) for state, start, end in spans]
    bars.append((0.5, _t(facts["window"]["start"]), window_end, "#a5d6a7"))
    bars += [
        (0.5, _t(p["start"]), _t(p["end"]), UNSAFE_COLOUR)
        for p in facts["weather"]["unsafe_periods"]
    ]
    _bars(ax, bars, 0.8)
    ax.set_yticks([0.5, 1.5], ["weather", "majordome"])
    ax.set_ylim(0, 2)
    _time_axis(ax, facts)
    used = sorted({s for s, _, _ in spans})
    handles = [Patch(color=STATE_COLOURS.get(s, "#607d8b"), label=s) for s in used]
    if handles:
        ax.legend(
            handles=handles,
            fontsize=7,
            ncol=min(len(handles), 7),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.25),
            frameon=False,
        )
    fig.subplots_adjust(left=0.09, right=0.99, top=0.95, bottom=0.42)
    return _png(fig)


WEATHER_PANELS = (
    (("rain_rate_mm_h",), "rain mm/h"),
    (("wind_speed_m_s",), "wind m/s"),
    (("humidity_pct",), "humidity %"),
    (("sky_minus_ambient_c",), "sky−ambient °C"),
    (("temperature_c", "dew_point_c"), "temp / dew °C"),
)


def weather_png(facts: dict) -> bytes | None:
    """The weather series, unsafe periods shaded; None when there is no sample."""
    samples = facts["weather"]["samples"]
    if not samples:
        return None
    times = [_t(s["time"]) for s in samples]
    fig = Figure(figsize=(10, 1.3 * len(WEATHER_PANELS)))
    axes = fig.subplots(len(WEATHER_PANELS), 1, sharex=True)
    for ax, (names, label) in zip(axes, WEATHER_PANELS, strict=True):
        for name in names:
            values = [s[name] if s[name] is not None else float("nan") for s in samples]
            ax.plot(times, values, lw=1, label=name)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
        _shade_unsafe(ax, facts)
        _time_axis(ax, facts)
    fig.subplots_adjust(left=0.09, right=0.99, top=0.98, bottom=0.06, hspace=0.15)
    return _png(fig)


def gantt_png(facts: dict) -> bytes | None:
    """Per sequence: the planned slot (light bar) and the executions (dark bars)."""
    rows = [s for s in facts["sequences"] if s["planned"] or s["executed"]]
    if not rows:
        return None
    height_in = min(0.8 + 0.28 * len(rows), GANTT_MAX_HEIGHT_IN)
    fig = Figure(figsize=(10, height_in))
    ax = fig.add_subplot()
    planned, executed = [], []
    for y, s in enumerate(reversed(rows)):
        if s["planned"]:
            planned.append((y, _t(s["planned"]["start"]), _t(s["planned"]["end"]), "#bbdefb"))
        colour = "#1565c0" if s["outcome"] == "executed" else "#ef6c00"
        executed += [(y, _t(e["start"]), _t(e["end"]), colour) for e in s["executed"]]
    _bars(ax, planned, 0.8)
    _bars(ax, executed, 0.5)
    if len(rows) <= GANTT_LABELLED_ROWS:
        labels = [f"#{s['id']} {s['name'][:24]}" for s in reversed(rows)]
        ax.set_yticks(range(len(rows)), labels, fontsize=7)
    else:  # too many to name: the table below names them
        ax.set_yticks([])
        ax.set_ylabel(f"{len(rows)} sequences", fontsize=8)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    _shade_unsafe(ax, facts)
    _time_axis(ax, facts)
    ax.tick_params(axis="x", labelsize=7)
    fig.subplots_adjust(left=0.2, right=0.99, top=1 - 0.05 / height_in, bottom=0.35 / height_in)
    return _png(fig)
