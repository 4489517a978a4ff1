// The room's temperature check and its cues, drawn from the poll snapshot:
//   null | {room, question, open, options: [{key, label, count}], voters, present,
//           blocks: [{channel, caller_id, name}]}   (as `iobridge poll ROOM show --json`)
// The tally is bars, one per option, and "voters out of present". Buttons are actions of
// the shared table (poll-open, poll-close, play); one the table lacks is not shown.

import { el, who } from "./common.js";

export class Poll {
  constructor({ tally, question, bars, voters, blocks, form, buttons, cues, cueButtons, button }) {
    Object.assign(this, { tally, question, bars, voters, blocks, form, buttons, cues, cueButtons, button });
    this.key = "";
  }

  /** The options typed by the moderator, as the action takes them. */
  fields() {
    const options = this.form.querySelector("#poll-options-input").value;
    return [
      this.form.querySelector("#poll-question-input").value.trim(),
      options.split(",").map((o) => o.trim()).filter((o) => o),
      this.form.querySelector("#poll-block-input").checked,
    ];
  }

  drawCues(names, live) {
    if (!this.cues.options.length) {
      this.cues.replaceChildren(...names.map((name) => {
        const option = el("option", "", name);
        option.value = name;
        return option;
      }));
    }
    const play = this.button("play", [], { label: "Play the cue" });
    if (play) play.disabled = !live;
    this.cueButtons.replaceChildren(...[play].filter(Boolean));
  }

  update(poll, { live }) {
    const key = JSON.stringify([poll, live]);
    if (key === this.key) return;
    this.key = key;
    const open = Boolean(poll && poll.open);
    const buttons = open
      ? [this.button("poll-close", [], { label: "Close the poll" })]
      : [this.button("poll-open", [], { label: "Open the poll" })];
    for (const b of buttons.filter(Boolean)) b.disabled = !live;
    this.buttons.replaceChildren(...buttons.filter(Boolean));
    this.form.hidden = open;
    this.tally.hidden = !poll;
    if (!poll) return;
    const state = poll.open ? "Open" : "Closed";
    this.question.textContent = `${state}: ${poll.question || "(no question)"}`;
    const most = Math.max(1, ...poll.options.map((o) => o.count));
    this.bars.replaceChildren(...poll.options.map((option) => {
      const item = el("li", "poll-option");
      item.append(el("span", "poll-label", `${option.key} ${option.label}`));
      const bar = el("span", "poll-bar");
      bar.style.setProperty("--share", String(option.count / most));
      bar.setAttribute("aria-hidden", "true");
      item.append(bar, el("span", "poll-count", String(option.count)));
      item.setAttribute("aria-label", `${option.label}: ${option.count}`);
      return item;
    }));
    this.voters.textContent = `${poll.voters} answered out of ${poll.present} present`;
    this.blocks.hidden = poll.blocks.length === 0;
    this.blocks.textContent = poll.blocks.length
      ? `Blocked by: ${poll.blocks.map((b) => b.name || who(b)).join(", ")}` : "";
  }
}
