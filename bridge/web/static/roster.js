// The roster: one row per participant, kept (not rebuilt) across snapshots so that
// hundreds of rows stay cheap, focus stays put and search and sort apply at once.

import { clock, el, who } from "./common.js";

// What a row says of someone on the stack, by lane.
const HAND = { process: "Point of process", direct: "Direct response", stack: "Hand up" };

const SORTS = {
  joined: (a, b) => a.joined_at - b.joined_at,
  name: (a, b) => who(a).localeCompare(who(b), undefined, { numeric: true }),
  talk: (a, b) => b.talk_time - a.talk_time || a.joined_at - b.joined_at,
  turns: (a, b) => b.turns - a.turns || a.joined_at - b.joined_at,
  talking: (a, b) => Number(b.talking) - Number(a.talking) || a.joined_at - b.joined_at,
  muted: (a, b) => Number(a.muted) - Number(b.muted) || a.joined_at - b.joined_at,
};
// Speaking first, then the stack in serving order, then the others as they joined.
const onStack = (marks) => (a, b) => (marks.get(a.channel)?.rank ?? Infinity)
  - (marks.get(b.channel)?.rank ?? Infinity) || a.joined_at - b.joined_at;

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export class Roster {
  /** ``button(name, args, options)`` makes an action button, or null when the action is
   * not in the table; ``stackState()`` tells who is queued or speaking. */
  constructor({ body, empty, search, sort, shown, button }) {
    this.body = body;
    this.empty = empty;
    this.search = search;
    this.sort = sort;
    this.shown = shown;
    this.button = button;
    this.rows = new Map(); // channel -> { tr, cells, person }
    this.order = [];
    this.snapshotAt = 0;
    this.marks = new Map(); // channel -> {text, kind, rank}: speaking, or their place on the stack
    search.addEventListener("input", () => this.arrange());
    sort.addEventListener("change", () => this.arrange());
    body.addEventListener("click", (event) => {
      const play = event.target instanceof Element ? event.target.closest("button[data-play]") : null;
      if (play) this.playName(play.dataset.play);
    });
    this.nameAudio = null;
  }

  /** A caller's recorded name, from the bridge (it checks this moderator may hear it). */
  playName(channel) {
    this.nameAudio?.pause();
    const url = `${location.pathname}/name?channel=${encodeURIComponent(channel)}`;
    this.nameAudio = new Audio(url);
    this.nameAudio.play().catch(() => {});
  }

  playButton(person, label) {
    const b = el("button", "", "Play name");
    b.type = "button";
    b.dataset.play = person.channel;
    b.title = "Hear the name and place they said at entry (only you hear it)";
    b.append(el("span", "visually-hidden", ` ${label}`));
    return b;
  }

  /** The whole roster (a snapshot): rows not in it go. */
  /** Everyone in the room as the last snapshot or delta had them, in the order they joined. */
  people() {
    return [...this.rows.values()].map((row) => row.person);
  }

  replace(participants, snapshotAt) {
    const present = new Set(participants.map((p) => p.channel));
    const gone = [...this.rows.keys()].filter((channel) => !present.has(channel));
    this.patch(participants, gone, snapshotAt);
  }

  /** Some rows added or changed, some gone (a delta). */
  patch(upsert, remove, snapshotAt) {
    this.snapshotAt = snapshotAt;
    for (const person of upsert) {
      let row = this.rows.get(person.channel);
      if (!row) {
        row = this.newRow(person);
        this.rows.set(person.channel, row);
      }
      this.fill(row, person);
    }
    for (const channel of remove) {
      this.rows.get(channel)?.tr.remove();
      this.rows.delete(channel);
    }
    this.arrange();
  }

  newRow(person) {
    const tr = el("tr");
    tr.dataset.channel = person.channel;
    const caller = el("th");
    caller.scope = "row";
    const cells = {
      tag: el("span", "caller-label"),
      label: el("span", "caller"),
      name: el("span", "caller-name"),
      channel: el("span", "channel"),
      role: el("td"),
      audio: el("td", "audio"),
      muted: el("span", "badge"),
      talking: el("span", "talking"),
      floor: el("span", "floor-mark"),
      inRoom: el("td", "num"),
      talk: el("td", "num"),
      turns: el("td", "num"),
      actions: el("td", "row-actions"),
      buttons: el("div", "row-buttons"),
    };
    cells.actions.append(cells.buttons);
    caller.append(cells.tag, cells.label, cells.name, cells.channel);
    // Role and audio read for themselves ("Moderator", "Muted"): no label on a phone's card.
    cells.inRoom.dataset.label = "In room";
    cells.talk.dataset.label = "Talk time";
    cells.turns.dataset.label = "Turns";
    cells.audio.append(cells.muted, cells.talking, cells.floor);
    tr.append(caller, cells.role, cells.audio, cells.inRoom, cells.talk, cells.turns, cells.actions);
    return { tr, cells, person, buttonsKey: "" };
  }

  fill(row, person) {
    const { cells } = row;
    row.person = person;
    const label = who(person);
    setText(cells.tag, person.name ?? "");
    setText(cells.label, label);
    setText(cells.name, person.caller_name && person.caller_name !== label ? person.caller_name : "");
    setText(cells.channel, person.channel !== label ? person.channel : "");
    const role = person.role === "moderator" ? "Moderator" : "Participant";
    setText(cells.role, person.dialed_out ? `${role}, dialed out` : role);
    setText(cells.muted, person.muted ? "Muted" : "Open");
    cells.muted.dataset.kind = person.muted ? "muted" : "open";
    setText(cells.talking, person.talking ? "Talking" : "");
    row.tr.classList.toggle("is-talking", person.talking);
    setText(cells.turns, String(person.turns));
    this.drawMark(row);
    this.tickRow(row, this.snapshotAt);
    const key = `${label}|${person.muted}|${person.name}|${person.keys_paused}|${person.name_recorded}`;
    if (row.buttonsKey !== key) {
      this.fillButtons(row, person, label);
      row.buttonsKey = key; // once drawn, as the stack's parts
    }
  }

  fillButtons(row, person, label) {
    const focused = row.cells.buttons.contains(document.activeElement)
      ? document.activeElement.dataset.action : null;
    const buttons = [
      person.muted
        ? this.button("unmute", [person.channel], { label: "Unmute", whom: label })
        : this.button("mute", [person.channel], { label: "Mute", whom: label }),
      this.button("call", [person.channel], { label: "Call on", whom: label }),
      this.button("add", [person.channel, "stack"], { label: "Add to stack", whom: label }),
      this.button("add", [person.channel, "direct"], { label: "Add to direct response", whom: label }),
      person.name_recorded ? this.playButton(person, label) : null,
      this.button("label", [person.channel, person.name ?? ""], { label: "Label", whom: label }),
      person.keys_paused
        ? this.button("keys", [person.channel, "on"], { label: "Resume keys", whom: label })
        : this.button("keys", [person.channel, "off"], { label: "Pause keys", whom: label }),
      this.button("bar", [person.channel], {
        label: "Kick and bar", whom: label, className: "danger",
        confirm: `Kick ${label} out and keep them out of this call? They cannot dial back in until it ends.`,
        confirmLabel: "Kick and bar",
      }),
      this.button("kick", [person.channel], {
        label: "Kick", whom: label, className: "danger",
        confirm: `Kick ${label} out of the call? Their phone is hung up.`, confirmLabel: "Kick",
      }),
    ].filter(Boolean);
    row.cells.buttons.replaceChildren(...buttons);
    if (focused) {
      const again = buttons.find((b) => b.dataset.action === focused)
        ?? buttons.find((b) => ["mute", "unmute"].includes(b.dataset.action));
      again?.focus();
    }
  }

  /** Who speaks and who has a hand up (and in which lane), from the stack: only the rows
   * whose mark changed are touched. */
  markStack(stack) {
    const marks = new Map();
    if (stack.speaker) marks.set(stack.speaker.channel, { text: "Speaking", kind: "speaking", rank: 0 });
    for (const entry of stack.queue) {
      const text = `${HAND[entry.lane] ?? entry.lane} · ${ordinal(entry.place)}`;
      marks.set(entry.channel, { text, kind: entry.lane, rank: entry.place });
    }
    const touched = new Set([...this.marks.keys(), ...marks.keys()]);
    const before = this.marks;
    this.marks = marks;
    let changed = false;
    for (const channel of touched) {
      if (before.get(channel)?.text === marks.get(channel)?.text) continue;
      changed = true;
      const row = this.rows.get(channel);
      if (row) this.drawMark(row);
    }
    if (changed && this.sort.value === "stack") this.arrange();
  }

  drawMark(row) {
    const mark = this.marks.get(row.person.channel);
    setText(row.cells.floor, mark?.text ?? "");
    if (row.cells.floor.dataset.kind !== (mark?.kind ?? "")) row.cells.floor.dataset.kind = mark?.kind ?? "";
    row.tr.classList.toggle("is-speaking", mark?.kind === "speaking");
    row.tr.classList.toggle("has-hand", Boolean(mark) && mark.kind !== "speaking");
  }

  /** Clocks move between snapshots: time in room, and talk time while talking. */
  tick(now) {
    for (const row of this.rows.values()) this.tickRow(row, now);
  }

  tickRow(row, now) {
    const { person, cells } = row;
    setText(cells.inRoom, clock(now - person.joined_at));
    // talk_time holds the finished spurts; the one under way runs from talking_since.
    const since = person.talking_since ?? now;
    setText(cells.talk, clock(person.talk_time + Math.max(0, now - since)));
  }

  /** Bring a caller's row into view and mark it, as a stack entry asks. */
  highlight(channel) {
    const row = this.rows.get(channel);
    if (!row) return;
    for (const marked of this.body.querySelectorAll("tr.highlighted")) marked.classList.remove("highlighted");
    if (row.tr.hidden) {
      this.search.value = "";
      this.arrange();
    }
    row.tr.classList.add("highlighted");
    row.tr.scrollIntoView({ block: "nearest" });
    row.cells.buttons.querySelector("button")?.focus({ preventScroll: true });
  }

  arrange() {
    const query = this.search.value.trim().toLowerCase();
    const compare = this.sort.value === "stack" ? onStack(this.marks) : SORTS[this.sort.value] ?? SORTS.joined;
    const people = [...this.rows.values()].map((r) => r.person).sort(compare);
    let shown = 0;
    for (const person of people) {
      const row = this.rows.get(person.channel);
      const text = `${person.name} ${person.caller_id} ${person.caller_name} ${person.channel}`.toLowerCase();
      const visible = !query || text.includes(query);
      if (row.tr.hidden === visible) row.tr.hidden = !visible;
      if (visible) shown += 1;
    }
    const order = people.map((p) => p.channel);
    if (order.join("\n") !== this.order.join("\n")) {
      this.order = order;
      const focused = document.activeElement;
      this.body.append(...order.map((channel) => this.rows.get(channel).tr));
      // Moving a row blurs what was focused in it: a keyboard user keeps their place.
      if (focused instanceof HTMLElement && focused !== document.activeElement) focused.focus();
    }
    const total = people.length;
    this.empty.hidden = total > 0;
    setText(this.shown, query ? `Showing ${shown} of ${total}` : `${total} in the room`);
  }
}

/** 1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd". */
function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
  return `${n}${suffix}`;
}
