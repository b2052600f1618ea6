// The care dashboard: the indicators of the reader's area for a month (visit rate, coverage, home care
// beds, care calls, alert answer times) with today's work (overdue visits, calls due, assessments due),
// per child area with a drill-down, a chart, and the month's indicators as CSV or XLSX. Strings come
// from care.i18n.<lang>.json, embedded by the server; the token is the console's (sessionStorage).
"use strict";
const T = JSON.parse(document.getElementById("care-i18n").textContent);
function t(key, vars) {
  const text = key in T ? T[key] : key;
  return vars ? text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m)) : text;
}
const query = new URLSearchParams(location.search);
const S = { token: sessionStorage.getItem("token"), area: query.get("area"), month: query.get("month"), offsetMin: 480, chart: null };
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

async function fetchAuthorised(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${S.token}` } });
  if (response.status === 401) { signOut(); throw new Error(t("login.failed")); }
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new Error(typeof data.detail === "string" ? data.detail : `${t("error")} ${response.status}`);
  }
  return response;
}

const pct = (share) => (share == null ? t("none") : `${(share * 100).toFixed(1)}%`);
const ratio = (n, of) => (of ? n / of : null);
const pad = (n) => String(n).padStart(2, "0");
function localTime(iso) {  // the homes' wall clock (the server's offset), never the browser's zone
  const d = new Date(Date.parse(iso) + S.offsetMin * 60000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
function params() {
  const p = new URLSearchParams();
  if (S.month) p.set("month", S.month);
  if (S.area) p.set("area", S.area);
  return p;
}

// -- the figures --

function kpi(label, value, detail, tone = "") {
  return el("div", { class: `kpi ${tone}`, "data-kpi": label }, el("div", { class: "label" }, t(label)),
    el("div", { class: "value" }, value), el("div", { class: "muted" }, detail));
}

function renderKpis(data) {
  const total = data.total, today = data.today.total, alerts = total.alerts || {}, orders = total.orders || {};
  const rate = total.visit_rate;
  const rateTone = rate == null ? "" : rate >= 1 ? "good" : rate >= 0.9 ? "warn" : "bad";
  $("#kpis").replaceChildren(
    kpi("kpi.visit_rate", pct(rate), t("kpi.visited_of", { visited: total.visited, due: total.visits_due }), rateTone),
    kpi("kpi.overdue", String(today.overdue), t("kpi.due_soon", { n: today.due_soon }), today.overdue ? "bad" : "good"),
    kpi("kpi.calls_due", String(today.calls_due), t("kpi.calls_made", { calls: total.calls, reached: total.calls_reached })),
    kpi("kpi.assessments_due", String(today.assessments_due), t("kpi.assessments_hint"), today.assessments_due ? "warn" : ""),
    kpi("kpi.enrolment", pct(total.enrolment), t("kpi.enrolment_of", { n: total.residents, of: total.population })),
    kpi("kpi.coverage", pct(total.device_coverage), t("kpi.coverage_of", { n: total.with_devices, of: total.residents })),
    kpi("kpi.beds", pct(ratio(total.beds_compliant, total.beds)), t("kpi.beds_of", { n: total.beds_compliant, of: total.beds })),
    kpi("kpi.answer", pct(alerts.within_60s), t("kpi.answer_of", { alerts: alerts.alerts ?? 0, p50: alerts.answer_p50_s ?? t("none") })),
    kpi("kpi.orders", pct(orders.on_time_rate), t("kpi.orders_of", { orders: orders.orders ?? 0, completed: orders.completed ?? 0, rating: orders.rating ?? t("none") })),
  );
}

function rows(data) {
  const today = new Map(data.today.areas.map((a) => [a.code, a]));
  const codes = [...new Set([...data.areas.map((a) => a.code), ...today.keys()])].sort();
  const blank = { overdue: 0, calls_due: 0, assessments_due: 0 };
  return codes.map((code) => ({ code, entry: data.areas.find((a) => a.code === code) || null, today: today.get(code) || blank }));
}

function cells(entry, today) {
  const e = entry || { visits_due: 0, visited: 0, beds: 0, beds_compliant: 0, calls: 0, calls_reached: 0, alerts: {}, orders: {} };
  return [
    el("td", {}, pct(e.visit_rate)), el("td", {}, `${e.visited} / ${e.visits_due}`),
    el("td", {}, el("span", { class: today.overdue ? "overdue" : "" }, today.overdue)), el("td", {}, today.calls_due),
    el("td", {}, today.assessments_due), el("td", {}, pct(e.enrolment)), el("td", {}, pct(e.device_coverage)),
    el("td", {}, `${e.beds_compliant} / ${e.beds}`), el("td", {}, `${e.calls_reached} / ${e.calls}`),
    el("td", {}, pct((e.alerts || {}).within_60s)),
    el("td", {}, `${pct((e.orders || {}).on_time_rate)} (${(e.orders || {}).orders ?? 0})`),
  ];
}

function renderTable(data) {
  const body = rows(data).map(({ code, entry, today }) => {
    const name = code === "" ? t("unassigned") : (entry && entry.name) || code;
    const label = code === "" ? el("span", {}, name) : el("button", { type: "button", class: "link", "data-area": code, onclick: () => load(code) }, name);
    return el("tr", { "data-code": code }, el("td", {}, label), ...cells(entry, today));
  });
  $("#areas tbody").replaceChildren(...(body.length ? body : [el("tr", {}, el("td", { colspan: 12 }, t("empty")))]));
  $("#areas tfoot").replaceChildren(el("tr", {}, el("td", {}, t("col.total")), ...cells(data.total, data.today.total)));
}

function renderChart(data) {
  const areas = rows(data).filter((row) => row.entry);
  const labels = areas.map(({ code, entry }) => (code === "" ? t("unassigned") : entry.name || code));
  const percent = (value) => (value == null ? null : Math.round(value * 1000) / 10);
  const config = {
    type: "bar",
    data: { labels, datasets: [
      { label: t("chart.visit_rate"), data: areas.map((a) => percent(a.entry.visit_rate)), backgroundColor: "#14325c" },
      { label: t("chart.coverage"), data: areas.map((a) => percent(a.entry.device_coverage)), backgroundColor: "#5b9bd5" },
    ] },
    options: { animation: false, responsive: true, maintainAspectRatio: false,
      scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v}%` } } },
      plugins: { title: { display: true, text: t("chart.target") } } },
  };
  if (S.chart) S.chart.destroy();
  S.chart = new Chart($("#chart"), config);
}

