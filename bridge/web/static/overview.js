// The rooms overview refreshes its rows every few seconds.

import { loginAgain } from "./common.js";

const REFRESH_MS = 3000;
const rows = document.getElementById("overview-rows");

function setText(row, field, text) {
  const cell = row.querySelector(`[data-field="${field}"]`);
  if (cell && cell.textContent !== text) cell.textContent = text;
}

function setState(row, room) {
  const cell = row.querySelector('[data-field="state"]');
  if (!cell) return;
  const flags = [];
  if (room.locked) flags.push(["locked", "Locked"]);
  if (room.recording) flags.push(["recording", "Recording"]);
  const key = flags.map(([k]) => k).join(" ") || "-";
  if (cell.dataset.key === key) return;
  cell.dataset.key = key;
  cell.replaceChildren();
  for (const [kind, label] of flags) {
    const badge = document.createElement("span");
    badge.className = `badge ${kind}`;
    badge.textContent = label;
    cell.append(badge, " ");
  }
  if (!flags.length) cell.textContent = "—";
}

async function refresh() {
  try {
    const response = await fetch("/rooms.json", { credentials: "same-origin" });
    if (response.status === 401) return loginAgain();
    if (!response.ok) return;
    const state = await response.json();
    const pbx = document.getElementById("pbx-state");
    if (pbx) { pbx.dataset.state = state.pbx; pbx.textContent = `PBX ${state.pbx}`; }
    for (const room of state.rooms) {
      const row = rows?.querySelector(`tr[data-room="${CSS.escape(room.name)}"]`);
      if (!row) continue;
      setText(row, "count", room.live ? String(room.count) : "nobody");
      setText(row, "speaker", room.speaker ?? "—");
      setText(row, "hands", String(room.hands));
      setText(row, "schedule", room.schedule);
      setState(row, room);
    }
  } catch { /* offline for a moment: the next refresh tries again */ }
}

if (rows) setInterval(refresh, REFRESH_MS);
