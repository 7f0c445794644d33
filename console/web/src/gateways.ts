// The gateway fleet page's pure parts: figures of a gateway's health in the reader's units,
// the state a gateway is in, and the configuration text the editor holds (JSON, checked
// before it goes to the console, which validates it with the gateway's own model).

/** Bytes as the reader reads them: "12.3 GB", "512 MB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** An uptime as days, hours and minutes: "3d 4h", "2h 5m", "45m". */
export function uptime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  const minutes = Math.floor(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}

/** A temperature in °C, or a dash where the gateway has no sensor. */
export function celsius(value: number | null | undefined): string {
  return value === null || value === undefined ? "—" : `${value.toFixed(1)} °C`;
}

/** The editor's text as a configuration object, or the reason it is not one. */
export function parseConfig(text: string): { config: Record<string, unknown> } | { error: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { error: "{ … }" };
  }
  return { config: parsed as Record<string, unknown> };
}

/** A configuration as the editor shows it. */
export function configText(config: Record<string, unknown> | null | undefined): string {
  return JSON.stringify(config ?? { devices: [] }, null, 2);
}

/** The tag type of a gateway's state. */
export function stateType(state: string): "success" | "danger" | "warning" | "info" {
  if (state === "online") return "success";
  if (state === "offline") return "danger";
  if (state === "stale") return "warning";
  return "info";
}

/** The editor's text with a CA certificate (PEM text) given to sensor number `sensor` (from
 * 1) as its own broker's `ca_pem` (any `ca_file` dropped: a push names no file on the Pi); or
 * why not: the text is no configuration ("notJson", with `detail`), or that sensor has no
 * broker of its own ("noSensorBroker"). */
export function withCa(
  text: string,
  sensor: number,
  pem: string,
): { text: string } | { error: "notJson" | "noSensorBroker"; detail?: string } {
  const parsed = parseConfig(text);
  if ("error" in parsed) return { error: "notJson", detail: parsed.error };
  const sensors = parsed.config.mqtt_sensors;
  const entry = Array.isArray(sensors) ? (sensors[sensor - 1] as unknown) : undefined;
  const own = entry !== null && typeof entry === "object" ? (entry as Record<string, unknown>).mqtt : undefined;
  if (own === null || typeof own !== "object" || Array.isArray(own)) return { error: "noSensorBroker" };
  const broker = own as Record<string, unknown>;
  delete broker.ca_file;
  broker.ca_pem = pem;
  broker.tls = true;
  return { text: configText(parsed.config) };
}

/** The registered equipment a config leaves out (neither a device nor an MQTT sensor): a push
 * replaces the whole list, so these stop being polled and the push must name them in `remove`. */
export function leftOut(config: Record<string, unknown>, registered: readonly string[]): string[] {
  const named = new Set<string>();
  for (const key of ["devices", "mqtt_sensors"]) {
    const items = config[key];
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (item && typeof item === "object" && typeof (item as { equipment?: unknown }).equipment === "string") {
        named.add((item as { equipment: string }).equipment);
      }
    }
  }
  return registered.filter((eq) => !named.has(eq));
}
