// The room's breakout groups, drawn from the breakout snapshot:
//   null | {room, started_at, ends_at, groups: [{name, members: [{channel, caller_id, name}],
//           wants_moderator}], broadcast}   (as `iobridge breakout ROOM show --json`)
// and the roster's rows (who talks, who is a moderator). Buttons are actions of the shared
// table (breakout-start, -extend, -move, -broadcast, -end); one the table lacks is not shown.

import { clock, el, who } from "./common.js";

export class Breakout {
  constructor({ form, running, clockLine, groups, phone, whoSelect, to, more, buttons, button }) {
    Object.assign(this, { form, running, clockLine, groups, phone, whoSelect, to, more, buttons, button });
    this.key = "";
    this.endsAt = 0;
  }

  /** What the start button sends: the count, the minutes, the order (no list file here). */
  startFields() {
    const by = this.form.querySelector("#breakout-by").value;
    return [Number(this.form.querySelector("#breakout-count").value), null,
      Number(this.form.querySelector("#breakout-minutes").value), by, null];
  }

  moveFields(target) {
    if (target.dataset.join) return [this.phone.value, target.dataset.join];
    return [this.whoSelect.value, this.to.value];
  }

  extendFields() {
    return [Number(this.more.value)];
  }

  update(breakout, people, { live }) {
    const key = JSON.stringify([breakout, live, people.map((p) => [p.channel, p.talking, p.name, p.role])]);
    if (key === this.key) return;
    this.key = key;
    const running = Boolean(breakout);
    this.form.hidden = running;
    this.running.hidden = !running;
    const buttons = running ? [
      this.button("breakout-extend", [], { label: "Extend" }),
      this.button("breakout-move", [], { label: "Move" }),
      breakout.broadcast ? this.button("breakout-broadcast", ["off"], { label: "Stop broadcasting" })
        : this.button("breakout-broadcast", ["on"], { label: "Broadcast to every group" }),
      this.button("breakout-end", [], {
        label: "End the breakout", className: "danger",
        confirm: "Bring everyone back to the main room now?", confirmLabel: "End the breakout",
      }),
    ] : [this.button("breakout-start", [], { label: "Start breakout groups" })];
    for (const b of buttons.filter(Boolean)) b.disabled = !live;
    this.buttons.replaceChildren(...buttons.filter(Boolean));
    if (!running) return;
    this.endsAt = breakout.ends_at;
    const moderators = people.filter((p) => p.role === "moderator");
    keepOptions(this.phone, moderators.map((p) => [p.channel, p.name || who(p)]));
    keepOptions(this.whoSelect, people.map((p) => [p.channel, p.name || who(p)]));
    keepOptions(this.to, [...breakout.groups.map((g) => [g.name, g.name]), ["main", "main room"]]);
    const byChannel = new Map(people.map((p) => [p.channel, p]));
    this.groups.replaceChildren(...breakout.groups.map((group) => this.drawGroup(group, byChannel, live)));
  }

  drawGroup(group, byChannel, live) {
    const item = el("li", "breakout-group");
    item.dataset.group = group.name;
    item.dataset.wantsModerator = String(group.wants_moderator);
    const heading = el("h3", "", `${group.name} (${group.members.length})`);
    if (group.wants_moderator) heading.append(el("span", "badge", "Wants a moderator"));
    const members = el("ul", "breakout-members");
    members.setAttribute("aria-label", `Members of ${group.name}`);
    members.replaceChildren(...group.members.map((member) => {
      const person = byChannel.get(member.channel);
      const line = el("li", "", member.name || who(member));
      line.dataset.talking = String(Boolean(person && person.talking));
      if (person && person.talking) line.append(el("span", "visually-hidden", " (talking)"));
      return line;
    }));
    item.append(heading, members);
    const join = this.button("breakout-move", [], { label: "Join with my phone", whom: group.name });
    if (join) {
      join.dataset.join = group.name;
      join.disabled = !live || this.phone.options.length === 0; // no moderator on a phone
      item.append(join);
    }
    return item;
  }

  tick(now) {
    if (this.running.hidden) return;
    const left = Math.max(0, this.endsAt - now);
    this.clockLine.textContent = `${clock(left)} left`;
  }
}

/** Replace a select's options, keeping what was chosen when it is still there. */
function keepOptions(select, pairs) {
  const chosen = select.value;
  select.replaceChildren(...pairs.map(([value, text]) => {
    const option = el("option", "", text);
    option.value = value;
    return option;
  }));
  if (pairs.some(([value]) => value === chosen)) select.value = chosen;
}
