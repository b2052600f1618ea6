// The 12349 service centre page: take a call (who is calling, their alerts and orders, raise an alert
// or take an order), the order board of an area, live through the console's websocket, with each
// order's next steps and phone links, the provider directory, the order reports with CSV/XLSX export.
// Strings come from service.i18n.<lang>.json (and the console's alert words), embedded by the server.
"use strict";
const T = JSON.parse(document.getElementById("service-i18n").textContent);
const t = (key) => (key in T ? T[key] : key);
const term = (prefix, code) => (`${prefix}.${code}` in T ? T[`${prefix}.${code}`] : String(code ?? ""));
const EN = document.documentElement.lang === "en";
const S = {
  token: sessionStorage.getItem("token"), call: null, resident: null, number: "", menu: [], providers: [],
  orders: new Map(), since: null, area: "", areas: [], socket: null, retry: 500,
};
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  return node;
}

async function request(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${S.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) { signOut(); throw new Error(t("error")); }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new Error(typeof data.detail === "string" ? data.detail : `${t("error")} ${response.status}`);
  }
  return response;
}
const api = async (method, path, body) => (await request(method, path, body)).json();

const items = () => S.menu.flatMap((c) => c.items);
const named = (thing) => (EN && thing.name_en ? thing.name_en : thing.name);
const itemName = (id) => { const item = items().find((i) => i.id === id); return item ? named(item) : id; };
const categoryName = (code) => { const c = S.menu.find((x) => x.code === code); return c ? named(c) : code; };
const providerName = (id) => (S.providers.find((p) => p.id === id) || { name: id }).name;
const areaName = (code) => (S.areas.find((a) => a.code === code) || { name: code ?? "—" }).name;
const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`;
const when = (iso) => new Date(iso).toLocaleString(EN ? "en-GB" : "zh-CN",
  { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
const say = (text, error = false) => { const s = $("#call-status"); s.textContent = text; s.className = error ? "error" : ""; };

// -- the call panel --

async function takeCall(event) {
  event.preventDefault();
  const number = $("#call-number").value.trim();
  try {
    S.call = await api("POST", "/api/v1/calls", { number, category: $("#call-category").value });
    S.number = number;
    await showCaller();
  } catch (error) { say(error.message, true); }
}

async function showCaller() {
  const card = await api("GET", `/api/v1/calls/caller?number=${encodeURIComponent(S.number)}`);
  const box = $("#caller"); box.replaceChildren();
  S.resident = card.residents.length === 1 ? card.residents[0] : null;
  if (!card.residents.length) { box.append(el("p", {}, t("call.none"))); $("#order-form").hidden = true; return; }
  for (const resident of card.residents) {
    const alerts = resident.open_alerts.map((a) => el("li", {}, `${term("alert.kind", a.kind)} · ${term("alert.state", a.state)}`));
    const orders = resident.open_orders.map((o) => el("li", {}, `${when(o.scheduled_at)} ${itemName(o.item_id)} · ${t(`state.${o.state}`)}`));
    box.append(el("div", { class: "resident-card", "data-resident": resident.id },
      el("strong", {}, resident.name), " ", resident.phone, el("br"), resident.address,
      el("p", {}, t("call.alerts"), el("ul", {}, ...alerts)),
      el("p", {}, t("call.orders"), el("ul", { class: "open-orders" }, ...orders)),
      el("button", { type: "button", class: "warn", id: "raise-alert", onclick: raiseAlert }, t("call.raise")),
      el("button", { type: "button", id: "take-order", onclick: () => { $("#order-form").hidden = false; } }, t("call.order"))));
  }
}

async function raiseAlert() {
  try {
    await api("POST", `/api/v1/calls/${S.call.id}/alert`, { note: "" });
    say(t("call.raised"));
    await showCaller();
  } catch (error) { say(error.message, true); }
}

function fillOrderForm() {
  $("#order-item").replaceChildren(...items().map((i) => el("option", { value: i.id }, `${named(i)} (${i.unit})`)));
  const update = () => {
    const item = $("#order-item").value;
    const offering = S.providers.filter((p) => p.offers.some((o) => o.item_id === item));
    $("#order-provider").replaceChildren(...offering.map((p) => {
      const offer = p.offers.find((o) => o.item_id === item);
      return el("option", { value: p.id }, `${p.name} ${yuan(offer.price_fen)}`);
    }));
  };
  $("#order-item").onchange = update; update();
  const soon = new Date(Date.now() + 2 * 3600e3 - new Date().getTimezoneOffset() * 60e3);
  $("#order-when").value = soon.toISOString().slice(0, 16);
}

async function placeOrder(event) {
  event.preventDefault();
  if (!S.resident) return;
  try {
    const order = await api("POST", "/api/v1/orders", {
      resident_id: S.resident.id, item_id: $("#order-item").value, provider_id: $("#order-provider").value,
      scheduled_at: new Date($("#order-when").value).toISOString(), quantity: Number($("#order-quantity").value),
      call_id: S.call ? S.call.id : null,
    });
    say(`${t("order.placed")}: ${yuan(order.total_fen)} / ${yuan(order.subsidy_fen)} / ${yuan(order.resident_fen)}`);
    $("#order-form").hidden = true;
    upsert(order);
    if (S.call) await api("PATCH", `/api/v1/calls/${S.call.id}`, { order_id: order.id });
  } catch (error) { say(error.message, true); }
}

// -- the order board: loaded once per (re)connection, then kept live by the websocket's order events --

const NEXT = {
  requested: ["accept", "refuse", "cancel", "desk_link"], accepted: ["assign", "cancel", "desk_link"],
  assigned: ["check_in", "cancel", "worker_link"], checked_in: ["complete", "worker_link"], completed: ["rate"],
};
const LINKS = { desk_link: "desk-link", worker_link: "worker-link" };

async function act(order, action) {
  try {
    if (action in LINKS) { await showLink(order, action); return; }
    const path = `/api/v1/orders/${order.id}/${action.replace("_", "-")}`;
    let body;
    if (action === "assign") body = { worker: prompt(t("prompt.worker")) || "" };
    if (action === "rate") body = { rating: Number(prompt(t("prompt.rating"), "5")) };
    if (action === "cancel" || action === "refuse") body = { reason: prompt(t("prompt.reason")) || "" };
    upsert(await api("POST", path, body));
  } catch (error) { alert(error.message); }
}

async function showLink(order, action) {
  const body = action === "desk_link" ? { username: prompt(t("prompt.desk")) || null } : undefined;
  const link = await api("POST", `/api/v1/orders/${order.id}/${LINKS[action]}`, body);
  const box = $("#link");
  box.replaceChildren(el("span", {}, `${t(`act.${action}`)} (${link.username || link.worker}): `),
    el("a", { href: link.url, target: "_blank", rel: "noopener" }, link.url));
  box.hidden = false;
}

function inView(order) {
  if (S.since && new Date(order.scheduled_at) < S.since) return false;
  if (!S.area) return true;
  const path = (S.areas.find((a) => a.code === S.area) || {}).path;
  return !path || order.org_path.startsWith(path);
}

// An order only moves forward, so of two copies (a click's answer, the feed's event) the further one
// is the newer: an event that arrives after the answer to a later click must not take the row back.
const RANK = { requested: 0, accepted: 1, assigned: 2, checked_in: 3, completed: 4, rated: 5, cancelled: 6, refused: 6 };
const progress = (o) => [RANK[o.state], o.assigned_at || "", o.missed.length];
const older = (a, b) => { const [x, y] = [progress(a), progress(b)]; for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i]; return false; };

function upsert(order) {
  if (!inView(order) && !S.orders.has(order.id)) return;
  const known = S.orders.get(order.id);
  if (known && older(order, known)) return;
  S.orders.set(order.id, order);
  renderBoard(order.id);
  if (S.resident && order.resident_id === S.resident.id && S.number) showCaller().catch(() => {});
}

async function loadBoard() {
  S.since = new Date(Date.now() - 12 * 3600e3);  // today's board, not the whole history
  const area = S.area ? `&area=${encodeURIComponent(S.area)}` : "";
  const orders = await api("GET", `/api/v1/orders?limit=500&from=${encodeURIComponent(S.since.toISOString())}${area}`);
  S.orders = new Map(orders.map((o) => [o.id, o]));
  renderBoard();
}

function renderBoard(changed) {
  const orders = [...S.orders.values()].sort((a, b) => a.scheduled_at.localeCompare(b.scheduled_at) || a.id.localeCompare(b.id));
  const rows = orders.map((o) => el("tr", { "data-order": o.id, "data-state": o.state, class: o.id === changed ? "changed" : "" },
    el("td", {}, when(o.scheduled_at)), el("td", {}, o.resident ? o.resident.name : o.resident_id),
    el("td", {}, `${itemName(o.item_id)} × ${o.quantity}`), el("td", {}, providerName(o.provider_id)),
    el("td", {}, t(`state.${o.state}`), ...(o.missed.length ? [el("span", { class: "missed" }, ` ${t("missed")}: ${o.missed.map((m) => t(`deadline.${m}`)).join(", ")}`)] : [])),
    el("td", {}, `${yuan(o.total_fen)} / ${yuan(o.subsidy_fen)} / ${yuan(o.resident_fen)}`),
    el("td", {}, ...(NEXT[o.state] || []).map((action) =>
      el("button", { type: "button", "data-action": action, onclick: () => act(o, action) }, t(`act.${action}`))))));
  $("#board tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, t("board.empty")))]));
}

// -- live: the console's websocket with the order events of the operator's area --

function setLive(state) { const s = $("#live"); s.textContent = t(`live.${state}`); s.dataset.state = state; s.className = `status ${state}`; }

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws/console?orders=1&token=${encodeURIComponent(S.token)}`);
  S.socket = socket;
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "snapshot") {  // subscribed before this: nothing is missed between the load and the feed
      S.retry = 500;
      loadBoard().then(() => setLive("live")).catch((error) => say(error.message, true));
      return;
    }
    if (data.order) upsert(data.order);
  };
  socket.onclose = (event) => {
    if (S.socket !== socket) return;
    setLive("reconnecting");
    if (event.code === 4401) { signOut(); return; }
    if (event.code === 4403) { setLive("off"); loadBoard().catch((error) => say(error.message, true)); return; }  // a provider's desk: no live feed
    setTimeout(() => { if (S.token && S.socket === socket) connect(); }, S.retry);
    S.retry = Math.min(S.retry * 2, 8000);
  };
}
setInterval(() => { if (S.socket && S.socket.readyState === WebSocket.OPEN) S.socket.send(JSON.stringify({ type: "ping" })); }, 15000);

