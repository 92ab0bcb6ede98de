//! The session manifest built by the product (`SessionParams::build`): the tiny election's
//! manifest rebuilt from its fields gives its exact bytes; bad parameters are refused by name.

use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, SessionParams};

fn tiny() -> SessionManifest {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/e2e/vectors.json")).expect("vectors");
    let bytes = hex::decode(
        vectors["tiny_election"]["bundle"]["manifest_hex"]
            .as_str()
            .expect("manifest_hex"),
        "manifest_hex",
    )
    .expect("hex");
    SessionManifest::parse(&bytes).expect("the vectors' manifest parses")
}

fn params(m: &SessionManifest) -> SessionParams {
    SessionParams {
        election_id: m.election_id.clone(),
        radix: m.radix,
        max_electorate: m.max_electorate,
        guardian_ids: m.guardian_ids.clone(),
        k: m.k,
        credential_officer: m.credential_officer,
        appliance_key: m.appliance_key,
        booth_hash: m.booth_hash,
    }
}

#[test]
fn the_tiny_elections_manifest_is_rebuilt_byte_for_byte() {
    let m = tiny();
    let built = params(&m).build().expect("builds");
    assert_eq!(built.bytes(), m.bytes());
    assert_eq!(built.hash(), m.hash());
}

#[test]
fn bad_session_parameters_are_refused_by_name() {
    let m = tiny();
    let refused = |edit: &dyn Fn(&mut SessionParams), field: &str| {
        let mut p = params(&m);
        edit(&mut p);
        let e = p.build().expect_err("refused").to_string();
        assert!(e.contains(field), "{field}: {e}");
    };
    refused(
        &|p| p.k = p.guardian_ids.len() as u64 + 1,
        "manifest.guardians",
    );
    refused(&|p| p.k = 0, "manifest.guardians");
    refused(&|p| p.radix = 4095, "manifest.radix");
    refused(&|p| p.max_electorate = p.radix, "manifest.max_electorate");
    refused(
        &|p| p.election_id = "第一次会议".into(),
        "manifest.election_id",
    );
    refused(
        &|p| {
            let first = p.guardian_ids[0];
            p.guardian_ids.push(first);
        },
        "duplicate guardian id",
    );
    // The identity point is no key (§7.4).
    refused(
        &|p| {
            p.credential_officer = [0; 32];
            p.credential_officer[0] = 1;
        },
        "manifest.credential_officer",
    );
}
