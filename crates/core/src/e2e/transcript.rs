//! Transcript T, H_bytes, H_scalar (§3.1) and the domain registry (§3.3).
//!
//! [`Transcript`] is the generic, injective encoding. The functions below it are the typed
//! builders of the registry: one per domain, taking every field as a parameter, so no call
//! site can forget or reorder a field (§3.2).

use curve25519_dalek::scalar::Scalar;
use ring::digest;
use zeroize::Zeroizing;

use super::group::{Element, scalar_from_wide};

/// Protocol version, the first component of every hash (§3.1).
pub const PROTOCOL: &str = "piaojue-e2e-v2";

/// Length of a context digest (H_bytes output).
pub const CTX_LEN: usize = 64;

/// A 64-byte context digest (`ctx` of every challenge).
pub type Ctx = [u8; CTX_LEN];

fn put_lp(buf: &mut Vec<u8>, x: &[u8]) {
    // Fields are bounded by the parsers (M < 2^15 items, n < 2^15 ballots), far below 4 GiB.
    let len = u32::try_from(x.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(x);
}

/// The transcript byte string T(domain, fields) (§3.1).
#[derive(Clone, Debug)]
pub struct Transcript {
    buf: Vec<u8>,
}

impl Transcript {
    /// Starts T with LP(PROTOCOL) ‖ LP(domain).
    pub fn new(domain: &str) -> Self {
        let mut buf = Vec::with_capacity(256);
        put_lp(&mut buf, PROTOCOL.as_bytes());
        put_lp(&mut buf, domain.as_bytes());
        Transcript { buf }
    }

    /// Appends LP(label) ‖ LP(value).
    pub fn field(mut self, label: &str, value: &[u8]) -> Self {
        put_lp(&mut self.buf, label.as_bytes());
        put_lp(&mut self.buf, value);
        self
    }

    /// Appends a u64 field (8 bytes big-endian, §2.4).
    pub fn field_u64(self, label: &str, v: u64) -> Self {
        self.field(label, &v.to_be_bytes())
    }

    /// The transcript bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The transcript bytes, by value.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// H_bytes = SHA-512(T) (64 bytes).
    pub fn h_bytes(&self) -> [u8; 64] {
        sha512(&self.buf)
    }

    /// H_scalar = int_LE(SHA-512(T)) mod ℓ.
    pub fn h_scalar(&self) -> Scalar {
        scalar_from_wide(&self.h_bytes())
    }

    /// SHA-256(T), used by `tracker` and `ballot-list`.
    pub fn sha256(&self) -> [u8; 32] {
        sha256(&self.buf)
    }
}

/// SHA-512 via ring.
pub fn sha512(data: &[u8]) -> [u8; 64] {
    let d = digest::digest(&digest::SHA512, data);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 via ring.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Proof labels of §3.3 (the proof's role; hashed with its index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofLabel {
    /// CDS on an item ciphertext.
    Item,
    /// CDS on a range bit.
    RangeBit,
    /// DLEQ linking the range bits to the items.
    RangeLink,
    /// DLEQ of a partial decryption.
    Partial,
    /// DLEQ of a DKG complaint.
    Complaint,
    /// Schnorr on a transport key.
    Transport,
    /// Schnorr on a coefficient commitment.
    Coeff,
}

impl ProofLabel {
    /// The ASCII label.
    pub fn as_str(self) -> &'static str {
        match self {
            ProofLabel::Item => "item",
            ProofLabel::RangeBit => "range-bit",
            ProofLabel::RangeLink => "range-link",
            ProofLabel::Partial => "partial",
            ProofLabel::Complaint => "complaint",
            ProofLabel::Transport => "transport",
            ProofLabel::Coeff => "coeff",
        }
    }
}

/// Challenge of a CDS proof (`cds`): values as 32-byte scalars, commits a_0‖b_0‖….
#[allow(clippy::too_many_arguments)]
pub fn cds_challenge(
    ctx: &Ctx,
    label: ProofLabel,
    index: u64,
    pk: &Element,
    a: &Element,
    b: &Element,
    values: &[Scalar],
    commits: &[u8],
) -> Scalar {
    let mut vals = Vec::with_capacity(32 * values.len());
    for v in values {
        vals.extend_from_slice(v.as_bytes());
    }
    Transcript::new("cds")
        .field("ctx", ctx)
        .field("label", label.as_str().as_bytes())
        .field_u64("index", index)
        .field("pk", pk.as_bytes())
        .field("A", a.as_bytes())
        .field("B", b.as_bytes())
        .field("values", &vals)
        .field("commit", commits)
        .h_scalar()
}

/// Challenge of a DLEQ proof (`dleq`).
#[allow(clippy::too_many_arguments)]
pub fn dleq_challenge(
    ctx: &Ctx,
    label: ProofLabel,
    index: u64,
    g: &Element,
    h: &Element,
    x: &Element,
    y: &Element,
    a: &[u8; 32],
    b: &[u8; 32],
) -> Scalar {
    Transcript::new("dleq")
        .field("ctx", ctx)
        .field("label", label.as_str().as_bytes())
        .field_u64("index", index)
        .field("g", g.as_bytes())
        .field("h", h.as_bytes())
        .field("X", x.as_bytes())
        .field("Y", y.as_bytes())
        .field("a", a)
        .field("b", b)
        .h_scalar()
}

/// Challenge of a Schnorr proof (`schnorr`).
pub fn schnorr_challenge(
    ctx: &Ctx,
    label: ProofLabel,
    index: u64,
    x: &Element,
    a: &[u8; 32],
) -> Scalar {
    Transcript::new("schnorr")
        .field("ctx", ctx)
        .field("label", label.as_str().as_bytes())
        .field_u64("index", index)
        .field("X", x.as_bytes())
        .field("a", a)
        .h_scalar()
}

/// Hedged nonce (`nonce`, §4): the secret is the per-vote credential seed.
pub fn nonce_scalar(secret: &[u8; 32], ctx: &Ctx, counter: u64, fresh: &[u8; 32]) -> Scalar {
    let t = Zeroizing::new(
        Transcript::new("nonce")
            .field("secret", secret)
            .field("ctx", ctx)
            .field_u64("counter", counter)
            .field("fresh", fresh)
            .into_bytes(),
    );
    scalar_from_wide(&Zeroizing::new(sha512(&t)))
}

/// The fields of `ballot-ctx` (§7.2), named so none can be left out.
#[derive(Clone, Copy, Debug)]
pub struct BallotCtxFields<'a> {
    /// Session manifest hash mh.
    pub manifest: &'a [u8; 32],
    /// vote_id.
    pub vote: &'a str,
    /// Vote manifest hash vmh.
    pub vote_manifest: &'a [u8; 32],
    /// Vote type (ASCII).
    pub vote_type: &'a str,
    /// M.
    pub m: u64,
    /// L.
    pub options: u64,
    /// N (= M when unconstrained).
    pub max_yes: u64,
    /// T.
    pub radix: u64,
    /// Joint key K.
    pub pk: &'a [u8; 32],
    /// Per-vote credential public key.
    pub cred: &'a [u8; 32],
    /// A_0‖B_0‖… items then range bits.
    pub ciphertexts: &'a [u8],
}

