// The speaker and the stack, drawn from the stack snapshot:
//   {room, policy, speaker: null | {channel, caller_id, lane, started_at, seconds_left},
//    queue: [{place, channel, caller_id, lane, reason, priority, raised_at}]}  (serving order)
// Every button is an action of the shared table; one that the table lacks is not shown.

import { clock, el, named, who } from "./common.js";

export const LANES = [
  ["process", "Point of process"],
  ["direct", "Direct response"],
  ["stack", "Stack"],
];
// How the speaker came to the floor, under their name.
const FLOOR_FROM = {
  process: "Point of process",
  direct: "Direct response",
  stack: "From the stack",
};
const WARN_SECONDS = 15;
// What the roster and the "Up next" line say of a lane.
export const LANE_NAMES = Object.fromEntries(LANES);

export class Stack {
  constructor({ speaker, upNext, summary, floor, lanes, announcer, button }) {
    this.speakerBox = speaker;
    this.upNext = upNext; // "Up next: ..." under the speaker
    this.summary = summary; // the one line a phone keeps in view while the roster scrolls
    this.waits = []; // [node, raised_at] of the entries drawn: their waits tick
    this.floorBox = floor;
    this.lanesBox = lanes;
    this.announcer = announcer;
    this.button = button;
    this.current = undefined; // the speaker's channel; undefined before the first snapshot
    this.speaker = null;
    this.snapshotAt = 0;
    this.keys = null; // what each part was last drawn from
    this.laneBoxes = null; // lane -> {section, heading, clear, list, count}: kept across drawings
  }

  /** Each part is redrawn only when what it shows changed: a hand raised touches the
   * lanes (one item added) and the "Up next" line at most, never the speaker's box or the
   * floor's buttons. */
  update(stack, snapshotAt, { live }) {
    this.snapshotAt = snapshotAt;
    this.speaker = stack.speaker;
    this.announce(stack.speaker);
    const head = stack.queue[0] ?? null;
    const keys = {
      // What the box draws, not the whole speaker: seconds_left and the like change with
      // every snapshot, and the clock line follows them on its own (tick).
      speaker: JSON.stringify(stack.speaker && [
        stack.speaker.channel, named(stack.speaker), stack.speaker.lane, stack.speaker.started_at,
      ]),
      upNext: JSON.stringify([head, stack.speaker]),
      floor: JSON.stringify([
        stack.policy, stack.speaker?.channel, stack.speaker && named(stack.speaker),
        stack.queue.length > 0, live, stack.speaking_time_limit, stack.auto_advance,
      ]),
      lanes: JSON.stringify(stack.queue),
    };
    const changed = Object.keys(keys).filter((part) => this.keys?.[part] !== keys[part]);
    if (changed.length) {
      keepFocus(() => {
        if (changed.includes("speaker")) this.drawSpeaker(stack.speaker);
        if (changed.includes("upNext")) this.drawUpNext(stack);
        if (changed.includes("floor")) this.drawFloor(stack, live);
        if (changed.includes("lanes")) this.drawLanes(stack.queue);
      });
    }
    this.keys = keys; // once drawn: a drawing that threw is tried again with the next version
    this.tick(snapshotAt);
  }

  announce(speaker) {
    const channel = speaker ? speaker.channel : null;
    if (this.current !== undefined && channel !== this.current) {
      this.announcer.textContent = speaker
        ? `Now speaking: ${named(speaker)}`
        : "Nobody has the floor now.";
    }
    this.current = channel;
  }

  drawSpeaker(speaker) {
    const box = this.speakerBox;
    if (!speaker) {
      box.replaceChildren(el("p", "floor-open", "Nobody has the floor."));
      box.dataset.state = "open";
      return;
    }
    box.dataset.state = "speaking";
    const lane = FLOOR_FROM[speaker.lane] ?? "Called on by a moderator";
    this.clockText = el("span", "turn-clock");
    this.limitText = el("span", "turn-limit");
    const clockLine = el("p", "speaker-clock");
    clockLine.append(this.clockText, this.limitText);
    box.replaceChildren(
      el("p", "speaker-label", "Speaking"),
      el("p", "speaker-name", named(speaker)),
      el("p", "speaker-lane", lane),
      clockLine,
    );
  }

