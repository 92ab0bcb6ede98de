// §8.3 share transport (guardians only): ristretto DH-KEM + HKDF-SHA256 + ChaCha20-Poly1305.
// Kept out of e2e.js so the tablet's prover does not load the cipher.
import { chacha20poly1305 } from "../vendor/noble-ciphers/chacha.js";
import { hkdf } from "../vendor/noble-hashes/hkdf.js";
import { sha256 } from "../vendor/noble-hashes/sha2.js";
import { G, concatBytes, decodePointNotO, decodeScalar, encodeScalar, fail, mulSecret, transcript, u64 } from "./e2e.js";

const NONCE = new Uint8Array(12); // each key is used once (fresh e), so a zero nonce is safe

export function shareInfo(from, to, E, D) {
  return transcript("dkg-share", [["from", u64(from)], ["to", u64(to)], ["E", E], ["D", D]]);
}
export function shareKey(cc, S, info) {
  return hkdf(sha256, S, cc, info, 32);
}

/** Guardian `from` encrypts share s for `to` (transport key D bytes) with ephemeral e.
 *  Returns { blob (80 bytes), info, key }. */
export function sealShare({ cc, from, to, D, share, e }) {
  const Dp = decodePointNotO(D, "D");
  const E = mulSecret(G, e).toBytes();
  const info = shareInfo(from, to, E, D);
  const key = shareKey(cc, mulSecret(Dp, e).toBytes(), info);
  const ct = chacha20poly1305(key, NONCE, info).encrypt(encodeScalar(share));
  return { blob: concatBytes(E, ct), info, key };
}

/** Recipient `to` (transport secret d, key D) opens a blob; throws naming the failure. */
export function openShare({ cc, from, to, d, D, blob }) {
  if (!(blob instanceof Uint8Array) || blob.length !== 80) fail("blob", "expected 80 bytes");
  const Eb = blob.subarray(0, 32);
  const E = decodePointNotO(Eb, "blob.E");
  const info = shareInfo(from, to, Eb, D);
  const key = shareKey(cc, mulSecret(E, d).toBytes(), info);
  let pt;
  try {
    pt = chacha20poly1305(key, NONCE, info).decrypt(blob.subarray(32));
  } catch {
    return fail("blob", "AEAD authentication failed");
  }
  return decodeScalar(pt, "blob.share");
}
