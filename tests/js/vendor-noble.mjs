// Re-creates src/web/assets/vendor/noble-{curves,hashes,ciphers}/ from npm tarballs and prints
// the README table rows. Usage:
//   cd /tmp/x && npm pack @noble/curves@2.4.0 @noble/hashes@2.4.0 @noble/ciphers@2.4.0
//   node tests/js/vendor-noble.mjs /tmp/x            (writes the files, prints the rows)
//   node tests/js/vendor-noble.mjs /tmp/x --check    (only compares with the vendored tree)
//
// Why a rewrite at all: @noble/curves 2.x imports @noble/hashes by bare specifier
// ('@noble/hashes/sha2.js'). A browser resolves bare specifiers only through an import map,
// which the appliance's CSP (script-src 'self', no inline script) forbids, and which module
// Web Workers do not get at all (checked in Chromium 156). So in exactly the `import` lines
// of three files, `from '@noble/hashes/X'` becomes the relative `from '../noble-hashes/X'`.
// Nothing else changes; `unrewrite` below reverses it and the node tests check that the
// result hashes to the published file's SHA-256 (column "as published" in the README).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const VERSION = '2.4.0';
// The import graph of ed25519.js (ristretto255 + ed25519), hkdf + sha2, chacha20poly1305.
export const FILES = {
  curves: ['ed25519.js', 'utils.js', 'abstract/curve.js', 'abstract/modular.js',
    'abstract/edwards.js', 'abstract/frost.js', 'abstract/fft.js', 'abstract/hash-to-curve.js',
    'abstract/montgomery.js', 'abstract/oprf.js'],
  hashes: ['sha2.js', '_md.js', '_u64.js', 'utils.js', 'hmac.js', 'hkdf.js'],
  ciphers: ['chacha.js', '_arx.js', '_poly1305.js', 'utils.js'],
};

const IMPORT_LINE = /^(import [^\n]*? from ')@noble\/hashes\/([a-z0-9_]+\.js';)$/gm;
const REWRITTEN_LINE = /^(import [^\n]*? from ')((?:\.\.\/)+)noble-hashes\/([a-z0-9_]+\.js';)$/gm;

/** Published text → served text (only for files under noble-curves/). */
export function rewrite(text, file) {
  const up = '../'.repeat(file.split('/').length);
  return text.replace(IMPORT_LINE, (_, head, tail) => `${head}${up}noble-hashes/${tail}`);
}
/** Served text → published text. */
export function unrewrite(text) {
  return text.replace(REWRITTEN_LINE, (_, head, _up, tail) => `${head}@noble/hashes/${tail}`);
}
export const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

function main() {
  const [src, flag] = process.argv.slice(2);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const vendor = path.resolve(here, '../../src/web/assets/vendor');
  const rows = [];
  let bad = 0;
  for (const [pkg, files] of Object.entries(FILES)) {
    const tgz = path.join(src, `noble-${pkg}-${VERSION}.tgz`);
    const tmp = fs.mkdtempSync(path.join(src, `unpack-${pkg}-`));
    execFileSync('tar', ['xzf', tgz, '-C', tmp]);
    for (const f of files) {
      const published = fs.readFileSync(path.join(tmp, 'package', f));
      const served = pkg === 'curves' ? Buffer.from(rewrite(published.toString('utf8'), f)) : published;
      const rel = `noble-${pkg}/${f}`;
      const dest = path.join(vendor, rel);
      if (flag === '--check') {
        if (!fs.existsSync(dest) || !fs.readFileSync(dest).equals(served)) { console.log('DIFFERS', rel); bad++; }
      } else {
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        fs.writeFileSync(dest, served);
      }
      const same = published.equals(served);
      rows.push(`| \`${rel}\` | \`@noble/${pkg}\` ${VERSION} | ${sha256hex(served)} | ${same ? 'same' : sha256hex(published)} |`);
    }
    if (flag !== '--check') {
      fs.copyFileSync(path.join(tmp, 'package', 'LICENSE'), path.join(vendor, `LICENSE.noble-${pkg}`));
    }
    fs.rmSync(tmp, { recursive: true });
  }
  console.log(rows.join('\n'));
  if (bad) process.exit(1);
}
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
