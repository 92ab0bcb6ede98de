//! The `piaojue-e2e-v2` result bundle (§10): strict parser and the verifier checks V1–V16
//! of §10.2, each reported by name with every failure it found.
//!
//! Parsing ([`Bundle::parse`]) checks the JSON layout of the vectors' `tiny_election.bundle`
//! (extra top-level keys allowed, unknown keys elsewhere rejected), integer types and strict
//! lowercase hex of the exact length (§2.4). Points and scalars are decoded canonically
//! (§2.2, §2.3) inside the check that uses them, so a bad encoding is reported under that
//! check's name. [`verify`] runs every check and never stops at the first failure; a check
//! that cannot run because what it needs failed elsewhere fails with a reason naming that
//! check. Nothing here panics on input. Ballot verification (V5) runs on all cores
//! (`std::thread::scope`).
//!
//! The report type is the plain-bundle verifier's ([`crate::bundle::Report`]), so the command
//! line prints both the same way.

use std::collections::{BTreeMap, HashSet};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use super::ballot::{self, Ballot, VoteContext};
use super::credential;
use super::elgamal::{Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::Element;
use super::hex;
use super::manifest::{SessionManifest, VoteManifest};
use super::proofs::{self, Cz};
use super::tally::{self, PartialShare};
use super::transcript::{self, Ctx, ProofLabel};
use crate::bundle::{Check, MAX_BUNDLE_BYTES, Report};

/// Envelope format of a signed v2 bundle: `{"format", "body": base64(bare JSON), "signatures"}`.
pub const ENVELOPE_FORMAT: &str = "piaojue-bundle/2";

/// Names of the checks, in report order.
pub const CHECK_NAMES: [&str; 16] = [
    "V1", "V2", "V3", "V4", "V5", "V6", "V7", "V8", "V9", "V10", "V11", "V12", "V13", "V14", "V15",
    "V16",
];

/// What the verifier is told besides the bundle.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The appliance key the caller pinned; must equal the manifest's `appliance_key` (V14).
    pub appliance_key: Option<[u8; 32]>,
    /// Or its fingerprint (SHA-256 of the key) as printed; must be the manifest key's (V14).
    pub appliance_fingerprint: Option<[u8; 32]>,
    /// Deputies present (出席) as announced in the hall: V15's procedural comparison.
    pub hall_present: Option<u64>,
    /// The session's previous bundle (v1 or v2 envelope), to check the chain.
    pub previous: Option<Vec<u8>>,
}

// ------------------------------------------------------------------------------ JSON layout

