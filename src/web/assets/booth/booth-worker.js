// The booth's prover, off the UI thread (SPEC-E2E §7.5, §15), as e2e/prover-worker.js does,
// but it also hands back what a 核验 reveals (choices, r, s), which only the booth needs.
//   new Worker(new URL("./booth-worker.js", import.meta.url), { type: "module" })
// In:  { id, op: "prepare", session, jointKey }                 warm-up: K.precompute(8)
//      { id, op: "prove", session, voteManifest, jointKey, credSeed, choices }
//      session / voteManifest: the received manifest bytes (Uint8Array), already checked by the
//      page (logic.js); jointKey: 32 bytes accepted by checkCeremony; credSeed: the per-vote
//      credential seed (the card seed never reaches the worker).
// Out: { id, ok: true, proved: { ballot (JSON view), tracker, shortCode, choices, r, s }, ms }
//      { id, ok: false, code, error, detail }
// Randomness: e2e.js's HedgedRng (the credential seed, the ctx and crypto.getRandomValues, §4).
import * as e from "../e2e/e2e.js";
import { proveForBooth } from "./logic.js";

const sessions = new Map(); // manifest hex → parsed session (the strict key checks are not free)

function session(bytes) {
  const key = e.bytesToHex(bytes);
  let s = sessions.get(key);
  if (!s) {
    s = e.parseSessionManifest(bytes);
    sessions.set(key, s);
  }
  return s;
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  try {
    const t0 = performance.now();
    if (msg.op === "prepare") {
      session(msg.session);
      e.prepareJointKey(msg.jointKey);
      self.postMessage({ id: msg.id, ok: true, ms: performance.now() - t0 });
    } else if (msg.op === "prove") {
      const s = session(msg.session);
      const vote = e.parseVoteManifest(msg.voteManifest, s);
      const proved = proveForBooth({ session: s, vote, K: msg.jointKey, credSeed: msg.credSeed, choices: msg.choices });
      self.postMessage({ id: msg.id, ok: true, proved, ms: performance.now() - t0 });
    } else {
      self.postMessage({ id: msg.id, ok: false, code: "op", error: "unknown op" });
    }
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, code: err.code ?? err.field ?? null, error: String(err.message ?? err), detail: err.detail ?? "" });
  }
};
