// A room's page: a websocket brings a whole snapshot of the room after every burst of
// changes; the page draws it. Buttons post actions of the shared table (see common.js);
// their effect shows when Asterisk reports it, through the next snapshot.

import { act, confirmFirst, el, loginAgain, showMessage, timeAt } from "./common.js";
import { Breakout } from "./breakout.js";
import { Roster } from "./roster.js";
import { CallOut } from "./callout.js";
import { Poll } from "./poll.js";
import { Practice } from "./practice.js";
import { Stack } from "./stack.js";

const main = document.getElementById("main");
const config = JSON.parse(main.dataset.config);
const room = config.room;
const actions = config.actions;
const $ = (id) => document.getElementById(id);

let offset = 0; // the bridge's clock minus ours, in seconds
const bridgeNow = () => Date.now() / 1000 + offset;

/**
 * A button for an action of the table, or null when the table has no such action.
 * Its accessible name says what and whom: visible "Mute" plus hidden " 5550123". With an
 * ``icon`` (a narrow column), the icon shows and the label is read and shown on hover.
 */
function button(name, args, { label, whom = "", icon = "", className = "", confirm = "", confirmLabel = "" }) {
  if (!Object.hasOwn(actions, name)) return null;
  const b = el("button", className);
  b.type = "button";
  b.dataset.action = name;
  b.dataset.args = JSON.stringify(args);
  if (icon) {
    const shown = el("span", "icon", icon);
    shown.setAttribute("aria-hidden", "true");
    b.append(shown, el("span", "visually-hidden", label));
    b.classList.add("icon-button");
    b.title = label;
  } else {
    b.append(label);
    b.title = actions[name].summary;
  }
  if (whom) {
    b.append(el("span", "visually-hidden", ` ${whom}`));
    b.dataset.whom = whom;
  }
  if (confirm) {
    b.dataset.confirm = confirm;
    b.dataset.confirmLabel = confirmLabel || label;
  }
  return b;
}

const roster = new Roster({
  body: $("roster-rows"), empty: $("roster-empty"), search: $("roster-search"),
  sort: $("roster-sort"), shown: $("roster-shown"), button,
});
const stack = new Stack({
  speaker: $("speaker"), upNext: $("up-next"), summary: $("floor-summary"), floor: $("floor-buttons"), lanes: $("lanes"),
  announcer: $("speaker-announcer"), button,
});

const poll = new Poll({
  tally: $("poll-tally"), question: $("poll-question"), bars: $("poll-bars"),
  voters: $("poll-voters"), blocks: $("poll-blocks"), form: $("poll-form"),
  buttons: $("poll-buttons"), cues: $("cue-select"), cueButtons: $("cue-buttons"), button,
});

const practice = new Practice({
  box: $("practice"), state: $("practice-state"), form: $("practice-form"),
  scenario: $("practice-scenario"), callers: $("practice-callers"), speed: $("practice-speed"),
  buttons: $("practice-buttons"), scenarios: config.practice_scenarios, button,
});

const callOut = new CallOut({
  section: $("callout"), form: $("callout-form"), buttons: $("callout-buttons"),
  table: $("callout-table"), rows: $("callout-rows"), button,
});

const breakout = new Breakout({
  form: $("breakout-form"), running: $("breakout-running"), clockLine: $("breakout-clock"),
  groups: $("breakout-groups"), phone: $("breakout-phone"), whoSelect: $("breakout-who"),
  to: $("breakout-to"), more: $("breakout-more"), buttons: $("breakout-buttons"), button,
});

/** What a button sends: its own arguments, or what the moderator typed or chose. */
/** Ask for a caller's label (their name and place); resolves to the text, or null. */
function askLabel(whom, current) {
  const box = $("label-dialog");
  const input = $("label-input");
  const opener = document.activeElement;
  $("label-for").textContent = `Label for ${whom}`;
  input.value = current;
  box.returnValue = "";
  box.showModal();
  input.select();
  return new Promise((resolve) => {
    box.addEventListener("close", () => {
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(box.returnValue === "save" ? input.value : null);
    }, { once: true });
  });
}

function argumentsOf(target) {
  if (target.dataset.action === "poll-open") return poll.fields();
  if (target.dataset.action === "play") return [$("cue-select").value];
  if (target.dataset.action === "practice") return practice.fields();
  if (target.dataset.action === "dialout-start") return callOut.fields();
  if (target.dataset.action === "breakout-start") return breakout.startFields();
  if (target.dataset.action === "breakout-move") return breakout.moveFields(target);
  if (target.dataset.action === "breakout-extend") return breakout.extendFields();
  return JSON.parse(target.dataset.args);
}

