//! Strict lowercase hex (§2.4, S7): `[0-9a-f]` only, even length, exact byte length.
//!
//! Neither `bytes.fromhex`, Node's `Buffer.from(h, 'hex')` nor the `hex` crate is strict,
//! so the module carries its own decoder.

use super::error::{E2eError, Result};

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes bytes as lowercase hex.
pub fn encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nib in [b >> 4, b & 0x0f] {
            s.push(char::from(
                DIGITS.get(usize::from(nib)).copied().unwrap_or(b'0'),
            ));
        }
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Decodes strict lowercase hex of any even length.
pub fn decode(s: &str, field: &str) -> Result<Vec<u8>> {
    let raw = s.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return Err(E2eError::Hex {
            field: field.to_owned(),
            reason: "odd length",
        });
    }
    let mut out = Vec::with_capacity(raw.len() / 2);
    for pair in raw.chunks_exact(2) {
        let (hi, lo) = match pair {
            [h, l] => (nibble(*h), nibble(*l)),
            _ => (None, None),
        };
        match (hi, lo) {
            (Some(h), Some(l)) => out.push((h << 4) | l),
            _ => {
                return Err(E2eError::Hex {
                    field: field.to_owned(),
                    reason: "character outside [0-9a-f]",
                });
            }
        }
    }
    Ok(out)
}

/// Decodes strict hex of exactly `len` bytes.
pub fn decode_exact(s: &str, len: usize, field: &str) -> Result<Vec<u8>> {
    if s.len() != len * 2 {
        return Err(E2eError::Hex {
            field: field.to_owned(),
            reason: "wrong length for this field",
        });
    }
    decode(s, field)
}

/// Decodes strict hex of exactly `N` bytes into an array.
pub fn decode_array<const N: usize>(s: &str, field: &str) -> Result<[u8; N]> {
    let v = decode_exact(s, N, field)?;
    v.try_into().map_err(|_| E2eError::Hex {
        field: field.to_owned(),
        reason: "wrong length for this field",
    })
}
