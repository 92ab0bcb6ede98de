//! The one error type of the `e2e` module.
//!
//! Every variant names the field that failed as a path such as
//! `ballot.items[3].proof.c[1]`, so a verifier report says what was wrong without a debugger.

use thiserror::Error;

/// Why a strict Ed25519 check (§7.4) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigFailure {
    /// The public key or signature has the wrong length.
    Length,
    /// A is not a canonical Edwards encoding (y ≥ p, or x = 0 with the sign bit set) or not on the curve.
    PublicKeyEncoding,
    /// A is of small order (its multiple by 8 is the identity).
    PublicKeySmallOrder,
    /// A has a torsion component (not in the prime-order subgroup).
    PublicKeyTorsion,
    /// R is not a canonical Edwards encoding or not on the curve.
    REncoding,
    /// R is of small order.
    RSmallOrder,
    /// R has a torsion component.
    RTorsion,
    /// S ≥ ℓ.
    SNotCanonical,
    /// The cofactorless equation `[S]B = R + [k]A` does not hold.
    Equation,
}

impl core::fmt::Display for SigFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            SigFailure::Length => "wrong length",
            SigFailure::PublicKeyEncoding => "public key A is not a canonical curve point",
            SigFailure::PublicKeySmallOrder => "public key A is of small order",
            SigFailure::PublicKeyTorsion => "public key A is not torsion-free",
            SigFailure::REncoding => "R is not a canonical curve point",
            SigFailure::RSmallOrder => "R is of small order",
            SigFailure::RTorsion => "R is not torsion-free",
            SigFailure::SNotCanonical => "S is not canonical (S >= l)",
            SigFailure::Equation => "equation [S]B = R + [k]A does not hold",
        };
        f.write_str(s)
    }
}

/// Errors of the encrypted-ballot protocol. `field` is always a path naming what failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum E2eError {
    /// Hex that is not strict lowercase of the exact length (§2.4).
    #[error("{field}: bad hex: {reason}")]
    Hex {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: &'static str,
    },
    /// A byte string of the wrong length.
    #[error("{field}: expected {expected} bytes, got {got}")]
    Length {
        /// Path of the field.
        field: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// Bit 255 set in a point encoding (§2.2, the libsodium finding).
    #[error("{field}: point encoding has bit 255 set")]
    PointHighBit {
        /// Path of the field.
        field: String,
    },
    /// Not a canonical ristretto255 encoding (RFC 9496 §4.3.1).
    #[error("{field}: not a canonical ristretto255 point")]
    PointEncoding {
        /// Path of the field.
        field: String,
    },
    /// The identity where §2.2 forbids it.
    #[error("{field}: identity point is forbidden here")]
    IdentityForbidden {
        /// Path of the field.
        field: String,
    },
    /// A scalar ≥ ℓ (§2.3; never reduced).
    #[error("{field}: scalar not canonical")]
    ScalarNotCanonical {
        /// Path of the field.
        field: String,
    },
    /// A zero scalar where a non-zero one is required (e.g. an audit's r).
    #[error("{field}: scalar must not be zero")]
    ZeroScalar {
        /// Path of the field.
        field: String,
    },
    /// A zero-knowledge proof does not verify.
    #[error("{field}: proof does not verify")]
    Proof {
        /// Path of the field.
        field: String,
    },
    /// A strict Ed25519 signature check failed (§7.4).
    #[error("{field}: signature rejected: {reason}")]
    Signature {
        /// Path of the field.
        field: String,
        /// Which rule failed.
        reason: SigFailure,
    },
    /// A manifest that fails §6.4.
    #[error("{field}: manifest invalid: {reason}")]
    Manifest {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// A JSON document that does not parse or has the wrong shape.
    #[error("{field}: bad JSON: {reason}")]
    Json {
        /// Path of the field.
        field: String,
        /// The parser's message.
        reason: String,
    },
    /// A ballot whose shape does not match its vote manifest (§7.6 step 1).
    #[error("{field}: {reason}")]
    Shape {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// A value outside the range the protocol allows.
    #[error("{field}: out of range: {reason}")]
    Range {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// Share transport (§8.3) failed: HKDF or AEAD.
    #[error("{field}: share transport failed: {reason}")]
    Transport {
        /// Path of the field.
        field: String,
        /// What failed.
        reason: &'static str,
    },
    /// The tally (§9) cannot be completed.
    #[error("{field}: tally failed: {reason}")]
    Tally {
        /// Path of the field.
        field: String,
        /// What was wrong.
        reason: String,
    },
    /// The system random source failed.
    #[error("random source failed")]
    Rng,
}

/// Result alias of the module.
pub type Result<T, E = E2eError> = core::result::Result<T, E>;
