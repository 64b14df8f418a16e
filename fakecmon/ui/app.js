// fakecmon dashboard: reads /_fakecmon/ui/api/* and the control API, nothing else.
// Data from requests is shown with textContent only (request bodies are untrusted).
"use strict";

const BASE = "/_fakecmon";
const state = {
  token: null, lastId: 0, received: 0, selectedRequest: null, selectedJob: null,
  tab: "requests", filters: { operation: "", user: "", status: "" }, rows: new Map(),
};

// ---- the token: given once as ?token=, then kept for this tab only
(function takeToken() {
  const url = new URL(window.location.href);
  const given = url.searchParams.get("token");
  if (given) {
    sessionStorage.setItem("fakecmon-token", given);
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search);
  }
  state.token = sessionStorage.getItem("fakecmon-token");
})();

const $ = (sel) => document.querySelector(sel);
const $$ = (sel) => Array.from(document.querySelectorAll(sel));

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(path, options = {}) {
  const headers = { "Accept": "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (state.token) headers["X-Fakecmon-Token"] = state.token;
  const resp = await fetch(BASE + path, {
    method: options.method || "GET", headers, cache: "no-store",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let doc = null;
  try { doc = await resp.json(); } catch (_) { doc = null; }
  if (!resp.ok) {
    const why = doc && doc.error ? doc.error : `HTTP ${resp.status}`;
    throw new Error(why);
  }
  return doc;
}

let statusTimer = null;
function say(text, isError) {
  const line = $("#status-line");
  line.textContent = text;
  line.classList.toggle("error", !!isError);
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { line.textContent = ""; }, isError ? 8000 : 3000);
}

async function act(what, fn) {
  try {
    const result = await fn();
    say(what);
    await refreshAll();
    return result;
  } catch (err) {
    say(`${what} failed: ${err.message}`, true);
    return null;
  }
}

// ---- small renderers

function statusClass(status) {
  if (!status) return "";
  const s = String(status);
  if (["Ok", "FINISHED", "STARTED", "CmonHostOnline"].includes(s)) return "ok";
  if (["RUNNING", "DEFINED", "DEQUEUED", "SCHEDULED", "STARTING", "RECOVERING", "CmonHostRecovery"].includes(s)) return "info";
  if (["DEGRADED", "PAUSED", "AuthRequired", "TryAgain", "CmonHostShutDown", "SHUTTING_DOWN", "STOPPED"].includes(s)) return "warn";
  return "bad";
}

function pill(text, cls) {
  return el("span", { class: `pill ${cls === undefined ? statusClass(text) : cls}`, text: text || "—" });
}

function shortTime(rfc) {
  if (!rfc) return "";
  const m = /T(\d\d:\d\d:\d\d)/.exec(rfc);
  return m ? m[1] : rfc;
}

// JSON with colours, built from text nodes (never HTML)
function jsonNode(value, indent = "") {
  const frag = document.createDocumentFragment();
  const add = (text, cls) => frag.append(cls ? el("span", { class: cls, text }) : document.createTextNode(text));
  const walk = (v, ind) => {
    if (v === null) return add("null", "j-lit");
    if (typeof v === "string") return add(JSON.stringify(v), v === "********" ? "j-mask" : "j-str");
    if (typeof v === "number") return add(String(v), "j-num");
    if (typeof v === "boolean") return add(String(v), "j-lit");
    const inner = ind + "  ";
    if (Array.isArray(v)) {
      if (!v.length) return add("[]");
      add("[\n");
      v.forEach((x, i) => { add(inner); walk(x, inner); add(i < v.length - 1 ? ",\n" : "\n"); });
      return add(ind + "]");
    }
    const keys = Object.keys(v);
    if (!keys.length) return add("{}");
    add("{\n");
    keys.forEach((k, i) => {
      add(inner); add(JSON.stringify(k), "j-key"); add(": ");
      walk(v[k], inner); add(i < keys.length - 1 ? ",\n" : "\n");
    });
    add(ind + "}");
  };
  walk(value, indent);
  return frag;
}

function fillPre(pre, value) {
  pre.replaceChildren(typeof value === "string" ? document.createTextNode(value) : jsonNode(value));
}

// ---- overview, clock, snapshots

async function refreshOverview() {
  const o = await api("/ui/api/overview");
  $("#controller-id").textContent = o.controller_id;
  $("#version").textContent = `CMON ${o.version}`;
  $("#clock-time").textContent = o.clock.time.replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const shifted = Math.abs(o.clock.now - Date.now() / 1000) > 2;
  const badge = $("#clock-state");
  badge.textContent = o.clock.frozen ? "frozen" : shifted ? "shifted" : "live";
  badge.className = "badge" + (o.clock.frozen ? " frozen" : shifted ? " shifted" : "");
  $("#btn-freeze").textContent = o.clock.frozen ? "Unfreeze" : "Freeze";
  $("#btn-freeze").dataset.frozen = o.clock.frozen ? "1" : "0";
  const c = o.counts;
  $("#n-clusters").textContent = c.clusters;
  $("#n-hosts").textContent = c.hosts;
  $("#n-jobs").textContent = c.jobs;
  $("#n-running").textContent = c.running_jobs ? `· ${c.running_jobs} running` : "";
  $("#n-users").textContent = c.users;
  $("#n-groups").textContent = c.groups;
  $("#n-requests").textContent = o.journal.received;
  $("#n-faults").textContent = o.faults.length;
  const list = $("#snapshot-list");
  const chosen = list.value;
  list.replaceChildren(...(o.snapshots.length ? o.snapshots.map((n) => el("option", { text: n, value: n }))
    : [el("option", { text: "no snapshots", value: "" })]));
  if (o.snapshots.includes(chosen)) list.value = chosen;
  renderFaults(o.faults);
}

// ---- the request journal

function journalQuery() {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) q.set(k, v);
  return q;
}

async function refreshJournal(full) {
  const q = journalQuery();
  if (!full && state.lastId) q.set("after", String(state.lastId));
  else q.set("limit", "500");
  const doc = await api("/requests?" + q.toString());
  if (!full && doc.received < state.received) {   // cleared or reset meanwhile
    state.received = 0;
    return refreshJournal(true);
  }
  if (full) clearJournalRows();
  state.received = doc.received;
  const body = $("#journal tbody");
  for (const e of doc.requests) {
    if (state.rows.has(e.id)) continue;
    const tr = el("tr", { "data-id": e.id, class: full ? "" : "fresh" },
      el("td", { class: "num dim", text: e.id }),
      el("td", { class: "mono", text: shortTime(e.time) }),
      el("td", { class: "mono dim", text: e.path }),
      el("td", { text: e.operation || "—" }),
      el("td", { text: e.user || "—" }),
      el("td", {}, pill(e.status || (e.http_status ? `HTTP ${e.http_status}` : "no reply")),
        e.fault ? el("span", { class: "pill warn", text: e.fault }) : null),
      el("td", { class: "num dim", text: e.latency_ms.toFixed(1) }));
    tr.addEventListener("click", () => showRequest(e.id));
    body.prepend(tr);
    state.rows.set(e.id, tr);
    state.lastId = Math.max(state.lastId, e.id);
  }
  while (state.rows.size > 1000) {
    const oldest = Math.min(...state.rows.keys());
    state.rows.get(oldest).remove();
    state.rows.delete(oldest);
  }
  $("#journal-empty").hidden = state.rows.size > 0;
  $("#journal-count").textContent = `${state.rows.size} shown · ${doc.received} received`;
}

function clearJournalRows() {
  $("#journal tbody").replaceChildren();
  state.rows.clear();
  state.lastId = 0;
}

async function showRequest(id) {
  try {
    const e = await api(`/requests/${id}`);
    state.selectedRequest = id;
    for (const [rid, tr] of state.rows) tr.classList.toggle("selected", rid === id);
    $("#detail-title").textContent = `#${e.id} ${e.operation || "(no operation)"}`;
    $("#detail-meta").replaceChildren(
      el("span", {}, "path ", el("b", { text: e.path })),
      el("span", {}, "user ", el("b", { text: e.user || "—" })),
      el("span", {}, "client ", el("b", { text: e.client })),
      el("span", {}, "HTTP ", el("b", { text: e.http_status ?? "—" })),
      el("span", {}, "time ", el("b", { text: e.time })),
      el("span", {}, pill(e.status || "no reply")));
    // What CMON would silently ignore in the request (when the journal checks it).
    const findings = Array.isArray(e.contract) ? e.contract : [];
    $("#detail-contract").replaceChildren(...findings.map((f) => el("li", { text: f })));
    $("#detail-contract").hidden = findings.length === 0;
    fillPre($("#detail-request"), e.body);
    fillPre($("#detail-reply"), e.reply === null ? "(no reply was sent)" : e.reply);
    $("#request-detail").hidden = false;
    $("#pane-requests .split").classList.add("open");
  } catch (err) {
    say(`Request ${id}: ${err.message}`, true);
  }
}

// ---- clusters

async function refreshClusters() {
  const doc = await api("/ui/api/clusters");
  if (!changed("clusters", doc)) return;
  const cards = doc.clusters.map((c) => el("div", { class: "card", "data-cluster": c.cluster_id },
    el("div", { class: "card-head" },
      el("div", {},
        el("div", { class: "card-title", text: c.name }),
        el("div", { class: "card-sub", text: `#${c.cluster_id} · ${c.type.toLowerCase()} · ${c.vendor || "—"} ${c.version || ""}` })),
      el("div", {}, pill(c.state), c.maintenance ? pill("maintenance", "warn") : null)),
    el("div", { class: "card-sub", text: `${c.owner}:${c.group}  ${c.acl}` }),
    el("ul", { class: "hosts" }, ...c.hosts.map((h) => el("li", {},
      el("span", { class: `dot ${statusClass(h.status)}`, title: h.status }),
      el("span", { class: "mono", text: `${h.hostname}:${h.port}` }),
      el("span", { class: "dim", text: h.status.replace("CmonHost", "") }),
      el("span", { class: "role", text: [h.nodetype, h.role].filter(Boolean).join(" · ") })))),
  ));
  $("#cluster-cards").replaceChildren(...cards);
  if (!cards.length) $("#cluster-cards").append(el("p", { class: "empty", text: "No clusters." }));
}

// ---- jobs

// Re-render only what changed: rows keep their place under the pointer.
const drawn = {};
function changed(key, value) {
  const text = JSON.stringify(value);
  if (drawn[key] === text) return false;
  drawn[key] = text;
  return true;
}

async function refreshJobs() {
  const doc = await api("/ui/api/jobs");
  if (!changed("jobs", [doc.jobs, state.selectedJob])) {
    if (state.selectedJob !== null) await refreshJob();
    return;
  }
  const rows = doc.jobs.map((j) => {
    const tr = el("tr", { "data-job": j.job_id, class: j.job_id === state.selectedJob ? "selected" : "" },
      el("td", { class: "num dim", text: j.job_id }),
      el("td", { text: j.title }),
      el("td", { class: "num", text: j.cluster_id || "—" }),
      el("td", { text: j.user }),
      el("td", {}, pill(j.status)),
      el("td", { class: "num", text: `${j.progress}%` }),
      el("td", { class: "mono dim", text: j.created.replace("T", " ").slice(0, 19) }));
    tr.addEventListener("click", () => { state.selectedJob = j.job_id; refreshJob(); refreshJobs(); });
    return tr;
  });
  $("#jobs-table tbody").replaceChildren(...rows);
  $("#jobs-empty").hidden = rows.length > 0;
  if (state.selectedJob !== null) await refreshJob();
}

async function refreshJob() {
  let j;
  try { j = await api(`/ui/api/jobs/${state.selectedJob}`); } catch (err) {
    $("#job-detail").hidden = true; state.selectedJob = null; return;
  }
  if (!changed("job", j)) return;
  $("#job-title").textContent = `#${j.job_id} ${j.title}`;
  $("#job-meta").replaceChildren(
    el("span", {}, "command ", el("b", { text: j.command })),
    el("span", {}, "cluster ", el("b", { text: j.cluster_id || "—" })),
    el("span", {}, "user ", el("b", { text: j.user })),
    el("span", {}, pill(j.status)),
    el("span", { text: j.status_text }));
  $("#job-timeline").replaceChildren(...j.timeline.map((s) => el("li", { class: statusClass(s.state), "data-state": s.state },
    el("span", { class: "state", text: s.state }), el("span", { class: "mono", text: shortTime(s.time) }))));
  $("#job-progress").style.width = `${j.progress}%`;
  const log = $("#job-log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 20;
  log.replaceChildren(...j.messages.map((m) => el("div", { class: m.status },
    el("span", { class: "t", text: shortTime(m.time) }), m.text)));
  if (atBottom) log.scrollTop = log.scrollHeight;
  $("#job-detail").hidden = false;
  $("#pane-jobs .split").classList.add("open");
}

// ---- users, groups, tree

async function refreshUsers() {
  const doc = await api("/ui/api/users");
  if (!changed("users", doc)) return;
  $("#users-table tbody").replaceChildren(...doc.users.map((u) => el("tr", {},
    el("td", { class: "num dim", text: u.user_id }),
    el("td", {}, el("b", { text: u.user_name }), u.superuser ? " " : null, u.superuser ? pill("super", "info") : null),
    el("td", { text: u.full_name || "—" }),
    el("td", { text: u.groups.join(", ") }),
    el("td", {}, u.disabled ? pill("disabled", "bad") : u.suspended ? pill("suspended", "warn") : pill("active", "ok")),
    el("td", { class: "mono dim", text: u.last_login ? u.last_login.replace("T", " ").slice(0, 19) : "never" }),
    el("td", { class: "mono dim", text: u.acl }))));
  $("#groups-table tbody").replaceChildren(...doc.groups.map((g) => el("tr", {},
    el("td", { class: "num dim", text: g.group_id }),
    el("td", {}, el("b", { text: g.group_name })),
    el("td", { text: g.members.join(", ") || "—" }),
    el("td", { class: "mono dim", text: g.acl }))));
}

const KINDS = { Folder: "dir", File: "file", User: "user", Group: "group", Cluster: "cluster" };

function treeItem(node, depth) {
  const kids = node.children || [];
  const folded = kids.length && (depth > 1 || node.name.startsWith("."));   // .runtime: internals
  const li = el("li", { class: folded ? "closed" : "", "data-path": node.path });
  const toggle = el("span", { class: "icon toggle", text: kids.length ? (li.className ? "▸" : "▾") : "" });
  toggle.addEventListener("click", () => {
    li.classList.toggle("closed");
    toggle.textContent = li.classList.contains("closed") ? "▸" : "▾";
  });
  li.append(el("div", { class: "row" }, toggle,
    el("span", { class: `kind k-${KINDS[node.kind] || "other"}`, text: KINDS[node.kind] || node.kind }),
    el("span", { class: "nm", text: node.name }),
    el("span", { class: "own", text: `${node.owner}:${node.group}` }),
    el("span", { class: "acl", text: node.acl })));
  if (kids.length) li.append(el("ul", {}, ...kids.map((k) => treeItem(k, depth + 1))));
  return li;
}

async function refreshTree() {
  const doc = await api("/ui/api/tree");
  if (!changed("tree", doc)) return;
  $("#tree").replaceChildren(treeItem(doc.tree, 0));
  $("#tree-count").textContent = `${doc.nodes} objects` + (doc.nodes >= doc.limit ? ` (first ${doc.limit})` : "");
}

// ---- faults

function renderFaults(faults) {
  $("#faults-table tbody").replaceChildren(...faults.map((f) => {
    const scope = [f.operation, f.path, f.user && `user ${f.user}`].filter(Boolean).join(" · ") || "every request";
    const details = [f.request_status, f.http_status && `HTTP ${f.http_status}`, f.seconds && `${f.seconds} s`,
      f.times && `${f.times}×`].filter(Boolean).join(" · ");
    const del = el("button", { class: "btn ghost", text: "remove" });
    del.addEventListener("click", () => act(`Fault ${f.id} removed`, () => api(`/faults/${f.id}`, { method: "DELETE" })));
    return el("tr", {}, el("td", { class: "num dim", text: f.id }), el("td", {}, pill(f.kind, "warn")),
      el("td", { text: scope }), el("td", { text: details || "—" }), el("td", { class: "num", text: f.fired ?? 0 }), el("td", {}, del));
  }));
  $("#faults-empty").hidden = faults.length > 0;
}

// ---- wiring

function showTab(name) {
  state.tab = name;
  $$(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
  $$(".pane").forEach((p) => p.classList.toggle("active", p.id === `pane-${name}`));
  refreshTab().catch((err) => say(err.message, true));
}

async function refreshTab() {
  if (state.tab === "clusters") await refreshClusters();
  else if (state.tab === "jobs") await refreshJobs();
  else if (state.tab === "users") await refreshUsers();
  else if (state.tab === "tree") await refreshTree();
}

async function refreshAll() {
  await refreshOverview();
  await refreshJournal(state.rows.size === 0);
  await refreshTab();
}

function wire() {
  $$(".tab").forEach((t) => t.addEventListener("click", () => showTab(t.dataset.tab)));
  $("#btn-reset").addEventListener("click", () => act("The world, journal, faults, clock and sessions are reset",
    async () => { await api("/reset", { method: "POST", body: {} }); clearJournalRows(); state.received = 0;
      state.selectedJob = null; delete drawn.job; $("#job-detail").hidden = true; $("#request-detail").hidden = true;
      $$(".split").forEach((s) => s.classList.remove("open")); }));
  $("#btn-freeze").addEventListener("click", () => {
    const frozen = $("#btn-freeze").dataset.frozen === "1";
    act(frozen ? "Clock runs again" : "Clock frozen", () => api(`/clock/${frozen ? "unfreeze" : "freeze"}`, { method: "POST", body: {} }));
  });
  $$(".adv").forEach((b) => b.addEventListener("click", () => act(`Clock advanced ${b.textContent}`,
    () => api("/clock/advance", { method: "POST", body: { seconds: Number(b.dataset.seconds) } }))));
  $("#btn-advance").addEventListener("click", () => {
    const seconds = Number($("#advance-seconds").value);
    if (!Number.isFinite(seconds) || seconds <= 0) { say("Give the seconds to advance", true); return; }
    act(`Clock advanced ${seconds} s`, () => api("/clock/advance", { method: "POST", body: { seconds } }));
  });
  $("#btn-snapshot").addEventListener("click", () => {
    const name = $("#snapshot-name").value.trim();
    if (!name) { say("Give the snapshot a name", true); return; }
    act(`Snapshot '${name}' saved`, () => api(`/snapshots/${encodeURIComponent(name)}`, { method: "POST", body: {} }));
  });
  $("#btn-restore").addEventListener("click", () => {
    const name = $("#snapshot-list").value;
    if (!name) { say("No snapshot to restore", true); return; }
    act(`Snapshot '${name}' restored`, () => api(`/snapshots/${encodeURIComponent(name)}/restore`, { method: "POST", body: {} }));
  });
  $("#btn-clear-journal").addEventListener("click", () => act("Journal cleared",
    async () => { await api("/requests", { method: "DELETE" }); clearJournalRows(); state.received = 0; }));
  $("#btn-clear-faults").addEventListener("click", () => act("Faults cleared", () => api("/faults", { method: "DELETE" })));
  $("#btn-tree-refresh").addEventListener("click", () => refreshTree().catch((err) => say(err.message, true)));
  $("#detail-close").addEventListener("click", () => { $("#request-detail").hidden = true; $("#pane-requests .split").classList.remove("open"); });
  $("#job-close").addEventListener("click", () => { $("#job-detail").hidden = true; state.selectedJob = null; delete drawn.job; $("#pane-jobs .split").classList.remove("open"); });
  const filterChanged = () => {
    state.filters = { operation: $("#f-operation").value.trim(), user: $("#f-user").value.trim(), status: $("#f-status").value };
    clearJournalRows();
    refreshJournal(true).catch((err) => say(err.message, true));
  };
  for (const id of ["#f-operation", "#f-user"]) $(id).addEventListener("input", filterChanged);
  $("#f-status").addEventListener("change", filterChanged);
  $("#fault-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const spec = {};
    for (const [k, v] of new FormData(ev.target).entries()) {
      if (v === "") continue;
      spec[k] = ["times", "http_status", "seconds"].includes(k) ? Number(v) : v;
    }
    act(`Fault '${spec.kind}' added`, () => api("/faults", { method: "POST", body: spec }));
  });
}

let busy = false;
async function tick() {
  if (busy) return;
  busy = true;
  try {
    if ($("#f-live").checked) await refreshJournal(state.rows.size === 0 && state.lastId === 0);
    await refreshOverview();
  } catch (err) {
    say(`Cannot reach fakecmon: ${err.message}`, true);
  } finally {
    busy = false;
  }
}

let slow = 0;
async function slowTick() {
  slow += 1;
  if (state.tab === "tree" && slow % 5) return;  // the tree is big: every 5 s
  try { await refreshTab(); } catch (err) { say(err.message, true); }
}

wire();
refreshAll().catch((err) => say(`Cannot reach fakecmon: ${err.message}`, true));
setInterval(tick, 700);
setInterval(slowTick, 1000);