/// Ballot context (`ballot-ctx`, §7.2).
pub fn ballot_ctx(f: &BallotCtxFields<'_>) -> Ctx {
    Transcript::new("ballot-ctx")
        .field("manifest", f.manifest)
        .field("vote", f.vote.as_bytes())
        .field("vote_manifest", f.vote_manifest)
        .field("type", f.vote_type.as_bytes())
        .field_u64("m", f.m)
        .field_u64("options", f.options)
        .field_u64("max_yes", f.max_yes)
        .field_u64("radix", f.radix)
        .field("pk", f.pk)
        .field("cred", f.cred)
        .field("ciphertexts", f.ciphertexts)
        .h_bytes()
}

/// Canonical ballot bytes (`ballot`, §7.3); not hashed here.
pub fn ballot_bytes(vote: &str, cred: &[u8; 32], ciphertexts: &[u8], proofs: &[u8]) -> Vec<u8> {
    Transcript::new("ballot")
        .field("vote", vote.as_bytes())
        .field("cred", cred)
        .field("ciphertexts", ciphertexts)
        .field("proofs", proofs)
        .into_bytes()
}

/// Tracker = SHA-256(T("tracker", [manifest, ballot])) (§7.3).
pub fn tracker(manifest: &[u8; 32], ballot_bytes: &[u8]) -> [u8; 32] {
    Transcript::new("tracker")
        .field("manifest", manifest)
        .field("ballot", ballot_bytes)
        .sha256()
}

/// Message signed by the per-vote credential (`ballot-sig`).
pub fn ballot_sig_message(tracker: &[u8; 32]) -> Vec<u8> {
    Transcript::new("ballot-sig")
        .field("tracker", tracker)
        .into_bytes()
}

/// Per-vote Ed25519 seed (`cred-derive`, §7.4): first 32 bytes of H_bytes.
pub fn cred_derive(seed: &[u8; 32], manifest: &[u8; 32], vote: &str) -> Zeroizing<[u8; 32]> {
    let t = Zeroizing::new(
        Transcript::new("cred-derive")
            .field("seed", seed)
            .field("manifest", manifest)
            .field("vote", vote.as_bytes())
            .into_bytes(),
    );
    first32(&Zeroizing::new(sha512(&t)))
}

