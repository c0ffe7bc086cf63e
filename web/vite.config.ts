import { defineConfig } from "vitest/config";

// The platform (Traefik: /api/*, /socket.io) during development: `./taskw up` serves it at
// http://127.0.0.1:18000. PARLEY_API_URL points the dev server elsewhere.
const platform = process.env.PARLEY_API_URL ?? "http://127.0.0.1:18000";

// Signaling checks the Origin header against its allow-list, which names the platform's own
// origin; the dev server's origin (http://127.0.0.1:5173) is not on it, so the proxy presents
// the platform's origin instead. In production the client is served on the platform's origin.
const proxied = {
  target: platform,
  changeOrigin: true,
  headers: { origin: new URL(platform).origin },
};

export default defineConfig({
  oxc: {
    jsx: { runtime: "automatic", importSource: "preact" },
  },
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: true,
  },
  server: {
    host: "127.0.0.1",
    proxy: {
      "/api": proxied,
      "/socket.io": { ...proxied, ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
