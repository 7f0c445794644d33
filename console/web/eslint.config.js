// Lint of the console's browser code: Vue's recommended rules, TypeScript's type-aware
// rules, and no bare text in templates (every string goes through vue-i18n).
import pluginVue from "eslint-plugin-vue";
import { defineConfigWithVueTs, vueTsConfigs } from "@vue/eslint-config-typescript";

export default defineConfigWithVueTs(
  { ignores: ["dist/**", "node_modules/**", "src/api/schema.d.ts"] },
  pluginVue.configs["flat/recommended"],
  vueTsConfigs.recommendedTypeChecked,
  {
    rules: {
      "vue/no-bare-strings-in-template": [
        "error",
        // symbols and units that read the same in every language
        { allowlist: ["(", ")", ",", ".", "&", "+", "-", "=", "*", "/", "#", "%", "!", "?", ":", "[", "]", "{", "}", "<", ">", "•", "|", "·", "–", "—", "→", "P"] },
      ],
      "vue/multi-word-component-names": "off",
      "vue/max-attributes-per-line": "off",
      "vue/singleline-html-element-content-newline": "off",
      "vue/html-self-closing": "off",
      "vue/html-indent": "off",
      "vue/html-closing-bracket-newline": "off",
      "vue/multiline-html-element-content-newline": "off",
      "vue/require-default-prop": "off",
    },
  },
  {
    files: ["tests/**/*.ts"],
    rules: { "@typescript-eslint/unbound-method": "off" },
  },
);
