//! A vote's public record and its decryption (SPEC-E2E §7.4, §9): the CO's roll call, the
//! appliance's close statement, a guardian's partial decryption, and the combination. Shared
//! by the appliance (which checks what it relays), the scrutineer's checklist G1–G6 and the
//! bundle builder; wire formats are the bundle's (§10.1).

use std::collections::HashSet;

use curve25519_dalek::scalar::Scalar;
use serde_json::{Value, json};

use super::ballot::{Ballot, BallotBox, BoxRejection, VoteContext, verify_ballot};
use super::credential::{self, SigningIdentity};
use super::drbg::ScalarSource;
use super::elgamal::{Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::Element;
use super::hex;
use super::manifest::{SessionManifest, VoteManifest};
use super::proofs::Cz;
use super::tally::{self, DlogTable, PartialShare};
use super::transcript::{self, Ctx};

fn jerr(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Json {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn hex32(v: &Value, f: &str) -> Result<[u8; 32]> {
    hex::decode_array(
        v.as_str().ok_or_else(|| jerr(f, "expected a hex string"))?,
        f,
    )
}

fn hex64(v: &Value, f: &str) -> Result<[u8; 64]> {
    hex::decode_array(
        v.as_str().ok_or_else(|| jerr(f, "expected a hex string"))?,
        f,
    )
}

fn exact_keys(v: &Value, f: &str, keys: &[&str]) -> Result<()> {
    let o = v.as_object().ok_or_else(|| jerr(f, "expected an object"))?;
    if let Some(k) = o.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(jerr(f, format!("unknown field `{k}`")));
    }
    if let Some(k) = keys.iter().find(|k| !o.contains_key(**k)) {
        return Err(jerr(f, format!("missing field `{k}`")));
    }
    Ok(())
}

/// The CO's roll call (§7.4): the sorted per-vote credentials of the deputies present and
/// the cast count, signed with the CO key. The opening roll call carries cast_count 0 (the
/// count is not known yet); the closing one repeats the list with the count of distinct
/// cast notices. Only the closing one enters G3, V14 and V15.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollCall {
    /// Per-vote credential public keys, strictly increasing.
    pub credentials: Vec<[u8; 32]>,
    /// Distinct cast notices (0 at opening).
    pub cast_count: u64,
    /// Ed25519(CO, `roll-call`).
    pub sig: [u8; 64],
}

impl RollCall {
    /// Signs a roll call with the CO's key.
    pub fn sign(
        co: &SigningIdentity,
        sm: &SessionManifest,
        vm: &VoteManifest,
        mut credentials: Vec<[u8; 32]>,
        cast_count: u64,
    ) -> RollCall {
        credentials.sort_unstable();
        credentials.dedup();
        let sig = co.sign(&transcript::roll_call_message(
            sm.hash(),
            &vm.vote_id,
            vm.hash(),
            &credentials,
            cast_count,
        ));
        RollCall {
            credentials,
            cast_count,
            sig,
        }
    }

    /// The JSON view (the bundle's `roll_call`).
    pub fn to_json(&self) -> Value {
        json!({
            "credentials": self.credentials.iter().map(|c| hex::encode(c)).collect::<Vec<_>>(),
            "cast_count": self.cast_count,
            "sig": hex::encode(&self.sig),
        })
    }

    /// Parses the JSON view strictly.
    pub fn from_json(v: &Value, f: &str) -> Result<RollCall> {
        exact_keys(v, f, &["credentials", "cast_count", "sig"])?;
        Ok(RollCall {
            credentials: v["credentials"]
                .as_array()
                .ok_or_else(|| jerr(&format!("{f}.credentials"), "expected an array"))?
                .iter()
                .enumerate()
                .map(|(i, c)| hex32(c, &format!("{f}.credentials[{i}]")))
                .collect::<Result<_>>()?,
            cast_count: v["cast_count"]
                .as_u64()
                .ok_or_else(|| jerr(&format!("{f}.cast_count"), "expected an integer"))?,
            sig: hex64(&v["sig"], &format!("{f}.sig"))?,
        })
    }

    /// Sorted and unique, at most max_electorate, signed by the manifest's CO key.
    pub fn verify(&self, sm: &SessionManifest, vm: &VoteManifest, f: &str) -> Result<()> {
        if self
            .credentials
            .windows(2)
            .any(|w| matches!(w, [a, b] if a >= b))
        {
            return Err(E2eError::Range {
                field: format!("{f}.credentials"),
                reason: "not strictly increasing".into(),
            });
        }
        if self.credentials.len() as u64 > sm.max_electorate {
            return Err(E2eError::Range {
                field: format!("{f}.credentials"),
                reason: format!("more than max_electorate = {}", sm.max_electorate),
            });
        }
        let msg = transcript::roll_call_message(
            sm.hash(),
            &vm.vote_id,
            vm.hash(),
            &self.credentials,
            self.cast_count,
        );
        credential::verify_field(&sm.credential_officer, &msg, &self.sig, &format!("{f}.sig"))
    }
}

/// The appliance's close statement (§9.2, `close`): the list hash and n_cast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    /// lh.
    pub list_hash: [u8; 32],
    /// n_cast.
    pub n_cast: u64,
    /// Ed25519(appliance key, `close`).
    pub sig: [u8; 64],
}

