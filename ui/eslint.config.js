import js from '@eslint/js';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';

export default ts.config(
  { ignores: ['dist/', 'src/ipc/bindings.gen.ts'] },
  js.configs.recommended,
  ...ts.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      // Browser globals with everyday names: a forgotten local `name` once announced "Sync
      // started for ." (window.name) instead of failing.
      'no-restricted-globals': ['error', 'name', 'status', 'event', 'origin', 'length', 'parent', 'top', 'close', 'open'],
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: ts.parser } },
  },
  {
    // Only src/ipc talks to Tauri: everything else goes through it, so the IPC surface stays
    // typed and in one place.
    files: ['src/**/*.ts', 'src/**/*.svelte'],
    ignores: ['src/ipc/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tauri-apps/*'], message: 'Import from src/ipc instead.' }] },
      ],
    },
  },
);
