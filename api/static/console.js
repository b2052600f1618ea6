// The 12349 dispatch console: sign in, the live queue over the websocket (rings until someone takes
// the call), the alert detail with its actions, and the overview. Every UI string goes through
// I18N.t; endpoints the server does not offer (see /openapi.json) hide their panel or button.
"use strict";
const { t, term } = I18N;
const $ = (id) => document.getElementById(id);
const CLOSED = new Set(["resolved", "cancelled", "duplicate"]);
const IN_HAND = new Set(["acknowledged", "dispatched", "on_scene"]);
const WAITING = new Set(["raised"]); // ringing: nobody has taken it yet
const PENDING = new Set(["pending"]); // inside the device's cancel window: greyed, counting down
const SLA_AMBER_S = 45, SLA_RED_S = 60;

const S = {
  token: sessionStorage.getItem("token"), user: null, alerts: new Map(), socket: null, retry: 500,
  muted: sessionStorage.getItem("muted") === "1", selected: null, view: "queue", api: new Map(),
  areaFilter: null, orgPaths: {}, orgNames: {}, beeps: 0, lastMessage: 0, overview: null, detail: {},
  responders: new Map(), // username → {name, phone}: who is on the way, by name
};
// An empty list reads "none", not "1. none"
const noneItem = () => `<li class="none muted">${esc(t("common.none"))}</li>`;

