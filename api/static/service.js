// The 12349 service centre page: take a call (who is calling, their alerts and orders, raise an alert
// or take an order), the order board of the caller's area with each order's next steps, the provider
// directory. Strings come from service.i18n.<lang>.json, embedded by the server.
"use strict";
const T = JSON.parse(document.getElementById("service-i18n").textContent);
const t = (key) => (key in T ? T[key] : key);
const S = { token: sessionStorage.getItem("token"), call: null, resident: null, menu: [], providers: [] };
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

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${S.token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (response.status === 401) { signOut(); throw new Error(t("error")); }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `${t("error")} ${response.status}`);
  return data;
}

const itemName = (id) => (S.menu.flatMap((c) => c.items).find((i) => i.id === id) || { name: id }).name;
const providerName = (id) => (S.providers.find((p) => p.id === id) || { name: id }).name;
const yuan = (fen) => `¥${(fen / 100).toFixed(2)}`;
const when = (iso) => new Date(iso).toLocaleString(document.documentElement.lang === "zh" ? "zh-CN" : "en-GB",
  { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
const say = (text, error = false) => { const s = $("#call-status"); s.textContent = text; s.className = error ? "error" : ""; };

// -- the call panel --

async function takeCall(event) {
  event.preventDefault();
  const number = $("#call-number").value.trim();
  try {
    S.call = await api("POST", "/api/v1/calls", { number, category: $("#call-category").value });
    const card = await api("GET", `/api/v1/calls/caller?number=${encodeURIComponent(number)}`);
    showCaller(card);
  } catch (error) { say(error.message, true); }
}

function showCaller(card) {
  const box = $("#caller"); box.replaceChildren();
  S.resident = card.residents.length === 1 ? card.residents[0] : null;
  if (!card.residents.length) { box.append(el("p", {}, t("call.none"))); $("#order-form").hidden = true; return; }
  for (const resident of card.residents) {
    const alerts = resident.open_alerts.map((a) => el("li", {}, `${a.kind} · ${a.state}`));
    const orders = resident.open_orders.map((o) => el("li", {}, `${when(o.scheduled_at)} ${itemName(o.item_id)} · ${t(`state.${o.state}`)}`));
    box.append(el("div", { class: "resident-card", "data-resident": resident.id },
      el("strong", {}, resident.name), " ", resident.phone, el("br"), resident.address,
      el("p", {}, t("call.alerts"), el("ul", {}, ...alerts)),
      el("p", {}, t("call.orders"), el("ul", {}, ...orders)),
      el("button", { type: "button", class: "warn", id: "raise-alert", onclick: raiseAlert }, t("call.raise")),
      el("button", { type: "button", id: "take-order", onclick: () => { $("#order-form").hidden = false; } }, t("call.order"))));
  }
}

async function raiseAlert() {
  try {
    await api("POST", `/api/v1/calls/${S.call.id}/alert`, { note: "" });
    say(t("call.raised"));
  } catch (error) { say(error.message, true); }
}

function fillOrderForm() {
  const items = S.menu.flatMap((category) => category.items);
  $("#order-item").replaceChildren(...items.map((i) => el("option", { value: i.id }, `${i.name} (${i.unit})`)));
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
    if (S.call) await api("PATCH", `/api/v1/calls/${S.call.id}`, { order_id: order.id });
    say(`${t("order.placed")}: ${yuan(order.total_fen)} / ${yuan(order.subsidy_fen)} / ${yuan(order.resident_fen)}`);
    $("#order-form").hidden = true;
    await loadBoard();
  } catch (error) { say(error.message, true); }
}

// -- the order board --

const NEXT = {
  requested: ["accept", "refuse", "cancel"], accepted: ["assign", "cancel"], assigned: ["check_in", "cancel"],
  checked_in: ["complete"], completed: ["rate"],
};

async function act(order, action) {
  const path = `/api/v1/orders/${order.id}/${action.replace("_", "-")}`;
  let body;
  if (action === "assign") body = { worker: prompt(t("prompt.worker")) || "" };
  if (action === "rate") body = { rating: Number(prompt(t("prompt.rating"), "5")) };
  if (action === "cancel" || action === "refuse") body = { reason: prompt(t("prompt.reason")) || "" };
  try { await api("POST", path, body); } catch (error) { alert(error.message); }
  await loadBoard();
}

async function loadBoard() {
  const since = new Date(Date.now() - 12 * 3600e3).toISOString();  // today's board, not the whole history
  const orders = await api("GET", `/api/v1/orders?limit=500&from=${encodeURIComponent(since)}`);
  const rows = orders.map((o) => el("tr", { "data-order": o.id, "data-state": o.state },
    el("td", {}, when(o.scheduled_at)), el("td", {}, o.resident ? o.resident.name : o.resident_id),
    el("td", {}, `${itemName(o.item_id)} × ${o.quantity}`), el("td", {}, providerName(o.provider_id)),
    el("td", {}, t(`state.${o.state}`), ...(o.missed.length ? [el("span", { class: "missed" }, ` ${t("missed")}: ${o.missed.join(", ")}`)] : [])),
    el("td", {}, `${yuan(o.total_fen)} / ${yuan(o.subsidy_fen)} / ${yuan(o.resident_fen)}`),
    el("td", {}, ...(NEXT[o.state] || []).map((action) =>
      el("button", { type: "button", "data-action": action, onclick: () => act(o, action) }, t(`act.${action}`))))));
  $("#board tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 7 }, t("board.empty")))]));
}

async function loadDirectory() {
  S.menu = await api("GET", "/api/v1/service-menu");
  S.providers = await api("GET", "/api/v1/providers");
  $("#providers tbody").replaceChildren(...S.providers.map((p) => el("tr", {},
    el("td", {}, p.name), el("td", {}, p.licence),
    el("td", {}, p.offers.map((o) => `${itemName(o.item_id)} ${yuan(o.price_fen)}`).join("，")),
    el("td", {}, p.rating == null ? "—" : `${p.rating} (${p.ratings})`))));
  fillOrderForm();
}

// -- signing in --

function signOut() { sessionStorage.removeItem("token"); S.token = null; show(); }

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(form) });
  if (!response.ok) { $("#login-error").textContent = t("error"); return; }
  S.token = (await response.json()).access_token; sessionStorage.setItem("token", S.token); show();
}

async function show() {
  $("#login").hidden = Boolean(S.token); $("#app").hidden = !S.token; $("#signout").hidden = !S.token;
  if (!S.token) return;
  await loadDirectory();
  await loadBoard();
}

$("#call-category").replaceChildren(...["service_request", "emergency", "consultation", "complaint", "care_call"]
  .map((c) => el("option", { value: c }, t(`cat.${c}`))));
$("#login").addEventListener("submit", signIn);
$("#call-form").addEventListener("submit", takeCall);
$("#order-form").addEventListener("submit", placeOrder);
$("#refresh").addEventListener("click", loadBoard);
$("#signout").addEventListener("click", signOut);
show();
