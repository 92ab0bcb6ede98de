//! Zero-knowledge proofs in compact (c, z) form (§5): CDS over a value set, DLEQ, Schnorr.
//!
//! Provers are constant-time in the witness (the true branch index and r): every branch is
//! computed with the same formula and the real one is chosen with `subtle` selects.
//! Verifiers recompute every commitment from decoded bytes and use variable-time arithmetic
//! on public data only.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use subtle::{ConditionallySelectable, ConstantTimeEq, ConstantTimeLess};
use zeroize::Zeroizing;

use super::drbg::ScalarSource;
use super::elgamal::{Ciphertext, JointKey};
use super::error::{E2eError, Result};
use super::group::{Element, decode_scalar, mul_base};
use super::transcript::{self, Ctx, ProofLabel};

/// One (c, z) pair: a DLEQ or Schnorr proof, or one CDS branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cz {
    /// Challenge.
    pub c: Scalar,
    /// Response.
    pub z: Scalar,
}

impl Cz {
    /// c‖z (64 bytes).
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let (l, r) = out.split_at_mut(32);
        l.copy_from_slice(self.c.as_bytes());
        r.copy_from_slice(self.z.as_bytes());
        out
    }

    /// Decodes c‖z canonically (§2.3); `field` names the pair, e.g. `items[0].proof[1]`.
    pub fn decode(bytes: &[u8], field: &str) -> Result<Self> {
        if bytes.len() != 64 {
            return Err(E2eError::Length {
                field: field.to_owned(),
                expected: 64,
                got: bytes.len(),
            });
        }
        let (c, z) = bytes.split_at(32);
        Ok(Cz {
            c: decode_scalar(c, &format!("{field}.c"))?,
            z: decode_scalar(z, &format!("{field}.z"))?,
        })
    }

    /// Decodes a JSON pair of strict hex strings.
    pub fn from_hex(c: &str, z: &str, field: &str) -> Result<Self> {
        Ok(Cz {
            c: super::group::scalar_from_hex(c, &format!("{field}.c"))?,
            z: super::group::scalar_from_hex(z, &format!("{field}.z"))?,
        })
    }
}

/// A CDS proof: one (c_i, z_i) per value of V, 64·t bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdsProof(pub Vec<Cz>);

/// The public statement of a CDS proof (§5.1), built by the verifier from decoded bytes.
#[derive(Clone, Copy, Debug)]
pub struct CdsStatement<'a> {
    /// Context digest.
    pub ctx: &'a Ctx,
    /// Proof label.
    pub label: ProofLabel,
    /// Position index.
    pub index: u64,
    /// The ciphertext.
    pub ct: &'a Ciphertext,
    /// The value set V.
    pub values: &'a [Scalar],
}

