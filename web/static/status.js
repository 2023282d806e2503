// Refreshes the status page from /api/status every 5 s (no framework, no CDN).
"use strict";
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
function fillTable(id, rows, columns) {
  const table = document.getElementById(id);
  while (table.rows.length > 1) table.deleteRow(1);
  for (const r of rows) { const tr = table.insertRow(); for (const c of columns) cell(tr, c(r)); }
}
// "2026-11-25T04:05:06+00:00" -> "04:05" (or "04:05:06" with length 8): UTC as stored.
function hhmm(iso, length = 5) { return iso.slice(11, 11 + length); }
// "2026-11-25T04:05:06+00:00" -> "2026-11-25 04:05": a night spans two dates.
function when(iso) { return iso.slice(0, 16).replace("T", " "); }
async function refresh() {
  try {
    const s = await (await fetch("api/status")).json();
    document.getElementById("time").textContent = s.time.replace("T", " ").slice(0, 19);
    const safe = s.safety && s.safety.is_safe;
    document.getElementById("safety").className = safe ? "safe" : "unsafe";
    document.getElementById("verdict").textContent = safe ? "SAFE" : "UNSAFE";
    const reasons = document.getElementById("reasons");
    reasons.replaceChildren(...(s.safety ? s.safety.reasons : []).map(r => {
      const li = document.createElement("li"); li.textContent = r; return li; }));
    const sch = s.schedule;
    document.getElementById("schedule-summary").textContent = sch
      ? `night ${sch.night}, made ${hhmm(sch.created, 8)} UTC (${sch.trigger}), ${sch.entries.length} entries`
      : "no schedule yet";
    fillTable("schedule", sch ? sch.entries : [], [e => when(e.start), e => when(e.end), e => e.target, e => e.sequence, e => e.status]);
    fillTable("not-tonight", s.not_tonight || [], [n => n.target, n => n.sequence, n => n.reason]);
    const counts = Object.entries(s.sequences || {}).sort().map(([k, v]) => `${k} ${v}`);
    document.getElementById("sequences").textContent = "Sequences: " + (counts.join(", ") || "none");
    fillTable("jobs", s.jobs || [], [j => j.name, j => j.process, j => j.age_s, j => j.late ? "LATE" : j.state]);
    fillTable("devices", s.devices || [], [d => d.role, d => d.adapter, d => d.address, d => d.device, d => d.state]);
  } catch (e) {
    document.getElementById("verdict").textContent = "UNKNOWN (status unreachable)";
    document.getElementById("safety").className = "unsafe";
  }
}
setInterval(refresh, 5000);
