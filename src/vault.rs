//! Secrets at rest on a scrutineer's or the credential officer's own machine: a JSON
//! document sealed under a passphrase, written atomically and fsynced.
//!
//! KDF: PBKDF2-HMAC-SHA256 (ring), 600,000 iterations (OWASP 2023 for this PRF), 16-byte
//! random salt. AEAD: ChaCha20-Poly1305 (ring), 12-byte random nonce, the format line and
//! the file's purpose as associated data, so a sealed share cannot be passed off as another
//! file. A wrong passphrase and a tampered file are the same error: the tag does not verify.

use std::fs;
use std::io::Write;
use std::num::NonZeroU32;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use zeroize::Zeroizing;

const FORMAT: &str = "piaojue-sealed/1";
/// Iterations for new files; a file records its own.
pub const ITERATIONS: u32 = 600_000;
/// Fewer is refused on reading: a file with a weakened KDF is not ours.
const MIN_ITERATIONS: u32 = 100_000;
/// More is refused too: a file cannot make the program spin for hours.
const MAX_ITERATIONS: u32 = 10_000_000;

/// Why a sealed file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: not a sealed piaojue file ({1})")]
    Format(PathBuf, String),
    #[error("{0}: wrong passphrase, or the file was altered")]
    Open(PathBuf),
    #[error("random source failed")]
    Rng,
}

fn key(passphrase: &[u8], salt: &[u8], iterations: NonZeroU32) -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        passphrase,
        k.as_mut_slice(),
    );
    k
}

fn aad(purpose: &str) -> Vec<u8> {
    format!("{FORMAT}\0{purpose}").into_bytes()
}

fn aead_key(k: &[u8; 32]) -> Result<LessSafeKey, VaultError> {
    UnboundKey::new(&aead::CHACHA20_POLY1305, k)
        .map(LessSafeKey::new)
        .map_err(|_| VaultError::Rng)
}

/// A passphrase and the key it derives (once per salt: PBKDF2 costs ~0.2 s, and a guardian
/// reseals its state at every step).
pub struct Sealer {
    passphrase: Zeroizing<Vec<u8>>,
    cache: Option<([u8; 16], Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

impl Sealer {
    pub fn new(passphrase: &[u8]) -> Sealer {
        Sealer {
            passphrase: Zeroizing::new(passphrase.to_vec()),
            cache: None,
        }
    }

    fn key_for(&mut self, salt: [u8; 16], iterations: NonZeroU32) -> Zeroizing<[u8; 32]> {
        if let Some((s, k)) = &self.cache
            && *s == salt
            && iterations.get() == ITERATIONS
        {
            return k.clone();
        }
        let k = key(&self.passphrase, &salt, iterations);
        if iterations.get() == ITERATIONS {
            self.cache = Some((salt, k.clone()));
        }
        k
    }

    /// Seals `plain` for `purpose` and writes it to `path` atomically (a temporary 0600
    /// file, fsynced, renamed, the directory fsynced).
    pub fn seal(&mut self, path: &Path, purpose: &str, plain: &[u8]) -> Result<(), VaultError> {
        let rng = SystemRandom::new();
        let salt = match &self.cache {
            Some((s, _)) => *s,
            None => {
                let mut s = [0u8; 16];
                rng.fill(&mut s).map_err(|_| VaultError::Rng)?;
                s
            }
        };
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce).map_err(|_| VaultError::Rng)?;
        let iterations = NonZeroU32::new(ITERATIONS).ok_or(VaultError::Rng)?;
        let k = self.key_for(salt, iterations);
        let mut buf = Zeroizing::new(plain.to_vec());
        aead_key(&k)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose)),
                &mut *buf,
            )
            .map_err(|_| VaultError::Rng)?;
        let doc = json!({
            "format": FORMAT,
            "purpose": purpose,
            "kdf": "pbkdf2-hmac-sha256",
            "iterations": ITERATIONS,
            "salt": piaojue_core::crypto::hex(&salt),
            "aead": "chacha20-poly1305",
            "nonce": piaojue_core::crypto::hex(&nonce),
            "ciphertext": piaojue_core::crypto::hex(&buf),
        });
        let text = serde_json::to_vec_pretty(&doc)
            .map_err(|e| VaultError::Format(path.into(), e.to_string()))?;
        write_private(path, &text).map_err(|e| VaultError::Io(path.into(), e))
    }

    /// Opens a file sealed for the same purpose.
    pub fn open(&mut self, path: &Path, purpose: &str) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let bad = |m: &str| VaultError::Format(path.into(), m.into());
        let text = fs::read(path).map_err(|e| VaultError::Io(path.into(), e))?;
        if text.len() > 16 << 20 {
            return Err(bad("larger than 16 MiB"));
        }
        let doc: Value = serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))?;
        if doc["format"] != FORMAT
            || doc["kdf"] != "pbkdf2-hmac-sha256"
            || doc["aead"] != "chacha20-poly1305"
        {
            return Err(bad("unknown format"));
        }
        if doc["purpose"] != purpose {
            return Err(bad(&format!("it holds {}, not {purpose}", doc["purpose"])));
        }
        let iterations = doc["iterations"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| (MIN_ITERATIONS..=MAX_ITERATIONS).contains(n))
            .and_then(NonZeroU32::new)
            .ok_or_else(|| bad("iterations missing or too few"))?;
        let hex = |field: &str| {
            doc[field]
                .as_str()
                .and_then(|s| piaojue_core::e2e::hex::decode(s, field).ok())
                .ok_or_else(|| bad(&format!("{field}: not hex")))
        };
        let salt: [u8; 16] = hex("salt")?
            .try_into()
            .map_err(|_| bad("salt: not 16 bytes"))?;
        let nonce: [u8; 12] = hex("nonce")?
            .try_into()
            .map_err(|_| bad("nonce: not 12 bytes"))?;
        let mut buf = Zeroizing::new(hex("ciphertext")?);
        let k = self.key_for(salt, iterations);
        let plain_len = aead_key(&k)?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(purpose)),
                &mut buf,
            )
            .map_err(|_| VaultError::Open(path.into()))?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

