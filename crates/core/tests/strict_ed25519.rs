//! One strict Ed25519 rule everywhere (issue: "the browser and the CLI accept different
//! signatures"): the keys and signatures the appliance, the verifier and the scrutineers check
//! go through `crypto::public_key` and `crypto::verify`, which must decide the nine
//! `ed25519_strict` cases of the shared vectors exactly as SPEC-E2E §7.4 says.

use piaojue_core::crypto;

#[test]
fn the_plain_mode_applies_the_strict_rule_to_the_nine_vector_cases() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/e2e/vectors.json")).unwrap();
    let cases = vectors["ed25519_strict"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["case"].as_str().unwrap();
        let valid = case["valid"].as_bool().unwrap();
        let pk = crypto::public_key(case["pk"].as_str().unwrap());
        let msg = data_hex(case["msg"].as_str().unwrap());
        let sig: [u8; 64] = data_hex(case["sig"].as_str().unwrap()).try_into().unwrap();
        // The plain mode signs `tag ‖ 0 ‖ body`; the rule is the same for any message, so
        // the vector's raw message is checked through the same function the domains use.
        let ok = match pk {
            Ok(pk) => piaojue_core::e2e::credential::verify_strict(&pk, &msg, &sig).is_ok(),
            Err(_) => false,
        };
        assert_eq!(ok, valid, "{name}");
        if let Ok(pk) = pk {
            // A signature valid for the raw message is not valid under a domain: the domain
            // separation holds, and a rejected one stays rejected.
            assert!(
                crypto::verify(&pk, crypto::Domain::Result, &msg, &sig).is_err(),
                "{name}"
            );
        }
    }
}

#[test]
fn mixed_order_keys_are_refused_as_scrutineer_and_appliance_keys() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("data/e2e/vectors.json")).unwrap();
    let mixed = vectors["ed25519_strict"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"].as_str().unwrap().starts_with("mixed-order A"))
        .unwrap();
    // ed25519-dalek's `is_weak` (small order only) let this key through before.
    assert!(crypto::public_key(mixed["pk"].as_str().unwrap()).is_err());
}

#[test]
fn a_signature_by_the_appliance_verifies_under_its_domain_only() {
    let key = crypto::ApplianceKey::generate().unwrap();
    let sig = key.sign(crypto::Domain::Receipt, b"body");
    assert!(crypto::verify(&key.public(), crypto::Domain::Receipt, b"body", &sig).is_ok());
    assert!(crypto::verify(&key.public(), crypto::Domain::Result, b"body", &sig).is_err());
    assert!(crypto::verify(&key.public(), crypto::Domain::Receipt, b"bodx", &sig).is_err());
}

fn data_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("vector hex"))
        .collect()
}
