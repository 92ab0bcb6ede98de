// The vector walk over e2e/vectors.json, shared by Node (e2e_vectors.test.mjs) and Chromium
// (tests/browser/e2e.mjs). `a` is { section(name, fn), ok(cond, msg), equal(x, y, msg),
// throws(fn, msg) }; `throws` requires an E2eError (an error naming the field).
import * as e from "../../src/web/assets/e2e/e2e.js";
import { openShare, sealShare } from "../../src/web/assets/e2e/transport.js";
import { sha256, sha512 } from "../../src/web/assets/vendor/noble-hashes/sha2.js";

const { bytesToHex: hex, hexToBytes: unhex, concatBytes } = e;
const utf8 = new TextEncoder();

/** A checker that counts instead of throwing (the browser page uses it). */
export function countingAssert(log = () => {}) {
  const res = { passed: 0, failed: 0, failures: [] };
  const record = (good, msg, detail) => {
    if (good) res.passed++;
    else {
      res.failed++;
      res.failures.push(`${msg}${detail ? `: ${detail}` : ""}`);
      log(`FAIL ${msg}${detail ? `: ${detail}` : ""}`);
    }
  };
  return {
    result: res,
    async section(name, fn) {
      try {
        await fn();
      } catch (err) {
        record(false, `section ${name} threw`, err && err.stack ? err.stack : String(err));
      }
    },
    ok: (cond, msg) => record(!!cond, msg),
    equal: (x, y, msg) => record(x === y, msg, x === y ? "" : `${String(x).slice(0, 80)} !== ${String(y).slice(0, 80)}`),
    throws(fn, msg) {
      try {
        fn();
        record(false, msg, "did not throw");
      } catch (err) {
        record(err instanceof e.E2eError && typeof err.field === "string", msg, `${err}`);
      }
    },
  };
}

const proofHex = (p) => JSON.stringify(p.map(([c, z]) => [e.scalarHex(c), e.scalarHex(z)]));
const decodeProof = (p) => p.map(([c, z]) => [e.decodeScalarHex(c), e.decodeScalarHex(z)]);

// A deliberately weak CDS prover whose challenge omits one field (§3.2 regression test). With
// omit = null it must reproduce the normative prover byte for byte.
function weakCds({ ctx, label, index, K, A, B, values, j, r, rng }, omit) {
  const t = values.length;
  const c = [];
  const z = [];
  const commits = [];
  let w;
  for (let i = 0; i < t; i++) {
    if (i === j) {
      w = rng.scalar();
      commits.push(e.mulSecret(e.G, w), e.mulSecret(K, w));
    } else {
      c[i] = rng.scalar();
      z[i] = rng.scalar();
      commits.push(e.mulSecret(e.G, z[i]).subtract(e.mulSecret(A, c[i])),
        e.mulSecret(K, z[i]).subtract(e.mulSecret(B.subtract(e.mulSecret(e.G, values[i])), c[i])));
    }
  }
  const fields = [["ctx", ctx], ["label", label], ["index", e.u64(index)], ["pk", K.toBytes()], ["A", A.toBytes()], ["B", B.toBytes()],
    ["values", concatBytes(...values.map(e.encodeScalar))], ["commit", concatBytes(...commits.map((P) => P.toBytes()))]]
    .filter(([l]) => l !== omit);
  const ch = e.scalarFromWide(sha512(e.transcriptRaw("cds", fields)));
  c[j] = e.modL(ch - c.reduce((s, x, i) => (i === j ? s : s + x), 0n));
  z[j] = e.modL(w + c[j] * r);
  return c.map((ci, i) => [ci, z[i]]);
}

