// The user's display preferences: language, muted alarm sound, and the cue per priority.
// Kept in localStorage for the login page and, once signed in, on the server
// (/api/preferences), so they follow the user from one desk to the next.
import { defineStore } from "pinia";
import { ref, watch } from "vue";

import { api, call, useLanguage, type CueSetting, type Preferences } from "@/api/client";
import { initialLocale, isLocale, type AppI18n, type Locale } from "@/i18n";

const LANG = "bw-lang";
const MUTED = "bw-muted";

/** The cue until the server says otherwise: emergencies often, low priority silent. */
export const DEFAULT_CUE: Record<string, CueSetting> = {
  "1": { sound: true, every_s: 5 },
  "2": { sound: true, every_s: 15 },
  "3": { sound: true, every_s: 60 },
  "4": { sound: false, every_s: 120 },
};

export const usePrefs = defineStore("prefs", () => {
  const locale = ref<Locale>(initialLocale(localStorage.getItem(LANG), navigator.languages));
  const muted = ref(localStorage.getItem(MUTED) === "1");
  const cue = ref<Record<string, CueSetting>>({ ...DEFAULT_CUE });
  /** Whether the server's copy has been read (changes are saved only after that). */
  const synced = ref(false);

  watch(locale, (value) => localStorage.setItem(LANG, value));
  watch(muted, (value) => localStorage.setItem(MUTED, value ? "1" : "0"));

  function current(): Preferences {
    return { language: locale.value, muted: muted.value, cue: cue.value };
  }

  async function save(): Promise<void> {
    if (!synced.value) return;
    await call(api.PUT("/api/preferences", { body: current() })).catch(() => undefined);
  }

  /** Read the signed-in user's preferences (their language wins over this browser's). */
  async function load(): Promise<void> {
    const found = await call(api.GET("/api/preferences")).catch(() => null);
    if (found === null) return;
    if (isLocale(found.language)) locale.value = found.language;
    muted.value = found.muted ?? muted.value;
    cue.value = { ...DEFAULT_CUE, ...(found.cue ?? {}) };
    synced.value = true;
  }

  function toggleLocale(): void {
    locale.value = locale.value === "zh-CN" ? "en" : "zh-CN";
    void save();
  }

  function toggleMuted(): void {
    muted.value = !muted.value;
    void save();
  }

  function setCue(priority: string, setting: CueSetting): void {
    cue.value = { ...cue.value, [priority]: setting };
    void save();
  }

  function forget(): void {
    synced.value = false;
  }

  return { locale, muted, cue, synced, load, toggleLocale, toggleMuted, setCue, forget };
});

/** Make the catalogue, the page's `lang` and the API's Accept-Language follow the language. */
export function bindLocale(i18n: AppI18n): void {
  const prefs = usePrefs();
  useLanguage(() => prefs.locale);
  watch(
    () => prefs.locale,
    (locale) => {
      i18n.global.locale.value = locale;
      document.documentElement.lang = locale;
    },
    { immediate: true },
  );
}
