//! Sample result bundles (§10.1, §11): a complete `piaojue-e2e-v2` bundle built with the
//! product's own prover from the test DRBG, for tests, demonstrations and benchmarks.
//!
//! The randomness is consumed exactly in the order of §11 (DKG round 1, round 2, then per
//! vote the ballots in voter order and the quorum's partial decryptions); spoiled records
//! draw from the audit DRBG (seed ‖ "/audit/" ‖ vote_id) and the sample's choices from their
//! own stream (seed ‖ "/choices/" ‖ vote_id), so neither shifts the main stream. With the
//! tiny election's parameters ([`SampleSpec`] filled from the vectors) the output is the
//! vectors' `tiny_election.bundle`, byte for byte.
//!
//! Test keys only (`test-key`, §11): never use a sample's keys for a real session.

use curve25519_dalek::scalar::Scalar;
use serde_json::{Value, json};

use super::ballot::{self, Ballot, VoteContext};
use super::credential::SigningIdentity;
use super::drbg::{ScalarSource, TestDrbg, test_key_seed};
use super::elgamal::{Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::{Element, mul_base, scalar_hex};
use super::hex;
use super::manifest::{SessionManifest, VoteManifest};
use super::packing::VoteType;
use super::proofs::{self, Cz};
use super::tally;
use super::transcript::{self, PROTOCOL, ProofLabel};
use super::transport;

/// One vote of a sample: its manifest fields and every voter's choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleVote {
    /// vote_id.
    pub vote_id: String,
    /// The vote type.
    pub vote_type: VoteType,
    /// Item texts (M of them).
    pub items: Vec<String>,
    /// Option labels in encoding order.
    pub options: Vec<String>,
    /// N (per_item and approve_up_to_n only).
    pub max_yes: Option<u64>,
    /// The CO's 16-byte nonce.
    pub nonce: [u8; 16],
    /// Choices of voter 0, 1, …: one option index per item.
    pub choices: Vec<Vec<usize>>,
    /// Choices of the one Benaloh-spoiled ballot.
    pub spoiled_choices: Vec<usize>,
}

/// Everything a sample bundle is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleSpec {
    /// DRBG seed (§11); also the seed of every test key.
    pub seed: Vec<u8>,
    /// `election_id` of the session manifest.
    pub election_id: String,
    /// `booth_hash` of the session manifest.
    pub booth_hash: [u8; 32],
    /// Radix T.
    pub radix: u64,
    /// `max_electorate`.
    pub max_electorate: u64,
    /// Number of guardians n (all take part, attempt 1).
    pub guardians: u64,
    /// Threshold k.
    pub threshold: u64,
    /// The decrypting quorum (k sorted indices).
    pub quorum: Vec<u64>,
    /// The votes, in bundle order.
    pub votes: Vec<SampleVote>,
}

