// Shared UI strings for the console, family and responder pages: one dictionary per language
// (api/static/i18n.<lang>.json, the same keys in each). Server-rendered pages embed theirs in
// <script id="i18n-data" type="application/json">; others call I18N.load(lang) first.
"use strict";
const I18N = (() => {
  let strings = {};
  const embedded = document.getElementById("i18n-data");
  if (embedded) strings = JSON.parse(embedded.textContent);
  const lang = () => document.documentElement.lang || "en";
  function t(key, vars) {
    let text = Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : `⟦${key}⟧`;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    return text;
  }
  // A translated name for a code (alert kind, state, stream…), or the code itself when unknown.
  function term(prefix, code) {
    const key = `${prefix}.${code}`;
    return Object.prototype.hasOwnProperty.call(strings, key) ? strings[key] : String(code ?? "");
  }
  async function load(language) {
    const response = await fetch(`/api/v1/console/i18n/${language}`);
    strings = await response.json();
    document.documentElement.lang = language;
    return strings;
  }
  // Fill [data-i18n] elements (for pages built in JavaScript).
  function apply(root = document) {
    root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  }
  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds)), m = Math.floor(s / 60), h = Math.floor(m / 60);
    return h ? `${h}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}` : `${m}:${String(s % 60).padStart(2, "0")}`;
  }
  // One time zone everywhere: the homes' (the server's home_utc_offset_min), never the browser's.
  let offsetMin = 480;
  function setOffset(minutes) { if (Number.isFinite(minutes)) offsetMin = minutes; }
  const pad = (n) => String(n).padStart(2, "0");
  const shifted = (ms) => new Date(ms + offsetMin * 60000); // read with getUTC*: the homes' wall clock
  // "2026-12-02 16:05" (with seconds: "2026-12-02 16:05:33"): unambiguous in both languages.
  function time(iso, seconds = false) {
    if (!iso) return "";
    const ms = typeof iso === "number" ? iso : Date.parse(iso);
    if (!Number.isFinite(ms)) return "";
    const d = shifted(ms);
    const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    return `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? `:${pad(d.getUTCSeconds())}` : ""}`;
  }
  const hour = (ms) => shifted(ms).getUTCHours();
  // The start of the homes' day that contains ``ms``, as epoch milliseconds.
  function dayStart(ms) { const d = shifted(ms); d.setUTCHours(0, 0, 0, 0); return d.getTime() - offsetMin * 60000; }
  function zone() { const h = Math.trunc(Math.abs(offsetMin) / 60), m = Math.abs(offsetMin) % 60; return `UTC${offsetMin < 0 ? "−" : "+"}${h}${m ? `:${pad(m)}` : ""}`; }
  return { t, term, load, apply, lang, duration, time, hour, dayStart, zone, setOffset, offset: () => offsetMin };
})();