#[derive(Deserialize)]
struct BundleJ {
    manifest_hex: String,
    manifest_hash: String,
    ceremony: CeremonyJ,
    joint_key: String,
    votes: Vec<VoteJ>,
    /// The appliance's declaration that the vote failed (a result key, docs/e2e.md).
    #[serde(default)]
    failed: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CeremonyJ {
    round1: Vec<Round1J>,
    round2: BTreeMap<String, BTreeMap<String, String>>,
    round2_sigs: BTreeMap<String, BTreeMap<String, String>>,
    complaints: Vec<Value>,
    key_sigs: BTreeMap<String, String>,
    attempt: u64,
    participants: Vec<u64>,
    aborted: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Round1J {
    index: u64,
    transport_key: String,
    transport_pok: [String; 2],
    commitments: Vec<String>,
    coeff_poks: Vec<[String; 2]>,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteJ {
    vote_id: String,
    vote_manifest_hex: String,
    roll_call: RollCallJ,
    ballots: Vec<BallotJ>,
    list_hash: String,
    close_sig: String,
    spoiled: Vec<SpoiledJ>,
    rejected: Vec<RejectedJ>,
    /// Present; `null` only for a vote the secretariat declared failed (docs/e2e.md).
    #[serde(deserialize_with = "nullable")]
    result: Option<ResultJ>,
}

/// A key that must be present but may be `null`.
fn nullable<'de, D, T>(d: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RollCallJ {
    credentials: Vec<String>,
    cast_count: u64,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemJ {
    #[serde(rename = "A")]
    a: String,
    #[serde(rename = "B")]
    b: String,
    proof: Vec<[String; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeJ {
    bits: Vec<ItemJ>,
    link: [String; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BallotJ {
    vote_id: String,
    #[serde(rename = "type")]
    vote_type: String,
    cred_pk: String,
    items: Vec<ItemJ>,
    range: Option<RangeJ>,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpoiledJ {
    tracker: String,
    items: Vec<[String; 2]>,
    bits: Vec<[String; 2]>,
    choices: Vec<u64>,
    r: Vec<String>,
    s: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectedJ {
    reason: String,
    ballot: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TotalJ {
    #[serde(rename = "A")]
    a: String,
    #[serde(rename = "B")]
    b: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareJ {
    #[serde(rename = "M")]
    m: String,
    proof: [String; 2],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialJ {
    guardian: u64,
    shares: Vec<ShareJ>,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResultJ {
    totals: Vec<TotalJ>,
    partials: Vec<PartialJ>,
    quorum: Vec<u64>,
    plaintext_totals: Vec<u64>,
    counts: Vec<Vec<u64>>,
}

// ------------------------------------------------------------------------------ parsed form

pub use super::ceremony::Round1;

/// The key ceremony (final attempt).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ceremony {
    /// Round-1 messages in bundle order.
    pub round1: Vec<Round1>,
    /// Round-2 blobs: sender → recipient → blob (any length; V3 requires 80).
    pub round2: BTreeMap<u64, BTreeMap<u64, Vec<u8>>>,
    /// Round-2 signatures: sender → recipient → signature.
    pub round2_sigs: BTreeMap<u64, BTreeMap<u64, [u8; 64]>>,
    /// Number of complaints of the final attempt (must be 0).
    pub complaints: usize,
    /// Key-announcement signatures by participant.
    pub key_sigs: BTreeMap<u64, [u8; 64]>,
    /// Attempt number.
    pub attempt: u64,
    /// Participants of the final attempt.
    pub participants: Vec<u64>,
    /// The aborted attempts' records, replayed by [`super::ceremony::check_aborted`].
    pub aborted: Vec<Value>,
}

/// One encrypted item or bit as received: A, B and its (c, z) pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawItem {
    /// A‖B.
    pub ct: [u8; 64],
    /// c‖z per branch.
    pub proof: Vec<[u8; 64]>,
}

/// A ballot's JSON view with strict hex decoded but no point or scalar decoded yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawBallot {
    /// vote_id written in the ballot.
    pub vote_id: String,
    /// type written in the ballot.
    pub vote_type: String,
    /// Credential public key.
    pub cred_pk: [u8; 32],
    /// Items.
    pub items: Vec<RawItem>,
    /// Range bits and link c‖z, if present.
    pub range: Option<(Vec<RawItem>, [u8; 64])>,
    /// Signature.
    pub sig: [u8; 64],
}

impl RawBallot {
    fn bits(&self) -> &[RawItem] {
        self.range.as_ref().map_or(&[], |r| r.0.as_slice())
    }

    fn ciphertext_bytes(&self) -> Vec<u8> {
        self.items
            .iter()
            .chain(self.bits())
            .flat_map(|i| i.ct)
            .collect()
    }

    fn proof_bytes(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self
            .items
            .iter()
            .chain(self.bits())
            .flat_map(|i| i.proof.iter().flatten().copied())
            .collect();
        if let Some((_, link)) = &self.range {
            out.extend_from_slice(link);
        }
        out
    }

    /// The tracker (§7.3), computed from the received bytes (no decoding needed).
    pub fn tracker(&self, manifest_hash: &[u8; 32], vote_id: &str) -> [u8; 32] {
        transcript::tracker(
            manifest_hash,
            &transcript::ballot_bytes(
                vote_id,
                &self.cred_pk,
                &self.ciphertext_bytes(),
                &self.proof_bytes(),
            ),
        )
    }

    /// §7.6 steps 1–2: shape against the vote manifest, then canonical decoding.
    pub fn decode(&self, vm: &VoteManifest) -> Result<Ballot> {
        let shape = vm.shape();
        let bad = |field: &str, reason: String| E2eError::Shape {
            field: field.to_owned(),
            reason,
        };
        if self.vote_id != vm.vote_id {
            return Err(bad("ballot.vote_id", "does not match the vote".into()));
        }
        if self.vote_type != shape.vote_type().as_str() {
            return Err(bad(
                "ballot.type",
                "does not match the vote manifest".into(),
            ));
        }
        if self.items.len() != shape.m() {
            return Err(bad(
                "ballot.items",
                format!("expected {} items, got {}", shape.m(), self.items.len()),
            ));
        }
        for (i, it) in self.items.iter().enumerate() {
            if it.proof.len() != shape.l() {
                return Err(bad(
                    &format!("ballot.items[{i}].proof"),
                    format!("expected {} branches, got {}", shape.l(), it.proof.len()),
                ));
            }
        }
        let nb = shape.nbits();
        match &self.range {
            None if nb > 0 => {
                return Err(bad("ballot.range", "required range proof missing".into()));
            }
            Some(_) if nb == 0 => {
                return Err(bad("ballot.range", "range proof not allowed here".into()));
            }
            Some((bits, _)) => {
                if bits.len() != nb {
                    return Err(bad(
                        "ballot.range.bits",
                        format!("expected {nb} bits, got {}", bits.len()),
                    ));
                }
                for (k, b) in bits.iter().enumerate() {
                    if b.proof.len() != 2 {
                        return Err(bad(
                            &format!("ballot.range.bits[{k}].proof"),
                            "expected 2 branches".into(),
                        ));
                    }
                }
            }
            None => {}
        }
        let mut rec = Vec::with_capacity(shape.record_len());
        rec.extend_from_slice(&self.cred_pk);
        rec.extend_from_slice(&self.ciphertext_bytes());
        rec.extend_from_slice(&self.proof_bytes());
        rec.extend_from_slice(&self.sig);
        Ballot::from_record(&rec, shape)
    }
}

/// A Benaloh-spoiled record (§12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spoiled {
    /// The tracker shown before the audit.
    pub tracker: [u8; 32],
    /// Item ciphertexts A‖B.
    pub items: Vec<[u8; 64]>,
    /// Range-bit ciphertexts A‖B.
    pub bits: Vec<[u8; 64]>,
    /// Option index per item.
    pub choices: Vec<u64>,
    /// r_i.
    pub r: Vec<[u8; 32]>,
    /// s_j.
    pub s: Vec<[u8; 32]>,
}

/// A rejected ballot with its reason (§7.6, V16); the ballot is kept as JSON because an
/// `invalid` one may not even parse.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    /// invalid, duplicate-credential, not-enabled or late.
    pub reason: String,
    /// The ballot's JSON view.
    pub ballot: Value,
}

/// One guardian's partial decryption: (M, c‖z) per item and the statement signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial {
    /// Guardian index ℓ.
    pub guardian: u64,
    /// (M_{ℓ,i}, c‖z) per item.
    pub shares: Vec<([u8; 32], [u8; 64])>,
    /// Signature of the `decryption` statement.
    pub sig: [u8; 64],
}

/// A vote's result block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteResult {
    /// (A_i‖B_i) per item.
    pub totals: Vec<[u8; 64]>,
    /// Partial decryptions.
    pub partials: Vec<Partial>,
    /// The quorum.
    pub quorum: Vec<u64>,
    /// v_i.
    pub plaintext_totals: Vec<u64>,
    /// Counts per item per option.
    pub counts: Vec<Vec<u64>>,
}

/// One vote of the bundle.
#[derive(Clone, Debug, PartialEq)]
pub struct Vote {
    /// vote_id.
    pub vote_id: String,
    /// Exact vote-manifest bytes.
    pub vote_manifest: Vec<u8>,
    /// Roll call: enabled credentials as listed.
    pub credentials: Vec<[u8; 32]>,
    /// Roll call: cast_count.
    pub cast_count: u64,
    /// Roll call: CO signature.
    pub roll_call_sig: [u8; 64],
    /// Accepted ballots in bundle order.
    pub ballots: Vec<RawBallot>,
    /// Published list hash.
    pub list_hash: [u8; 32],
    /// Appliance close signature.
    pub close_sig: [u8; 64],
    /// Spoiled records.
    pub spoiled: Vec<Spoiled>,
    /// Rejected ballots.
    pub rejected: Vec<Rejected>,
    /// Result; `None` for a vote declared failed before its decryption.
    pub result: Option<VoteResult>,
}

/// A parsed v2 bundle (strict hex decoded, nothing verified).
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// Exact session-manifest bytes.
    pub manifest: Vec<u8>,
    /// Published manifest hash.
    pub manifest_hash: [u8; 32],
    /// Key ceremony.
    pub ceremony: Ceremony,
    /// Published joint key K.
    pub joint_key: [u8; 32],
    /// Votes.
    pub votes: Vec<Vote>,
    /// Whether the body declares the vote failed (a non-null top-level `failed`).
    pub declared_failed: bool,
}

fn jerr(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Json {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn a32(s: &str, f: &str) -> Result<[u8; 32]> {
    hex::decode_array::<32>(s, f)
}

fn a64(s: &str, f: &str) -> Result<[u8; 64]> {
    hex::decode_array::<64>(s, f)
}

fn cz64(p: &[String; 2], f: &str) -> Result<[u8; 64]> {
    let [c, z] = p;
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&a32(c, &format!("{f}.c"))?);
    out[32..].copy_from_slice(&a32(z, &format!("{f}.z"))?);
    Ok(out)
}

fn ct64(a: &str, b: &str, f: &str) -> Result<[u8; 64]> {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&a32(a, &format!("{f}.A"))?);
    out[32..].copy_from_slice(&a32(b, &format!("{f}.B"))?);
    Ok(out)
}

/// A guardian index written as a JSON object key: canonical decimal.
fn index_key(s: &str, f: &str) -> Result<u64> {
    match s.parse::<u64>() {
        Ok(v) if v.to_string() == s => Ok(v),
        _ => Err(jerr(f, format!("key `{s}` is not a canonical index"))),
    }
}

fn item(it: &ItemJ, f: &str) -> Result<RawItem> {
    Ok(RawItem {
        ct: ct64(&it.a, &it.b, f)?,
        proof: it
            .proof
            .iter()
            .enumerate()
            .map(|(k, p)| cz64(p, &format!("{f}.proof[{k}]")))
            .collect::<Result<_>>()?,
    })
}

fn raw_ballot(b: &BallotJ, f: &str) -> Result<RawBallot> {
    Ok(RawBallot {
        vote_id: b.vote_id.clone(),
        vote_type: b.vote_type.clone(),
        cred_pk: a32(&b.cred_pk, &format!("{f}.cred_pk"))?,
        items: b
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| item(it, &format!("{f}.items[{i}]")))
            .collect::<Result<_>>()?,
        range: match &b.range {
            None => None,
            Some(r) => Some((
                r.bits
                    .iter()
                    .enumerate()
                    .map(|(k, it)| item(it, &format!("{f}.range.bits[{k}]")))
                    .collect::<Result<_>>()?,
                cz64(&r.link, &format!("{f}.range.link"))?,
            )),
        },
        sig: a64(&b.sig, &format!("{f}.sig"))?,
    })
}

fn spoiled(s: &SpoiledJ, g: &str) -> Result<Spoiled> {
    let cts = |v: &[[String; 2]], what: &str| {
        v.iter()
            .enumerate()
            .map(|(k, [a, b])| ct64(a, b, &format!("{g}.{what}[{k}]")))
            .collect::<Result<Vec<_>>>()
    };
    let scalars = |v: &[String], what: &str| {
        v.iter()
            .enumerate()
            .map(|(k, x)| a32(x, &format!("{g}.{what}[{k}]")))
            .collect::<Result<Vec<_>>>()
    };
    Ok(Spoiled {
        tracker: a32(&s.tracker, &format!("{g}.tracker"))?,
        items: cts(&s.items, "items")?,
        bits: cts(&s.bits, "bits")?,
        choices: s.choices.clone(),
        r: scalars(&s.r, "r")?,
        s: scalars(&s.s, "s")?,
    })
}

impl Spoiled {
    /// Parses one spoiled record as the bundle lists it (a booth's revealed ballot, §12).
    pub fn from_json(v: &Value, f: &str) -> Result<Spoiled> {
        let j: SpoiledJ = serde_json::from_value(v.clone()).map_err(|e| jerr(f, e.to_string()))?;
        spoiled(&j, f)
    }
}

impl Bundle {
    /// Parses the bare JSON (§10.1, the layout of `tiny_election.bundle`): strict hex of the
    /// exact length, integers as u64, no unknown keys below the top level.
    pub fn parse(bytes: &[u8]) -> Result<Bundle> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(jerr("bundle", "larger than the verifier reads"));
        }
        let j: BundleJ =
            serde_json::from_slice(bytes).map_err(|e| jerr("bundle", e.to_string()))?;
        let c = &j.ceremony;
        let mut round2 = BTreeMap::new();
        for (from, m) in &c.round2 {
            let i = index_key(from, "ceremony.round2")?;
            let mut inner = BTreeMap::new();
            for (to, blob) in m {
                let l = index_key(to, &format!("ceremony.round2.{from}"))?;
                inner.insert(
                    l,
                    hex::decode(blob, &format!("ceremony.round2.{from}.{to}"))?,
                );
            }
            round2.insert(i, inner);
        }
        let mut round2_sigs = BTreeMap::new();
        for (from, m) in &c.round2_sigs {
            let i = index_key(from, "ceremony.round2_sigs")?;
            let mut inner = BTreeMap::new();
            for (to, sig) in m {
                let f = format!("ceremony.round2_sigs.{from}.{to}");
                inner.insert(index_key(to, &f)?, a64(sig, &f)?);
            }
            round2_sigs.insert(i, inner);
        }
        let mut key_sigs = BTreeMap::new();
        for (i, sig) in &c.key_sigs {
            let f = format!("ceremony.key_sigs.{i}");
            key_sigs.insert(index_key(i, &f)?, a64(sig, &f)?);
        }
        let round1 = c
            .round1
            .iter()
            .enumerate()
            .map(|(n, r)| {
                let f = format!("ceremony.round1[{n}]");
                Ok(Round1 {
                    index: r.index,
                    transport_key: a32(&r.transport_key, &format!("{f}.transport_key"))?,
                    transport_pok: cz64(&r.transport_pok, &format!("{f}.transport_pok"))?,
                    commitments: r
                        .commitments
                        .iter()
                        .enumerate()
                        .map(|(j, k)| a32(k, &format!("{f}.commitments[{j}]")))
                        .collect::<Result<_>>()?,
                    coeff_poks: r
                        .coeff_poks
                        .iter()
                        .enumerate()
                        .map(|(j, p)| cz64(p, &format!("{f}.coeff_poks[{j}]")))
                        .collect::<Result<_>>()?,
                    sig: a64(&r.sig, &format!("{f}.sig"))?,
                })
            })
            .collect::<Result<_>>()?;
        let mut votes = Vec::with_capacity(j.votes.len());
        for (vi, v) in j.votes.iter().enumerate() {
            let f = format!("votes[{vi}]");
            votes.push(Vote {
                vote_id: v.vote_id.clone(),
                vote_manifest: hex::decode(
                    &v.vote_manifest_hex,
                    &format!("{f}.vote_manifest_hex"),
                )?,
                credentials: v
                    .roll_call
                    .credentials
                    .iter()
                    .enumerate()
                    .map(|(i, c)| a32(c, &format!("{f}.roll_call.credentials[{i}]")))
                    .collect::<Result<_>>()?,
                cast_count: v.roll_call.cast_count,
                roll_call_sig: a64(&v.roll_call.sig, &format!("{f}.roll_call.sig"))?,
                ballots: v
                    .ballots
                    .iter()
                    .enumerate()
                    .map(|(i, b)| raw_ballot(b, &format!("{f}.ballots[{i}]")))
                    .collect::<Result<_>>()?,
                list_hash: a32(&v.list_hash, &format!("{f}.list_hash"))?,
                close_sig: a64(&v.close_sig, &format!("{f}.close_sig"))?,
                spoiled: v
                    .spoiled
                    .iter()
                    .enumerate()
                    .map(|(i, s)| spoiled(s, &format!("{f}.spoiled[{i}]")))
                    .collect::<Result<_>>()?,
                rejected: v
                    .rejected
                    .iter()
                    .map(|r| Rejected {
                        reason: r.reason.clone(),
                        ballot: r.ballot.clone(),
                    })
                    .collect(),
                result: match &v.result {
                    None => None,
                    Some(res) => Some(VoteResult {
                        totals: res
                            .totals
                            .iter()
                            .enumerate()
                            .map(|(i, t)| ct64(&t.a, &t.b, &format!("{f}.result.totals[{i}]")))
                            .collect::<Result<_>>()?,
                        partials: res
                            .partials
                            .iter()
                            .enumerate()
                            .map(|(i, p)| {
                                let g = format!("{f}.result.partials[{i}]");
                                Ok(Partial {
                                    guardian: p.guardian,
                                    shares: p
                                        .shares
                                        .iter()
                                        .enumerate()
                                        .map(|(k, s)| {
                                            Ok((
                                                a32(&s.m, &format!("{g}.shares[{k}].M"))?,
                                                cz64(&s.proof, &format!("{g}.shares[{k}].proof"))?,
                                            ))
                                        })
                                        .collect::<Result<_>>()?,
                                    sig: a64(&p.sig, &format!("{g}.sig"))?,
                                })
                            })
                            .collect::<Result<_>>()?,
                        quorum: res.quorum.clone(),
                        plaintext_totals: res.plaintext_totals.clone(),
                        counts: res.counts.clone(),
                    }),
                },
            });
        }
        Ok(Bundle {
            manifest: hex::decode(&j.manifest_hex, "manifest_hex")?,
            manifest_hash: a32(&j.manifest_hash, "manifest_hash")?,
            ceremony: Ceremony {
                round1,
                round2,
                round2_sigs,
                complaints: c.complaints.len(),
                key_sigs,
                attempt: c.attempt,
                participants: c.participants.clone(),
                aborted: c.aborted.clone(),
            },
            joint_key: a32(&j.joint_key, "joint_key")?,
            votes,
            declared_failed: j.failed.as_ref().is_some_and(|f| !f.is_null()),
        })
    }
}

// ------------------------------------------------------------------------------ checks

/// Failures and notes per check.
struct Acc {
    errs: Vec<Vec<String>>,
    notes: Vec<Vec<String>>,
}

impl Acc {
    fn new() -> Self {
        Acc {
            errs: vec![Vec::new(); CHECK_NAMES.len()],
            notes: vec![Vec::new(); CHECK_NAMES.len()],
        }
    }
    fn fail(&mut self, v: usize, msg: impl Into<String>) {
        if let Some(e) = self.errs.get_mut(v.wrapping_sub(1)) {
            e.push(msg.into());
        }
    }
    fn note(&mut self, v: usize, msg: impl Into<String>) {
        if let Some(e) = self.notes.get_mut(v.wrapping_sub(1)) {
            e.push(msg.into());
        }
    }
    fn ok(&self, v: usize) -> bool {
        self.errs.get(v.wrapping_sub(1)).is_none_or(Vec::is_empty)
    }
    fn into_checks(self) -> Vec<Check> {
        const SHOWN: usize = 6;
        CHECK_NAMES
            .iter()
            .zip(self.errs.into_iter().zip(self.notes))
            .map(|(name, (errs, notes))| {
                let ok = errs.is_empty();
                let detail = if ok {
                    notes.join("; ")
                } else {
                    let mut d = errs
                        .iter()
                        .take(SHOWN)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ");
                    if errs.len() > SHOWN {
                        d.push_str(&format!("; and {} more", errs.len() - SHOWN));
                    }
                    d
                };
                Check {
                    name: (*name).to_owned(),
                    ok,
                    detail,
                }
            })
            .collect()
    }
}

/// What the ceremony checks (V2–V4) hand to the vote checks.
struct CeremonyOut {
    cc: Ctx,
    /// Commitments of every participant, in participant order, when all decode (V3).
    commitments: Option<Vec<Vec<Element>>>,
    /// Participants of the final attempt.
    participants: Vec<u64>,
}

fn verify_sig(pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> core::result::Result<(), String> {
    credential::verify_strict(pk, msg, sig).map_err(|e| e.to_string())
}

fn guardian_id(sm: &SessionManifest, i: u64) -> Option<&[u8; 32]> {
    usize::try_from(i)
        .ok()
        .and_then(|i| i.checked_sub(1))
        .and_then(|i| sm.guardian_ids.get(i))
}

fn check_ceremony(b: &Bundle, sm: &SessionManifest, acc: &mut Acc) -> CeremonyOut {
    let c = &b.ceremony;
    let mh = sm.hash();
    let (n, k) = (sm.n(), sm.k);
    // V2: attempt, participants, round-1 senders and signatures, round-2 pairs and signatures.
    if c.attempt != c.aborted.len() as u64 + 1 {
        acc.fail(
            2,
            format!(
                "attempt {} but {} aborted attempt(s) recorded",
                c.attempt,
                c.aborted.len()
            ),
        );
    }
    // Aborted attempts: replayed on a board, verdicts recomputed, each restart checked (§8.1).
    for (check, msg) in super::ceremony::check_aborted(sm, &c.aborted, c.attempt, &c.participants) {
        acc.fail(check, msg);
    }
    let parts = &c.participants;
    if parts.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        acc.fail(2, "participants not strictly increasing");
    }
    if parts.iter().any(|p| *p == 0 || *p > n) {
        acc.fail(2, format!("participants outside 1..{n}"));
    }
    if (parts.len() as u64) < k {
        acc.fail(
            2,
            format!("{} participants, fewer than k = {k}", parts.len()),
        );
    }
    let cc = transcript::ceremony_ctx(mh, c.attempt, k, &sm.guardian_ids, parts);
    let idx: Vec<u64> = c.round1.iter().map(|r| r.index).collect();
    if &idx != parts {
        acc.fail(
            2,
            format!("round1 senders {idx:?} are not exactly the participants {parts:?}"),
        );
    }
    let mut round1_cat = Vec::new();
    let mut commitments = Vec::with_capacity(c.round1.len());
    let mut all_ok = &idx == parts;
    for r in &c.round1 {
        let kcat: Vec<u8> = r.commitments.iter().flatten().copied().collect();
        let pcat: Vec<u8> = r.coeff_poks.iter().flatten().copied().collect();
        let msg = transcript::dkg_round1_message(
            &cc,
            r.index,
            &r.transport_key,
            &r.transport_pok,
            &kcat,
            &pcat,
        );
        match guardian_id(sm, r.index) {
            None => acc.fail(2, format!("round1 index {} has no guardian id", r.index)),
            Some(id) => {
                if let Err(e) = verify_sig(id, &msg, &r.sig) {
                    acc.fail(2, format!("round1[{}].sig: {e}", r.index));
                }
            }
        }
        round1_cat.extend_from_slice(&msg);
        // V3: Schnorr proofs, k commitments, canonical and ≠ O.
        let i = r.index;
        let f = format!("round1[{i}]");
        match Element::decode_non_identity(&r.transport_key, &format!("{f}.transport_key")) {
            Err(e) => acc.fail(3, e.to_string()),
            Ok(tk) => match Cz::decode(&r.transport_pok, &format!("{f}.transport_pok")) {
                Err(e) => acc.fail(3, e.to_string()),
                Ok(p) => {
                    if !proofs::schnorr_verify(&cc, ProofLabel::Transport, i, &tk, &p) {
                        acc.fail(3, format!("{f}.transport_pok: proof does not verify"));
                    }
                }
            },
        }
        if r.commitments.len() as u64 != k || r.coeff_poks.len() as u64 != k {
            acc.fail(
                3,
                format!(
                    "{f}: {} commitments and {} proofs, k = {k}",
                    r.commitments.len(),
                    r.coeff_poks.len()
                ),
            );
            all_ok = false;
        }
        let mut ks = Vec::with_capacity(r.commitments.len());
        for (j, (kj, pj)) in r.commitments.iter().zip(r.coeff_poks.iter()).enumerate() {
            let kf = format!("{f}.commitments[{j}]");
            let Ok(ke) = Element::decode_non_identity(kj, &kf).map_err(|e| {
                acc.fail(3, e.to_string());
            }) else {
                all_ok = false;
                continue;
            };
            let label_index = i.checked_mul(256).and_then(|x| x.checked_add(j as u64));
            match (Cz::decode(pj, &format!("{f}.coeff_poks[{j}]")), label_index) {
                (Err(e), _) => acc.fail(3, e.to_string()),
                (Ok(_), None) => acc.fail(3, format!("{f}: index too large")),
                (Ok(p), Some(li)) => {
                    if !proofs::schnorr_verify(&cc, ProofLabel::Coeff, li, &ke, &p) {
                        acc.fail(3, format!("{f}.coeff_poks[{j}]: proof does not verify"));
                    }
                }
            }
            ks.push(ke);
        }
        commitments.push(ks);
    }
    // Round 2: exactly the pairs i ≠ ℓ among participants; signatures; blobs 80 bytes, E valid.
    let want: Vec<(u64, u64)> = parts
        .iter()
        .flat_map(|i| parts.iter().filter(move |l| *l != i).map(move |l| (*i, *l)))
        .collect();
    let got: Vec<(u64, u64)> = c
        .round2
        .iter()
        .flat_map(|(i, m)| m.keys().map(move |l| (*i, *l)))
        .collect();
    let got_sigs: Vec<(u64, u64)> = c
        .round2_sigs
        .iter()
        .flat_map(|(i, m)| m.keys().map(move |l| (*i, *l)))
        .collect();
    if got != want {
        acc.fail(
            2,
            "round2 does not hold exactly the pairs i != l among participants",
        );
    }
    if got_sigs != want {
        acc.fail(
            2,
            "round2_sigs does not hold exactly the pairs i != l among participants",
        );
    }
    for (i, m) in &c.round2 {
        for (l, blob) in m {
            let f = format!("round2.{i}.{l}");
            match c.round2_sigs.get(i).and_then(|s| s.get(l)) {
                None => acc.fail(2, format!("{f}: no signature")),
                Some(sig) => match guardian_id(sm, *i) {
                    None => acc.fail(2, format!("{f}: sender has no guardian id")),
                    Some(id) => {
                        let msg = transcript::dkg_round2_message(&cc, *i, *l, blob);
                        if let Err(e) = verify_sig(id, &msg, sig) {
                            acc.fail(2, format!("{f} signature: {e}"));
                        }
                    }
                },
            }
            if blob.len() != super::transport::BLOB_LEN {
                acc.fail(3, format!("{f}: blob is {} bytes, not 80", blob.len()));
            } else if let Err(e) =
                Element::decode_non_identity(blob.get(..32).unwrap_or(&[]), &format!("{f}.E"))
            {
                acc.fail(3, e.to_string());
            }
        }
    }
    if c.complaints > 0 {
        acc.fail(
            3,
            format!("the final attempt has {} complaint(s)", c.complaints),
        );
    }
    // V4: K = Σ K_{i,0}, K ≠ O, every participant's key announcement.
    let commitments = all_ok.then_some(commitments);
    match &commitments {
        None => acc.fail(4, "not checked: round-1 commitments invalid (V2/V3)"),
        Some(cs) => match tally::joint_key(cs) {
            Err(e) => acc.fail(4, e.to_string()),
            Ok(kk) => {
                if kk.as_bytes() != &b.joint_key {
                    acc.fail(4, "joint_key is not the sum of the K_{i,0}");
                }
            }
        },
    }
    if let Err(e) = Element::decode_non_identity(&b.joint_key, "joint_key") {
        acc.fail(4, e.to_string());
    }
    let announce =
        transcript::key_announce_message(&cc, &b.joint_key, &transcript::sha256(&round1_cat));
    let signers: Vec<u64> = c.key_sigs.keys().copied().collect();
    if &signers != parts {
        acc.fail(
            4,
            format!("key_sigs from {signers:?}, not exactly the participants {parts:?}"),
        );
    }
    for (i, sig) in &c.key_sigs {
        match guardian_id(sm, *i) {
            None => acc.fail(4, format!("key_sigs.{i}: no such guardian")),
            Some(id) => {
                if let Err(e) = verify_sig(id, &announce, sig) {
                    acc.fail(4, format!("key_sigs.{i}: {e}"));
                }
            }
        }
    }
    if acc.ok(2) {
        acc.note(
            2,
            format!(
                "attempt {}, participants {parts:?} of n = {n}, k = {k}; {} round-1 and {} round-2 signatures valid",
                c.attempt,
                c.round1.len(),
                want.len()
            ),
        );
    }
    if acc.ok(3) {
        acc.note(
            3,
            format!(
                "{} Schnorr proofs valid; {} blobs well-formed; no complaints",
                c.round1.len() as u64 * (k + 1),
                want.len()
            ),
        );
    }
    if acc.ok(4) {
        acc.note(
            4,
            format!(
                "K = sum of K_i0; {} key announcements valid; fingerprint {}",
                c.key_sigs.len(),
                ballot::short_code(&transcript::sha256(&announce))
            ),
        );
    }
    CeremonyOut {
        cc,
        commitments,
        participants: parts.clone(),
    }
}

/// One ballot's V5 outcome: (vote, ballot, result).
type Outcome = (usize, usize, core::result::Result<(), String>);

/// V5 for every ballot of every vote, on all cores. `jobs[i] = (vote, ballot)`.
fn verify_ballots_parallel(
    b: &Bundle,
    vms: &[Option<VoteManifest>],
    mh: &[u8; 32],
    key: &JointKey,
) -> Vec<Vec<core::result::Result<(), String>>> {
    let mut out: Vec<Vec<core::result::Result<(), String>>> = b
        .votes
        .iter()
        .map(|v| vec![Ok(()); v.ballots.len()])
        .collect();
    let jobs: Vec<(usize, usize)> = b
        .votes
        .iter()
        .enumerate()
        .filter(|(vi, _)| vms.get(*vi).is_some_and(Option::is_some))
        .flat_map(|(vi, v)| (0..v.ballots.len()).map(move |bi| (vi, bi)))
        .collect();
    // Fail closed: a ballot counts as verified only once a worker says so (a worker that
    // died leaves its ballots refused, whichever vote they belong to).
    for &(vi, bi) in &jobs {
        if let Some(slot) = out.get_mut(vi).and_then(|v| v.get_mut(bi)) {
            *slot = Err("not verified: a verifier thread failed".to_owned());
        }
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, jobs.len().max(1));
    let run = |t: usize| -> Vec<Outcome> {
        jobs.iter()
            .skip(t)
            .step_by(threads)
            .map(|&(vi, bi)| {
                let res = match (
                    vms.get(vi).and_then(Option::as_ref),
                    b.votes.get(vi).and_then(|v| v.ballots.get(bi)),
                ) {
                    (Some(vm), Some(raw)) => {
                        let vc = VoteContext {
                            manifest_hash: mh,
                            vote: vm,
                            key,
                        };
                        raw.decode(vm)
                            .and_then(|bal| ballot::verify_ballot(&vc, &bal))
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    }
                    _ => Err("internal: missing ballot".to_owned()),
                };
                (vi, bi, res)
            })
            .collect()
    };
    let results: Vec<Vec<Outcome>> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..threads).map(|t| s.spawn(move || run(t))).collect();
        let mut all = vec![run(0)];
        for h in handles {
            all.push(h.join().unwrap_or_default());
        }
        all
    });
    for (vi, bi, r) in results.into_iter().flatten() {
        if let Some(slot) = out.get_mut(vi).and_then(|v| v.get_mut(bi)) {
            *slot = r;
        }
    }
    out
}

