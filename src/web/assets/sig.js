// Signature checks in the browser: noble's Ed25519, strict (zip215: false), so exactly the
// signatures ed25519-dalek's verify_strict accepts. Works without crypto.subtle, i.e. over
// plain HTTP on a LAN as well as HTTPS.
import * as ed from "./vendor/noble-ed25519.js";
import { sha256, sha512 } from "./vendor/noble-hashes/sha2.js";
import { bytesToHex, hexToBytes } from "./vendor/noble-hashes/utils.js";

// Other pages import the hex helpers from here (noble's accept upper and lower case hex).
export { bytesToHex, hexToBytes };

ed.hashes.sha512 = sha512;

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

/** Strict Ed25519 verification; false (never an exception) for anything malformed. */
export function verify(domain, body, signatureHex, publicKeyHex) {
  try {
    return ed.verify(hexToBytes(signatureHex), message(domain, body), hexToBytes(publicKeyHex), { zip215: false });
  } catch {
    return false;
  }
}

export const DOMAIN = { ballot: "piaojue/v1/ballot", receipt: "piaojue/v1/receipt", result: "piaojue/v1/result" };
