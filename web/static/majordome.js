// The majordome page: polls the command just sent until the orchestrator answers it, and
// refreshes the state, safety, instruments and last commands every 3 s (no framework, no CDN).
"use strict";
const section = document.getElementById("state");
function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
function fillTable(id, rows, columns) {
  const table = document.getElementById(id);
  while (table.rows.length > 1) table.deleteRow(1);
  for (const r of rows) { const tr = table.insertRow(); for (const c of columns) cell(tr, c(r)); }
}
async function pollCommand(id) {
  const out = document.getElementById("result");
  for (;;) {
    try {
      const c = await (await fetch(section.dataset.commandApi + id)).json();
      if (c.done) { out.textContent = `command ${c.id} (${c.kind}) ${c.status}: ${c.result}`; out.className = "result " + c.status; refresh(); return; }
      out.textContent = `command ${c.id} (${c.kind}) ${c.status}: waiting for the orchestrator…`;
    } catch (e) { out.textContent = `command ${id}: the server does not answer`; }
    await new Promise(r => setTimeout(r, 300));
  }
}
async function refresh() {
  try {
    const v = await (await fetch(section.dataset.api)).json();
    const m = v.majordome;
    document.getElementById("m-state").textContent = m ? m.state : "not started";
    document.getElementById("m-mode").textContent = m ? m.mode : "AUTO";
    document.getElementById("m-reason").textContent = m ? m.reason : "";
    const safe = v.safety && v.safety.is_safe;
    const s = document.getElementById("m-safety");
    s.className = safe ? "safe" : "unsafe";
    s.textContent = "Safety: " + (safe ? "SAFE" : "UNSAFE") + (v.safety && v.safety.reasons.length ? " — " + v.safety.reasons.join("; ") : "");
    fillTable("devices", v.devices, [d => d.role, d => d.device, d => d.state, d => d.connected ? "yes" : "no", d => d.last_error || ""]);
    fillTable("commands", v.commands, [c => c.id, c => c.created.slice(0, 19).replace("T", " "), c => c.issued_by, c => c.kind, c => JSON.stringify(c.arguments), c => c.status, c => c.result]);
  } catch (e) { document.getElementById("m-state").textContent = "UNKNOWN (server gone?)"; }
}
// alt/az slews send the two numbers under their own names
document.getElementById("slew-form").addEventListener("submit", ev => {
  const f = ev.target;
  if (f.frame.value === "altaz") { f.alt_deg.value = f.ra_deg.value; f.az_deg.value = f.dec_deg.value; }
});
if (section.dataset.command) pollCommand(section.dataset.command);
setInterval(refresh, 3000);
