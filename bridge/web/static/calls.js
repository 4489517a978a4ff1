// The directory of calls (/calls): each <time datetime="...Z"> shown in the visitor's own
// zone. Without this script the page reads the room's own time, with its zone.
const dateAndTime = new Intl.DateTimeFormat(undefined, {
  weekday: "short", day: "numeric", month: "short", year: "numeric",
  hour: "2-digit", minute: "2-digit", timeZoneName: "short",
});
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

for (const element of document.querySelectorAll("time[datetime]")) {
  const when = new Date(element.getAttribute("datetime"));
  if (Number.isNaN(when.getTime())) continue;
  const format = element.hasAttribute("data-time-only") ? timeOnly : dateAndTime;
  element.title = `${element.textContent} in the room's time zone`;
  element.textContent = format.format(when);
}
const zone = document.getElementById("visitor-zone");
if (zone) zone.textContent = ` (${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
