//! Session and vote manifests (§6.4, V1, S1): canonical JSON, checked byte for byte.
//!
//! Parsing rejects duplicate and unknown keys, re-serialises canonically (keys sorted, no
//! whitespace, integers plain, UTF-8 unescaped) and rejects unless the result equals the
//! received bytes. The hash is always of the received bytes.

use serde::{Deserialize, Serialize};

use super::credential;
use super::error::{E2eError, Result};
use super::hex;
use super::packing::{MAX_RADIX, Shape, VoteType};
use super::transcript::{PROTOCOL, sha256};

fn merr(field: &str, reason: impl Into<String>) -> E2eError {
    E2eError::Manifest {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

/// Deserialises `bytes` as `T`, re-serialises and requires identical bytes.
fn parse_canonical<T>(bytes: &[u8], field: &str) -> Result<T>
where
    T: for<'de> Deserialize<'de> + Serialize,
{
    let v: T = serde_json::from_slice(bytes).map_err(|e| E2eError::Json {
        field: field.to_owned(),
        reason: e.to_string(),
    })?;
    let again = serde_json::to_vec(&v).map_err(|e| E2eError::Json {
        field: field.to_owned(),
        reason: e.to_string(),
    })?;
    if again != bytes {
        return Err(merr(
            field,
            "not canonical JSON (sorted keys, no whitespace, no escapes)",
        ));
    }
    Ok(v)
}

// Field order = sorted key order: serde_json writes fields in declaration order.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct GuardiansJson {
    ids: Vec<String>,
    k: u64,
    n: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SessionJson {
    appliance_key: String,
    booth_hash: String,
    credential_officer: String,
    election_id: String,
    guardians: GuardiansJson,
    max_electorate: u64,
    protocol: String,
    radix: u64,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct VoteJson {
    items: Vec<String>,
    m: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_yes: Option<u64>,
    nonce: String,
    options: Vec<String>,
    session: String,
    #[serde(rename = "type")]
    vote_type: String,
    vote_id: String,
}

/// A validated session manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionManifest {
    bytes: Vec<u8>,
    hash: [u8; 32],
    /// Appliance Ed25519 key (receipts, close statements, bundle).
    pub appliance_key: [u8; 32],
    /// SHA-256 of the booth bundle.
    pub booth_hash: [u8; 32],
    /// Credential officer Ed25519 key (roll calls).
    pub credential_officer: [u8; 32],
    /// Election id (ASCII, 1–64 chars).
    pub election_id: String,
    /// Guardian identity keys, index i at position i − 1.
    pub guardian_ids: Vec<[u8; 32]>,
    /// Threshold k.
    pub k: u64,
    /// Electorate bound (1 ≤ · < T).
    pub max_electorate: u64,
    /// Radix T.
    pub radix: u64,
}

fn strict_key(s: &str, field: &str) -> Result<[u8; 32]> {
    let b = hex::decode_array::<32>(s, field)?;
    credential::check_public_key(&b).map_err(|reason| E2eError::Signature {
        field: field.to_owned(),
        reason,
    })?;
    Ok(b)
}

/// What a session manifest is made of, before its canonical bytes exist (§6.4).
#[derive(Debug, Clone)]
pub struct SessionParams {
    pub election_id: String,
    /// Radix T: a power of two, 2 ≤ T ≤ 2^15 (4096 is the only value a deployment needs).
    pub radix: u64,
    /// 1 ≤ max_electorate < T.
    pub max_electorate: u64,
    /// The guardians' (scrutineers') identity keys, in their index order (guardian i is
    /// `guardian_ids[i − 1]`).
    pub guardian_ids: Vec<[u8; 32]>,
    /// Threshold k: any k of the n guardians decrypt.
    pub k: u64,
    pub credential_officer: [u8; 32],
    pub appliance_key: [u8; 32],
    /// SHA-256 of the booth bundle installed on the tablets.
    pub booth_hash: [u8; 32],
}

impl SessionParams {
    /// The manifest's canonical bytes (keys sorted, no whitespace), validated by
    /// [`SessionManifest::parse`] as any receiver will: what is built is what is checked.
    pub fn build(&self) -> Result<SessionManifest> {
        let text = serde_json::to_string(&serde_json::json!({
            "appliance_key": hex::encode(&self.appliance_key),
            "booth_hash": hex::encode(&self.booth_hash),
            "credential_officer": hex::encode(&self.credential_officer),
            "election_id": self.election_id,
            "guardians": {
                "ids": self.guardian_ids.iter().map(|i| hex::encode(i)).collect::<Vec<_>>(),
                "k": self.k,
                "n": self.guardian_ids.len(),
            },
            "max_electorate": self.max_electorate,
            "protocol": PROTOCOL,
            "radix": self.radix,
        }))
        .map_err(|e| merr("manifest", e.to_string()))?;
        SessionManifest::parse(text.as_bytes())
    }
}

/// What a vote manifest is made of (§6.4), before its canonical bytes exist. The CO draws
/// the nonce fresh for every vote (two attempts never share a manifest).
#[derive(Debug, Clone)]
pub struct VoteParams {
    pub vote_id: String,
    pub vote_type: VoteType,
    pub items: Vec<String>,
    /// N for per_item and approve_up_to_n (None otherwise).
    pub max_yes: Option<u64>,
    /// Satisfaction's 3 or 4 labels; the fixed labels of the other types are filled in.
    pub options: Option<Vec<String>>,
    pub nonce: [u8; 16],
}

impl VoteParams {
    /// The canonical bytes, validated by [`VoteManifest::parse`] as every receiver will.
    pub fn build(&self, session: &SessionManifest) -> Result<VoteManifest> {
        let options: Vec<String> = match (fixed_options(self.vote_type), &self.options) {
            (Some(f), _) => f.iter().map(|s| (*s).to_owned()).collect(),
            (None, Some(o)) => o.clone(),
            (None, None) => return Err(merr("options", "satisfaction needs its labels")),
        };
        let mut map = serde_json::Map::new();
        map.insert("items".into(), serde_json::json!(self.items));
        map.insert("m".into(), serde_json::json!(self.items.len()));
        if let Some(n) = self.max_yes {
            map.insert("max_yes".into(), serde_json::json!(n));
        }
        map.insert("nonce".into(), serde_json::json!(hex::encode(&self.nonce)));
        map.insert("options".into(), serde_json::json!(options));
        map.insert(
            "session".into(),
            serde_json::json!(hex::encode(session.hash())),
        );
        map.insert("type".into(), serde_json::json!(self.vote_type.as_str()));
        map.insert("vote_id".into(), serde_json::json!(self.vote_id));
        let text = serde_json::to_string(&serde_json::Value::Object(map))
            .map_err(|e| merr("vote_manifest", e.to_string()))?;
        VoteManifest::parse(text.as_bytes(), session)
    }
}

impl SessionManifest {
    /// Parses and validates the exact received bytes (§6.4, V1).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let j: SessionJson = parse_canonical(bytes, "manifest")?;
        if j.protocol != PROTOCOL {
            return Err(merr("manifest.protocol", format!("must be {PROTOCOL}")));
        }
        let eid_ok = (1..=64).contains(&j.election_id.len())
            && j.election_id.bytes().all(|b| (0x20..0x7f).contains(&b));
        if !eid_ok {
            return Err(merr(
                "manifest.election_id",
                "must be 1-64 printable ASCII characters",
            ));
        }
        let t = j.radix;
        if !(2..=MAX_RADIX).contains(&t) || !t.is_power_of_two() {
            return Err(merr(
                "manifest.radix",
                "T must be a power of two with 2 <= T <= 2^15",
            ));
        }
        if j.max_electorate < 1 || j.max_electorate >= t {
            return Err(merr(
                "manifest.max_electorate",
                "need 1 <= max_electorate < T",
            ));
        }
        let g = &j.guardians;
        if !(1 <= g.k && g.k <= g.n && g.n <= 255) {
            return Err(merr("manifest.guardians", "need 1 <= k <= n <= 255"));
        }
        if g.ids.len() as u64 != g.n {
            return Err(merr("manifest.guardians.ids", "must list exactly n ids"));
        }
        let mut ids = Vec::with_capacity(g.ids.len());
        for (i, s) in g.ids.iter().enumerate() {
            let id = strict_key(s, &format!("manifest.guardians.ids[{i}]"))?;
            if ids.contains(&id) {
                return Err(merr(
                    &format!("manifest.guardians.ids[{i}]"),
                    "duplicate guardian id",
                ));
            }
            ids.push(id);
        }
        Ok(SessionManifest {
            bytes: bytes.to_vec(),
            hash: sha256(bytes),
            appliance_key: strict_key(&j.appliance_key, "manifest.appliance_key")?,
            booth_hash: hex::decode_array::<32>(&j.booth_hash, "manifest.booth_hash")?,
            credential_officer: strict_key(&j.credential_officer, "manifest.credential_officer")?,
            election_id: j.election_id,
            guardian_ids: ids,
            k: g.k,
            max_electorate: j.max_electorate,
            radix: t,
        })
    }

    /// The exact bytes received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// mh = SHA-256 of the received bytes.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    /// n.
    pub fn n(&self) -> u64 {
        self.guardian_ids.len() as u64
    }
}

/// A validated vote manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteManifest {
    bytes: Vec<u8>,
    hash: [u8; 32],
    /// vote_id.
    pub vote_id: String,
    /// Item texts.
    pub items: Vec<String>,
    /// Option labels in encoding order.
    pub options: Vec<String>,
    /// N as written (None for motion and satisfaction).
    pub max_yes: Option<u64>,
    /// The CO's 16-byte nonce.
    pub nonce: [u8; 16],
    shape: Shape,
}

