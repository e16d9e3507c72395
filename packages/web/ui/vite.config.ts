// Builds the browser UI (Preact + uPlot) into packages/web/dist-ui, served by the web server at
// its prefix. `base: './'`: every asset URL is relative, so the UI works under any mount prefix.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist-ui', import.meta.url)),
    emptyOutDir: true,
    // No inline scripts anywhere (the CSP has no 'unsafe-inline'): the modulepreload polyfill
    // would be the only candidate, and every supported browser has modulepreload.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
});
