// The environment page: synthesis table and 24 h plots as inline SVG, refreshed every 5 s
// from /api/environment. No framework, no CDN: observatories are often offline.
"use strict";
const SVG = "http://www.w3.org/2000/svg";
const LABELS = {
  plc: "PLC link", rain_rate: "Rain", wind_speed: "Wind speed", wind_direction: "Wind direction",
  humidity: "Humidity", temperature: "Temperature", dew_point: "Dew point",
  dew_point_margin: "Dew-point margin", pressure: "Pressure", sky_temperature: "Sky temperature",
  cloud: "Cloud (sky − ambient)", sensors_valid: "Sensor validity",
};
const SERIES = [
  ["rain_rate_mm_h", "Rain rate", "mm/h"], ["wind_speed_m_s", "Wind speed", "m/s"],
  ["humidity_pct", "Humidity", "%"], ["temperature_c", "Temperature", "°C"],
  ["dew_point_c", "Dew point", "°C"], ["sky_minus_ambient_c", "Sky − ambient", "°C"],
  ["pressure_hpa", "Pressure", "hPa"],
];

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function fmt(v) {
  if (v === null || v === undefined) return "—";
  return typeof v === "number" ? (Math.round(v * 100) / 100).toString() : String(v);
}

function renderWeather(w) {
  const verdict = document.getElementById("env-verdict");
  const safe = !!(w && w.is_safe);
  document.getElementById("env-safety").className = safe ? "safe" : "unsafe";
  verdict.textContent = safe ? "SAFE" : "UNSAFE";
  document.getElementById("env-measured").textContent =
    w ? `${w.measured.replace("T", " ").slice(0, 19)} (${w.age_s} s ago)` : "never";
  const reasons = w ? w.reasons : ["no weather synthesis stored yet (is the gateway running?)"];
  document.getElementById("env-reasons").replaceChildren(...reasons.map(r => el("li", r)));
  const table = document.getElementById("env-elements");
  while (table.rows.length > 1) table.deleteRow(1);
  const elements = w ? w.elements : {};
  // Fixed reading order (the JSON arrives with sorted keys); unknown elements go last.
  const names = [...Object.keys(LABELS).filter(n => n in elements),
    ...Object.keys(elements).filter(n => !(n in LABELS))];
  for (const name of names) {
    const e = elements[name];
    const tr = table.insertRow();
    tr.appendChild(el("td", LABELS[name] || name));
    tr.appendChild(el("td", `${fmt(e.value)} ${e.unit || ""}`.trim()));
    tr.appendChild(el("td", e.interpretation));
    tr.appendChild(el("td", e.safety_relevant ? e.decision : "info",
      e.safety_relevant ? e.decision : "info"));
    tr.appendChild(el("td", e.updated ? e.updated.slice(11, 19) : "never"));
  }
}

function renderSite(site) {
  const table = document.getElementById("env-site");
  while (table.rows.length > 1) table.deleteRow(1);
  for (const [name, lamp] of Object.entries((site && site.lamps) || {})) {
    const tr = table.insertRow();
    tr.appendChild(el("td", name));
    tr.appendChild(el("td", lamp.valid ? "yes" : "no"));
    const values = Object.entries(lamp).filter(([k]) => k !== "valid").map(([k, v]) => `${k} ${fmt(v)}`);
    tr.appendChild(el("td", values.join(", ")));
  }
}

// Points further apart than this are a gap (the server also sends a null point in each gap).
function gapMs(points) {
  const steps = points.slice(1).map((p, i) => p[0] - points[i][0]).sort((a, b) => a - b);
  const median = steps.length ? steps[Math.floor(steps.length / 2)] : 60e3;
  return Math.max(3 * median, 120e3);
}

