// sig.js verifies under SPEC-E2E §7.4's strict rule, as the Rust side (crypto::verify): the nine
// ed25519_strict vectors, and a signature with an 8-torsion R that the old vendored
// noble-ed25519 (cofactored) accepted.
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import * as sig from "../../src/web/assets/sig.js";
import * as oldNoble from "../../src/web/assets/vendor/noble-ed25519.js";
import { sha512 } from "../../src/web/assets/vendor/noble-hashes/sha2.js";
import { hexToBytes } from "../../src/web/assets/vendor/noble-hashes/utils.js";
import { T8, publicKeyHex, signHex, torsionSignatureHex } from "./forge.mjs";

oldNoble.hashes.sha512 = sha512;
const vectors = JSON.parse(fs.readFileSync(new URL("../../crates/core/tests/data/e2e/vectors.json", import.meta.url), "utf8"));

test("the nine ed25519_strict vectors give the same verdicts through sig.js", () => {
  const cases = vectors.ed25519_strict;
  assert.equal(cases.length, 9);
  for (const c of cases) assert.equal(sig.verifyMessage(hexToBytes(c.msg), c.sig, c.pk), c.valid, c.case);
  assert.equal(cases.filter((c) => c.valid).length, 1);
});

test("a signature whose R carries 8-torsion: the old cofactored verifier accepted it, sig.js refuses it", () => {
  assert.ok(T8.multiplyUnsafe(8n).is0() && !T8.multiplyUnsafe(4n).is0(), "T8 has order 8");
  const seed = "42".repeat(32);
  const pk = publicKeyHex(seed);
  const msg = sig.message(sig.DOMAIN.result, "a result body");
  const good = signHex(msg, seed);
  const bad = torsionSignatureHex(msg, seed);
  assert.ok(sig.verify(sig.DOMAIN.result, "a result body", good, pk), "an honest signature verifies");
  assert.ok(oldNoble.verify(hexToBytes(bad), msg, hexToBytes(pk), { zip215: false }), "the old vendored noble-ed25519 accepts it (cofactored)");
  assert.equal(sig.verify(sig.DOMAIN.result, "a result body", bad, pk), false, "sig.js refuses it");
  assert.equal(sig.verifyDetailed(sig.DOMAIN.result, "a result body", bad, pk).error, sig.SIG_ERROR.badSignature);
});

test("sig.js keeps its API for its importers and refuses malformed input without throwing", () => {
  for (const name of ["verify", "sha256Hex", "fingerprint", "message", "bytesToHex", "hexToBytes", "DOMAIN"]) assert.ok(name in sig, name);
  const seed = "07".repeat(32);
  const pk = publicKeyHex(seed);
  const s = signHex(sig.message(sig.DOMAIN.receipt, "x"), seed);
  assert.ok(sig.verify(sig.DOMAIN.receipt, "x", s.toUpperCase(), pk.toUpperCase()), "upper-case hex, as the CLI's unhex");
  assert.equal(sig.verify(sig.DOMAIN.ballot, "x", s, pk), false, "another domain");
  for (const [sg, k] of [[s.slice(2), pk], [s, pk.slice(2)], ["zz" + s.slice(2), pk], [s, "01" + "00".repeat(31)], [null, pk], [s, undefined]]) assert.equal(sig.verify(sig.DOMAIN.receipt, "x", sg, k), false);
  assert.equal(sig.publicKey("00".repeat(32)).error, sig.SIG_ERROR.weakKey);
  assert.equal(sig.publicKey("abc").error, sig.SIG_ERROR.keyFormat);
});
