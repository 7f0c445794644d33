import { describe, expect, it } from "vitest";

import { bytes, celsius, configText, leftOut, parseConfig, stateType, uptime, withCa } from "@/gateways";
import { LOCALES, makeI18n } from "@/i18n";

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
    expect(stateType("stale")).toBe("warning");
  });

  it("takes only a JSON object as a configuration", () => {
    expect(parseConfig('{"devices": []}')).toEqual({ config: { devices: [] } });
    expect("error" in parseConfig("[1]")).toBe(true);
    expect("error" in parseConfig("{devices:")).toBe(true);
    expect(parseConfig(configText(null))).toEqual({ config: { devices: [] } });
  });

  it("puts a CA certificate into a sensor's own broker, dropping a file on the Pi", () => {
    const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const config = {
      mqtt_sensors: [
        { equipment: "TS-01", topic: "sensors/demo/TS-01" },
        { equipment: "TS-02", topic: "t", mqtt: { host: "10.0.0.9", port: 8883, ca_file: "/etc/ca.crt" } },
      ],
    };
    const done = withCa(JSON.stringify(config), 2, pem);
    expect("text" in done).toBe(true);
    const broker = (JSON.parse((done as { text: string }).text) as typeof config).mqtt_sensors[1]?.mqtt;
    expect(broker).toEqual({ host: "10.0.0.9", port: 8883, tls: true, ca_pem: pem });
    expect(withCa(JSON.stringify(config), 1, pem)).toEqual({ error: "noSensorBroker" });
    expect(withCa(JSON.stringify(config), 3, pem)).toEqual({ error: "noSensorBroker" });
    expect(withCa("{", 1, pem)).toMatchObject({ error: "notJson" });
  });

  it("names the registered equipment a config leaves out", () => {
    const config = { devices: [{ equipment: "P-01" }, "junk"], mqtt_sensors: [{ equipment: "TS-01" }] };
    expect(leftOut(config, ["E-01", "P-01", "TS-01", "M-01"])).toEqual(["E-01", "M-01"]);
    expect(leftOut({ devices: "no" }, ["P-01"])).toEqual(["P-01"]);
  });
});

describe("the push form's help", () => {
  it("names every section the API says is set at install, in both languages", () => {
    // review 21f L-b: profiles_dir was left out of a hand-written list
    const sections = ["site", "gateway_id", "mqtt", "queue", "fleet", "profiles_dir"];
    for (const locale of LOCALES) {
      const help = makeI18n(locale).global.t("gateways.pushHelp", { sections: sections.join(", ") });
      for (const section of sections) expect(help, locale).toContain(section);
    }
  });
});
