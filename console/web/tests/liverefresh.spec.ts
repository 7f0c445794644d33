// A view's reloads never overlap: one asked for while a load runs runs once after it, so a
// slow older answer cannot land after a newer one.
import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { defineComponent, h as render } from "vue";

import { useLiveRefresh } from "@/composables/live";
import { harness } from "./helpers";

describe("useLiveRefresh", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("runs one load at a time and once more for the reloads asked for meanwhile", async () => {
    const h = harness();
    const pending: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const load = vi.fn(async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => pending.push(resolve));
      running -= 1;
    });
    let reload = () => {};
    const view = mount(
      defineComponent({
        setup() {
          reload = useLiveRefresh(load).reload;
          return () => render("p");
        },
      }),
      { global: { plugins: h.plugins } },
    );
    expect(load).toHaveBeenCalledTimes(1); // on mount
    reload();
    await vi.advanceTimersByTimeAsync(200);
    reload();
    await vi.advanceTimersByTimeAsync(200);
    expect(load).toHaveBeenCalledTimes(1); // the first is still running
    pending.shift()!();
    await flushPromises();
    expect(load).toHaveBeenCalledTimes(2); // the two asked for meanwhile: once
    pending.shift()!();
    await flushPromises();
    expect(load).toHaveBeenCalledTimes(2);
    expect(most).toBe(1);
    view.unmount();
  });
});
