// Browser half of benches/js-prove.mjs: proving in the prover Web Worker for the shapes of
// SPEC-E2E appendix A, with the main thread's frame gaps measured while the worker proves.
import * as e from "/src/web/assets/e2e/e2e.js";
import { workerClient } from "/tests/browser/e2e/worker-client.js";

const RUNS = Number(new URLSearchParams(location.search).get("runs") || 7);
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

const SHAPES = [
  { name: "per_item M=7 N=5", type: "per_item", m: 7, n: 5 },
  { name: "per_item M=30 N=25", type: "per_item", m: 30, n: 25 },
  { name: "satisfaction M=10 L=3", type: "satisfaction", m: 10, L: 3 },
  { name: "approve_up_to_n M=30 N=25", type: "approve_up_to_n", m: 30, n: 25 },
  { name: "motion M=1", type: "motion", m: 1 },
];

function manifest(session, s, k) {
  const options = { motion: e.OPTION_LABELS.motion, per_item: e.OPTION_LABELS.per_item, approve_up_to_n: e.OPTION_LABELS.approve_up_to_n,
    satisfaction: ["不满意", "基本满意", "满意"] }[s.type];
  const json = { vote_id: `bench-${k}`, type: s.type, m: s.m, items: Array.from({ length: s.m }, (_, i) => `item ${i}`), options,
    session: e.bytesToHex(session.hash), nonce: "00".repeat(16) };
  if (s.n !== undefined) json.max_yes = s.n;
  return new TextEncoder().encode(e.canonicalJson(json));
}
function choicesFor(s) {
  // As many "yes" as allowed, the rest alternating: every branch kind is exercised.
  let yes = 0;
  return Array.from({ length: s.m }, (_, i) => {
    if (s.type === "approve_up_to_n") return yes < s.n && i % 2 === 0 ? (yes++, 1) : 0;
    if (s.type === "per_item") return yes < s.n && i % 3 !== 1 ? (yes++, 2) : i % 2;
    return i % (s.L || 3);
  });
}

/** Max gap between animation frames and between 4 ms timer ticks while `fn` runs. */
async function watchMainThread(fn) {
  let last = performance.now();
  let maxFrame = 0;
  let running = true;
  const frame = (now) => {
    maxFrame = Math.max(maxFrame, now - last);
    last = now;
    if (running) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  let lastTick = performance.now();
  let maxTick = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxTick = Math.max(maxTick, now - lastTick);
    lastTick = now;
  }, 4);
  await new Promise((r) => setTimeout(r, 50));
  const result = await fn();
  await new Promise((r) => setTimeout(r, 50));
  running = false;
  clearInterval(timer);
  return { result, maxFrame, maxTick };
}

async function main() {
  const v = await (await fetch("/crates/core/tests/data/e2e/vectors.json")).json();
  const b = v.tiny_election.bundle;
  const session = e.parseSessionManifest(e.hexToBytes(b.manifest_hex));
  const jointKey = e.hexToBytes(b.joint_key, 32);
  const w = workerClient();
  const prep = await w.call({ op: "prepare", session: session.bytes, jointKey });
  const rows = [];
  for (const [k, s] of SHAPES.entries()) {
    const vm = manifest(session, s, k);
    const vote = e.parseVoteManifest(vm, session);
    const choices = choicesFor(s);
    const cardSeed = new Uint8Array(32).fill(k + 1);
    const prove = [];
    const total = [];
    let frame = 0;
    let tick = 0;
    let last;
    await w.call({ op: "prove", session: session.bytes, voteManifest: vm, jointKey, cardSeed, choices }); // warm-up
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const { result, maxFrame, maxTick } = await watchMainThread(() => w.call({ op: "prove", session: session.bytes, voteManifest: vm, jointKey, cardSeed, choices }));
      if (!result.ok) throw new Error(`${s.name}: ${result.error}`);
      total.push(performance.now() - t0 - 100);
      prove.push(result.timing.proveMs);
      frame = Math.max(frame, maxFrame);
      tick = Math.max(tick, maxTick);
      last = result;
    }
    const K = e.prepareJointKey(jointKey);
    const verify = [];
    for (let i = 0; i < Math.min(RUNS, 5); i++) {
      const t0 = performance.now();
      e.verifyBallot(last.ballot, { session, vote, K });
      verify.push(performance.now() - t0);
    }
    const nbits = vote.range ? vote.range.weights.length : 0;
    rows.push({ shape: s.name, branches: vote.m * vote.L + 2 * nbits + (vote.range ? 1 : 0), bytes: last.ballot.length,
      proveMs: median(prove), roundTripMs: median(total), verifyMs: median(verify), maxFrameGapMs: frame, maxTimerGapMs: tick });
  }
  // Contrast: the same M=30 proof on the main thread blocks it.
  const s = SHAPES[1];
  const vote = e.parseVoteManifest(manifest(session, s, 1), session);
  const K = e.prepareJointKey(jointKey);
  const cred = e.deriveCredential(new Uint8Array(32).fill(2), session.hash, vote.voteId);
  const { maxFrame, maxTick } = await watchMainThread(async () => {
    await new Promise((r) => setTimeout(r, 20));
    e.proveBallot({ session, vote, K, credSeed: cred.seed, choices: choicesFor(s) });
  });
  w.terminate();
  window.__bench = { rows, runs: RUNS, precomputeMs: prep.timing.precomputeMs, mainThread: { shape: s.name, maxFrameGapMs: maxFrame, maxTimerGapMs: maxTick },
    userAgent: navigator.userAgent };
  document.getElementById("out").textContent = JSON.stringify(window.__bench, null, 1);
}

main().catch((err) => {
  window.__bench = { error: String(err && err.stack ? err.stack : err) };
});
