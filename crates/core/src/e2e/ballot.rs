//! Ballots (§7): binary record (canonical) and JSON view, ballot ctx, canonical bytes,
//! tracker and short code, the prover (§7.5) and the verifier (§7.6).

use std::collections::HashSet;

use curve25519_dalek::scalar::Scalar;
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::credential::{self, SigningIdentity};
use super::drbg::ScalarSource;
use super::elgamal::{self, Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::{decode_scalar, scalar_from_hex};
use super::hex;
use super::manifest::VoteManifest;
use super::packing::Shape;
use super::proofs::{self, CdsProof, CdsStatement, Cz, DleqStatement};
use super::range;
use super::transcript::{self, BallotCtxFields, Ctx, ProofLabel};

/// One encrypted item or range bit with its CDS proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedItem {
    /// The ciphertext.
    pub ct: Ciphertext,
    /// Its CDS proof over V (items) or {0, 1} (bits).
    pub proof: CdsProof,
}

/// The §6.3 range proof: encrypted bits and the link DLEQ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    /// Bit ciphertexts with their {0,1} proofs.
    pub bits: Vec<EncryptedItem>,
    /// The `range-link` DLEQ.
    pub link: Cz,
}

/// A ballot inside one vote (vote_id, type, M, N, L come from the vote manifest).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    /// Per-vote credential public key.
    pub cred_pk: [u8; 32],
    /// One entry per item.
    pub items: Vec<EncryptedItem>,
    /// Present iff the shape requires a range proof.
    pub range: Option<RangeProof>,
    /// Ed25519 signature over `T("ballot-sig", [tracker])`.
    pub sig: [u8; 64],
}

/// Everything a ballot is bound to: mh, the vote manifest (with vmh) and K.
#[derive(Clone, Copy, Debug)]
pub struct VoteContext<'a> {
    /// Session manifest hash mh.
    pub manifest_hash: &'a [u8; 32],
    /// The validated vote manifest.
    pub vote: &'a VoteManifest,
    /// The joint key K.
    pub key: &'a JointKey,
}

impl VoteContext<'_> {
    /// The ballot ctx of §7.2 for a credential and the ciphertext bytes.
    pub fn ballot_ctx(&self, cred: &[u8; 32], ciphertexts: &[u8]) -> Ctx {
        let shape = self.vote.shape();
        transcript::ballot_ctx(&BallotCtxFields {
            manifest: self.manifest_hash,
            vote: &self.vote.vote_id,
            vote_manifest: self.vote.hash(),
            vote_type: shape.vote_type().as_str(),
            m: shape.m() as u64,
            options: shape.l() as u64,
            max_yes: shape.max_yes() as u64,
            radix: shape.radix(),
            pk: self.key.element().as_bytes(),
            cred,
            ciphertexts,
        })
    }
}

/// The secrets an audit reveals (§12): choices, r_i, s_j. Zeroized on drop (the choices
/// too); `Debug` shows their shape, never their values.
pub struct BallotSecrets {
    /// Option index per item.
    pub choices: Zeroizing<Vec<usize>>,
    /// Item randomness.
    pub r: Vec<Zeroizing<Scalar>>,
    /// Range-bit randomness.
    pub s: Vec<Zeroizing<Scalar>>,
}

impl std::fmt::Debug for BallotSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BallotSecrets")
            .field("choices", &format_args!("[{} hidden]", self.choices.len()))
            .field("r", &format_args!("[{} hidden]", self.r.len()))
            .field("s", &format_args!("[{} hidden]", self.s.len()))
            .finish()
    }
}

