// The vendored noble files are the published npm files; the three @noble/curves files that
// import @noble/hashes by bare specifier differ only by that specifier (see vendor-noble.mjs).
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { FILES, sha256hex, unrewrite } from "./vendor-noble.mjs";

const VENDOR = new URL("../../src/web/assets/vendor/", import.meta.url);

function table() {
  const rows = fs.readFileSync(new URL("README.md", VENDOR), "utf8").split("\n").filter((l) => l.startsWith("| `"));
  return rows.map((l) => l.split("|").map((c) => c.trim())).map((c) => ({ file: c[1].replace(/`/g, ""), served: c[3], published: c[4] }));
}

test("every vendored noble file matches the README table and the published bytes", () => {
  const rows = table();
  const listed = new Set(rows.map((r) => r.file));
  for (const [pkg, files] of Object.entries(FILES)) for (const f of files) assert.ok(listed.has(`noble-${pkg}/${f}`), `noble-${pkg}/${f} listed`);
  for (const { file, served, published } of rows) {
    const bytes = fs.readFileSync(new URL(file, VENDOR));
    assert.equal(sha256hex(bytes), served, file);
    if (!file.startsWith("noble-curves/")) continue;
    const original = Buffer.from(unrewrite(bytes.toString("utf8")));
    assert.equal(sha256hex(original), published === "same" ? served : published, `${file} as published`);
  }
});

test("the vendored import graph has no bare specifier and every relative import resolves", () => {
  const seen = new Set();
  const visit = (url) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    // Block comments hold usage examples with bare imports; they are not code.
    const src = fs.readFileSync(url, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    for (const m of src.matchAll(/^\s*(?:import|export)\s+[\w*{}\s,$]*?\s*from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm)) {
      const spec = m[1] ?? m[2];
      assert.ok(spec.startsWith("./") || spec.startsWith("../"), `${url.pathname}: bare import ${spec}`);
      const dep = new URL(spec, url);
      assert.ok(fs.existsSync(dep), `${url.pathname} imports missing ${spec}`);
      visit(dep);
    }
  };
  for (const entry of ["e2e/e2e.js", "e2e/transport.js", "e2e/prover-worker.js", "sig.js", "tablet.js"]) {
    visit(new URL(`../../src/web/assets/${entry}`, import.meta.url));
  }
  assert.ok(seen.size > 15);
});
