// Signature checks in the browser under the one strict Ed25519 rule every side applies
// (SPEC-E2E §7.4, the rule of crates/core/src/crypto.rs): A and R canonical, neither of small
// order, both torsion-free, S < ℓ, and the cofactorless equation [S]B = R + [k]A. Built on
// e2e.js's verifyEd25519Strict (vendored @noble/curves): a signature whose R carries an
// 8-torsion component, which a cofactored verifier accepts, is refused here as by the CLI.
// Pure JavaScript: works without crypto.subtle, i.e. over plain HTTP on a LAN as well as HTTPS.
import { verifyEd25519Strict, strictEd25519PublicKey } from "./e2e/e2e.js";
import { sha256 } from "./vendor/noble-hashes/sha2.js";
import { bytesToHex, hexToBytes } from "./vendor/noble-hashes/utils.js";

// Other pages import the hex helpers from here (noble's accept upper and lower case hex).
export { bytesToHex, hexToBytes };

const utf8 = new TextEncoder();

export function sha256Hex(bytes) {
  return bytesToHex(sha256(bytes));
}

/** Hex SHA-256 of a public key: what the cards print and tablets pin. */
export function fingerprint(publicKeyHex) {
  return sha256Hex(hexToBytes(publicKeyHex));
}

/** `domain ‖ 0 ‖ body` as signed by the appliance (body: bytes or a string). */
export function message(domain, body) {
  const d = utf8.encode(domain);
  const b = typeof body === "string" ? utf8.encode(body) : body;
  const m = new Uint8Array(d.length + 1 + b.length);
  m.set(d, 0);
  m[d.length] = 0;
  m.set(b, d.length + 1);
  return m;
}

/** Exactly `n` bytes from hex, upper or lower case (crypto::unhex), else null. */
export function unhex(text, n) {
  if (typeof text !== "string" || text.length !== 2 * n || !/^[0-9a-fA-F]*$/.test(text)) return null;
  return hexToBytes(text);
}

/** The errors of crypto::CryptoError, word for word, so the page says what the CLI says. */
export const SIG_ERROR = {
  keyFormat: "a public key must be 32 bytes as 64 hex digits",
  weakKey: "the public key is not a valid, canonically encoded Ed25519 point, or is of small order",
  signatureFormat: "a signature must be 64 bytes as 128 hex digits",
  badSignature: "the signature does not verify",
};

/** crypto::public_key: the key's bytes if it is a strict Ed25519 key (hex), else an error. */
export function publicKey(hex) {
  const bytes = unhex(hex, 32);
  if (!bytes) return { error: SIG_ERROR.keyFormat };
  try {
    strictEd25519PublicKey(bytes);
  } catch {
    return { error: SIG_ERROR.weakKey };
  }
  return { key: bytes };
}

/** The strict rule on raw message bytes (no domain): true or false, never an exception. */
export function verifyMessage(msg, signatureHex, publicKeyHex) {
  const pk = unhex(publicKeyHex, 32);
  const sig = unhex(signatureHex, 64);
  return !!pk && !!sig && verifyEd25519Strict(pk, msg, sig);
}

/** Verifies as the CLI's verifier does (key, then signature format, then the strict rule):
 *  `{ key }` (the key's bytes) when it holds, else `{ error }` with the CLI's words. */
export function verifyDetailed(domain, body, signatureHex, publicKeyHex) {
  const k = publicKey(publicKeyHex);
  if (k.error) return k;
  const sig = unhex(signatureHex, 64);
  if (!sig) return { error: SIG_ERROR.signatureFormat };
  return verifyEd25519Strict(k.key, message(domain, body), sig) ? { key: k.key } : { error: SIG_ERROR.badSignature };
}

/** Strict Ed25519 verification; false (never an exception) for anything malformed. */
export function verify(domain, body, signatureHex, publicKeyHex) {
  try {
    return !verifyDetailed(domain, body, signatureHex, publicKeyHex).error;
  } catch {
    return false;
  }
}

export const DOMAIN = { ballot: "piaojue/v1/ballot", receipt: "piaojue/v1/receipt", result: "piaojue/v1/result", intervention: "piaojue/v1/intervention" };
