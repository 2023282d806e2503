// The schedule page's charts, drawn by uPlot (vendored in static/vendor, no CDN): the plan as
// a Gantt over the night, and the altitude of every scheduled target with the Moon's, the
// twilights shaded. The data (plan + sky) is computed by the server and embedded in the page.
"use strict";
const view = JSON.parse(document.getElementById("schedule-data").textContent);
const plan = view.schedule;
const COLORS = ["#9cc3ff", "#ffb86b", "#6fdc8c", "#ff79c6", "#f1fa8c", "#8be9fd", "#bd93f9",
  "#ff6b6b", "#50fa7b", "#ffd1a1"];
const STATUS_COLORS = { planned: "#24456e", executing: "#b8860b", executed: "#1f5a38",
  failed: "#6b2a2a", cancelled: "#3a3a3a" };
const sec = iso => Date.parse(iso) / 1000;
const hhmm = iso => iso ? iso.slice(11, 16) : "—";
window.pyrosSchedule = {};  // the charts, read by the page tests

function axis() { return { stroke: "#8894a3", grid: { stroke: "#232c38" }, ticks: { stroke: "#2a3442" } }; }
function timeAxis() { return { ...axis(), values: (u, v) => v.map(s => new Date(s * 1000).toISOString().slice(11, 16)) }; }
function width(box) { return Math.max(280, box.clientWidth - 8); }

// Twilight shading behind a chart: lighter where the Sun is higher (before dusk, after dawn).
function shadeTwilight(u) {
  const s = plan.sky.sun, { ctx, bbox } = u;
  const band = (a, b, color) => {
    if (!a || !b) return;
    const x0 = Math.max(bbox.left, u.valToPos(sec(a), "x", true));
    const x1 = Math.min(bbox.left + bbox.width, u.valToPos(sec(b), "x", true));
    if (x1 > x0) { ctx.fillStyle = color; ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height); }
  };
  ctx.save();
  const t0 = new Date(u.scales.x.min * 1000).toISOString(), t1 = new Date(u.scales.x.max * 1000).toISOString();
  band(t0, s.dusk, "rgba(80, 110, 160, 0.22)");  // civil dusk .. the night's dusk
  band(s.dawn, t1, "rgba(80, 110, 160, 0.22)");
  ctx.restore();
}

function timeOpts(box, height, title) {
  const times = plan.sky.times_s;
  return {
    title, width: width(box), height,
    tzDate: ts => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),  // times on the site are UTC
    legend: { show: false }, cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: () => [times[0], times[times.length - 1]] } },
  };
}

function altitudeChart() {
  const box = document.getElementById("altitude");
  const sky = plan.sky, times = sky.times_s;
  const series = [{}], data = [times];
  sky.targets.forEach((t, i) => {
    const color = COLORS[i % COLORS.length];
    series.push({ label: t.target, stroke: color, width: 1, alpha: 0.6 });
    data.push(t.altitude_deg);
    // the scheduled part of the curve, thick: the entry's window on the same grid
    const mine = plan.entries.filter(e => e.sequence_id === t.sequence_id);
    series.push({ label: `${t.target} (scheduled)`, stroke: color, width: 4 });
    data.push(t.altitude_deg.map((alt, k) =>
      mine.some(e => times[k] >= sec(e.start) - 150 && times[k] <= sec(e.end) + 150) ? alt : null));
  });
  series.push({ label: `Moon ${Math.round(sky.moon.illumination * 100)} %`, stroke: "#cfcfcf",
    width: 1.5, dash: [6, 4] });
  data.push(sky.moon.altitude_deg);
  const opts = timeOpts(box, 260, "Altitude (deg) of the scheduled targets and the Moon");
  opts.legend = { show: true, live: false };
  opts.series = series;
  opts.scales.y = { range: [0, 90] };
  opts.axes = [timeAxis(), { ...axis(), size: 40, values: (u, v) => v.map(d => `${d}°`) }];
  opts.hooks = { drawClear: [shadeTwilight], draw: [u => {  // the site's horizon limit
    const y = u.valToPos(sky.horizon_deg, "y", true), { ctx, bbox } = u;
    ctx.save(); ctx.strokeStyle = "#c0392b"; ctx.setLineDash([3, 3]);
    ctx.beginPath(); ctx.moveTo(bbox.left, y); ctx.lineTo(bbox.left + bbox.width, y); ctx.stroke();
    ctx.restore();
  }] };
  return new uPlot(opts, data, box);
}

function ganttChart() {
  const box = document.getElementById("gantt");
  const rows = [...new Set(plan.entries.map(e => e.target))];
  const rowOf = e => rows.indexOf(e.target);
  const times = plan.sky.times_s;
  const opts = timeOpts(box, 40 + 26 * Math.max(rows.length, 1), "Tonight's plan");
  opts.series = [{}, { show: false }];
  opts.scales.y = { range: [-0.5, Math.max(rows.length, 1) - 0.5] };
  opts.axes = [timeAxis(), { ...axis(), size: 90, splits: () => rows.map((_, i) => i),
    values: (u, v) => v.map(i => rows[i] || ""), grid: { show: false } }];
  const bars = [];  // [x0, x1, y0, y1, entry] in canvas pixels: for clicks and the tests
  opts.hooks = { drawClear: [shadeTwilight], draw: [u => {
    const { ctx } = u, h = Math.min(18, (u.valToPos(0, "y", true) - u.valToPos(1, "y", true)) * 0.7);
    bars.length = 0;
    ctx.save();
    for (const e of plan.entries) {
      const x0 = u.valToPos(sec(e.start), "x", true), x1 = u.valToPos(sec(e.end), "x", true);
      const y = u.valToPos(rowOf(e), "y", true);
      ctx.fillStyle = STATUS_COLORS[e.status] || "#24456e";
      ctx.fillRect(x0, y - h / 2, Math.max(2, x1 - x0), h);
      ctx.strokeStyle = "#9cc3ff"; ctx.strokeRect(x0, y - h / 2, Math.max(2, x1 - x0), h);
      bars.push([x0, x1, y - h / 2, y + h / 2, e]);
    }
    // dusk and dawn of the night the planner used
    ctx.strokeStyle = "#ffb86b"; ctx.setLineDash([4, 3]);
    for (const t of [plan.dusk, plan.dawn]) {
      const x = u.valToPos(sec(t), "x", true);
      ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
    }
    ctx.restore();
  }] };
  const u = new uPlot(opts, [times, times.map(() => null)], box);
  u.pyrosBars = bars;
  u.over.addEventListener("click", ev => {  // a bar opens its request (logged-in users)
    const r = window.devicePixelRatio || 1, x = (ev.offsetX + u.over.offsetLeft) * r;
    const y = (ev.offsetY + u.over.offsetTop) * r;
    const hit = bars.find(([x0, x1, y0, y1]) => x >= x0 && x <= Math.max(x1, x0 + 2) && y >= y0 && y <= y1);
    const link = hit && document.querySelector(`#entries tr[data-sequence="${hit[4].sequence_id}"] a`);
    if (link) window.location = link.href;
  });
  u.over.title = "click a bar to open its request";
  return u;
}

if (plan && plan.sky && plan.entries.length) {
  const charts = [ganttChart(), altitudeChart()];
  window.pyrosSchedule = { gantt: charts[0], altitude: charts[1] };
  window.addEventListener("resize", () => {
    for (const u of charts) u.setSize({ width: width(u.root.parentNode), height: u.height });
  });
}
