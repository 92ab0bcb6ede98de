//! Share transport of the DKG (§8.3): ristretto DH-KEM + HKDF-SHA256 + ChaCha20-Poly1305.
//!
//! blob = E ‖ ChaCha20-Poly1305(key, nonce = 0¹², AD = info, enc_scalar(s)) (80 bytes), with
//! key = HKDF-SHA256(salt = cc, IKM = enc(e·D), info, 32) and info = T("dkg-share", [from, to, E, D]).
//! The zero nonce is safe because every key is used once (fresh e).

use curve25519_dalek::scalar::Scalar;
use ring::{aead, hkdf};
use zeroize::Zeroizing;

use super::error::{E2eError, Result};
use super::group::{Element, decode_scalar, mul_base};
use super::transcript::{self, Ctx};

/// Length of a share blob.
pub const BLOB_LEN: usize = 80;

struct KeyLen;
impl hkdf::KeyType for KeyLen {
    fn len(&self) -> usize {
        32
    }
}

fn terr(field: &str, reason: &'static str) -> E2eError {
    E2eError::Transport {
        field: field.to_owned(),
        reason,
    }
}

/// key = HKDF-SHA256(salt = cc, IKM = shared, info, L = 32).
pub fn derive_key(cc: &Ctx, shared: &[u8; 32], info: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, cc).extract(shared);
    let info_parts = [info];
    let okm = prk
        .expand(&info_parts, KeyLen)
        .map_err(|_| terr("share.key", "HKDF expand failed"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    okm.fill(key.as_mut_slice())
        .map_err(|_| terr("share.key", "HKDF fill failed"))?;
    Ok(key)
}

fn aead_key(key: &[u8; 32]) -> Result<aead::LessSafeKey> {
    let unbound = aead::UnboundKey::new(&aead::CHACHA20_POLY1305, key)
        .map_err(|_| terr("share.key", "bad AEAD key"))?;
    Ok(aead::LessSafeKey::new(unbound))
}

/// Encrypts share `s` from guardian `from` to guardian `to` (recipient transport key `d_to`),
/// with ephemeral secret `e`. Returns the 80-byte blob.
pub fn seal_share(
    cc: &Ctx,
    from: u64,
    to: u64,
    d_to: &Element,
    e: &Scalar,
    s: &Scalar,
) -> Result<[u8; BLOB_LEN]> {
    if d_to.is_identity() {
        return Err(E2eError::IdentityForbidden {
            field: format!("round1[{to}].transport_key"),
        });
    }
    let big_e = Element::from_point(mul_base(e));
    let shared = Zeroizing::new((e * d_to.point()).compress().to_bytes());
    let info = transcript::dkg_share_info(from, to, big_e.as_bytes(), d_to.as_bytes());
    let key = derive_key(cc, &shared, &info)?;
    let mut in_out = Zeroizing::new(s.to_bytes().to_vec());
    aead_key(&key)?
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key([0u8; 12]),
            aead::Aad::from(info.as_slice()),
            &mut *in_out,
        )
        .map_err(|_| terr("share.blob", "AEAD seal failed"))?;
    let mut blob = [0u8; BLOB_LEN];
    let (eb, ct) = blob.split_at_mut(32);
    eb.copy_from_slice(big_e.as_bytes());
    if ct.len() != in_out.len() {
        return Err(terr("share.blob", "unexpected ciphertext length"));
    }
    ct.copy_from_slice(&in_out);
    Ok(blob)
}

/// Decrypts a blob with the recipient's transport secret `d` (public key `d_pub`). Checks the
/// length (80), E (decodes, ≠ O; §8.4 step 0), the AEAD tag and that the share is canonical.
pub fn open_share(
    cc: &Ctx,
    from: u64,
    to: u64,
    d: &Scalar,
    d_pub: &Element,
    blob: &[u8],
) -> Result<Zeroizing<Scalar>> {
    let field = format!("round2[{from}][{to}]");
    if blob.len() != BLOB_LEN {
        return Err(E2eError::Length {
            field,
            expected: BLOB_LEN,
            got: blob.len(),
        });
    }
    let (eb, ct) = blob.split_at(32);
    let big_e = Element::decode_non_identity(eb, &format!("{field}.E"))?;
    let shared = Zeroizing::new((d * big_e.point()).compress().to_bytes());
    open_with_shared(cc, from, to, &big_e, d_pub, &shared, ct, &field)
}

/// Decrypts with a revealed DH value S (a complaint judge's step 2, §8.4).
#[allow(clippy::too_many_arguments)]
pub fn open_with_shared(
    cc: &Ctx,
    from: u64,
    to: u64,
    big_e: &Element,
    d_pub: &Element,
    shared: &[u8; 32],
    ct: &[u8],
    field: &str,
) -> Result<Zeroizing<Scalar>> {
    let info = transcript::dkg_share_info(from, to, big_e.as_bytes(), d_pub.as_bytes());
    let key = derive_key(cc, shared, &info)?;
    let mut in_out = Zeroizing::new(ct.to_vec());
    let plain = aead_key(&key)?
        .open_in_place(
            aead::Nonce::assume_unique_for_key([0u8; 12]),
            aead::Aad::from(info.as_slice()),
            &mut in_out,
        )
        .map_err(|_| terr(field, "AEAD authentication failed"))?;
    Ok(Zeroizing::new(decode_scalar(
        plain,
        &format!("{field}.share"),
    )?))
}
