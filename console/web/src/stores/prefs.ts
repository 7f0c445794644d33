// The user's display preferences, kept in localStorage: language and muted alarm sound.
import { defineStore } from "pinia";
import { ref, watch } from "vue";

import { initialLocale, type AppI18n, type Locale } from "@/i18n";

const LANG = "bw-lang";
const MUTED = "bw-muted";

export const usePrefs = defineStore("prefs", () => {
  const locale = ref<Locale>(initialLocale(localStorage.getItem(LANG), navigator.languages));
  const muted = ref(localStorage.getItem(MUTED) === "1");

  watch(locale, (value) => localStorage.setItem(LANG, value));
  watch(muted, (value) => localStorage.setItem(MUTED, value ? "1" : "0"));

  function toggleLocale(): void {
    locale.value = locale.value === "zh-CN" ? "en" : "zh-CN";
  }

  function toggleMuted(): void {
    muted.value = !muted.value;
  }

  return { locale, muted, toggleLocale, toggleMuted };
});

/** Make the catalogue and the page's `lang` follow the chosen language. */
export function bindLocale(i18n: AppI18n): void {
  const prefs = usePrefs();
  watch(
    () => prefs.locale,
    (locale) => {
      i18n.global.locale.value = locale;
      document.documentElement.lang = locale;
    },
    { immediate: true },
  );
}
