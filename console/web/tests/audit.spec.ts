// The admin pages: the audit log (filters, paging, translated actions with the raw name as
// fallback, times on the site's clock, empty and error states), the users page (disable,
// roles, revoke, each confirmed), and that only admins reach either (menu and route).
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { actionKey, auditQuery, noFilters, type AuditEntry } from "@/audit";
import AppHeader from "@/components/AppHeader.vue";
import { makeRouter } from "@/router";
import { useSession } from "@/stores/session";
import AuditView from "@/views/AuditView.vue";
import UsersView from "@/views/UsersView.vue";
import { harness, json, stubApi, type Call, type Harness } from "./helpers";

function entry(over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    id: 1,
    at: "2026-12-06T01:02:00Z",
    actor: "admin",
    address: "10.0.0.7",
    action: "login",
    target: "user:admin",
    site: null,
    result: "ok",
    status: 200,
    detail: {},
    ...over,
  };
}

const ENTRIES = [
  entry({ id: 3, action: "work_order.assign", target: "work_order:12", site: "demo", detail: { to: "li.wei" } }),
  entry({ id: 2, action: "login.failed", actor: "mallory", address: "203.0.113.9", result: "unauthorized", status: 401 }),
  entry({ id: 1, action: "robot.dance", result: "weird", status: null }),
];

async function signIn(h: Harness, roles: string[], name = "u"): Promise<void> {
  stubApi({ "GET /api/auth/me": { name, roles, sites: null, kind: "user" } });
  sessionStorage.setItem("bw-access", "A");
  await useSession(h.pinia).restore();
}

/** The audit API: `total` entries, answering each call with ENTRIES. */
function auditApi(total = ENTRIES.length): Call[] {
  return stubApi({ "GET /api/audit": (c: Call) => ({ items: ENTRIES, total, limit: Number(c.query.get("limit")), offset: Number(c.query.get("offset")) }) });
}

