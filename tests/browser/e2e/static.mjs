// A tiny static server for the e2e browser pages: only a few repository paths, the appliance's
// strict CSP, 127.0.0.1 on a free port. Shared by tests/browser/e2e.mjs and benches/js-prove.mjs.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const ALLOWED = ["/src/web/assets/", "/tests/js/", "/tests/browser/e2e/", "/benches/js-prove/", "/crates/core/tests/data/e2e/vectors.json"];
const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html; charset=utf-8", ".json": "application/json", ".css": "text/css" };
export const CSP = "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

export function startStatic() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const p = path.posix.normalize(decodeURIComponent(url.pathname));
    const file = path.join(ROOT, p);
    if (!ALLOWED.some((a) => p.startsWith(a) || p === a) || !file.startsWith(ROOT) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-security-policy": CSP });
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream", "content-security-policy": CSP,
      "x-content-type-options": "nosniff", "cache-control": "no-store" });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, base: `http://127.0.0.1:${server.address().port}` })));
}

export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