export async function walk(v, a) {
  await a.section("points", () => {
    for (const { k, P } of v.points.multiples_of_G) {
      a.equal(hex(e.mulSecret(e.G, BigInt(k)).toBytes()), P, `${k}·G encodes`);
      a.equal(hex(e.decodePointHex(P).toBytes()), P, `${k}·G decodes and re-encodes`);
    }
    a.equal(hex(e.mulSecret(e.G, e.ELL - 1n).toBytes()), v.points.k_times_G_for_k_ell_minus_1, "(ℓ−1)·G");
    a.equal(hex(e.mulPublic(e.G, e.ELL - 1n).toBytes()), v.points.k_times_G_for_k_ell_minus_1, "(ℓ−1)·G vartime");
    for (const bad of v.points.invalid_encodings_must_reject) {
      a.throws(() => e.decodePoint(e.hexToBytes(bad, undefined, "point"), "point"), `rejects point ${bad}`);
    }
    a.ok(e.decodePointHex(v.points.identity).is0(), "identity decodes to O");
    a.throws(() => e.decodePointNotO(unhex(v.points.identity, 32)), "identity refused where forbidden");
    a.ok(e.mulSecret(e.G, 0n).is0() && e.mulSecret(e.G, e.ELL).is0(), "0·G = ℓ·G = O through the helper");
  });

  await a.section("scalars", () => {
    for (const { int, hex: h } of v.scalars.valid) {
      a.equal(e.decodeScalarHex(h), BigInt(int), `scalar ${int} decodes`);
      a.equal(e.scalarHex(BigInt(int)), h, `scalar ${int} encodes`);
    }
    for (const bad of v.scalars.invalid_must_reject) a.throws(() => e.decodeScalarHex(bad), `rejects scalar ${bad}`);
    a.equal(e.ELL.toString(), v.group_order_ell, "ℓ");
  });

  await a.section("strict hex", () => {
    const g = v.points.multiples_of_G[1].P;
    a.throws(() => e.hexToBytes(g.toUpperCase(), 32, "x"), "upper-case hex rejected");
    a.throws(() => e.hexToBytes(`${g.slice(0, 10)}A${g.slice(11)}`, 32, "x"), "one upper-case digit rejected");
    a.throws(() => e.hexToBytes(g.slice(1), undefined, "x"), "odd length rejected");
    a.throws(() => e.hexToBytes(g.slice(2), 32, "x"), "wrong length rejected");
    a.throws(() => e.hexToBytes(`${g}00`, 32, "x"), "too long rejected");
    a.throws(() => e.hexToBytes(` ${g.slice(1)}`, 32, "x"), "whitespace rejected");
    a.throws(() => e.hexToBytes(`${g.slice(0, 62)}zz`, 32, "x"), "non-hex rejected (Node's Buffer would truncate)");
    a.throws(() => e.decodePointHex(g.toUpperCase()), "upper-case point rejected");
    a.throws(() => e.decodeScalarHex(v.scalars.valid[3].hex.toUpperCase()), "upper-case scalar rejected");
    a.equal(hex(e.hexToBytes(g, 32, "x")), g, "lower-case round trip");
  });

  await a.section("hash_to_scalar", () => {
    for (const h of v.hash_to_scalar) {
      const fields = h.fields.map(([l, val]) => [l, unhex(val)]);
      const tr = e.transcriptRaw(h.domain, fields);
      a.equal(hex(tr), h.transcript, `${h.domain}/${h.fields.length} transcript`);
      a.equal(hex(sha512(tr)), h.sha512, `${h.domain}/${h.fields.length} sha512`);
      a.equal(e.scalarHex(e.scalarFromWide(sha512(tr))), h.scalar, `${h.domain}/${h.fields.length} scalar`);
    }
    const ctx = new Uint8Array(64);
    const P = e.G.toBytes();
    const full = [["ctx", ctx], ["label", "item"], ["index", e.u64(0)], ["pk", P], ["A", P], ["B", P], ["values", new Uint8Array(64)], ["commit", new Uint8Array(128)]];
    a.ok(e.transcript("cds", full).length > 0, "registry accepts the full cds statement");
    for (let i = 0; i < full.length; i++) {
      a.throws(() => e.transcript("cds", full.filter((_, k) => k !== i)), `cds challenge omitting ${full[i][0]} refused`);
    }
    a.throws(() => e.transcript("cds", [full[1], full[0], ...full.slice(2)]), "cds fields reordered refused");
    a.throws(() => e.transcript("cds", [["ctx", new Uint8Array(32)], ...full.slice(1)]), "cds ctx of 32 bytes refused");
    a.throws(() => e.transcript("no-such-domain", []), "unknown domain refused");
  });

  await a.section("test_drbg", () => {
    const d = new e.TestDrbg(v.test_drbg.seed_utf8);
    v.test_drbg.first_outputs.forEach((o, i) => a.equal(e.scalarHex(d.scalar()), o, `drbg output ${i}`));
  });

  await a.section("encryption", () => {
    const x = v.encryption;
    const sk = e.decodeScalarHex(x.sk);
    a.equal(hex(e.mulSecret(e.G, sk).toBytes()), x.pk, "pk = sk·G");
    const K = e.decodePointHex(x.pk);
    const r = e.decodeScalarHex(x.r);
    const c1 = e.encrypt(K, BigInt(x.m), r);
    a.equal(hex(c1.A.toBytes()), x.A, "Enc(1).A");
    a.equal(hex(c1.B.toBytes()), x.B, "Enc(1).B");
    const c2 = e.encrypt(K, 4096n, e.decodeScalarHex(x.m_4096.r));
    a.equal(hex(c2.A.toBytes()), x.m_4096.A, "Enc(4096).A");
    a.equal(hex(c2.B.toBytes()), x.m_4096.B, "Enc(4096).B");
    const c0 = e.encrypt(K, 0n, r);
    a.ok(e.decodePointHex(x.B).subtract(c0.B).equals(e.G), "Enc(1).B − Enc(0).B = G");
    a.throws(() => e.encrypt(K, 1n, 0n), "r = 0 refused");
  });

  await a.section("proofs", () => {
    const P = v.proofs;
    for (const name of ["cds_01_true1", "cds_01_true0", "cds_3way_T", "cds_4way"]) {
      const p = P[name];
      const st = { ctx: unhex(p.ctx, 64), label: p.label, index: p.index, K: e.decodePointHex(p.pk), A: e.decodePointHex(p.A),
        B: e.decodePointHex(p.B), values: p.values.map(BigInt) };
      const proof = e.proveCds({ ...st, j: p.true_index, r: e.decodeScalarHex(p.r), rng: new e.TestDrbg(p.drbg_seed_utf8) });
      a.equal(proofHex(proof), JSON.stringify(p.proof), `${name} re-proved to identical bytes`);
      const given = decodeProof(p.proof);
      a.ok(e.verifyCds({ ...st, proof: given }), `${name} verifies`);
      a.ok(!e.verifyCds({ ...st, index: p.index + 1, proof: given }), `${name} bound to its index`);
      a.ok(!e.verifyCds({ ...st, label: "range-bit", proof: given }), `${name} bound to its label`);
      a.ok(!e.verifyCds({ ...st, ctx: new Uint8Array(64), proof: given }), `${name} bound to its ctx`);
      a.ok(!e.verifyCds({ ...st, B: st.B.add(e.G), proof: given }), `${name} bound to B`);
      const bent = given.map(([c, z], i) => (i === 0 ? [c, e.modL(z + 1n)] : [c, z]));
      a.ok(!e.verifyCds({ ...st, proof: bent }), `${name} with a changed z rejected`);
      const weak = weakCds({ ...st, j: p.true_index, r: e.decodeScalarHex(p.r), rng: new e.TestDrbg(p.drbg_seed_utf8) }, null);
      a.equal(proofHex(weak), JSON.stringify(p.proof), `${name} test prover agrees with the normative one`);
      for (const omit of ["ctx", "label", "index", "pk", "A", "B", "values", "commit"]) {
        const w = weakCds({ ...st, j: p.true_index, r: e.decodeScalarHex(p.r), rng: new e.TestDrbg(p.drbg_seed_utf8) }, omit);
        a.ok(!e.verifyCds({ ...st, proof: w }), `${name}: a challenge omitting ${omit} is rejected`);
      }
      a.throws(() => e.decodeScalarHex(p.proof[0][0].toUpperCase()), `${name} upper-case c rejected`);
    }
    const d = P.dleq;
    const ds = { ctx: unhex(d.ctx, 64), label: d.label, index: d.index, g: e.decodePointHex(d.g), h: e.decodePointHex(d.h),
      X: e.decodePointHex(d.X), Y: e.decodePointHex(d.Y) };
    a.equal(hex(e.mulSecret(ds.g, e.decodeScalarHex(d.x)).toBytes()), d.X, "dleq X = x·g");
    a.equal(hex(e.mulSecret(ds.h, e.decodeScalarHex(d.x)).toBytes()), d.Y, "dleq Y = x·h");
    const dp = e.proveDleq({ ...ds, x: e.decodeScalarHex(d.x), rng: new e.TestDrbg(d.drbg_seed_utf8) });
    a.equal(proofHex([dp]), JSON.stringify([d.proof]), "dleq re-proved to identical bytes");
    a.ok(e.verifyDleq({ ...ds, proof: decodeProof([d.proof])[0] }), "dleq verifies");
    a.ok(!e.verifyDleq({ ...ds, Y: ds.Y.add(e.G), proof: decodeProof([d.proof])[0] }), "dleq bound to Y");
    a.ok(!e.verifyDleq({ ...ds, index: 1, proof: decodeProof([d.proof])[0] }), "dleq bound to index");
    const s = P.schnorr;
    const ss = { ctx: unhex(s.ctx, 64), label: s.label, index: s.index, X: e.decodePointHex(s.X) };
    const sp = e.proveSchnorr({ ...ss, x: e.decodeScalarHex(v.encryption.sk), rng: new e.TestDrbg(s.drbg_seed_utf8) });
    a.equal(proofHex([sp]), JSON.stringify([s.proof]), "schnorr re-proved to identical bytes (x = encryption.sk)");
    a.ok(e.verifySchnorr({ ...ss, proof: decodeProof([s.proof])[0] }), "schnorr verifies");
    a.ok(!e.verifySchnorr({ ...ss, label: "transport", proof: decodeProof([s.proof])[0] }), "schnorr bound to label");
    a.ok(!e.verifySchnorr({ ...ss, X: e.O, proof: decodeProof([s.proof])[0] }), "schnorr rejects X = O");
  });

  await a.section("share_transport", () => {
    const s = v.share_transport;
    const cc = unhex(s.ceremony_ctx, 64);
    const D = unhex(s.recipient_D, 32);
    a.equal(hex(e.mulSecret(e.G, e.decodeScalarHex(s.recipient_d)).toBytes()), s.recipient_D, "D = d·G");
    const out = sealShare({ cc, from: s.from, to: s.to, D, share: e.decodeScalarHex(s.share), e: e.decodeScalarHex(s.ephemeral_e) });
    a.equal(hex(out.info), s.info, "share info");
    a.equal(hex(out.key), s.key, "share key");
    a.equal(hex(out.blob), s.blob, "share blob");
    const blob = unhex(s.blob, 80);
    const opened = openShare({ cc, from: s.from, to: s.to, d: e.decodeScalarHex(s.recipient_d), D, blob });
    a.equal(e.scalarHex(opened), s.share, "recipient opens the share");
    const bent = blob.slice();
    bent[60] ^= 1;
    a.throws(() => openShare({ cc, from: s.from, to: s.to, d: e.decodeScalarHex(s.recipient_d), D, blob: bent }), "tampered blob refused");
    a.throws(() => openShare({ cc, from: s.to, to: s.from, d: e.decodeScalarHex(s.recipient_d), D, blob }), "redirected blob refused");
    a.throws(() => openShare({ cc, from: s.from, to: s.to, d: 1n, D, blob: concatBytes(new Uint8Array(32), blob.subarray(32)) }), "E = O refused");
    a.throws(() => openShare({ cc, from: s.from, to: s.to, d: 1n, D, blob: blob.subarray(1) }), "79-byte blob refused");
  });

  await a.section("ed25519_strict", () => {
    let valid = 0;
    for (const c of v.ed25519_strict) {
      const got = e.verifyEd25519Strict(unhex(c.pk), unhex(c.msg), unhex(c.sig));
      a.equal(got, c.valid, `ed25519 strict: ${c.case}`);
      if (c.valid) valid++;
    }
    a.equal(v.ed25519_strict.length, 9, "9 cases");
    a.equal(valid, 1, "exactly one valid");
  });

  await a.section("binary ballot size", () => {
    const session = { hash: new Uint8Array(32), radix: 4096 };
    const vote = shapeVote("per_item", 30, 25, 4096);
    a.equal(e.ballotLength(vote), v.binary_ballot_size_per_item_m30_n25, "per_item M=30 N=25 length");
    a.equal(e.ballotLength(shapeVote("motion", 1, 1, 4096)), 352, "motion length");
    const K = e.prepareJointKey(unhex(v.tiny_election.bundle.joint_key, 32));
    const choices = Array.from({ length: 30 }, (_, i) => [2, 1, 0][i % 3]);
    const { ballot } = e.proveBallot({ session, vote, K, credSeed: new Uint8Array(32).fill(7), choices, rng: new e.TestDrbg("size") });
    const bin = e.ballotToBinary(ballot);
    a.equal(bin.length, 9760, "a proved M=30 ballot is 9760 bytes");
    a.ok(e.verifyBallot(bin, { session, vote, K }).tracker.length === 32, "and verifies");
    a.throws(() => e.proveBallot({ session, vote, K, credSeed: new Uint8Array(32), choices: Array(30).fill(2), rng: new e.TestDrbg("x") }),
      "an honest prover refuses 30 赞成 with N = 25");
  });

  await a.section("tiny_election", () => tinyElection(v, a));
}

