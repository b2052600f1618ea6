// Two small SVG charts, no library: the accelerometer trace around a fall's impact and the last
// hours of activity per room. Both return an <svg> element; labels come from the caller (I18N).
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // window: {t0_ms, hz, acc: [[x, y, z] | null, ...]} in g; impactMs: epoch ms of the impact.
  function fallTrace(window, impactMs, labels) {
    const W = 640, H = 260, L = 44, R = 12, T = 14, B = 34;
    const acc = window.acc || [], dt = 1000 / (window.hz || 20);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart fall-trace", role: "img", "aria-label": labels.title });
    const times = acc.map((_, i) => (window.t0_ms + i * dt - impactMs) / 1000);
    const mags = acc.map((s) => (s ? Math.hypot(s[0], s[1], s[2]) : null));
    const finite = mags.filter((m) => m !== null);
    const axes = acc.flatMap((s) => (s ? s : []));
    const ymax = Math.max(2, Math.ceil(Math.max(...finite, ...axes.map(Math.abs), 1))), ymin = -Math.min(ymax, Math.ceil(Math.max(0, ...axes.map((v) => -v))));
    const x0 = times.length ? times[0] : -4, x1 = times.length ? times[times.length - 1] : 6;
    const sx = (t) => L + ((t - x0) / Math.max(1e-6, x1 - x0)) * (W - L - R);
    const sy = (g) => T + ((ymax - g) / (ymax - ymin)) * (H - T - B);
    svg.append(el("rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "plot" }));
    for (let g = Math.ceil(ymin); g <= ymax; g += 1) {
      svg.append(el("line", { x1: L, x2: W - R, y1: sy(g), y2: sy(g), class: g === 0 ? "axis" : "grid" }));
      svg.append(el("text", { x: L - 6, y: sy(g) + 4, class: "tick", "text-anchor": "end" }, `${g}`));
    }
    for (let s = Math.ceil(x0); s <= x1; s += 1) {
      svg.append(el("line", { x1: sx(s), x2: sx(s), y1: T, y2: H - B, class: "grid" }));
      svg.append(el("text", { x: sx(s), y: H - B + 14, class: "tick", "text-anchor": "middle" }, `${s > 0 ? "+" : ""}${s}`));
    }
    svg.append(el("text", { x: L + (W - L - R) / 2, y: H - 4, class: "label", "text-anchor": "middle" }, labels.x));
    svg.append(el("text", { x: 12, y: T + (H - T - B) / 2, class: "label", "text-anchor": "middle", transform: `rotate(-90 12 ${T + (H - T - B) / 2})` }, labels.y));
    const path = (values, cls) => {
      let d = "", pen = false;
      values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        d += `${pen ? "L" : "M"}${sx(times[i]).toFixed(1)},${sy(v).toFixed(1)}`; pen = true;
      });
      svg.append(el("path", { d, class: cls }));
    };
    ["x", "y", "z"].forEach((axis, k) => path(acc.map((s) => (s ? s[k] : null)), `line axis-${axis}`));
    path(mags, "line magnitude");
    if (impactMs >= window.t0_ms) {
      svg.append(el("line", { x1: sx(0), x2: sx(0), y1: T, y2: H - B, class: "impact" }));
      svg.append(el("text", { x: sx(0) + 4, y: T + 12, class: "label impact-label" }, labels.impact));
    }
    const legend = [["magnitude", labels.magnitude], ["axis-x", "x"], ["axis-y", "y"], ["axis-z", "z"]];
    legend.forEach(([cls, name], i) => {
      const x = W - R - 250 + i * 62;
      svg.append(el("line", { x1: x, x2: x + 16, y1: T + 10, y2: T + 10, class: `line ${cls}` }));
      svg.append(el("text", { x: x + 20, y: T + 14, class: "tick" }, name));
    });
    svg.dataset.samples = String(finite.length);
    return svg;
  }

  // events: [{at, room, stream}], newest first or any order; from/to ISO strings.
  function activityTimeline(events, fromIso, toIso, labels) {
    const from = Date.parse(fromIso), to = Date.parse(toIso);
    const rooms = [...new Set(events.map((e) => e.room))].sort();
    const W = 640, L = 110, R = 12, T = 10, row = 26, B = 26, H = T + Math.max(1, rooms.length) * row + B;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart activity", role: "img", "aria-label": labels.title });
    const sx = (ms) => L + ((ms - from) / Math.max(1, to - from)) * (W - L - R);
    for (let h = Math.ceil(from / 3600000) * 3600000; h <= to; h += 3600000) {
      const hour = I18N.hour(h); // the homes' time zone
      if (hour % 3) continue;
      svg.append(el("line", { x1: sx(h), x2: sx(h), y1: T, y2: H - B, class: "grid" }));
      svg.append(el("text", { x: sx(h), y: H - B + 16, class: "tick", "text-anchor": "middle" }, `${String(hour).padStart(2, "0")}:00`));
    }
    rooms.forEach((room, i) => {
      const y = T + i * row;
      svg.append(el("rect", { x: L, y: y + 3, width: W - L - R, height: row - 6, class: "lane" }));
      svg.append(el("text", { x: L - 6, y: y + row / 2 + 4, class: "tick", "text-anchor": "end" }, room));
      for (const e of events.filter((ev) => ev.room === room)) {
        svg.append(el("rect", { x: sx(Date.parse(e.at)) - 1, y: y + 5, width: 3, height: row - 10, class: `mark stream-${e.stream}` }));
      }
    });
    if (!rooms.length) svg.append(el("text", { x: L, y: T + 18, class: "label" }, labels.none));
    svg.append(el("line", { x1: sx(to), x2: sx(to), y1: T, y2: H - B, class: "impact" }));
    svg.dataset.events = String(events.length);
    return svg;
  }
  return { fallTrace, activityTimeline };
})();