fn rerr(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Range {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// A number in `0..bound` from one DRBG scalar (bound ≤ 2^16; the bias is below 2^-200).
fn draw_below(d: &mut TestDrbg, bound: usize) -> Result<usize> {
    let s = d.next_scalar()?;
    let b = s.as_bytes();
    let mut acc = [0u8; 8];
    acc.copy_from_slice(b.get(..8).unwrap_or(&[0u8; 8]));
    let x = u64::from_le_bytes(acc);
    Ok((x % bound.max(1) as u64) as usize)
}

/// Random valid choices for one ballot of `vt` with M items, L options and bound N.
fn draw_choices(
    d: &mut TestDrbg,
    vt: VoteType,
    m: usize,
    l: usize,
    n: Option<u64>,
) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(m);
    let mut bounded = 0u64;
    // The option bounded by N: 赞成 (2) for per_item, 选 (1) for approve_up_to_n.
    let limited = match vt {
        VoteType::PerItem => Some(2),
        VoteType::ApproveUpToN => Some(1),
        _ => None,
    };
    for _ in 0..m {
        let mut c = draw_below(d, l)?;
        if let (Some(lim), Some(n)) = (limited, n)
            && c == lim
        {
            if bounded >= n {
                c = draw_below(d, lim)?;
            } else {
                bounded += 1;
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// The standard sample: n guardians, threshold k, quorum 1..k, and four votes (motion;
/// per_item M = 7, N = 5; approve_up_to_n M = 4, N = 2; satisfaction M = 2, L = 3) with
/// `ballots` ballots each, choices drawn from the DRBG. Deterministic in its arguments.
pub fn sample_spec(seed: &str, guardians: u32, threshold: u32, ballots: u32) -> Result<SampleSpec> {
    let (n, k, b) = (
        u64::from(guardians),
        u64::from(threshold),
        u64::from(ballots),
    );
    if !(1 <= k && k <= n && n <= 255) {
        return Err(rerr("guardians", "need 1 <= threshold <= guardians <= 255"));
    }
    let radix = 4096u64;
    let max_electorate = radix - 1;
    if !(1..=max_electorate).contains(&b) {
        return Err(rerr(
            "ballots",
            format!("need 1 <= ballots <= {max_electorate}"),
        ));
    }
    let sb = seed.as_bytes();
    let eid = format!("sample-{}", &hex::encode(&transcript::sha256(sb))[..16]);
    let booth = test_key_seed(sb, "booth", 0);
    let s = |x: &str| x.to_owned();
    type Shape = (
        &'static str,
        VoteType,
        Vec<String>,
        Vec<String>,
        Option<u64>,
    );
    let shapes: [Shape; 4] = [
        (
            "v1-motion",
            VoteType::Motion,
            vec![s("关于样本议案的决议草案")],
            vec![s("弃权"), s("反对"), s("赞成")],
            None,
        ),
        (
            "v2-per-item",
            VoteType::PerItem,
            (1..=7).map(|i| format!("项目{i}")).collect(),
            vec![s("弃权"), s("不赞成"), s("赞成")],
            Some(5),
        ),
        (
            "v3-approve",
            VoteType::ApproveUpToN,
            (1..=4).map(|i| format!("候选{i}")).collect(),
            vec![s("不选"), s("选")],
            Some(2),
        ),
        (
            "v4-satisfaction",
            VoteType::Satisfaction,
            vec![s("部门甲"), s("部门乙")],
            vec![s("不满意"), s("基本满意"), s("满意")],
            None,
        ),
    ];
    let mut votes = Vec::with_capacity(shapes.len());
    for (vi, (vid, vt, items, options, max_yes)) in shapes.into_iter().enumerate() {
        let mut cseed = sb.to_vec();
        cseed.extend_from_slice(b"/choices/");
        cseed.extend_from_slice(vid.as_bytes());
        let mut cd = TestDrbg::new(&cseed);
        let (m, l) = (items.len(), options.len());
        let mut choices = Vec::with_capacity(ballots as usize);
        for _ in 0..b {
            choices.push(draw_choices(&mut cd, vt, m, l, max_yes)?);
        }
        let spoiled_choices = draw_choices(&mut cd, vt, m, l, max_yes)?;
        let nk = test_key_seed(sb, "nonce", vi as u64);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(nk.get(..16).unwrap_or(&[0u8; 16]));
        votes.push(SampleVote {
            vote_id: vid.to_owned(),
            vote_type: vt,
            items,
            options,
            max_yes,
            nonce,
            choices,
            spoiled_choices,
        });
    }
    Ok(SampleSpec {
        seed: sb.to_vec(),
        election_id: eid,
        booth_hash: *booth,
        radix,
        max_electorate,
        guardians: n,
        threshold: k,
        quorum: (1..=k).collect(),
        votes,
    })
}

/// A complete sample bundle as compact JSON (the layout of `tiny_election.bundle`); see
/// [`sample_spec`]. Identical arguments give byte-identical output.
pub fn sample_bundle(seed: &str, guardians: u32, threshold: u32, ballots: u32) -> Result<String> {
    build_bundle(&sample_spec(seed, guardians, threshold, ballots)?)
}

fn pair_hex(cz: &Cz) -> Value {
    json!([scalar_hex(&cz.c), scalar_hex(&cz.z)])
}

fn to_json_string(v: &Value) -> Result<String> {
    serde_json::to_string(v).map_err(|e| E2eError::Json {
        field: "bundle".to_owned(),
        reason: e.to_string(),
    })
}

/// The session manifest's canonical bytes (keys sorted, no whitespace).
fn session_manifest_bytes(spec: &SampleSpec, ids: &[[u8; 32]]) -> Result<Vec<u8>> {
    let key = |label: &str| SigningIdentity::from_seed(&test_key_seed(&spec.seed, label, 0));
    let v = json!({
        "appliance_key": hex::encode(&key("appliance").public_key()),
        "booth_hash": hex::encode(&spec.booth_hash),
        "credential_officer": hex::encode(&key("officer").public_key()),
        "election_id": spec.election_id,
        "guardians": {
            "ids": ids.iter().map(|i| hex::encode(i)).collect::<Vec<_>>(),
            "k": spec.threshold,
            "n": spec.guardians,
        },
        "max_electorate": spec.max_electorate,
        "protocol": PROTOCOL,
        "radix": spec.radix,
    });
    Ok(to_json_string(&v)?.into_bytes())
}

fn vote_manifest_bytes(v: &SampleVote, mh: &[u8; 32]) -> Result<Vec<u8>> {
    let mut map = serde_json::Map::new();
    map.insert("items".into(), json!(v.items));
    map.insert("m".into(), json!(v.items.len()));
    if let Some(n) = v.max_yes {
        map.insert("max_yes".into(), json!(n));
    }
    map.insert("nonce".into(), json!(hex::encode(&v.nonce)));
    map.insert("options".into(), json!(v.options));
    map.insert("session".into(), json!(hex::encode(mh)));
    map.insert("type".into(), json!(v.vote_type.as_str()));
    map.insert("vote_id".into(), json!(v.vote_id));
    Ok(to_json_string(&Value::Object(map))?.into_bytes())
}

/// Builds the bundle of `spec` with the product's prover (§8, §7.5, §9.2, §12).
pub fn build_bundle(spec: &SampleSpec) -> Result<String> {
    let seed = spec.seed.as_slice();
    let (n, k) = (spec.guardians, spec.threshold);
    if !(1 <= k && k <= n && n <= 255) {
        return Err(rerr("guardians", "need 1 <= k <= n <= 255"));
    }
    let guardians: Vec<SigningIdentity> = (1..=n)
        .map(|i| SigningIdentity::from_seed(&test_key_seed(seed, "guardian", i)))
        .collect();
    let ids: Vec<[u8; 32]> = guardians.iter().map(SigningIdentity::public_key).collect();
    let officer = SigningIdentity::from_seed(&test_key_seed(seed, "officer", 0));
    let appliance = SigningIdentity::from_seed(&test_key_seed(seed, "appliance", 0));
    let sm = SessionManifest::parse(&session_manifest_bytes(spec, &ids)?)?;
    let mh = *sm.hash();
    let participants: Vec<u64> = (1..=n).collect();
    let attempt = 1u64;
    let cc = transcript::ceremony_ctx(&mh, attempt, k, &ids, &participants);
    let mut drbg = TestDrbg::new(seed);

    // Round 1: d, a_0..a_{k-1}, transport nonce, coefficient nonces; guardians in order.
    let mut coeffs: Vec<Vec<zeroize::Zeroizing<Scalar>>> = Vec::new();
    let mut commitments: Vec<Vec<Element>> = Vec::new();
    let mut transport_keys: Vec<Element> = Vec::new();
    let mut round1 = Vec::new();
    let mut round1_cat = Vec::new();
    for (gi, ident) in (1..=n).zip(guardians.iter()) {
        let d = drbg.next_scalar()?;
        let mut a = Vec::new();
        for _ in 0..k {
            a.push(drbg.next_scalar()?);
        }
        let tk = Element::from_point(mul_base(&d));
        let ks: Vec<Element> = a.iter().map(|x| Element::from_point(mul_base(x))).collect();
        let tpok = proofs::schnorr_prove(&cc, ProofLabel::Transport, gi, &tk, &d, &mut drbg)?;
        let mut poks = Vec::new();
        for (j, (kj, aj)) in ks.iter().zip(a.iter()).enumerate() {
            poks.push(proofs::schnorr_prove(
                &cc,
                ProofLabel::Coeff,
                256 * gi + j as u64,
                kj,
                aj,
                &mut drbg,
            )?);
        }
        let kcat: Vec<u8> = ks.iter().flat_map(|x| x.to_bytes()).collect();
        let pcat: Vec<u8> = poks.iter().flat_map(|p| p.to_bytes()).collect();
        let msg =
            transcript::dkg_round1_message(&cc, gi, tk.as_bytes(), &tpok.to_bytes(), &kcat, &pcat);
        round1.push(json!({
            "index": gi,
            "transport_key": tk.to_hex(),
            "transport_pok": pair_hex(&tpok),
            "commitments": ks.iter().map(Element::to_hex).collect::<Vec<_>>(),
            "coeff_poks": poks.iter().map(pair_hex).collect::<Vec<_>>(),
            "sig": hex::encode(&ident.sign(&msg)),
        }));
        round1_cat.extend_from_slice(&msg);
        coeffs.push(a);
        commitments.push(ks);
        transport_keys.push(tk);
    }
    let poly = |i: usize, x: u64| -> Scalar {
        let mut acc = Scalar::ZERO;
        let mut pow = Scalar::ONE;
        for a in coeffs.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            acc += **a * pow;
            pow *= Scalar::from(x);
        }
        acc
    };
    // Round 2: senders in order, recipients increasing, one draw (e) each.
    let mut round2 = serde_json::Map::new();
    let mut round2_sigs = serde_json::Map::new();
    for (&i, ident) in participants.iter().zip(guardians.iter()) {
        let mut blobs = serde_json::Map::new();
        let mut sigs = serde_json::Map::new();
        for &l in participants.iter().filter(|l| **l != i) {
            let e = drbg.next_scalar()?;
            let share = zeroize::Zeroizing::new(poly(i as usize - 1, l));
            let d_l = transport_keys
                .get(l as usize - 1)
                .ok_or_else(|| rerr("participants", "index out of range"))?;
            let blob = transport::seal_share(&cc, i, l, d_l, &e, &share)?;
            let sig = ident.sign(&transcript::dkg_round2_message(&cc, i, l, &blob));
            blobs.insert(l.to_string(), json!(hex::encode(&blob)));
            sigs.insert(l.to_string(), json!(hex::encode(&sig)));
        }
        round2.insert(i.to_string(), Value::Object(blobs));
        round2_sigs.insert(i.to_string(), Value::Object(sigs));
    }
    let k_elem = tally::joint_key(&commitments)?;
    let announce =
        transcript::key_announce_message(&cc, k_elem.as_bytes(), &transcript::sha256(&round1_cat));
    let mut key_sigs = serde_json::Map::new();
    for (&i, ident) in participants.iter().zip(guardians.iter()) {
        key_sigs.insert(i.to_string(), json!(hex::encode(&ident.sign(&announce))));
    }
    let key = JointKey::new(k_elem, "joint_key")?;

    let mut votes = Vec::with_capacity(spec.votes.len());
    for sv in &spec.votes {
        let vm = VoteManifest::parse(&vote_manifest_bytes(sv, &mh)?, &sm)?;
        let shape = vm.shape().clone();
        let vid = vm.vote_id.clone();
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        // Ballots in voter order (main DRBG), then sorted by tracker.
        let mut cast: Vec<([u8; 32], Ballot)> = Vec::with_capacity(sv.choices.len());
        let mut creds = Vec::with_capacity(sv.choices.len());
        let mut plain = vec![0u64; shape.m()];
        for (voter, choices) in sv.choices.iter().enumerate() {
            let card = test_key_seed(seed, "cred", voter as u64);
            let cred = SigningIdentity::derive_credential(&card, &mh, &vid);
            let (b, _secrets) = ballot::prove_ballot(&vc, &cred, choices, &mut drbg)?;
            for (p, v) in plain.iter_mut().zip(shape.encode_choices(choices)?) {
                *p += v;
            }
            creds.push(cred.public_key());
            cast.push((b.tracker(&mh, &vid), b));
        }
        cast.sort_by_key(|x| x.0);
        creds.sort_unstable();
        let n_cast = cast.len() as u64;
        let trackers: Vec<[u8; 32]> = cast.iter().map(|c| c.0).collect();
        let ballots: Vec<Ballot> = cast.into_iter().map(|c| c.1).collect();
        let rc_sig = officer.sign(&transcript::roll_call_message(
            &mh,
            &vid,
            vm.hash(),
            &creds,
            n_cast,
        ));
        let lh = tally::list_hash(&mh, &vid, &trackers)?;
        let close_sig = appliance.sign(&transcript::close_message(&mh, &vid, &lh, n_cast));
        let totals = tally::aggregate(&ballots, shape.m())?;
        let tot_cat: Vec<u8> = totals.iter().flat_map(Ciphertext::to_bytes).collect();
        // Partial decryptions: quorum in increasing order, items in order (one draw each).
        let mut partials_json = Vec::new();
        let mut partials = Vec::new();
        for &q in &spec.quorum {
            let z = zeroize::Zeroizing::new((0..participants.len()).map(|i| poly(i, q)).sum());
            let z_pub = tally::verification_key(q, &commitments);
            let dctx = transcript::decrypt_ctx(&transcript::DecryptCtxFields {
                manifest: &mh,
                vote: &vid,
                vote_manifest: vm.hash(),
                pk: k_elem.as_bytes(),
                ceremony: &cc,
                list: &lh,
                n: n_cast,
                guardian: q,
                z: z_pub.as_bytes(),
            });
            let shares = tally::partial_decrypt(&dctx, &z, &z_pub, &totals, &mut drbg)?;
            let sh_cat: Vec<u8> = shares
                .iter()
                .flat_map(|s| {
                    let mut v = s.m.to_bytes().to_vec();
                    v.extend_from_slice(&s.proof.to_bytes());
                    v
                })
                .collect();
            let ident = guardians
                .get((q as usize).wrapping_sub(1))
                .ok_or_else(|| rerr("quorum", "index out of range"))?;
            let sig = ident.sign(&transcript::decryption_message(
                &cc, &vid, &lh, n_cast, &tot_cat, &sh_cat,
            ));
            partials_json.push(json!({
                "guardian": q,
                "shares": shares.iter().map(|s| json!({"M": s.m.to_hex(), "proof": pair_hex(&s.proof)})).collect::<Vec<_>>(),
                "sig": hex::encode(&sig),
            }));
            partials.push(shares);
        }
        let combined = tally::combine(&totals, &spec.quorum, &partials)?;
        let mut counts = Vec::with_capacity(shape.m());
        for (i, (c, v)) in combined.iter().zip(plain.iter()).enumerate() {
            if !tally::check_plaintext(*v, c, &shape, n_cast) {
                return Err(E2eError::Tally {
                    field: format!("votes[{vid}].result.plaintext_totals[{i}]"),
                    reason: "combined decryption does not match the choices".to_owned(),
                });
            }
            counts.push(tally::decode_counts(&shape, n_cast, *v, "counts")?);
        }
        // The Benaloh-spoiled ballot: audit DRBG, voter 0's credential (that deputy audits,
        // then votes again).
        let mut audit_seed = seed.to_vec();
        audit_seed.extend_from_slice(b"/audit/");
        audit_seed.extend_from_slice(vid.as_bytes());
        let mut ad = TestDrbg::new(&audit_seed);
        let card = test_key_seed(seed, "cred", 0);
        let acred = SigningIdentity::derive_credential(&card, &mh, &vid);
        let (sb, secrets) = ballot::prove_ballot(&vc, &acred, &sv.spoiled_choices, &mut ad)?;
        let ct_pair = |it: &ballot::EncryptedItem| json!([it.ct.a.to_hex(), it.ct.b.to_hex()]);
        let spoiled = json!({
            "tracker": hex::encode(&sb.tracker(&mh, &vid)),
            "items": sb.items.iter().map(ct_pair).collect::<Vec<_>>(),
            "bits": sb.bits().iter().map(ct_pair).collect::<Vec<_>>(),
            "choices": *secrets.choices,
            "r": secrets.r.iter().map(|x| scalar_hex(x)).collect::<Vec<_>>(),
            "s": secrets.s.iter().map(|x| scalar_hex(x)).collect::<Vec<_>>(),
        });
        votes.push(json!({
            "vote_id": vid,
            "vote_manifest_hex": hex::encode(vm.bytes()),
            "roll_call": {
                "credentials": creds.iter().map(|c| hex::encode(c)).collect::<Vec<_>>(),
                "cast_count": n_cast,
                "sig": hex::encode(&rc_sig),
            },
            "ballots": ballots.iter().map(|b| b.to_json(&vid, &shape)).collect::<Vec<_>>(),
            "list_hash": hex::encode(&lh),
            "close_sig": hex::encode(&close_sig),
            "spoiled": [spoiled],
            "rejected": [],
            "result": {
                "totals": totals.iter().map(|t| json!({"A": t.a.to_hex(), "B": t.b.to_hex()})).collect::<Vec<_>>(),
                "partials": partials_json,
                "quorum": spec.quorum,
                "plaintext_totals": plain,
                "counts": counts,
            },
        }));
    }
    let bundle = json!({
        "manifest_hex": hex::encode(sm.bytes()),
        "manifest_hash": hex::encode(&mh),
        "ceremony": {
            "round1": round1,
            "round2": round2,
            "round2_sigs": round2_sigs,
            "complaints": [],
            "key_sigs": key_sigs,
            "attempt": attempt,
            "participants": participants,
            "aborted": [],
        },
        "joint_key": k_elem.to_hex(),
        "votes": votes,
    });
    to_json_string(&bundle)
}