impl Close {
    /// The JSON view.
    pub fn to_json(&self) -> Value {
        json!({
            "list_hash": hex::encode(&self.list_hash),
            "n_cast": self.n_cast,
            "close_sig": hex::encode(&self.sig),
        })
    }

    /// Parses the JSON view.
    pub fn from_json(v: &Value, f: &str) -> Result<Close> {
        exact_keys(v, f, &["list_hash", "n_cast", "close_sig"])?;
        Ok(Close {
            list_hash: hex32(&v["list_hash"], &format!("{f}.list_hash"))?,
            n_cast: v["n_cast"]
                .as_u64()
                .ok_or_else(|| jerr(&format!("{f}.n_cast"), "expected an integer"))?,
            sig: hex64(&v["close_sig"], &format!("{f}.close_sig"))?,
        })
    }

    /// The close signature under the manifest's appliance key.
    pub fn verify(&self, sm: &SessionManifest, vote_id: &str) -> Result<()> {
        let msg = transcript::close_message(sm.hash(), vote_id, &self.list_hash, self.n_cast);
        credential::verify_field(&sm.appliance_key, &msg, &self.sig, "close_sig")
    }
}

/// One guardian's partial decryption (§9.2 wire format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partial {
    /// ℓ.
    pub guardian: u64,
    /// One share per item.
    pub shares: Vec<PartialShare>,
    /// Ed25519(id_ℓ, `decryption`).
    pub sig: [u8; 64],
}

impl Partial {
    /// `{"guardian", "shares":[{"M","proof":[c,z]}], "sig"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "guardian": self.guardian,
            "shares": self.shares.iter().map(|s| json!({
                "M": s.m.to_hex(),
                "proof": [hex::encode(s.proof.c.as_bytes()), hex::encode(s.proof.z.as_bytes())],
            })).collect::<Vec<_>>(),
            "sig": hex::encode(&self.sig),
        })
    }

    /// Parses the wire format strictly.
    pub fn from_json(v: &Value, f: &str) -> Result<Partial> {
        exact_keys(v, f, &["guardian", "shares", "sig"])?;
        let shares = v["shares"]
            .as_array()
            .ok_or_else(|| jerr(&format!("{f}.shares"), "expected an array"))?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let g = format!("{f}.shares[{i}]");
                exact_keys(s, &g, &["M", "proof"])?;
                let p = s["proof"]
                    .as_array()
                    .filter(|p| p.len() == 2)
                    .ok_or_else(|| jerr(&format!("{g}.proof"), "expected [c, z]"))?;
                let c = hex32(&p[0], &format!("{g}.proof[0]"))?;
                let z = hex32(&p[1], &format!("{g}.proof[1]"))?;
                let mut cz = [0u8; 64];
                cz[..32].copy_from_slice(&c);
                cz[32..].copy_from_slice(&z);
                Ok(PartialShare {
                    m: Element::decode(&hex32(&s["M"], &format!("{g}.M"))?, &format!("{g}.M"))?,
                    proof: Cz::decode(&cz, &format!("{g}.proof"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Partial {
            guardian: v["guardian"]
                .as_u64()
                .ok_or_else(|| jerr(&format!("{f}.guardian"), "expected an integer"))?,
            shares,
            sig: hex64(&v["sig"], &format!("{f}.sig"))?,
        })
    }
}

/// What a partial decryption of one vote is bound to (§9.2, G6).
#[derive(Clone, Copy, Debug)]
pub struct Statement<'a> {
    /// The session.
    pub session: &'a SessionManifest,
    /// The vote.
    pub vote: &'a VoteManifest,
    /// K.
    pub key: &'a Element,
    /// cc of the final attempt.
    pub cc: &'a Ctx,
    /// lh.
    pub list_hash: &'a [u8; 32],
    /// n_cast.
    pub n_cast: u64,
    /// The item totals the verifier aggregated itself.
    pub totals: &'a [Ciphertext],
}

impl Statement<'_> {
    fn ctx(&self, guardian: u64, z: &Element) -> Ctx {
        transcript::decrypt_ctx(&transcript::DecryptCtxFields {
            manifest: self.session.hash(),
            vote: &self.vote.vote_id,
            vote_manifest: self.vote.hash(),
            pk: self.key.as_bytes(),
            ceremony: self.cc,
            list: self.list_hash,
            n: self.n_cast,
            guardian,
            z: z.as_bytes(),
        })
    }

    fn message(&self, shares: &[PartialShare]) -> Vec<u8> {
        let tot: Vec<u8> = self.totals.iter().flat_map(Ciphertext::to_bytes).collect();
        let sh: Vec<u8> = shares
            .iter()
            .flat_map(|s| {
                let mut b = s.m.to_bytes().to_vec();
                b.extend_from_slice(&s.proof.to_bytes());
                b
            })
            .collect();
        transcript::decryption_message(
            self.cc,
            &self.vote.vote_id,
            self.list_hash,
            self.n_cast,
            &tot,
            &sh,
        )
    }

    /// Guardian ℓ's partial decryption of exactly these totals (constant time in z).
    pub fn decrypt(
        &self,
        guardian: u64,
        z: &Scalar,
        z_pub: &Element,
        identity: &SigningIdentity,
        rng: &mut dyn ScalarSource,
    ) -> Result<Partial> {
        let shares =
            tally::partial_decrypt(&self.ctx(guardian, z_pub), z, z_pub, self.totals, rng)?;
        let sig = identity.sign(&self.message(&shares));
        Ok(Partial {
            guardian,
            shares,
            sig,
        })
    }

    /// Checks a partial decryption: every DLEQ under Z_ℓ with this statement's ctx (so for
    /// this list and count only), and the signature under id_ℓ.
    pub fn verify(&self, p: &Partial, z_pub: &Element, f: &str) -> Result<()> {
        let id = usize::try_from(p.guardian)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| self.session.guardian_ids.get(i))
            .ok_or_else(|| E2eError::Range {
                field: format!("{f}.guardian"),
                reason: "no such guardian".into(),
            })?;
        tally::verify_partial(
            &self.ctx(p.guardian, z_pub),
            z_pub,
            self.totals,
            &p.shares,
            f,
        )?;
        credential::verify_field(id, &self.message(&p.shares), &p.sig, &format!("{f}.sig"))
    }
}

