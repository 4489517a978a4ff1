// Calling people in: the "Call out" form and each number's state, from the room's calls:
//   [{number, name, state, attempts, updated_at}]   (as `iobridge dialout ROOM show --json`)
// The buttons are actions of the shared table (dialout-start, dialout-cancel): a moderator
// who may not call out (an assistant) has neither, and the section stays hidden.

import { el } from "./common.js";

const STATES = {
  queued: "Queued", ringing: "Ringing", answered: "Answered, deciding", joined: "Joined",
  declined: "Declined", busy: "Busy", "no-answer": "No answer", failed: "Failed",
  cancelled: "Cancelled",
};
const PENDING = new Set(["queued", "ringing", "answered"]);

export class CallOut {
  constructor({ section, form, buttons, table, rows, button }) {
    Object.assign(this, { section, form, buttons, table, rows, button });
    this.key = null;
  }

  /** What the moderator typed, as the action takes it: numbers, trunk, confirm, retries. */
  fields() {
    return [
      this.form.querySelector("#callout-numbers").value,
      null,
      this.form.querySelector("#callout-confirm").checked,
      1,
    ];
  }

  clear() {
    this.form.querySelector("#callout-numbers").value = "";
  }

  update(calls) {
    const start = this.button("dialout-start", [], { label: "Call these numbers" });
    this.section.hidden = !start;
    if (!start) return;
    const key = JSON.stringify(calls);
    if (key === this.key) return;
    if (this.key === null) this.buttons.replaceChildren(start);
    this.key = key;
    this.table.hidden = calls.length === 0;
    this.rows.replaceChildren(...calls.map((call) => this.row(call)));
  }

  row(call) {
    const tr = el("tr");
    tr.dataset.number = call.number;
    const whom = call.name ? `${call.name} (${call.number})` : call.number;
    const state = el("span", "badge", STATES[call.state] ?? call.state);
    state.dataset.state = call.state;
    const cancel = PENDING.has(call.state)
      ? this.button("dialout-cancel", [call.number], { label: "Stop calling", whom })
      : null;
    const cells = [el("td", "", whom), el("td"), el("td", "", String(call.attempts)), el("td")];
    cells[1].append(state);
    if (cancel) cells[3].append(cancel);
    tr.append(...cells);
    return tr;
  }
}
