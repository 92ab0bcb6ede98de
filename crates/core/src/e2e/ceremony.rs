//! The scrutineers' key ceremony (SPEC-E2E §8): the messages, what a guardian computes, the
//! complaint judge, and the board every party replays.
//!
//! The same [`Board`] runs in three places: the appliance (which refuses a bad message before
//! storing it), each scrutineer's own program (which replays the whole board it fetched and so
//! trusts nothing the appliance says that it can check), and the bundle verifier (V2–V4 for
//! aborted attempts). A message is accepted only if it is signed under the guardian key pinned
//! in the session manifest for the attempt's ceremony context cc, encoded strictly, and fits
//! the attempt's state. Formats and the readings chosen are in docs/e2e-ceremony.md.

use std::collections::{BTreeMap, BTreeSet};

use curve25519_dalek::scalar::Scalar;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::ballot::short_code;
use super::credential::{self, SigningIdentity};
use super::drbg::{ScalarSource, random_scalar};
use super::elgamal::{self, Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::{Element, decode_scalar, mul_base, scalar_hex};
use super::hex;
use super::manifest::{SessionManifest, valid_vote_id};
use super::proofs::{self, Cz, DleqStatement};
use super::tally::{self, PartialShare};
use super::transcript::{self, Ctx, ProofLabel};
use super::transport::{self, BLOB_LEN};

/// The largest board message the appliance stores (a round-1 message at k = 255 is ~50 kB).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
/// Dry runs per session (one per sitting day is the rule; this is a cap, not a target).
pub const MAX_DRY_RUNS: usize = 64;
/// Dry runs one guardian may start that no other guardian has joined yet.
pub const MAX_DRY_RUNS_WAITING: usize = 4;
/// The plaintext of every dry-run test ciphertext.
pub const DRY_RUN_VALUE: u64 = 1;
/// The prefix of every dry-run vote_id (§8.5).
pub const DRY_RUN_PREFIX: &str = "dry-run-";

// ------------------------------------------------------------------------------ messages

/// One round-1 message (§8.2), bytes as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round1 {
    /// Guardian index.
    pub index: u64,
    /// D_i.
    pub transport_key: [u8; 32],
    /// Schnorr proof c‖z of d_i.
    pub transport_pok: [u8; 64],
    /// K_{i,0..}.
    pub commitments: Vec<[u8; 32]>,
    /// Schnorr proofs c‖z of the coefficients.
    pub coeff_poks: Vec<[u8; 64]>,
    /// Ed25519 signature of the `dkg-round1` message.
    pub sig: [u8; 64],
}

impl Round1 {
    /// The signed `dkg-round1` message under ceremony context `cc`.
    pub fn message(&self, cc: &Ctx) -> Vec<u8> {
        let kcat: Vec<u8> = self.commitments.iter().flatten().copied().collect();
        let pcat: Vec<u8> = self.coeff_poks.iter().flatten().copied().collect();
        transcript::dkg_round1_message(
            cc,
            self.index,
            &self.transport_key,
            &self.transport_pok,
            &kcat,
            &pcat,
        )
    }

    /// The JSON view (the bundle's `ceremony.round1[]` entry).
    pub fn to_json(&self) -> Value {
        json!({
            "index": self.index,
            "transport_key": hex::encode(&self.transport_key),
            "transport_pok": pair(&self.transport_pok),
            "commitments": self.commitments.iter().map(|k| hex::encode(k)).collect::<Vec<_>>(),
            "coeff_poks": self.coeff_poks.iter().map(pair).collect::<Vec<_>>(),
            "sig": hex::encode(&self.sig),
        })
    }

    /// Parses the JSON view strictly (exact keys, exact lengths).
    pub fn from_json(v: &Value, f: &str) -> Result<Round1> {
        let o = object(
            v,
            f,
            &[
                "index",
                "transport_key",
                "transport_pok",
                "commitments",
                "coeff_poks",
                "sig",
            ],
        )?;
        let list = |key: &str| -> Result<&Vec<Value>> {
            o.get(key)
                .and_then(Value::as_array)
                .ok_or_else(|| jerr(&format!("{f}.{key}"), "expected an array"))
        };
        Ok(Round1 {
            index: uint(o.get("index"), &format!("{f}.index"))?,
            transport_key: arr32(o.get("transport_key"), &format!("{f}.transport_key"))?,
            transport_pok: cz_pair(o.get("transport_pok"), &format!("{f}.transport_pok"))?,
            commitments: list("commitments")?
                .iter()
                .enumerate()
                .map(|(j, k)| arr32(Some(k), &format!("{f}.commitments[{j}]")))
                .collect::<Result<_>>()?,
            coeff_poks: list("coeff_poks")?
                .iter()
                .enumerate()
                .map(|(j, p)| cz_pair(Some(p), &format!("{f}.coeff_poks[{j}]")))
                .collect::<Result<_>>()?,
            sig: arr64(o.get("sig"), &format!("{f}.sig"))?,
        })
    }
}

/// One encrypted share (§8.3): blob = E ‖ ChaCha20-Poly1305 ciphertext, signed by the sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Round2 {
    /// Sender i.
    pub from: u64,
    /// Recipient ℓ.
    pub to: u64,
    /// The 80-byte blob.
    pub blob: Vec<u8>,
    /// Ed25519(id_i, `dkg-round2`).
    pub sig: [u8; 64],
}

/// A complaint (§8.4) by recipient `to` against sender `from`: the DH value S with a DLEQ
/// proof, signed by the complainer (`dkg-complaint`, see docs/e2e-ceremony.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Complaint {
    /// The accused sender i.
    pub from: u64,
    /// The complainer ℓ.
    pub to: u64,
    /// S = d_ℓ·E (zero for a missing or malformed blob).
    pub shared: [u8; 32],
    /// DLEQ(G, E; D_ℓ, S) as c‖z (zero for a missing or malformed blob).
    pub proof: [u8; 64],
    /// Ed25519(id_ℓ, `dkg-complaint`).
    pub sig: [u8; 64],
}

impl Complaint {
    /// The JSON view.
    pub fn to_json(&self) -> Value {
        json!({
            "from": self.from,
            "to": self.to,
            "S": hex::encode(&self.shared),
            "proof": pair(&self.proof),
            "sig": hex::encode(&self.sig),
        })
    }

    fn from_json(v: &Value, f: &str) -> Result<Complaint> {
        let o = object(v, f, &["from", "to", "S", "proof", "sig"])?;
        Ok(Complaint {
            from: uint(o.get("from"), &format!("{f}.from"))?,
            to: uint(o.get("to"), &format!("{f}.to"))?,
            shared: arr32(o.get("S"), &format!("{f}.S"))?,
            proof: cz_pair(o.get("proof"), &format!("{f}.proof"))?,
            sig: arr64(o.get("sig"), &format!("{f}.sig"))?,
        })
    }
}

/// One guardian's partial decryption of a dry run's test ciphertext (§8.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DryRun {
    /// `dry-run-…`.
    pub vote_id: String,
    /// Guardian ℓ.
    pub guardian: u64,
    /// M = z_ℓ·A and its DLEQ proof.
    pub share: PartialShare,
    /// Ed25519(id_ℓ, `decryption`).
    pub sig: [u8; 64],
}

/// Who proposes a restart and why (§8.1); the board checks the participants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restart {
    /// The participants of the new attempt.
    pub participants: Vec<u64>,
    /// Why (recorded in the bundle's `aborted[]`).
    pub reason: String,
}

/// A message posted to the ceremony board: `{"attempt": a, "kind": …, "message": {…}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Round 1 (§8.2).
    Round1(Round1),
    /// Round 2 (§8.3).
    Round2(Round2),
    /// A complaint (§8.4).
    Complaint(Complaint),
    /// A key-announcement signature (§8.5).
    KeyAnnounce {
        /// The signer.
        guardian: u64,
        /// Ed25519(id, `key-announce`).
        sig: [u8; 64],
    },
    /// A dry-run partial decryption (§8.5).
    DryRun(DryRun),
    /// The start of attempt `attempt` (posted by the relay: automatically after a complaint,
    /// or by the secretariat for an absent guardian).
    Restart(Restart),
}

