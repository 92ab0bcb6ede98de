//! Keys, signatures, hashing, randomness and passphrases.
//!
//! Owns: every use of `ring` and `ed25519_dalek`. Invariant: no other module imports a crypto
//! crate, so what the appliance trusts can be read in this one file. Every signature is over
//! a domain-separated message (`piaojue/v1/<what>` ‖ 0x00 ‖ bytes) and every check is strict
//! (`verify_strict`, no small-order keys), as the browser's noble `{zip215: false}` is.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, pbkdf2};
use zeroize::Zeroizing;

/// What a signature is over: each kind of signed artefact has its own domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// The ballot definition a tablet shows.
    Ballot,
    /// The receipt a tablet keeps.
    Receipt,
    /// The result bundle observers verify.
    Result,
    /// A scrutineer's co-signature of a manual check-in or a tablet reissue.
    Intervention,
    /// The session archive's manifest (`piaojue archive`).
    Archive,
}

impl Domain {
    pub fn tag(self) -> &'static str {
        match self {
            Domain::Ballot => "piaojue/v1/ballot",
            Domain::Receipt => "piaojue/v1/receipt",
            Domain::Result => "piaojue/v1/result",
            Domain::Intervention => "piaojue/v1/intervention",
            Domain::Archive => "piaojue/v1/archive",
        }
    }

    /// `tag ‖ 0x00 ‖ body`: the exact bytes an Ed25519 library signs and verifies.
    pub fn message(self, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::with_capacity(self.tag().len() + 1 + body.len());
        m.extend_from_slice(self.tag().as_bytes());
        m.push(0);
        m.extend_from_slice(body);
        m
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the operating system's random source failed")]
    Random,
    #[error("a public key must be 32 bytes as 64 hex digits")]
    KeyFormat,
    #[error(
        "the public key is not a valid, canonically encoded Ed25519 point, or is of small order"
    )]
    WeakKey,
    #[error("a signature must be 64 bytes as 128 hex digits")]
    SignatureFormat,
    #[error("the signature does not verify")]
    BadSignature,
}

/// Bytes from the OS random source (ring's `SystemRandom`).
pub fn random<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| CryptoError::Random)?;
    Ok(out)
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of `bytes`, lower-case hex: how rules documents are bound into ballots and results.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

/// Lower-case hex (`data-encoding`'s).
pub fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// Parses exactly `N` bytes of hex (either case).
pub fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let bytes = data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .ok()?;
    bytes.try_into().ok()
}

