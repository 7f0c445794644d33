// The booking form (desk and phone: one component) says how much of the reader's authority
// for today at the site is left, from the order's `limit_left` (review 19h), in both languages.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";

import OrderBooking from "@/components/OrderBooking.vue";
import { harness, stubApi } from "./helpers";

afterEach(() => {
  vi.unstubAllGlobals();
  document.body.innerHTML = "";
});

describe("what is left of the limit today", () => {
  it.each([
    ["zh-CN", "今天在本项目您还可手工登记 100.00（每日额度 500.00）"],
    ["en", "Left of your limit today on this site: 1,100.00 of 5,000.00"],
  ] as const)("says it in %s", async (lang, words) => {
    const h = harness(lang);
    stubApi({ "GET /api/parts": [] });
    const left = lang === "en" ? 1100 : 100;
    const limit = lang === "en" ? 5000 : 500;
    const card = mount(OrderBooking, { props: { orderId: 2, limitLeft: left, limitToday: limit }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(card.get(".limit-left").text()).toContain(words);
    card.unmount();
  });

  it("says nothing for a manager (no limit)", async () => {
    const h = harness("en");
    stubApi({ "GET /api/parts": [] });
    const card = mount(OrderBooking, { props: { orderId: 2, limitLeft: null, limitToday: null }, global: { plugins: h.plugins }, attachTo: document.body });
    await flushPromises();
    expect(card.find(".limit-left").exists()).toBe(false);
    card.unmount();
  });
});
