// The environment page: synthesis table and 24 h plots drawn by uPlot (vendored in
// static/vendor: no CDN, observatories are often offline), refreshed every 5 s from
// /api/environment: once whole, then only the rows newer than the last one.
"use strict";
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

// Points further apart than this are a gap: drawn as a gap, not a straight line across it
// (the server also sends a null point in each gap of its history).
function gapS(ts) {
  const steps = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
  const median = steps.length ? steps[Math.floor(steps.length / 2)] : 60;
  return Math.max(3 * median, 120);
}

// One series as uPlot columns [[t_s...], [value...]] with a null wherever the data stops
// (uPlot breaks the line at a null), and the server's unsafe periods as [[from_s, to_s], ...].
function columns(history, periods, key, t0s, t1s) {
  const all = history.map(p => [Date.parse(p.t) / 1000, p[key] ?? null]).filter(p => p[0] >= t0s);
  const pts = all.filter(p => p[1] !== null);
  const gap = gapS(pts.map(p => p[0]));
  const xs = [], ys = [];
  let gaps = 0, previous = null;
  for (const p of all) {
    if (p[1] === null || (previous !== null && p[0] - previous > gap)) {
      if (previous !== null) { xs.push(previous + 1); ys.push(null); gaps++; }
      previous = null;
      if (p[1] === null) continue;
    }
    xs.push(p[0]); ys.push(p[1]);
    previous = p[0];
  }
  const unsafe = periods.map(p => [Date.parse(p.start) / 1000, Date.parse(p.end) / 1000])
    .filter(([, b]) => b >= t0s).map(([a, b]) => [Math.max(a, t0s), Math.min(b, t1s)]);
  return { data: [xs, ys], unsafe, gaps, points: pts.length };
}

// Unsafe periods shaded behind the line (a uPlot draw hook on its canvas).
function shadeUnsafe(u) {
  const spans = u.pyros ? u.pyros.unsafe : [];
  const { ctx, bbox } = u;
  ctx.save();
  ctx.fillStyle = "rgba(192, 57, 43, 0.28)";
  for (const [a, b] of spans) {
    const x0 = Math.max(bbox.left, u.valToPos(a, "x", true));
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(b, "x", true));
    if (x1 > x0) ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
  }
  ctx.restore();
}

const plots = {};  // key -> uPlot instance (window.pyrosPlots: read by the page tests)
window.pyrosPlots = plots;
let span = [0, 1];  // the x range in s: the last `hours` up to the server's time

function utcHHMM(s) { return new Date(s * 1000).toISOString().slice(11, 16); }
function plotWidth(box) { return Math.max(240, box.clientWidth - 8); }

function makePlot(key, title, unit) {
  const box = el("div", undefined, "plot");
  box.id = `plot-${key}`;
  document.getElementById("env-plots").appendChild(box);
  const axis = { stroke: "#8894a3", grid: { stroke: "#232c38" }, ticks: { stroke: "#2a3442" } };
  const opts = {
    title: `${title} (${unit})`, width: plotWidth(box), height: 170,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),  // every time on the site is UTC
    legend: { show: false }, cursor: { drag: { x: false, y: false } },
    // y autoscaled to the data (not to zero: a pressure of 770 hPa is no flat line at the top)
    scales: { x: { time: true, range: () => span },
      y: { range: (u, lo, hi) => uPlot.rangeNum(lo, hi, 0.1, true) } },
    series: [{}, { label: title, stroke: "#9cc3ff", width: 1.5, spanGaps: false,
      points: { show: false } }],
    axes: [{ ...axis, values: (u, splits) => splits.map(utcHHMM) }, { ...axis, size: 48 }],
    hooks: { drawClear: [shadeUnsafe] },
  };
  const u = new uPlot(opts, [[], []], box);
  u.pyros = { unsafe: [], gaps: 0, points: 0 };
  plots[key] = u;
  return u;
}

function drawPlots(t0s, t1s) {
  span = [t0s, t1s];
  for (const [key, title, unit] of SERIES) {
    const u = plots[key] || makePlot(key, title, unit);
    const c = columns(history, periods, key, t0s, t1s);
    u.pyros = c;
    u.setData(c.data);
    u.root.classList.toggle("empty", c.points === 0);
  }
}
window.addEventListener("resize", () => {
  for (const u of Object.values(plots)) u.setSize({ width: plotWidth(u.root.parentNode), height: 170 });
});

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
  drawPlots(t0 / 1000, t1 / 1000);
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
