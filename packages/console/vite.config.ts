import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev -w packages/console` serves the console with hot reload and forwards API calls to a
// Latchkey on :8080 (`npm start`). `npm run build` writes dist/, which the server serves at `/`.
const api = process.env.LATCHKEY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    // Every browser that runs the console supports <link rel="modulepreload">: skip the polyfill bytes.
    modulePreload: { polyfill: false },
    // The CSP allows images from 'self' and data:, nothing inline otherwise; keep assets as files.
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/oauth', '/.well-known', '/docs'].map((prefix) => [prefix, { target: api, changeOrigin: false }])),
  },
});
