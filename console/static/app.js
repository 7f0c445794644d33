// bldgwatch dashboard: two live tables polled from the REST API every 2 s. No framework.
"use strict";

const POLL_MS = 2000;
const state = { lang: localStorage.getItem("bw-lang") || (navigator.language || "en").slice(0, 2),
                labels: window.BW_LABELS || { en: {} } };

// The label for `key` in the current language; `fallback` (else the key) when there is none.
function t(key, fallback) {
  const dict = state.labels[state.lang] || {};
  return dict[key] || (state.labels.en || {})[key] || fallback || key;
}

function applyLabels() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-label]").forEach((el) => { el.textContent = t(el.dataset.label, el.textContent); });
  document.getElementById("lang").textContent = t("language", "中文");
  labelCells("alarms");
  labelCells("orders");
}

// Phones show each row as a card; every cell carries its column's name for that.
function labelCells(tableId) {
  const heads = document.querySelectorAll(`#${tableId} th`);
  document.querySelectorAll(`#${tableId} tbody tr`).forEach((tr) => {
    Array.from(tr.cells).forEach((td, i) => { td.dataset.col = heads[i].textContent; });
  });
}

function fmtTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(state.lang === "zh" ? "zh-CN" : undefined,
                          { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function dueCell(iso) {
  const td = document.createElement("td");
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = fmtTime(iso);
  td.append(time);
  if (new Date(iso) < new Date()) {
    td.classList.add("overdue");
    td.append(" ", t("overdue", "overdue"));
  }
  return td;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function fill(tableId, rows, makeRow) {
  const tbody = document.querySelector(`#${tableId} tbody`);
  tbody.replaceChildren(...rows.map(makeRow));
  labelCells(tableId);
}

function alarmRow(a) {
  const tr = document.createElement("tr");
  tr.className = `sev-${a.severity}`;
  const raised = document.createElement("td");
  const time = document.createElement("time");
  time.dateTime = a.raised_at;
  time.textContent = fmtTime(a.raised_at);
  raised.append(time);
  tr.append(cell(`P${a.priority}`), cell(t(`sev_${a.severity}`, a.severity), "severity"),
            cell(`${a.site} / ${a.equipment}`), cell(a.message || a.fault_code),
            cell(t(`alarm_${a.state}`, a.state)), cell(a.value === null ? "" : a.value), raised);
  return tr;
}

function orderRow(w) {
  const tr = document.createElement("tr");
  tr.className = `prio-${w.priority}`;
  const stage = cell(t(`stage_${w.stage}`, w.stage));
  const reason = document.createElement("small");
  reason.textContent = w.stage_reason;
  stage.append(document.createElement("br"), reason);
  tr.append(cell(w.id), cell(`P${w.priority}`), cell(`${w.site} / ${w.equipment}`),
            cell(w.title), cell(t(`wo_${w.status}`, w.status)), dueCell(w.response_due), dueCell(w.resolution_due),
            stage);
  return tr;
}

async function getJson(url) {
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(`${url}: ${resp.status}`);
  return resp.json();
}

async function refresh() {
  const status = document.getElementById("updated");
  try {
    const [alarms, orders] = await Promise.all([
      getJson("/api/alarms?open=true&limit=200"),
      getJson("/api/work-orders?open=true&limit=200"),
    ]);
    fill("alarms", alarms.items, alarmRow);
    fill("orders", orders.items, orderRow);
    document.getElementById("alarms-count").textContent = `(${alarms.total})`;
    document.getElementById("orders-count").textContent = `(${orders.total})`;
    document.getElementById("alarms-empty").hidden = alarms.total > 0;
    document.getElementById("orders-empty").hidden = orders.total > 0;
    status.dataset.label = "updated";
    status.textContent = `${t("updated", "Updated")} ${new Date().toLocaleTimeString()}`;
    status.classList.remove("error");
  } catch (err) {
    status.dataset.label = "offline";
    status.textContent = t("offline", "Cannot reach the console API");
    status.classList.add("error");
  } finally {
    setTimeout(refresh, POLL_MS);
  }
}

function start() {
  if (!state.labels[state.lang]) state.lang = "en";
  document.getElementById("lang").addEventListener("click", () => {
    state.lang = state.lang === "zh" ? "en" : "zh";
    localStorage.setItem("bw-lang", state.lang);
    applyLabels();  // row texts (severity, stage, dates) follow with the next poll
  });
  applyLabels();
  refresh();
}

document.addEventListener("DOMContentLoaded", start);
