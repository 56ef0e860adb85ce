// The search of every container's history: the form's state lives in the URL (a reload or a shared
// link shows the same search, back goes to the search before), lines come from /api/search as JSON
// and are set with textContent only.
"use strict";

const FIELDS = ["q", "since", "until", "containers"];
let pending = null;

function params() {
  const form = document.getElementById("query");
  const p = new URLSearchParams();
  for (const k of FIELDS) {
    const v = form.elements[k].value.trim();
    if (v) p.set(k, v);
  }
  if (form.elements.regex.checked && p.has("q")) p.set("regex", "1");
  const levels = [...form.querySelectorAll("input[name=level]:checked")].map((i) => i.value);
  if (levels.length !== 3) p.set("level", levels.join(","));
  return p;
}

function fill(p) {
  const form = document.getElementById("query");
  for (const k of FIELDS) form.elements[k].value = p.get(k) || "";
  form.elements.regex.checked = ["1", "true", "on", "yes"].includes(p.get("regex"));
  const levels = p.get("level");
  for (const i of form.querySelectorAll("input[name=level]")) {
    i.checked = !levels || levels.split(",").includes(i.value);
  }
}

// "2026-12-06T05:55:30.123456789Z" as "2026-12-06 05:55:30.123" (UTC, as the engine said it; the
// whole time is the link's title).
function shortTime(t) {
  return t ? t.replace("T", " ").replace(/(\.\d{3})\d*Z$/, "$1").replace(/Z$/, "") : "no time";
}

function containerPage(name) { return "/containers/" + encodeURIComponent(name); }

function hit(l) {
  const li = el("li", { class: "level-" + l.level });
  const at = l.file + ":" + l.offset;
  const time = el("a", { class: "time", href: containerPage(l.container) + "?at=" + encodeURIComponent(at),
    title: (l.time || "no time") + ": this line in its container's page" }, shortTime(l.time));
  if (l.time) time.dataset.time = l.time;
  li.appendChild(time);
  li.appendChild(el("a", { class: "container", href: containerPage(l.container) }, l.container));
  li.appendChild(el("span", { class: "lvl" }, l.level));
  const text = el("span", { class: "text" }, l.text);
  if (l.cut) text.appendChild(el("span", { class: "cut" }, " [" + l.cut + " more bytes in the file]"));
  li.appendChild(text);
  li.dataset.at = at;
  return li;
}

function describe(d) {
  const from = new Set(d.lines.map((l) => l.container)).size;
  let s = d.lines.length + " line" + (d.lines.length === 1 ? "" : "s") + " from " + from +
    " container" + (from === 1 ? "" : "s");
  if (d.left_out) s += " (" + d.left_out + " older ones not shown: narrow the range or the search)";
  s += "; searched " + d.containers_searched + " of " + d.containers + " containers (" + bytes(d.bytes_read) + " read)";
  if (d.stopped) s += "; the search stopped at its " + d.stopped + " limit, so older lines may be missing";
  if (d.failed.length) s += "; could not read " + d.failed.map((f) => f.container + " (" + f.error + ")").join(", ");
  return s;
}

function say(text, bad) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.classList.toggle("err", !!bad);
}

async function run() {
  const p = params();
  const list = document.getElementById("hits");
  if (p.get("level") === "") { list.replaceChildren(); say("No level chosen: tick at least one.", true); return; }
  if (pending) pending.abort();
  const mine = new AbortController();
  pending = mine;
  say("Searching…");
  list.setAttribute("aria-busy", "true");
  try {
    const r = await fetch("/api/search?" + p, { cache: "no-store", signal: mine.signal });
    const data = await r.json();
    if (!r.ok) { list.replaceChildren(); say(data.error || String(r.status), true); return; }
    list.replaceChildren(...data.lines.map(hit));
    say(describe(data));
    list.lastElementChild?.scrollIntoView({ block: "nearest" });
  } catch (e) {
    if (e.name !== "AbortError") say("Cannot search: " + e.message, true);
  } finally {
    if (pending === mine) { pending = null; list.removeAttribute("aria-busy"); }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  fill(new URLSearchParams(location.search));
  document.getElementById("query").addEventListener("submit", (e) => {
    e.preventDefault();
    const p = params();
    const query = p.toString() ? "?" + p : "";
    // A new entry for each new search: back shows the one before.
    if (query !== location.search) history.pushState(null, "", query || location.pathname);
    run();
  });
  window.addEventListener("popstate", () => {
    fill(new URLSearchParams(location.search));
    if (location.search) run(); else { document.getElementById("hits").replaceChildren(); say(""); }
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && !["INPUT"].includes(document.activeElement.tagName)) {
      e.preventDefault();
      document.getElementById("q").focus();
    }
  });
  if (location.search) run();
  else say("Search the lines of every container, running, stopped or removed: type a text and press Enter.");
});
