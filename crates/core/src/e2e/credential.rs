//! Per-vote credentials and the one strict Ed25519 rule of §7.4 (M4).
//!
//! Verification is implemented here on top of curve25519-dalek, not delegated to
//! ed25519-dalek's `verify`/`verify_strict` (both accept cases §7.4 rejects):
//! 1. |A| = 32, |sig| = 64;
//! 2. A and R canonical (re-encoding equals the input), not of small order, torsion-free;
//! 3. S < ℓ;
//! 4. the cofactorless equation `[S]B = R + [k]A`, k = SHA-512(R ‖ A ‖ M) mod ℓ.
//!
//! Signing uses ed25519-dalek (RFC 8032 deterministic signatures).

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use zeroize::Zeroizing;

use super::error::{E2eError, Result, SigFailure};
use super::transcript;

fn strict_point(
    bytes: &[u8],
    enc: SigFailure,
    small: SigFailure,
    torsion: SigFailure,
) -> core::result::Result<EdwardsPoint, SigFailure> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| SigFailure::Length)?;
    let p = CompressedEdwardsY(arr).decompress().ok_or(enc)?;
    if p.compress().to_bytes() != arr {
        return Err(enc);
    }
    if p.is_small_order() {
        return Err(small);
    }
    if !torsion_free_vartime(&p) {
        return Err(torsion);
    }
    Ok(p)
}

/// [ℓ]P = O, checked as [ℓ − 1]P = −P in variable time (public data only); faster than
/// dalek's constant-time `is_torsion_free`.
fn torsion_free_vartime(p: &EdwardsPoint) -> bool {
    let l_minus_1 = -Scalar::ONE;
    EdwardsPoint::vartime_double_scalar_mul_basepoint(&l_minus_1, p, &Scalar::ZERO) == -p
}

/// Rule 2 for a public key alone (manifest keys, guardian ids, credentials; §6.4).
pub fn check_public_key(pk: &[u8]) -> core::result::Result<EdwardsPoint, SigFailure> {
    strict_point(
        pk,
        SigFailure::PublicKeyEncoding,
        SigFailure::PublicKeySmallOrder,
        SigFailure::PublicKeyTorsion,
    )
}

/// The strict Ed25519 verification of §7.4, used for every signature of the protocol.
pub fn verify_strict(pk: &[u8], msg: &[u8], sig: &[u8]) -> core::result::Result<(), SigFailure> {
    if pk.len() != 32 || sig.len() != 64 {
        return Err(SigFailure::Length);
    }
    let a = check_public_key(pk)?;
    let (r_bytes, s_bytes) = sig.split_at(32);
    // R: canonical encoding now; small order and torsion are implied by the equation once A
    // is torsion-free (R = [S]B − [k]A is then in the prime-order subgroup, and of small
    // order only if it is O). They are diagnosed after a failed equation, or checked for O.
    let r_arr: [u8; 32] = r_bytes.try_into().map_err(|_| SigFailure::Length)?;
    let r_point = CompressedEdwardsY(r_arr)
        .decompress()
        .ok_or(SigFailure::REncoding)?;
    if r_point.compress().to_bytes() != r_arr {
        return Err(SigFailure::REncoding);
    }
    if r_point.is_small_order() {
        return Err(SigFailure::RSmallOrder);
    }
    let s_arr: [u8; 32] = s_bytes.try_into().map_err(|_| SigFailure::Length)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_arr))
        .ok_or(SigFailure::SNotCanonical)?;
    let mut h = Vec::with_capacity(64 + msg.len());
    h.extend_from_slice(r_bytes);
    h.extend_from_slice(pk);
    h.extend_from_slice(msg);
    let k = Scalar::from_bytes_mod_order_wide(&transcript::sha512(&h));
    // R' = [S]B − [k]A, compared by canonical encoding with R (cofactorless).
    let r_check = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &(-a), &s);
    if r_check.compress().as_bytes() != r_bytes {
        if !torsion_free_vartime(&r_point) {
            return Err(SigFailure::RTorsion);
        }
        return Err(SigFailure::Equation);
    }
    Ok(())
}

/// [`verify_strict`] with an error naming the field.
pub fn verify_field(pk: &[u8], msg: &[u8], sig: &[u8], field: &str) -> Result<()> {
    verify_strict(pk, msg, sig).map_err(|reason| E2eError::Signature {
        field: field.to_owned(),
        reason,
    })
}

/// An Ed25519 signing key (per-vote credential, or a test identity). Zeroized on drop.
pub struct SigningIdentity {
    key: SigningKey,
}

impl core::fmt::Debug for SigningIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningIdentity")
            .field("public", &super::hex::encode(&self.public_key()))
            .finish_non_exhaustive()
    }
}

impl SigningIdentity {
    /// From a 32-byte RFC 8032 seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningIdentity {
            key: SigningKey::from_bytes(seed),
        }
    }

    /// The per-vote credential of §7.4: seed = H_bytes("cred-derive", [card seed, mh, vote_id])[0..32].
    pub fn derive_credential(card_seed: &[u8; 32], manifest: &[u8; 32], vote_id: &str) -> Self {
        let seed: Zeroizing<[u8; 32]> = transcript::cred_derive(card_seed, manifest, vote_id);
        Self::from_seed(&seed)
    }

    /// The public key A.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// Deterministic RFC 8032 signature.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}
