// The catalogue: both languages have the same keys, none empty; every key the code names
// exists; the API's enumerations all have labels.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { ALARM_STATES } from "@/alarms";
import en from "@/i18n/en";
import zhCN from "@/i18n/zh-CN";
import { initialLocale } from "@/i18n";
import { TRANSITIONS } from "@/workorders";

type Tree = { [key: string]: string | Tree };

function keys(tree: Tree, prefix = ""): string[] {
  return Object.entries(tree).flatMap(([k, v]) => (typeof v === "string" ? [`${prefix}${k}`] : keys(v, `${prefix}${k}.`)));
}

function lookup(tree: Tree, key: string): string | undefined {
  const [group, ...rest] = key.split(".");
  const node = group === undefined ? undefined : tree[group];
  if (node === undefined || typeof node === "string") return undefined;
  const leaf = node[rest.join(".")];
  return typeof leaf === "string" ? leaf : undefined;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(vue|ts)$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const zh = zhCN as unknown as Tree;
const english = en as unknown as Tree;

describe("the UI catalogue", () => {
  it("has the same keys in zh-CN and en, none empty", () => {
    expect(keys(english).sort()).toEqual(keys(zh).sort());
    for (const key of keys(zh)) {
      expect(lookup(zh, key)?.trim(), key).toBeTruthy();
      expect(lookup(english, key)?.trim(), key).toBeTruthy();
    }
  });

  it("has Chinese text in zh-CN and none in en", () => {
    const cjk = /[\u4e00-\u9fff]/;
    expect(keys(zh).filter((k) => cjk.test(lookup(zh, k) ?? "")).length).toBeGreaterThan(keys(zh).length * 0.8);
    expect(keys(english).filter((k) => cjk.test(lookup(english, k) ?? "")).filter((k) => k !== "app.title")).toEqual([]);
  });

  it("contains every key the code names", () => {
    const src = join(__dirname, "..", "src");
    const named = new Set<string>();
    for (const file of sources(src)) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/\bt\(\s*["'`]([a-zA-Z]+\.[a-zA-Z0-9_]+)["'`]/g)) named.add(m[1] ?? "");
      for (const m of text.matchAll(/(?:titleKey|label|title|key): "([a-z][a-zA-Z]+\.[a-zA-Z0-9_]+)"/g)) named.add(m[1] ?? "");
    }
    expect(named.size).toBeGreaterThan(100);
    expect([...named].filter((k) => lookup(zh, k) === undefined)).toEqual([]);
  });

  it("labels every alarm state and work-order status", () => {
    for (const state of ALARM_STATES) expect(lookup(zh, `alarmState.${state}`), state).toBeTruthy();
    for (const status of Object.keys(TRANSITIONS)) expect(lookup(zh, `orderStatus.${status}`), status).toBeTruthy();
    for (const moves of Object.values(TRANSITIONS)) for (const to of moves) expect(lookup(zh, `orderAction.${to}`), to).toBeTruthy();
  });
});

describe("the starting language", () => {
  it.each([
    [null, ["zh-TW", "en"], "zh-CN"],
    [null, ["en-GB"], "en"],
    [null, ["de-DE"], "zh-CN"],
    ["en", ["zh-CN"], "en"],
    ["fr", ["en-US"], "en"],
  ] as const)("stored %s, browser %j → %s", (stored, browser, expected) => {
    expect(initialLocale(stored, browser)).toBe(expected);
  });
});