impl Message {
    /// The kind as written on the board.
    pub fn kind(&self) -> &'static str {
        match self {
            Message::Round1(_) => "round1",
            Message::Round2(_) => "round2",
            Message::Complaint(_) => "complaint",
            Message::KeyAnnounce { .. } => "key_announce",
            Message::DryRun(_) => "dry_run",
            Message::Restart(_) => "restart",
        }
    }

    /// The guardian who signed it (none for a restart).
    pub fn sender(&self) -> Option<u64> {
        match self {
            Message::Round1(r) => Some(r.index),
            Message::Round2(r) => Some(r.from),
            Message::Complaint(c) => Some(c.to),
            Message::KeyAnnounce { guardian, .. } => Some(*guardian),
            Message::DryRun(d) => Some(d.guardian),
            Message::Restart(_) => None,
        }
    }

    /// The posted JSON form.
    pub fn to_json(&self, attempt: u64) -> Value {
        let message = match self {
            Message::Round1(r) => r.to_json(),
            Message::Round2(r) => json!({
                "from": r.from, "to": r.to,
                "blob": hex::encode(&r.blob), "sig": hex::encode(&r.sig),
            }),
            Message::Complaint(c) => c.to_json(),
            Message::KeyAnnounce { guardian, sig } => {
                json!({ "guardian": guardian, "sig": hex::encode(sig) })
            }
            Message::DryRun(d) => json!({
                "vote_id": d.vote_id,
                "guardian": d.guardian,
                "M": d.share.m.to_hex(),
                "proof": pair(&d.share.proof.to_bytes()),
                "sig": hex::encode(&d.sig),
            }),
            Message::Restart(r) => json!({ "participants": r.participants, "reason": r.reason }),
        };
        json!({ "attempt": attempt, "kind": self.kind(), "message": message })
    }

    /// Parses a posted message strictly: `(attempt, message)`.
    pub fn parse(bytes: &[u8]) -> Result<(u64, Message)> {
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(jerr(
                "message",
                format!("larger than {MAX_MESSAGE_BYTES} bytes"),
            ));
        }
        let v: Value = serde_json::from_slice(bytes).map_err(|e| jerr("message", e.to_string()))?;
        Self::from_json(&v)
    }

    /// Parses the JSON form strictly.
    pub fn from_json(v: &Value) -> Result<(u64, Message)> {
        let o = object(v, "message", &["attempt", "kind", "message"])?;
        let attempt = uint(o.get("attempt"), "attempt")?;
        let m = o.get("message").unwrap_or(&Value::Null);
        let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
        let msg = match kind {
            "round1" => Message::Round1(Round1::from_json(m, "round1")?),
            "round2" => {
                let r = object(m, "round2", &["from", "to", "blob", "sig"])?;
                let blob = r
                    .get("blob")
                    .and_then(Value::as_str)
                    .ok_or_else(|| jerr("round2.blob", "expected a hex string"))?;
                Message::Round2(Round2 {
                    from: uint(r.get("from"), "round2.from")?,
                    to: uint(r.get("to"), "round2.to")?,
                    blob: hex::decode_exact(blob, BLOB_LEN, "round2.blob")?,
                    sig: arr64(r.get("sig"), "round2.sig")?,
                })
            }
            "complaint" => Message::Complaint(Complaint::from_json(m, "complaint")?),
            "key_announce" => {
                let r = object(m, "key_announce", &["guardian", "sig"])?;
                Message::KeyAnnounce {
                    guardian: uint(r.get("guardian"), "key_announce.guardian")?,
                    sig: arr64(r.get("sig"), "key_announce.sig")?,
                }
            }
            "dry_run" => {
                let r = object(m, "dry_run", &["vote_id", "guardian", "M", "proof", "sig"])?;
                let vote_id = r
                    .get("vote_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| jerr("dry_run.vote_id", "expected a string"))?;
                let mb = arr32(r.get("M"), "dry_run.M")?;
                Message::DryRun(DryRun {
                    vote_id: vote_id.to_owned(),
                    guardian: uint(r.get("guardian"), "dry_run.guardian")?,
                    share: PartialShare {
                        m: Element::decode(&mb, "dry_run.M")?,
                        proof: Cz::decode(
                            &cz_pair(r.get("proof"), "dry_run.proof")?,
                            "dry_run.proof",
                        )?,
                    },
                    sig: arr64(r.get("sig"), "dry_run.sig")?,
                })
            }
            "restart" => {
                let r = object(m, "restart", &["participants", "reason"])?;
                let participants = r
                    .get("participants")
                    .and_then(Value::as_array)
                    .ok_or_else(|| jerr("restart.participants", "expected an array"))?
                    .iter()
                    .enumerate()
                    .map(|(i, p)| uint(Some(p), &format!("restart.participants[{i}]")))
                    .collect::<Result<_>>()?;
                let reason = r
                    .get("reason")
                    .and_then(Value::as_str)
                    .ok_or_else(|| jerr("restart.reason", "expected a string"))?;
                Message::Restart(Restart {
                    participants,
                    reason: reason.to_owned(),
                })
            }
            other => return Err(jerr("kind", format!("unknown message kind `{other}`"))),
        };
        Ok((attempt, msg))
    }
}

// ------------------------------------------------------------------------------ JSON helpers

fn jerr(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Json {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn pair(b: &[u8; 64]) -> Value {
    json!([hex::encode(&b[..32]), hex::encode(&b[32..])])
}

fn object<'a>(v: &'a Value, f: &str, keys: &[&str]) -> Result<&'a serde_json::Map<String, Value>> {
    let o = v.as_object().ok_or_else(|| jerr(f, "expected an object"))?;
    if let Some(k) = o.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(jerr(f, format!("unknown field `{k}`")));
    }
    if let Some(k) = keys.iter().find(|k| !o.contains_key(**k)) {
        return Err(jerr(f, format!("missing field `{k}`")));
    }
    Ok(o)
}

fn uint(v: Option<&Value>, f: &str) -> Result<u64> {
    v.and_then(Value::as_u64)
        .ok_or_else(|| jerr(f, "expected a non-negative integer"))
}

fn arr32(v: Option<&Value>, f: &str) -> Result<[u8; 32]> {
    hex::decode_array(
        v.and_then(Value::as_str)
            .ok_or_else(|| jerr(f, "expected a hex string"))?,
        f,
    )
}

fn arr64(v: Option<&Value>, f: &str) -> Result<[u8; 64]> {
    hex::decode_array(
        v.and_then(Value::as_str)
            .ok_or_else(|| jerr(f, "expected a hex string"))?,
        f,
    )
}

fn cz_pair(v: Option<&Value>, f: &str) -> Result<[u8; 64]> {
    let a = v
        .and_then(Value::as_array)
        .filter(|a| a.len() == 2)
        .ok_or_else(|| jerr(f, "expected [c, z]"))?;
    let c: [u8; 32] = arr32(a.first(), &format!("{f}[0]"))?;
    let z: [u8; 32] = arr32(a.get(1), &format!("{f}[1]"))?;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&c);
    out[32..].copy_from_slice(&z);
    Ok(out)
}

// ------------------------------------------------------------------------------ checks

/// Verifies a round-1 message (§8.2): signature under `id`, D and every K_{i,j} canonical and
/// ≠ O, exactly k commitments, every Schnorr proof. Returns (D_i, K_{i,0..k−1}).
pub fn check_round1(
    cc: &Ctx,
    id: &[u8; 32],
    k: u64,
    r: &Round1,
) -> Result<(Element, Vec<Element>)> {
    let f = format!("round1[{}]", r.index);
    credential::verify_field(id, &r.message(cc), &r.sig, &format!("{f}.sig"))?;
    if r.commitments.len() as u64 != k || r.coeff_poks.len() as u64 != k {
        return Err(E2eError::Shape {
            field: f,
            reason: format!(
                "{} commitments and {} proofs, k = {k}",
                r.commitments.len(),
                r.coeff_poks.len()
            ),
        });
    }
    let d = Element::decode_non_identity(&r.transport_key, &format!("{f}.transport_key"))?;
    let p = Cz::decode(&r.transport_pok, &format!("{f}.transport_pok"))?;
    if !proofs::schnorr_verify(cc, ProofLabel::Transport, r.index, &d, &p) {
        return Err(E2eError::Proof {
            field: format!("{f}.transport_pok"),
        });
    }
    let mut ks = Vec::with_capacity(r.commitments.len());
    for (j, (kj, pj)) in r.commitments.iter().zip(r.coeff_poks.iter()).enumerate() {
        let ke = Element::decode_non_identity(kj, &format!("{f}.commitments[{j}]"))?;
        let p = Cz::decode(pj, &format!("{f}.coeff_poks[{j}]"))?;
        let li = r
            .index
            .checked_mul(256)
            .and_then(|x| x.checked_add(j as u64))
            .ok_or_else(|| E2eError::Range {
                field: f.clone(),
                reason: "index too large".into(),
            })?;
        if !proofs::schnorr_verify(cc, ProofLabel::Coeff, li, &ke, &p) {
            return Err(E2eError::Proof {
                field: format!("{f}.coeff_poks[{j}]"),
            });
        }
        ks.push(ke);
    }
    Ok((d, ks))
}

/// s·G = Σ_j ℓ^j·K_{i,j} (§8.4).
pub fn share_matches(s: &Scalar, to: u64, commitments: &[Element]) -> bool {
    tally::verification_key(to, &[commitments.to_vec()]).point() == &mul_base(s)
}

/// Who a judged complaint finds faulty (§8.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The accused sender i.
    pub from: u64,
    /// The complainer ℓ.
    pub to: u64,
    /// The guardian found faulty (i or ℓ).
    pub faulty: u64,
    /// Which rule decided.
    pub reason: &'static str,
}

impl Verdict {
    /// The JSON view recorded in the bundle's `aborted[].verdicts`.
    pub fn to_json(&self) -> Value {
        json!({ "from": self.from, "to": self.to, "faulty": self.faulty, "reason": self.reason })
    }
}

/// Judges a complaint (§8.4, with step 0 of v2): `blob` is the board's blob from i to ℓ (if
/// any), `d_to` the complainer's transport key, `commitments` the sender's. Anyone can run it.
pub fn judge(
    cc: &Ctx,
    c: &Complaint,
    blob: Option<&[u8]>,
    d_to: &Element,
    commitments: &[Element],
) -> Verdict {
    let verdict = |faulty: u64, reason: &'static str| Verdict {
        from: c.from,
        to: c.to,
        faulty,
        reason,
    };
    // Step 0: absent, wrong length, E not decoding or O: the sender.
    let Some(blob) = blob.filter(|b| b.len() == BLOB_LEN) else {
        return verdict(c.from, "blob absent or not 80 bytes: sender faulty");
    };
    let (eb, ct) = blob.split_at(32);
    let Ok(big_e) = Element::decode_non_identity(eb, "E") else {
        return verdict(c.from, "blob's E invalid: sender faulty");
    };
    // Step 1: the DLEQ proves S = d_ℓ·E.
    let ok_dleq = Element::decode(&c.shared, "S")
        .ok()
        .zip(Cz::decode(&c.proof, "proof").ok())
        .is_some_and(|(s, p)| {
            let ctx = transcript::complaint_ctx(cc, c.from, c.to);
            proofs::dleq_verify(
                &DleqStatement {
                    ctx: &ctx,
                    label: ProofLabel::Complaint,
                    index: 0,
                    g: &Element::generator(),
                    h: &big_e,
                    x: d_to,
                    y: &s,
                },
                &p,
            )
        });
    if !ok_dleq {
        return verdict(c.to, "DLEQ of S fails: complainer faulty");
    }
    // Step 2: decrypt with S and check the share.
    match transport::open_with_shared(cc, c.from, c.to, &big_e, d_to, &c.shared, ct, "blob") {
        Err(_) => verdict(c.from, "blob does not decrypt: sender faulty"),
        Ok(s) if !share_matches(&s, c.to, commitments) => verdict(
            c.from,
            "share does not match the commitments: sender faulty",
        ),
        Ok(_) => verdict(c.to, "share is valid: complainer faulty"),
    }
}

