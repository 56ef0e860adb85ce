// One container's logs: the query lives in the URL, lines come from /api as JSON and are set with
// textContent only; the live tail appends lines from a server-sent event stream. `?at=FILE:OFFSET`
// (the search of every container links so) opens at that line, marked.
"use strict";

const name = decodeURIComponent(location.pathname.split("/").pop());
const api = "/api/containers/" + encodeURIComponent(name);
let stream = null;
let end = null;

function params() {
  const form = document.getElementById("query");
  const p = new URLSearchParams();
  const levels = [...form.querySelectorAll("input[name=level]:checked")].map((i) => i.value);
  if (levels.length !== 3) p.set("level", levels.join(","));
  for (const k of ["q", "since", "until"]) {
    const v = form.elements[k].value.trim();
    if (v) p.set(k, v);
  }
  if (form.elements.regex.checked && p.has("q")) p.set("regex", "1");
  return p;
}

function fill(p) {
  const form = document.getElementById("query");
  const levels = p.get("level");
  for (const i of form.querySelectorAll("input[name=level]")) {
    i.checked = !levels || levels.split(",").includes(i.value);
  }
  for (const k of ["q", "since", "until"]) form.elements[k].value = p.get(k) || "";
  form.elements.regex.checked = ["1", "true", "on"].includes(p.get("regex"));
}

function line(l) {
  const li = el("li", { class: "level-" + l.level });
  li.appendChild(el("span", { class: "lvl" }, l.level));
  const text = el("span", { class: "text" }, l.text);
  if (l.cut) text.appendChild(el("span", { class: "cut" }, " [" + l.cut + " more bytes in the file]"));
  li.appendChild(text);
  if (l.file !== undefined) li.dataset.at = l.file + ":" + l.offset;
  return li;
}

function say(text) { document.getElementById("status").textContent = text; }

function describe(data) {
  let s = data.lines.length + " line" + (data.lines.length === 1 ? "" : "s");
  if (data.left_out) s += data.first ? " (more after these)" : " (" + data.left_out + " older ones not shown: narrow the range or the search)";
  if (data.stopped) s += "; the search stopped at its " + data.stopped + " limit, so older lines may be missing";
  return s;
}

// The search of every container, for this container and the text searched here.
function searchLink(p) {
  const s = new URLSearchParams({ containers: name });
  for (const k of ["q", "regex", "level", "since", "until"]) if (p.has(k)) s.set(k, p.get(k));
  document.getElementById("search-all").href = "/search?" + s;
}

// `at` is kept in the URL when the lines start at a line a link pointed to.
async function load(extra, target, at) {
  stopLive();
  const p = params();
  searchLink(p);
  if (p.get("level") === "") {
    document.getElementById("lines").replaceChildren();
    say("No level chosen: tick at least one.");
    return null;
  }
  const shown = new URLSearchParams(p);
  if (at) shown.set("at", at);
  history.replaceState(null, "", shown.toString() ? "?" + shown : location.pathname);
  document.getElementById("download").href = api + "/download" + (p.toString() ? "?" + p : "");
  for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
  say("Loading…");
  try {
    const r = await fetch(api + "/lines?" + p, { cache: "no-store" });
    const data = await r.json();
    if (!r.ok) { say(data.error || r.status); return null; }
    const list = document.getElementById("lines");
    list.replaceChildren(...data.lines.map(line));
    end = data.end;
    say(describe(data));
    if (target && list.firstElementChild) {
      list.firstElementChild.classList.add("target");
      list.scrollTop = 0;
    } else {
      list.scrollTop = list.scrollHeight;
    }
    return data;
  } catch (e) {
    say("Cannot load the lines: " + e.message);
    return null;
  }
}

async function firstError() {
  stopLive();
  const p = params();
  p.set("level", "error");
  p.set("first", "1");
  p.set("limit", "1");
  const r = await fetch(api + "/lines?" + p, { cache: "no-store" });
  const data = await r.json();
  if (!r.ok) { say(data.error || r.status); return; }
  if (!data.lines.length) { say("No error line in this range."); return; }
  const at = data.lines[0];
  await load({ from: at.file + ":" + at.offset, first: "1", limit: "500" }, true);
}

function stopLive() {
  if (stream) { stream.close(); stream = null; }
  // (aria-pressed false also cancels a pending reconnect)
  document.getElementById("live").setAttribute("aria-pressed", "false");
}

function startLive() {
  const p = params();
  p.delete("since");
  p.delete("until");
  if (end) { p.set("inode", end.inode); p.set("offset", end.offset); }
  stream = new EventSource(api + "/stream?" + p);
  document.getElementById("live").setAttribute("aria-pressed", "true");
  const list = document.getElementById("lines");
  // Where the stream has got to: a reconnect starts there, so no line is shown twice.
  stream.addEventListener("position", (e) => { end = JSON.parse(e.data); });
  stream.addEventListener("line", (e) => {
    const l = JSON.parse(e.data);
    const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(line(l));
    if (atBottom) list.scrollTop = list.scrollHeight;
  });
  stream.addEventListener("error", () => {
    // Reopened by hand from the last position, not by the browser from the first one.
    stream.close();
    say("Live: reconnecting…");
    setTimeout(() => {
      if (document.getElementById("live").getAttribute("aria-pressed") === "true") startLive();
    }, 1000);
  });
  stream.addEventListener("open", () => say("Live: new lines appear at the bottom"));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("name").textContent = name;
  document.title = name + " · logs · container-metrics";
  const live = new URLSearchParams(location.search).get("live") === "1";
  fill(new URLSearchParams(location.search));
  const form = document.getElementById("query");
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  document.getElementById("first-error").addEventListener("click", firstError);
  document.getElementById("live").addEventListener("click", () => {
    if (stream) stopLive(); else startLive();
  });
  document.addEventListener("keydown", (e) => {
    const q = document.getElementById("q");
    if (e.key === "/" && !["INPUT"].includes(document.activeElement.tagName)) { e.preventDefault(); q.focus(); }
  });
  const at = new URLSearchParams(location.search).get("at") || "";
  const opened = /^\d+:\d+$/.test(at)
    ? load({ from: at, first: "1", limit: "500" }, true, at)
    : load();
  opened.then(() => {
    if (live) startLive();
  });
});