// -- the directory, the areas, the reports --

async function loadDirectory() {
  S.menu = await api("GET", "/api/v1/service-menu");
  S.providers = await api("GET", "/api/v1/providers");
  $("#providers tbody").replaceChildren(...S.providers.map((p) => el("tr", {},
    el("td", {}, p.name), el("td", {}, p.licence),
    el("td", {}, p.offers.map((o) => `${itemName(o.item_id)} ${yuan(o.price_fen)}`).join(EN ? ", " : "，")),
    el("td", {}, p.rating == null ? "—" : `${p.rating} (${p.ratings})`))));
  fillOrderForm();
}

async function loadAreas() {
  try { S.areas = (await api("GET", "/api/v1/orgs?limit=200")).items; } catch { S.areas = []; }
  $("#area").replaceChildren(el("option", { value: "" }, t("board.all_areas")), ...S.areas.map((a) =>
    el("option", { value: a.code }, `${"\u00a0\u00a0".repeat(a.path.split("/").length - 3)}${a.name}`)));
  $("#area").hidden = S.areas.length < 2;
}

const REPORT_COLUMNS = [
  ["orders", (v) => v], ["completed", (v) => v], ["on_time_rate", (v) => (v == null ? "—" : `${(v * 100).toFixed(1)}%`)],
  ["rating", (v) => v ?? "—"], ["subsidy_fen", yuan], ["resident_fen", yuan],
];
// an order at the caller's own node (not under one of its children) has no area key: it is theirs
const KEY_NAMES = { area: (code) => (code == null ? (S.areas[0] || { name: "—" }).name : areaName(code)),
  category: categoryName, provider: providerName, month: (m) => m };