/// The passphrase: from the file `--passphrase-file` names, else `PIAOJUE_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> Result<Zeroizing<String>, String> {
    let p = match file {
        Some(f) => Zeroizing::new(
            fs::read_to_string(f)
                .map_err(|e| format!("--passphrase-file {}: {e}", f.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_string(),
        ),
        None => Zeroizing::new(std::env::var("PIAOJUE_PASSPHRASE").map_err(|_| {
            "no passphrase: give --passphrase-file FILE or set PIAOJUE_PASSPHRASE".to_string()
        })?),
    };
    if p.chars().count() < 8 {
        return Err("the passphrase must have at least 8 characters".into());
    }
    Ok(p)
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}

/// Writes a file durably: to a temporary name beside it (mode `mode`), fsynced, renamed over
/// the target, and the directory fsynced, so a crash leaves the old file or the new one whole.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.partial.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)?;
    fs::File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_file_opens_only_with_its_passphrase_and_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("share.sealed");
        Sealer::new(b"correct horse")
            .seal(&p, "guardian-state", b"z = 42")
            .unwrap();
        let mut right = Sealer::new(b"correct horse");
        assert_eq!(
            right.open(&p, "guardian-state").unwrap().as_slice(),
            b"z = 42"
        );
        let mut wrong = Sealer::new(b"wrong horse");
        assert!(matches!(
            wrong.open(&p, "guardian-state"),
            Err(VaultError::Open(_))
        ));
        assert!(matches!(
            right.open(&p, "officer-state"),
            Err(VaultError::Format(..))
        ));
        let text = fs::read_to_string(&p).unwrap();
        assert!(!text.contains("z = 42"));
        // A flipped ciphertext byte is refused like a wrong passphrase.
        let mut doc: Value = serde_json::from_str(&text).unwrap();
        let ct = doc["ciphertext"].as_str().unwrap().to_string();
        let flipped = format!(
            "{}{}",
            if ct.starts_with('0') { "1" } else { "0" },
            &ct[1..]
        );
        doc["ciphertext"] = json!(flipped);
        fs::write(&p, serde_json::to_vec(&doc).unwrap()).unwrap();
        assert!(matches!(
            right.open(&p, "guardian-state"),
            Err(VaultError::Open(_))
        ));
    }
}