fn decode_pair(bytes: &[u8; 64], f: &str) -> Result<Ciphertext> {
    Ciphertext::decode(bytes, f)
}

#[allow(clippy::too_many_arguments)]
fn check_vote(
    v: &Vote,
    vm: &VoteManifest,
    sm: &SessionManifest,
    cer: &CeremonyOut,
    key: Option<&JointKey>,
    ballot_results: &[core::result::Result<(), String>],
    joint_key: &[u8; 32],
    declared_failed: bool,
    acc: &mut Acc,
) {
    let vid = &v.vote_id;
    let mh = sm.hash();
    let shape = vm.shape();
    let m = shape.m();
    let n_cast = v.ballots.len() as u64;
    let p = |s: &str| format!("{vid}: {s}");
    // V5.
    if key.is_none() {
        acc.fail(5, p("not checked: joint_key invalid (V4)"));
    }
    for (bi, r) in ballot_results.iter().enumerate() {
        if let Err(e) = r {
            acc.fail(5, p(&format!("ballots[{bi}]: {e}")));
        }
    }
    // V6: cred unique, every A unique, cred enabled.
    let enabled: HashSet<[u8; 32]> = v.credentials.iter().copied().collect();
    let mut creds = HashSet::new();
    let mut a_seen = HashSet::new();
    for (bi, bal) in v.ballots.iter().enumerate() {
        if !creds.insert(bal.cred_pk) {
            acc.fail(6, p(&format!("ballots[{bi}]: credential used twice")));
        }
        if !enabled.contains(&bal.cred_pk) {
            acc.fail(
                6,
                p(&format!("ballots[{bi}]: credential not in the roll call")),
            );
        }
        for it in bal.items.iter().chain(bal.bits()) {
            let mut a = [0u8; 32];
            a.copy_from_slice(it.ct.get(..32).unwrap_or(&[0u8; 32]));
            if !a_seen.insert(a) {
                acc.fail(6, p(&format!("ballots[{bi}]: ciphertext A repeated")));
            }
        }
    }
    // V7: order, list hash, close signature.
    let trackers: Vec<[u8; 32]> = v.ballots.iter().map(|bal| bal.tracker(mh, vid)).collect();
    if trackers.windows(2).any(|w| matches!(w, [a, b] if a >= b)) {
        acc.fail(7, p("ballots not strictly sorted by tracker"));
    }
    let lh = transcript::ballot_list_hash(mh, vid, &trackers);
    if lh != v.list_hash {
        acc.fail(7, p("list_hash does not match the recomputed list hash"));
    }
    if let Err(e) = verify_sig(
        &sm.appliance_key,
        &transcript::close_message(mh, vid, &lh, n_cast),
        &v.close_sig,
    ) {
        acc.fail(7, p(&format!("close_sig: {e}")));
    }
    // V8: own aggregation.
    let mut own: Option<Vec<Ciphertext>> = Some(Vec::new());
    let mut decoded: Vec<Ballot> = Vec::with_capacity(v.ballots.len());
    for (bi, bal) in v.ballots.iter().enumerate() {
        if bal.items.len() != m {
            acc.fail(
                8,
                p(&format!(
                    "ballots[{bi}]: wrong item count, cannot aggregate"
                )),
            );
            own = None;
            continue;
        }
        let mut items = Vec::with_capacity(m);
        for (i, it) in bal.items.iter().enumerate() {
            match decode_pair(&it.ct, &format!("ballots[{bi}].items[{i}]")) {
                Ok(ct) => items.push(ballot::EncryptedItem {
                    ct,
                    proof: proofs::CdsProof(Vec::new()),
                }),
                Err(e) => {
                    acc.fail(8, p(&format!("cannot aggregate: {e}")));
                    own = None;
                }
            }
        }
        decoded.push(Ballot {
            cred_pk: bal.cred_pk,
            items,
            range: None,
            sig: bal.sig,
        });
    }
    if own.is_some() {
        match tally::aggregate(&decoded, m) {
            Ok(t) => own = Some(t),
            Err(e) => {
                acc.fail(8, p(&e.to_string()));
                own = None;
            }
        }
    }
    if let Some(t) = &own {
        let mine: Vec<[u8; 64]> = t.iter().map(Ciphertext::to_bytes).collect();
        if let Some(res) = &v.result
            && mine != res.totals
        {
            acc.fail(
                8,
                p("result.totals differ from the aggregation of the ballots"),
            );
        }
    }
    // A vote declared failed (docs/e2e.md) has no result, and only such a vote: the
    // decryption's checks V9–V12 do not apply to it, the rest does.
    match (&v.result, declared_failed) {
        (None, false) => acc.fail(
            9,
            p("no result, and the bundle does not declare the vote failed"),
        ),
        (Some(_), true) => acc.fail(
            9,
            p("the bundle declares the vote failed but the vote carries a result"),
        ),
        _ => {}
    }
    // V12 (first part): n_cast < T, n_cast ≤ |enabled|.
    if n_cast >= shape.radix() {
        acc.fail(12, p(&format!("n_cast = {n_cast} is not below T")));
    }
    if n_cast > v.credentials.len() as u64 {
        acc.fail(12, p("more ballots than enabled credentials"));
    }
    if let Some(res) = &v.result {
        // V9: quorum.
        let q = &res.quorum;
        let quorum_ok = q.len() as u64 == sm.k
            && !q.windows(2).any(|w| matches!(w, [a, b] if a >= b))
            && q.iter().all(|x| cer.participants.contains(x));
        if !quorum_ok {
            acc.fail(
                9,
                p(&format!(
                    "quorum {q:?} is not k = {} distinct sorted participants",
                    sm.k
                )),
            );
        }
        let pg: Vec<u64> = res.partials.iter().map(|x| x.guardian).collect();
        if &pg != q {
            acc.fail(
                9,
                p(&format!(
                    "partials from {pg:?}, not exactly the quorum {q:?}"
                )),
            );
        }
        // V10: every partial's DLEQs and statement signature.
        let mut shares_ok: Vec<Option<Vec<PartialShare>>> = Vec::new();
        match (&own, &cer.commitments) {
            (None, _) => acc.fail(10, p("not checked: no aggregation (V8)")),
            (_, None) => acc.fail(10, p("not checked: commitments invalid (V3)")),
            (Some(tot), Some(cs)) => {
                let tot_cat: Vec<u8> = tot.iter().flat_map(Ciphertext::to_bytes).collect();
                for (pi, part) in res.partials.iter().enumerate() {
                    let l = part.guardian;
                    let f = format!("partials[{pi}] (guardian {l})");
                    let Some(id) = guardian_id(sm, l) else {
                        acc.fail(10, p(&format!("{f}: no such guardian")));
                        shares_ok.push(None);
                        continue;
                    };
                    let z_pub = tally::verification_key(l, cs);
                    let dctx = transcript::decrypt_ctx(&transcript::DecryptCtxFields {
                        manifest: mh,
                        vote: vid,
                        vote_manifest: vm.hash(),
                        pk: joint_key,
                        ceremony: &cer.cc,
                        list: &lh,
                        n: n_cast,
                        guardian: l,
                        z: z_pub.as_bytes(),
                    });
                    let shares: Result<Vec<PartialShare>> = part
                        .shares
                        .iter()
                        .enumerate()
                        .map(|(i, (mm, pr))| {
                            Ok(PartialShare {
                                m: Element::decode(mm, &format!("{f}.shares[{i}].M"))?,
                                proof: Cz::decode(pr, &format!("{f}.shares[{i}].proof"))?,
                            })
                        })
                        .collect();
                    let shares = match shares {
                        Ok(s) => s,
                        Err(e) => {
                            acc.fail(10, p(&e.to_string()));
                            shares_ok.push(None);
                            continue;
                        }
                    };
                    let mut good = true;
                    if let Err(e) = tally::verify_partial(&dctx, &z_pub, tot, &shares, &f) {
                        acc.fail(10, p(&e.to_string()));
                        good = false;
                    }
                    let sh_cat: Vec<u8> = part
                        .shares
                        .iter()
                        .flat_map(|(mm, pr)| mm.iter().chain(pr.iter()).copied())
                        .collect();
                    let msg = transcript::decryption_message(
                        &cer.cc, vid, &lh, n_cast, &tot_cat, &sh_cat,
                    );
                    if let Err(e) = verify_sig(id, &msg, &part.sig) {
                        acc.fail(10, p(&format!("{f}.sig: {e}")));
                        good = false;
                    }
                    shares_ok.push(good.then_some(shares));
                }
            }
        }
        // V11: combination and plaintexts.
        let pt = &res.plaintext_totals;
        if pt.len() != m {
            acc.fail(
                11,
                p(&format!("{} plaintext totals for {m} items", pt.len())),
            );
        }
        let all_shares: Option<Vec<Vec<PartialShare>>> = (&pg == q && shares_ok.len() == q.len())
            .then(|| shares_ok.iter().cloned().collect::<Option<Vec<_>>>())
            .flatten();
        match (&own, all_shares) {
            (None, _) => acc.fail(11, p("not checked: no aggregation (V8)")),
            (_, None) => acc.fail(11, p("not checked: partial decryptions invalid (V9/V10)")),
            (Some(tot), Some(sh)) => match tally::combine(tot, q, &sh) {
                Err(e) => acc.fail(11, p(&e.to_string())),
                Ok(vs) => {
                    for (i, (vp, val)) in vs.iter().zip(pt.iter()).enumerate() {
                        if !tally::check_plaintext(*val, vp, shape, n_cast) {
                            acc.fail(
                                11,
                                p(&format!("plaintext_totals[{i}] = {val} does not decrypt")),
                            );
                        }
                    }
                }
            },
        }
        // V12: n_cast < T, n_cast ≤ |enabled|, counts decode.
        if res.counts.len() != m {
            acc.fail(
                12,
                p(&format!("{} count rows for {m} items", res.counts.len())),
            );
        }
        for (i, (val, counts)) in pt.iter().zip(res.counts.iter()).enumerate() {
            match tally::decode_counts(shape, n_cast, *val, &format!("counts[{i}]")) {
                Err(e) => acc.fail(12, p(&e.to_string())),
                Ok(c) => {
                    if &c != counts {
                        acc.fail(
                            12,
                            p(&format!("counts[{i}] = {counts:?}, decoding gives {c:?}")),
                        );
                    }
                }
            }
        }
    }
    // V13: spoiled records.
    match key {
        None => {
            if !v.spoiled.is_empty() {
                acc.fail(13, p("not checked: joint_key invalid (V4)"));
            }
        }
        Some(key) => {
            let cast_a: HashSet<[u8; 32]> = a_seen.clone();
            let cast_t: HashSet<[u8; 32]> = trackers.iter().copied().collect();
            for (si, sp) in v.spoiled.iter().enumerate() {
                if let Err(e) = check_spoiled(sp, vm, key, &cast_a, &cast_t) {
                    acc.fail(13, p(&format!("spoiled[{si}]: {e}")));
                }
            }
        }
    }
    // V14 (roll call).
    if let Err(e) = verify_sig(
        &sm.credential_officer,
        &transcript::roll_call_message(mh, vid, vm.hash(), &v.credentials, v.cast_count),
        &v.roll_call_sig,
    ) {
        acc.fail(14, p(&format!("roll_call.sig: {e}")));
    }
    if v.credentials
        .windows(2)
        .any(|w| matches!(w, [a, b] if a >= b))
    {
        acc.fail(14, p("roll-call credentials not sorted and unique"));
    }
    if v.credentials.len() as u64 > sm.max_electorate {
        acc.fail(14, p("roll call longer than max_electorate"));
    }
    // V15 (not for a vote declared failed: a closing roll call that disagrees with the list,
    // or none at all, can be why it failed).
    if n_cast != v.cast_count && !declared_failed {
        acc.fail(
            15,
            p(&format!(
                "n_cast = {n_cast} but the roll call's cast_count = {}",
                v.cast_count
            )),
        );
    }
    // V16: rejected ballots.
    for (ri, rj) in v.rejected.iter().enumerate() {
        let f = format!("rejected[{ri}] ({})", rj.reason);
        let valid = key.map(|key| {
            Ballot::from_json(&rj.ballot, vm).and_then(|bal| {
                let vc = VoteContext {
                    manifest_hash: mh,
                    vote: vm,
                    key,
                };
                ballot::verify_ballot(&vc, &bal).map(|_| bal)
            })
        });
        let Some(valid) = valid else {
            acc.fail(16, p(&format!("{f}: not checked: joint_key invalid (V4)")));
            continue;
        };
        match (rj.reason.as_str(), valid) {
            ("invalid", Ok(_)) => acc.fail(16, p(&format!("{f}: the ballot is valid"))),
            ("invalid", Err(_)) => {}
            ("duplicate-credential", Ok(bal)) => {
                if !creds.contains(&bal.cred_pk) {
                    acc.fail(
                        16,
                        p(&format!("{f}: credential not among the accepted ballots")),
                    );
                }
            }
            ("not-enabled", Ok(bal)) => {
                if enabled.contains(&bal.cred_pk) {
                    acc.fail(16, p(&format!("{f}: credential is in the roll call")));
                }
            }
            ("duplicate-credential" | "not-enabled", Err(e)) => {
                acc.fail(16, p(&format!("{f}: the ballot is not valid: {e}")));
            }
            ("late", _) => acc.note(16, p("a `late` rejection is procedural (hall close time)")),
            (other, _) => acc.fail(16, p(&format!("unknown reason `{other}`"))),
        }
    }
}