impl Ballot {
    /// Every ciphertext A‖B, items then range bits (as in the ctx).
    pub fn ciphertext_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 * (self.items.len() + self.bits().len()));
        for it in self.items.iter().chain(self.bits()) {
            out.extend_from_slice(&it.ct.to_bytes());
        }
        out
    }

    /// Range bits (empty without a range proof).
    pub fn bits(&self) -> &[EncryptedItem] {
        self.range.as_ref().map_or(&[], |r| r.bits.as_slice())
    }

    /// Every c‖z in order: items' branches, bits' branches, then the link.
    pub fn proof_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for it in self.items.iter().chain(self.bits()) {
            for cz in &it.proof.0 {
                out.extend_from_slice(&cz.to_bytes());
            }
        }
        if let Some(r) = &self.range {
            out.extend_from_slice(&r.link.to_bytes());
        }
        out
    }

    /// Canonical ballot bytes T("ballot", …) (§7.3).
    pub fn canonical_bytes(&self, vote_id: &str) -> Vec<u8> {
        transcript::ballot_bytes(
            vote_id,
            &self.cred_pk,
            &self.ciphertext_bytes(),
            &self.proof_bytes(),
        )
    }

    /// Tracker = SHA-256(T("tracker", [mh, ballot bytes])).
    pub fn tracker(&self, manifest_hash: &[u8; 32], vote_id: &str) -> [u8; 32] {
        transcript::tracker(manifest_hash, &self.canonical_bytes(vote_id))
    }

    /// The binary record of §7.1.
    pub fn to_record(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 64 * 4 * self.items.len());
        out.extend_from_slice(&self.cred_pk);
        out.extend_from_slice(&self.ciphertext_bytes());
        out.extend_from_slice(&self.proof_bytes());
        out.extend_from_slice(&self.sig);
        out
    }

    /// Decodes a binary record for `shape` (§7.6 steps 1–2): exact length, every point
    /// canonical and every A ≠ O, every scalar canonical.
    pub fn from_record(bytes: &[u8], shape: &Shape) -> Result<Ballot> {
        let want = shape.record_len();
        if bytes.len() != want {
            return Err(E2eError::Length {
                field: "ballot".to_owned(),
                expected: want,
                got: bytes.len(),
            });
        }
        let mut rd = Reader { bytes, pos: 0 };
        let cred_pk: [u8; 32] = rd.array("ballot.cred_pk")?;
        let m = shape.m();
        let nb = shape.nbits();
        let mut cts = Vec::with_capacity(m + nb);
        for i in 0..(m + nb) {
            let name = if i < m {
                format!("ballot.items[{i}]")
            } else {
                format!("ballot.range.bits[{}]", i - m)
            };
            cts.push(Ciphertext::decode(rd.take(64, &name)?, &name)?);
        }
        let mut entries = Vec::with_capacity(m + nb);
        for (i, ct) in cts.into_iter().enumerate() {
            let (name, t) = if i < m {
                (format!("ballot.items[{i}].proof"), shape.l())
            } else {
                (format!("ballot.range.bits[{}].proof", i - m), 2)
            };
            let mut pairs = Vec::with_capacity(t);
            for k in 0..t {
                let c = decode_scalar(rd.take(32, &name)?, &format!("{name}.c[{k}]"))?;
                let z = decode_scalar(rd.take(32, &name)?, &format!("{name}.z[{k}]"))?;
                pairs.push(Cz { c, z });
            }
            entries.push(EncryptedItem {
                ct,
                proof: CdsProof(pairs),
            });
        }
        let bits = entries.split_off(m);
        let range = if nb > 0 {
            let c = decode_scalar(rd.take(32, "ballot.range.link")?, "ballot.range.link.c")?;
            let z = decode_scalar(rd.take(32, "ballot.range.link")?, "ballot.range.link.z")?;
            Some(RangeProof {
                bits,
                link: Cz { c, z },
            })
        } else {
            None
        };
        let sig: [u8; 64] = rd.array("ballot.sig")?;
        Ok(Ballot {
            cred_pk,
            items: entries,
            range,
            sig,
        })
    }

    /// The JSON view of §7.1 (keys in the spec's order, strict lowercase hex).
    pub fn to_json(&self, vote_id: &str, shape: &Shape) -> Value {
        let item = |it: &EncryptedItem| {
            json!({
                "A": it.ct.a.to_hex(),
                "B": it.ct.b.to_hex(),
                "proof": it.proof.0.iter().map(|cz| json!([hex::encode(cz.c.as_bytes()), hex::encode(cz.z.as_bytes())])).collect::<Vec<_>>(),
            })
        };
        let range = match &self.range {
            None => Value::Null,
            Some(r) => json!({
                "bits": r.bits.iter().map(item).collect::<Vec<_>>(),
                "link": [hex::encode(r.link.c.as_bytes()), hex::encode(r.link.z.as_bytes())],
            }),
        };
        json!({
            "vote_id": vote_id,
            "type": shape.vote_type().as_str(),
            "cred_pk": hex::encode(&self.cred_pk),
            "items": self.items.iter().map(item).collect::<Vec<_>>(),
            "range": range,
            "sig": hex::encode(&self.sig),
        })
    }

    /// Parses the JSON view and checks vote_id, type and every count against the vote
    /// manifest (§7.6 steps 1–2).
    pub fn from_json(v: &Value, vote: &VoteManifest) -> Result<Ballot> {
        let j = BallotJson::deserialize(v).map_err(|e| E2eError::Json {
            field: "ballot".to_owned(),
            reason: e.to_string(),
        })?;
        let shape = vote.shape();
        if j.vote_id != vote.vote_id {
            return Err(shape_err(
                "ballot.vote_id",
                "does not match the vote manifest",
            ));
        }
        if j.vote_type != shape.vote_type().as_str() {
            return Err(shape_err("ballot.type", "does not match the vote manifest"));
        }
        if j.items.len() != shape.m() {
            return Err(shape_err(
                "ballot.items",
                format!("expected {} items, got {}", shape.m(), j.items.len()),
            ));
        }
        let cred_pk = hex::decode_array::<32>(&j.cred_pk, "ballot.cred_pk")?;
        let items = j
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| it.decode(&format!("ballot.items[{i}]"), shape.l()))
            .collect::<Result<Vec<_>>>()?;
        let nb = shape.nbits();
        let range = match (j.range, nb) {
            (None, 0) => None,
            (None, _) => {
                return Err(shape_err(
                    "ballot.range",
                    "range proof required by the manifest is missing",
                ));
            }
            (Some(_), 0) => {
                return Err(shape_err(
                    "ballot.range",
                    "range proof present but the manifest requires none",
                ));
            }
            (Some(r), _) => {
                if r.bits.len() != nb {
                    return Err(shape_err(
                        "ballot.range.bits",
                        format!("expected {nb} bits, got {}", r.bits.len()),
                    ));
                }
                let bits = r
                    .bits
                    .iter()
                    .enumerate()
                    .map(|(k, b)| b.decode(&format!("ballot.range.bits[{k}]"), 2))
                    .collect::<Result<Vec<_>>>()?;
                let [c, z] = &r.link;
                Some(RangeProof {
                    bits,
                    link: Cz {
                        c: scalar_from_hex(c, "ballot.range.link.c")?,
                        z: scalar_from_hex(z, "ballot.range.link.z")?,
                    },
                })
            }
        };
        Ok(Ballot {
            cred_pk,
            items,
            range,
            sig: hex::decode_array::<64>(&j.sig, "ballot.sig")?,
        })
    }
}