/// The dry run's test ciphertext (§8.5): m = [`DRY_RUN_VALUE`], r = H_scalar("dry-run",
/// [cc, vote_id]). Every guardian rebuilds it; nobody supplies it.
pub fn dry_run_ciphertext(cc: &Ctx, key: &JointKey, vote_id: &str) -> Result<Ciphertext> {
    let r = Zeroizing::new(transcript::dry_run_scalar(cc, vote_id));
    elgamal::encrypt(key, &Scalar::from(DRY_RUN_VALUE), &r)
}

/// The list hash a dry run binds (there is no ballot list): SHA-256 of A ‖ B.
pub fn dry_run_list(ct: &Ciphertext) -> [u8; 32] {
    transcript::sha256(&ct.to_bytes())
}

// ------------------------------------------------------------------------------ the board

/// A message the board refuses: who sent it, which check (2, 3 or 4 as in V2–V4) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", sender.map(|s| format!("guardian {s}: ")).unwrap_or_default())]
pub struct BoardError {
    /// The guardian named as sender (none for a restart or an unparsable message).
    pub sender: Option<u64>,
    /// The verifier check this failure belongs to (2 structure and signatures, 3 proofs and
    /// complaints, 4 key announcement).
    pub check: usize,
    /// What is wrong, naming the field.
    pub reason: String,
    /// True when the message conflicts with the board's state rather than being malformed
    /// (wrong attempt, posted twice, too early): HTTP 409 rather than 400.
    pub conflict: bool,
}

/// What [`Board::accept`] did with a valid message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Accepted {
    /// Stored.
    New,
    /// The identical message was already on the board (a retry); nothing changes.
    Duplicate,
}

/// One attempt of the ceremony as the board holds it.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The attempt number (from 1).
    pub attempt: u64,
    /// Sorted original indices taking part.
    pub participants: Vec<u64>,
    /// Why this attempt started (empty for attempt 1).
    pub reason: String,
    /// cc.
    pub cc: Ctx,
    /// Round-1 messages by index, with the decoded D_i and K_{i,j}.
    pub round1: BTreeMap<u64, (Round1, Element, Vec<Element>)>,
    /// Round-2 messages by (from, to).
    pub round2: BTreeMap<(u64, u64), Round2>,
    /// Complaints in arrival order, with their verdicts.
    pub complaints: Vec<(Complaint, Verdict)>,
    /// Key-announcement signatures by guardian.
    pub announced: BTreeMap<u64, [u8; 64]>,
}

impl Attempt {
    /// Participants without a round-1 message yet.
    pub fn missing_round1(&self) -> Vec<u64> {
        self.participants
            .iter()
            .filter(|p| !self.round1.contains_key(p))
            .copied()
            .collect()
    }

    /// Pairs (from, to) without a round-2 blob yet.
    pub fn missing_round2(&self) -> Vec<(u64, u64)> {
        self.pairs()
            .into_iter()
            .filter(|p| !self.round2.contains_key(p))
            .collect()
    }

    fn pairs(&self) -> Vec<(u64, u64)> {
        let p = &self.participants;
        p.iter()
            .flat_map(|i| p.iter().filter(move |l| *l != i).map(move |l| (*i, *l)))
            .collect()
    }

    /// Participants who have not signed the key announcement.
    pub fn missing_announcements(&self) -> Vec<u64> {
        self.participants
            .iter()
            .filter(|p| !self.announced.contains_key(p))
            .copied()
            .collect()
    }

    /// Every participant's commitments, in index order (once round 1 is complete).
    pub fn commitments(&self) -> Option<Vec<Vec<Element>>> {
        self.participants
            .iter()
            .map(|p| self.round1.get(p).map(|r| r.2.clone()))
            .collect()
    }

    /// K = Σ K_{i,0} (once round 1 is complete).
    pub fn joint_key(&self) -> Option<Element> {
        tally::joint_key(&self.commitments()?).ok()
    }

    /// Z_ℓ (once round 1 is complete).
    pub fn verification_key(&self, l: u64) -> Option<Element> {
        Some(tally::verification_key(l, &self.commitments()?))
    }

    /// The `key-announce` message every participant signs (once round 1 is complete).
    pub fn announcement(&self) -> Option<Vec<u8>> {
        let k = self.joint_key()?;
        let mut cat = Vec::new();
        for p in &self.participants {
            cat.extend_from_slice(&self.round1.get(p)?.0.message(&self.cc));
        }
        Some(transcript::key_announce_message(
            &self.cc,
            k.as_bytes(),
            &transcript::sha256(&cat),
        ))
    }

    /// The key fingerprint read aloud (§8.5): the first 10 bytes of SHA-256 of the
    /// announcement, Crockford base32, grouped like a short tracker.
    pub fn fingerprint(&self) -> Option<String> {
        Some(short_code(&transcript::sha256(&self.announcement()?)))
    }

    /// Guardians found faulty by this attempt's complaints.
    pub fn faulty(&self) -> BTreeSet<u64> {
        self.complaints.iter().map(|(_, v)| v.faulty).collect()
    }

    /// Complete: every participant announced (which needs every blob and no complaint).
    pub fn complete(&self) -> bool {
        self.complaints.is_empty() && self.missing_announcements().is_empty()
    }

    fn round2_json(&self) -> (Value, Value) {
        let mut blobs = serde_json::Map::new();
        let mut sigs = serde_json::Map::new();
        for ((i, l), r) in &self.round2 {
            let b = blobs
                .entry(i.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(m) = b {
                m.insert(l.to_string(), json!(hex::encode(&r.blob)));
            }
            let s = sigs
                .entry(i.to_string())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(m) = s {
                m.insert(l.to_string(), json!(hex::encode(&r.sig)));
            }
        }
        (Value::Object(blobs), Value::Object(sigs))
    }

    fn key_sigs_json(&self) -> Value {
        Value::Object(
            self.announced
                .iter()
                .map(|(i, s)| (i.to_string(), json!(hex::encode(s))))
                .collect(),
        )
    }
}

/// The ceremony board: every attempt and the dry runs, built only from accepted messages.
#[derive(Clone, Debug)]
pub struct Board {
    manifest: SessionManifest,
    attempts: Vec<Attempt>,
    dry_runs: BTreeMap<String, BTreeMap<u64, DryRun>>,
    /// [`Board::check_dry_run`] of each dry run, recomputed when one of its partials arrives
    /// (not on every read: a check combines every k-subset).
    dry_run_checks: BTreeMap<String, Result<usize, String>>,
    /// A live board (the appliance's, a scrutineer's) refuses complaints about a blob that
    /// is not on the board yet; a verifier replaying a recorded ceremony judges them by
    /// §8.4 step 0 (see [`Board::replaying`]).
    live: bool,
}

/// The most attempts a ceremony may take (each restart either excludes a faulty guardian
/// or is the secretariat's, confirmed by every remaining scrutineer).
pub const MAX_ATTEMPTS: u64 = 16;

fn refuse(sender: Option<u64>, check: usize, reason: impl Into<String>) -> BoardError {
    BoardError {
        sender,
        check,
        reason: reason.into(),
        conflict: false,
    }
}

fn conflict(sender: Option<u64>, reason: impl Into<String>) -> BoardError {
    BoardError {
        sender,
        check: 2,
        reason: reason.into(),
        conflict: true,
    }
}

impl Board {
    /// A new board for a session: attempt 1 with every guardian of the manifest.
    pub fn new(manifest: SessionManifest) -> Board {
        let participants: Vec<u64> = (1..=manifest.n()).collect();
        let attempt = Self::attempt(&manifest, 1, participants, String::new());
        Board {
            manifest,
            attempts: vec![attempt],
            dry_runs: BTreeMap::new(),
            dry_run_checks: BTreeMap::new(),
            live: true,
        }
    }

    /// A board for replaying a recorded ceremony (the verifier's): a complaint about a
    /// missing blob is judged by §8.4 step 0 (the sender is faulty) instead of refused.
    pub fn replaying(manifest: SessionManifest) -> Board {
        Board {
            live: false,
            ..Board::new(manifest)
        }
    }

    fn attempt(sm: &SessionManifest, n: u64, participants: Vec<u64>, reason: String) -> Attempt {
        let cc = transcript::ceremony_ctx(sm.hash(), n, sm.k, &sm.guardian_ids, &participants);
        Attempt {
            attempt: n,
            participants,
            reason,
            cc,
            round1: BTreeMap::new(),
            round2: BTreeMap::new(),
            complaints: Vec::new(),
            announced: BTreeMap::new(),
        }
    }

    /// A replayed board that takes live messages from now on (the appliance reloading its
    /// store: what it once accepted is replayed leniently, so a stricter rule added later
    /// cannot make the stored board unreadable).
    pub fn go_live(mut self) -> Board {
        self.live = true;
        self
    }

    /// The session manifest.
    pub fn manifest(&self) -> &SessionManifest {
        &self.manifest
    }

    /// Every attempt, oldest first.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// The current (last) attempt.
    pub fn current(&self) -> &Attempt {
        // `attempts` is never empty: `new` starts attempt 1 and nothing removes one.
        self.attempts.last().unwrap_or_else(|| unreachable!())
    }