/// Why a ballot list fails G2 (or V5–V7): which ballot and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListProblem {
    /// Position in the list.
    pub index: usize,
    /// What is wrong.
    pub reason: String,
}

/// §7.6 1–6 for one ballot on this device; Ok is the tracker.
pub fn verify_one(
    sm: &SessionManifest,
    vm: &VoteManifest,
    key: &JointKey,
    b: &Ballot,
) -> Result<[u8; 32]> {
    verify_ballot(
        &VoteContext {
            manifest_hash: sm.hash(),
            vote: vm,
            key,
        },
        b,
    )
}

/// Step 7 over a whole list (credentials in the roll call and unique, every A unique) and the
/// strict tracker order; `trackers[i]` is ballot i's tracker. Returns lh.
pub fn check_list(
    sm: &SessionManifest,
    vm: &VoteManifest,
    roll: &RollCall,
    ballots: &[Ballot],
    trackers: &[[u8; 32]],
) -> core::result::Result<[u8; 32], ListProblem> {
    let mut bx = BallotBox::new(&roll.credentials);
    for (i, b) in ballots.iter().enumerate() {
        bx.admit(b).map_err(|r| ListProblem {
            index: i,
            reason: match r {
                BoxRejection::DuplicateCredential => "credential used twice",
                BoxRejection::NotEnabled => "credential not in the roll call",
                BoxRejection::DuplicateCiphertext => "a ciphertext repeats",
            }
            .into(),
        })?;
    }
    let mut seen = HashSet::new();
    if let Some(i) = trackers.iter().position(|t| !seen.insert(*t)) {
        return Err(ListProblem {
            index: i,
            reason: "tracker repeats".into(),
        });
    }
    tally::list_hash(sm.hash(), &vm.vote_id, trackers).map_err(|e| ListProblem {
        index: 0,
        reason: e.to_string(),
    })
}

/// Combines k partial decryptions (quorum sorted) and decodes the counts (§9.3–§9.4):
/// (v_i per item, counts per item).
pub fn combine_and_decode(
    vm: &VoteManifest,
    totals: &[Ciphertext],
    quorum: &[u64],
    partials: &[Partial],
    n_cast: u64,
    table: &DlogTable,
) -> Result<(Vec<u64>, Vec<Vec<u64>>)> {
    let shares: Vec<Vec<PartialShare>> = partials.iter().map(|p| p.shares.clone()).collect();
    let points = tally::combine(totals, quorum, &shares)?;
    let shape = vm.shape();
    let vmax = n_cast.saturating_mul(shape.max_value());
    let mut vs = Vec::with_capacity(points.len());
    let mut counts = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let v = table.solve(p, vmax).ok_or_else(|| E2eError::Tally {
            field: format!("totals[{i}]"),
            reason: format!("no value in 0..={vmax}"),
        })?;
        counts.push(tally::decode_counts(
            shape,
            n_cast,
            v,
            &format!("counts[{i}]"),
        )?);
        vs.push(v);
    }
    Ok((vs, counts))
}
