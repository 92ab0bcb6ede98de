//! Benaloh cast-or-audit (§12): what an independent device checks on a ballot the booth
//! revealed, and what every verifier checks on a published spoiled record (V13).

use curve25519_dalek::scalar::Scalar;

use super::ballot::{Ballot, VoteContext, short_code, verify_ballot};
use super::elgamal::{self, JointKey};
use super::group::decode_scalar;
use super::manifest::{SessionManifest, VoteManifest};

/// What the booth reveals for an audited ballot: choices, r_0..r_{M−1}, s_0..s_{nbits−1}.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revealed {
    /// Option index per item.
    pub choices: Vec<u64>,
    /// Item randomness.
    pub r: Vec<[u8; 32]>,
    /// Range-bit randomness.
    pub s: Vec<[u8; 32]>,
}

/// The re-encryption check (§12 M6): exactly M choices and M values r, each choice in range,
/// each r and s canonical and non-zero, every item and every range bit re-derived from the
/// choices re-encrypts to the given ciphertexts (A‖B).
pub fn reencrypts(
    vm: &VoteManifest,
    key: &JointKey,
    items: &[[u8; 64]],
    bits: &[[u8; 64]],
    rev: &Revealed,
) -> Result<(), String> {
    let shape = vm.shape();
    let m = shape.m();
    let nb = shape.nbits();
    if items.len() != m || rev.choices.len() != m || rev.r.len() != m {
        return Err(format!(
            "need exactly {m} items, choices and r (got {}, {}, {})",
            items.len(),
            rev.choices.len(),
            rev.r.len()
        ));
    }
    let choices: Vec<usize> = rev
        .choices
        .iter()
        .map(|c| usize::try_from(*c).unwrap_or(usize::MAX))
        .collect();
    let vals = shape.encode_choices(&choices).map_err(|e| e.to_string())?;
    let want_bits = shape.range_bits(&choices).map_err(|e| e.to_string())?;
    if bits.len() != nb || rev.s.len() != nb || want_bits.len() != nb {
        return Err(format!(
            "need exactly {nb} range bits and s (got {}, {})",
            bits.len(),
            rev.s.len()
        ));
    }
    let enc = |val: u64, rand: &[u8; 32], ct: &[u8; 64], f: &str| {
        let r = decode_scalar(rand, f).map_err(|e| e.to_string())?;
        if r == Scalar::ZERO {
            return Err(format!("{f}: zero"));
        }
        let c = elgamal::encrypt(key, &Scalar::from(val), &r).map_err(|e| e.to_string())?;
        if &c.to_bytes() != ct {
            return Err(format!("{f}: ciphertext does not re-encrypt"));
        }
        Ok(())
    };
    for (i, ((v, r), ct)) in vals.iter().zip(&rev.r).zip(items).enumerate() {
        enc(*v, r, ct, &format!("r[{i}]"))?;
    }
    for (j, ((b, s), ct)) in want_bits.iter().zip(&rev.s).zip(bits).enumerate() {
        enc(u64::from(*b), s, ct, &format!("s[{j}]"))?;
    }
    Ok(())
}

/// The independent device's audit of a revealed ballot (§12 step 3): the ballot is valid
/// (§7.6 1–6), its short tracker is the one the booth showed, and it re-encrypts to the
/// revealed choices. Returns the tracker.
pub fn audit_ballot(
    sm: &SessionManifest,
    vm: &VoteManifest,
    key: &JointKey,
    ballot: &Ballot,
    rev: &Revealed,
    shown: &str,
) -> Result<[u8; 32], String> {
    let tracker = verify_ballot(
        &VoteContext {
            manifest_hash: sm.hash(),
            vote: vm,
            key,
        },
        ballot,
    )
    .map_err(|e| format!("the ballot is not valid: {e}"))?;
    let code = short_code(&tracker);
    let norm = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    if norm(&code) != norm(shown) {
        return Err(format!(
            "the tracker is {code}, not {shown} as the booth showed"
        ));
    }
    let items: Vec<[u8; 64]> = ballot.items.iter().map(|i| i.ct.to_bytes()).collect();
    let bits: Vec<[u8; 64]> = ballot.bits().iter().map(|b| b.ct.to_bytes()).collect();
    reencrypts(vm, key, &items, &bits, rev)?;
    Ok(tracker)
}

/// The booth's audit document, `piaojue-audit/1` (the QR code the independent device reads and
/// the body of the appliance's spoil request): the whole signed ballot, what it reveals and the
/// short code the booth showed.
#[derive(Clone, Debug)]
pub struct AuditDocument {
    /// The vote the ballot is for.
    pub vote_id: String,
    /// The ballot exactly as it would have been cast (credential, proofs, signature).
    pub ballot: Ballot,
    /// Choices, r and s.
    pub revealed: Revealed,
    /// The short code the booth showed ("" when absent).
    pub shown: String,
}

/// The audit document's format string.
pub const AUDIT_FORMAT: &str = "piaojue-audit/1";

impl AuditDocument {
    /// Parses the document for `vm` (exact lengths are left to `reencrypts`; strict hex here).
    pub fn from_json(doc: &serde_json::Value, vm: &VoteManifest) -> Result<AuditDocument, String> {
        if doc["format"] != AUDIT_FORMAT {
            return Err(format!("format: not {AUDIT_FORMAT}"));
        }
        let vote_id = doc["vote_id"].as_str().unwrap_or("");
        if vote_id != vm.vote_id {
            return Err("vote_id: not this vote".into());
        }
        let ballot = Ballot::from_json(&doc["ballot"], vm).map_err(|e| format!("ballot: {e}"))?;
        let list32 = |k: &str| -> Result<Vec<[u8; 32]>, String> {
            doc[k]
                .as_array()
                .ok_or_else(|| format!("{k}: expected a list"))?
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    super::hex::decode_array::<32>(x.as_str().unwrap_or(""), &format!("{k}[{i}]"))
                        .map_err(|e| e.to_string())
                })
                .collect()
        };
        let choices = doc["choices"]
            .as_array()
            .ok_or("choices: expected a list")?
            .iter()
            .enumerate()
            .map(|(i, c)| c.as_u64().ok_or(format!("choices[{i}]: not an index")))
            .collect::<Result<_, _>>()?;
        Ok(AuditDocument {
            vote_id: vote_id.to_owned(),
            ballot,
            revealed: Revealed {
                choices,
                r: list32("r")?,
                s: list32("s")?,
            },
            shown: doc["shown"].as_str().unwrap_or("").to_owned(),
        })
    }

    /// The spoiled record the appliance publishes (§12 S4): tracker, item and bit
    /// ciphertexts, choices, r and s, without the credential, the signature or the proofs.
    pub fn spoiled_record(&self, tracker: &[u8; 32]) -> serde_json::Value {
        use super::hex::encode;
        let pair = |c: &elgamal::Ciphertext| {
            serde_json::json!([encode(c.a.as_bytes()), encode(c.b.as_bytes())])
        };
        serde_json::json!({
            "tracker": encode(tracker),
            "items": self.ballot.items.iter().map(|i| pair(&i.ct)).collect::<Vec<_>>(),
            "bits": self.ballot.bits().iter().map(|b| pair(&b.ct)).collect::<Vec<_>>(),
            "choices": self.revealed.choices,
            "r": self.revealed.r.iter().map(|x| encode(x)).collect::<Vec<_>>(),
            "s": self.revealed.s.iter().map(|x| encode(x)).collect::<Vec<_>>(),
        })
    }
}
