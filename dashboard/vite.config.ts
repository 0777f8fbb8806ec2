import { defineConfig } from 'vite';

// Served by the API at /ui (functions/dashboard.py); `npm run dev` proxies the API.
const api = process.env.AGENTGYM_API_URL ?? 'http://127.0.0.1:8000';

export default defineConfig({
  base: '/ui/',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: true },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  server: {
    proxy: {
      '/api': api,
      '/ws': { target: api.replace(/^http/, 'ws'), ws: true },
    },
  },
});