function plot(history, periods, key, title, unit, t0, t1) {
  const W = 320, H = 130, L = 44, R = 8, T = 20, B = 22;
  const box = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "plot", role: "img", "aria-label": title });
  box.appendChild(svg("text", { x: L, y: 13, class: "plot-title" }, `${title} (${unit})`));
  // null values stay in: they break the line
  const all = history.map(p => [Date.parse(p.t), p[key] ?? null]).filter(p => p[0] >= t0);
  const points = all.filter(p => p[1] !== null);
  const x = t => L + (W - L - R) * (Math.min(Math.max(t, t0), t1) - t0) / Math.max(1, t1 - t0);
  box.appendChild(svg("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot-frame" }));
  if (!points.length) {
    box.appendChild(svg("text", { x: L + 8, y: H / 2 + 4, class: "plot-empty" }, "no data"));
    return box;
  }
  let lo = Infinity, hi = -Infinity;
  for (const p of points) { if (p[1] < lo) lo = p[1]; if (p[1] > hi) hi = p[1]; }
  const pad = (hi - lo) * 0.05;
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; } else { lo -= pad; hi += pad; }
  const y = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
  const gap = gapMs(points);
  // A green strip along the bottom under the data (none in a gap: no data is not safe) ...
  let segment = [], first = null, previous = null;
  const flush = () => {
    if (segment.length) {
      box.appendChild(svg("polyline", { points: segment.join(" "), class: "plot-line" }));
      box.appendChild(svg("rect", { x: x(first), y: H - B + 2, width: Math.max(0.5, x(previous) - x(first)),
        height: 4, class: "strip-safe" }));
    }
    segment = [];
  };
  for (const p of all) {
    if (p[1] === null || (previous !== null && p[0] - previous > gap)) flush();
    if (p[1] === null) { previous = null; continue; }
    if (!segment.length) first = p[0];
    segment.push(`${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    previous = p[0];
  }
  flush();
  // ... and the unsafe periods (given by the server) shaded, with a red strip over the green.
  for (const period of periods) {
    const a = Date.parse(period.start), b = Date.parse(period.end);
    if (b < t0) continue;
    const width = Math.max(0.5, x(b) - x(a));
    box.appendChild(svg("rect", { x: x(a), y: H - B + 2, width, height: 4, class: "strip-unsafe" }));
    box.appendChild(svg("rect", { x: x(a), y: T, width, height: H - T - B, class: "plot-unsafe" }));
  }
  box.appendChild(svg("text", { x: L - 4, y: T + 8, class: "plot-axis", "text-anchor": "end" }, fmt(hi)));
  box.appendChild(svg("text", { x: L - 4, y: H - B, class: "plot-axis", "text-anchor": "end" }, fmt(lo)));
  const ticks = 4;  // every 6 h on a 24 h plot
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + (t1 - t0) * i / ticks;
    const anchor = i === 0 ? "start" : i === ticks ? "end" : "middle";
    box.appendChild(svg("text", { x: x(t), y: H - 3, class: "plot-axis", "text-anchor": anchor },
      new Date(t).toISOString().slice(11, 16)));
  }
  return box;
}

// The history is fetched whole once, then only the points after the last one (incremental).
let history = [];
let periods = [];
let loaded = false;

function render(data) {
  document.getElementById("env-time").textContent = data.time.replace("T", " ").slice(0, 19);
  document.getElementById("env-hours").textContent = data.hours;
  renderWeather(data.weather);
  renderSite(data.site);
  const t1 = Date.parse(data.time), t0 = t1 - data.hours * 3600e3;
  history = history.filter(p => Date.parse(p.t) >= t0);
  periods = periods.filter(p => Date.parse(p.end) >= t0);
  document.getElementById("env-plots").replaceChildren(
    ...SERIES.map(([key, title, unit]) => plot(history, periods, key, title, unit, t0, t1)));
}

async function refresh() {
  try {
    const last = loaded && history.length ? history[history.length - 1].t : null;
    const url = "api/environment?hours=24" + (last ? "&since=" + encodeURIComponent(last) : "");
    const data = await (await fetch(url)).json();
    if (loaded) {
      const lastMs = last ? Date.parse(last) : -Infinity;  // a point is never added twice
      history = history.concat(data.history.filter(p => Date.parse(p.t) > lastMs));
      periods = periods.concat(data.unsafe_periods || []);
    } else {
      history = data.history;
      periods = data.unsafe_periods || [];
    }
    loaded = true;
    render(data);
  } catch (e) {
    document.getElementById("env-verdict").textContent = "UNKNOWN (page data unreachable)";
    document.getElementById("env-safety").className = "unsafe";
  }
}
render(JSON.parse(document.getElementById("env-data").textContent));
refresh();
setInterval(refresh, 5000);