  /** Who the next "Call on next" gives the floor to: the head of the serving order. */
  drawUpNext(stack) {
    const head = stack.queue[0];
    const text = head ? `Up next: ${named(head)} · ${LANE_NAMES[head.lane] ?? head.lane}` : "Up next: nobody is waiting";
    this.upNext.textContent = text;
    this.upNext.dataset.state = head ? "waiting" : "empty";
    const speaking = stack.speaker ? `Speaking: ${named(stack.speaker)}` : "Nobody has the floor";
    this.summary.textContent = `${speaking} · ${head ? `Up next: ${named(head)}` : "Nobody waiting"}`;
  }

  /** The turn clock and the time left, and how long each entry has waited. */
  tick(now) {
    for (const [node, since] of this.waits) {
      const text = `waiting ${clock(now - since)}`;
      if (node.textContent !== text) node.textContent = text;
    }
    const speaker = this.speaker;
    if (!speaker || !this.clockText) return;
    this.clockText.textContent = `for ${clock(now - speaker.started_at)}`;
    if (speaker.seconds_left === null || speaker.seconds_left === undefined) {
      this.limitText.textContent = "";
      this.speakerBox.dataset.warning = "no";
      return;
    }
    const left = speaker.seconds_left - Math.max(0, now - this.snapshotAt);
    const warn = left <= WARN_SECONDS;
    const turn = `${speaker.channel}@${speaker.started_at}`;
    if (warn && left > 0 && this.warned !== turn) {
      this.warned = turn; // once per turn, as the speaker hears it on the phone
      this.announcer.textContent = `${who(speaker)} has ${Math.ceil(left)} seconds left.`;
    }
    this.speakerBox.dataset.warning = left <= 0 ? "over" : warn ? "yes" : "no";
    this.limitText.textContent = left <= 0
      ? " · time is up"
      : ` · ${clock(left)} left${warn ? " (limit warning)" : ""}`;
  }

  drawFloor(stack, live) {
    const next = this.button("next", [], { label: "Call on next", className: "primary" });
    if (next) {
      next.setAttribute("aria-keyshortcuts", "n");
      next.title = "Shortcut: n";
      next.disabled = !live || stack.queue.length === 0;
    }
    const end = stack.speaker
      ? this.button("end-turn", [], { label: "End turn", whom: who(stack.speaker) })
      : null;
    const items = [next, end].filter(Boolean);
    const policies = [["fifo", "FIFO"], ["progressive", "Progressive"]]
      .map(([policy, label]) => {
        const b = this.button("policy", [policy], { label });
        b?.setAttribute("aria-pressed", String(stack.policy === policy));
        return b;
      })
      .filter(Boolean);
    const rules = this.rules(stack, live);
    if (rules) items.push(rules);
    if (policies.length) {
      const group = el("div", "policy");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", "Stack order");
      group.append(el("span", "policy-label", "Order:"), ...policies);
      items.push(group);
    } else {
      items.push(el("p", "policy-label", `Order: ${stack.policy === "progressive" ? "progressive" : "FIFO"}`));
    }
    this.floorBox.replaceChildren(...items);
  }

  /** The speaking time limit and auto-advance, for the rest of this call. */
  rules(stack, live) {
    const parts = [];
    if (this.button("limit", [0], { label: "Limit" })) {
      const select = el("select", "limit-select");
      select.dataset.action = "limit";
      select.setAttribute("aria-label", "Speaking time limit");
      select.title = "Speaking time limit, from this turn on";
      const current = Math.round(stack.speaking_time_limit ?? 0);
      const choices = [...new Set([0, 60, 90, 120, 180, 300, current])].sort((a, b) => a - b);
      for (const seconds of choices) {
        const option = el("option", "", seconds ? `${clock(seconds)} limit` : "No limit");
        option.value = String(seconds);
        option.selected = seconds === current;
        select.append(option);
      }
      select.disabled = !live;
      parts.push(select);
    }
    const auto = this.button("auto-advance", [stack.auto_advance ? "off" : "on"], {
      label: "Auto-advance",
    });
    if (auto) {
      auto.setAttribute("aria-pressed", String(Boolean(stack.auto_advance)));
      auto.title = "Call on the next speaker by themselves when a turn ends";
      auto.disabled = !live;
      parts.push(auto);
    }
    if (!parts.length) return null;
    const group = el("div", "rules");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Turns");
    group.append(...parts);
    return group;
  }