function reportQuery(format) {
  const start = new Date(`${$("#report-from").value}T00:00`), end = new Date(`${$("#report-to").value}T00:00`);
  end.setDate(end.getDate() + 1);
  return `/api/v1/reports/orders?by=${$("#report-by").value}&from=${encodeURIComponent(start.toISOString())}`
    + `&to=${encodeURIComponent(end.toISOString())}${format ? `&format=${format}` : ""}`;
}

async function loadReport(event) {
  if (event) event.preventDefault();
  try {
    const report = await api("GET", reportQuery());
    const keys = report.keys;
    const head = el("tr", {}, ...keys.map((k) => el("th", {}, t(`report.${k}`))), ...REPORT_COLUMNS.map(([c]) => el("th", {}, t(`report.${c}`))));
    const line = (group, label) => el("tr", label ? { class: "total" } : {},
      ...keys.map((k, i) => el("td", {}, label ? (i === 0 ? label : "") : KEY_NAMES[k](group[k]))),
      ...REPORT_COLUMNS.map(([c, show]) => el("td", {}, show(group[c]))));
    const rows = report.groups.map((g) => line(g));
    if (report.total && report.total.orders) rows.push(line(report.total, t("report.total")));
    $("#report thead").replaceChildren(head);
    $("#report tbody").replaceChildren(...rows);
  } catch (error) { alert(error.message); }
}