fn check_spoiled(
    sp: &Spoiled,
    vm: &VoteManifest,
    key: &JointKey,
    cast_a: &HashSet<[u8; 32]>,
    cast_t: &HashSet<[u8; 32]>,
) -> core::result::Result<(), String> {
    let revealed = super::audit::Revealed {
        choices: sp.choices.clone(),
        r: sp.r.clone(),
        s: sp.s.clone(),
    };
    super::audit::reencrypts(vm, key, &sp.items, &sp.bits, &revealed)?;
    for ct in sp.items.iter().chain(sp.bits.iter()) {
        let mut a = [0u8; 32];
        a.copy_from_slice(ct.get(..32).unwrap_or(&[0u8; 32]));
        if cast_a.contains(&a) {
            return Err("a ciphertext of the audited ballot was cast".to_owned());
        }
    }
    if cast_t.contains(&sp.tracker) {
        return Err("the audited ballot's tracker was cast".to_owned());
    }
    Ok(())
}

/// The envelope signatures, if the bundle came in one: (role, public key, signature) as text.
#[derive(Debug, Clone)]
struct EnvelopeSigs {
    body: Vec<u8>,
    sigs: Vec<crate::bundle::SignatureEntry>,
}

/// Verifies a parsed bundle: V1–V16 (the envelope part of V14 is `n/a`).
pub fn verify(b: &Bundle, opts: &VerifyOptions) -> Vec<Check> {
    verify_inner(b, opts, None)
}