// ---- server endpoints: discovered from the OpenAPI document, so the console grows with the API ----
const norm = (path) => path.replace(/\{[^}]+\}/g, "{}");
const CANDIDATES = {
  ack: [["post", "/api/v1/alerts/{}/ack"], ["post", "/api/v1/alerts/{}/acknowledge"]],
  dispatch: [["post", "/api/v1/alerts/{}/dispatch"]],
  on_scene: [["post", "/api/v1/alerts/{}/on-scene"], ["post", "/api/v1/alerts/{}/on_scene"], ["post", "/api/v1/alerts/{}/arrived"]],
  resolve: [["post", "/api/v1/alerts/{}/resolve"]],
  notify_family: [["post", "/api/v1/alerts/{}/notify-family"], ["post", "/api/v1/alerts/{}/notify_family"], ["post", "/api/v1/alerts/{}/notify"], ["post", "/api/v1/family/notify/{}"]],
  cancel: [["post", "/api/v1/alerts/{}/cancel"]],
  contact: [["post", "/api/v1/alerts/{}/contact"]],
  note: [["post", "/api/v1/alerts/{}/notes"], ["post", "/api/v1/alerts/{}/note"]],
  suggestions: [["get", "/api/v1/alerts/{}/proposals"], ["get", "/api/v1/alerts/{}/suggestions"]],
  responders: [["get", "/api/v1/responders"]],
  alert: [["get", "/api/v1/alerts/{}"]],
  resident: [["get", "/api/v1/residents/{}"]],
  previous: [["get", "/api/v1/console/residents/{}/alerts"], ["get", "/api/v1/residents/{}/alerts"]],
  sla: [["get", "/api/v1/reports/sla"]],
  orgs: [["get", "/api/v1/orgs"]],
  card: [["get", "/api/v1/console/residents/{}/card"]],
  activity: [["get", "/api/v1/console/residents/{}/activity"]],
  trail: [["get", "/api/v1/alerts/{}/audit"], ["get", "/api/v1/console/alerts/{}/trail"]],
  overview: [["get", "/api/v1/console/overview"]],
};
async function discover() {
  try {
    const doc = await (await fetch("/openapi.json")).json();
    const offered = new Set();
    for (const [path, ops] of Object.entries(doc.paths || {})) for (const method of Object.keys(ops)) offered.add(`${method} ${norm(path)}`);
    S.api = new Map();
    for (const [name, options] of Object.entries(CANDIDATES)) {
      const found = options.find(([method, path]) => offered.has(`${method} ${path}`));
      if (found) S.api.set(name, found);
    }
  } catch (e) { /* keep what we had: the websocket queue works without it */ }
  document.querySelectorAll("[data-needs]").forEach((node) => { node.hidden = !S.api.has(node.dataset.needs); });
}
const has = (name) => S.api.has(name);
function url(name, id, query) {
  const path = S.api.get(name)[1].replace("{}", encodeURIComponent(id ?? ""));
  return query ? `${path}?${new URLSearchParams(query)}` : path;
}
async function call(name, id, { body, query } = {}) {
  const [method] = S.api.get(name);
  const response = await fetch(url(name, id, query), {
    method: method.toUpperCase(),
    headers: { Authorization: `Bearer ${S.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) { signOut(); throw new Error("unauthorized"); }
  return response;
}
async function getJson(name, id, query) {
  if (!has(name)) return null;
  const response = await call(name, id, { query });
  return response.ok ? response.json() : null;
}

// ---- sound and flash: ring while any alert waits for an operator ----
let audio = null;
function audioContext() {
  try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { audio = null; }
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}
function beep() {
  const ctx = audioContext();
  if (!ctx || ctx.state !== "running") { $("enable-sound").hidden = !ctx || S.muted; return; }
  $("enable-sound").hidden = true;
  const now = ctx.currentTime;
  [0, 0.22].forEach((offset, i) => {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = "square"; osc.frequency.value = i ? 660 : 880; gain.gain.value = 0.08;
    osc.connect(gain).connect(ctx.destination); osc.start(now + offset); osc.stop(now + offset + 0.18);
  });
  S.beeps += 1; document.body.dataset.beeps = String(S.beeps);
}
const visible = (a) => !S.areaFilter || (S.orgPaths[a.resident?.org_node] || "/").startsWith(S.areaFilter);
const waiting = () => [...S.alerts.values()].filter((a) => WAITING.has(a.state));
function ring() {
  const on = !!S.token && waiting().length > 0;
  document.body.dataset.ringing = String(on);
  document.body.classList.toggle("alarm", on);
  if (on && !S.muted) beep();
}
setInterval(ring, 1500);
setInterval(() => { if (S.token) { renderQueue(); renderDetailHead(); } }, 1000);

// ---- the queue ----
const since = (iso) => Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
const ringStart = (a) => a.ringing_at || a.raised_at;
function slaClass(a) {
  if (!WAITING.has(a.state)) return "";
  const s = since(ringStart(a));
  return s >= SLA_RED_S ? "sla-red" : s >= SLA_AMBER_S ? "sla-amber" : "sla-green";
}
function pendingLeft(a) {
  const d = a.details || {};
  const until = a.cancel_until || a.pending_until || a.cancel_deadline || a.escalate_at || d.cancel_until || d.pending_until;
  return until ? Math.max(0, (Date.parse(until) - Date.now()) / 1000) : null;
}
function timerText(a) {
  if (PENDING.has(a.state)) {
    const left = pendingLeft(a);
    return left === null ? t("queue.pending") : t("queue.cancel_in", { time: I18N.duration(left) });
  }
  if (WAITING.has(a.state)) return t("queue.waiting", { time: I18N.duration(since(ringStart(a))) });
  if (a.acknowledged_at) return t("queue.answered_in", { time: I18N.duration(Math.max(0, Date.parse(a.acknowledged_at) - Date.parse(ringStart(a))) / 1000) });
  return "";
}
const rank = (a) => (PENDING.has(a.state) ? 1 : 0);
function sorted() {
  return [...S.alerts.values()].filter(visible)
    .sort((a, b) => rank(a) - rank(b) || a.priority - b.priority || (b.urgency || 0) - (a.urgency || 0) || Date.parse(ringStart(a)) - Date.parse(ringStart(b)));
}
function esc(text) { const d = document.createElement("span"); d.textContent = text ?? ""; return d.innerHTML; }
function stateText(a) {
  if (WAITING.has(a.state) || PENDING.has(a.state)) return ""; // the timer says it: "waiting 0:53", "cancel window 1:20"
  const by = a.acknowledged_by && IN_HAND.has(a.state) ? ` · ${esc(a.acknowledged_by)}` : "";
  const responder = a.responder && (a.state === "dispatched" || a.state === "on_scene") ? ` → ${esc(responderName(a.responder))}` : "";
  return `${esc(term("state", a.state))}${by}${responder}`;
}
function flags(a) {
  const moving = a.details?.moving_again; // the resident alerted on for a silence has moved since
  return (a.needs_emergency_call ? `<span class="flag call120">${esc(t("flag.call_120"))}</span>` : "")
    + (a.urgency > 0 ? `<span class="flag urgency">${esc(t("flag.rang_again", { n: a.urgency }))}</span>` : "")
    + (moving ? `<span class="flag moving">${esc(t(a.kind === "night_exit" ? "flag.back_inside" : "flag.moving_again", { time: I18N.time(moving.at).slice(11) }))}</span>` : "");
}
function renderQueue() {
  const rows = sorted();
  $("alerts").innerHTML = rows.map((a) => `
    <li class="alert ${esc(a.state)}${WAITING.has(a.state) ? " flash" : ""}${a.id === S.selected ? " selected" : ""}" data-id="${a.id}" data-state="${esc(a.state)}" data-kind="${esc(a.kind)}" tabindex="0">
      <span class="prio p${a.priority}">P${a.priority}</span>
      <span class="what"><b>${esc(term("kind", a.kind))}</b>${a.repeats > 1 ? ` <span class="repeats">×${a.repeats}</span>` : ""}${flags(a)}
        <small>${esc(a.device?.location ? term("room", a.device.location) : "")}</small></span>
      <span class="who"><b>${esc(a.resident?.name ?? a.resident_id)}</b>${a.resident?.age ? ` <small>${esc(t("resident.age", { age: a.resident.age }))}</small>` : ""}
        <small class="addr">${esc(a.resident?.address ?? "")}</small></span>
      <span class="timer ${slaClass(a)}">${esc(timerText(a))}</span>
      <span class="state">${stateText(a)}</span>
      <span class="act">${WAITING.has(a.state) && has("ack") ? `<button type="button" class="ack primary" data-id="${a.id}">${esc(t("action.ack"))}</button>` : ""}</span>
    </li>`).join("");
  $("count").textContent = `(${rows.length})`;
  $("empty").hidden = rows.length > 0;
  $("area-filter").hidden = !S.areaFilter;
  if (S.areaFilter) $("area-filter-name").textContent = t("overview.filtered", { area: areaName(S.areaFilter) });
}

// ---- actions (a 409 means someone else got there first) ----
function toast(text, kind = "info") {
  const box = $("toast");
  if (kind === "info" && !box.hidden && box.classList.contains("error")) return; // an error stays readable
  box.textContent = text; box.className = `toast ${kind}`; box.hidden = false;
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
async function act(action, id, extra = {}) {
  if (!has(action)) return false;
  if (action === "resolve" && !$("d-outcome").value) { toast(t("outcome.required"), "error"); $("d-outcome").focus(); return false; }
  const note = $("d-note").value.trim();
  const bodies = {
    ack: { note: "" },
    dispatch: { responder: $("d-responder").value || null, note },
    on_scene: { note },
    resolve: { outcome: $("d-outcome").value, note },
    cancel: { note },
    notify_family: null,
    contact: { reached: true, note },
    note: { note },
  };
  let response;
  const body = bodies[action] === null ? null : { ...bodies[action], ...extra };
  try { response = await call(action, id, { body }); } catch (e) { toast(t("error.network"), "error"); return false; }
  if (response.status === 409) {
    const current = S.alerts.get(id);
    if (action === "dispatch" && current?.state === "acknowledged") toast(t("dispatch.none"), "error");
    else toast(t("error.conflict", { state: term("state", current?.state ?? ""), who: current?.acknowledged_by ?? "" }), "error");
    return false;
  }
  if (!response.ok) { toast(t("error.failed", { status: response.status }), "error"); return false; }
  const data = await response.json().catch(() => null);
  if (data && data.id && data.state) upsert(data);
  if (["note", "contact", "resolve", "dispatch", "on_scene", "cancel"].includes(action)) $("d-note").value = "";
  if (action === "resolve") $("d-outcome").value = "";
  toast(t(`done.${action}`), "ok");
  if (S.selected === id) loadTrail(id);
  return true;
}
function upsert(alert) {
  if (CLOSED.has(alert.state)) S.alerts.delete(alert.id);
  else S.alerts.set(alert.id, { ...(S.alerts.get(alert.id) || {}), ...alert });
  renderQueue();
  if (alert.id === S.selected) renderDetailHead(alert);
}

// ---- the alert detail ----
function renderDetailHead(fresh) {
  if (!S.selected) return;
  const a = fresh || S.alerts.get(S.selected) || S.detail.alert;
  if (!a) return;
  S.detail.alert = a;
  $("d-title").textContent = `${term("kind", a.kind)} · ${a.resident?.name ?? a.resident_id}`;
  $("d-state").textContent = term("state", a.state); $("d-state").dataset.state = a.state;
  $("d-waited").textContent = timerText(a); $("d-waited").className = `timer ${slaClass(a)}`;
  const open = !CLOSED.has(a.state);
  const can = { ack: WAITING.has(a.state) || PENDING.has(a.state), dispatch: a.state === "acknowledged",
    on_scene: a.state === "dispatched", resolve: IN_HAND.has(a.state), cancel: PENDING.has(a.state),
    notify_family: open, contact: open, note: open };
  document.querySelectorAll("#detail button[data-action]").forEach((b) => {
    b.disabled = !can[b.dataset.action] || !has(b.dataset.action);
    b.hidden = !has(b.dataset.action);
  });
  $("d-flags").innerHTML = flags(a);
  const coming = a.responder && (a.state === "dispatched" || a.state === "on_scene") ? S.responders.get(a.responder) || { name: a.responder } : null;
  $("d-coming").hidden = !coming;
  if (coming) {
    $("d-coming-name").textContent = coming.name;
    $("d-coming-phone").textContent = coming.phone || ""; $("d-coming-phone").href = coming.phone ? `tel:${coming.phone}` : "#";
    $("d-coming-label").textContent = t(a.state === "on_scene" ? "detail.on_scene_by" : "detail.coming");
  }
  document.querySelectorAll("#d-actions [data-needs=dispatch]").forEach((g) => { g.hidden = !has("dispatch") || a.state !== "acknowledged"; });
}
function responderName(username) {
  const r = S.responders.get(username);
  return r ? r.name : username;
}
async function loadResponderDirectory() {
  const rows = has("responders") ? await getJson("responders", null) : null;
  for (const r of Array.isArray(rows) ? rows : rows?.items || []) S.responders.set(r.username, { name: r.name || r.username, phone: r.phone || "" });
}
function list(value) {
  if (!value) return [];
  return Array.isArray(value) ? value : [value];
}
function text(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(text).filter(Boolean).join(" · ");
  if (typeof value === "object") return Object.values(value).map(text).filter(Boolean).join(" · ");
  return String(value);
}
function renderResident(r, alert) {
  r = r || alert.resident || { name: alert.resident_id };
  const p = r.profile || {};
  const present = (v) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && !v.length);
  const pick = (...names) => { for (const n of names) for (const v of [r[n], p[n]]) if (present(v)) return v; return null; };
  $("d-name").textContent = r.name ?? alert.resident_id;
  $("d-photo").textContent = (r.name || "?").trim().charAt(0);
  const facts = [];
  if (r.age) facts.push(t("resident.age", { age: r.age }));
  const sex = pick("sex"); if (sex && sex !== "unknown") facts.push(term("sex", sex));
  if (pick("living_alone")) facts.push(t("resident.living_alone"));
  const mobility = pick("mobility"); if (mobility) facts.push(term("mobility", mobility));
  const wake = pick("usual_wake"); if (wake) facts.push(t("resident.usual_wake", { time: wake }));
  const bed = pick("usual_bed"); if (bed) facts.push(t("resident.usual_bed", { time: bed }));
  const watch = pick("night_exit_watch"); if (watch) facts.push(t("resident.night_exit_watch", { watch }));
  // the watch sees the entrance door only: say so where the home has none (a sensor to install)
  if (watch && Array.isArray(r.devices) && !r.devices.some((d) => d.type === "door")) facts.push(t("resident.night_exit_no_door"));
  $("d-facts").textContent = facts.join(" · ");
  $("d-address").textContent = text(pick("address")) || t("common.unknown");
  const home = r.home || {};
  $("d-access").textContent = text(pick("access", "how_to_get_in", "entry", "key_info") ?? (home.notes || home.key_holders ? [home.notes, home.key_holders] : null)) || t("common.unknown");
  $("d-phone").textContent = text(pick("phone")) || t("common.unknown");
  $("d-conditions").textContent = text(pick("conditions")) || t("common.none");
  $("d-languages").textContent = list(pick("languages")).map((code) => term("language", code)).join(" · ") || t("common.unknown");
  const notified = list(r.notification_contacts);
  const contacts = notified.length ? notified : list(pick("emergency_contacts", "contacts"));
  $("d-contacts-unnotified").hidden = !(contacts.length && !notified.length);
  const marks = JSON.parse(localStorage.getItem(`marks:${alert.id}`) || "{}");
  $("d-contacts").innerHTML = contacts.length ? contacts.map((c, i) => `
    <li data-index="${i}"><b>${esc(c.name ?? "")}</b> <small>${esc(c.relation ? term("relation", c.relation) : "")}</small>
      <a href="tel:${esc(c.phone ?? "")}">${esc(c.phone ?? "")}</a>
      ${(c.channels || []).length ? `<small class="channels">${esc(t("contact.told_by", { channels: c.channels.join(" · ") }))}</small>` : ""}
      <button type="button" class="mark${marks[`${i}:called`] ? " on" : ""}" data-mark="called" data-index="${i}">${esc(t("contact.called"))}</button>
      <button type="button" class="mark${marks[`${i}:notified`] ? " on" : ""}" data-mark="notified" data-index="${i}">${esc(t("contact.notified"))}</button>
    </li>`).join("") : noneItem();
  S.detail.contacts = contacts;
}
function deviceName(a) {
  // what the device is and where, then its id for a technician: "呼叫按钮 · 卧室（btn-1）"
  const d = a.device;
  if (!d || !d.type) return a.device_id;
  const where = d.location ? ` · ${term("room", d.location)}` : "";
  return `${term("device", d.type)}${where} (${a.device_id})`;
}

function renderDevices(devices) {
  $("d-devices").innerHTML = (devices || []).map((d) => {
    const st = d.online === false ? "offline" : d.not_sensing ? "not_sensing" : d.online === true ? "online" : "unknown";
    const battery = d.battery === null || d.battery === undefined ? "" : `${String(d.battery).replace("%", "")}%`;
    return `<tr data-device="${esc(d.id)}" class="dev-${st}"><td>${esc(d.id)}</td><td>${esc(term("device", d.type))}</td>
      <td>${esc(d.location ? term("room", d.location) : "")}</td><td>${esc(t(`devstate.${st}`))}</td><td>${esc(battery)}</td>
      <td>${esc(I18N.time(d.last_seen))}</td></tr>`;
  }).join("") || `<tr><td colspan="6" class="muted">${esc(t("common.none"))}</td></tr>`;
}
// What the home's sensors cannot see (no motion sensor, nothing in the bedroom, ...): the operator weighs
// a silence from such a home knowing it, and whoever maintains the kit knows what to add
function renderGaps(gaps) {
  const list = $("d-gaps");
  list.innerHTML = (gaps || []).map((gap) => `<li>${esc(term("gap", gap))}</li>`).join("");
  list.hidden = !(gaps || []).length;
}
// Alerts about a home's activity: their time is when the silence began, their trigger a timeline
const ACTIVITY_KINDS = new Set(["inactivity", "not_up", "bathroom_long", "night_absence", "unmonitored"]);
// The first activity after the alert: when, which device and where, after how long a silence (after a
// night exit: back inside, how long after the door). It closes nothing (a resident who fell may still
// crawl): the operator calls to hear how they are.
function movingAgain(m, kind) {
  const p = document.createElement("p");
  p.className = "facts moving";
  const device = m.device_type ? term("device", m.device_type) : m.device_id;
  const where = m.location ? term("room", m.location) : "";
  const key = kind === "night_exit" ? "trigger.back_inside" : "trigger.moving_again";
  p.textContent = t(where ? key : `${key}_nowhere`, {
    time: I18N.time(m.at), device, id: m.device_id, where, after: I18N.duration(m.silent_s),
  });
  return p;
}
// Why the home detector raised it, in the operator's language: the rule, how long the silence had
// lasted against which limit, what that limit relied on (the routine learned, the first days seen,
// the enrolment record, or the population prior while nothing is learned) and where the resident was.
function silenceWhy(d) {
  const p = document.createElement("p");
  p.className = "facts why";
  const parts = [term("why", d.rule)];
  if (Number.isFinite(d.silent_s) && Number.isFinite(d.threshold_s)) {
    parts.push(t("trigger.silence", { silent: I18N.duration(d.silent_s), limit: I18N.duration(d.threshold_s) }));
  }
  if (d.basis) parts.push(t("trigger.basis", { basis: term("basis", d.basis) }));
  if (d.context) parts.push(term("context", d.context));
  // a sensor of the home senses nothing lately (quiet beyond habit): the silence may be its fault
  if (Array.isArray(d.not_sensing) && d.not_sensing.length) parts.push(t("trigger.not_sensing", { devices: d.not_sensing.join(", ") }));
  // a pad that did not let go when the resident got up: their return to it would not show either
  if (Array.isArray(d.stale_pads) && d.stale_pads.length) parts.push(t("trigger.stale_pads", { pads: d.stale_pads.map((pad) => term("pad", pad)).join(", ") }));
  p.textContent = parts.join(" · ");
  return p;
}
async function renderTrigger(a) {
  const box = $("d-trigger"); box.innerHTML = "";
  const d = a.details || {};
  const line = document.createElement("p");
  line.className = "facts";
  const summary = !a.device_id ? (ACTIVITY_KINDS.has(a.kind) ? "trigger.summary_since" : "trigger.summary_at") : "trigger.summary";
  line.textContent = t(summary, { kind: term("kind", a.kind), time: I18N.time(a.occurred_at), device: deviceName(a) })
    + (a.confidence < 1 ? ` · ${t("trigger.confidence", { pct: Math.round(a.confidence * 100) })}` : "")
    + (a.kind === "fall" && d.placement ? ` · ${term("placement", d.placement)}` : "") // which model judged it
    + (a.kind === "fall" && d.placement_basis && d.placement_basis !== "registry" // and why that one
      ? ` (${term("placement_basis", d.placement_basis.startsWith("motion") ? "motion" : "default")})` : "");
  box.append(line);
  if (d.window && Array.isArray(d.window.acc)) {
    box.append(Charts.fallTrace(d.window, Date.parse(a.occurred_at), {
      title: t("trigger.trace"), x: t("trigger.trace_x"), y: t("trigger.trace_y"), impact: t("trigger.impact"), magnitude: t("trigger.magnitude"),
    }));
  } else if (has("activity") && ACTIVITY_KINDS.has(a.kind)) {
    if (d.moving_again) box.append(movingAgain(d.moving_again, a.kind));
    if (d.rule) box.append(silenceWhy(d));
    const data = await getJson("activity", a.resident_id, { hours: 24 });
    if (data && S.selected === a.id) {
      const caption = document.createElement("h4"); caption.textContent = t("trigger.activity"); box.append(caption);
      box.append(Charts.activityTimeline(data.events.map((e) => ({ ...e, room: term("room", e.room) })), data.from, data.to, { title: t("trigger.activity"), none: t("trigger.no_activity") }));
    }
  } else if (a.kind === "pad_stuck") { // a pad that holds "occupied" after its sitter left: what to check
    const p = document.createElement("p"); p.textContent = t("trigger.pad_stuck", { pad: term("pad", d.pad), times: d.late_releases }); box.append(p);
  } else if (a.kind === "night_exit") { // a resident who wanders went out at night: when, the watch, what to do
    const p = document.createElement("p");
    const key = d.rule === "out_when_watch_began" ? "trigger.night_exit_out" : "trigger.night_exit";
    p.textContent = t(key, { time: I18N.time(a.occurred_at), watch: d.watch, minutes: Math.round((d.grace_s || 0) / 60) });
    if (d.moving_again) box.append(movingAgain(d.moving_again, a.kind));
    box.append(p);
  } else if (a.kind === "sos" || (a.kind === "fall" && d.source !== "wearable")) {
    const p = document.createElement("p"); p.textContent = t(a.kind === "sos" ? "trigger.sos_press" : "trigger.device_fall"); box.append(p);
  }
}
// Audit rows whose note is a machine key (the detection's device:seq), not something a person wrote
const KEY_NOTES = new Set(["raised", "repeated", "pending", "moving again"]); // (moving again: on the card)
function actorName(actor) {
  if (!actor) return "";
  if (actor === "system") return t("trail.system");
  if (actor.startsWith("responder:")) return responderName(actor.slice(10));
  if (actor.startsWith("family:")) return t("trail.family");
  return responderName(actor);
}
function trailNote(e) {
  if (!e.note || KEY_NOTES.has(e.action)) return "";
  if (e.action === "offered to next responder") return responderName(e.note);
  const offered = e.action === "dispatched" && /^offered to (\S+)$/.exec(e.note);
  if (offered) return t("trail.offered_to", { name: responderName(offered[1]) });
  return e.note;
}
let trailRequest = 0;
async function loadTrail(id) {
  const mine = ++trailRequest; // a slower, older answer never replaces a newer one
  const trail = await getJson("trail", id);
  if (mine !== trailRequest || S.selected !== id) return;
  $("d-trail").innerHTML = (trail || []).map((e) => {
    const note = trailNote(e);
    return `<li data-action="${esc(e.action)}"><time>${esc(I18N.time(e.at, true))}</time> <b>${esc(actorName(e.actor))}</b> ${esc(term("audit", e.action))}${note ? ` — ${esc(note)}` : ""}</li>`;
  }).join("") || noneItem();
}
async function loadResponders(a) {
  const select = $("d-responder");
  let options = has("suggestions") ? await getJson("suggestions", a.id) : null;
  if (!options && has("responders")) options = await getJson("responders", null);
  options = Array.isArray(options) ? options : options?.items || [];
  select.innerHTML = options.map((option, i) => {
    const r = option.responder || option;
    const where = option.nearness ? ` · ${term("nearness", option.nearness)}` : "";
    const star = i === 0 && option.nearness ? `${t("dispatch.nearest")} ` : "";
    return `<option value="${esc(r.username)}">${esc(star)}${esc(r.name || r.username)}${esc(where)}</option>`;
  }).join("") || `<option value="">${esc(t("dispatch.none"))}</option>`;
}
async function openDetail(id) {
  const a = S.alerts.get(id);
  if (!a) return;
  S.selected = id; S.detail = { alert: a };
  if (location.hash !== `#alert=${id}`) history.replaceState(null, "", `#alert=${id}`);
  $("detail").hidden = false; $("detail").dataset.id = id;
  document.body.classList.add("has-detail");
  renderQueue(); renderDetailHead(a); renderResident(null, a); renderDevices([]);
  $("d-previous-card").hidden = true;
  const [card, resident] = await Promise.all([getJson("card", a.resident_id), getJson("resident", a.resident_id), S.responders.size ? null : loadResponderDirectory()]);
  if (S.selected !== id) return;
  renderResident({ ...(a.resident || {}), ...(card?.resident || {}), ...(resident || {}), notification_contacts: card?.contacts || [] }, a);
  renderDetailHead();
  renderDevices(resident?.devices?.length && resident.devices[0].online !== undefined ? resident.devices : card?.devices);
  renderGaps(card?.sensing_gaps);
  await Promise.all([renderTrigger(a), loadTrail(id), has("dispatch") ? loadResponders(a) : null, loadPrevious(a)]);
  $("detail").dataset.loaded = "true";
}
async function loadPrevious(a) {
  if (!has("previous")) return;
  const rows = await getJson("previous", a.resident_id);
  const items = (Array.isArray(rows) ? rows : rows?.alerts || []).filter((p) => p.id !== a.id).slice(0, 10);
  $("d-previous-card").hidden = false;
  $("d-previous").innerHTML = items.map((p) => `<li><time>${esc(I18N.time(p.raised_at))}</time> ${esc(term("kind", p.kind))} · ${esc(term("state", p.state))}${p.outcome ? ` · ${esc(term("outcome", p.outcome))}` : ""}</li>`).join("")
    || noneItem();
}
function closeDetail() {
  S.selected = null; $("detail").hidden = true; delete $("detail").dataset.loaded;
  document.body.classList.remove("has-detail");
  history.replaceState(null, "", "#queue"); renderQueue();
}

// ---- overview ----
function areaName(path) {
  const code = path.split("/").filter(Boolean).pop();
  return code ? S.orgNames[code] || code : t("overview.whole_city");
}
async function loadOverview() {
  if (!has("overview")) return;
  const data = await getJson("overview", null, { tz_offset_min: I18N.offset() });
  if (!data) return;
  S.overview = data;
  Object.assign(S.orgPaths, data.org_paths || {});
  const orgs = has("orgs") ? await getJson("orgs", null, { limit: 200 }) : null;
  for (const node of flatten(orgs)) if (node.code) { S.orgNames[node.code] = node.name || node.code; if (node.path) S.orgPaths[node.code] = node.path; }
  if (has("sla")) {
    const today = new Date(I18N.dayStart(Date.now())); // midnight at the homes
    const report = await getJson("sla", null, { from: isoWithOffset(today), to: isoWithOffset(new Date()), ...(S.areaFilter ? { area: areaCode(S.areaFilter) } : {}) });
    renderSla(report?.total ?? null);
  }
  renderOverview();
}
function isoWithOffset(date) { return date.toISOString().replace("Z", "+00:00"); }
function areaCode(path) { return path.split("/").filter(Boolean).pop(); }
function flatten(tree) {
  if (!tree) return [];
  const nodes = Array.isArray(tree) ? tree : tree.items || tree.nodes || tree.children || [tree];
  return nodes.flatMap((n) => [n, ...flatten(n.children || [])]);
}
function renderSla(sla) {
  $("o-sla-card").hidden = !sla;
  if (!sla) return;
  const pct = (v) => `${(Number(v) * 100).toFixed(1)}%`;
  const fields = [["rang", sla.alerts, String], ["answered", sla.answered, String], ["within", sla.within_60s, pct],
    ["within180", sla.within_180s, pct], ["median", sla.answer_p50_s, I18N.duration], ["p90", sla.answer_p90_s, I18N.duration]];
  const met = sla.meets_targets === true ? "sla-green" : sla.meets_targets === false ? "sla-red" : "";
  $("o-sla").innerHTML = `<dl class="kv big ${met}">${fields.filter(([, v]) => v !== undefined && v !== null).map(([k, v, f]) =>
    `<dt>${esc(t(`sla.${k}`))}</dt><dd>${esc(f(v))}</dd>`).join("")}</dl>`;
}
function inArea(path) { return !S.areaFilter || (path || "/").startsWith(S.areaFilter); }
function renderOverview() {
  const data = S.overview;
  if (!data) return;
  const areas = data.open_by_area.filter((a) => inArea(a.org_path));
  $("o-areas").innerHTML = areas.map((a) => `<tr data-path="${esc(a.org_path)}"><td>${esc(areaName(a.org_path))}</td><td>${a.open}</td>
    <td class="${a.unanswered ? "sla-red" : ""}">${a.unanswered}</td><td>${Object.entries(a.by_kind).map(([k, n]) => `${esc(term("kind", k))} ${n}`).join(" · ")}</td></tr>`).join("");
  $("o-areas-empty").hidden = areas.length > 0;
  const item = (x, extra) => `<li><a href="#" data-resident="${esc(x.resident_id)}">${esc(x.name)}</a> <small>${esc(areaName(x.org_path))}</small> ${extra}</li>`;
  const fill = (id, rows, extra) => { const shown = rows.filter((x) => inArea(x.org_path)); $(id).innerHTML = shown.map((x) => item(x, extra(x))).join("") || noneItem(); $(`${id}-n`).textContent = `(${shown.length})`; };
  fill("o-offline", data.devices.offline, (x) => `${esc(term("device", x.type))} ${esc(x.device_id)} · ${esc(x.not_sensing
    ? t("overview.not_sensing", { time: I18N.time(x.last_sensed) || t("common.never") })
    : x.stuck_pad ? t("overview.stuck_pad", { time: I18N.time(x.reported) })
    : t("overview.last_seen", { time: I18N.time(x.last_seen) || t("common.never") }))}`);
  fill("o-battery", data.devices.low_battery, (x) => `${esc(term("device", x.type))} ${esc(x.device_id)} · <b class="sla-red">${x.battery}%</b>`);
  fill("o-unmonitored", data.residents.unmonitored, (x) => esc(term("unmonitored", x.reason)));
  fill("o-quiet", data.residents.no_activity_today, () => "");
  fill("o-gaps", data.residents.sensing_gaps || [], (x) => esc(x.gaps.map((gap) => term("gap_short", gap)).join(" · ")));
  renderTree();
}
function renderTree() {
  const paths = new Set(["/"]);
  for (const p of Object.values(S.orgPaths)) { let acc = "/"; for (const code of p.split("/").filter(Boolean)) { acc += `${code}/`; paths.add(acc); } }
  const open = (path) => (S.overview?.open_by_area || []).filter((a) => (a.org_path || "/").startsWith(path)).reduce((n, a) => n + a.open, 0);
  $("o-tree").innerHTML = [...paths].sort().map((p) => {
    const depth = p.split("/").filter(Boolean).length;
    return `<li style="--depth:${depth}"><button type="button" class="link${S.areaFilter === p || (!S.areaFilter && p === "/") ? " on" : ""}" data-area="${esc(p)}">${esc(areaName(p))}</button> <span class="count">${open(p)}</span></li>`;
  }).join("");
}

// ---- the websocket: snapshot, then events; reconnect with a fresh snapshot ----
function setStatus(name) { $("status").textContent = t(`status.${name}`); $("status").className = `status ${name}`; $("status").dataset.state = name; }
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws/console?token=${encodeURIComponent(S.token)}`);
  S.socket = socket;
  socket.onopen = () => { S.retry = 500; S.lastMessage = Date.now(); };
  socket.onmessage = (msg) => {
    S.lastMessage = Date.now();
    const data = JSON.parse(msg.data);
    if (data.type === "snapshot") {
      setStatus("live");
      S.alerts = new Map(data.alerts.map((a) => [a.id, a]));
      S.user = data.user; $("who").textContent = data.user;
      if (S.selected && !S.alerts.has(S.selected)) closeDetail();
      renderQueue(); renderDetailHead(); ring(); return;
    }
    if (!data.alert) return;
    // An alert announced while the database was away comes again, same id, once stored: one page, not two.
    const known = S.alerts.has(data.alert.id);
    const moved = !S.alerts.get(data.alert.id)?.details?.moving_again && data.alert.details?.moving_again;
    upsert(data.alert);
    if (moved && data.alert.id === S.selected) renderTrigger(S.alerts.get(data.alert.id)); // the resident moves again
    if ((data.type === "alert.raised" && !known) || data.type === "alert.repeated" || data.type === "alert.escalated") ring();
    if (data.actor && data.actor !== S.user && data.actor !== "system" && data.alert.id === S.selected) toast(t("event.by_other", { who: data.actor, what: term("event", data.type) }));
    if (S.view === "overview") scheduleOverview();
    if (data.alert.responder && !S.responders.has(data.alert.responder)) loadResponderDirectory().then(() => renderDetailHead());
    if (data.alert.id === S.selected && data.type !== "alert.raised") loadTrail(S.selected);
  };
  socket.onclose = (event) => {
    if (S.socket !== socket) return;
    setStatus("reconnecting");
    if (event.code === 4401 || event.code === 4403) { signOut(); return; }
    setTimeout(() => { if (S.token && S.socket === socket) connect(); }, S.retry);
    S.retry = Math.min(S.retry * 2, 8000);
  };
}
// a silent connection (network dropped without a close) is detected by the ping going unanswered
setInterval(() => {
  const socket = S.socket;
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  if (Date.now() - S.lastMessage > 30000) { socket.close(); return; }
  socket.send(JSON.stringify({ type: "ping" }));
}, 10000);
let overviewTimer = null;
function scheduleOverview() { clearTimeout(overviewTimer); overviewTimer = setTimeout(loadOverview, 500); }
setInterval(() => { if (S.token && S.view === "overview") loadOverview(); }, 20000);

// ---- views, sign in and out ----
function route() {
  const hash = location.hash.slice(1);
  S.view = hash === "overview" ? "overview" : "queue";
  document.body.dataset.view = S.token ? S.view : "login";
  $("view-queue").hidden = !S.token || S.view !== "queue";
  $("view-overview").hidden = !S.token || S.view !== "overview";
  document.querySelectorAll("#tabs a").forEach((a) => a.classList.toggle("on", a.dataset.view === S.view));
  if (S.token && S.view === "overview") loadOverview();
  if (S.token && hash.startsWith("alert=")) {
    const id = hash.slice(6);
    if (S.alerts.has(id)) openDetail(id); else S.pendingDetail = id;
  }
}
function signOut() {
  sessionStorage.removeItem("token"); S.token = null;
  if (S.socket) { const s = S.socket; S.socket = null; s.close(); }
  setStatus("offline"); show();
}
async function loadSettings() {
  try {
    const settings = await (await fetch("/api/v1/console/settings")).json();
    I18N.setOffset(Number(settings.home_utc_offset_min));
  } catch (e) { /* keep the default (UTC+8) */ }
  $("zone").textContent = I18N.zone();
}
async function show() {
  $("login").hidden = !!S.token; $("tabs").hidden = !S.token; $("mute").hidden = !S.token; $("signout").hidden = !S.token;
  $("status").hidden = !S.token; // "offline" before signing in is not news
  await settingsLoaded;
  route();
  if (S.token) { await discover(); loadResponderDirectory(); renderQueue(); connect(); if (S.view === "overview") loadOverview(); }
}
$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  audioContext(); // a user gesture: the browser lets this page make sound from now on
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  if (!response.ok) { $("login-error").textContent = t(response.status === 429 ? "auth.throttled" : "auth.failed"); return; }
  S.token = (await response.json()).access_token; sessionStorage.setItem("token", S.token); show();
});
$("signout").addEventListener("click", signOut);
$("alerts").addEventListener("click", (event) => {
  const ack = event.target.closest("button.ack");
  if (ack) { event.stopPropagation(); act("ack", ack.dataset.id); return; }
  const row = event.target.closest("li.alert");
  if (row) openDetail(row.dataset.id);
});
$("alerts").addEventListener("keydown", (event) => { const row = event.target.closest("li.alert"); if (row && event.key === "Enter") openDetail(row.dataset.id); });
$("detail").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && S.selected) { act(button.dataset.action, S.selected, button.dataset.reached ? { reached: button.dataset.reached === "true" } : {}); return; }
  const mark = event.target.closest("button.mark");
  if (mark && S.selected) {
    const key = `marks:${S.selected}`, marks = JSON.parse(localStorage.getItem(key) || "{}"), k = `${mark.dataset.index}:${mark.dataset.mark}`;
    marks[k] = !marks[k]; localStorage.setItem(key, JSON.stringify(marks)); mark.classList.toggle("on", marks[k]);
    const contact = S.detail.contacts?.[Number(mark.dataset.index)];
    if (marks[k] && contact && has("note")) call("note", S.selected, { body: { note: t(`contact.${mark.dataset.mark}_note`, { name: contact.name ?? "", phone: contact.phone ?? "" }) } }).then(() => loadTrail(S.selected));
  }
});
$("d-close").addEventListener("click", closeDetail);
$("o-tree").addEventListener("click", (event) => {
  const b = event.target.closest("[data-area]"); if (!b) return;
  S.areaFilter = b.dataset.area === "/" ? null : b.dataset.area; renderOverview(); renderQueue();
});
$("area-filter-clear").addEventListener("click", () => { S.areaFilter = null; renderQueue(); renderOverview(); });
$("view-overview").addEventListener("click", (event) => {
  const a = event.target.closest("[data-resident]"); if (!a) return;
  event.preventDefault();
  const open = [...S.alerts.values()].find((x) => x.resident_id === a.dataset.resident);
  if (open) location.hash = `#alert=${open.id}`;
});
$("mute").addEventListener("click", () => {
  S.muted = !S.muted; sessionStorage.setItem("muted", S.muted ? "1" : "0");
  $("mute").textContent = t(S.muted ? "sound.unmute" : "sound.mute"); $("mute").setAttribute("aria-pressed", String(S.muted));
  document.body.classList.toggle("muted", S.muted);
});
$("enable-sound").addEventListener("click", () => { audioContext(); $("enable-sound").hidden = true; });
document.addEventListener("click", () => { if (audio && audio.state === "suspended") audio.resume(); }, { capture: true });
document.querySelectorAll(".lang a").forEach((a) => a.addEventListener("click", (event) => {
  event.preventDefault(); location.href = `?lang=${a.dataset.lang}${location.hash}`;
}));
window.addEventListener("hashchange", route);
new MutationObserver(() => { if (S.pendingDetail && S.alerts.has(S.pendingDetail)) { const id = S.pendingDetail; S.pendingDetail = null; openDetail(id); } })
  .observe($("alerts"), { childList: true });
$("mute").textContent = t(S.muted ? "sound.unmute" : "sound.mute");
document.body.classList.toggle("muted", S.muted);
window.eldercareConsole = { state: S, act, openDetail, drop: () => S.socket && S.socket.close() };
const settingsLoaded = loadSettings();
show();
