// The first console: sign in, live queue over the websocket, ring until acknowledged.
"use strict";
const state = { token: sessionStorage.getItem("token"), alerts: new Map(), socket: null, muted: false, retry: 500 };
const $ = (id) => document.getElementById(id);
let audio = null;

function beep() {
  if (state.muted) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = 880; osc.type = "square"; gain.gain.value = 0.08;
    osc.connect(gain).connect(audio.destination); osc.start(); osc.stop(audio.currentTime + 0.35);
  } catch (e) { /* no audio device: the row still flashes */ }
}

function ringing() { return [...state.alerts.values()].some((a) => a.state === "raised"); }
setInterval(() => { if (ringing()) beep(); render(); }, 1500);

function waited(alert) { return Math.max(0, (Date.now() - Date.parse(alert.raised_at)) / 1000); }
function slaClass(alert) {
  if (alert.state !== "raised") return "";
  const s = waited(alert); return s >= 60 ? "sla-red" : s >= 45 ? "sla-amber" : "sla-green";
}
function fmt(s) { const m = Math.floor(s / 60); return `${m}:${String(Math.floor(s % 60)).padStart(2, "0")}`; }
function esc(text) { const d = document.createElement("span"); d.textContent = text ?? ""; return d.innerHTML; }

function render() {
  const rows = [...state.alerts.values()].sort((a, b) => a.priority - b.priority || Date.parse(a.raised_at) - Date.parse(b.raised_at));
  $("alerts").innerHTML = rows.map((a) => `
    <tr class="${a.state}${a.state === "raised" ? " flash" : ""}" data-id="${a.id}">
      <td>P${a.priority}</td>
      <td>${esc(a.kind.toUpperCase())}${a.repeats > 1 ? ` ×${a.repeats}` : ""}</td>
      <td>${esc(a.resident?.name ?? a.resident_id)}${a.resident?.age ? ` (${a.resident.age})` : ""}<br><small>${esc(a.resident?.phone ?? "")}</small></td>
      <td>${esc(a.resident?.address ?? "")}<br><small>${esc(a.device?.location ?? "")} ${esc(a.device_id)}</small></td>
      <td class="${slaClass(a)}">${fmt(waited(a))}</td>
      <td>${esc(a.state)}${a.acknowledged_by ? ` by ${esc(a.acknowledged_by)}` : ""}</td>
      <td>${a.state === "raised" ? `<button class="ack" data-id="${a.id}">Acknowledge</button>` : ""}</td>
    </tr>`).join("");
  $("count").textContent = `(${rows.length})`;
  $("empty").hidden = rows.length > 0;
}

async function acknowledge(id) {
  const response = await fetch(`/api/v1/alerts/${id}/ack`, {
    method: "POST", headers: { Authorization: `Bearer ${state.token}`, "Content-Type": "application/json" }, body: "{}",
  });
  if (response.status === 401) return signOut();
  if (response.ok) { const alert = await response.json(); state.alerts.set(alert.id, alert); render(); }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws/console?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.onopen = () => { $("status").textContent = "live"; $("status").className = "status live"; state.retry = 500; };
  socket.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "snapshot") { state.alerts = new Map(data.alerts.map((a) => [a.id, a])); $("who").textContent = data.user; }
    else if (data.alert) {
      if (["resolved", "cancelled", "duplicate"].includes(data.alert.state)) state.alerts.delete(data.alert.id);
      else state.alerts.set(data.alert.id, data.alert);
      if (data.type === "alert.raised" || data.type === "alert.repeated") beep();
    }
    render();
  };
  socket.onclose = (event) => {
    $("status").textContent = "offline"; $("status").className = "status offline";
    if (event.code === 4401 || event.code === 4403) return signOut();
    setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 10000);
  };
}

function signOut() { sessionStorage.removeItem("token"); state.token = null; if (state.socket) state.socket.onclose = null; show(); }

function show() {
  $("login").hidden = !!state.token; $("queue").hidden = !state.token; $("mute").hidden = !state.token;
  if (state.token) connect();
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const response = await fetch("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(new FormData(event.target)) });
  if (!response.ok) { $("login-error").textContent = (await response.json()).detail; return; }
  state.token = (await response.json()).access_token; sessionStorage.setItem("token", state.token); show();
});
$("alerts").addEventListener("click", (event) => { if (event.target.classList.contains("ack")) acknowledge(event.target.dataset.id); });
$("mute").addEventListener("click", () => { state.muted = !state.muted; $("mute").textContent = state.muted ? "Unmute sound" : "Mute sound"; });
show();
