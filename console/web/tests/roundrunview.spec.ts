// The run page opened offline (review 19b-r L8): the run kept on the phone is shown only while
// its due point is open; a run of an earlier point is named as such, not offered for entries.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";

import { keepRun, ownKey, roundsOwner, type RoundRun } from "@/rounds";
import { useSession } from "@/stores/session";
import RoundRunView from "@/views/RoundRunView.vue";

import { harness } from "./helpers";

const ITEM = { key: "door", kind: "check", label: "配电柜门已锁好", unit: null, low: null, high: null, options: [], bad_options: [], point: null, tolerance: null, live_value: null, live_at: null, entry: null };
const KEPT = {
  id: 9, round_id: 1, round_name: "强电井巡检", site: "demo", timezone: "Asia/Shanghai", due_at: "2026-03-01T00:00:00Z", missed_at: "2026-03-01T04:00:00Z",
  started_at: "2026-03-01T00:01:00Z", started_by: "tech", done_at: null, state: "open",
  stops: [{ index: 0, equipment: "SP-01", name: "1号强电井", location: "B1", scanned: false, items: [ITEM] }],
} as unknown as RoundRun;

async function openedOfflineAt(now: string, timers = false): Promise<ReturnType<typeof mount>> {
  const h = harness("zh-CN");
  localStorage.clear();
  roundsOwner("tech");
  useSession().me = { name: "tech", roles: ["technician"], sites: ["demo"], kind: "user" };
  keepRun(KEPT);
  localStorage.setItem(ownKey("current.1"), "9");
  vi.useFakeTimers({ now: Date.parse(now), toFake: timers ? ["Date", "setTimeout", "clearTimeout"] : ["Date"] });
  vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
  const view = mount(RoundRunView, { props: { id: 1 }, global: { plugins: h.plugins }, attachTo: document.body });
  await flushPromises();
  return view;
}

describe("the run page offline", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    roundsOwner(null);
  });

  it("shows the kept run while its due point is open", async () => {
    const view = await openedOfflineAt("2026-03-01T01:00:00Z");
    expect(view.find(".stop-card").exists()).toBe(true);
    expect(view.find("#kept-earlier").exists()).toBe(false);
    view.unmount();
  });

  it("says plainly that a kept run is of an earlier due point, and shows none", async () => {
    const view = await openedOfflineAt("2026-03-02T00:30:00Z"); // the next morning
    expect(view.find(".stop-card").exists()).toBe(false);
    const said = view.get("#kept-earlier").text();
    expect(said).toContain("较早一次巡检");
    expect(said).toContain("2026-03-01");
    expect(said).toContain("08:00");
    view.unmount();
  });
});

describe("the run page when the server comes back", () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
    roundsOwner(null);
  });

  it("says offline while the server is out of reach and tries again on its own (review 19c-r M1)", async () => {
    const view = await openedOfflineAt("2026-03-01T01:00:00Z", true);
    expect(view.get("#sync-state").text()).toBe("离线"); // navigator.onLine is true here
    const open = { ...KEPT, stops: [{ ...KEPT.stops[0], scanned: true }] };
    const served = vi.fn(() => Promise.resolve(new Response(JSON.stringify(open), { status: 200, headers: { "content-type": "application/json" } })));
    vi.stubGlobal("fetch", served); // the server is back; no "online" event comes
    await vi.advanceTimersByTimeAsync(10_000);
    await flushPromises();
    expect(served).toHaveBeenCalled();
    expect(view.get("#sync-state").text()).toBe("在线");
    view.unmount();
  });
});
