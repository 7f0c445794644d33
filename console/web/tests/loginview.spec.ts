// Signing in without a network (review 19c-r M14): the page says so in the user's language
// instead of the browser's English "Failed to fetch".
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";

import LoginView from "@/views/LoginView.vue";

import { harness } from "./helpers";

describe("the login page without a network", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("says the server cannot be reached, in Chinese", async () => {
    const h = harness("zh-CN");
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const view = mount(LoginView, { global: { plugins: h.plugins }, attachTo: document.body });
    const inputs = view.findAll("input");
    await inputs[0]?.setValue("tech1");
    await inputs[1]?.setValue("secret-pass");
    await view.get("form").trigger("submit");
    for (let n = 0; n < 5; n++) await flushPromises();
    const text = view.text();
    expect(text).toContain("无法连接服务器");
    expect(text).not.toContain("Failed to fetch");
    view.unmount();
  });
});