/// Proves that `st.ct` encrypts `values[j]` with randomness `r`, drawing from `rng` in the
/// normative order (for i = 0..t−1: w if i = j, else c_i then z_i).
pub fn cds_prove(
    key: &JointKey,
    st: &CdsStatement<'_>,
    j: usize,
    r: &Scalar,
    rng: &mut dyn ScalarSource,
) -> Result<CdsProof> {
    let t = st.values.len();
    if t == 0 || j >= t {
        return Err(E2eError::Range {
            field: "cds.true_index".to_owned(),
            reason: "true branch outside the value set".to_owned(),
        });
    }
    // 2t − 1 draws, consumed in the normative order whatever j is.
    let mut draws: Vec<Zeroizing<Scalar>> = Vec::with_capacity(2 * t - 1);
    for _ in 0..(2 * t - 1) {
        draws.push(rng.next_scalar()?);
    }
    let d = |k: usize| -> Scalar { draws.get(k).map(|s| **s).unwrap_or(Scalar::ZERO) };
    let j64 = j as u64;
    let mut w = Zeroizing::new(Scalar::ZERO);
    let mut m = Zeroizing::new(Scalar::ZERO);
    for (i, v) in st.values.iter().enumerate() {
        let eq = (i as u64).ct_eq(&j64);
        w.conditional_assign(&d(2 * i), eq);
        m.conditional_assign(v, eq);
    }
    // Per branch: (c̃_i, z̃_i) = (c_i, z_i) simulated, or (0, w) for the real one. Then
    // a_i = (z̃_i − c̃_i r)·G and b_i = (z̃_i − c̃_i r)·K + c̃_i (v_i − m)·G for every i.
    let mut ct_c: Vec<Zeroizing<Scalar>> = Vec::with_capacity(t);
    let mut ct_z: Vec<Zeroizing<Scalar>> = Vec::with_capacity(t);
    let mut commits = Vec::with_capacity(64 * t);
    for (i, v) in st.values.iter().enumerate() {
        let i64_ = i as u64;
        let lt = i64_.ct_lt(&j64);
        let eq = i64_.ct_eq(&j64);
        let after_c = d((2 * i).saturating_sub(1));
        let after_z = d(2 * i);
        let mut c = Scalar::conditional_select(&after_c, &d(2 * i), lt);
        c.conditional_assign(&Scalar::ZERO, eq);
        let mut z = Scalar::conditional_select(&after_z, &d(2 * i + 1), lt);
        z.conditional_assign(&w, eq);
        let rho = Zeroizing::new(z - c * r);
        let delta = Zeroizing::new(c * (v - *m));
        let a = mul_base(&rho);
        let b = key.mul(&rho) + mul_base(&delta);
        commits.extend_from_slice(a.compress().as_bytes());
        commits.extend_from_slice(b.compress().as_bytes());
        ct_c.push(Zeroizing::new(c));
        ct_z.push(Zeroizing::new(z));
    }
    let c = transcript::cds_challenge(
        st.ctx,
        st.label,
        st.index,
        key.element(),
        &st.ct.a,
        &st.ct.b,
        st.values,
        &commits,
    );
    let mut sum = Scalar::ZERO;
    for ci in &ct_c {
        sum += **ci;
    }
    let cj = c - sum;
    let zj = Zeroizing::new(*w + cj * r);
    let mut out = Vec::with_capacity(t);
    for (i, (ci, zi)) in ct_c.iter().zip(ct_z.iter()).enumerate() {
        let eq = (i as u64).ct_eq(&j64);
        out.push(Cz {
            c: Scalar::conditional_select(ci, &cj, eq),
            z: Scalar::conditional_select(zi, &zj, eq),
        });
    }
    Ok(CdsProof(out))
}

/// Verifies a CDS proof (§5.1 verifier). Variable time: all inputs are public.
pub fn cds_verify(key: &JointKey, st: &CdsStatement<'_>, proof: &CdsProof) -> bool {
    if proof.0.len() != st.values.len() || proof.0.is_empty() {
        return false;
    }
    let a_pt = *st.ct.a.point();
    let b_pt = *st.ct.b.point();
    // Every commitment is computed halved, so one `double_and_compress_batch` (one shared
    // inversion) yields the encodings of a_i and b_i themselves.
    let half = half_scalar();
    let mut halves = Vec::with_capacity(2 * proof.0.len());
    let mut sum = Scalar::ZERO;
    for (cz, v) in proof.0.iter().zip(st.values.iter()) {
        let hc = half * cz.c;
        let hz = half * cz.z;
        let neg_hc = -hc;
        // a_i = z_i·G − c_i·A
        halves.push(key.vartime_g(&hz, &[neg_hc], &[a_pt]));
        // b_i = z_i·K − c_i·B + (c_i v_i)·G
        halves.push(key.vartime_gk(&(hc * v), &hz, &[neg_hc], &[b_pt]));
        sum += cz.c;
    }
    let mut commits = Vec::with_capacity(64 * proof.0.len());
    for c in RistrettoPoint::double_and_compress_batch(halves.iter()) {
        commits.extend_from_slice(c.as_bytes());
    }
    let c = transcript::cds_challenge(
        st.ctx,
        st.label,
        st.index,
        key.element(),
        &st.ct.a,
        &st.ct.b,
        st.values,
        &commits,
    );
    bool::from(c.ct_eq(&sum))
}