fn first32(h: &[u8; 64]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    for (o, i) in out.iter_mut().zip(h.iter()) {
        *o = *i;
    }
    out
}

/// Receipt message (`receipt`), signed by the appliance key.
pub fn receipt_message(manifest: &[u8; 32], vote: &str, tracker: &[u8; 32], time: u64) -> Vec<u8> {
    Transcript::new("receipt")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field("tracker", tracker)
        .field_u64("time", time)
        .into_bytes()
}

/// List hash lh (`ballot-list`, §9.2): n is the number of trackers. The caller checks that
/// the trackers are strictly increasing (see [`crate::e2e::tally::list_hash`]).
pub fn ballot_list_hash(manifest: &[u8; 32], vote: &str, trackers: &[[u8; 32]]) -> [u8; 32] {
    let mut cat = Vec::with_capacity(32 * trackers.len());
    for t in trackers {
        cat.extend_from_slice(t);
    }
    Transcript::new("ballot-list")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field_u64("n", trackers.len() as u64)
        .field("trackers", &cat)
        .sha256()
}

/// Close statement (`close`), signed by the appliance key.
pub fn close_message(manifest: &[u8; 32], vote: &str, list: &[u8; 32], n: u64) -> Vec<u8> {
    Transcript::new("close")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field("list", list)
        .field_u64("n", n)
        .into_bytes()
}

/// Roll call (`roll-call`, §7.4), signed by the CO key; credentials sorted.
pub fn roll_call_message(
    manifest: &[u8; 32],
    vote: &str,
    vote_manifest: &[u8; 32],
    credentials: &[[u8; 32]],
    cast: u64,
) -> Vec<u8> {
    let mut cat = Vec::with_capacity(32 * credentials.len());
    for c in credentials {
        cat.extend_from_slice(c);
    }
    Transcript::new("roll-call")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field("vote_manifest", vote_manifest)
        .field("credentials", &cat)
        .field_u64("cast", cast)
        .into_bytes()
}

/// Ceremony context cc (`ceremony`, §8.1); participants as concatenated u64s.
pub fn ceremony_ctx(
    manifest: &[u8; 32],
    attempt: u64,
    k: u64,
    guardians: &[[u8; 32]],
    participants: &[u64],
) -> Ctx {
    let mut ids = Vec::with_capacity(32 * guardians.len());
    for g in guardians {
        ids.extend_from_slice(g);
    }
    let mut parts = Vec::with_capacity(8 * participants.len());
    for p in participants {
        parts.extend_from_slice(&p.to_be_bytes());
    }
    Transcript::new("ceremony")
        .field("manifest", manifest)
        .field_u64("attempt", attempt)
        .field_u64("n", guardians.len() as u64)
        .field_u64("k", k)
        .field("guardians", &ids)
        .field("participants", &parts)
        .h_bytes()
}

/// Round-1 message (`dkg-round1`), signed by guardian `index`.
pub fn dkg_round1_message(
    ceremony: &Ctx,
    index: u64,
    transport_key: &[u8; 32],
    transport_pok: &[u8; 64],
    commitments: &[u8],
    coeff_poks: &[u8],
) -> Vec<u8> {
    Transcript::new("dkg-round1")
        .field("ceremony", ceremony)
        .field_u64("index", index)
        .field("transport_key", transport_key)
        .field("transport_pok", transport_pok)
        .field("commitments", commitments)
        .field("coeff_poks", coeff_poks)
        .into_bytes()
}

/// HKDF info and AEAD AD of a share blob (`dkg-share`, §8.3).
pub fn dkg_share_info(from: u64, to: u64, e: &[u8; 32], d: &[u8; 32]) -> Vec<u8> {
    Transcript::new("dkg-share")
        .field_u64("from", from)
        .field_u64("to", to)
        .field("E", e)
        .field("D", d)
        .into_bytes()
}

/// Round-2 message (`dkg-round2`), signed by the sender.
pub fn dkg_round2_message(ceremony: &Ctx, from: u64, to: u64, blob: &[u8]) -> Vec<u8> {
    Transcript::new("dkg-round2")
        .field("ceremony", ceremony)
        .field_u64("from", from)
        .field_u64("to", to)
        .field("blob", blob)
        .into_bytes()
}

/// DLEQ ctx of a complaint (`complaint-ctx`).
pub fn complaint_ctx(ceremony: &Ctx, from: u64, to: u64) -> Ctx {
    Transcript::new("complaint-ctx")
        .field("ceremony", ceremony)
        .field_u64("from", from)
        .field_u64("to", to)
        .h_bytes()
}

