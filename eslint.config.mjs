import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "src/generated/", ".data/", "dist/", "bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        require: "readonly",
        module: "writable",
        __dirname: "readonly",
        process: "readonly",
        console: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // A feature folder is entered through its index.ts (its public surface); only its own files
    // reach its other modules. Tests may reach inside (unit tests of one module).
    files: ["src/**/*.ts", "workers/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["**/subscriptions/*", "**/papers/*", "**/digests/*", "**/feedback/*", "**/admin/*"],
              message: 'Import a feature through its index (e.g. "../papers"), not one of its files (CONTRIBUTING.md).',
            },
          ],
        },
      ],
    },
  },
  {
    // Functions small enough to read at once: split a long one along the steps it already has.
    // Tests are held to the type-checked rules above but not to these (a scenario reads top to bottom).
    files: ["src/**/*.ts", "workers/**/*.ts"],
    rules: {
      complexity: ["error", 12],
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Plain JavaScript (the bin shim, config files, scripts) is not part of the TypeScript project.
    files: ["**/*.js", "**/*.mjs", "**/*.cjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
