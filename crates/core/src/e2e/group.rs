//! ristretto255 group and strict encodings (§2.1–§2.3).
//!
//! [`Element`] keeps a decoded point together with the exact bytes it came from, so hashes
//! use the received canonical bytes and verifiers never re-encode what they hashed (§3.2 rule 4).

use curve25519_dalek::constants::{RISTRETTO_BASEPOINT_POINT, RISTRETTO_BASEPOINT_TABLE};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use super::error::{E2eError, Result};

/// Encoding of the standard generator G (§2.1).
pub const G_ENCODING: [u8; 32] = [
    0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00, 0x51, 0x5f,
    0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45, 0xe0, 0x8d, 0x2d, 0x76,
];

/// A decoded group element with its canonical 32-byte encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    point: RistrettoPoint,
    bytes: [u8; 32],
}

impl Element {
    /// Decodes a point per §2.2: exactly 32 bytes, bit 255 clear (explicit), RFC 9496 canonical.
    /// The identity is accepted; use [`Element::decode_non_identity`] where §2.2 forbids it.
    pub fn decode(bytes: &[u8], field: &str) -> Result<Self> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| E2eError::Length {
            field: field.to_owned(),
            expected: 32,
            got: bytes.len(),
        })?;
        if arr[31] & 0x80 != 0 {
            return Err(E2eError::PointHighBit {
                field: field.to_owned(),
            });
        }
        let point =
            CompressedRistretto(arr)
                .decompress()
                .ok_or_else(|| E2eError::PointEncoding {
                    field: field.to_owned(),
                })?;
        Ok(Element { point, bytes: arr })
    }

    /// Decodes a point that must not be the identity (K, K_{i,j}, D_i, E, every ciphertext A).
    pub fn decode_non_identity(bytes: &[u8], field: &str) -> Result<Self> {
        let e = Self::decode(bytes, field)?;
        if e.is_identity() {
            return Err(E2eError::IdentityForbidden {
                field: field.to_owned(),
            });
        }
        Ok(e)
    }

    /// Decodes strict hex (§2.4) then the point (§2.2).
    pub fn from_hex(s: &str, field: &str) -> Result<Self> {
        let b = super::hex::decode_exact(s, 32, field)?;
        Self::decode(&b, field)
    }

    /// Decodes strict hex then a non-identity point.
    pub fn from_hex_non_identity(s: &str, field: &str) -> Result<Self> {
        let b = super::hex::decode_exact(s, 32, field)?;
        Self::decode_non_identity(&b, field)
    }

    /// Wraps a computed point (compresses it once).
    pub fn from_point(point: RistrettoPoint) -> Self {
        Element {
            point,
            bytes: point.compress().to_bytes(),
        }
    }

    /// The generator G.
    pub fn generator() -> Self {
        Element {
            point: RISTRETTO_BASEPOINT_POINT,
            bytes: G_ENCODING,
        }
    }

    /// The identity O.
    pub fn identity() -> Self {
        Element {
            point: RistrettoPoint::identity(),
            bytes: [0u8; 32],
        }
    }

    /// The point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// The canonical encoding, by value.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// Lowercase hex of the encoding.
    pub fn to_hex(&self) -> String {
        super::hex::encode(&self.bytes)
    }

    /// True for O (its canonical encoding is 32 zero bytes).
    pub fn is_identity(&self) -> bool {
        self.bytes == [0u8; 32]
    }
}

/// Decodes a canonical scalar (§2.3): exactly 32 bytes little-endian, x < ℓ, never reduced.
pub fn decode_scalar(bytes: &[u8], field: &str) -> Result<Scalar> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| E2eError::Length {
        field: field.to_owned(),
        expected: 32,
        got: bytes.len(),
    })?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(arr)).ok_or_else(|| {
        E2eError::ScalarNotCanonical {
            field: field.to_owned(),
        }
    })
}

/// Decodes strict hex then a canonical scalar.
pub fn scalar_from_hex(s: &str, field: &str) -> Result<Scalar> {
    let b = super::hex::decode_exact(s, 32, field)?;
    decode_scalar(&b, field)
}

/// Wide reduction of 64 bytes mod ℓ, for derived and random scalars (no bias).
pub fn scalar_from_wide(bytes: &[u8; 64]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(bytes)
}

/// A small signed integer as a scalar: a negative w is ℓ − |w| (§2.4).
pub fn scalar_from_i64(w: i64) -> Scalar {
    let s = Scalar::from(w.unsigned_abs());
    if w < 0 { -s } else { s }
}

/// Constant-time fixed-base multiplication by G (for secrets).
pub fn mul_base(s: &Scalar) -> RistrettoPoint {
    s * RISTRETTO_BASEPOINT_TABLE
}

/// Lowercase hex of a scalar's canonical encoding.
pub fn scalar_hex(s: &Scalar) -> String {
    super::hex::encode(s.as_bytes())
}
