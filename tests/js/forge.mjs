// Test helpers (not a test file): signing with a seed, and a signature whose R carries an
// 8-torsion component, which a cofactored verifier accepts and the strict rule refuses.
import { ed25519 } from "../../src/web/assets/vendor/noble-curves/ed25519.js";
import { sha512 } from "../../src/web/assets/vendor/noble-hashes/sha2.js";
import { bytesToHex, concatBytes, hexToBytes } from "../../src/web/assets/vendor/noble-hashes/utils.js";

const P = ed25519.Point;
const L = P.Fn.ORDER;
const le = (b) => { let x = 0n; for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]); return x; };
const toLe = (x) => { const o = new Uint8Array(32); for (let i = 0; i < 32; i++) { o[i] = Number(x & 0xffn); x >>= 8n; } return o; };

/** A point of order 8 (found, not typed in: the first small-y point whose order is 8). */
export const T8 = (() => {
  for (let y = 2n; ; y++) {
    let Q;
    try { Q = P.fromBytes(toLe(y)); } catch { continue; }
    const T = Q.multiplyUnsafe(L - 1n).add(Q); // [ℓ]Q: kills the prime-order part
    if (!T.multiplyUnsafe(4n).equals(P.ZERO)) return T;
  }
})();

export const publicKeyHex = (seedHex) => bytesToHex(ed25519.getPublicKey(hexToBytes(seedHex)));
export const signHex = (msg, seedHex) => bytesToHex(ed25519.sign(msg, hexToBytes(seedHex)));

/** R' = rB + T8, S = r + H(R'‖A‖M)·a: [8]([S]B − R' − [k]A) = 0 holds, the cofactorless equation does not. */
export function torsionSignatureHex(msg, seedHex) {
  const h = sha512(hexToBytes(seedHex));
  const head = h.slice(0, 32);
  head[0] &= 248; head[31] &= 127; head[31] |= 64;
  const a = le(head) % L;
  const A = P.BASE.multiply(a).toBytes();
  const r = le(sha512(concatBytes(h.slice(32), msg, new Uint8Array([1])))) % L;
  const R = P.BASE.multiply(r).add(T8).toBytes();
  const k = le(sha512(concatBytes(R, A, msg))) % L;
  const S = (r + k * a) % L;
  return bytesToHex(concatBytes(R, toLe(S)));
}
