//! `piaojue-e2e-v2`: the cryptographic core of encrypted ballots (SPEC-E2E §2–§7, §8.3,
//! §9.1–§9.4, §11).
//!
//! Self-contained: nothing here depends on the rest of the crate. See docs/e2e-crypto.md for
//! the API map and the readings chosen where the spec is unclear.

pub mod audit;
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

/// The session manifest of the ceremony-board fuzz target: 3 guardians with test keys
/// (`test-key`, seed "fuzz-board"), k = 2.
fn fuzz_board_manifest() -> Option<manifest::SessionManifest> {
    use drbg::test_key_seed;
    let id = |label: &str, i: u64| {
        credential::SigningIdentity::from_seed(&test_key_seed(b"fuzz-board", label, i)).public_key()
    };
    manifest::SessionParams {
        election_id: "fuzz-board".into(),
        radix: 4096,
        max_electorate: 100,
        guardian_ids: (1..=3).map(|i| id("guardian", i)).collect(),
        k: 2,
        credential_officer: id("officer", 0),
        appliance_key: id("appliance", 0),
        booth_hash: [0; 32],
    }
    .build()
    .ok()
}

/// Fuzz entry point for the key ceremony's board (§8): the input is board messages, one per
/// line, accepted in order by a live board and by a replaying one. Never panics.
pub fn fuzz_board(data: &[u8]) {
    let Some(sm) = fuzz_board_manifest() else {
        return;
    };
    let mut live = ceremony::Board::new(sm.clone());
    let mut replay = ceremony::Board::replaying(sm);
    for line in data.split(|b| *b == b'\n') {
        if let Ok((attempt, msg)) = ceremony::Message::parse(line) {
            let _ = live.accept(attempt, msg.clone());
            let _ = replay.accept(attempt, msg);
        }
    }
    let _ = live.bundle_json();
    let _ = live.current().fingerprint();
}

/// A complete honest ceremony on the fuzz target's manifest, as board lines (the corpus seed;
/// a test checks the board completes with it).
pub fn fuzz_board_seed() -> Vec<u8> {
    use drbg::{TestDrbg, test_key_seed};
    let Some(sm) = fuzz_board_manifest() else {
        return Vec::new();
    };
    let ident = |i: u64| {
        credential::SigningIdentity::from_seed(&test_key_seed(b"fuzz-board", "guardian", i))
    };
    let mut board = ceremony::Board::new(sm);
    let mut rng = TestDrbg::new(b"fuzz-board");
    let mut lines: Vec<serde_json::Value> = Vec::new();
    let mut secrets = Vec::new();
    let cc = board.current().cc;
    for i in 1..=3 {
        let Ok((r1, s)) = ceremony::make_round1(&cc, i, 2, &ident(i), &mut rng) else {
            return Vec::new();
        };
        let m = ceremony::Message::Round1(r1);
        let _ = board.accept(1, m.clone());
        lines.push(m.to_json(1));
        secrets.push((i, s));
    }
    for (i, s) in &secrets {
        let a = board.current().clone();
        for r2 in ceremony::make_round2(&a, *i, s, &ident(*i), &mut rng).unwrap_or_default() {
            let m = ceremony::Message::Round2(r2);
            let _ = board.accept(1, m.clone());
            lines.push(m.to_json(1));
        }
    }
    let a = board.current().clone();
    for (i, _) in &secrets {
        if let Some(msg) = a.announcement() {
            let m = ceremony::Message::KeyAnnounce {
                guardian: *i,
                sig: ident(*i).sign(&msg),
            };
            let _ = board.accept(1, m.clone());
            lines.push(m.to_json(1));
        }
    }
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}