// ---- the room's own state and buttons --------------------------------------------------

let roomKey = "";

// Several nodes: a node whose link is lost is named, until it is back.
function drawNodesDown(names) {
  const banner = $("nodes-down");
  const text = names.length === 0 ? ""
    : `${names.length === 1 ? "Node" : "Nodes"} ${names.join(", ")} ${names.length === 1 ? "is" : "are"} down: `
      + "the calls on it were lost; new callers go to the other nodes.";
  banner.hidden = names.length === 0;
  if (banner.textContent !== text) banner.textContent = text;
}

function drawLinks(links) {
  // A big room spread over several nodes: a link down means the callers on that node hear
  // only each other until it is dialled again (within 2 s).
  const down = links.filter((link) => link.state !== "up").map((link) => link.node);
  const banner = $("links-down");
  const text = down.length === 0 ? ""
    : `The link to ${down.length === 1 ? "node" : "nodes"} ${down.join(", ")} is down: `
      + "the callers there hear only each other until it is back (it is being dialled again).";
  banner.hidden = down.length === 0;
  if (banner.textContent !== text) banner.textContent = text;
}

function drawRoom(state) {
  const count = state.count === 0 ? "Nobody in the room"
    : `${state.count} ${state.count === 1 ? "person" : "people"} in the room`;
  $("room-count").textContent = count;
  $("room-locked").hidden = !state.locked;
  $("room-recording").hidden = !state.recording;
  const share = state.first_time_share;
  const firstTime = share === null || share === undefined
    ? "First-time speakers: no turn yet"
    : `First-time speakers so far: ${Math.round(share * 100)}% of the talk`;
  if ($("first-time").textContent !== firstTime) $("first-time").textContent = firstTime;
  const pbx = $("pbx-state");
  if (pbx) { pbx.dataset.state = state.pbx; pbx.textContent = `PBX ${state.pbx}`; }
  drawNodesDown(state.nodes_down || []);
  drawLinks(state.links || []);
  const unmuteAll = `Unmute all ${state.count} people in ${config.title}? Every microphone opens at once.`;
  const key = JSON.stringify([state.live, state.locked, state.recording]);
  if (key === roomKey) {
    const shown = document.querySelector('#room-buttons button[data-action="unmute-all"]');
    if (shown) shown.dataset.confirm = unmuteAll;
    return;
  }
  roomKey = key;
  const buttons = [
    button("mute-all", [], { label: "Mute all" }),
    button("unmute-all", [], {
      label: "Unmute all",
      confirm: unmuteAll,
      confirmLabel: "Unmute all",
    }),
    state.locked ? button("unlock", [], { label: "Unlock the room" })
      : button("lock", [], { label: "Lock the room" }),
    state.recording ? button("stop-record", [], { label: "Stop recording" })
      : button("record", [], { label: "Start recording" }),
    button("end", [], {
      label: "End the call", className: "danger",
      confirm: `End the call for everyone in ${config.title}? Every phone is hung up.`,
      confirmLabel: "End the call",
    }),
  ].filter(Boolean);
  for (const b of buttons) b.disabled = !state.live;
  $("room-buttons").replaceChildren(...buttons);
}

function drawAudit(entries) {
  const items = entries.map((entry) => {
    const item = el("li", entry.result === "ok" ? "" : "failed");
    const when = el("time", "", timeAt(entry.at));
    when.dateTime = new Date(entry.at * 1000).toISOString();
    item.append(`${entry.text} at `, when);
    return item;
  });
  $("audit").replaceChildren(...items);
  $("audit-empty").hidden = entries.length > 0;
}

// ---- snapshots and deltas in ------------------------------------------------------------

let version = 0; // the version of the room this page holds; 0: none yet
let held = null; // the room, stack and audit as last drawn

// User timing for `make bench` (bench/room_page.py): "iobridge:draw" is each message's
// drawing (the script's share), "iobridge:laid-out" that and the style and layout it
// causes, "iobridge:shown" up to the next frame after it (painted), only the last of each
// kept (a call lasts hours); "iobridge:first-view" marks the first room drawn.
function draw(message) {
  const began = performance.now();
  drawMessage(message);
  performance.clearMeasures("iobridge:draw");
  performance.measure("iobridge:draw", { start: began, detail: message.version });
  void main.offsetHeight; // the layout the frame would do anyway, done now to be measured
  performance.clearMeasures("iobridge:laid-out");
  performance.measure("iobridge:laid-out", { start: began, detail: message.version });
  if (performance.getEntriesByName("iobridge:first-view").length === 0) {
    performance.mark("iobridge:first-view");
  }
  requestAnimationFrame(() => setTimeout(() => {
    performance.clearMeasures("iobridge:shown");
    performance.measure("iobridge:shown", { start: began, detail: message.version });
  }, 0));
}

