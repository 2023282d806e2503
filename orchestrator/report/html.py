"""The night report as one self-contained HTML page: inline CSS, plots and previews as
embedded PNG data URIs, no script, no external address; it opens from a mail or a USB stick.
"""

from __future__ import annotations

import base64
from datetime import datetime
from html import escape
from pathlib import Path

from orchestrator.pipeline.preview import png_preview
from orchestrator.report import plots

PREVIEW_PX = 192  # the longest side of a preview in the report

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;border-bottom:1px solid #ccc;
margin-top:1.6em}table{border-collapse:collapse;margin:.4em 0;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.figures td{font-size:1.1em;padding:4px 10px}.muted{color:#777}
.previews{display:flex;flex-wrap:wrap;gap:10px}.previews figure{margin:0;font-size:12px}
img.plot{max-width:100%}.bad{color:#b71c1c}.good{color:#1b5e20}
"""


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _img(png: bytes | None, alt: str, css: str = "plot") -> str:
    if png is None:
        return f'<p class="muted">no data for the {escape(alt)}</p>'
    return f'<img class="{css}" alt="{escape(alt)}" src="{_uri(png)}">'


def _hms(text: str | None) -> str:
    return "—" if not text else datetime.fromisoformat(text).strftime("%H:%M:%S")


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def _table(headers: list[str], rows: list[list[object]], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _summary(f: dict) -> str:
    e = f["efficiency"]
    seqs = f["sequences"]
    done = sum(1 for s in seqs if s["outcome"] == "executed")
    eff = "—" if e["efficiency"] is None else f"{100 * e['efficiency']:.1f} %"
    w = f["window"]
    cells = [
        ("efficiency", eff),
        ("dark time", _dur(e["dark_s"])),
        ("dark and safe", _dur(e["dark_safe_s"])),
        ("science shutter open", _dur(e["science_open_s"])),
        ("unsafe", _dur(f["weather"]["unsafe_s"])),
        ("sequences executed", f"{done} / {len(seqs)}"),
        ("images", f["images"]["total"]),
        ("alerts", len(f["alerts"])),
        ("faults", len(f["faults"])),
    ]
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in cells)
    times = (
        f"sunset {_hms(w['sunset'])} · dusk {_hms(w['dusk'])} · dawn {_hms(w['dawn'])} · "
        f"sunrise {_hms(w['sunrise'])} UTC ({escape(f['site']['twilight'])} twilight) · "
        f"Moon {100 * w['moon_illumination']:.0f} %"
    )
    return f'<p>{times}</p><table class="figures">{rows}</table>'


def _timeline(f: dict) -> str:
    t = f["timeline"]
    rows = [
        [_hms(x["time"]), x["from"], x["to"], _dur(x["duration_s"]), x["reason"]]
        for x in t["transitions"]
    ]
    initial = f"<p>state at sunset: {escape(t['initial_state'] or 'unknown')}</p>"
    spent = _table(["state", "time"], [[k, _dur(v)] for k, v in sorted(t["state_s"].items())], "")
    return (
        _img(plots.timeline_png(f), "timeline")
        + initial
        + _table(["time", "from", "to", "lasted", "reason"], rows, "no majordome transition")
        + spent
    )


def _weather(f: dict) -> str:
    w = f["weather"]
    rows = [
        [_hms(p["start"]), _hms(p["end"]), _dur(p["duration_s"]), "; ".join(p["reasons"])]
        for p in w["unsafe_periods"]
    ]
    return (
        _img(plots.weather_png(f), "weather plot")
        + f"<p>{len(w['samples'])} samples; safe {_dur(w['safe_s'])}, unsafe "
        f"{_dur(w['unsafe_s'])} (a sample holds {w['hold_s']:g} s at most)</p>"
        + _table(["unsafe from", "to", "lasted", "why"], rows, "no unsafe period")
    )


def _schedule(f: dict) -> str:
    rows = [
        [s["id"], _hms(s["created"]), s["trigger"], s["entries"]]
        for s in f["schedule"]["schedules"]
    ]
    seqs = []
    for s in f["sequences"]:
        planned = (
            f"{_hms(s['planned']['start'])}–{_hms(s['planned']['end'])}" if s["planned"] else ""
        )
        executed = ", ".join(f"{_hms(e['start'])}–{_hms(e['end'])}" for e in s["executed"])
        seqs.append(
            [
                s["id"],
                s["name"],
                s["target"],
                s["program"] or "",
                "alert" if s["is_alert"] else "",
                planned,
                executed,
                f"{s['frames_taken']}/{s['frames_planned']}",
                s["outcome"],
                s["reason"],
            ]
        )
    return (
        "<p>light bars: planned (the last schedule made before the sequence started); dark "
        "bars: executed (first shutter open to last close); red: unsafe</p>"
        + _img(plots.gantt_png(f), "schedule Gantt")
        + _table(["schedule", "made", "trigger", "entries"], rows, "no schedule for this night")
        + "<h3>Sequences</h3>"
        + _table(
            [
                "#",
                "name",
                "target",
                "program",
                "",
                "planned",
                "executed",
                "frames",
                "outcome",
                "reason",
            ],
            seqs,
            "no sequence tonight",
        )
    )


def _images(f: dict) -> str:
    i = f["images"]
    figures = []
    for p in i["previews"]:
        caption = escape(
            f"{p['object'] or ''} {p['channel']} {p['filter'] or ''} {p['exposure_s']:g}s "
            f"{_hms(p['date_obs'])}"
        )
        try:
            png = png_preview(Path(p["path"]), PREVIEW_PX)
        except (OSError, ValueError):
            png = None
        image = (
            _img(png, f"preview of image {p['image_id']}", "preview")
            if png
            else ('<p class="muted">file not readable</p>')
        )
        figures.append(f"<figure>{image}<figcaption>{caption}</figcaption></figure>")
    return (
        _table(["type", "count"], [[k, v] for k, v in i["by_type"].items()], "no image")
        + _table(
            ["channel", "filter", "frames", "exposure"],
            [[s["channel"], s["filter"], s["count"], _dur(s["exposure_s"])] for s in i["science"]],
            "no science frame",
        )
        + f'<div class="previews">{"".join(figures)}</div>'
    )


def _alerts(f: dict) -> str:
    rows = []
    for a in f["alerts"]:
        chain = " → ".join(f"{c['step']} {c['ms']:.0f} ms" for c in a["latency_chain"])
        decisions = "; ".join(f"{d['action']}: {d['reason']}" for d in a["decisions"])
        box = a["error_box"]
        rows.append(
            [
                _hms(a["received"]),
                f"{a['mission']} {a['trigger_id'] or ''}",
                a["kind"],
                a["status"],
                chain,
                decisions or a["reason"],
                f"{box['images']} images, {box['candidates']} candidates" if box else "",
            ]
        )
    return _table(
        [
            "received",
            "alert",
            "kind",
            "status",
            "latency chain (after arrival)",
            "decisions",
            "error box",
        ],
        rows,
        "no alert",
    )


def _calibrations(f: dict) -> str:
    c = f["calibrations"]
    return _table(
        ["type", "channel", "filter", "exposure s", "frames"],
        [
            [x["type"], x["channel"], x["filter"], f"{x['exposure_s']:g}", x["count"]]
            for x in c["frames"]
        ],
        "no calibration frame",
    ) + _table(
        ["master", "channel", "filter", "exposure s", "from frames", "valid"],
        [
            [m["kind"], m["channel"], m["filter"], m["exposure_s"], m["n_frames"], m["valid"]]
            for m in c["masters"]
        ],
        "no master frame",
    )


def _quota(f: dict) -> str:
    def h(x):
        return "" if x is None else f"{x:.2f}"

    return _table(
        ["program", "sequences", "hours charged", "staff hours", "quota h", "used h"],
        [
            [
                q["program"],
                q["sequences"],
                h(q["hours"]),
                h(q["staff_hours"]),
                h(q["quota_h"]),
                h(q["used_h"]),
            ]
            for q in f["quota"]
        ],
        "no hours charged tonight",
    )


def _faults(f: dict) -> str:
    return _table(
        ["time", "source", "fault", "recovered", "down", "how"],
        [
            [
                _hms(x["time"]),
                x["source"],
                x["message"],
                _hms(x["recovered"]),
                _dur(x["down_s"]),
                x["recovery"] or "",
            ]
            for x in f["faults"]
        ],
        "no fault",
    )


def render_html(facts: dict) -> str:
    """The page for one night's facts (see collect.night_facts)."""
    site = escape(facts["site"]["name"])
    if facts.get("telescope", "main") != "main":  # a network: each telescope its report
        site += escape(f", telescope {facts['telescope']}")
    sections = [
        ("Summary", _summary(facts)),
        ("Majordome timeline", _timeline(facts)),
        ("Weather", _weather(facts)),
        ("Schedule: planned and executed", _schedule(facts)),
        ("Images", _images(facts)),
        ("Alerts", _alerts(facts)),
        ("Calibrations", _calibrations(facts)),
        ("Quota used per program", _quota(facts)),
        ("Device faults and recoveries", _faults(facts)),
        ("Efficiency", f"<p>{escape(facts['efficiency']['definition'])}</p>"),
    ]
    body = "".join(f"<h2>{escape(title)}</h2>{html}" for title, html in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Night report {facts['night']} — {site}</title><style>{CSS}</style></head>"
        f"<body><h1>Night report {facts['night']} — {site}</h1>"
        f'<p class="muted">times UTC · generated {escape(facts["generated"] or "")}</p>'
        f"{body}</body></html>\n"
    )
