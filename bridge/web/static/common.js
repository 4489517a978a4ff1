// What every panel page shares: acting on a room, messages, the confirmation dialog,
// and small formatting helpers.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

/** A new element with a class and text (never HTML: names come from callers). */
export function el(tag, className = "", text = "") {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text) node.textContent = text;
  return node;
}

/** How a caller is named on the page: their caller ID, or their channel without one. */
export function who(person) {
  return person.caller_id || person.channel;
}

/** Who, as a facilitator says it: the label moderators gave, then the number. */
export function named(person) {
  return person.name ? `${person.name} (${who(person)})` : who(person);
}

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

const timeOfDay = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

export function timeAt(epochSeconds) {
  return timeOfDay.format(new Date(epochSeconds * 1000));
}

export function loginAgain() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login?next=${next}`);
}

const message = document.getElementById("message");
let messageTimer = 0;

/** A short message in the page's alert region; errors stay until the next message. */
export function showMessage(text, kind = "error") {
  if (!message) return;
  clearTimeout(messageTimer);
  message.textContent = text;
  message.dataset.kind = kind;
  message.hidden = false;
  if (kind !== "error") messageTimer = setTimeout(() => { message.hidden = true; }, 4000);
}

/**
 * Run a room action of the shared table: POST its arguments (named as the table names
 * them) with the session's CSRF token. Resolves to true when the bridge accepted it; what
 * it changed arrives later over the websocket, as Asterisk reports it.
 */
export async function act(room, name, argumentNames, values) {
  const body = {};
  argumentNames.forEach((argument, i) => {
    if (values[i] !== undefined && values[i] !== null) body[argument] = values[i];
  });
  let response;
  try {
    response = await fetch(`/rooms/${encodeURIComponent(room)}/actions/${encodeURIComponent(name)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    showMessage("The bridge did not answer. Check the connection and try again.");
    return false;
  }
  if (response.status === 401) {
    loginAgain();
    return false;
  }
  if (!response.ok) {
    let text = `${name} failed (HTTP ${response.status})`;
    try {
      const answer = await response.json();
      text = answer.error?.message ?? answer.error ?? text;
    } catch { /* not JSON: keep the status line */ }
    showMessage(text);
    return false;
  }
  return true;
}

const dialog = document.getElementById("confirm");

/** Ask before something that cannot be undone; resolves to true when confirmed. */
export function confirmFirst(text, okLabel) {
  if (!dialog || typeof dialog.showModal !== "function") {
    return Promise.resolve(window.confirm(text));
  }
  const opener = document.activeElement;
  dialog.querySelector("#confirm-text").textContent = text;
  dialog.querySelector("#confirm-ok").textContent = okLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
  });
}
