// The UI's message catalogue (vue-i18n, composition mode). To add a string: put the key in
// zh-CN.ts and en.ts, then use t() with "<group>.<key>" in a component (templates hold no bare text;
// eslint's vue/no-bare-strings-in-template fails the build otherwise).
import { createI18n } from "vue-i18n";
import elementEn from "element-plus/es/locale/lang/en";
import elementZhCn from "element-plus/es/locale/lang/zh-cn";

import en from "./en";
import zhCN, { type MessageSchema } from "./zh-CN";

export const LOCALES = ["zh-CN", "en"] as const;
export type Locale = (typeof LOCALES)[number];

/** Each language by its own name (as language pickers show them, whatever the UI's language). */
export const LANGUAGE_NAMES: Record<Locale, string> = { "zh-CN": "中文", en: "English" };

/** Element Plus's own texts (date pickers, pagination, empty tables) per UI language. */
export const ELEMENT_LOCALES = { "zh-CN": elementZhCn, en: elementEn } as const;

export function isLocale(value: unknown): value is Locale {
  return typeof value === "string" && (LOCALES as readonly string[]).includes(value);
}

/** The language to start in: the user's last choice, else the browser's, else Chinese. */
export function initialLocale(stored: string | null, browser: readonly string[]): Locale {
  if (isLocale(stored)) return stored;
  for (const tag of browser) {
    const lower = tag.toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "zh-CN";
}

export function makeI18n(locale: Locale) {
  return createI18n<[MessageSchema], Locale, false>({
    legacy: false,
    locale,
    fallbackLocale: "en",
    messages: { "zh-CN": zhCN, en },
    missingWarn: false,
    fallbackWarn: false,
  });
}

export type AppI18n = ReturnType<typeof makeI18n>;
