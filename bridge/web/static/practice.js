// A practice room's simulated callers, drawn from the room's "practice" part:
//   null | {scenario, running, callers, speed, on_the_line, placed, failed, parts, ...}
// Buttons are the shared table's "practice" and "practice-stop" (hosts only: absent
// for an assistant, whose table lacks them).

export class Practice {
  constructor({ box, state, form, scenario, callers, speed, buttons, scenarios, button }) {
    Object.assign(this, { box, state, form, scenario, callers, speed, buttons, button });
    this.key = "";
    if (!box) return;
    for (const name of scenarios) {
      const option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      this.scenario.append(option);
    }
  }

  /** What the start button sends: scenario, scenario_text, callers, speed. */
  fields() {
    const callers = this.callers.value ? Number(this.callers.value) : null;
    return [this.scenario.value, null, callers, Number(this.speed.value)];
  }

  update(practice) {
    if (!this.box) return;
    const key = JSON.stringify(practice);
    if (key === this.key) return;
    this.key = key;
    const running = Boolean(practice && practice.running);
    this.form.hidden = running;
    this.state.textContent = !practice ? "No practice yet."
      : running
        ? `Practice running: ${practice.scenario}, ${practice.on_the_line} of ${practice.callers} simulated callers on the line (speed ${practice.speed}×).`
        : `Practice stopped: ${practice.scenario}, ${practice.placed} calls placed${practice.failed ? `, ${practice.failed} failed` : ""}.`;
    const buttons = running
      ? [this.button("practice-stop", [], { label: "Stop the practice" })]
      : [this.button("practice", [], { label: "Practise with simulated callers" })];
    this.buttons.replaceChildren(...buttons.filter(Boolean));
  }
}