fn shape_err(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Shape {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end.and_then(|e| self.bytes.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(E2eError::Length {
                field: field.to_owned(),
                expected: n,
                got: self.bytes.len().saturating_sub(self.pos),
            }),
        }
    }
    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let s = self.take(N, field)?;
        s.try_into().map_err(|_| E2eError::Length {
            field: field.to_owned(),
            expected: N,
            got: s.len(),
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BallotJson {
    vote_id: String,
    #[serde(rename = "type")]
    vote_type: String,
    cred_pk: String,
    items: Vec<ItemJson>,
    range: Option<RangeJson>,
    sig: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemJson {
    #[serde(rename = "A")]
    a: String,
    #[serde(rename = "B")]
    b: String,
    proof: Vec<[String; 2]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeJson {
    bits: Vec<ItemJson>,
    link: [String; 2],
}

impl ItemJson {
    fn decode(&self, field: &str, t: usize) -> Result<EncryptedItem> {
        if self.proof.len() != t {
            return Err(shape_err(
                &format!("{field}.proof"),
                format!("expected {t} branches, got {}", self.proof.len()),
            ));
        }
        let a = hex::decode_exact(&self.a, 32, &format!("{field}.A"))?;
        let b = hex::decode_exact(&self.b, 32, &format!("{field}.B"))?;
        let mut ab = a;
        ab.extend_from_slice(&b);
        let ct = Ciphertext::decode(&ab, field)?;
        let mut pairs = Vec::with_capacity(t);
        for (k, [c, z]) in self.proof.iter().enumerate() {
            pairs.push(Cz {
                c: scalar_from_hex(c, &format!("{field}.proof.c[{k}]"))?,
                z: scalar_from_hex(z, &format!("{field}.proof.z[{k}]"))?,
            });
        }
        Ok(EncryptedItem {
            ct,
            proof: CdsProof(pairs),
        })
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 of the first 10 bytes (80 bits, 16 symbols), grouped 4-4-4-4 (§7.3).
/// Also the key fingerprint format of §8.5.
pub fn short_code(digest: &[u8; 32]) -> String {
    let mut acc: u128 = 0;
    for b in digest.iter().take(10) {
        acc = (acc << 8) | u128::from(*b);
    }
    let mut out = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        let idx = ((acc >> (75 - 5 * i)) & 31) as usize;
        out.push(char::from(CROCKFORD.get(idx).copied().unwrap_or(b'0')));
    }
    out
}

/// Encrypts and proves a ballot (§7.5). `choices[i]` is the option index of item i.
/// Refuses choices outside the manifest's constraints (an honest prover never builds one).
pub fn prove_ballot(
    vc: &VoteContext<'_>,
    cred: &SigningIdentity,
    choices: &[usize],
    rng: &mut dyn ScalarSource,
) -> Result<(Ballot, BallotSecrets)> {
    let shape = vc.vote.shape();
    let m_vals = shape.encode_choices(choices)?;
    let bits = shape.range_bits(choices)?;
    let cred_pk = cred.public_key();
    // 2. r_i for every item, then s_j for every range bit.
    let mut r = Vec::with_capacity(m_vals.len());
    for _ in &m_vals {
        r.push(rng.next_scalar()?);
    }
    let mut s = Vec::with_capacity(bits.len());
    for _ in &bits {
        s.push(rng.next_scalar()?);
    }
    // 3. all ciphertexts, then ctx.
    let mut item_cts = Vec::with_capacity(m_vals.len());
    for (mv, ri) in m_vals.iter().zip(r.iter()) {
        item_cts.push(elgamal::encrypt(vc.key, &Scalar::from(*mv), ri)?);
    }
    let mut bit_cts = Vec::with_capacity(bits.len());
    for (b, sj) in bits.iter().zip(s.iter()) {
        bit_cts.push(elgamal::encrypt(vc.key, &Scalar::from(u64::from(*b)), sj)?);
    }
    let mut ct_bytes = Vec::with_capacity(64 * (item_cts.len() + bit_cts.len()));
    for ct in item_cts.iter().chain(bit_cts.iter()) {
        ct_bytes.extend_from_slice(&ct.to_bytes());
    }
    let ctx = vc.ballot_ctx(&cred_pk, &ct_bytes);
    rng.set_context(&ctx);
    // 4. item proofs, bit proofs, link.
    let values = shape.values();
    let mut items = Vec::with_capacity(item_cts.len());
    for (i, ((ct, ri), j)) in item_cts
        .iter()
        .zip(r.iter())
        .zip(choices.iter())
        .enumerate()
    {
        let st = CdsStatement {
            ctx: &ctx,
            label: ProofLabel::Item,
            index: i as u64,
            ct,
            values: &values,
        };
        let proof = proofs::cds_prove(vc.key, &st, *j, ri, rng)?;
        items.push(EncryptedItem { ct: *ct, proof });
    }
    let range = match shape.range() {
        None => None,
        Some(params) => {
            let bit_values = [Scalar::ZERO, Scalar::ONE];
            let mut out = Vec::with_capacity(bit_cts.len());
            for (k, ((ct, sj), b)) in bit_cts.iter().zip(s.iter()).zip(bits.iter()).enumerate() {
                let st = CdsStatement {
                    ctx: &ctx,
                    label: ProofLabel::RangeBit,
                    index: k as u64,
                    ct,
                    values: &bit_values,
                };
                let proof = proofs::cds_prove(vc.key, &st, usize::from(*b), sj, rng)?;
                out.push(EncryptedItem { ct: *ct, proof });
            }
            let (x, y) = range::link_statement(&item_cts, &bit_cts, &params);
            let (g, h) = range::link_bases(vc.key);
            let rho = range::link_witness(&r, &s, &params);
            let st = DleqStatement {
                ctx: &ctx,
                label: ProofLabel::RangeLink,
                index: 0,
                g: &g,
                h: &h,
                x: &x,
                y: &y,
            };
            let link = proofs::dleq_prove(&st, &rho, rng)?;
            Some(RangeProof { bits: out, link })
        }
    };
    // 5. tracker and signature.
    let mut ballot = Ballot {
        cred_pk,
        items,
        range,
        sig: [0u8; 64],
    };
    let tracker = ballot.tracker(vc.manifest_hash, &vc.vote.vote_id);
    ballot.sig = cred.sign(&transcript::ballot_sig_message(&tracker));
    Ok((
        ballot,
        BallotSecrets {
            choices: Zeroizing::new(choices.to_vec()),
            r,
            s,
        },
    ))
}

/// Verifies a decoded ballot (§7.6 steps 1 and 3–6; step 2 is done by the decoders).
/// Returns the tracker. Every failure names the field.
pub fn verify_ballot(vc: &VoteContext<'_>, ballot: &Ballot) -> Result<[u8; 32]> {
    let shape = vc.vote.shape();
    // 1. shape.
    if ballot.items.len() != shape.m() {
        return Err(shape_err(
            "ballot.items",
            format!("expected {} items, got {}", shape.m(), ballot.items.len()),
        ));
    }
    for (i, it) in ballot.items.iter().enumerate() {
        if it.proof.0.len() != shape.l() {
            return Err(shape_err(
                &format!("ballot.items[{i}].proof"),
                "wrong number of branches",
            ));
        }
        if it.ct.a.is_identity() {
            return Err(E2eError::IdentityForbidden {
                field: format!("ballot.items[{i}].A"),
            });
        }
    }
    let params = shape.range();
    match (&ballot.range, &params) {
        (None, None) => {}
        (Some(r), Some(p)) => {
            if r.bits.len() != p.weights.len() {
                return Err(shape_err("ballot.range.bits", "wrong number of bits"));
            }
            for (k, b) in r.bits.iter().enumerate() {
                if b.proof.0.len() != 2 {
                    return Err(shape_err(
                        &format!("ballot.range.bits[{k}].proof"),
                        "wrong number of branches",
                    ));
                }
                if b.ct.a.is_identity() {
                    return Err(E2eError::IdentityForbidden {
                        field: format!("ballot.range.bits[{k}].A"),
                    });
                }
            }
        }
        (None, Some(_)) => {
            return Err(shape_err(
                "ballot.range",
                "range proof required by the manifest is missing",
            ));
        }
        (Some(_), None) => {
            return Err(shape_err(
                "ballot.range",
                "range proof present but the manifest requires none",
            ));
        }
    }
    // 3. tracker and strict signature.
    let tracker = ballot.tracker(vc.manifest_hash, &vc.vote.vote_id);
    credential::verify_field(
        &ballot.cred_pk,
        &transcript::ballot_sig_message(&tracker),
        &ballot.sig,
        "ballot.sig",
    )?;
    // 4. item proofs.
    let ctx = vc.ballot_ctx(&ballot.cred_pk, &ballot.ciphertext_bytes());
    let values = shape.values();
    for (i, it) in ballot.items.iter().enumerate() {
        let st = CdsStatement {
            ctx: &ctx,
            label: ProofLabel::Item,
            index: i as u64,
            ct: &it.ct,
            values: &values,
        };
        if !proofs::cds_verify(vc.key, &st, &it.proof) {
            return Err(E2eError::Proof {
                field: format!("ballot.items[{i}].proof"),
            });
        }
    }
    // 5–6. bits and link.
    if let (Some(r), Some(p)) = (&ballot.range, &params) {
        let bit_values = [Scalar::ZERO, Scalar::ONE];
        for (k, b) in r.bits.iter().enumerate() {
            let st = CdsStatement {
                ctx: &ctx,
                label: ProofLabel::RangeBit,
                index: k as u64,
                ct: &b.ct,
                values: &bit_values,
            };
            if !proofs::cds_verify(vc.key, &st, &b.proof) {
                return Err(E2eError::Proof {
                    field: format!("ballot.range.bits[{k}].proof"),
                });
            }
        }
        let item_cts: Vec<Ciphertext> = ballot.items.iter().map(|i| i.ct).collect();
        let bit_cts: Vec<Ciphertext> = r.bits.iter().map(|b| b.ct).collect();
        let (x, y) = range::link_statement(&item_cts, &bit_cts, p);
        let (g, h) = range::link_bases(vc.key);
        let st = DleqStatement {
            ctx: &ctx,
            label: ProofLabel::RangeLink,
            index: 0,
            g: &g,
            h: &h,
            x: &x,
            y: &y,
        };
        if !proofs::dleq_verify(&st, &r.link) {
            return Err(E2eError::Proof {
                field: "ballot.range.link".to_owned(),
            });
        }
    }
    Ok(tracker)
}

/// Box-level checks of §7.6 step 7 across one vote: cred_pk unique, every A unique by bytes,
/// cred_pk in the roll call's enabled list.
#[derive(Debug, Default)]
pub struct BallotBox {
    enabled: HashSet<[u8; 32]>,
    creds: HashSet<[u8; 32]>,
    a_values: HashSet<[u8; 32]>,
}

/// Why step 7 refused a ballot (the §7.6 rejection reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoxRejection {
    /// The credential already cast a ballot.
    DuplicateCredential,
    /// The credential is not in the roll call.
    NotEnabled,
    /// A ciphertext A repeats one already in the box.
    DuplicateCiphertext,
}

impl BallotBox {
    /// A box for the enabled credentials of the roll call.
    pub fn new(enabled: &[[u8; 32]]) -> Self {
        BallotBox {
            enabled: enabled.iter().copied().collect(),
            ..Default::default()
        }
    }

    /// Admits a verified ballot, or says why step 7 refuses it (nothing is recorded then).
    pub fn admit(&mut self, ballot: &Ballot) -> core::result::Result<(), BoxRejection> {
        if !self.enabled.contains(&ballot.cred_pk) {
            return Err(BoxRejection::NotEnabled);
        }
        if self.creds.contains(&ballot.cred_pk) {
            return Err(BoxRejection::DuplicateCredential);
        }
        let mut seen = HashSet::new();
        for it in ballot.items.iter().chain(ballot.bits()) {
            let a = it.ct.a.to_bytes();
            if self.a_values.contains(&a) || !seen.insert(a) {
                return Err(BoxRejection::DuplicateCiphertext);
            }
        }
        self.creds.insert(ballot.cred_pk);
        self.a_values.extend(seen);
        Ok(())
    }

    /// Whether this ballot's credential has cast or any of its ciphertexts is in the box
    /// (cast or audited). Only then can the store hold a receipt or an audit record for it,
    /// so a new ballot skips those lookups.
    pub fn has_seen(&self, ballot: &Ballot) -> bool {
        self.creds.contains(&ballot.cred_pk)
            || ballot
                .items
                .iter()
                .chain(ballot.bits())
                .any(|it| self.a_values.contains(&it.ct.a.to_bytes()))
    }

    /// Reserves the ciphertexts of an audited (spoiled) ballot: none may be among the cast
    /// ones (V13), and none may be cast afterwards. Nothing is recorded on a refusal.
    pub fn reserve(&mut self, ballot: &Ballot) -> core::result::Result<(), BoxRejection> {
        let mut seen = HashSet::new();
        for it in ballot.items.iter().chain(ballot.bits()) {
            let a = it.ct.a.to_bytes();
            if self.a_values.contains(&a) || !seen.insert(a) {
                return Err(BoxRejection::DuplicateCiphertext);
            }
        }
        self.a_values.extend(seen);
        Ok(())
    }

    /// Reserves the item and range-bit ciphertexts' A values of a published spoiled record
    /// (rebuilding the box from the store).
    pub fn reserve_a_values(&mut self, a_values: impl IntoIterator<Item = [u8; 32]>) {
        self.a_values.extend(a_values);
    }

    /// Number of admitted ballots (n_cast).
    pub fn len(&self) -> usize {
        self.creds.len()
    }

    /// True when no ballot was admitted.
    pub fn is_empty(&self) -> bool {
        self.creds.is_empty()
    }
}
