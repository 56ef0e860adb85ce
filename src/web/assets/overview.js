// The overview: every container the collector knows, refreshed every 15 s. Text from containers is
// set with textContent only, never parsed as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";

function duration(s) {
  if (s < 60) return Math.floor(s) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

function spark(values, label, cls) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark" + (cls ? " " + cls : ""));
  svg.setAttribute("viewBox", "0 0 120 24");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const known = values.filter((v) => v !== null);
  const max = Math.max(...known, 0);
  const step = 120 / Math.max(values.length - 1, 1);
  let points = [];
  const flush = () => {
    if (points.length) {
      const line = document.createElementNS(SVG, "polyline");
      // A lone point (a minute between gaps) is drawn as a short dash, or it would not show.
      const lone = () => {
        const [x, y] = points[0].split(",").map(Number);
        return (x - 1.5).toFixed(1) + "," + y + " " + (x + 1.5).toFixed(1) + "," + y;
      };
      line.setAttribute("points", points.length === 1 ? lone() : points.join(" "));
      svg.appendChild(line);
    }
    points = [];
  };
  values.forEach((v, i) => {
    if (v === null) { flush(); return; }
    const y = max > 0 ? 22 - (v / max) * 20 : 22;
    points.push((i * step).toFixed(1) + "," + y.toFixed(1));
  });
  flush();
  return svg;
}

function row(c, now, kept) {
  const tr = el("tr", { "data-name": c.name });
  if (c.last_hour.error > 0) tr.classList.add("has-errors");
  const name = el("td");
  name.appendChild(el("a", { href: "/containers/" + encodeURIComponent(c.name) }, c.name));
  tr.appendChild(name);
  tr.appendChild(el("td", { class: "state-" + c.state }, c.state));
  const up = c.state === "running" && c.started_at ? duration(Math.max(0, now - c.started_at)) : "–";
  tr.appendChild(el("td", { class: "num" }, up));
  const cpu = c.cpu_cores === null ? "–" : c.cpu_cores.toFixed(3) + " / " + c.cpus_available;
  tr.appendChild(el("td", { class: "num cpu" }, cpu));
  const mem = c.memory_bytes === null ? "–" : bytes(c.memory_bytes) + " / " + bytes(c.memory_limit_bytes);
  tr.appendChild(el("td", { class: "num memory" }, mem));
  const lines = el("td", { class: "num lines" });
  lines.appendChild(el("span", { class: c.last_hour.error ? "err" : "" }, c.last_hour.error + " error"));
  lines.appendChild(document.createTextNode(" · " + c.last_hour.warning + " warning · " + c.last_hour.info + " info"));
  tr.appendChild(lines);
  for (const [values, label, cls] of [[c.spark.cpu, "CPU cores, last hour", ""],
    [c.spark.memory, "memory, last hour", ""], [c.spark.errors, "error lines, last hour", "errors"]]) {
    const td = el("td", { class: "spark" });
    td.appendChild(spark(values, label, cls));
    tr.appendChild(td);
  }
  // Bytes kept, only when the budget or LOGS_KEEP_REMOVED measures them.
  if (kept) tr.appendChild(el("td", { class: "num kept" }, bytes(c.kept_bytes)));
  return tr;
}

// What LOGS_DIR keeps, against LOGS_MAX_TOTAL_BYTES and LOGS_KEEP_REMOVED.
function showKept(k) {
  const p = document.getElementById("kept");
  if (!k || (k.bytes === null && k.budget === null && k.keep_removed_secs === null)) { p.hidden = true; return; }
  const budget = k.budget === null ? "no budget" : "budget " + bytes(k.budget);
  const keep = k.keep_removed_secs === null ? "removed containers' logs kept for ever"
    : "removed containers' logs kept " + duration(k.keep_removed_secs);
  p.textContent = "Logs on disk: " + bytes(k.bytes) + " (" + budget + "); " + keep;
  p.hidden = false;
}

// The link to search every container's lines for the filter's text.
function searchLink() {
  const f = document.getElementById("filter").value.trim();
  const a = document.getElementById("search-all");
  a.href = f ? "/search?" + new URLSearchParams({ q: f }) : "/search";
  a.textContent = f ? "Search all logs for this text" : "Search all logs";
}

function applyFilter() {
  const f = document.getElementById("filter").value.trim().toLowerCase();
  let shown = 0, all = 0;
  for (const tr of document.querySelectorAll("#containers tbody tr")) {
    all++;
    const show = !f || tr.dataset.name.toLowerCase().includes(f);
    tr.hidden = !show;
    if (show) shown++;
  }
  document.getElementById("count").textContent = shown === all ? all + " containers" : shown + " of " + all + " containers";
}

async function refresh() {
  try {
    const r = await fetch("/api/containers", { cache: "no-store" });
    if (!r.ok) throw new Error(r.status + " " + (await r.text()));
    const data = await r.json();
    document.getElementById("machine").textContent = "machine " + data.machine;
    const now = data.now;
    const body = document.querySelector("#containers tbody");
    // The rows are replaced: keep the keyboard's place on the container it was on.
    const focused = body.contains(document.activeElement)
      ? document.activeElement.closest("tr")?.dataset.name : null;
    const kept = !!data.kept && data.kept.bytes !== null;
    document.getElementById("kept-col").hidden = !kept;
    const rows = data.containers.map((c) => row(c, now, kept));
    body.replaceChildren(...rows);
    if (focused !== null && focused !== undefined) {
      const again = [...body.querySelectorAll("tr")].find((tr) => tr.dataset.name === focused);
      again?.querySelector("a")?.focus();
    }
    applyFilter();
    showKept(data.kept);
    document.getElementById("status").textContent = "Updated " + new Date(now * 1000).toLocaleTimeString();
  } catch (e) {
    document.getElementById("status").textContent = "Cannot load the containers: " + e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const filter = document.getElementById("filter");
  filter.value = new URLSearchParams(location.search).get("filter") || "";
  filter.addEventListener("input", () => {
    const p = new URLSearchParams(location.search);
    if (filter.value) p.set("filter", filter.value); else p.delete("filter");
    history.replaceState(null, "", p.toString() ? "?" + p : location.pathname);
    applyFilter();
    searchLink();
  });
  searchLink();
  document.addEventListener("keydown", (e) => {
    if (e.key === "/" && document.activeElement !== filter) { e.preventDefault(); filter.focus(); }
  });
  refresh();
  // The sparklines move once a minute and the figures once a metrics interval: every 15 s is enough,
  // and keeps an open page from costing the collector more than a scrape does.
  setInterval(refresh, 15000);
});