fn verify_inner(b: &Bundle, opts: &VerifyOptions, env: Option<&EnvelopeSigs>) -> Vec<Check> {
    let mut acc = Acc::new();
    // V1: session manifest, hash, vote manifests, unique vote ids.
    let sm = match SessionManifest::parse(&b.manifest) {
        Ok(sm) => sm,
        Err(e) => {
            acc.fail(1, format!("session manifest: {e}"));
            for v in 2..=CHECK_NAMES.len() {
                acc.fail(v, "not checked: the session manifest is invalid (V1)");
            }
            return acc.into_checks();
        }
    };
    if sm.hash() != &b.manifest_hash {
        acc.fail(1, "manifest_hash is not the SHA-256 of manifest_hex");
    }
    let mut ids = HashSet::new();
    let mut vms = Vec::with_capacity(b.votes.len());
    for (vi, v) in b.votes.iter().enumerate() {
        if !ids.insert(v.vote_id.as_str()) {
            acc.fail(1, format!("vote_id {} repeated", v.vote_id));
        }
        match VoteManifest::parse(&v.vote_manifest, &sm) {
            Ok(vm) if vm.vote_id == v.vote_id => vms.push(Some(vm)),
            Ok(vm) => {
                acc.fail(
                    1,
                    format!(
                        "votes[{vi}]: vote_id {} but its manifest says {}",
                        v.vote_id, vm.vote_id
                    ),
                );
                vms.push(None);
            }
            Err(e) => {
                acc.fail(1, format!("votes[{vi}] ({}): {e}", v.vote_id));
                vms.push(None);
            }
        }
    }
    if acc.ok(1) {
        acc.note(
            1,
            format!(
                "session {} (T = {}, n = {}, k = {}) and {} vote manifests valid",
                sm.election_id,
                sm.radix,
                sm.n(),
                sm.k,
                b.votes.len()
            ),
        );
    }
    let cer = check_ceremony(b, &sm, &mut acc);
    let key = Element::decode_non_identity(&b.joint_key, "joint_key")
        .and_then(|e| JointKey::new(e, "joint_key"))
        .ok();
    let ballot_results = match &key {
        Some(k) => verify_ballots_parallel(b, &vms, sm.hash(), k),
        None => b
            .votes
            .iter()
            .map(|v| vec![Ok(()); v.ballots.len()])
            .collect(),
    };
    let mut n_ballots = 0usize;
    let mut n_spoiled = 0usize;
    let mut n_rejected = 0usize;
    for (vi, v) in b.votes.iter().enumerate() {
        let Some(vm) = vms.get(vi).and_then(Option::as_ref) else {
            for c in 5..=16 {
                acc.fail(
                    c,
                    format!("{}: not checked: vote manifest invalid (V1)", v.vote_id),
                );
            }
            continue;
        };
        n_ballots += v.ballots.len();
        n_spoiled += v.spoiled.len();
        n_rejected += v.rejected.len();
        let empty = Vec::new();
        let results = ballot_results.get(vi).unwrap_or(&empty);
        check_vote(
            v,
            vm,
            &sm,
            &cer,
            key.as_ref(),
            results,
            &b.joint_key,
            b.declared_failed,
            &mut acc,
        );
    }
    // V14: caller's key (or its printed fingerprint), envelope signature.
    if let Some(fp) = &opts.appliance_fingerprint
        && transcript::sha256(&sm.appliance_key) != *fp
    {
        acc.fail(
            14,
            format!(
                "the fingerprint given ({}) is not that of the manifest's appliance_key ({})",
                hex::encode(fp),
                hex::encode(&transcript::sha256(&sm.appliance_key))
            ),
        );
    }
    if let Some(k) = &opts.appliance_key
        && k != &sm.appliance_key
    {
        acc.fail(
            14,
            format!(
                "the appliance key given ({}) is not the manifest's appliance_key ({})",
                hex::encode(k),
                hex::encode(&sm.appliance_key)
            ),
        );
    }
    let env_note = match env {
        None => "bundle signature: n/a (bare bundle, no envelope)".to_owned(),
        Some(env) => {
            // The same domain-separated message as the plain bundle's appliance signature:
            // `piaojue/v1/result` ‖ 0 ‖ the body's exact bytes.
            let message = crate::crypto::Domain::Result.message(&env.body);
            let mut good = 0usize;
            for (i, s) in env.sigs.iter().enumerate() {
                if s.role != "appliance" {
                    continue;
                }
                let pk = hex::decode_array::<32>(&s.public_key, "public_key");
                let sig = hex::decode_array::<64>(&s.signature, "signature");
                match (pk, sig) {
                    (Ok(pk), Ok(sig)) if pk == sm.appliance_key => {
                        match verify_sig(&pk, &message, &sig) {
                            Ok(()) => good += 1,
                            Err(e) => acc.fail(14, format!("envelope signature {i}: {e}")),
                        }
                    }
                    (Ok(_), Ok(_)) => acc.fail(
                        14,
                        format!("envelope signature {i}: not the manifest's appliance key"),
                    ),
                    (Err(e), _) | (_, Err(e)) => {
                        acc.fail(14, format!("envelope signature {i}: {e}"));
                    }
                }
            }
            if good == 0 {
                acc.fail(14, "the envelope has no valid appliance signature");
            }
            format!(
                "bundle signature valid ({good} appliance signature(s) over piaojue/v1/result ‖ body)"
            )
        }
    };
    // V15 procedural.
    let mut hall_note = "hall comparison: n/a (no --hall-present)".to_owned();
    if let Some(h) = opts.hall_present {
        hall_note = format!("cast_count <= {h} present in the hall");
        for v in &b.votes {
            if v.cast_count > h {
                acc.fail(
                    15,
                    format!(
                        "{}: cast_count {} exceeds the {h} deputies present",
                        v.vote_id, v.cast_count
                    ),
                );
            }
        }
    }
    let nv = b.votes.len();
    acc.note(5, format!("{n_ballots} ballots in {nv} votes valid"));
    acc.note(
        6,
        "credentials unique and enabled, every ciphertext A unique".to_owned(),
    );
    acc.note(
        7,
        format!("{nv} ballot lists sorted, list hashes and close signatures valid"),
    );
    if b.declared_failed {
        let na = "not applicable: the vote was declared failed before its decryption (no totals, no result)";
        for n in 8..=11 {
            acc.note(n, na.to_owned());
        }
        acc.note(12, format!("n_cast < T, n_cast <= enabled; counts {na}"));
    } else {
        acc.note(8, "totals equal the aggregation of the ballots".to_owned());
        acc.note(
            9,
            "quorum of k participants, partials from exactly the quorum".to_owned(),
        );
        acc.note(
            10,
            "every partial decryption's DLEQ and statement signature valid".to_owned(),
        );
        acc.note(
            11,
            "every plaintext total decrypts the combined totals".to_owned(),
        );
        acc.note(
            12,
            "n_cast < T, n_cast <= enabled, counts decode".to_owned(),
        );
    }
    acc.note(
        13,
        format!("{n_spoiled} spoiled record(s) re-encrypt, none cast"),
    );
    acc.note(
        14,
        format!("roll calls signed, sorted, within max_electorate; {env_note}"),
    );
    acc.note(
        15,
        if b.declared_failed {
            format!("n_cast = cast_count not required: the vote was declared failed; {hall_note}")
        } else {
            format!("n_cast = cast_count for {nv} votes; {hall_note}; cast-notice check: procedural, not in the bundle")
        },
    );
    acc.note(16, format!("{n_rejected} rejected ballot(s) substantiated"));
    acc.into_checks()
}