    fn current_mut(&mut self) -> &mut Attempt {
        self.attempts.last_mut().unwrap_or_else(|| unreachable!())
    }

    /// The dry runs: vote_id → guardian → partial.
    pub fn dry_runs(&self) -> &BTreeMap<String, BTreeMap<u64, DryRun>> {
        &self.dry_runs
    }

    /// The joint key, once the current attempt is complete.
    pub fn joint_key(&self) -> Option<Element> {
        let a = self.current();
        if a.complete() { a.joint_key() } else { None }
    }

    fn id(&self, i: u64) -> Option<&[u8; 32]> {
        usize::try_from(i)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.manifest.guardian_ids.get(i))
    }

    /// The restart the complaints of the current attempt call for (participants minus the
    /// guardians found faulty), if it has any and enough guardians remain.
    pub fn restart_after_complaints(&self) -> Option<Restart> {
        let a = self.current();
        if a.complaints.is_empty() {
            return None;
        }
        let faulty = a.faulty();
        let participants: Vec<u64> = a
            .participants
            .iter()
            .filter(|p| !faulty.contains(p))
            .copied()
            .collect();
        let verdicts: Vec<String> = a
            .complaints
            .iter()
            .map(|(_, v)| {
                format!(
                    "complaint {}→{}: {} (guardian {})",
                    v.from, v.to, v.reason, v.faulty
                )
            })
            .collect();
        Some(Restart {
            participants,
            reason: verdicts.join("; "),
        })
    }

    /// Whether the identical message is already on the board for `attempt` (a retry).
    pub fn holds(&self, attempt: u64, msg: &Message) -> bool {
        let Some(a) = self.attempts.iter().find(|a| a.attempt == attempt) else {
            return false;
        };
        match msg {
            Message::Round1(r) => a.round1.get(&r.index).is_some_and(|o| o.0 == *r),
            Message::Round2(r) => a.round2.get(&(r.from, r.to)) == Some(r),
            Message::Complaint(c) => a.complaints.iter().any(|(o, _)| o == c),
            Message::KeyAnnounce { guardian, sig } => a.announced.get(guardian) == Some(sig),
            Message::DryRun(d) => {
                self.dry_runs
                    .get(&d.vote_id)
                    .and_then(|m| m.get(&d.guardian))
                    == Some(d)
            }
            Message::Restart(r) => {
                a.attempt > 1 && a.participants == r.participants && a.reason == r.reason
            }
        }
    }

    /// Checks a message against the board and, if valid, records it.
    pub fn accept(&mut self, attempt: u64, msg: Message) -> Result<Accepted, BoardError> {
        let sender = msg.sender();
        if self.holds(attempt, &msg) {
            return Ok(Accepted::Duplicate);
        }
        if let Message::Restart(r) = msg {
            return self.accept_restart(attempt, r);
        }
        let cur = self.current().attempt;
        if attempt != cur {
            return Err(conflict(
                sender,
                format!("attempt {attempt}: the ceremony is at attempt {cur}"),
            ));
        }
        let s = sender.unwrap_or(0);
        let id = *self.id(s).ok_or_else(|| {
            refuse(
                sender,
                2,
                format!("no guardian {s} in the session manifest"),
            )
        })?;
        let a = self.current();
        let is_dry_run = matches!(msg, Message::DryRun(_));
        if !a.participants.contains(&s) {
            return Err(refuse(
                sender,
                2,
                format!("guardian {s} is not a participant of attempt {cur}"),
            ));
        }
        if !is_dry_run && !a.complaints.is_empty() {
            return Err(conflict(
                sender,
                format!("attempt {cur} has a complaint; it is over, a restart follows"),
            ));
        }
        if !is_dry_run && a.complete() {
            return Err(conflict(sender, format!("attempt {cur} is complete")));
        }
        match msg {
            Message::Round1(r) => self.accept_round1(&id, r),
            Message::Round2(r) => self.accept_round2(&id, r),
            Message::Complaint(c) => self.accept_complaint(&id, c),
            Message::KeyAnnounce { guardian, sig } => self.accept_announce(&id, guardian, sig),
            Message::DryRun(d) => self.accept_dry_run(&id, d),
            Message::Restart(_) => unreachable!(),
        }
    }

    fn accept_round1(&mut self, id: &[u8; 32], r: Round1) -> Result<Accepted, BoardError> {
        let a = self.current();
        let s = Some(r.index);
        if let Some((old, ..)) = a.round1.get(&r.index) {
            return if *old == r {
                Ok(Accepted::Duplicate)
            } else {
                Err(conflict(s, "already posted a different round-1 message"))
            };
        }
        let (d, ks) = check_round1(&a.cc, id, self.manifest.k, &r).map_err(|e| {
            let check = if matches!(e, E2eError::Signature { .. }) {
                2
            } else {
                3
            };
            refuse(s, check, e.to_string())
        })?;
        self.current_mut().round1.insert(r.index, (r, d, ks));
        Ok(Accepted::New)
    }

    fn accept_round2(&mut self, id: &[u8; 32], r: Round2) -> Result<Accepted, BoardError> {
        let a = self.current();
        let s = Some(r.from);
        if !a.participants.contains(&r.to) || r.to == r.from {
            return Err(refuse(
                s,
                2,
                format!("round2.to: {} is not another participant", r.to),
            ));
        }
        if let Some(old) = a.round2.get(&(r.from, r.to)) {
            return if *old == r {
                Ok(Accepted::Duplicate)
            } else {
                Err(conflict(
                    s,
                    format!("already posted a different share for guardian {}", r.to),
                ))
            };
        }
        if !a.missing_round1().is_empty() {
            return Err(conflict(
                s,
                format!(
                    "round 1 is not complete (waiting for {:?})",
                    a.missing_round1()
                ),
            ));
        }
        let msg = transcript::dkg_round2_message(&a.cc, r.from, r.to, &r.blob);
        credential::verify_field(id, &msg, &r.sig, "round2.sig")
            .map_err(|e| refuse(s, 2, e.to_string()))?;
        if r.blob.len() != BLOB_LEN {
            return Err(refuse(
                s,
                3,
                format!("round2.blob: {} bytes, not 80", r.blob.len()),
            ));
        }
        Element::decode_non_identity(r.blob.get(..32).unwrap_or(&[]), "round2.blob.E")
            .map_err(|e| refuse(s, 3, e.to_string()))?;
        self.current_mut().round2.insert((r.from, r.to), r);
        Ok(Accepted::New)
    }

    fn accept_complaint(&mut self, id: &[u8; 32], c: Complaint) -> Result<Accepted, BoardError> {
        let a = self.current();
        let s = Some(c.to);
        if !a.participants.contains(&c.from) || c.from == c.to {
            return Err(refuse(
                s,
                2,
                format!("complaint.from: {} is not another participant", c.from),
            ));
        }
        if let Some((old, _)) = a
            .complaints
            .iter()
            .find(|(o, _)| o.from == c.from && o.to == c.to)
        {
            return if *old == c {
                Ok(Accepted::Duplicate)
            } else {
                Err(conflict(
                    s,
                    format!("already complained about guardian {}", c.from),
                ))
            };
        }
        let (Some(sender), Some(recipient)) = (a.round1.get(&c.from), a.round1.get(&c.to)) else {
            return Err(conflict(
                s,
                "round-1 messages of both guardians are needed first",
            ));
        };
        let msg = transcript::dkg_complaint_message(&a.cc, c.from, c.to, &c.shared, &c.proof);
        credential::verify_field(id, &msg, &c.sig, "complaint.sig")
            .map_err(|e| refuse(s, 2, e.to_string()))?;
        let blob = a.round2.get(&(c.from, c.to)).map(|r| r.blob.as_slice());
        if blob.is_none() && self.live {
            // Judged now, step 0 would convict a sender that cannot have sent yet (round 2
            // opens only when round 1 is complete). A missing share is asked for again in the
            // hall; a guardian who never sends it is left out by a restart (§8.1, §8.4).
            return Err(conflict(
                s,
                format!(
                    "the share from guardian {} to {} is not on the board: ask for it in the hall; the secretariat restarts without a guardian who does not send it",
                    c.from, c.to
                ),
            ));
        }
        let verdict = judge(&a.cc, &c, blob, &recipient.1, &sender.2);
        self.current_mut().complaints.push((c, verdict));
        Ok(Accepted::New)
    }

