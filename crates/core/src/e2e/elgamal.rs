//! Exponential ElGamal over ristretto255 (§4).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{
    RistrettoBasepointTable, RistrettoPoint, VartimeRistrettoPrecomputation,
};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimePrecomputedMultiscalarMul;

use super::error::{E2eError, Result};
use super::group::{Element, mul_base};

/// The joint public key K with its precomputations: a constant-time fixed-base table for
/// proving (§5.1 note) and a variable-time {G, K} table for verifying (§15). Build it once
/// per session; building costs a few hundred microseconds.
pub struct JointKey {
    elem: Element,
    table: RistrettoBasepointTable,
    vt: VartimeRistrettoPrecomputation,
}

impl core::fmt::Debug for JointKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JointKey")
            .field("K", &self.elem.to_hex())
            .finish()
    }
}

impl JointKey {
    /// Wraps K; rejects O (§2.2).
    pub fn new(k: Element, field: &str) -> Result<Self> {
        if k.is_identity() {
            return Err(E2eError::IdentityForbidden {
                field: field.to_owned(),
            });
        }
        Ok(JointKey {
            elem: k,
            table: RistrettoBasepointTable::create(k.point()),
            vt: VartimeRistrettoPrecomputation::new([RISTRETTO_BASEPOINT_POINT, *k.point()]),
        })
    }

    /// K as an element.
    pub fn element(&self) -> &Element {
        &self.elem
    }

    /// Constant-time s·K (secrets).
    pub fn mul(&self, s: &Scalar) -> RistrettoPoint {
        s * &self.table
    }

    /// Variable-time g·G + k·K + Σ d_i·P_i over public data (verification only).
    pub fn vartime_gk(
        &self,
        g: &Scalar,
        k: &Scalar,
        dyn_scalars: &[Scalar],
        dyn_points: &[RistrettoPoint],
    ) -> RistrettoPoint {
        self.vt
            .vartime_mixed_multiscalar_mul([g, k], dyn_scalars.iter(), dyn_points.iter())
    }

    /// Variable-time g·G + Σ d_i·P_i (verification only).
    pub fn vartime_g(
        &self,
        g: &Scalar,
        dyn_scalars: &[Scalar],
        dyn_points: &[RistrettoPoint],
    ) -> RistrettoPoint {
        self.vt
            .vartime_mixed_multiscalar_mul([g], dyn_scalars.iter(), dyn_points.iter())
    }
}

/// An ElGamal ciphertext (A, B) = (r·G, m·G + r·K).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// A = r·G.
    pub a: Element,
    /// B = m·G + r·K.
    pub b: Element,
}

impl Ciphertext {
    /// A‖B (64 bytes), as hashed in the ballot ctx.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        let (l, r) = out.split_at_mut(32);
        l.copy_from_slice(self.a.as_bytes());
        r.copy_from_slice(self.b.as_bytes());
        out
    }

    /// Decodes A‖B; A must not be O (r = 0 would be a plaintext ballot, §2.2).
    pub fn decode(bytes: &[u8], field: &str) -> Result<Self> {
        if bytes.len() != 64 {
            return Err(E2eError::Length {
                field: field.to_owned(),
                expected: 64,
                got: bytes.len(),
            });
        }
        let (a, b) = bytes.split_at(32);
        Ok(Ciphertext {
            a: Element::decode_non_identity(a, &format!("{field}.A"))?,
            b: Element::decode(b, &format!("{field}.B"))?,
        })
    }
}

/// Enc(m; r) in constant time. Rejects r = 0 (A would be O).
pub fn encrypt(key: &JointKey, m: &Scalar, r: &Scalar) -> Result<Ciphertext> {
    if *r == Scalar::ZERO {
        return Err(E2eError::ZeroScalar {
            field: "r".to_owned(),
        });
    }
    let a = mul_base(r);
    let b = mul_base(m) + key.mul(r);
    Ok(Ciphertext {
        a: Element::from_point(a),
        b: Element::from_point(b),
    })
}

/// Homomorphic sum of raw points (aggregation works on points, not encodings).
pub fn add_points(acc: &mut (RistrettoPoint, RistrettoPoint), ct: &Ciphertext) {
    acc.0 += ct.a.point();
    acc.1 += ct.b.point();
}
