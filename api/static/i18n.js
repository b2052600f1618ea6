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
  function time(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", month: "2-digit", day: "2-digit" });
  }
  return { t, term, load, apply, lang, duration, time };
})();
