// Reference data that rarely changes, read once after sign-in: the sites (their time zone,
// language and buildings) and the points of each equipment type (label per language, unit,
// decimals, from the device profiles). Times show on the site's clock; readings with units.
import { defineStore } from "pinia";
import { ref } from "vue";

import { api, call, type PointOut, type Site } from "@/api/client";
import type { Locale } from "@/i18n";

/** The zone when a site is not known (the project's users are in China first). */
export const DEFAULT_ZONE = "Asia/Shanghai";

export const useReference = defineStore("reference", () => {
  const sites = ref<Site[]>([]);
  const points = ref<Record<string, Record<string, PointOut>>>({});
  let loading: Promise<void> | null = null;

  async function fetchAll(): Promise<void> {
    const [found, catalogue] = await Promise.all([
      call(api.GET("/api/sites", { params: { query: { limit: 500 } } })),
      call(api.GET("/api/points")),
    ]);
    sites.value = found.items;
    points.value = catalogue;
  }

  /** Read (once; again after `forget`). */
  function load(): Promise<void> {
    loading ??= fetchAll().catch((err: unknown) => {
      loading = null;
      throw err;
    });
    return loading;
  }

  function forget(): void {
    loading = null;
  }

  /** A site's IANA time zone. */
  function zone(site: string | null | undefined): string {
    const found = sites.value.find((s) => s.id === site);
    return found?.timezone ?? sites.value[0]?.timezone ?? DEFAULT_ZONE;
  }

  function building(site: string, id: string): string {
    const found = sites.value.find((s) => s.id === site)?.buildings?.find((b) => b.id === id);
    return found?.name || id;
  }

  function point(type: string, name: string): PointOut | null {
    return points.value[type]?.[name] ?? null;
  }

  /** What people call a point in `locale` (its name when no profile knows it). */
  function pointLabel(type: string, name: string, locale: Locale): string {
    const found = point(type, name);
    return found?.label[locale] ?? found?.label.en ?? name;
  }

  return { sites, points, load, forget, zone, building, point, pointLabel };
});