/// True when `bytes` is a v2 bundle: a JSON object with `manifest_hex`, or an envelope whose
/// `format` is [`ENVELOPE_FORMAT`].
pub fn is_v2(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => {
            m.contains_key("manifest_hex")
                || m.get("format").and_then(Value::as_str) == Some(ENVELOPE_FORMAT)
        }
        _ => false,
    }
}

fn failed_report(detail: String) -> Report {
    let mut checks = vec![Check {
        name: "parse".to_owned(),
        ok: false,
        detail,
    }];
    checks.extend(CHECK_NAMES.iter().map(|n| Check {
        name: (*n).to_owned(),
        ok: false,
        detail: "not checked: the bundle does not parse".to_owned(),
    }));
    Report {
        verified: false,
        vote_id: None,
        title: None,
        bundle_sha256: None,
        announcement: None,
        checks,
    }
}

/// Verifies a v2 bundle, bare or in its envelope: every check of §10.2, never panicking.
/// A bundle that does not parse gives a failed `parse` check and every V check failed.
pub fn verify_document(bytes: &[u8], opts: &VerifyOptions) -> Report {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return failed_report(format!(
            "the bundle is {} bytes; at most {} MiB is read",
            bytes.len(),
            MAX_BUNDLE_BYTES >> 20
        ));
    }
    let is_envelope = matches!(
        serde_json::from_slice::<Value>(bytes),
        Ok(Value::Object(ref m)) if m.contains_key("format")
    );
    let (body, env) = if is_envelope {
        let env: crate::bundle::Envelope = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => return failed_report(format!("not a bundle envelope: {e}")),
        };
        if env.format != ENVELOPE_FORMAT {
            return failed_report(format!(
                "format `{}` is not `{ENVELOPE_FORMAT}`",
                env.format
            ));
        }
        match STANDARD.decode(env.body.as_bytes()) {
            Ok(body) => (
                body.clone(),
                Some(EnvelopeSigs {
                    body,
                    sigs: env.signatures,
                }),
            ),
            Err(e) => return failed_report(format!("body is not standard padded base64: {e}")),
        }
    } else {
        (bytes.to_vec(), None)
    };
    let bundle = match Bundle::parse(&body) {
        Ok(b) => b,
        Err(e) => return failed_report(e.to_string()),
    };
    let mut checks = verify_inner(&bundle, opts, env.as_ref());
    let keys = result_keys(&body, &bundle, opts, &mut checks);
    Report {
        verified: checks.iter().all(|c| c.ok),
        vote_id: bundle.votes.first().map(|v| v.vote_id.clone()),
        title: keys.as_ref().map(|k| k.vote_record.title.clone()),
        bundle_sha256: Some(hex::encode(&transcript::sha256(&body))),
        announcement: keys.map(|k| k.announcement),
        checks,
    }
}