beforeEach(() => {
  localStorage.clear();
  sessionStorage.clear();
  vi.stubGlobal("matchMedia", (query: string) => ({ matches: false, media: query, addEventListener: vi.fn(), removeEventListener: vi.fn() }));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("audit helpers", () => {
  it("keys actions and families in the catalogue without dots", () => {
    expect(actionKey("login.failed")).toBe("auditAction.login_failed");
    expect(actionKey("work_order.transition")).toBe("auditAction.work_order_transition");
    expect(actionKey("logout")).toBe("auditAction.logout");
    expect(actionKey("work_order.")).toBe("auditFamily.work_order");
  });

  it("asks the API only for the filters given, times in UTC", () => {
    expect(auditQuery(noFilters())).toEqual({ limit: 50, offset: 0 });
    const range: [Date, Date] = [new Date("2026-12-05T16:00:00Z"), new Date("2026-12-06T16:00:00Z")];
    expect(auditQuery({ action: "login.", actor: " mallory ", result: "denied", range, page: 3, size: 25 })).toEqual({
      limit: 25,
      offset: 50,
      action: "login.",
      actor: "mallory",
      result: "denied",
      since: "2026-12-05T16:00:00.000Z",
      until: "2026-12-06T16:00:00.000Z",
    });
  });
});

describe("the audit page", () => {
  it("lists entries newest first with who, when on the site's clock, where, what and its result", async () => {
    const h = harness("zh-CN");
    await signIn(h, ["admin"]);
    const calls = auditApi();
    const view = mount(AuditView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(calls.at(-1)?.query.get("limit")).toBe("50");
    expect(calls.at(-1)?.query.get("offset")).toBe("0");
    const rows = view.findAll("#audit .el-table__body tr.el-table__row");
    expect(rows.map((r) => r.get(".action").attributes("data-action"))).toEqual(["work_order.assign", "login.failed", "robot.dance"]);
    expect(rows[0]!.text()).toContain("派工");
    expect(rows[0]!.get("time").text()).toMatch(/^12\/06\s+09:02 GMT\+8$/);
    expect(rows[0]!.text()).toContain("work_order:12");
    expect(rows[0]!.text()).toContain("to: li.wei");
    expect(rows[1]!.text()).toContain("登录失败");
    expect(rows[1]!.text()).toContain("mallory");
    expect(rows[1]!.text()).toContain("203.0.113.9");
    expect(rows[1]!.text()).toContain("未认证");
    expect(rows[1]!.text()).toContain("401");
    expect(rows[2]!.get(".action").text()).toBe("robot.dance");
    expect(rows[2]!.get(".result").text()).toBe("weird");
    expect(view.get(".count").text()).toBe("共 3 条");
  });

  it("speaks English too", async () => {
    const h = harness("en");
    await signIn(h, ["admin"]);
    auditApi();
    const view = mount(AuditView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const text = view.get("#audit").text();
    expect(text).toContain("work order assigned");
    expect(text).toContain("login failed");
    expect(text).toContain("not signed in");
    expect(view.get("h1").text()).toContain("Audit log");
  });

  it("filters by actor and pages, each a new query", async () => {
    const h = harness("en");
    await signIn(h, ["admin"]);
    const calls = auditApi(120);
    const view = mount(AuditView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    await view.get(".pager .btn-next").trigger("click");
    await flushPromises();
    expect(calls.at(-1)?.query.get("offset")).toBe("50");
    const actor = view.get(".actor-input input");
    await actor.setValue("mallory");
    await actor.trigger("change");
    await flushPromises();
    const last = calls.at(-1)!;
    expect(last.query.get("actor")).toBe("mallory");
    expect(last.query.get("offset")).toBe("0"); // a new filter starts from the first page
  });

  it("says when nothing matches, and when the log cannot be read", async () => {
    const h = harness("en");
    await signIn(h, ["admin"]);
    stubApi({ "GET /api/audit": { items: [], total: 0, limit: 50, offset: 0 } });
    const empty = mount(AuditView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(empty.get("#audit").text()).toContain("No entries match");
    expect(empty.find("#audit-error").exists()).toBe(false);
    empty.unmount();

    stubApi({ "GET /api/audit": json({ title: "Service Unavailable", status: 503, detail: "database unavailable" }, 503) });
    const failed = mount(AuditView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(failed.get("#audit-error").text()).toContain("database unavailable");
    expect(failed.get("#audit").text()).toContain("cannot be read");
  });
});

describe("admin pages are for admins only", () => {
  it.each([
    [["engineer", "supervisor"], false],
    [["admin"], true],
  ])("roles %j: menu entries and routes reached = %s", async (roles, reached) => {
    const h = harness("en");
    await signIn(h, roles);
    const header = mount(AppHeader, { global: { plugins: h.plugins } });
    expect(header.find('[data-nav="audit"]').exists()).toBe(reached);
    expect(header.find('[data-nav="users"]').exists()).toBe(reached);
    expect(header.find('[data-nav="alarms"]').exists()).toBe(true);
    const router = makeRouter(); // with its guard
    for (const path of ["/audit", "/users"]) {
      await router.push(path);
      expect(router.currentRoute.value.name).toBe(reached ? path.slice(1) : "forbidden");
    }
  });
});

const USERS = [
  { name: "admin", display_name: "Admin", roles: ["admin"], sites: null, disabled: false, created_at: "2026-12-01T00:00:00Z" },
  { name: "li.wei", display_name: "李伟", roles: ["technician"], sites: ["demo"], disabled: false, created_at: "2026-12-01T00:00:00Z" },
  { name: "old", display_name: "", roles: ["viewer"], sites: null, disabled: true, created_at: "2026-12-01T00:00:00Z" },
];

/** Press a button of the open confirmation box. */
async function answer(button: "confirm" | "cancel"): Promise<void> {
  await flushPromises();
  const boxes = document.body.querySelectorAll(".el-message-box");
  const box = boxes[boxes.length - 1]!;
  const buttons = box.querySelectorAll<HTMLButtonElement>(".el-message-box__btns button");
  buttons[button === "confirm" ? buttons.length - 1 : 0]!.click();
  await flushPromises();
}

describe("the users page", () => {
  it("lists users and disables, enables, re-roles and revokes only after confirming", async () => {
    const h = harness("en");
    await signIn(h, ["admin"], "admin");
    const calls = stubApi({
      "GET /api/users": { items: USERS, total: 3, limit: 500, offset: 0 },
      "PATCH /api/users/li.wei": (c: Call) => ({ ...USERS[1], ...(c.body as object) }),
      "PATCH /api/users/old": (c: Call) => ({ ...USERS[2], ...(c.body as object) }),
      "POST /api/users/li.wei/revoke": { sessions: 2, tokens: 1 },
    });
    const view = mount(UsersView, { global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    const rows = view.findAll("#users .el-table__body tr.el-table__row");
    expect(rows).toHaveLength(3);
    expect(rows[0]!.text()).toContain("(you)");
    expect(rows[0]!.find(".disable").exists()).toBe(false); // not oneself
    expect(rows[1]!.text()).toContain("technician");
    expect(rows[1]!.text()).toContain("demo");
    expect(rows[2]!.text()).toContain("disabled");
    expect(rows[0]!.text()).toContain("all sites");
    const writes = () => calls.filter((c) => c.method !== "GET");

    await rows[1]!.get(".disable").trigger("click");
    await answer("cancel");
    expect(writes()).toEqual([]);
    await rows[1]!.get(".disable").trigger("click");
    await answer("confirm");
    expect(writes().at(-1)).toMatchObject({ method: "PATCH", path: "/api/users/li.wei", body: { disabled: true } });

    await view.findAll("#users .el-table__body tr.el-table__row")[2]!.get(".enable").trigger("click");
    await answer("confirm");
    expect(writes().at(-1)).toMatchObject({ path: "/api/users/old", body: { disabled: false } });

    await view.findAll("#users .el-table__body tr.el-table__row")[1]!.get(".change-roles").trigger("click");
    await flushPromises();
    const option = [...document.body.querySelectorAll<HTMLElement>(".el-select-dropdown__item")].find((o) => o.textContent?.trim() === "supervisor")!;
    option.click();
    await flushPromises();
    document.body.querySelector<HTMLButtonElement>(".roles-dialog .save-roles")!.click();
    await flushPromises();
    expect(document.body.querySelector(".el-message-box")?.textContent).toContain("Give li.wei the roles technician, supervisor?");
    await answer("confirm");
    expect(writes().at(-1)).toMatchObject({ path: "/api/users/li.wei", body: { roles: ["technician", "supervisor"] } });

    await view.findAll("#users .el-table__body tr.el-table__row")[1]!.get(".revoke").trigger("click");
    await answer("confirm");
    expect(writes().at(-1)).toMatchObject({ method: "POST", path: "/api/users/li.wei/revoke" });
    expect(document.body.textContent).toContain("Ended 2 sessions and 1 tokens");
  }, 60_000);
});