function renderTrail(data) {
  const trail = data.trail.map((node, i) => (i === data.trail.length - 1
    ? el("span", { "data-area": node.code, "aria-current": "page" }, node.name)
    : el("button", { type: "button", class: "link", "data-area": node.code, onclick: () => load(node.code) }, node.name)));
  $("#trail").replaceChildren(...trail.flatMap((node, i) => (i ? [el("span", { class: "sep" }, "›"), node] : [node])));
}

// -- loading, downloading --

async function load(area) {
  if (area !== undefined) S.area = area;
  document.body.dataset.state = "loading";
  $("#status").textContent = t("loading");
  try {
    const data = await (await fetchAuthorised(`/api/v1/care/dashboard?${params()}`)).json();
    S.month = data.month;
    $("#month").value = data.month; $("#month").max = data.this_month;
    history.replaceState(null, "", `?${new URLSearchParams({ ...Object.fromEntries(params()), ...(query.get("lang") ? { lang: query.get("lang") } : {}) })}`);
    renderTrail(data); renderKpis(data); renderTable(data); renderChart(data);
    $("#status").textContent = t("as_of", { time: localTime(data.today.as_of) });
    document.body.dataset.state = "ready";
  } catch (error) {
    $("#status").textContent = error.message;
    document.body.dataset.state = "error";
  }
}

async function download(kind) {
  try {
    const blob = await (await fetchAuthorised(`/api/v1/care/indicators.${kind}?${params()}`)).blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: `indicators-${S.month}${S.area ? `-${S.area}` : ""}.${kind}` });
    document.body.append(link); link.click(); link.remove();
  } catch (error) { $("#status").textContent = error.message; }
}

// -- signing in --

function signOut() { sessionStorage.removeItem("token"); S.token = null; show(); }

async function signIn(event) {
  event.preventDefault();
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  if (!response.ok) { $("#login-error").textContent = t("login.failed"); return; }
  S.token = (await response.json()).access_token; sessionStorage.setItem("token", S.token); show();
}

async function show() {
  $("#login").hidden = Boolean(S.token); $("#app").hidden = !S.token; $("#signout").hidden = !S.token;
  document.body.dataset.state = S.token ? "loading" : "login";
  if (!S.token) return;
  const settings = await fetch("/api/v1/console/settings").then((r) => r.json()).catch(() => ({}));
  if (Number.isFinite(settings.home_utc_offset_min)) S.offsetMin = settings.home_utc_offset_min;
  await load();
}

$("#login").addEventListener("submit", signIn);
$("#signout").addEventListener("click", signOut);
$("#refresh").addEventListener("click", () => load());
$("#month").addEventListener("change", (event) => { S.month = event.target.value; load(); });
$("#download-csv").addEventListener("click", () => download("csv"));
$("#download-xlsx").addEventListener("click", () => download("xlsx"));
show();
