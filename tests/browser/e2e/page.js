// The browser half of tests/browser/e2e.mjs: the shared vector walk on the main thread, then
// the tiny election's ballots re-proved in the prover Web Worker, byte for byte.
import * as e from "/src/web/assets/e2e/e2e.js";
import { countingAssert, walk } from "/tests/js/walk.mjs";
import { workerClient } from "/tests/browser/e2e/worker-client.js";

const out = document.getElementById("out");
const log = (line) => {
  out.textContent += `\n${line}`;
};

async function workerWalk(v, a) {
  const t = v.tiny_election;
  const b = t.bundle;
  const session = e.parseSessionManifest(e.hexToBytes(b.manifest_hex));
  const sessionBytes = session.bytes;
  const jointKey = e.hexToBytes(b.joint_key, 32);
  const w = workerClient();
  const prep = await w.call({ op: "prepare", session: sessionBytes, jointKey });
  a.ok(prep.ok, "worker: prepare (K.precompute)");
  const seed = new TextEncoder().encode(t.drbg_seed_utf8);
  // §11 stream offsets: DKG round 1 (d, k coefficients, k + 1 proof nonces per guardian), round 2.
  let counter = session.n * (2 * session.k + 2) + session.n * (session.n - 1);
  for (const vb of b.votes) {
    const vote = e.parseVoteManifest(e.hexToBytes(vb.vote_manifest_hex), session);
    const nbits = vote.range ? vote.range.weights.length : 0;
    const perBallot = vote.m + nbits + vote.m * (2 * vote.L - 1) + 3 * nbits + (vote.range ? 1 : 0);
    const position = {};
    t.ballot_voter_index[vb.vote_id].forEach((voter, pos) => { position[voter] = pos; });
    for (let voter = 0; voter < vb.ballots.length; voter++) {
      const cardSeed = e.hBytes("test-key", [["seed", seed], ["label", "cred"], ["i", e.u64(voter)]]).slice(0, 32);
      const r = await w.call({ op: "prove", session: sessionBytes, voteManifest: vote.bytes, jointKey, cardSeed,
        choices: t.choices[vb.vote_id][voter], testDrbgSeed: t.drbg_seed_utf8, testDrbgCounter: counter });
      counter += perBallot;
      const pos = position[voter];
      a.ok(r.ok, `worker ${vb.vote_id} voter ${voter}: proved${r.ok ? "" : ` (${r.error})`}`);
      if (!r.ok) continue;
      a.equal(r.json, JSON.stringify(vb.ballots[pos]), `worker ${vb.vote_id} voter ${voter}: identical ballot`);
      a.equal(r.tracker, t.trackers[vb.vote_id][pos], `worker ${vb.vote_id} voter ${voter}: tracker`);
      a.equal(r.shortCode, t.tracker_short[vb.vote_id][pos], `worker ${vb.vote_id} voter ${voter}: short code`);
      a.equal(r.ballot.length, e.ballotLength(vote), `worker ${vb.vote_id} voter ${voter}: binary length`);
    }
    counter += t.quorum.length * vote.m;
    // Hedged (real CSPRNG) proving: valid, and never the same ballot twice.
    const cardSeed = new Uint8Array(32).fill(9);
    const choices = t.choices[vb.vote_id][0];
    const h1 = await w.call({ op: "prove", session: sessionBytes, voteManifest: vote.bytes, jointKey, cardSeed, choices });
    const h2 = await w.call({ op: "prove", session: sessionBytes, voteManifest: vote.bytes, jointKey, cardSeed, choices });
    a.ok(h1.ok && h2.ok, `worker ${vb.vote_id}: hedged proving`);
    if (h1.ok && h2.ok) {
      const K = e.prepareJointKey(jointKey);
      a.equal(e.bytesToHex(e.verifyBallot(h1.ballot, { session, vote, K }).tracker), h1.tracker, `worker ${vb.vote_id}: hedged ballot verifies`);
      a.ok(h1.tracker !== h2.tracker && h1.credPk === h2.credPk, `worker ${vb.vote_id}: fresh randomness, same credential`);
    }
  }
  const bad = await w.call({ op: "prove", session: sessionBytes, voteManifest: e.hexToBytes(b.votes[1].vote_manifest_hex), jointKey,
    cardSeed: new Uint8Array(32), choices: [2, 2, 2, 0] });
  a.ok(!bad.ok && bad.field === "choices", "worker refuses 3 赞成 with max_yes 2, naming the field");
  const badKey = await w.call({ op: "prove", session: sessionBytes, voteManifest: e.hexToBytes(b.votes[0].vote_manifest_hex),
    jointKey: new Uint8Array(32), cardSeed: new Uint8Array(32), choices: [0] });
  a.ok(!badKey.ok && badKey.field === "joint key K", "worker refuses K = O");
  w.terminate();
}

async function main() {
  const a = countingAssert(log);
  const t0 = performance.now();
  try {
    const v = await (await fetch("/crates/core/tests/data/e2e/vectors.json")).json();
    await walk(v, a);
    log(`main thread walk: ${a.result.passed} passed, ${a.result.failed} failed (${Math.round(performance.now() - t0)} ms)`);
    await a.section("worker", () => workerWalk(v, a));
  } catch (err) {
    a.ok(false, `page: ${err && err.stack ? err.stack : err}`);
  }
  log(`e2e-browser: ${a.result.passed} passed, ${a.result.failed} failed (${Math.round(performance.now() - t0)} ms)`);
  window.__e2e = { ...a.result, ms: performance.now() - t0 };
}

main();