    fn accept_announce(
        &mut self,
        id: &[u8; 32],
        g: u64,
        sig: [u8; 64],
    ) -> Result<Accepted, BoardError> {
        let a = self.current();
        let s = Some(g);
        if let Some(old) = a.announced.get(&g) {
            return if *old == sig {
                Ok(Accepted::Duplicate)
            } else {
                Err(conflict(s, "already announced with a different signature"))
            };
        }
        let missing: Vec<u64> = a
            .participants
            .iter()
            .filter(|i| **i != g && !a.round2.contains_key(&(**i, g)))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(conflict(
                s,
                format!("shares to guardian {g} missing from {missing:?}"),
            ));
        }
        let msg = a
            .announcement()
            .ok_or_else(|| conflict(s, "round 1 is not complete"))?;
        credential::verify_field(id, &msg, &sig, "key_announce.sig")
            .map_err(|e| refuse(s, 4, e.to_string()))?;
        self.current_mut().announced.insert(g, sig);
        Ok(Accepted::New)
    }

    fn accept_dry_run(&mut self, id: &[u8; 32], d: DryRun) -> Result<Accepted, BoardError> {
        let s = Some(d.guardian);
        let a = self.current();
        if !a.complete() {
            return Err(conflict(s, "the ceremony is not complete"));
        }
        if !d.vote_id.starts_with(DRY_RUN_PREFIX) || !valid_vote_id(&d.vote_id) {
            return Err(refuse(
                s,
                4,
                format!("dry_run.vote_id: `{}` is not dry-run-…", d.vote_id),
            ));
        }
        if let Some(old) = self
            .dry_runs
            .get(&d.vote_id)
            .and_then(|m| m.get(&d.guardian))
        {
            return if *old == d {
                Ok(Accepted::Duplicate)
            } else {
                Err(conflict(
                    s,
                    "already posted a different partial for this dry run",
                ))
            };
        }
        // Who started each dry run: one guardian cannot use up every slot (review I4).
        let started_by_me = self
            .dry_runs
            .values()
            .filter(|m| {
                m.values()
                    .next()
                    .is_some_and(|first| first.guardian == d.guardian)
                    && m.len() == 1
            })
            .count();
        if !self.dry_runs.contains_key(&d.vote_id) && started_by_me >= MAX_DRY_RUNS_WAITING {
            return Err(conflict(
                s,
                format!(
                    "guardian {} already has {MAX_DRY_RUNS_WAITING} dry runs nobody else joined",
                    d.guardian
                ),
            ));
        }
        if !self.dry_runs.contains_key(&d.vote_id) && self.dry_runs.len() >= MAX_DRY_RUNS {
            return Err(conflict(
                s,
                format!("at most {MAX_DRY_RUNS} dry runs per session"),
            ));
        }
        let st = dry_run_statement(&self.manifest, a, &d.vote_id, d.guardian)
            .ok_or_else(|| refuse(s, 4, "no joint key"))?;
        tally::verify_partial(
            &st.ctx,
            &st.z,
            &[st.ct],
            std::slice::from_ref(&d.share),
            "dry_run",
        )
        .map_err(|e| refuse(s, 4, e.to_string()))?;
        let msg = st.message(&d.share);
        credential::verify_field(id, &msg, &d.sig, "dry_run.sig")
            .map_err(|e| refuse(s, 4, e.to_string()))?;
        let vote_id = d.vote_id.clone();
        self.dry_runs
            .entry(vote_id.clone())
            .or_default()
            .insert(d.guardian, d);
        let check = self.check_dry_run(&vote_id);
        self.dry_run_checks.insert(vote_id, check);
        Ok(Accepted::New)
    }

    fn accept_restart(&mut self, attempt: u64, r: Restart) -> Result<Accepted, BoardError> {
        let a = self.current();
        if attempt != a.attempt + 1 {
            if attempt == a.attempt && a.participants == r.participants && a.reason == r.reason {
                return Ok(Accepted::Duplicate);
            }
            return Err(conflict(
                None,
                format!("restart.attempt must be {}", a.attempt + 1),
            ));
        }
        if a.complete() {
            return Err(conflict(
                None,
                format!("attempt {} is complete; no restart", a.attempt),
            ));
        }
        if attempt > MAX_ATTEMPTS {
            return Err(refuse(
                None,
                2,
                format!("restart: at most {MAX_ATTEMPTS} attempts"),
            ));
        }
        let p = &r.participants;
        if p.windows(2).any(|w| matches!(w, [x, y] if x >= y)) {
            return Err(refuse(
                None,
                2,
                "restart.participants: not strictly increasing",
            ));
        }
        let faulty = a.faulty();
        if let Some(bad) = p
            .iter()
            .find(|x| !a.participants.contains(x) || faulty.contains(x))
        {
            return Err(refuse(
                None,
                2,
                format!(
                    "restart.participants: guardian {bad} is not a participant of attempt {} or was found faulty",
                    a.attempt
                ),
            ));
        }
        if (p.len() as u64) < self.manifest.k {
            return Err(refuse(
                None,
                2,
                format!(
                    "restart.participants: {} guardians, fewer than k = {}",
                    p.len(),
                    self.manifest.k
                ),
            ));
        }
        if !a.complaints.is_empty() && faulty.is_empty() {
            return Err(refuse(None, 3, "complaints without a verdict"));
        }
        if r.reason.trim().is_empty() || r.reason.chars().count() > 2000 {
            return Err(refuse(
                None,
                2,
                "restart.reason: say why (1–2000 characters)",
            ));
        }
        let next = Self::attempt(&self.manifest, attempt, r.participants, r.reason);
        self.attempts.push(next);
        Ok(Accepted::New)
    }

    /// The last computed [`Board::check_dry_run`] of a dry run.
    pub fn dry_run_result(&self, vote_id: &str) -> Option<&Result<usize, String>> {
        self.dry_run_checks.get(vote_id)
    }

    /// Which k-subsets of a dry run's guardians combine to the test value (§8.5). Err names
    /// the first subset that does not; Ok lists how many were checked.
    pub fn check_dry_run(&self, vote_id: &str) -> Result<usize, String> {
        let a = self.current();
        let parts = self
            .dry_runs
            .get(vote_id)
            .ok_or("no partial decryptions yet")?;
        let key = a.joint_key().ok_or("no joint key")?;
        let key = JointKey::new(key, "joint_key").map_err(|e| e.to_string())?;
        let ct = dry_run_ciphertext(&a.cc, &key, vote_id).map_err(|e| e.to_string())?;
        let have: Vec<u64> = parts.keys().copied().collect();
        let k = usize::try_from(self.manifest.k).map_err(|e| e.to_string())?;
        let subsets = k_subsets(&have, k);
        if subsets.is_empty() {
            return Err(format!("{} partials, fewer than k = {k}", have.len()));
        }
        let want = mul_base(&Scalar::from(DRY_RUN_VALUE));
        for q in &subsets {
            let shares: Vec<Vec<PartialShare>> = q
                .iter()
                .filter_map(|g| parts.get(g).map(|d| vec![d.share]))
                .collect();
            let v = tally::combine(&[ct], q, &shares).map_err(|e| e.to_string())?;
            if v.first() != Some(&want) {
                return Err(format!("guardians {q:?} do not combine to the test value"));
            }
        }
        Ok(subsets.len())
    }

    /// The bundle's `ceremony` section (§10.1) once the current attempt is complete: the final
    /// attempt as in the vectors' tiny election, and `aborted[]` with every earlier attempt's
    /// messages, complaints and verdicts.
    pub fn bundle_json(&self) -> Option<Value> {
        let a = self.current();
        if !a.complete() {
            return None;
        }
        let (round2, round2_sigs) = a.round2_json();
        let aborted: Vec<Value> = self
            .attempts
            .iter()
            .take(self.attempts.len() - 1)
            .zip(self.attempts.iter().skip(1))
            .map(|(x, next)| {
                let (r2, r2s) = x.round2_json();
                json!({
                    "attempt": x.attempt,
                    "participants": x.participants,
                    "round1": x.round1.values().map(|r| r.0.to_json()).collect::<Vec<_>>(),
                    "round2": r2,
                    "round2_sigs": r2s,
                    "key_sigs": x.key_sigs_json(),
                    "complaints": x.complaints.iter().map(|c| c.0.to_json()).collect::<Vec<_>>(),
                    "verdicts": x.complaints.iter().map(|c| c.1.to_json()).collect::<Vec<_>>(),
                    "reason": next.reason,
                })
            })
            .collect();
        Some(json!({
            "round1": a.round1.values().map(|r| r.0.to_json()).collect::<Vec<_>>(),
            "round2": round2,
            "round2_sigs": round2_sigs,
            "complaints": [],
            "key_sigs": a.key_sigs_json(),
            "attempt": a.attempt,
            "participants": a.participants,
            "aborted": aborted,
        }))
    }
}

/// Replays a bundle's `aborted[]` records (V2, V3): each attempt's messages are accepted in
/// the order round 1, round 2, key announcements, complaints; the recorded verdicts must be
/// the recomputed ones; the next attempt (the following record, or the final attempt with
/// `final_participants`) must be a valid restart. Returns the failures as (check, message).
pub fn check_aborted(
    sm: &SessionManifest,
    aborted: &[Value],
    final_attempt: u64,
    final_participants: &[u64],
) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut board = Board::replaying(sm.clone());
    for (t, rec) in aborted.iter().enumerate() {
        let f = format!("ceremony.aborted[{t}]");
        let cur = board.current().attempt;
        if let Err(e) = replay_attempt(&mut board, rec, &f, &mut out) {
            out.push((2, format!("{f}: {e}")));
            return out;
        }
        let next_parts = match aborted.get(t + 1) {
            Some(n) => n
                .get("participants")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(Value::as_u64).collect::<Option<Vec<_>>>()),
            None => Some(final_participants.to_vec()),
        };
        let reason = rec
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let Some(participants) = next_parts else {
            out.push((
                2,
                format!("ceremony.aborted[{}].participants missing", t + 1),
            ));
            return out;
        };
        if let Err(e) = board.accept(
            cur + 1,
            Message::Restart(Restart {
                participants,
                reason,
            }),
        ) {
            out.push((
                e.check,
                format!("{f}: the next attempt is not a valid restart: {}", e.reason),
            ));
            return out;
        }
    }
    if board.current().attempt != final_attempt {
        out.push((
            2,
            format!(
                "final attempt {final_attempt}, but {} aborted attempt(s) lead to attempt {}",
                aborted.len(),
                board.current().attempt
            ),
        ));
    }
    out
}