/// Key announcement (`key-announce`, §8.5); `round1` = SHA-256 of the concatenated round-1 messages.
pub fn key_announce_message(ceremony: &Ctx, pk: &[u8; 32], round1: &[u8; 32]) -> Vec<u8> {
    Transcript::new("key-announce")
        .field("ceremony", ceremony)
        .field("pk", pk)
        .field("round1", round1)
        .into_bytes()
}

/// The fields of `decrypt-ctx` (§9.2).
#[derive(Clone, Copy, Debug)]
pub struct DecryptCtxFields<'a> {
    /// mh.
    pub manifest: &'a [u8; 32],
    /// vote_id.
    pub vote: &'a str,
    /// vmh.
    pub vote_manifest: &'a [u8; 32],
    /// K.
    pub pk: &'a [u8; 32],
    /// cc.
    pub ceremony: &'a Ctx,
    /// List hash lh.
    pub list: &'a [u8; 32],
    /// n_cast.
    pub n: u64,
    /// Guardian index ℓ.
    pub guardian: u64,
    /// Z_ℓ.
    pub z: &'a [u8; 32],
}

/// DLEQ ctx of a partial decryption (`decrypt-ctx`).
pub fn decrypt_ctx(f: &DecryptCtxFields<'_>) -> Ctx {
    Transcript::new("decrypt-ctx")
        .field("manifest", f.manifest)
        .field("vote", f.vote.as_bytes())
        .field("vote_manifest", f.vote_manifest)
        .field("pk", f.pk)
        .field("ceremony", f.ceremony)
        .field("list", f.list)
        .field_u64("n", f.n)
        .field_u64("guardian", f.guardian)
        .field("Z", f.z)
        .h_bytes()
}

/// Decryption statement (`decryption`), signed by the guardian: totals 64·M, shares 96·M.
pub fn decryption_message(
    ceremony: &Ctx,
    vote: &str,
    list: &[u8; 32],
    n: u64,
    totals: &[u8],
    shares: &[u8],
) -> Vec<u8> {
    Transcript::new("decryption")
        .field("ceremony", ceremony)
        .field("vote", vote.as_bytes())
        .field("list", list)
        .field_u64("n", n)
        .field("totals", totals)
        .field("shares", shares)
        .into_bytes()
}

/// Test DRBG output i (`test-drbg`, §11; tests only).
pub fn test_drbg(seed: &[u8], counter: u64) -> Scalar {
    Transcript::new("test-drbg")
        .field("seed", seed)
        .field_u64("counter", counter)
        .h_scalar()
}

/// Test key seed (`test-key`, §11; tests only): first 32 bytes of H_bytes.
pub fn test_key(seed: &[u8], label: &str, i: u64) -> Zeroizing<[u8; 32]> {
    let h = Zeroizing::new(
        Transcript::new("test-key")
            .field("seed", seed)
            .field("label", label.as_bytes())
            .field_u64("i", i)
            .h_bytes(),
    );
    first32(&h)
}

/// A complaint as its complainer signs it (`dkg-complaint`; not in SPEC-E2E's registry, which
/// leaves complaints unsigned: without a signature the relay could post a complaint with a
/// false DLEQ in an honest guardian's name and so have that guardian judged faulty. See
/// docs/e2e-ceremony.md).
pub fn dkg_complaint_message(
    ceremony: &Ctx,
    from: u64,
    to: u64,
    shared: &[u8; 32],
    proof: &[u8; 64],
) -> Vec<u8> {
    Transcript::new("dkg-complaint")
        .field("ceremony", ceremony)
        .field_u64("from", from)
        .field_u64("to", to)
        .field("S", shared)
        .field("proof", proof)
        .into_bytes()
}

/// The randomness r of a dry run's test ciphertext (`dry-run`, §8.5): derived from the
/// ceremony and the dry run's vote_id, so every guardian builds the same ciphertext itself and
/// never decrypts a point someone else chose (see docs/e2e-ceremony.md).
pub fn dry_run_scalar(ceremony: &Ctx, vote: &str) -> Scalar {
    Transcript::new("dry-run")
        .field("ceremony", ceremony)
        .field("vote", vote.as_bytes())
        .h_scalar()
}

/// A tablet's cast notice to the CO (§7.3), signed with the per-vote credential
/// (`cast-notice`; SPEC-E2E names the notice's contents, not its encoding: see
/// docs/e2e-ceremony.md): the receipt's time and signature make it checkable evidence.
pub fn cast_notice_message(
    manifest: &[u8; 32],
    vote: &str,
    tracker: &[u8; 32],
    time: u64,
    receipt: &[u8; 64],
) -> Vec<u8> {
    Transcript::new("cast-notice")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field("tracker", tracker)
        .field_u64("time", time)
        .field("receipt", receipt)
        .into_bytes()
}
