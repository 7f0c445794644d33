// bldgwatch dashboard core: login and tokens, the API helper, the live WebSocket, routing,
// labels (en/zh), the audible cue. Views live in views.js. No framework, no CDN.
"use strict";

const BW = (window.BW = { views: {}, handlers: [] });
const state = {
  lang: localStorage.getItem("bw-lang") || (navigator.language || "en").slice(0, 2),
  labels: window.BW_LABELS || { en: {} },
  access: sessionStorage.getItem("bw-access"),
  refresh: sessionStorage.getItem("bw-refresh"),
  muted: localStorage.getItem("bw-muted") === "1",
  lastEventId: null,
  ws: null,
  retry: 1000,
  me: null,
  view: null,
};
BW.state = state;

// The label for `key` in the current language; `fallback` (else the key) when there is none.
function t(key, fallback) {
  const dict = state.labels[state.lang] || {};
  return dict[key] || (state.labels.en || {})[key] || fallback || key;
}
BW.t = t;

// A server-rendered text in the reader's language: `texts` maps en / zh-CN to the text (the
// stage reason comes rendered in both); `fallback` (the English field) when it has none.
BW.localText = function (texts, fallback) {
  const key = state.lang === "zh" ? "zh-CN" : "en";
  return (texts && texts[key]) || fallback || "";
};

// el("td", {class: "x", onclick: f}, "text", child) — a small DOM builder.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}
BW.el = el;

// Replace a node's children, skipping null/undefined and flattening arrays.
BW.fill = function (node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
};

BW.fmtTime = function (iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(state.lang === "zh" ? "zh-CN" : undefined,
    { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
};

BW.can = function (...roles) {
  const mine = (state.me && state.me.roles) || [];
  return mine.includes("admin") || roles.some((r) => mine.includes(r));
};

function saveTokens(body) {
  state.access = body.access_token;
  state.refresh = body.refresh_token;
  sessionStorage.setItem("bw-access", state.access);
  sessionStorage.setItem("bw-refresh", state.refresh);
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refreshTokens, Math.max(10, body.expires_in - 60) * 1000);
}

async function refreshTokens() {
  if (!state.refresh) return false;
  const resp = await fetch("/api/auth/refresh", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: state.refresh }),
  });
  if (!resp.ok) return false;
  saveTokens(await resp.json());
  return true;
}

// Call the API; a 401 tries the refresh token once, then shows the login form.
async function api(path, options = {}, retried = false) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.access) headers.Authorization = `Bearer ${state.access}`;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  const resp = await fetch(path, { ...options, headers });
  if (resp.status === 401 && !retried && (await refreshTokens())) return api(path, options, true);
  if (resp.status === 401) { showLogin(); throw new Error(t("login_needed", "Please log in")); }
  const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
  if (!resp.ok) throw new Error((body && body.detail) || `${path}: ${resp.status}`);
  return body;
}
BW.api = api;

function setStatus(text, error) {
  const node = document.getElementById("updated");
  node.textContent = text;
  node.classList.toggle("error", Boolean(error));
}
BW.setStatus = setStatus;
BW.fail = (err) => setStatus(err.message || String(err), true);

// -- live stream --------------------------------------------------------------------------
function connectLive() {
  if (!state.access) return;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  let url = `${proto}://${location.host}/api/live?access_token=${encodeURIComponent(state.access)}`;
  if (state.lastEventId !== null) url += `&last_event_id=${state.lastEventId}`;
  const ws = new WebSocket(url);
  state.ws = ws;
  ws.onopen = () => { state.retry = 1000; setLive(true); };
  ws.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    if (ev.kind === "hello") {
      const resumed = state.lastEventId !== null;
      if (!ev.complete || !resumed) state.lastEventId = ev.last_id;
      if (resumed && !ev.complete) emit({ kind: "reset" });
      return;
    }
    state.lastEventId = ev.id;
    emit(ev);
  };
  ws.onclose = () => {
    setLive(false);
    if (state.ws !== ws || !state.access) return;
    setTimeout(async () => { await refreshTokens(); connectLive(); }, state.retry);
    state.retry = Math.min(state.retry * 2, 15000);
  };
}

function setLive(on) {
  const node = document.getElementById("live");
  node.dataset.label = on ? "live_on" : "live_off";
  node.textContent = t(node.dataset.label);
  node.className = on ? "live-on" : "live-off";
}

function emit(ev) {
  if (ev.kind === "alarm" && ev.data.severity === "critical" && ev.data.state === "active_unack"
      && ev.data.transition !== "acknowledge") beep();
  const view = BW.views[state.view];
  if (view && view.onEvent) view.onEvent(ev);
}
BW.emit = emit;

// -- audible cue ----------------------------------------------------------------------------
let audio = null;
function beep() {
  if (state.muted) return;
  try {
    audio = audio || new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.6);
    BW.beeps = (BW.beeps || 0) + 1;
  } catch (err) { /* no audio device: the colour still tells */ }
}
BW.beep = beep;

// -- routing, labels, login -----------------------------------------------------------------
function route() {
  const [name, ...args] = (location.hash.slice(1) || "alarms").split("/").map(decodeURIComponent);
  const view = BW.views[name] ? name : "alarms";
  state.view = view;
  document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("active", a.hash === `#${view}`));
  // A fresh container per visit: a late answer for the previous view lands in a detached node.
  const host = el("div", { class: "view", id: `view-${view}` });
  document.getElementById("page").replaceChildren(host);
  BW.views[view].render(host, args);
}

function applyLabels() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-label]").forEach((node) => { node.textContent = t(node.dataset.label, node.textContent); });
  document.getElementById("lang").textContent = t("language", "中文");
  document.getElementById("mute").textContent = t(state.muted ? "unmute" : "mute");
  document.getElementById("mute").setAttribute("aria-pressed", String(state.muted));
}
BW.applyLabels = applyLabels;

function showLogin() {
  state.access = null;
  sessionStorage.removeItem("bw-access");
  document.getElementById("login").hidden = false;
  document.getElementById("page").hidden = true;
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
}

async function startSession() {
  state.me = await api("/api/auth/me");
  document.getElementById("login").hidden = true;
  document.getElementById("page").hidden = false;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  connectLive();
  route();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.target;
  const error = document.getElementById("login-error");
  error.textContent = "";
  const resp = await fetch("/api/auth/token", { method: "POST", body: new URLSearchParams(new FormData(form)) });
  const body = await resp.json();
  if (!resp.ok) { error.textContent = body.detail || resp.status; return; }
  saveTokens(body);
  form.reset();
  await startSession();
}

function start() {
  if (!state.labels[state.lang]) state.lang = "en";
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("bw-lang", state.lang);
    applyLabels();
    if (state.me) route();
  });
  document.getElementById("mute").addEventListener("click", () => {
    state.muted = !state.muted;
    localStorage.setItem("bw-muted", state.muted ? "1" : "0");
    applyLabels();
  });
  document.getElementById("logout").addEventListener("click", () => {
    state.refresh = null;
    sessionStorage.removeItem("bw-refresh");
    const ws = state.ws;
    state.ws = null;
    if (ws) ws.close();
    showLogin();
  });
  document.getElementById("login").addEventListener("submit", (e) => onLogin(e).catch(BW.fail));
  window.addEventListener("hashchange", () => { if (state.me) route(); });
  applyLabels();
  setLive(false);
  if (state.access || state.refresh) startSession().catch(() => showLogin());
  else showLogin();
}

document.addEventListener("DOMContentLoaded", start);
