// Refreshes the dashboard from /api/status every few seconds (no framework, no CDN): safety,
// majordome, the executing sequence's progress rows, next entries, last images (previews
// for logged-in users who may see them), schedule, jobs, devices.
"use strict";
function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) td.appendChild(content); else td.textContent = content;
  row.appendChild(td);
}
function frames(r) {  // "<progress> 3/5" as the server renders it
  const span = document.createElement("span"), bar = document.createElement("progress");
  bar.max = r.count; bar.value = r.frames_done;
  span.append(bar, ` ${r.frames_done}/${r.count}`);
  return span;
}
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
    const m = s.majordome;
    document.getElementById("majordome").textContent = m
      ? `${m.state} (${m.mode}${m.paused ? ", paused" : ""}) — ${m.reason}` : "not started";
    const q = m && m.sequence;
    document.getElementById("majordome-sequence").textContent = q
      ? `sequence ${q.id} ${q.name} (${q.target}): plan ${q.plan}, frame ${q.frame} of ${q.frames}` + (q.progress ? ` (${q.progress})` : "")
      : "no sequence running";
    fillTable("progress", s.progress_rows || [], [r => r.channel, r => r.filter,
      r => `${r.exposure_s} s` + (r.binning > 1 ? ` bin ${r.binning}` : ""), frames, r => r.status]);
    fillTable("next", s.next_entries || [], [e => hhmm(e.start), e => hhmm(e.end), e => e.target, e => e.sequence, e => e.status]);
    showPreviews(s.images || []);
    fillTable("images", s.images || [], [i => hhmm(i.date_obs, 8), i => i.type, i => i.channel, i => i.filter || "-", i => i.object || ""]);
    fillTable("jobs", s.jobs || [], [j => j.name, j => j.process, j => j.age_s, j => j.late ? "LATE" : j.state]);
    fillTable("devices", s.devices || [], [d => d.role, d => d.adapter, d => d.address || "—", d => d.device, d => d.state]);
  } catch (e) {
    document.getElementById("verdict").textContent = "UNKNOWN (status unreachable)";
    document.getElementById("safety").className = "unsafe";
  }
}
// One <img> per image, made once (the browser caches the PNG); a 403 (not yours) hides it.
function showPreviews(images) {
  const box = document.getElementById("previews");
  if (!box || box.dataset.show !== "yes") return;
  const kept = new Map([...box.children].map(f => [f.dataset.id, f]));
  box.replaceChildren(...images.map(i => {
    let fig = kept.get(String(i.id));
    if (!fig) {
      fig = document.createElement("figure");
      fig.dataset.id = i.id;
      const img = document.createElement("img");
      img.src = `images/${i.id}/preview.png`;
      img.alt = `${i.type} ${i.channel} ${i.filter || ""} ${i.object || ""}`;
      img.loading = "lazy";
      img.onerror = () => fig.classList.add("hidden");
      const cap = document.createElement("figcaption");
      cap.textContent = `${hhmm(i.date_obs, 8)} ${i.channel} ${i.filter || ""} ${i.object || i.type}`;
      fig.append(img, cap);
    }
    return fig;
  }));
}
showPreviews(JSON.parse(document.getElementById("status-images").textContent));
setInterval(refresh, 1000 * JSON.parse(document.getElementById("status-refresh").textContent));