function drawMessage(message) {
  offset = message.now - Date.now() / 1000;
  if (message.type === "snapshot") {
    held = {
      room: message.room, stack: message.stack, poll: message.poll,
      calls_out: message.calls_out, breakout: message.breakout, audit: message.audit,
    };
    roster.replace(message.participants, message.now);
  } else {
    held = { ...held, ...pick(message, ["room", "stack", "poll", "calls_out", "breakout", "audit"]) };
    roster.patch(message.upsert ?? [], message.remove ?? [], message.now);
  }
  version = message.version;
  drawRoom(held.room);
  stack.update(held.stack, message.now, { live: held.room.live });
  roster.markStack(held.stack);
  poll.update(held.poll, { live: held.room.live });
  poll.drawCues(config.cues, held.room.live);
  practice.update(held.room.practice ?? null);
  callOut.update(held.calls_out ?? []);
  breakout.update(held.breakout, roster.people(), { live: held.room.live });
  breakout.tick(message.now);
  if (message.type === "snapshot" || message.audit) drawAudit(held.audit);
  main.dataset.version = String(version);
}

function pick(object, keys) {
  return Object.fromEntries(keys.filter((k) => k in object).map((k) => [k, object[k]]));
}

setInterval(() => {
  const now = bridgeNow();
  roster.tick(now);
  stack.tick(now);
  breakout.tick(now);
}, 1000);

// ---- the websocket, reconnecting ---------------------------------------------------------

const connection = $("connection");
let attempt = 0;

function setConnection(state, text) {
  connection.dataset.state = state;
  if (connection.textContent !== text) connection.textContent = text;
}

async function stillLoggedIn() {
  try {
    return (await fetch("/rooms.json", { credentials: "same-origin" })).status !== 401;
  } catch {
    return true; // the bridge is away, not the session: keep trying
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/rooms/${encodeURIComponent(room)}/live`);
  socket.addEventListener("open", () => {
    attempt = 0;
    setConnection("live", "Live");
    main.dataset.connections = String(Number(main.dataset.connections || 0) + 1);
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "delta" && message.version !== version + 1) {
      socket.close(4001, "missed a version"); // start again from the whole room
      return;
    }
    draw(message);
  });
  socket.addEventListener("close", async (event) => {
    attempt += 1;
    setConnection("lost", attempt > 1 ? `Reconnecting… (try ${attempt})` : "Reconnecting…");
    if (event.code === 4003 || !(await stillLoggedIn())) return loginAgain();
    version = 0;
    const delay = [4000, 4001].includes(event.code) ? 0 : Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
    setTimeout(connect, delay);
  });
}

connect();

// ---- buttons and keys ---------------------------------------------------------------------

main.addEventListener("click", (event) => {
  const shown = event.target instanceof Element ? event.target.closest("[data-show]") : null;
  if (shown) roster.highlight(shown.dataset.show);
});

main.addEventListener("click", async (event) => {
  const target = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
  if (!target || target.disabled) return;
  const name = target.dataset.action;
  if (target.dataset.confirm && !(await confirmFirst(target.dataset.confirm, target.dataset.confirmLabel))) {
    return;
  }
  if (name === "label") {
    const [channel, current] = JSON.parse(target.dataset.args);
    const text = await askLabel(target.dataset.whom, current);
    if (text === null) return;
    target.dataset.args = JSON.stringify([channel, text]);
  }
  target.setAttribute("aria-busy", "true");
  const done = await act(room, name, actions[name].arguments, argumentsOf(target));
  target.removeAttribute("aria-busy");
  if (done) $("message").hidden = true;
  if (done && name === "dialout-start") callOut.clear();
});

// A choice that is an action (the speaking time limit): sent when it changes.
main.addEventListener("change", async (event) => {
  const target = event.target instanceof HTMLSelectElement && event.target.dataset.action
    ? event.target : null;
  if (!target) return;
  const name = target.dataset.action;
  target.setAttribute("aria-busy", "true");
  const done = await act(room, name, actions[name].arguments, [Number(target.value)]);
  target.removeAttribute("aria-busy");
  if (done) $("message").hidden = true;
});

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (typing(event.target) || $("confirm")?.open || $("label-dialog")?.open) return;
  if (event.key === "n") {
    const next = document.querySelector('#floor-buttons button[data-action="next"]');
    if (next && !next.disabled) {
      event.preventDefault();
      next.click();
    } else if (next) {
      showMessage("Nobody is waiting to speak.", "info");
    }
  } else if (event.key === "/") {
    event.preventDefault();
    $("roster-search").focus();
  }
});
