//! `piaojue-e2e-v2`: the cryptographic core of encrypted ballots (SPEC-E2E §2–§7, §8.3,
//! §9.1–§9.4, §11).
//!
//! Self-contained: nothing here depends on the rest of the crate. See docs/e2e-crypto.md for
//! the API map and the readings chosen where the spec is unclear.

pub mod ballot;
pub mod bundle;
pub mod ceremony;
pub mod credential;
pub mod decryption;
pub mod drbg;
pub mod elgamal;
pub mod error;
pub mod group;
pub mod hex;
pub mod manifest;
pub mod packing;
pub mod proofs;
pub mod range;
pub mod sample;
pub mod tally;
pub mod transcript;
pub mod transport;

pub use error::{E2eError, Result, SigFailure};

/// Fuzz entry point for the binary ballot record (§7.1). The first three bytes pick the
/// shape (type, M, N; radix 4096) and the rest is parsed as a record; a record that parses
/// must re-serialise to the identical bytes. Never panics on any input (except to report a
/// broken round-trip, which is the bug a fuzzer looks for).
pub fn fuzz_ballot_record(data: &[u8]) {
    let (Some(&t), Some(&m), Some(&n)) = (data.first(), data.get(1), data.get(2)) else {
        return;
    };
    let vote_type = match t % 4 {
        0 => packing::VoteType::Motion,
        1 => packing::VoteType::PerItem,
        2 => packing::VoteType::ApproveUpToN,
        _ => packing::VoteType::Satisfaction,
    };
    let m = if vote_type == packing::VoteType::Motion {
        1
    } else {
        u64::from(m % 32) + 1
    };
    let l = match vote_type {
        packing::VoteType::ApproveUpToN => 2,
        packing::VoteType::Satisfaction => 3 + u64::from(t / 4 % 2),
        _ => 3,
    };
    let max_yes = vote_type.has_max_yes().then(|| u64::from(n) % (m + 1));
    let Ok(shape) = packing::Shape::new(vote_type, m, l, max_yes, 4096) else {
        return;
    };
    let rec = data.get(3..).unwrap_or(&[]);
    if let Ok(b) = ballot::Ballot::from_record(rec, &shape) {
        assert_eq!(b.to_record(), rec, "ballot record round-trip");
    }
}

/// Fuzz entry point for manifests (§6.4): a session manifest is parsed and validated; a
/// vote manifest is validated against a fixed test session; anything that parses must
/// re-serialise to the identical bytes. Never panics except on a broken round-trip.
pub fn fuzz_manifest(data: &[u8]) {
    if let Ok(s) = manifest::SessionManifest::parse(data) {
        assert_eq!(s.bytes(), data, "session manifest bytes");
        assert_eq!(
            manifest::reserialize_any(data).as_deref(),
            Some(data),
            "session round-trip"
        );
    }
    if let Ok(v) = manifest::VoteManifest::parse_with(data, None, 4096) {
        assert_eq!(v.bytes(), data, "vote manifest bytes");
        assert_eq!(
            manifest::reserialize_any(data).as_deref(),
            Some(data),
            "vote round-trip"
        );
    }
    if let Some(again) = manifest::reserialize_any(data) {
        // Canonical inputs re-serialise identically; others must be rejected by parse.
        if again != data {
            assert!(
                manifest::SessionManifest::parse(data).is_err(),
                "non-canonical accepted"
            );
            assert!(
                manifest::VoteManifest::parse_with(data, None, 4096).is_err(),
                "non-canonical accepted"
            );
        }
    }
}