/// The appliance's result keys (docs/e2e.md), when the body has them: the `rules` check (the
/// rules engine re-run on the decoded counts) and, given the previous bundle,
/// `chain.previous`. A bare §10.1 bundle has neither.
fn result_keys(
    body: &[u8],
    b: &Bundle,
    opts: &VerifyOptions,
    checks: &mut Vec<Check>,
) -> Option<crate::rules::encrypted::ResultKeys> {
    use crate::rules::encrypted::ResultKeys;
    let mut check = |name: &str, r: std::result::Result<String, String>| {
        let (ok, detail) = match r {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push(Check {
            name: name.to_owned(),
            ok,
            detail,
        });
    };
    let v: Value = serde_json::from_slice(body).ok()?;
    if v.get("result_format").is_none() {
        // A declared failure is one of the appliance's result keys: never on its own
        // (a_failure_declared_without_result_keys_is_refused).
        if b.declared_failed {
            check(
                "rules",
                Err(format!(
                    "failed: a vote is declared failed only with the appliance's result keys (result_format {})",
                    crate::rules::encrypted::RESULT_FORMAT
                )),
            );
        }
        if opts.previous.is_some() {
            check(
                "chain.previous",
                Err("this bundle has no result keys, so names no previous bundle".into()),
            );
        }
        return None;
    }
    let keys: ResultKeys = match serde_json::from_value(v) {
        Ok(k) => k,
        Err(e) => {
            check("rules", Err(format!("the result keys do not parse: {e}")));
            return None;
        }
    };
    let outcome = (|| {
        let [vote] = b.votes.as_slice() else {
            return Err("an announced vote's bundle holds exactly one vote".to_owned());
        };
        let sm = SessionManifest::parse(&b.manifest).map_err(|e| e.to_string())?;
        let vm = VoteManifest::parse(&vote.vote_manifest, &sm).map_err(|e| e.to_string())?;
        keys.check(
            &vm,
            &sm.appliance_key,
            vote.result.as_ref().map(|r| r.counts.as_slice()),
            vote.credentials.len() as u64,
            vote.ballots.len() as u64,
        )
    })();
    check("rules", outcome);
    if let Some(prev) = &opts.previous {
        let want = keys.chain.previous_bundle_sha256.clone();
        let r = match (crate::bundle::body_sha256(prev), want) {
            (Some(g), Some(w)) if g == w => Ok(format!("follows {g}")),
            (Some(g), w) => Err(format!(
                "the previous bundle's body hashes to {g}, but this bundle names {}",
                w.unwrap_or_else(|| "no previous bundle".into())
            )),
            (None, _) => Err("the previous bundle cannot be read".into()),
        };
        check("chain.previous", r);
    }
    Some(keys)
}

/// Fuzz entry point: parse and verify arbitrary bytes as a v2 bundle; never panics.
pub fn fuzz_bundle(data: &[u8]) {
    let report = verify_document(data, &VerifyOptions::default());
    let _ = serde_json::to_string(&report);
}

pub use super::sample::{SampleSpec, SampleVote, build_bundle, sample_bundle, sample_spec};