/// The fixed option labels of §6.4 (None for satisfaction).
pub fn fixed_options(t: VoteType) -> Option<&'static [&'static str]> {
    match t {
        VoteType::Motion => Some(&["弃权", "反对", "赞成"]),
        VoteType::PerItem => Some(&["弃权", "不赞成", "赞成"]),
        VoteType::ApproveUpToN => Some(&["不选", "选"]),
        VoteType::Satisfaction => None,
    }
}

/// Checks a vote_id against `[a-z0-9-]{1,64}`.
pub fn valid_vote_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl VoteManifest {
    /// Parses and validates the exact received bytes against the session (§6.4, V1).
    pub fn parse(bytes: &[u8], session: &SessionManifest) -> Result<Self> {
        Self::parse_with(bytes, Some(session.hash()), session.radix)
    }

    /// Like [`VoteManifest::parse`] with the session given as (mh, T). `None` skips the
    /// `session` = mh binding: for fuzzing and tools only, never in a verifier.
    pub fn parse_with(bytes: &[u8], session_hash: Option<&[u8; 32]>, radix: u64) -> Result<Self> {
        let j: VoteJson = parse_canonical(bytes, "vote_manifest")?;
        if !valid_vote_id(&j.vote_id) {
            return Err(merr("vote_manifest.vote_id", "must match [a-z0-9-]{1,64}"));
        }
        let vt = VoteType::parse(&j.vote_type)
            .ok_or_else(|| merr("vote_manifest.type", "unknown vote type"))?;
        match fixed_options(vt) {
            Some(fixed) => {
                if j.options.len() != fixed.len()
                    || j.options.iter().zip(fixed.iter()).any(|(a, b)| a != b)
                {
                    return Err(merr(
                        "vote_manifest.options",
                        "labels must be exactly the fixed labels of the type",
                    ));
                }
            }
            None => {
                if !(3..=4).contains(&j.options.len()) {
                    return Err(merr(
                        "vote_manifest.options",
                        "satisfaction needs 3 or 4 labels",
                    ));
                }
                for (i, o) in j.options.iter().enumerate() {
                    if o.is_empty() || j.options.iter().take(i).any(|p| p == o) {
                        return Err(merr(
                            &format!("vote_manifest.options[{i}]"),
                            "labels must be non-empty and distinct",
                        ));
                    }
                }
            }
        }
        let shape =
            Shape::new(vt, j.m, j.options.len() as u64, j.max_yes, radix).map_err(|e| match e {
                E2eError::Range { field, reason } => {
                    merr(&format!("vote_manifest.{field}"), reason)
                }
                other => other,
            })?;
        if j.items.len() as u64 != j.m {
            return Err(merr("vote_manifest.items", "must list exactly m items"));
        }
        if let Some(i) = j.items.iter().position(String::is_empty) {
            return Err(merr(
                &format!("vote_manifest.items[{i}]"),
                "must be non-empty",
            ));
        }
        let got_session = hex::decode_array::<32>(&j.session, "vote_manifest.session")?;
        if session_hash.is_some_and(|mh| *mh != got_session) {
            return Err(merr(
                "vote_manifest.session",
                "does not equal the session manifest hash",
            ));
        }
        let nonce = hex::decode_array::<16>(&j.nonce, "vote_manifest.nonce")?;
        Ok(VoteManifest {
            bytes: bytes.to_vec(),
            hash: sha256(bytes),
            vote_id: j.vote_id,
            items: j.items,
            options: j.options,
            max_yes: j.max_yes,
            nonce,
            shape,
        })
    }

    /// The exact bytes received.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// vmh = SHA-256 of the received bytes.
    pub fn hash(&self) -> &[u8; 32] {
        &self.hash
    }
    /// The crypto shape (type, M, L, N, T).
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
}

/// Parses a manifest without session binding, for the round-trip fuzz target: returns the
/// canonical re-serialisation of a session or vote manifest if `bytes` parse as either.
pub fn reserialize_any(bytes: &[u8]) -> Option<Vec<u8>> {
    if let Ok(s) = serde_json::from_slice::<SessionJson>(bytes) {
        return serde_json::to_vec(&s).ok();
    }
    if let Ok(v) = serde_json::from_slice::<VoteJson>(bytes) {
        return serde_json::to_vec(&v).ok();
    }
    None
}