/** A vote object of a given shape without a manifest (benchmarks, size checks). */
export function shapeVote(type, m, n, T, L = type === "approve_up_to_n" ? 2 : 3) {
  return { voteId: `bench-${type}`, type, m, n, L, radix: T, hash: new Uint8Array(32), values: e.optionValues(type, L, T),
    range: e.rangeParams(type, m, n, T) };
}

async function tinyElection(v, a) {
  const t = v.tiny_election;
  const bundle = t.bundle;
  const seed = utf8.encode(t.drbg_seed_utf8);
  const session = e.parseSessionManifest(unhex(bundle.manifest_hex));
  a.equal(hex(session.hash), bundle.manifest_hash, "manifest hash = SHA-256 of the received bytes");
  const mh = session.hash;

  // Manifest strictness (§6.4).
  const text = new TextDecoder().decode(session.bytes);
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace(",", ", "))), "manifest with whitespace refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('{"appliance_key"', '{"zz":1,"appliance_key"'))), "manifest with keys out of order refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('"radix":4096}', '"radix":4096,"zz":1}'))), "manifest with an unknown key refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('"radix":4096}', '"radix":4096,"radix":4096}'))), "duplicate key refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('"radix":4096', '"radix":4.096e3'))), "exponent refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('"radix":4096', '"radix":4000'))), "radix not a power of two refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace('"max_electorate":4095', '"max_electorate":4096'))), "max_electorate ≥ T refused");
  a.throws(() => e.parseSessionManifest(utf8.encode(text.replace(/"booth_hash":"([0-9a-f]+)"/, (m, h) => `"booth_hash":"${h.toUpperCase()}"`))), "upper-case booth_hash refused");

  // Ceremony (§8.1, §8.5): cc, K accepted from the signed announcement, fingerprint.
  const cer = bundle.ceremony;
  const acc = e.acceptJointKey({ session, ceremony: cer, jointKey: bundle.joint_key, checkProofs: true });
  a.equal(hex(acc.cc), t.ceremony_ctx, "ceremony ctx cc");
  a.equal(hex(acc.K), bundle.joint_key, "K = Σ K_i0 accepted");
  a.equal(acc.fingerprint, t.key_fingerprint, "key fingerprint");
  const forged = JSON.parse(JSON.stringify(cer));
  forged.key_sigs["2"] = forged.key_sigs["1"];
  a.throws(() => e.acceptJointKey({ session, ceremony: forged, jointKey: bundle.joint_key }), "K refused when one announcement signature is wrong");
  const missing = JSON.parse(JSON.stringify(cer));
  delete missing.key_sigs["3"];
  a.throws(() => e.acceptJointKey({ session, ceremony: missing, jointKey: bundle.joint_key }), "K refused when one participant did not sign");
  a.throws(() => e.acceptJointKey({ session, ceremony: cer, jointKey: cer.round1[0].commitments[0] }), "a substituted K refused");

  // The DRBG stream (§11): DKG round 1, round 2, then per vote the ballots and the partials.
  const drbg = new e.TestDrbg(seed);
  const n = session.n;
  const k = session.k;
  const coeffs = {};
  const cc = acc.cc;
  for (let i = 1; i <= n; i++) {
    const r1 = cer.round1[i - 1];
    const d = drbg.scalar();
    const as = Array.from({ length: k }, () => drbg.scalar());
    coeffs[i] = as;
    a.equal(e.scalarHex(d), t.test_secrets.guardian_transport_d[i], `guardian ${i} d from the DRBG`);
    a.equal(JSON.stringify(as.map(e.scalarHex)), JSON.stringify(t.test_secrets.guardian_coeffs[i]), `guardian ${i} coefficients from the DRBG`);
    a.equal(hex(e.mulSecret(e.G, d).toBytes()), r1.transport_key, `guardian ${i} D`);
    a.equal(JSON.stringify(as.map((x) => hex(e.mulSecret(e.G, x).toBytes()))), JSON.stringify(r1.commitments), `guardian ${i} commitments`);
    const tp = e.proveSchnorr({ ctx: cc, label: "transport", index: i, X: e.mulSecret(e.G, d), x: d, rng: drbg });
    a.equal(proofHex([tp]), JSON.stringify([r1.transport_pok]), `guardian ${i} transport proof re-proved`);
    as.forEach((x, j) => {
      const cp = e.proveSchnorr({ ctx: cc, label: "coeff", index: 256 * i + j, X: e.mulSecret(e.G, x), x, rng: drbg });
      a.equal(proofHex([cp]), JSON.stringify([r1.coeff_poks[j]]), `guardian ${i} coeff ${j} proof re-proved`);
    });
  }
  const poly = (i, x) => coeffs[i].reduce((acc2, c, j) => e.modL(acc2 + c * BigInt(x) ** BigInt(j)), 0n);
  for (let i = 1; i <= n; i++) {
    for (let l = 1; l <= n; l++) {
      if (l === i) continue;
      const D = unhex(cer.round1[l - 1].transport_key, 32);
      const { blob } = sealShare({ cc, from: i, to: l, D, share: poly(i, l), e: drbg.scalar() });
      a.equal(hex(blob), cer.round2[i][l], `round-2 blob ${i}→${l} re-encrypted`);
      const dl = e.decodeScalarHex(t.test_secrets.guardian_transport_d[l]);
      a.equal(openShare({ cc, from: i, to: l, d: dl, D, blob }), poly(i, l), `round-2 blob ${i}→${l} opens`);
    }
  }
  // Z_l and Lagrange weights (§8.5, §9.3).
  for (let l = 1; l <= n; l++) {
    let Z = e.O;
    for (let i = 1; i <= n; i++) {
      cer.round1[i - 1].commitments.forEach((h, j) => { Z = Z.add(e.mulPublic(e.decodePointHex(h), BigInt(l) ** BigInt(j))); });
    }
    a.equal(hex(Z.toBytes()), t.verification_keys_Z[l], `Z_${l}`);
    const z = e.decodeScalarHex(t.test_secrets.guardian_shares_z[l]);
    a.equal(hex(e.mulSecret(e.G, z).toBytes()), t.verification_keys_Z[l], `z_${l}·G = Z_${l}`);
  }
  const Q = t.quorum;
  const lagrange = (l) => Q.filter((m) => m !== l).reduce((acc2, m) => e.modL(acc2 * BigInt(m) * modInv(e.modL(BigInt(m - l)))), 1n);
  for (const l of Q) a.equal(e.scalarHex(lagrange(l)), t.lagrange_quorum_1_3[l], `Lagrange weight ${l}`);

  const K = e.prepareJointKey(acc.K);
  const co = session.credentialOfficer;
  for (const vb of bundle.votes) {
    const id = vb.vote_id;
    const vote = e.parseVoteManifest(unhex(vb.vote_manifest_hex), session);
    a.equal(vote.voteId, id, `${id}: manifest vote_id`);
    const fc = t.ballot_ctx_first_ballot[id];
    a.equal(JSON.stringify(vote.values.map(String)), JSON.stringify(fc.values), `${id}: option values`);
    a.equal(vote.range ? vote.range.weights.length : 0, fc.range_bits, `${id}: range bits`);
    a.equal(JSON.stringify(vote.range ? vote.range.weights.map(String) : null), JSON.stringify(fc.range_weights), `${id}: range weights`);
    a.equal(vote.range ? Number(vote.range.c0) : null, fc.range_c0, `${id}: range c0`);
    const vtext = new TextDecoder().decode(vote.bytes);
    if (vote.type === "per_item") {
      a.throws(() => e.parseVoteManifest(utf8.encode(vtext.replace('["弃权","不赞成","赞成"]', '["弃权","赞成","不赞成"]')), session), `${id}: relabelled options refused`);
      a.throws(() => e.parseVoteManifest(utf8.encode(vtext.replace('"max_yes":2', '"max_yes":5')), session), `${id}: max_yes > m refused`);
    }
    a.throws(() => e.parseVoteManifest(utf8.encode(vtext.replace(/"session":"[0-9a-f]+"/, `"session":"${"0".repeat(64)}"`)), session), `${id}: foreign session refused`);
    if (vote.type === "motion") {
      // Review finding: a motion manifest with two items, which the Rust verifier refuses (V1),
      // must not be signed for by a tablet either.
      const two = vtext.replace(/"items":\[("[^"]*")\]/, '"items":[$1,"第二项"]').replace('"m":1', '"m":2');
      a.throws(() => e.parseVoteManifest(utf8.encode(two), session), `${id}: a motion with m = 2 refused`);
    }

    // Ballots in voter order from the shared stream; compared at their bundle position.
    const position = {};
    t.ballot_voter_index[id].forEach((voter, pos) => { position[voter] = pos; });
    const trackers = [];
    for (let voter = 0; voter < vb.ballots.length; voter++) {
      const card = e.hBytes("test-key", [["seed", seed], ["label", "cred"], ["i", e.u64(voter)]]).slice(0, 32);
      const cred = e.deriveCredential(card, mh, id);
      const pos = position[voter];
      const want = vb.ballots[pos];
      a.equal(hex(cred.publicKey), want.cred_pk, `${id} voter ${voter}: per-vote credential derived`);
      const { ballot, tracker, ctx } = e.proveBallot({ session, vote, K, credSeed: cred.seed, choices: t.choices[id][voter], rng: drbg });
      a.equal(JSON.stringify(e.ballotToJson(ballot)), JSON.stringify(want), `${id} voter ${voter}: ballot re-encrypted and re-proved to identical bytes`);
      a.equal(hex(tracker), t.trackers[id][pos], `${id} voter ${voter}: tracker`);
      a.equal(e.shortCode(tracker), t.tracker_short[id][pos], `${id} voter ${voter}: short code`);
      const bin = e.ballotToBinary(ballot);
      a.equal(bin.length, e.ballotLength(vote), `${id} voter ${voter}: binary length`);
      if (pos === 0) {
        a.equal(hex(ctx), fc.ctx, `${id}: first ballot ctx`);
        a.equal(hex(sha256(bin)), fc.ballot_bin_sha256, `${id}: first ballot binary SHA-256`);
        a.equal(hex(sha256(e.ballotBytes(ballot))), fc.ballot_bytes_sha256, `${id}: first ballot canonical bytes SHA-256`);
      }
      // Verification from both wire forms.
      const fromJson = e.ballotFromJson(want, vote);
      a.equal(hex(e.verifyBallot(fromJson, { session, vote, K }).tracker), t.trackers[id][pos], `${id} voter ${voter}: JSON view verifies`);
      a.equal(hex(e.verifyBallot(bin, { session, vote, K }).tracker), t.trackers[id][pos], `${id} voter ${voter}: binary record verifies`);
      a.equal(hex(e.ballotToBinary(e.ballotFromBinary(bin, vote))), hex(bin), `${id} voter ${voter}: binary round trip`);
      a.ok(vb.roll_call.credentials.includes(want.cred_pk), `${id} voter ${voter}: credential enabled in the roll call`);
      trackers[pos] = tracker;
    }
    // Negative ballots (§7.6).
    const good = vb.ballots[0];
    const bin0 = e.ballotToBinary(e.ballotFromJson(good, vote));
    for (const off of [40, 32 + 64 * vote.m + 5, bin0.length - 70, bin0.length - 1]) {
      const bent = bin0.slice();
      bent[off] ^= 1;
      a.throws(() => e.verifyBallot(bent, { session, vote, K }), `${id}: byte ${off} flipped refused`);
    }
    a.throws(() => e.verifyBallot(bin0.subarray(1), { session, vote, K }), `${id}: short record refused`);
    a.throws(() => e.ballotFromJson({ ...good, cred_pk: good.cred_pk.toUpperCase() }, vote), `${id}: upper-case cred_pk refused`);
    a.throws(() => e.ballotFromJson({ ...good, extra: 1 }, vote), `${id}: unknown key refused`);
    a.throws(() => e.ballotFromJson({ ...good, items: good.items.slice(1) }, vote), `${id}: missing item refused`);
    a.throws(() => e.ballotFromJson({ ...good, range: vote.range ? null : { bits: [], link: ["00", "00"] } }, vote), `${id}: range presence mismatch refused`);
    const other = vb.ballots[1];
    a.throws(() => e.verifyBallot(e.ballotFromJson({ ...good, cred_pk: other.cred_pk, sig: other.sig }, vote), { session, vote, K }), `${id}: ballot copied under another credential refused`);
    const swapped = { ...good, items: [...good.items] };
    if (vote.m > 1) {
      [swapped.items[0], swapped.items[1]] = [swapped.items[1], swapped.items[0]];
      a.throws(() => e.verifyBallot(e.ballotFromJson(swapped, vote), { session, vote, K }), `${id}: reordered items refused`);
    }
    const withO = { ...good, items: [{ ...good.items[0], A: "00".repeat(32) }, ...good.items.slice(1)] };
    a.throws(() => e.ballotFromJson(withO, vote), `${id}: A = O refused`);

    // List hash, close and roll-call signatures (§7.3, §7.4).
    const lh = e.listHash(mh, id, trackers);
    a.equal(hex(lh), vb.list_hash, `${id}: list hash`);
    a.equal(hex(lh), fc.list_hash, `${id}: list hash (first-ballot record)`);
    a.throws(() => e.listHash(mh, id, [trackers[1], trackers[0]]), `${id}: unsorted trackers refused`);
    const nCast = vb.ballots.length;
    const close = e.transcript("close", [["manifest", mh], ["vote", id], ["list", lh], ["n", e.u64(nCast)]]);
    a.ok(e.verifyEd25519Strict(session.applianceKey, close, unhex(vb.close_sig, 64)), `${id}: appliance close signature`);
    const roll = e.transcript("roll-call", [["manifest", mh], ["vote", id], ["vote_manifest", vote.hash],
      ["credentials", concatBytes(...vb.roll_call.credentials.map((h) => unhex(h, 32)))], ["cast", e.u64(vb.roll_call.cast_count)]]);
    a.ok(e.verifyEd25519Strict(co, roll, unhex(vb.roll_call.sig, 64)), `${id}: CO roll-call signature`);
    a.ok(nCast === vb.roll_call.cast_count && nCast < session.radix, `${id}: n_cast = cast_count < T`);

    // Totals and partial decryptions, re-proved from the stream (§9).
    const totals = Array.from({ length: vote.m }, (_, i) => vb.ballots.reduce((acc2, b) => ({
      A: acc2.A.add(e.decodePointHex(b.items[i].A)), B: acc2.B.add(e.decodePointHex(b.items[i].B)) }), { A: e.O, B: e.O }));
    totals.forEach((tt, i) => {
      a.equal(hex(tt.A.toBytes()), vb.result.totals[i].A, `${id}: total ${i} A`);
      a.equal(hex(tt.B.toBytes()), vb.result.totals[i].B, `${id}: total ${i} B`);
    });
    const combined = totals.map((tt) => tt.B);
    for (const l of Q) {
      const z = e.decodeScalarHex(t.test_secrets.guardian_shares_z[l]);
      const Z = e.decodePointHex(t.verification_keys_Z[l]);
      const dctx = e.hBytes("decrypt-ctx", [["manifest", mh], ["vote", id], ["vote_manifest", vote.hash], ["pk", acc.K], ["ceremony", cc],
        ["list", lh], ["n", e.u64(nCast)], ["guardian", e.u64(l)], ["Z", Z.toBytes()]]);
      const part = vb.result.partials.find((p) => p.guardian === l);
      totals.forEach((tt, i) => {
        const Mi = e.mulSecret(tt.A, z);
        const pr = e.proveDleq({ ctx: dctx, label: "partial", index: i, g: e.G, h: tt.A, X: Z, Y: Mi, x: z, rng: drbg });
        a.equal(hex(Mi.toBytes()), part.shares[i].M, `${id}: partial ${l}/${i} M`);
        a.equal(proofHex([pr]), JSON.stringify([part.shares[i].proof]), `${id}: partial ${l}/${i} DLEQ re-proved`);
        combined[i] = combined[i].subtract(e.mulPublic(Mi, lagrange(l)));
      });
    }
    combined.forEach((V, i) => a.ok(V.equals(e.mulPublic(e.G, BigInt(vb.result.plaintext_totals[i]))), `${id}: item ${i} decrypts to ${vb.result.plaintext_totals[i]}`));

    // Spoiled records (§12): re-encryption audit, and their randomness from the audit stream.
    for (const sp of vb.spoiled) {
      a.ok(e.checkSpoiled(sp, { vote, K }), `${id}: spoiled record re-encrypts`);
      const audit = new e.TestDrbg(utf8.encode(`${t.drbg_seed_utf8}/audit/${id}`));
      const rs = [...sp.r, ...sp.s].map(() => e.scalarHex(audit.scalar()));
      a.equal(JSON.stringify(rs), JSON.stringify([...sp.r, ...sp.s]), `${id}: spoiled r, s from the audit stream`);
      a.throws(() => e.checkSpoiled({ ...sp, r: sp.r.slice(0, -1) }, { vote, K }), `${id}: truncated r refused`);
      a.throws(() => e.checkSpoiled({ ...sp, choices: sp.choices.map((c, i) => (i === 0 ? (c + 1) % vote.L : c)) }, { vote, K }), `${id}: other choices refused`);
    }
  }
}

function modInv(x) {
  // Fermat: x^(ℓ−2) mod ℓ.
  let result = 1n;
  let base = e.modL(x);
  let exp = e.ELL - 2n;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % e.ELL;
    base = (base * base) % e.ELL;
    exp >>= 1n;
  }
  return result;
}
