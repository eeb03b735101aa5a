// ESLint 9 flat config: typescript-eslint's recommended rules and React's hook rules for the
// app, its tests, the e2e suite, the scripts, the bench and these config files.
import js from "@eslint/js";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "test-results/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}", "bench/**/*.{ts,tsx}", "public/**/*.js"],
    languageOptions: { globals: globals.browser },
    ...reactHooks.configs.flat.recommended,
  },
  {
    // Node scripts; the e2e suite and the bench also pass functions to page.evaluate, which run in the page.
    files: ["**/*.mjs", "*.config.{js,ts}", "bench/*.config.ts"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    rules: {
      // `_name` marks an argument a signature needs but the body does not.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
);