fn replay_attempt(
    board: &mut Board,
    rec: &Value,
    f: &str,
    out: &mut Vec<(usize, String)>,
) -> Result<(), String> {
    let o = object(
        rec,
        f,
        &[
            "attempt",
            "participants",
            "round1",
            "round2",
            "round2_sigs",
            "key_sigs",
            "complaints",
            "verdicts",
            "reason",
        ],
    )
    .map_err(|e| e.to_string())?;
    let a = board.current().attempt;
    if o.get("attempt").and_then(Value::as_u64) != Some(a) {
        return Err(format!("attempt must be {a}"));
    }
    let parts: Vec<u64> = o
        .get("participants")
        .and_then(Value::as_array)
        .and_then(|v| v.iter().map(Value::as_u64).collect::<Option<Vec<_>>>())
        .ok_or("participants: not a list of indices")?;
    if parts != board.current().participants {
        return Err(format!(
            "participants {parts:?}, the board's attempt {a} has {:?}",
            board.current().participants
        ));
    }
    let mut post = |m: Message, out: &mut Vec<(usize, String)>| {
        if let Err(e) = board.accept(a, m) {
            out.push((e.check, format!("{f}: {e}")));
        }
    };
    for (n, r) in o
        .get("round1")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        match Round1::from_json(r, &format!("{f}.round1[{n}]")) {
            Ok(r) => post(Message::Round1(r), out),
            Err(e) => out.push((2, e.to_string())),
        }
    }
    let blobs = o
        .get("round2")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let sigs = o
        .get("round2_sigs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (i, m) in &blobs {
        for (l, b) in m.as_object().cloned().unwrap_or_default() {
            let sig = sigs
                .get(i)
                .and_then(|s| s.get(&l))
                .and_then(Value::as_str)
                .unwrap_or("");
            let parsed = (|| -> Result<Round2> {
                Ok(Round2 {
                    from: index_key(i).ok_or_else(|| jerr("round2", format!("key `{i}`")))?,
                    to: index_key(&l).ok_or_else(|| jerr("round2", format!("key `{l}`")))?,
                    blob: hex::decode_exact(
                        b.as_str().unwrap_or(""),
                        BLOB_LEN,
                        &format!("{f}.round2.{i}.{l}"),
                    )?,
                    sig: hex::decode_array(sig, &format!("{f}.round2_sigs.{i}.{l}"))?,
                })
            })();
            match parsed {
                Ok(r) => post(Message::Round2(r), out),
                Err(e) => out.push((2, e.to_string())),
            }
        }
    }
    for (g, s) in o
        .get("key_sigs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
    {
        match (
            index_key(&g).ok_or(()),
            hex::decode_array::<64>(s.as_str().unwrap_or(""), &format!("{f}.key_sigs.{g}")),
        ) {
            (Ok(guardian), Ok(sig)) => post(Message::KeyAnnounce { guardian, sig }, out),
            (_, Err(e)) => out.push((4, e.to_string())),
            (Err(_), _) => out.push((4, format!("{f}.key_sigs: key `{g}`"))),
        }
    }
    let complaints = o
        .get("complaints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (n, c) in complaints.iter().enumerate() {
        match Complaint::from_json(c, &format!("{f}.complaints[{n}]")) {
            Ok(c) => post(Message::Complaint(c), out),
            Err(e) => out.push((3, e.to_string())),
        }
    }
    let recomputed: Vec<Value> = board
        .current()
        .complaints
        .iter()
        .map(|c| c.1.to_json())
        .collect();
    let recorded = o
        .get("verdicts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if recomputed != recorded {
        out.push((
            3,
            format!("{f}.verdicts: recorded {recorded:?}, recomputed {recomputed:?}"),
        ));
    }
    Ok(())
}

/// A JSON object key that is a canonical index ("2", not "+2" or "02").
fn index_key(k: &str) -> Option<u64> {
    k.parse::<u64>().ok().filter(|v| v.to_string() == k)
}

/// Every k-element subset of `items` (sorted input gives sorted subsets), at most 10,000.
pub fn k_subsets(items: &[u64], k: usize) -> Vec<Vec<u64>> {
    fn go(items: &[u64], k: usize, start: usize, cur: &mut Vec<u64>, out: &mut Vec<Vec<u64>>) {
        if out.len() >= 10_000 {
            return;
        }
        if cur.len() == k {
            out.push(cur.clone());
            return;
        }
        for i in start..items.len() {
            if let Some(x) = items.get(i) {
                cur.push(*x);
                go(items, k, i + 1, cur, out);
                cur.pop();
            }
        }
    }
    let mut out = Vec::new();
    if k > 0 && k <= items.len() {
        go(items, k, 0, &mut Vec::new(), &mut out);
    }
    out
}

/// What a dry-run partial proves and signs, for guardian ℓ.
struct DryRunStatement {
    ctx: Ctx,
    z: Element,
    ct: Ciphertext,
    cc: Ctx,
    vote_id: String,
    list: [u8; 32],
}

impl DryRunStatement {
    fn message(&self, share: &PartialShare) -> Vec<u8> {
        let mut sh = Vec::with_capacity(96);
        sh.extend_from_slice(share.m.as_bytes());
        sh.extend_from_slice(&share.proof.to_bytes());
        transcript::decryption_message(
            &self.cc,
            &self.vote_id,
            &self.list,
            0,
            &self.ct.to_bytes(),
            &sh,
        )
    }
}

fn dry_run_statement(
    sm: &SessionManifest,
    a: &Attempt,
    vote_id: &str,
    l: u64,
) -> Option<DryRunStatement> {
    let k = a.joint_key()?;
    let key = JointKey::new(k, "joint_key").ok()?;
    let ct = dry_run_ciphertext(&a.cc, &key, vote_id).ok()?;
    let z = a.verification_key(l)?;
    let list = dry_run_list(&ct);
    let ctx = transcript::decrypt_ctx(&transcript::DecryptCtxFields {
        manifest: sm.hash(),
        vote: vote_id,
        vote_manifest: &[0u8; 32],
        pk: k.as_bytes(),
        ceremony: &a.cc,
        list: &list,
        n: 0,
        guardian: l,
        z: z.as_bytes(),
    });
    Some(DryRunStatement {
        ctx,
        z,
        ct,
        cc: a.cc,
        vote_id: vote_id.to_owned(),
        list,
    })
}

// ------------------------------------------------------------------------------ a guardian

/// A ScalarSource over the system CSPRNG, for a real guardian.
#[derive(Debug, Default)]
pub struct SystemSource;

impl ScalarSource for SystemSource {
    fn next_scalar(&mut self) -> Result<Zeroizing<Scalar>> {
        random_scalar()
    }
}

/// A guardian's round-1 secrets: d_i and its polynomial's coefficients. Zeroized on drop,
/// never printed.
pub struct Round1Secrets {
    d: Zeroizing<Scalar>,
    coeffs: Vec<Zeroizing<Scalar>>,
}

impl core::fmt::Debug for Round1Secrets {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Round1Secrets").finish_non_exhaustive()
    }
}

impl Round1Secrets {
    /// d ‖ a_0 ‖ … ‖ a_{k−1}, for encrypted storage.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(32 * (1 + self.coeffs.len())));
        out.extend_from_slice(self.d.as_bytes());
        for a in &self.coeffs {
            out.extend_from_slice(a.as_bytes());
        }
        out
    }

    /// The inverse of [`Round1Secrets::to_bytes`]; every scalar canonical.
    pub fn from_bytes(b: &[u8]) -> Result<Round1Secrets> {
        if b.len() < 64 || !b.len().is_multiple_of(32) {
            return Err(jerr("secrets", "not d ‖ coefficients"));
        }
        let mut scalars = b
            .chunks(32)
            .enumerate()
            .map(|(i, c)| decode_scalar(c, &format!("secrets[{i}]")).map(Zeroizing::new))
            .collect::<Result<Vec<_>>>()?;
        let d = scalars.remove(0);
        Ok(Round1Secrets { d, coeffs: scalars })
    }

    /// P(x).
    fn eval(&self, x: u64) -> Zeroizing<Scalar> {
        let mut acc = Zeroizing::new(Scalar::ZERO);
        let xs = Scalar::from(x);
        for a in self.coeffs.iter().rev() {
            *acc = *acc * xs + **a;
        }
        acc
    }
}

/// Round 1 for guardian `index` (§8.2), drawing d, a_0..a_{k−1}, the transport nonce, then
/// the coefficient nonces.
pub fn make_round1(
    cc: &Ctx,
    index: u64,
    k: u64,
    identity: &SigningIdentity,
    rng: &mut dyn ScalarSource,
) -> Result<(Round1, Round1Secrets)> {
    let d = rng.next_scalar()?;
    let mut coeffs = Vec::new();
    for _ in 0..k {
        coeffs.push(rng.next_scalar()?);
    }
    let tk = Element::from_point(mul_base(&d));
    let ks: Vec<Element> = coeffs
        .iter()
        .map(|a| Element::from_point(mul_base(a)))
        .collect();
    let tpok = proofs::schnorr_prove(cc, ProofLabel::Transport, index, &tk, &d, rng)?;
    let mut poks = Vec::new();
    for (j, (kj, aj)) in ks.iter().zip(coeffs.iter()).enumerate() {
        let li = index
            .checked_mul(256)
            .and_then(|x| x.checked_add(j as u64))
            .ok_or_else(|| jerr("index", "too large"))?;
        poks.push(proofs::schnorr_prove(cc, ProofLabel::Coeff, li, kj, aj, rng)?.to_bytes());
    }
    let mut r = Round1 {
        index,
        transport_key: tk.to_bytes(),
        transport_pok: tpok.to_bytes(),
        commitments: ks.iter().map(Element::to_bytes).collect(),
        coeff_poks: poks,
        sig: [0u8; 64],
    };
    r.sig = identity.sign(&r.message(cc));
    Ok((r, Round1Secrets { d, coeffs }))
}

/// Round 2 for guardian `from` (§8.3): one blob per other participant, recipients in
/// increasing order, one draw (e) each. Needs every participant's round-1 message.
pub fn make_round2(
    a: &Attempt,
    from: u64,
    secrets: &Round1Secrets,
    identity: &SigningIdentity,
    rng: &mut dyn ScalarSource,
) -> Result<Vec<Round2>> {
    let mut out = Vec::new();
    for &l in a.participants.iter().filter(|l| **l != from) {
        let d_l = &a
            .round1
            .get(&l)
            .ok_or_else(|| {
                jerr(
                    "round1",
                    format!("guardian {l}'s round-1 message is missing"),
                )
            })?
            .1;
        let e = rng.next_scalar()?;
        let share = secrets.eval(l);
        let blob = transport::seal_share(&a.cc, from, l, d_l, &e, &share)?;
        let sig = identity.sign(&transcript::dkg_round2_message(&a.cc, from, l, &blob));
        out.push(Round2 {
            from,
            to: l,
            blob: blob.to_vec(),
            sig,
        });
    }
    Ok(out)
}

