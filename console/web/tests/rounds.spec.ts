import { beforeEach, describe, expect, it } from "vitest";

import { ApiError } from "@/api/client";
import { BATCH, PHOTO_QUEUE, StorageFull, blobOf, codeOf, disagrees, enqueue, enqueuePhoto, flushAll, flushPhotos, keepRun, keepScans, keptRun, newEntryId, ownKey, pruneKept, queued, queuedPhotos, roundsOwner, stillOpen, waitingAll, type EntryBody, type EntryResult, type QueuedPhoto, type RoundRun } from "@/rounds";

class Memory implements Storage {
  private data = new Map<string, string>();
  get length() {
    return this.data.size;
  }
  clear() {
    this.data.clear();
  }
  getItem(key: string) {
    return this.data.get(key) ?? null;
  }
  key(n: number) {
    return [...this.data.keys()][n] ?? null;
  }
  removeItem(key: string) {
    this.data.delete(key);
  }
  setItem(key: string, value: string) {
    this.data.set(key, value);
  }
}

const entry = (item: string, value: boolean | number): EntryBody => ({ id: newEntryId(), stop: 0, item, value, code: "c", recorded_at: "2026-03-02T00:05:00Z" });

describe("the offline queue of a round", () => {
  beforeEach(() => roundsOwner("tech"));

  it("is the signed-in user's: another user's waiting entries are never sent with this user's token (review 19b-r H1)", async () => {
    const storage = new Memory();
    enqueue(1, entry("leak", false), storage);
    keepRun({ id: 1 } as RoundRun, storage);
    roundsOwner("tech2");
    expect([waitingAll(storage), queued(1, storage), keptRun(1, storage)]).toEqual([0, [], null]);
    const sent: number[] = [];
    await flushAll((runId, entries) => {
      sent.push(runId);
      return Promise.resolve(entries.map((e): EntryResult => ({ id: e.id, status: "stored" })));
    }, storage);
    expect(sent).toEqual([]);
    roundsOwner(null);
    expect(() => ownKey("queue")).toThrow();
    expect(await flushAll(() => Promise.reject(new Error("not called")), storage)).toEqual([]);
    roundsOwner("tech");
    expect(ownKey("queue")).toBe("bldgwatch.rounds.tech.queue");
    expect([waitingAll(storage), keptRun(1, storage)?.id]).toEqual([1, 1]);
  });

  it("goes on past a run the server refuses as a whole, its entries refused with the reason (review 19b-r H1)", async () => {
    const storage = new Memory();
    enqueue(1, entry("leak", false), storage);
    enqueue(3, entry("door", false), storage);
    const refused = await flushAll((runId, entries) => {
      if (runId === 1) return Promise.reject(new ApiError(404, "巡检任务 1 不存在"));
      return Promise.resolve(entries.map((e): EntryResult => ({ id: e.id, status: "stored" })));
    }, storage);
    expect(refused.map((r) => [r.runId, r.entry.item, r.result.status, r.result.problem?.detail])).toEqual([[1, "leak", "refused", "巡检任务 1 不存在"]]);
    expect([queued(1, storage), queued(3, storage)]).toEqual([[], []]);
    enqueue(3, entry("door", true), storage);
    await expect(flushAll(() => Promise.reject(new ApiError(503, "database unavailable")), storage)).rejects.toThrow("database unavailable");
    expect(queued(3, storage)).toHaveLength(1); // a busy server: kept for the next try
  });

  it("keeps entries while the send fails and drops each once answered", async () => {
    const storage = new Memory();
    enqueue(7, entry("door", false), storage);
    enqueue(7, entry("l1", 30), storage);
    await expect(flushAll(() => Promise.reject(new TypeError("offline")), storage)).rejects.toThrow("offline");
    expect(queued(7, storage)).toHaveLength(2);
    const sent: EntryBody[][] = [];
    const refused = await flushAll((_, entries) => {
      sent.push(entries);
      return Promise.resolve(entries.map((e, n): EntryResult => ({ id: e.id, status: n ? "refused" : "stored" })));
    }, storage);
    expect(sent[0]?.map((e) => e.item)).toEqual(["door", "l1"]);
    expect(refused.map((r) => [r.runId, r.entry.item, r.result.status])).toEqual([[7, "l1", "refused"]]);
    expect(queued(7, storage)).toEqual([]);
    expect(await flushAll(() => Promise.reject(new Error("not called")), storage)).toEqual([]);
  });

  it("sends every run's queue, in batches the server takes (review 19r H1, H2)", async () => {
    const storage = new Memory();
    for (let n = 0; n < BATCH + 36; n++) enqueue(3, entry(`i${n}`, n), storage);
    enqueue(4, entry("door", true), storage);
    const sent: [number, number][] = [];
    const refused = await flushAll((runId, entries) => {
      sent.push([runId, entries.length]);
      return Promise.resolve(entries.map((e): EntryResult => ({ id: e.id, status: "stored" })));
    }, storage);
    expect(sent).toEqual([[3, BATCH], [3, 36], [4, 1]]);
    expect(refused).toEqual([]);
    expect([queued(3, storage), queued(4, storage)]).toEqual([[], []]);
  });

  it("reads the code of a scanned label and makes version-4 ids", () => {
    expect(codeOf(" https://pm.example.cn/r/Ab_c-9?x=1 ")).toBe("Ab_c-9");
    expect(codeOf("Ab_c-9")).toBe("Ab_c-9");
    expect(codeOf("https://weixin.qq.com/q/02abc")).toBe(""); // no equipment label (19b-r L1)
    expect(newEntryId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(newEntryId()).not.toBe(newEntryId());
  });

  it("flags a manual reading beyond the tolerance of the live value", () => {
    expect(disagrees(30, 42, 5)).toBe(true);
    expect(disagrees(40, 42, 5)).toBe(false);
    expect(disagrees(null, 42, 5)).toBe(false);
  });
});

describe("the offline queue of a round's photos", () => {
  beforeEach(() => roundsOwner("tech"));
  const photo = (chars = 100): QueuedPhoto => ({ id: newEntryId(), runId: 7, data: "data:image/jpeg;base64," + "A".repeat(chars) });

  it("is capped by count and size: a photo past the cap is not taken", () => {
    const storage = new Memory();
    for (let n = 0; n < PHOTO_QUEUE.count; n++) expect(enqueuePhoto(photo(), storage)).toBe(true);
    expect(enqueuePhoto(photo(), storage)).toBe(false);
    expect(queuedPhotos(storage)).toHaveLength(PHOTO_QUEUE.count);
    const other = new Memory();
    expect(enqueuePhoto(photo(PHOTO_QUEUE.chars / 2), other)).toBe(true);
    expect(enqueuePhoto(photo(PHOTO_QUEUE.chars / 2), other)).toBe(false);
    expect(queuedPhotos(other)).toHaveLength(1);
  });

  it("keeps photos while the upload fails, drops each once sent or refused, before the entries", async () => {
    const storage = new Memory();
    const [a, b, c] = [photo(), photo(), photo()];
    for (const p of [a, b, c]) enqueuePhoto(p, storage);
    const offline = (p: QueuedPhoto) => (p.id === b.id ? Promise.reject(new TypeError("offline")) : Promise.resolve());
    await expect(flushPhotos(offline, () => false, storage)).rejects.toThrow("offline");
    expect(queuedPhotos(storage).map((p) => p.id)).toEqual([b.id, c.id]); // a sent, b and c wait
    const sent: string[] = [];
    const refusals = await flushPhotos(
      (p) => {
        sent.push(p.id);
        return p.id === c.id ? Promise.reject(new RangeError("422")) : Promise.resolve();
      },
      (err) => err instanceof RangeError,
      storage,
    );
    expect(sent).toEqual([b.id, c.id]);
    expect(refusals.map((r) => r.photo.id)).toEqual([c.id]);
    expect(queuedPhotos(storage)).toEqual([]);
  });

  it("turns a data URL back into the bytes it holds", async () => {
    const blob = blobOf("data:image/jpeg;base64," + btoa("\xff\xd8\xff"));
    expect(blob.type).toBe("image/jpeg");
    expect([...new Uint8Array(await blob.arrayBuffer())]).toEqual([0xff, 0xd8, 0xff]);
  });
});

describe("a run kept on the phone (review 19b-r L8)", () => {
  const run = { id: 4, due_at: "2026-03-01T00:00:00Z", missed_at: "2026-03-01T04:00:00Z" } as RoundRun;
  it("is the open one until its due point is missed, by the phone's clock", () => {
    expect(stillOpen(run, Date.parse("2026-03-01T03:59:00Z"))).toBe(true);
    expect(stillOpen(run, Date.parse("2026-03-01T04:00:00Z"))).toBe(true);
    expect(stillOpen(run, Date.parse("2026-03-01T04:01:00Z"))).toBe(false);
    expect(stillOpen(run, Date.parse("2026-03-02T01:00:00Z"))).toBe(false); // the next morning's point
  });
  it("is not, when kept before the server said when it is missed", () => {
    const older: Partial<RoundRun> = { ...run };
    delete older.missed_at;
    expect(stillOpen(older as RoundRun, Date.parse("2026-03-01T01:00:00Z"))).toBe(false);
  });
});

/** A storage that refuses a write past `quota` characters, as a browser's QuotaExceededError. */
class Small extends Memory {
  readonly quota: number;
  constructor(quota: number) {
    super();
    this.quota = quota;
  }
  private used(): number {
    let n = 0;
    for (let i = 0; i < this.length; i++) {
      const k = this.key(i) ?? "";
      n += k.length + (this.getItem(k) ?? "").length;
    }
    return n;
  }
  override setItem(key: string, value: string) {
    const before = this.getItem(key);
    super.setItem(key, value);
    if (this.used() > this.quota) {
      if (before === null) this.removeItem(key);
      else super.setItem(key, before);
      throw new DOMException("quota", "QuotaExceededError");
    }
  }
}

describe("the runs a phone keeps (review 19c-r H2)", () => {
  beforeEach(() => roundsOwner("tech"));
  const NOW = Date.parse("2026-03-02T04:00:00Z");
  const run = (id: number, done: boolean, missed: string): RoundRun => ({ id, done_at: done ? "2026-03-02T00:30:00Z" : null, missed_at: missed, stops: [] }) as unknown as RoundRun;

  it("drops a kept run once it is done or missed and nothing of it waits, keeping the one open and the ones with waiting entries", () => {
    const storage = new Memory();
    keepRun(run(1, true, "2026-03-02T09:00:00Z"), storage, NOW); // done, nothing waits
    keepScans(1, { 0: "c" }, storage);
    storage.setItem(ownKey("current.7"), "1");
    keepRun(run(2, false, "2026-03-02T09:00:00Z"), storage, NOW); // open: may be reopened offline
    keepRun(run(3, false, "2026-03-02T02:00:00Z"), storage, NOW); // missed
    keepRun(run(4, true, "2026-03-02T02:00:00Z"), storage, NOW);
    enqueue(4, entry("door", true), storage); // done on the phone, not yet sent
    keepRun(run(5, true, "2026-03-02T02:00:00Z"), storage, NOW); // the page open now
    expect([1, 2, 3, 4, 5].map((id) => keptRun(id, storage)?.id ?? null)).toEqual([null, 2, null, 4, 5]);
    expect([storage.getItem(ownKey("scans.1")), storage.getItem(ownKey("current.7"))]).toEqual([null, null]);
    expect(pruneKept(null, storage, NOW)).toBe(1); // run 5 once another page is open
  });

  it("makes room from the old kept runs when the storage is full, and says so when there is none to make", () => {
    const storage = new Small(6000);
    let filled = 0;
    try {
      for (let id = 1; id < 100; id++) {
        const big = { ...run(id, true, "2026-03-02T02:00:00Z"), stops: ["x".repeat(400)] };
        storage.setItem(ownKey(`run.${id}`), JSON.stringify(big)); // kept before pruning existed
        filled = id;
      }
    } catch {
      // the quota: the phone of the review after a couple of months
    }
    try {
      for (let id = 100; id < 200; id++) storage.setItem(ownKey(`run.${id}`), JSON.stringify(run(id, true, "2026-03-02T02:00:00Z")));
    } catch {
      // and to the last byte
    }
    expect(filled).toBeGreaterThan(5);
    expect(() => storage.setItem(ownKey("queue"), JSON.stringify({ 99: [entry("door", false)] }))).toThrow();
    enqueue(99, entry("door", false), storage); // the quota was reached: the old kept runs went
    expect(queued(99, storage)).toHaveLength(1);
    expect(keptRun(1, storage)).toBeNull();
    const full = new Small(250);
    enqueue(1, entry("door", true), full);
    expect(() => enqueue(1, entry("l1", 40), full)).toThrow(StorageFull);
    expect(() => keepScans(2, { 0: "x".repeat(400) }, full)).toThrow(StorageFull);
    expect(queued(1, full)).toHaveLength(1);
  });
});