/// Crockford's base32 alphabet: typeable (no I, L, O, U) and case-insensitive.
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 without padding (`data-encoding` with Crockford's alphabet).
pub fn base32(bytes: &[u8]) -> String {
    CROCKFORD.encode(bytes)
}

/// Crockford's base32 as `data-encoding` does it (no padding; trailing bits must be zero).
static CROCKFORD: std::sync::LazyLock<data_encoding::Encoding> = std::sync::LazyLock::new(|| {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    // A constant, valid specification (32 distinct symbols): the unit tests run it.
    #[allow(clippy::expect_used)]
    spec.encoding()
        .expect("Crockford's alphabet is a valid base32 specification")
});

/// Splits `text` into groups of `size` joined by `sep`: `ABCD-EFGH-…`.
pub fn grouped(text: &str, size: usize, sep: &str) -> String {
    text.as_bytes()
        .chunks(size)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(sep)
}

/// The check symbol printed after each group of four of an enrolment code, so a tablet can
/// tell a typo (and in which group) before asking the appliance: Σ wᵢ·vᵢ mod 32 with the odd
/// weights 1, 3, 5, 7, which catches every single wrong symbol and every swap of two
/// neighbours except values 16 apart. `None` if the group is not four base32 symbols.
pub fn check_symbol(group: &str) -> Option<char> {
    let bytes = group.as_bytes();
    if bytes.len() != 4 {
        return None;
    }
    let mut sum = 0usize;
    for (b, w) in bytes.iter().zip([1usize, 3, 5, 7]) {
        let v = BASE32.iter().position(|c| c == b)?;
        sum += w * v;
    }
    BASE32.get(sum % 32).map(|&c| char::from(c))
}

/// An enrolment code as printed: groups of four, each followed by its check symbol, joined
/// by `-` (`ABCD7-EFGHK-…`). `normalize_code` reads it back.
pub fn printed_code(plain: &str) -> String {
    plain
        .as_bytes()
        .chunks(4)
        .map(|c| {
            let group = String::from_utf8_lossy(c).into_owned();
            match check_symbol(&group) {
                Some(check) => format!("{group}{check}"),
                None => group,
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A credential card's 32-byte seed as printed and typed (SPEC-E2E §7.4): Crockford base32
/// (52 symbols) in groups of four, each followed by its check symbol, like an enrolment code
/// (13 groups of five). [`parse_seed`] reads it back.
pub fn printed_seed(seed: &[u8; 32]) -> String {
    printed_code(&base32(seed))
}

/// A typed or scanned card seed: case, separators and look-alikes as for enrolment codes;
/// with its check symbols (65 symbols) each group is checked, without them (52) it is taken
/// as is. `None` for a typo the checks catch or anything that is not 32 bytes.
pub fn parse_seed(typed: &str) -> Option<[u8; 32]> {
    let folded = normalize_symbols(typed)?;
    let plain = match folded.len() {
        65 => {
            let mut plain = String::with_capacity(52);
            for group in folded.as_bytes().chunks(5) {
                let (symbols, check) = group.split_at(group.len().min(4));
                let symbols = std::str::from_utf8(symbols).ok()?;
                if check_symbol(symbols)? != char::from(*check.first()?) {
                    return None;
                }
                plain.push_str(symbols);
            }
            plain
        }
        52 => folded,
        _ => return None,
    };
    CROCKFORD.decode(plain.as_bytes()).ok()?.try_into().ok()
}

/// A typed code back to its canonical form: upper case, separators and spaces dropped,
/// Crockford's look-alikes folded (O→0, I/L→1). A code typed with its check symbols (groups
/// of five) has each group checked and the checks dropped. `None` if anything else is in it
/// or a check symbol does not match.
pub fn normalize_code(typed: &str) -> Option<String> {
    let folded = normalize_symbols(typed)?;
    if folded.len() == 40 {
        let mut plain = String::with_capacity(32);
        for group in folded.as_bytes().chunks(5) {
            let (symbols, check) = group.split_at(4);
            let symbols = std::str::from_utf8(symbols).ok()?;
            if check_symbol(symbols)? != char::from(*check.first()?) {
                return None;
            }
            plain.push_str(symbols);
        }
        return Some(plain);
    }
    Some(folded)
}

/// Upper case, separators dropped, look-alikes folded.
fn normalize_symbols(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(typed.len());
    for c in typed.chars() {
        let c = c.to_ascii_uppercase();
        match c {
            '-' | ' ' | '\u{3000}' => continue,
            'O' => out.push('0'),
            'I' | 'L' => out.push('1'),
            c if c.is_ascii() && BASE32.contains(&(c as u8)) => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

/// The appliance's Ed25519 key. The secret is zeroized on drop (dalek's `ZeroizeOnDrop`).
pub struct ApplianceKey {
    signing: SigningKey,
}

impl fmt::Debug for ApplianceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret, not even in a debug print.
        write!(f, "ApplianceKey({})", self.fingerprint())
    }
}

impl ApplianceKey {
    pub fn generate() -> Result<ApplianceKey, CryptoError> {
        let seed = Zeroizing::new(random::<32>()?);
        Ok(ApplianceKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// From the 32-byte seed as stored in the key file.
    pub fn from_seed(seed: &[u8; 32]) -> ApplianceKey {
        ApplianceKey {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The seed, for the key file only.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    pub fn public_hex(&self) -> String {
        hex(&self.public())
    }

    /// Hex of SHA-256 of the public key: what the agenda prints and tablets pin.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public())
    }

    /// Signs `domain ‖ 0 ‖ body`.
    pub fn sign(&self, domain: Domain, body: &[u8]) -> [u8; 64] {
        self.signing.sign(&domain.message(body)).to_bytes()
    }
}

pub fn fingerprint(public: &[u8; 32]) -> String {
    sha256_hex(public)
}

/// A fingerprint as printed (`20c9 0c81 …`): all 64 hex digits of the key's SHA-256, grouping,
/// spaces and case ignored. A shortened one is refused: 64 bits of a printed prefix are not
/// enough to pin a key against someone who can make keys.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], String> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a fingerprint holds only hex digits (0-9, a-f), in groups of four".into());
    }
    if digits.len() < 64 {
        return Err(format!(
            "only {} of the fingerprint's 64 hex digits: give all 16 groups as printed",
            digits.len()
        ));
    }
    unhex::<32>(&digits).ok_or_else(|| {
        format!(
            "{} hex digits: a fingerprint has exactly 64 (16 groups of four)",
            digits.len()
        )
    })
}

/// The fingerprint in groups of four, as printed: `3f2a 9c01 …`.
pub fn fingerprint_grouped(fingerprint: &str) -> String {
    grouped(fingerprint, 4, " ")
}

/// A public key from 64 hex digits, refusing undecodable, non-canonical, small-order and
/// mixed-order points (SPEC-E2E §7.4's rule for keys).
pub fn public_key(hex_text: &str) -> Result<[u8; 32], CryptoError> {
    let bytes = unhex::<32>(hex_text).ok_or(CryptoError::KeyFormat)?;
    crate::e2e::credential::check_public_key(&bytes).map_err(|_| CryptoError::WeakKey)?;
    Ok(bytes)
}

/// Verification of `signature` by `public` over `domain ‖ 0 ‖ body` under the one strict
/// Ed25519 rule every side applies (SPEC-E2E §7.4: canonical A and R, neither of small order,
/// both torsion-free, S < ℓ, the cofactorless equation), the same rule the pages apply.
pub fn verify(
    public: &[u8; 32],
    domain: Domain,
    body: &[u8],
    signature: &[u8; 64],
) -> Result<(), CryptoError> {
    crate::e2e::credential::verify_strict(public, &domain.message(body), signature).map_err(|e| {
        match e {
            crate::e2e::error::SigFailure::PublicKeyEncoding
            | crate::e2e::error::SigFailure::PublicKeySmallOrder
            | crate::e2e::error::SigFailure::PublicKeyTorsion => CryptoError::WeakKey,
            _ => CryptoError::BadSignature,
        }
    })
}

/// PBKDF2-HMAC-SHA256 rounds for the operator passphrase: slow for a guesser, about 50 ms
/// for a login on the reference machine.
const PBKDF2_ROUNDS: u32 = 100_000;

/// Hashes a passphrase for storage: `pbkdf2-sha256$ROUNDS$SALT$HASH`.
pub fn hash_passphrase(passphrase: &str) -> Result<String, CryptoError> {
    let salt = random::<16>()?;
    let mut out = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        std::num::NonZeroU32::new(PBKDF2_ROUNDS).ok_or(CryptoError::Random)?,
        &salt,
        passphrase.as_bytes(),
        &mut out,
    );
    Ok(format!(
        "pbkdf2-sha256${PBKDF2_ROUNDS}${}${}",
        hex(&salt),
        hex(&out)
    ))
}

/// Checks a passphrase against its stored hash in constant time (ring's `pbkdf2::verify`).
pub fn check_passphrase(passphrase: &str, stored: &str) -> bool {
    let mut parts = stored.split('$');
    let (Some("pbkdf2-sha256"), Some(rounds), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Some(rounds), Some(salt), Some(hash)) = (
        rounds
            .parse::<u32>()
            .ok()
            .and_then(std::num::NonZeroU32::new),
        unhex::<16>(salt),
        unhex::<32>(hash),
    ) else {
        return false;
    };
    pbkdf2::verify(
        pbkdf2::PBKDF2_HMAC_SHA256,
        rounds,
        &salt,
        passphrase.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// A fresh operator passphrase: 100 bits in five groups of four, typeable.
pub fn new_passphrase() -> Result<Zeroizing<String>, CryptoError> {
    let bytes = Zeroizing::new(random::<13>()?);
    let text = base32(bytes.as_ref());
    Ok(Zeroizing::new(grouped(&text[..20], 4, "-")))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_card_seed_prints_in_checked_groups_and_reads_back_catching_a_typo() {
        let seed = [0xA5u8; 32];
        let printed = printed_seed(&seed);
        assert_eq!(printed.len(), 13 * 5 + 12, "{printed}");
        assert_eq!(parse_seed(&printed), Some(seed));
        assert_eq!(
            parse_seed(&printed.to_lowercase().replace('-', " ")),
            Some(seed)
        );
        // One wrong symbol in one group: refused by that group's check symbol.
        let mut typo: Vec<char> = printed.chars().collect();
        typo[7] = if typo[7] == 'A' { 'B' } else { 'A' };
        assert_eq!(parse_seed(&typo.into_iter().collect::<String>()), None);
        assert_eq!(parse_seed("ABCD"), None);
    }
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 §7.1, TEST 1 (empty message), through our domain-free path.
        let seed: [u8; 32] =
            unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
        let key = ApplianceKey::from_seed(&seed);
        assert_eq!(
            key.public_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = key.signing.sign(b"").to_bytes();
        assert_eq!(
            hex(&sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }

    #[test]
    fn signatures_are_domain_separated_and_strict() {
        let key = ApplianceKey::generate().unwrap();
        let sig = key.sign(Domain::Receipt, b"body");
        assert!(verify(&key.public(), Domain::Receipt, b"body", &sig).is_ok());
        assert!(verify(&key.public(), Domain::Result, b"body", &sig).is_err());
        assert!(verify(&key.public(), Domain::Receipt, b"bodz", &sig).is_err());
        // The identity point is of small order: refused as a key.
        let identity = format!("01{}", "00".repeat(31));
        assert!(matches!(public_key(&identity), Err(CryptoError::WeakKey)));
        assert!(public_key(&key.public_hex()).is_ok());
        // Non-canonical encodings (y = p + k ≥ p, only possible for k < 19) are refused
        // whatever the point; their canonical forms (y = k) are all of mixed or small order,
        // which the strict rule refuses too.
        for k in 0u8..19 {
            let mut canonical = [0u8; 32];
            canonical[0] = k;
            let mut non_canonical = [0xffu8; 32];
            non_canonical[0] = 0xed + k;
            non_canonical[31] = 0x7f;
            assert!(public_key(&hex(&non_canonical)).is_err(), "y = p + {k}");
            assert!(public_key(&hex(&canonical)).is_err(), "y = {k}");
        }
        assert!(public_key("zz").is_err());
    }

    #[test]
    fn passphrases_hash_and_check() {
        let p = new_passphrase().unwrap();
        assert_eq!(p.len(), 24);
        let stored = hash_passphrase(&p).unwrap();
        assert!(check_passphrase(&p, &stored));
        assert!(!check_passphrase("wrong", &stored));
        assert!(!check_passphrase(&p, "garbage"));
    }

    #[test]
    fn codes_are_typeable() {
        assert_eq!(base32(&[0xff; 5]), "ZZZZZZZZ");
        // The hand-written encoder this replaced gave these, MSB first, zero-padded bits.
        assert_eq!(base32(&[0x00, 0x44, 0x32, 0x14, 0xc7]), "01234567");
        assert_eq!(base32(&[0x8c]), "HG");
        assert_eq!(base32(&[0u8; 20]).len(), 32);
        assert_eq!(hex(&[0xab, 0x01]), "ab01");
        assert_eq!(unhex::<2>("AB01"), Some([0xab, 0x01]));
        assert_eq!(unhex::<2>("ab0"), None);
        assert_eq!(unhex::<2>("ab0g"), None);
        assert_eq!(grouped("ABCDEFGH", 4, "-"), "ABCD-EFGH");
        assert_eq!(
            normalize_code("abcd-efgh o1l").as_deref(),
            Some("ABCDEFGH011")
        );
        assert_eq!(normalize_code("abc$"), None);
        // Printed codes carry a check symbol per group: read back, typos caught by group.
        let plain = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let printed = printed_code(plain);
        assert_eq!(printed.len(), 8 * 5 + 7);
        assert_eq!(normalize_code(&printed).as_deref(), Some(plain));
        assert_eq!(
            normalize_code(&printed.to_lowercase()).as_deref(),
            Some(plain)
        );
        assert_eq!(
            normalize_code(plain).as_deref(),
            Some(plain),
            "old cards still read"
        );
        for (i, _) in printed.char_indices().filter(|(_, c)| *c != '-') {
            let mut typo: Vec<char> = printed.chars().collect();
            typo[i] = if typo[i] == 'Z' { 'Y' } else { 'Z' };
            let typo: String = typo.into_iter().collect();
            assert_eq!(
                normalize_code(&typo),
                None,
                "a wrong symbol at {i} is caught"
            );
        }
        assert_eq!(check_symbol("ABC"), None);
    }
}