/// The public statement of a DLEQ proof: X = x·g and Y = x·h.
#[derive(Clone, Copy, Debug)]
pub struct DleqStatement<'a> {
    /// Context digest.
    pub ctx: &'a Ctx,
    /// Proof label.
    pub label: ProofLabel,
    /// Position index.
    pub index: u64,
    /// Base g.
    pub g: &'a Element,
    /// Base h.
    pub h: &'a Element,
    /// X = x·g.
    pub x: &'a Element,
    /// Y = x·h.
    pub y: &'a Element,
}

/// Proves DLEQ with witness x (one draw: w). Constant time in x and w.
pub fn dleq_prove(st: &DleqStatement<'_>, x: &Scalar, rng: &mut dyn ScalarSource) -> Result<Cz> {
    let w = rng.next_scalar()?;
    let a = (*w * st.g.point()).compress().to_bytes();
    let b = (*w * st.h.point()).compress().to_bytes();
    let c = transcript::dleq_challenge(st.ctx, st.label, st.index, st.g, st.h, st.x, st.y, &a, &b);
    Ok(Cz { c, z: *w + c * x })
}

/// Verifies a DLEQ proof (§5.2).
pub fn dleq_verify(st: &DleqStatement<'_>, proof: &Cz) -> bool {
    let neg_c = -proof.c;
    let a = vartime_msm(&[proof.z, neg_c], &[*st.g.point(), *st.x.point()]);
    let b = vartime_msm(&[proof.z, neg_c], &[*st.h.point(), *st.y.point()]);
    let c = transcript::dleq_challenge(
        st.ctx,
        st.label,
        st.index,
        st.g,
        st.h,
        st.x,
        st.y,
        a.compress().as_bytes(),
        b.compress().as_bytes(),
    );
    bool::from(c.ct_eq(&proof.c))
}

/// 1/2 mod ℓ, inverted once: an inversion per proof was 4 % of a ballot's verification.
fn half_scalar() -> Scalar {
    static HALF: std::sync::LazyLock<Scalar> =
        std::sync::LazyLock::new(|| Scalar::from(2u64).invert());
    *HALF
}

fn vartime_msm(s: &[Scalar], p: &[RistrettoPoint]) -> RistrettoPoint {
    use curve25519_dalek::traits::VartimeMultiscalarMul;
    RistrettoPoint::vartime_multiscalar_mul(s.iter(), p.iter())
}

/// Proves knowledge of x with X = x·G (one draw: w).
pub fn schnorr_prove(
    ctx: &Ctx,
    label: ProofLabel,
    index: u64,
    x_pub: &Element,
    x: &Scalar,
    rng: &mut dyn ScalarSource,
) -> Result<Cz> {
    let w = rng.next_scalar()?;
    let a = mul_base(&w).compress().to_bytes();
    let c = transcript::schnorr_challenge(ctx, label, index, x_pub, &a);
    Ok(Cz { c, z: *w + c * x })
}

/// Verifies a Schnorr proof (§5.3); X = O is rejected.
pub fn schnorr_verify(
    ctx: &Ctx,
    label: ProofLabel,
    index: u64,
    x_pub: &Element,
    proof: &Cz,
) -> bool {
    if x_pub.is_identity() {
        return false;
    }
    let a =
        RistrettoPoint::vartime_double_scalar_mul_basepoint(&(-proof.c), x_pub.point(), &proof.z);
    let c = transcript::schnorr_challenge(ctx, label, index, x_pub, a.compress().as_bytes());
    bool::from(c.ct_eq(&proof.c))
}
