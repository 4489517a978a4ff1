// io-bridge moderators' panel: the entry point. Each page loads only what it needs.
// No build step, no framework: ES modules served as they are.

const page = document.getElementById("main")?.dataset.page;

if (page === "room") {
  import("./room.js");
} else if (page === "rooms") {
  import("./overview.js");
}
