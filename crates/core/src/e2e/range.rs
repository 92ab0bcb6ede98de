//! The range proof's link statement (§6.3): X = Σ A_i + Σ w_j A′_j and
//! Y = Σ B_i + Σ w_j B′_j − c0·G, proved with DLEQ(G, K; X, Y) (label `range-link`, index 0).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use zeroize::Zeroizing;

use super::elgamal::{Ciphertext, JointKey};
use super::group::Element;
use super::packing::RangeParams;

/// (X, Y) of the link statement, computed from public ciphertexts (variable time).
pub fn link_statement(
    items: &[Ciphertext],
    bits: &[Ciphertext],
    params: &RangeParams,
) -> (Element, Element) {
    let w = params.weight_scalars();
    let one = Scalar::ONE;
    let mut sa: Vec<Scalar> = Vec::with_capacity(items.len() + bits.len());
    let mut pa: Vec<RistrettoPoint> = Vec::with_capacity(items.len() + bits.len());
    let mut pb: Vec<RistrettoPoint> = Vec::with_capacity(items.len() + bits.len() + 1);
    for ct in items {
        sa.push(one);
        pa.push(*ct.a.point());
        pb.push(*ct.b.point());
    }
    for (ct, wj) in bits.iter().zip(w.iter()) {
        sa.push(*wj);
        pa.push(*ct.a.point());
        pb.push(*ct.b.point());
    }
    let x = RistrettoPoint::vartime_multiscalar_mul(sa.iter(), pa.iter());
    let mut sb = sa;
    sb.push(-Scalar::from(params.c0));
    pb.push(curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT);
    let y = RistrettoPoint::vartime_multiscalar_mul(sb.iter(), pb.iter());
    (Element::from_point(x), Element::from_point(y))
}

/// The link witness ρ = Σ r_i + Σ w_j s_j.
pub fn link_witness(
    r: &[Zeroizing<Scalar>],
    s: &[Zeroizing<Scalar>],
    params: &RangeParams,
) -> Zeroizing<Scalar> {
    let mut rho = Zeroizing::new(Scalar::ZERO);
    for ri in r {
        *rho += **ri;
    }
    for (sj, wj) in s.iter().zip(params.weight_scalars().iter()) {
        *rho += wj * **sj;
    }
    rho
}

/// The DLEQ bases of the link: (G, K).
pub fn link_bases(key: &JointKey) -> (Element, Element) {
    (Element::generator(), *key.element())
}