/// Round 3 for guardian `me` (§8.4): decrypts and checks every share sent to it. Ok is z_ℓ
/// (checked: z_ℓ·G = Z_ℓ); Err lists the senders to complain about, with why.
pub fn finish(
    a: &Attempt,
    me: u64,
    secrets: &Round1Secrets,
) -> core::result::Result<Zeroizing<Scalar>, Vec<(u64, String)>> {
    let mut bad = Vec::new();
    let mut z = secrets.eval(me);
    let Some((_, d_pub, _)) = a.round1.get(&me) else {
        return Err(vec![(
            me,
            "my own round-1 message is not on the board".into(),
        )]);
    };
    for &i in a.participants.iter().filter(|i| **i != me) {
        let Some((_, _, ks)) = a.round1.get(&i) else {
            bad.push((i, "no round-1 message".into()));
            continue;
        };
        let Some(r) = a.round2.get(&(i, me)) else {
            bad.push((i, "no share for me".into()));
            continue;
        };
        match transport::open_share(&a.cc, i, me, &secrets.d, d_pub, &r.blob) {
            Err(e) => bad.push((i, e.to_string())),
            Ok(s) if !share_matches(&s, me, ks) => bad.push((
                i,
                "the share does not match the sender's commitments".into(),
            )),
            Ok(s) => *z += *s,
        }
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    match a.verification_key(me) {
        Some(zp) if zp.point() == &mul_base(&z) => Ok(z),
        _ => Err(vec![(me, "z·G is not Z for my index".into())]),
    }
}

/// A complaint by `me` about `from`'s share (§8.4), signed with `identity`.
pub fn make_complaint(
    a: &Attempt,
    from: u64,
    me: u64,
    secrets: &Round1Secrets,
    identity: &SigningIdentity,
    rng: &mut dyn ScalarSource,
) -> Result<Complaint> {
    let d_pub = a
        .round1
        .get(&me)
        .map(|r| r.1)
        .ok_or_else(|| jerr("round1", "my own round-1 message is missing"))?;
    let blob = a.round2.get(&(from, me)).map(|r| r.blob.as_slice());
    let (shared, proof) = match blob
        .filter(|b| b.len() == BLOB_LEN)
        .and_then(|b| Element::decode_non_identity(b.get(..32)?, "E").ok())
    {
        // Missing or malformed: S and the proof are not looked at (step 0).
        None => ([0u8; 32], [0u8; 64]),
        Some(big_e) => {
            let s = Element::from_point(*secrets.d * big_e.point());
            let ctx = transcript::complaint_ctx(&a.cc, from, me);
            let p = proofs::dleq_prove(
                &DleqStatement {
                    ctx: &ctx,
                    label: ProofLabel::Complaint,
                    index: 0,
                    g: &Element::generator(),
                    h: &big_e,
                    x: &d_pub,
                    y: &s,
                },
                &secrets.d,
                rng,
            )?;
            (s.to_bytes(), p.to_bytes())
        }
    };
    let sig = identity.sign(&transcript::dkg_complaint_message(
        &a.cc, from, me, &shared, &proof,
    ));
    Ok(Complaint {
        from,
        to: me,
        shared,
        proof,
        sig,
    })
}

/// Guardian `me`'s partial decryption of dry run `vote_id` (§8.5) with its share z.
pub fn make_dry_run(
    board: &Board,
    vote_id: &str,
    me: u64,
    z: &Scalar,
    identity: &SigningIdentity,
    rng: &mut dyn ScalarSource,
) -> Result<DryRun> {
    let st = dry_run_statement(board.manifest(), board.current(), vote_id, me)
        .ok_or_else(|| jerr("ceremony", "not complete: no joint key"))?;
    let share = tally::partial_decrypt(&st.ctx, z, &st.z, &[st.ct], rng)?
        .into_iter()
        .next()
        .ok_or_else(|| jerr("dry_run", "no share"))?;
    let sig = identity.sign(&st.message(&share));
    Ok(DryRun {
        vote_id: vote_id.to_owned(),
        guardian: me,
        share,
        sig,
    })
}

/// A scalar as hex (for a guardian's encrypted state file).
pub fn secret_hex(s: &Scalar) -> Zeroizing<String> {
    Zeroizing::new(scalar_hex(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::e2e::drbg::{TestDrbg, test_key_seed};
    use crate::e2e::manifest::SessionParams;

    const SEED: &[u8] = b"ceremony-tests";

    fn identity(i: u64) -> SigningIdentity {
        SigningIdentity::from_seed(&test_key_seed(SEED, "guardian", i))
    }

    fn manifest(n: u64, k: u64) -> SessionManifest {
        SessionParams {
            election_id: "ceremony-test".into(),
            radix: 4096,
            max_electorate: 100,
            guardian_ids: (1..=n).map(|i| identity(i).public_key()).collect(),
            k,
            credential_officer: identity(100).public_key(),
            appliance_key: identity(101).public_key(),
            booth_hash: [7u8; 32],
        }
        .build()
        .expect("manifest")
    }

    /// Runs rounds 1 and 2 of the current attempt for every participant; `tamper` may
    /// replace a blob before it is posted. Returns each guardian's secrets.
    fn rounds_1_2(
        board: &mut Board,
        rng: &mut TestDrbg,
        tamper: &dyn Fn(&mut Round2),
    ) -> BTreeMap<u64, Round1Secrets> {
        let a = board.current().clone();
        let mut secrets = BTreeMap::new();
        for &i in &a.participants {
            let (r1, s) = make_round1(&a.cc, i, board.manifest().k, &identity(i), rng).expect("r1");
            assert_eq!(
                board.accept(a.attempt, Message::Round1(r1)),
                Ok(Accepted::New)
            );
            secrets.insert(i, s);
        }
        for (&i, s) in &secrets {
            let cur = board.current().clone();
            for mut r2 in make_round2(&cur, i, s, &identity(i), rng).expect("r2") {
                tamper(&mut r2);
                board
                    .accept(a.attempt, Message::Round2(r2))
                    .expect("round2 accepted");
            }
        }
        secrets
    }

    fn announce_all(
        board: &mut Board,
        secrets: &BTreeMap<u64, Round1Secrets>,
    ) -> BTreeMap<u64, Zeroizing<Scalar>> {
        let a = board.current().clone();
        let mut zs = BTreeMap::new();
        for (&i, s) in secrets {
            let z = finish(&a, i, s).expect("shares check");
            let sig = identity(i).sign(&a.announcement().expect("announcement"));
            board
                .accept(a.attempt, Message::KeyAnnounce { guardian: i, sig })
                .expect("announce");
            zs.insert(i, z);
        }
        zs
    }

    /// Re-signs a tampered blob as its sender would (a malicious guardian signs what it sends).
    fn resign(r: &mut Round2, cc: &Ctx) {
        r.sig = identity(r.from).sign(&transcript::dkg_round2_message(cc, r.from, r.to, &r.blob));
    }

    #[test]
    fn an_honest_ceremony_of_five_completes_and_every_three_decrypt_the_dry_run() {
        let mut board = Board::new(manifest(5, 3));
        let mut rng = TestDrbg::new(b"honest");
        let secrets = rounds_1_2(&mut board, &mut rng, &|_| {});
        let zs = announce_all(&mut board, &secrets);
        assert!(board.current().complete());
        assert!(board.joint_key().is_some());
        let fp = board.current().fingerprint().expect("fingerprint");
        assert_eq!(fp.len(), 19, "{fp}");
        for (&i, z) in &zs {
            let d =
                make_dry_run(&board, "dry-run-1", i, z, &identity(i), &mut rng).expect("dry run");
            board
                .accept(1, Message::DryRun(d))
                .expect("dry run accepted");
        }
        assert_eq!(board.check_dry_run("dry-run-1"), Ok(10));
        let bundle = board.bundle_json().expect("complete");
        assert_eq!(bundle["attempt"], 1);
        assert!(check_aborted(board.manifest(), &[], 1, &[1, 2, 3, 4, 5]).is_empty());
    }

    #[test]
    fn the_fuzz_seed_is_a_complete_ceremony() {
        let seed = crate::e2e::fuzz_board_seed();
        let text = String::from_utf8(seed.clone()).expect("utf8");
        assert_eq!(text.lines().count(), 3 + 6 + 3);
        crate::e2e::fuzz_board(&seed);
        let mut board = Board::new(crate::e2e::fuzz_board_manifest().expect("manifest"));
        for line in text.lines() {
            let (a, m) = Message::parse(line.as_bytes()).expect("parse");
            board.accept(a, m).expect("accepted");
        }
        assert!(board.current().complete());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus/e2e_board/ceremony");
        if std::env::var_os("WRITE_FUZZ_SEED").is_some() {
            std::fs::write(&path, &seed).expect("write the corpus seed");
        }
    }

    #[test]
    fn one_guardian_cannot_use_up_the_dry_run_slots() {
        // Review I4: 64 dry runs started by one guardian would have blocked every later day's.
        let mut board = Board::new(manifest(3, 2));
        let mut rng = TestDrbg::new(b"slots");
        let secrets = rounds_1_2(&mut board, &mut rng, &|_| {});
        let zs = announce_all(&mut board, &secrets);
        let z1 = zs.get(&1).expect("z1");
        for day in 0..MAX_DRY_RUNS_WAITING {
            let d = make_dry_run(
                &board,
                &format!("dry-run-{day}"),
                1,
                z1,
                &identity(1),
                &mut rng,
            )
            .expect("dry run");
            board.accept(1, Message::DryRun(d)).expect("accepted");
        }
        let d = make_dry_run(&board, "dry-run-x", 1, z1, &identity(1), &mut rng).expect("dry run");
        let e = board.accept(1, Message::DryRun(d)).expect_err("refused");
        assert!(e.conflict, "{e}");
        // Another guardian joining one frees a slot; another guardian may start its own.
        let z2 = zs.get(&2).expect("z2");
        let d = make_dry_run(&board, "dry-run-0", 2, z2, &identity(2), &mut rng).expect("dry run");
        board.accept(1, Message::DryRun(d)).expect("joined");
        assert_eq!(board.dry_run_result("dry-run-0"), Some(&Ok(1)));
        let d = make_dry_run(&board, "dry-run-x", 1, z1, &identity(1), &mut rng).expect("dry run");
        board
            .accept(1, Message::DryRun(d))
            .expect("a slot is free again");
    }

    #[test]
    fn a_bad_share_is_complained_about_judged_against_its_sender_and_the_restart_excludes_it() {
        let sm = manifest(5, 3);
        let mut board = Board::new(sm.clone());
        let mut rng = TestDrbg::new(b"bad-share");
        let cc = board.current().cc;
        let secrets = rounds_1_2(&mut board, &mut rng, &|_| {});
        // Guardian 2 sends guardian 3 a correctly encrypted, signed share of the wrong value
        // (rebuilt on a fresh board, as if it had been posted so).
        let a = board.current().clone();
        let d3 = a.round1.get(&3).expect("r1").1;
        let bad = transport::seal_share(&cc, 2, 3, &d3, &Scalar::from(5u64), &Scalar::from(42u64))
            .expect("seal");
        let mut board2 = Board::new(sm.clone());
        for r in a.round1.values() {
            board2.accept(1, Message::Round1(r.0.clone())).expect("r1");
        }
        for r in a.round2.values() {
            let mut r = r.clone();
            if (r.from, r.to) == (2, 3) {
                r.blob = bad.to_vec();
                resign(&mut r, &cc);
            }
            board2.accept(1, Message::Round2(r)).expect("r2");
        }
        let a2 = board2.current().clone();
        let complaints =
            finish(&a2, 3, secrets.get(&3).expect("s3")).expect_err("3 finds the bad share");
        assert_eq!(complaints.iter().map(|c| c.0).collect::<Vec<_>>(), vec![2]);
        let c = make_complaint(
            &a2,
            2,
            3,
            secrets.get(&3).expect("s3"),
            &identity(3),
            &mut rng,
        )
        .expect("complaint");
        board2
            .accept(1, Message::Complaint(c))
            .expect("complaint accepted");
        let v = &board2.current().complaints[0].1;
        assert_eq!(v.faulty, 2, "{v:?}");
        // Nothing else is taken for the aborted attempt.
        let sig = identity(1).sign(&a2.announcement().expect("ann"));
        assert!(
            board2
                .accept(1, Message::KeyAnnounce { guardian: 1, sig })
                .expect_err("over")
                .conflict
        );
        let restart = board2.restart_after_complaints().expect("restart");
        assert_eq!(restart.participants, vec![1, 3, 4, 5]);
        // Guardian 2 cannot be put back.
        let sneaky = Restart {
            participants: vec![1, 2, 3, 4, 5],
            reason: "x".into(),
        };
        assert!(board2.accept(2, Message::Restart(sneaky)).is_err());
        board2
            .accept(2, Message::Restart(restart))
            .expect("restart");
        let secrets = rounds_1_2(&mut board2, &mut rng, &|_| {});
        announce_all(&mut board2, &secrets);
        let bundle = board2.bundle_json().expect("complete");
        assert_eq!(bundle["attempt"], 2);
        assert_eq!(bundle["participants"], json!([1, 3, 4, 5]));
        let aborted = bundle["aborted"].as_array().expect("aborted").clone();
        assert_eq!(aborted.len(), 1);
        assert!(check_aborted(&sm, &aborted, 2, &[1, 3, 4, 5]).is_empty());
        // A recorded verdict that blames the complainer is caught.
        let mut forged = aborted.clone();
        forged[0]["verdicts"][0]["faulty"] = json!(3);
        assert!(
            check_aborted(&sm, &forged, 2, &[1, 3, 4, 5])
                .iter()
                .any(|(c, m)| *c == 3 && m.contains("verdicts"))
        );
        // A final attempt that keeps the faulty guardian is caught.
        assert!(!check_aborted(&sm, &aborted, 2, &[1, 2, 3, 4]).is_empty());
        // So is a dropped aborted record.
        assert!(!check_aborted(&sm, &[], 2, &[1, 3, 4, 5]).is_empty());
    }

    fn honest_attempt() -> (Board, BTreeMap<u64, Round1Secrets>, TestDrbg) {
        let mut board = Board::new(manifest(3, 2));
        let mut rng = TestDrbg::new(b"judge");
        let s = rounds_1_2(&mut board, &mut rng, &|_| {});
        (board, s, rng)
    }

    #[test]
    fn a_complaint_about_a_valid_share_finds_the_complainer_faulty() {
        let (mut board, s, mut rng) = honest_attempt();
        let a = board.current().clone();
        let c = make_complaint(&a, 1, 2, s.get(&2).expect("s"), &identity(2), &mut rng).expect("c");
        board.accept(1, Message::Complaint(c)).expect("accepted");
        assert_eq!(board.current().complaints[0].1.faulty, 2);
    }

    #[test]
    fn a_complaint_whose_dleq_fails_finds_the_complainer_faulty() {
        let (mut board, s, mut rng) = honest_attempt();
        let a = board.current().clone();
        let mut c =
            make_complaint(&a, 1, 2, s.get(&2).expect("s"), &identity(2), &mut rng).expect("c");
        c.shared = Element::generator().to_bytes();
        c.sig = identity(2).sign(&transcript::dkg_complaint_message(
            &a.cc, 1, 2, &c.shared, &c.proof,
        ));
        board.accept(1, Message::Complaint(c)).expect("accepted");
        let v = &board.current().complaints[0].1;
        assert_eq!(
            (v.faulty, v.reason),
            (2, "DLEQ of S fails: complainer faulty")
        );
    }

    #[test]
    fn a_complaint_about_a_share_not_yet_sent_is_refused_live_and_judged_on_replay() {
        // Review C1: judged at once, step 0 convicted an honest sender who could not have
        // sent yet (round 2 opens only after round 1), so one guardian could exclude any other.
        let sm = manifest(3, 2);
        let mut live = Board::new(sm.clone());
        let mut replay = Board::replaying(sm);
        let mut rng = TestDrbg::new(b"missing");
        let a = live.current().clone();
        let mut secrets = BTreeMap::new();
        for i in 1..=3 {
            let (r1, s) = make_round1(&a.cc, i, 2, &identity(i), &mut rng).expect("r1");
            live.accept(1, Message::Round1(r1.clone())).expect("r1");
            replay.accept(1, Message::Round1(r1)).expect("r1");
            secrets.insert(i, s);
        }
        let a = live.current().clone();
        let c = make_complaint(
            &a,
            1,
            2,
            secrets.get(&2).expect("s"),
            &identity(2),
            &mut rng,
        )
        .expect("c");
        assert_eq!(c.shared, [0u8; 32]);
        let e = live
            .accept(1, Message::Complaint(c.clone()))
            .expect_err("refused");
        assert!(e.conflict && e.reason.contains("not on the board"), "{e}");
        assert!(live.current().complaints.is_empty());
        // A recorded ceremony (another implementation's) is judged by the letter of §8.4.
        replay.accept(1, Message::Complaint(c)).expect("accepted");
        assert_eq!(replay.current().complaints[0].1.faulty, 1);
    }

    #[test]
    fn the_relay_cannot_forge_a_complaint_or_a_share() {
        let (mut board, s, mut rng) = honest_attempt();
        let a = board.current().clone();
        // Signed by guardian 1's key in guardian 2's name.
        let mut c =
            make_complaint(&a, 3, 2, s.get(&2).expect("s"), &identity(2), &mut rng).expect("c");
        c.sig = identity(1).sign(&transcript::dkg_complaint_message(
            &a.cc, 3, 2, &c.shared, &c.proof,
        ));
        let e = board.accept(1, Message::Complaint(c)).expect_err("forged");
        assert_eq!((e.sender, e.check), (Some(2), 2));
        assert!(e.to_string().contains("complaint.sig"), "{e}");
        // A round-1 message of another attempt does not verify in this one.
        let other = transcript::ceremony_ctx(
            board.manifest().hash(),
            2,
            2,
            &board.manifest().guardian_ids,
            &[1, 2, 3],
        );
        let (r1, _) = make_round1(&other, 1, 2, &identity(1), &mut rng).expect("r1");
        let mut fresh = Board::new(manifest(3, 2));
        assert!(fresh.accept(1, Message::Round1(r1)).is_err());
    }

    #[test]
    fn messages_round_trip_and_unknown_fields_are_refused() {
        let (board, _, _) = honest_attempt();
        let a = board.current();
        for r in a.round1.values() {
            let m = Message::Round1(r.0.clone());
            let bytes = serde_json::to_vec(&m.to_json(1)).expect("json");
            assert_eq!(Message::parse(&bytes).expect("parse"), (1, m));
        }
        for r in a.round2.values() {
            let m = Message::Round2(r.clone());
            let mut v = m.to_json(1);
            assert_eq!(Message::from_json(&v).expect("parse"), (1, m));
            v["message"]["extra"] = json!(1);
            assert!(Message::from_json(&v).is_err());
        }
        assert!(Message::parse(b"{\"attempt\":1,\"kind\":\"nope\",\"message\":{}}").is_err());
        assert!(Message::parse(&vec![b' '; MAX_MESSAGE_BYTES + 1]).is_err());
    }
}
