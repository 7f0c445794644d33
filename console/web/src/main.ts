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