  /** The three lanes, kept across drawings: each lane's heading, its Clear button and its
   * list are touched only when they change, and the list's items are moved, added or
   * removed in place (a hand raised at the back of a stack of 40 adds one item). */
  drawLanes(queue) {
    this.waits = [];
    const drawn = new Map(); // channel -> {key, item}: this drawing's items, for the next
    if (!this.laneBoxes) {
      this.laneBoxes = new Map(LANES.map(([lane, title]) => [lane, this.laneBox(lane, title)]));
      this.lanesBox.replaceChildren(...[...this.laneBoxes.values()].map((box) => box.section));
    }
    for (const [lane, title] of LANES) {
      const box = this.laneBoxes.get(lane);
      const entries = queue.filter((entry) => entry.lane === lane);
      if (box.count !== entries.length) {
        box.count = entries.length;
        box.heading.textContent = `${title} (${entries.length})`;
        const clear = entries.length
          ? this.button("clear", [lane], {
            label: "Clear", whom: `the ${title.toLowerCase()} lane`,
            confirm: `Clear the ${title.toLowerCase()} lane? ${entries.length} will lose their place.`,
            confirmLabel: "Clear",
          })
          : null;
        if (clear) box.head.replaceChildren(box.heading, clear);
        else box.head.replaceChildren(box.heading);
      }
      const items = entries.map((entry, i) => this.reused(entry, i, entries.length, drawn));
      // "(0)" says an empty lane: no list, so an empty stack stays short.
      if (!items.length) box.list.remove();
      else if (!box.list.isConnected) box.section.append(box.list);
      placeInOrder(box.list, items);
    }
    this.drawn = drawn;
  }

  laneBox(lane, title) {
    const section = el("section", "lane");
    section.dataset.lane = lane;
    const head = el("div", "lane-head");
    const heading = el("h3", "", `${title} (0)`);
    head.append(heading);
    section.append(head);
    return { section, head, heading, list: el("ol", "entries"), count: 0 };
  }

  /** An entry's item: the one drawn last time when nothing it shows changed (a hand
   * raised at the back of a stack of 40 builds one item, not 40). */
  reused(entry, index, count, drawn) {
    const key = JSON.stringify([entry, index === 0, index === count - 1]);
    const before = this.drawn?.get(entry.channel);
    const item = before?.key === key ? before.item : this.entry(entry, index, count);
    const waited = item.querySelector(".waited");
    this.waits.push([waited, entry.raised_at]);
    drawn.set(entry.channel, { key, item });
    return item;
  }

  entry(entry, index, count) {
    const label = who(entry);
    const item = el("li", "entry");
    item.dataset.channel = entry.channel;
    const text = el("div", "entry-text");
    // The name shows the caller's row in the roster (however long the roster is).
    const name = el("button", "entry-name link-button", named(entry));
    name.type = "button";
    name.dataset.show = entry.channel;
    name.title = "Show in the roster";
    text.append(el("span", "place", `${entry.place}.`), name);
    if (entry.priority) text.append(el("span", "badge priority", "Priority"));
    if (!(entry.priority && entry.reason === "priority")) {
      text.append(el("span", "reason", entry.reason)); // the badge says it already
    }
    text.append(el("span", "waited"));
    const up = this.button("move", [entry.channel, entry.place - 1], {
      label: "Move up", whom: label, icon: "↑",
    });
    const down = this.button("move", [entry.channel, entry.place + 1], {
      label: "Move down", whom: label, icon: "↓",
    });
    if (up) up.disabled = index === 0;
    if (down) down.disabled = index === count - 1;
    const priority = this.button("priority", [entry.channel, entry.priority ? "off" : "on"], {
      label: "Priority", whom: label,
    });
    priority?.setAttribute("aria-pressed", String(Boolean(entry.priority)));
    const buttons = el("div", "entry-actions");
    buttons.append(...[
      this.button("call", [entry.channel], { label: "Call on", whom: label }),
      up, down, priority,
      this.button("remove", [entry.channel], { label: "Remove", whom: label }),
    ].filter(Boolean));
    item.append(text, buttons);
    return item;
  }
}

/** Make ``list``'s children exactly ``items``, in order, moving only what is out of place. */
function placeInOrder(list, items) {
  items.forEach((item, i) => {
    if (list.children[i] !== item) list.insertBefore(item, list.children[i] ?? null);
  });
  while (list.children.length > items.length) list.lastElementChild.remove();
}

/** Redraw without losing the keyboard's place: refocus the same action afterwards. */
function keepFocus(draw) {
  const active = document.activeElement;
  const key = active?.dataset?.action ? `${active.dataset.action}|${active.dataset.args}` : null;
  draw();
  if (key && !active.isConnected) {
    const [action, args] = key.split("|");
    const again = [...document.querySelectorAll("[data-action]")]
      .find((b) => b.dataset.action === action && b.dataset.args === args);
    again?.focus();
  }
}
