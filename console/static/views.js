// bldgwatch dashboard views: alarm console, building board, equipment page, technician view,
// KPIs. Each view renders into #page and refreshes itself when a live event concerns it.
"use strict";

(function () {
  const { el, t, api } = window.BW;
  const BW = window.BW;
  const STATES = ["active_unack", "active_ack", "rtn_unack", "shelved", "suppressed", "out_of_service"];

  function debounce(fn, ms) {
    let timer = null;
    return () => { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function stamp() { BW.setStatus(`${t("updated")} ${new Date().toLocaleTimeString()}`); }

  function table(id, heads, rows) {
    return el("div", { class: "scroll" },
      el("table", { id },
        el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, t(h))))),
        el("tbody", {}, rows.map((cells) => {
          const tr = el("tr", cells.attrs || {});
          cells.forEach((c, i) => {
            const td = c instanceof Node && c.tagName === "TD" ? c : el("td", {}, c);
            td.dataset.col = t(heads[i]);  // phones show rows as cards labelled by column
            tr.append(td);
          });
          return tr;
        }))));
  }

  function due(iso) {
    const late = iso && new Date(iso) < new Date();
    return el("td", { class: late ? "overdue" : null },
      el("time", { datetime: iso }, BW.fmtTime(iso)), late ? ` ${t("overdue")}` : "");
  }

  function eqLink(site, id) { return el("a", { href: `#equipment/${site}/${id}` }, `${site} / ${id}`); }

  function orderRows(items) {
    return items.map((w) => Object.assign([w.id, `P${w.priority}`, eqLink(w.site, w.equipment), w.title,
      t(`wo_${w.status}`, w.status), w.assigned_to || "", due(w.response_due), due(w.resolution_due),
      el("span", {}, t(`stage_${w.stage}`, w.stage), el("br"), el("small", {}, BW.localText(w.stage_reason_text, w.stage_reason)))],
    { attrs: { class: `prio-${w.priority}`, dataset: { order: w.id } } }));
  }
  const ORDER_HEADS = ["number", "priority", "equipment", "order", "status", "assignee",
    "response_due", "resolution_due", "stage"];

  async function act(promise) {
    try { await promise; stamp(); } catch (err) { BW.fail(err); }
  }

  // -- alarm console ----------------------------------------------------------------------
  const alarms = {
    async load() {
      const page = this.page;
      const [open, orders] = await Promise.all([
        api("/api/alarms?open=true&limit=200"),
        api("/api/work-orders?open=true&limit=200"),
      ]);
      const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
      open.items.forEach((a) => { counts[a.state] = (counts[a.state] || 0) + 1; });
      // newest and highest priority first
      const items = [...open.items].sort((a, b) => a.priority - b.priority
        || new Date(b.raised_at) - new Date(a.raised_at));
      const writer = BW.can("engineer", "supervisor");
      const rows = items.map((a) => Object.assign([
        `P${a.priority}`, t(`sev_${a.severity}`, a.severity), eqLink(a.site, a.equipment),
        a.message || a.fault_code, t(`alarm_${a.state}`, a.state), a.value ?? "",
        el("time", { datetime: a.raised_at }, BW.fmtTime(a.raised_at)),
        el("span", { class: "actions" },
          writer && ["active_unack", "rtn_unack"].includes(a.state)
            ? el("button", { class: "ack", onclick: () => act(api(`/api/alarms/${a.id}/acknowledge`, { method: "POST", json: {} }).then(() => this.load())) }, t("ack")) : null,
          writer && ["active_unack", "active_ack", "rtn_unack"].includes(a.state)
            ? el("button", { class: "shelve", onclick: () => act(api(`/api/alarms/${a.id}/shelve`, { method: "POST", json: { minutes: 60 } }).then(() => this.load())) }, t("shelve_1h")) : null,
          writer && a.state === "shelved"
            ? el("button", { class: "unshelve", onclick: () => act(api(`/api/alarms/${a.id}/unshelve`, { method: "POST", json: {} }).then(() => this.load())) }, t("unshelve")) : null),
      ], { attrs: { class: `sev-${a.severity}`, dataset: { alarm: a.id, state: a.state } } }));
      BW.fill(page,
        el("section", {},
          el("h2", {}, t("open_alarms"), " ", el("span", { class: "count", id: "alarms-count" }, `(${open.total})`)),
          el("ul", { class: "chips", id: "state-counts" }, STATES.map((s) => el("li", { class: `chip st-${s}` }, `${t(`alarm_${s}`)}: ${counts[s] || 0}`))),
          table("alarms", ["priority", "severity", "equipment", "fault", "state", "value", "raised", "actions"], rows),
          open.total ? null : el("p", { class: "empty" }, t("no_alarms"))),
        el("section", {},
          el("h2", {}, t("open_orders"), " ", el("span", { class: "count" }, `(${orders.total})`)),
          table("orders", ORDER_HEADS, orderRows(orders.items)),
          orders.total ? null : el("p", { class: "empty" }, t("no_orders"))));
      stamp();
    },
    render(page) { this.page = page; this.refresh = debounce(() => this.load().catch(BW.fail), 150); this.load().catch(BW.fail); },
    onEvent() { this.refresh(); },
  };

  // -- building board ---------------------------------------------------------------------
  const KEY_POINTS = {
    elevator: ["floor", "position_m", "speed_m_s", "load_kg", "running"],
    pump: ["running", "tripped", "bearing_temp_c", "flow_m3h", "outlet_pressure_bar", "motor_current_a", "vibration_mm_s"],
    shaft_panel: ["current_l1_a", "current_l2_a", "current_l3_a", "busbar_temp_c", "joint_temp_c", "residual_current_ma"],
  };

  function fmt(v) { return typeof v === "number" ? (Number.isInteger(v) ? v : v.toFixed(2)) : String(v); }

  function elevatorShaft(values) {
    const floor = values.floor ? values.floor.value : null;
    const pos = values.position_m ? values.position_m.value : 0;
    const open = values.door_open && values.door_open.value;
    const pct = Math.max(0, Math.min(100, (pos / 60) * 100));
    return el("div", { class: "shaft", title: `${t("floor")} ${floor ?? "?"}` },
      el("div", { class: `car ${open ? "door-open" : "door-closed"}`, style: `bottom:${pct}%` }, floor ?? "?"),
      el("div", { class: "door-state" }, t(open ? "door_open" : "door_closed")));
  }

  const board = {
    async load() {
      const [eq, open] = await Promise.all([api("/api/equipment?limit=500"), api("/api/alarms?open=true&limit=500")]);
      const worst = {};
      open.items.forEach((a) => {
        const k = `${a.site}/${a.equipment}`;
        if (!worst[k] || a.priority < worst[k].priority) worst[k] = a;
      });
      const panels = await Promise.all(eq.items.filter((e) => KEY_POINTS[e.type]).map(async (e) => {
        let latest = { values: {} };
        try { latest = await api(`/api/readings/latest?site=${e.site}&equipment=${e.id}`); } catch (err) { /* no readings yet */ }
        const alarm = worst[`${e.site}/${e.id}`];
        const stateText = alarm ? t(`alarm_${alarm.state}`) : t("ok");
        const values = latest.values;
        return el("article", { class: `panel ${alarm ? `sev-${alarm.severity}` : "ok"}`, dataset: { equipment: e.id } },
          el("h3", {}, eqLink(e.site, e.id), " ", el("small", {}, t(`type_${e.type}`, e.type))),
          el("p", { class: "panel-state" }, stateText, alarm ? ` — ${alarm.message || alarm.fault_code}` : ""),
          e.type === "elevator" ? elevatorShaft(values) : null,
          el("dl", {}, KEY_POINTS[e.type].filter((p) => values[p]).map((p) => [el("dt", {}, t(`pt_${p}`, p)), el("dd", {}, fmt(values[p].value))])));
      }));
      BW.fill(this.page, el("h2", {}, t("nav_board")), el("div", { class: "board" }, panels));
      stamp();
    },
    render(page) {
      this.page = page;
      this.refresh = debounce(() => this.load().catch(BW.fail), 150);
      this.load().catch(BW.fail);
      clearInterval(this.timer);
      this.timer = setInterval(() => { if (BW.state.view === "board") this.refresh(); else clearInterval(this.timer); }, 3000);
    },
    onEvent() { this.refresh(); },
  };

  // -- equipment page ---------------------------------------------------------------------
  let uplotLoading = null;
  function loadUplot() {
    if (window.uPlot) return Promise.resolve();
    uplotLoading = uplotLoading || new Promise((resolve, reject) => {
      document.head.append(el("link", { rel: "stylesheet", href: "/vendor/uPlot.min.css" }));
      document.head.append(el("script", { src: "/vendor/uPlot.iife.min.js", onload: resolve, onerror: reject }));
    });
    return uplotLoading;
  }
  BW.loadUplot = loadUplot;

  const RANGES = { "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000 };

  // One row per UTC day from `start` to `end` (ISO), zero where `rows` has no count.
  function daily(rows, start, end, key) {
    const counts = Object.fromEntries(rows.map((r) => [r.day, r.count]));
    const out = [];
    for (let d = new Date(`${start.slice(0, 10)}T00:00:00Z`); d <= new Date(end); d = new Date(d.getTime() + 86400000)) {
      const day = d.toISOString().slice(0, 10);
      out.push({ time: `${day}T00:00:00Z`, [key]: counts[day] || 0 });
    }
    return out;
  }

  function chart(host, rows, points, title, bars) {
    const xs = rows.map((r) => new Date(r.time).getTime() / 1000);
    const data = [xs, ...points.map((p) => rows.map((r) => (r[p] === null || r[p] === undefined ? null : Number(r[p]))))];
    const colours = ["#3a6ea5", "#d9650b", "#2e7d32", "#b3261e", "#6a1b9a", "#00838f"];
    host.replaceChildren();  // uPlot draws into it
    const width = Math.max(280, host.clientWidth || 600);
    const paths = bars && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.6, 40] }) : undefined;
    const series = points.map((p, i) => ({ label: t(`pt_${p}`, p), stroke: colours[i % colours.length], fill: bars ? `${colours[i % colours.length]}99` : undefined, paths }));
    return new window.uPlot({ title, width, height: 260, series: [{}, ...series] }, data, host);
  }
  BW.chart = chart;

  const equipment = {
    async render(page, [site, id]) {
      if (!site || !id) { location.hash = "#board"; return; }
      this.page = page; this.site = site; this.id = id;
      const [eq, latest, scores] = await Promise.all([api(`/api/equipment/${site}/${id}`),
        api(`/api/readings/latest?site=${site}&equipment=${id}`).catch(() => ({ values: {} })),
        api(`/api/kpis/scores?site=${site}&limit=500`).catch(() => ({ items: [] }))]);
      const score = scores.items.find((x) => x.equipment === id);
      const points = Object.keys(latest.values).filter((p) => !p.startsWith("_"));
      const picks = el("fieldset", { class: "points" }, el("legend", {}, t("points")),
        points.map((p, i) => el("label", {}, el("input", { type: "checkbox", value: p, checked: i < 2 }), " ", t(`pt_${p}`, p))));
      const range = el("select", { id: "range" }, Object.keys(RANGES).map((r) => el("option", { value: r }, t(`range_${r}`, r))), el("option", { value: "custom" }, t("range_custom")));
      const start = el("input", { type: "datetime-local", id: "start" });
      const end = el("input", { type: "datetime-local", id: "end" });
      const host = el("div", { class: "chart", id: "chart" });
      const draw = () => this.draw(host, picks, range, start, end).catch(BW.fail);
      range.addEventListener("change", draw); start.addEventListener("change", draw); end.addEventListener("change", draw);
      picks.addEventListener("change", draw);
      this.lists = el("div", {});
      BW.fill(page,
        el("h2", {}, `${eq.site} / ${eq.id} `, el("small", {}, eq.name || t(`type_${eq.type}`, eq.type))),
        el("p", {}, `${t("building")}: ${eq.building} · ${t("model")}: ${eq.model || "-"} · ${t("installed")}: ${eq.installed || "-"}`),
        score ? el("p", { class: "stage", id: "eq-stage" }, el("b", {}, `${t("stage")}: ${t(`stage_${score.stage}`, score.stage)}`), " — ", BW.localText(score.reason_text, score.reason)) : null,
        el("section", { class: "card" }, el("h3", {}, t("trend")), picks, el("div", { class: "range" }, range, start, end), host),
        this.lists);
      await Promise.all([draw(), this.loadLists()]);
    },
    async draw(host, picks, range, start, end) {
      const points = [...picks.querySelectorAll("input:checked")].map((i) => i.value);
      if (!points.length) { host.textContent = t("pick_points"); return; }
      let lo; let hi = new Date();
      if (range.value === "custom" && start.value) { lo = new Date(start.value); if (end.value) hi = new Date(end.value); }
      else lo = new Date(hi.getTime() - (RANGES[range.value] || 3600) * 1000);
      const span = (hi - lo) / 1000;
      const every = span > 86400 ? `${Math.ceil(span / 500 / 60)}m` : span > 3600 ? "1m" : null;
      const q = new URLSearchParams({ site: this.site, equipment: this.id, start: lo.toISOString(), end: hi.toISOString(), limit: "5000" });
      points.forEach((p) => q.append("point", p));
      if (every) q.set("every", every);
      const [readings] = await Promise.all([api(`/api/readings?${q}`), loadUplot()]);
      chart(host, readings.rows, points, `${this.id}`);
    },
    async loadLists() {
      const q = `site=${this.site}&equipment=${this.id}&limit=50`;
      const [al, wo] = await Promise.all([api(`/api/alarms?${q}`), api(`/api/work-orders?${q}`)]);
      BW.fill(this.lists,
        el("h3", {}, t("its_alarms")),
        table("eq-alarms", ["priority", "severity", "fault", "state", "raised"], al.items.map((a) => Object.assign(
          [`P${a.priority}`, t(`sev_${a.severity}`), a.message || a.fault_code, t(`alarm_${a.state}`), BW.fmtTime(a.raised_at)],
          { attrs: { class: `sev-${a.severity}` } }))),
        el("h3", {}, t("its_orders")),
        table("eq-orders", ORDER_HEADS, orderRows(wo.items)));
      stamp();
    },
    onEvent(ev) { if (ev.data && ev.data.equipment === this.id) this.loadLists().catch(BW.fail); },
  };

  // -- technician view ---------------------------------------------------------------------
  const NEXT = { open: [["assigned", "accept"]], assigned: [["in_progress", "start"]],
    in_progress: [["on_hold", "hold"], ["resolved", "resolve"]], on_hold: [["in_progress", "resume"]] };

  const tech = {
    async load() {
      const [mine, open] = await Promise.all([api("/api/work-orders?assigned_to=me&open=true&limit=100"), api("/api/work-orders?status=open&limit=100")]);
      const card = (w) => {
        const hours = el("input", { type: "number", min: "0", step: "0.25", name: "labour_hours", placeholder: t("labour_hours"), inputmode: "decimal" });
        const parts = el("input", { name: "parts", placeholder: t("parts_hint") });
        const note = el("input", { name: "note", placeholder: t("note") });
        const move = (to) => {
          const body = { to, note: note.value };
          if (hours.value) body.labour_hours = Number(hours.value);
          body.parts = parts.value.split(",").map((s) => s.trim()).filter(Boolean).map((part) => ({ part_no: part.slice(0, 64), quantity: 1 }));
          act(api(`/api/work-orders/${w.id}/transition`, { method: "POST", json: body }).then(() => this.load()));
        };
        return el("article", { class: `card order prio-${w.priority}`, dataset: { order: w.id } },
          el("h3", {}, `#${w.id} P${w.priority} `, w.title),
          el("p", {}, eqLink(w.site, w.equipment), " · ", el("b", { class: "wo-status" }, t(`wo_${w.status}`)), " · ", t("resolution_due"), " ", BW.fmtTime(w.resolution_due)),
          el("p", {}, el("small", {}, BW.localText(w.stage_reason_text, w.stage_reason))),
          w.status === "in_progress" ? el("div", { class: "fields" }, hours, parts, note) : null,
          el("div", { class: "buttons" }, (NEXT[w.status] || []).map(([to, label]) => el("button", { class: `big act-${label}`, onclick: () => move(to) }, t(label)))));
      };
      BW.fill(this.page,
        el("h2", {}, t("my_orders"), " ", el("span", { class: "count" }, `(${mine.total})`)),
        el("div", { class: "cards", id: "my-orders" }, mine.items.map(card)),
        mine.total ? null : el("p", { class: "empty" }, t("no_orders")),
        el("h2", {}, t("open_to_accept")),
        el("div", { class: "cards", id: "open-orders" }, open.items.map(card)));
      stamp();
    },
    render(page) { this.page = page; this.refresh = debounce(() => this.load().catch(BW.fail), 150); this.load().catch(BW.fail); },
    onEvent(ev) { if (ev.kind === "work_order" || ev.kind === "reset") this.refresh(); },
  };

  // -- KPIs --------------------------------------------------------------------------------
  const pct = (v) => (v === null || v === undefined ? null : `${Math.round(v * 1000) / 10}%`);
  const num = (v, unit) => (v === null || v === undefined ? null : `${Math.round(v * 10) / 10}${unit || ""}`);

  const kpis = {
    async render(page) {
      this.page = page;
      const sites = await api("/api/sites?limit=500");
      if (!sites.items.length) { BW.fill(page, el("p", { class: "empty" }, t("no_sites"))); return; }
      const pick = el("select", { id: "kpi-site" }, sites.items.map((x) => el("option", { value: x.id }, `${x.id} ${x.name}`)));
      this.body = el("div", { class: "view" });
      pick.addEventListener("change", () => this.load(pick.value).catch(BW.fail));
      BW.fill(page, el("label", {}, `${t("site")} `, pick), this.body);
      await this.load(pick.value);
    },
    async load(site) {
      const [a, m] = await Promise.all([api(`/api/kpis/alarms?site=${site}`), api(`/api/kpis/maintenance?site=${site}`)]);
      const fig = (label, value) => el("div", { class: "figure" }, el("b", {}, value ?? "–"), el("span", {}, t(label)));
      const f = a.figures;
      const g = m.figures;
      const alarmsChart = el("div", { class: "chart" });
      const ordersChart = el("div", { class: "chart" });
      BW.fill(this.body,
        el("h2", {}, t("alarm_kpis")),
        el("div", { class: "figures", id: "alarm-figures" }, fig("kpi_raised", f.activations), fig("kpi_per10", num(f.per_10min_mean)),
          fig("kpi_peak10", f.per_10min_peak), fig("kpi_flood", pct(f.flood_share)), fig("kpi_standing", (f.standing || []).length),
          fig("kpi_chattering", (f.chattering || []).length)),
        alarmsChart,
        el("h2", {}, t("maintenance_kpis"), ` ${m.month}`),
        el("div", { class: "figures", id: "maintenance-figures" }, fig("kpi_availability", pct(g.availability)), fig("kpi_mtbf", num(g.mtbf_h, " h")),
          fig("kpi_mttr", num(g.mttr_h, " h")), fig("kpi_ftf", pct(g.first_time_fix)), fig("kpi_pm", pct(g.pm_compliance)),
          fig("kpi_backlog", g.backlog), fig("kpi_cost", num(g.cost))),
        ordersChart,
        BW.can("supervisor") ? el("p", {}, el("a", { href: `/api/reports/${site}/${m.month}`, id: "report-link", onclick: (e) => { e.preventDefault(); openReport(site, m.month); } }, t("monthly_report"))) : null);
      await loadUplot();
      const monthEnd = new Date(Math.min(Date.now(), Date.UTC(Number(m.month.slice(0, 4)), Number(m.month.slice(5, 7)), 1) - 1)).toISOString();
      chart(alarmsChart, daily(a.per_day, a.start, a.end, "alarms_per_day"), ["alarms_per_day"], t("alarms_per_day"), true);
      chart(ordersChart, daily(m.per_day, `${m.month}-01`, monthEnd, "orders_per_day"), ["orders_per_day"], t("orders_per_day"), true);
      stamp();
    },
  };

  // The report is HTML behind a bearer token: fetch it and show it in a new window.
  async function openReport(site, month) {
    const resp = await fetch(`/api/reports/${site}/${month}`, { headers: { Authorization: `Bearer ${BW.state.access}` } });
    if (!resp.ok) { BW.fail(new Error(`${resp.status}`)); return; }
    const url = URL.createObjectURL(new Blob([await resp.text()], { type: "text/html" }));
    window.open(url, "_blank");
  }

  Object.assign(BW.views, { alarms, board, equipment, tech, kpis });
})();
