//! Entry points for the fuzz targets (`fuzz/`) and the replay of their committed corpus
//! (`tests/fuzz_corpus.rs`): every parser of outside input, fed arbitrary bytes. Each must
//! return (an answer or a refusal), never panic.

use crate::session;
use piaojue_core::ballot::{self, CastRequest};
use piaojue_core::bundle::{self, Expect};
use piaojue_core::rules::{Rules, TallyInput};

/// A rules document.
pub fn rules(data: &[u8]) {
    if let Ok(rules) = Rules::from_json(data) {
        let _ = rules.check_items(7);
    }
}

/// A `piaojue tally` input, decided when valid.
pub fn tally(data: &[u8]) {
    if let Ok(input) = TallyInput::parse(data) {
        let report = input.decide();
        let _ = serde_json::to_string(&report);
    }
}

/// A roster CSV.
pub fn roster(data: &[u8]) {
    let _ = session::parse_roster(data);
}

/// A cast request body, checked against a 7 → 5 票决.
pub fn cast(data: &[u8]) {
    const RULES: &str = r#"{"kind":"project_selection","select_n":5}"#;
    let Ok(rules) = Rules::from_json(RULES.as_bytes()) else {
        return;
    };
    let items: Vec<String> = (1..=7).map(|i| format!("项目{i}")).collect();
    if let Ok(request) = serde_json::from_slice::<CastRequest>(data) {
        let _ = ballot::check_cast(&rules, &items, "v1", &request);
    }
}

/// A result bundle, fully verified against a fixed key.
pub fn bundle(data: &[u8]) {
    let report = bundle::verify(
        data,
        &Expect {
            key: Some([7; 32]),
            fingerprint: None,
            previous: Some(data),
            receipt: Some("AAAA-BBBB-CCCC-DDDD"),
            scrutineers: Some(&[[9; 32]]),
        },
    );
    let _ = serde_json::to_string(&report);
}

/// An encrypted-ballot binary record (`piaojue-e2e-v2`, SPEC-E2E §7.1).
pub fn e2e_ballot(data: &[u8]) {
    piaojue_core::e2e::fuzz_ballot_record(data);
}

/// An encrypted-ballot session or vote manifest (SPEC-E2E §6.4).
pub fn e2e_manifest(data: &[u8]) {
    piaojue_core::e2e::fuzz_manifest(data);
}

/// An encrypted-ballot result bundle, parsed and verified (V1–V16, SPEC-E2E §10).
pub fn e2e_bundle(data: &[u8]) {
    piaojue_core::e2e::bundle::fuzz_bundle(data);
}

/// The key ceremony's board messages, one per line (SPEC-E2E §8).
pub fn e2e_board(data: &[u8]) {
    piaojue_core::e2e::fuzz_board(data);
}
