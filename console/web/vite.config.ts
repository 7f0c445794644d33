// Build of the console's browser application. `npm run build` (run by `make web`) writes
// dist/: index.html, hashed assets/, and vendor/ with the npm packages /docs and /redoc load.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

import vue from "@vitejs/plugin-vue";
import { defineConfig, type Plugin } from "vitest/config";

/** Files of npm packages copied unchanged into dist/vendor (the console serves /vendor). */
const VENDOR: Record<string, string[]> = {
  "swagger-ui": [
    "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-dist/LICENSE",
  ],
  redoc: ["redoc/bundles/redoc.standalone.js", "redoc/bundles/redoc.standalone.js.LICENSE.txt"],
};

function copyVendor(): Plugin {
  let outDir = "dist";
  return {
    name: "bldgwatch-copy-vendor",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      for (const [name, files] of Object.entries(VENDOR)) {
        const target = `${outDir}/vendor/${name}`;
        mkdirSync(target, { recursive: true });
        for (const file of files) {
          const source = fileURLToPath(new URL(`./node_modules/${file}`, import.meta.url));
          cpSync(source, `${target}/${file.split("/").pop() ?? file}`);
        }
      }
    },
  };
}

/** The built files the service worker keeps (paths from the site's root): the application,
 * not the copied npm packages of /docs nor index.html (kept as loaded from "/"). */
function shellFiles(outDir: string): string[] {
  const files = readdirSync(outDir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => `${entry.parentPath.slice(outDir.length)}/${entry.name}`.replace(/\\/g, "/").replace(/^\/?/, "/"));
  return files.filter((f) => !f.startsWith("/vendor/") && f !== "/index.html" && f !== "/sw.js").sort();
}

/** dist/sw.js from shell/sw.js: the list of built files and a version that changes with any of
 * them (so a new build replaces the kept application). See `shell/sw.js`. */
function serviceWorker(): Plugin {
  let outDir = "dist";
  return {
    name: "bldgwatch-service-worker",
    apply: "build",
    configResolved(config) {
      outDir = config.build.outDir;
    },
    closeBundle() {
      const files = shellFiles(outDir);
      const hash = createHash("sha256");
      for (const file of [...files, "/index.html"]) hash.update(file).update(readFileSync(`${outDir}${file}`));
      const source = readFileSync(fileURLToPath(new URL("./shell/sw.js", import.meta.url)), "utf8");
      const worker = source
        .replace('"__SHELL_VERSION__"', JSON.stringify(hash.digest("hex").slice(0, 16)))
        .replace("__SHELL_FILES__", JSON.stringify(files));
      writeFileSync(`${outDir}/sw.js`, worker);
    },
  };
}

export default defineConfig({
  plugins: [vue(), copyVendor(), serviceWorker()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        // Libraries change less often than the app: separate chunks stay cached across builds.
        codeSplitting: {
          groups: [
            { name: "element-plus", test: /node_modules[\\/](element-plus|@element-plus|@vueuse|dayjs|lodash)/ },
            { name: "echarts", test: /node_modules[\\/](echarts|zrender)/ },
            { name: "vue", test: /node_modules[\\/](@vue|vue|vue-router|pinia|vue-i18n|@intlify)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    // `npm run dev` against a console on :8080 (e.g. `make demo`)
    proxy: {
      "/api": { target: "http://127.0.0.1:8080", ws: true },
      "/healthz": "http://127.0.0.1:8080",
      "/openapi.json": "http://127.0.0.1:8080",
    },
  },
  test: {
    environment: "happy-dom",
    include: ["tests/**/*.spec.ts"],
    // mounting the alarm console (tables, selects, dialogs) takes seconds on a busy 2-core box
    testTimeout: 30000,
    // processed by Vite like the app, so Element Plus and the tests share one Vue
    server: { deps: { inline: ["element-plus"] } },
  },
});
