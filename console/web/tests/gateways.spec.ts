import { describe, expect, it } from "vitest";

import { bytes, celsius, configText, parseConfig, stateType, uptime } from "@/gateways";

describe("gateway figures", () => {
  it("shows bytes, uptimes and temperatures in reader's units", () => {
    expect(bytes(512)).toBe("512 B");
    expect(bytes(3 * 1024 * 1024 * 1024)).toBe("3.0 GB");
    expect(bytes(null)).toBe("—");
    expect(uptime(45 * 60)).toBe("45m");
    expect(uptime(2 * 3600 + 5 * 60)).toBe("2h 5m");
    expect(uptime(3 * 86400 + 4 * 3600)).toBe("3d 4h");
    expect(celsius(51)).toBe("51.0 °C");
    expect(celsius(null)).toBe("—");
    expect(stateType("offline")).toBe("danger");
  });

  it("takes only a JSON object as a configuration", () => {
    expect(parseConfig('{"devices": []}')).toEqual({ config: { devices: [] } });
    expect("error" in parseConfig("[1]")).toBe(true);
    expect("error" in parseConfig("{devices:")).toBe(true);
    expect(parseConfig(configText(null))).toEqual({ config: { devices: [] } });
  });
});
