import "element-plus/dist/index.css";
import "./style.css";

import { createPinia } from "pinia";
import { createApp } from "vue";

import App from "./App.vue";
import { makeI18n } from "./i18n";
import { makeRouter } from "./router";
import { bindLocale, usePrefs } from "./stores/prefs";

const pinia = createPinia();
const app = createApp(App).use(pinia);
const prefs = usePrefs(pinia);
const i18n = makeI18n(prefs.locale);
bindLocale(i18n);
app.use(i18n).use(makeRouter()).mount("#app");

// The service worker keeps the application for offline use (a technician's round reopens
// without a network; see shell/sw.js). Browsers offer it on https and on localhost only.
if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch((err: unknown) => console.warn("no offline application:", err));
}
