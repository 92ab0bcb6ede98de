// Module Web Worker that proves a ballot off the UI thread (SPEC-E2E §7.5, §15).
//   new Worker("/assets/e2e/prover-worker.js", { type: "module" })
// In:  { id, op: "prepare", session, jointKey }                      warm-up: K.precompute(8)
//      { id, op: "prove", session, voteManifest, jointKey, choices,
//        cardSeed | credSeed, testDrbgSeed?, testDrbgCounter? }
//      session / voteManifest: the received manifest bytes (Uint8Array); jointKey: 32 bytes,
//      already accepted (e2e.acceptJointKey); cardSeed: the deputy's 32-byte card secret (the
//      per-vote credential is derived here) or credSeed: the per-vote seed itself. testDrbgSeed
//      (tests only) replaces the hedged CSPRNG by the §11 DRBG.
// Out: { id, ok: true, ballot: Uint8Array (binary record), json: string (JSON view),
//        tracker: hex, shortCode, credPk: hex, timing: { parseMs, precomputeMs, proveMs } }
//      { id, ok: false, field, error }
import * as e from "./e2e.js";

const sessions = new Map(); // manifest hex → parsed session (strict key checks are not free)

function session(bytes) {
  const key = e.bytesToHex(bytes);
  let s = sessions.get(key);
  if (!s) {
    s = e.parseSessionManifest(bytes);
    sessions.set(key, s);
  }
  return s;
}

function prove(msg) {
  const t0 = performance.now();
  const s = session(msg.session);
  const vote = e.parseVoteManifest(msg.voteManifest, s);
  const t1 = performance.now();
  const K = e.prepareJointKey(msg.jointKey);
  const t2 = performance.now();
  const credSeed = msg.credSeed ?? e.deriveCredential(msg.cardSeed, s.hash, vote.voteId).seed;
  const rng = msg.testDrbgSeed === undefined ? undefined : new e.TestDrbg(msg.testDrbgSeed, msg.testDrbgCounter ?? 0);
  const { ballot, tracker } = e.proveBallot({ session: s, vote, K, credSeed, choices: msg.choices, rng });
  const bin = e.ballotToBinary(ballot);
  const t3 = performance.now();
  return { ballot: bin, json: JSON.stringify(e.ballotToJson(ballot)), tracker: e.bytesToHex(tracker), shortCode: e.shortCode(tracker),
    credPk: e.bytesToHex(ballot.credPk), timing: { parseMs: t1 - t0, precomputeMs: t2 - t1, proveMs: t3 - t2 } };
}

self.onmessage = (ev) => {
  const msg = ev.data || {};
  try {
    if (msg.op === "prepare") {
      const t0 = performance.now();
      session(msg.session);
      e.prepareJointKey(msg.jointKey);
      self.postMessage({ id: msg.id, ok: true, timing: { precomputeMs: performance.now() - t0 } });
    } else if (msg.op === "prove") {
      const out = prove(msg);
      self.postMessage({ id: msg.id, ok: true, ...out }, [out.ballot.buffer]);
    } else {
      self.postMessage({ id: msg.id, ok: false, field: "op", error: "unknown op" });
    }
  } catch (err) {
    self.postMessage({ id: msg.id, ok: false, field: err.field ?? null, error: String(err.message ?? err) });
  }
};