async function download(format) {
  try {
    const response = await request("GET", reportQuery(format));
    const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") || "")?.[1] || `orders.${format}`;
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name });
    document.body.append(link); link.click(); link.remove();
  } catch (error) { alert(error.message); }
}

// -- signing in --

function signOut() { sessionStorage.removeItem("token"); S.token = null; if (S.socket) S.socket.close(); S.socket = null; show(); }

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(form) });
  if (!response.ok) { $("#login-error").textContent = t("error"); return; }
  S.token = (await response.json()).access_token; sessionStorage.setItem("token", S.token); show();
}

async function show() {
  $("#login").hidden = Boolean(S.token); $("#app").hidden = !S.token; $("#signout").hidden = !S.token;
  $("#live").hidden = !S.token;
  if (!S.token) return;
  await loadDirectory();
  await loadAreas();
  const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60e3).toISOString().slice(0, 10);
  $("#report-to").value = today;
  $("#report-from").value = `${today.slice(0, 8)}01`;
  setLive("reconnecting");
  connect();
}

$("#call-category").replaceChildren(...["service_request", "emergency", "consultation", "complaint", "care_call"]
  .map((c) => el("option", { value: c }, t(`cat.${c}`))));
$("#report-by").replaceChildren(...["area", "category", "provider", "month", "area_month"]
  .map((by) => el("option", { value: by }, t(`report.by.${by}`))));
$("#login").addEventListener("submit", signIn);
$("#call-form").addEventListener("submit", takeCall);
$("#order-form").addEventListener("submit", placeOrder);
$("#refresh").addEventListener("click", () => loadBoard().catch((error) => say(error.message, true)));
$("#area").addEventListener("change", (event) => { S.area = event.target.value; loadBoard().catch((error) => say(error.message, true)); });
$("#report-form").addEventListener("submit", loadReport);
$("#report-csv").addEventListener("click", () => download("csv"));
$("#report-xlsx").addEventListener("click", () => download("xlsx"));
$("#signout").addEventListener("click", signOut);
show();
