//! The v2 result bundle (SPEC-E2E §10): the sample generator reproduces the tiny election byte
//! for byte, the tiny election passes V1–V16, a targeted edit fails each check under its own
//! name, hostile JSON is a parse failure, sample bundles verify and are deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)]

use piaojue_core::e2e::packing::VoteType;
use piaojue_core::e2e::sample::{SampleSpec, SampleVote, build_bundle};
use serde_json::Value;

const VECTORS: &str = include_str!("data/e2e/vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}
fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn tiny_spec(v: &Value) -> SampleSpec {
    let te = &v["tiny_election"];
    let b = &te["bundle"];
    let sm: Value = serde_json::from_slice(&unhex(b["manifest_hex"].as_str().unwrap())).unwrap();
    let votes = b["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vo| {
            let vm: Value =
                serde_json::from_slice(&unhex(vo["vote_manifest_hex"].as_str().unwrap())).unwrap();
            let vid = vm["vote_id"].as_str().unwrap().to_owned();
            let ch = |x: &Value| {
                x.as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_u64().unwrap() as usize)
                    .collect::<Vec<_>>()
            };
            SampleVote {
                vote_id: vid.clone(),
                vote_type: VoteType::parse(vm["type"].as_str().unwrap()).unwrap(),
                items: vm["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect(),
                options: vm["options"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect(),
                max_yes: vm["max_yes"].as_u64(),
                nonce: unhex(vm["nonce"].as_str().unwrap()).try_into().unwrap(),
                choices: te["choices"][&vid]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(ch)
                    .collect(),
                spoiled_choices: ch(&vo["spoiled"][0]["choices"]),
            }
        })
        .collect();
    SampleSpec {
        seed: te["drbg_seed_utf8"].as_str().unwrap().as_bytes().to_vec(),
        election_id: sm["election_id"].as_str().unwrap().to_owned(),
        booth_hash: unhex(sm["booth_hash"].as_str().unwrap())
            .try_into()
            .unwrap(),
        radix: sm["radix"].as_u64().unwrap(),
        max_electorate: sm["max_electorate"].as_u64().unwrap(),
        guardians: sm["guardians"]["n"].as_u64().unwrap(),
        threshold: sm["guardians"]["k"].as_u64().unwrap(),
        quorum: te["quorum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect(),
        votes,
    }
}

#[test]
fn sample_reproduces_tiny_election() {
    let v = vectors();
    let want = serde_json::to_string(&v["tiny_election"]["bundle"]).unwrap();
    let got = build_bundle(&tiny_spec(&v)).unwrap();
    if got != want {
        let g: Value = serde_json::from_str(&got).unwrap();
        let w = &v["tiny_election"]["bundle"];
        for k in ["manifest_hex", "manifest_hash", "ceremony", "joint_key"] {
            eprintln!("{k}: {}", g[k] == w[k]);
        }
        for (i, (a, b)) in g["votes"]
            .as_array()
            .unwrap()
            .iter()
            .zip(w["votes"].as_array().unwrap())
            .enumerate()
        {
            for k in [
                "vote_manifest_hex",
                "roll_call",
                "ballots",
                "list_hash",
                "close_sig",
                "spoiled",
                "rejected",
                "result",
            ] {
                eprintln!("vote {i} {k}: {}", a[k] == b[k]);
            }
        }
        panic!("differs");
    }
}

// ------------------------------------------------------------------------------ verifier

use base64::Engine as _;
use piaojue_core::bundle::Report;
use piaojue_core::e2e::bundle::{self as e2eb, VerifyOptions, verify_document};
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::drbg::test_key_seed;

fn tiny() -> Value {
    vectors()["tiny_election"]["bundle"].clone()
}

fn run(v: &Value, opts: &VerifyOptions) -> Report {
    verify_document(serde_json::to_string(v).unwrap().as_bytes(), opts)
}

fn failed(r: &Report) -> Vec<String> {
    r.checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.clone())
        .collect()
}

fn show(r: &Report) -> String {
    r.checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Flips one hex digit (position `at`) of the string at `ptr`.
fn flip(v: &mut Value, ptr: &str, at: usize) {
    let s = v.pointer_mut(ptr).unwrap_or_else(|| panic!("{ptr}"));
    let mut t: Vec<u8> = s.as_str().unwrap().bytes().collect();
    t[at] = if t[at] == b'0' { b'1' } else { b'0' };
    *s = Value::String(String::from_utf8(t).unwrap());
}

fn assert_fails(name: &str, v: &Value, opts: &VerifyOptions) {
    let r = run(v, opts);
    assert!(!r.verified, "{name}: tampered bundle verified");
    let f = failed(&r);
    assert!(
        f.iter().any(|n| n == name),
        "{name} did not fail; failed: {f:?}\n{}",
        show(&r)
    );
}

#[test]
fn tiny_election_passes_all_checks() {
    let r = run(&tiny(), &VerifyOptions::default());
    assert!(r.verified, "{}", show(&r));
    let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, e2eb::CHECK_NAMES.to_vec());
    assert!(r.checks.iter().all(|c| c.ok));
    let v14 = &r.checks[13];
    assert!(v14.detail.contains("n/a"), "{}", v14.detail);
}

fn tampered(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = tiny();
    edit(&mut v);
    v
}

#[test]
fn each_check_fails_under_its_own_name() {
    let d = VerifyOptions::default();
    // V1: the manifest hash; a vote manifest byte.
    assert_fails("V1", &tampered(|v| flip(v, "/manifest_hash", 0)), &d);
    assert_fails(
        "V1",
        &tampered(|v| flip(v, "/votes/2/vote_manifest_hex", 3)),
        &d,
    );
    // V2: a round-1 signature; a round-2 signature; a participant missing.
    assert_fails(
        "V2",
        &tampered(|v| flip(v, "/ceremony/round1/0/sig", 4)),
        &d,
    );
    assert_fails(
        "V2",
        &tampered(|v| flip(v, "/ceremony/round2_sigs/2/3", 4)),
        &d,
    );
    assert_fails("V2", &tampered(|v| v["ceremony"]["attempt"] = 2.into()), &d);
    // V3: a Schnorr proof scalar; a round-2 blob's E; a complaint in the final attempt.
    assert_fails(
        "V3",
        &tampered(|v| flip(v, "/ceremony/round1/1/transport_pok/1", 2)),
        &d,
    );
    assert_fails(
        "V3",
        &tampered(|v| flip(v, "/ceremony/round1/2/coeff_poks/1/0", 2)),
        &d,
    );
    assert_fails("V3", &tampered(|v| flip(v, "/ceremony/round2/1/3", 1)), &d);
    assert_fails(
        "V3",
        &tampered(|v| v["ceremony"]["complaints"] = serde_json::json!([{"from": 1}])),
        &d,
    );
    // V4: the joint key; a key announcement.
    assert_fails("V4", &tampered(|v| flip(v, "/ceremony/key_sigs/2", 6)), &d);
    assert_fails(
        "V4",
        &tampered(|v| {
            v["joint_key"] = v["ceremony"]["round1"][0]["commitments"][0].clone();
        }),
        &d,
    );
    // V5: one ciphertext byte; one proof scalar; the signature; the range link.
    assert_fails(
        "V5",
        &tampered(|v| flip(v, "/votes/1/ballots/2/items/1/B", 5)),
        &d,
    );
    assert_fails(
        "V5",
        &tampered(|v| flip(v, "/votes/0/ballots/0/items/0/proof/1/1", 3)),
        &d,
    );
    assert_fails(
        "V5",
        &tampered(|v| flip(v, "/votes/3/ballots/4/sig", 9)),
        &d,
    );
    assert_fails(
        "V5",
        &tampered(|v| flip(v, "/votes/2/ballots/1/range/link/0", 2)),
        &d,
    );
    // V6: a ballot listed twice (same credential and ciphertexts).
    assert_fails(
        "V6",
        &tampered(|v| {
            let b = v["votes"][0]["ballots"][0].clone();
            v["votes"][0]["ballots"]
                .as_array_mut()
                .unwrap()
                .insert(1, b);
        }),
        &d,
    );
    // V7: the list order; the list hash; the close signature.
    assert_fails(
        "V7",
        &tampered(|v| v["votes"][1]["ballots"].as_array_mut().unwrap().swap(0, 1)),
        &d,
    );
    assert_fails("V7", &tampered(|v| flip(v, "/votes/1/list_hash", 0)), &d);
    assert_fails("V7", &tampered(|v| flip(v, "/votes/3/close_sig", 7)), &d);
    // V8: a published total.
    assert_fails(
        "V8",
        &tampered(|v| {
            v["votes"][0]["result"]["totals"][0]["B"] =
                v["votes"][0]["result"]["totals"][0]["A"].clone();
        }),
        &d,
    );
    // V9: the quorum.
    assert_fails(
        "V9",
        &tampered(|v| v["votes"][0]["result"]["quorum"] = serde_json::json!([1, 2])),
        &d,
    );
    assert_fails(
        "V9",
        &tampered(|v| v["votes"][0]["result"]["quorum"] = serde_json::json!([1])),
        &d,
    );
    // V10: a partial decryption; its proof; its statement signature.
    assert_fails(
        "V10",
        &tampered(|v| {
            v["votes"][1]["result"]["partials"][1]["shares"][2]["M"] =
                v["votes"][1]["result"]["partials"][0]["shares"][2]["M"].clone();
        }),
        &d,
    );
    assert_fails(
        "V10",
        &tampered(|v| flip(v, "/votes/2/result/partials/0/shares/0/proof/1", 1)),
        &d,
    );
    assert_fails(
        "V10",
        &tampered(|v| flip(v, "/votes/3/result/partials/1/sig", 1)),
        &d,
    );
    // V11: a plaintext total.
    assert_fails(
        "V11",
        &tampered(|v| {
            let x = v["votes"][0]["result"]["plaintext_totals"][0]
                .as_u64()
                .unwrap();
            v["votes"][0]["result"]["plaintext_totals"][0] = (x + 1).into();
        }),
        &d,
    );
    // V12: a count.
    assert_fails(
        "V12",
        &tampered(|v| {
            let x = v["votes"][1]["result"]["counts"][0][0].as_u64().unwrap();
            v["votes"][1]["result"]["counts"][0][0] = (x + 1).into();
        }),
        &d,
    );
    // V13: a spoiled record's r; its choice; its bit ciphertext; a cast ciphertext as spoiled.
    assert_fails(
        "V13",
        &tampered(|v| flip(v, "/votes/0/spoiled/0/r/0", 2)),
        &d,
    );
    assert_fails(
        "V13",
        &tampered(|v| v["votes"][3]["spoiled"][0]["choices"][0] = 0.into()),
        &d,
    );
    assert_fails(
        "V13",
        &tampered(|v| flip(v, "/votes/1/spoiled/0/bits/0/1", 2)),
        &d,
    );
    assert_fails(
        "V13",
        &tampered(|v| {
            v["votes"][0]["spoiled"][0]["tracker"] = Value::String(
                vectors()["tiny_election"]["trackers"]["v1-motion"][0]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }),
        &d,
    );
    // V14: the roll-call signature; an unsorted roll call; a foreign appliance key.
    assert_fails(
        "V14",
        &tampered(|v| flip(v, "/votes/0/roll_call/sig", 3)),
        &d,
    );
    assert_fails(
        "V14",
        &tampered(|v| {
            v["votes"][2]["roll_call"]["credentials"]
                .as_array_mut()
                .unwrap()
                .swap(0, 1)
        }),
        &d,
    );
    assert_fails(
        "V14",
        &tiny(),
        &VerifyOptions {
            appliance_key: Some([7; 32]),
            appliance_fingerprint: None,
            hall_present: None,
            previous: None,
        },
    );
    // V15: the cast count; fewer deputies present than cast.
    assert_fails(
        "V15",
        &tampered(|v| v["votes"][0]["roll_call"]["cast_count"] = 4.into()),
        &d,
    );
    let hall = VerifyOptions {
        appliance_key: None,
        appliance_fingerprint: None,
        hall_present: Some(4),
        previous: None,
    };
    let r = run(&tiny(), &hall);
    assert_eq!(failed(&r), vec!["V15".to_owned()], "{}", show(&r));
    // V16: a valid ballot published as `invalid`; an unknown reason; a `not-enabled` whose
    // credential is enabled.
    let b0 = tiny()["votes"][0]["ballots"][0].clone();
    for reason in ["invalid", "not-enabled", "whatever"] {
        let b0 = b0.clone();
        assert_fails(
            "V16",
            &tampered(move |v| {
                v["votes"][0]["rejected"] = serde_json::json!([{"reason": reason, "ballot": b0}]);
            }),
            &d,
        );
    }
}

#[test]
fn substantiated_rejections_and_key_pass() {
    let mut v = tiny();
    let b0 = v["votes"][0]["ballots"][0].clone();
    let mut bad = b0.clone();
    flip(&mut bad, "/items/0/proof/0/0", 2);
    v["votes"][0]["rejected"] = serde_json::json!([
        {"reason": "invalid", "ballot": bad},
        {"reason": "invalid", "ballot": {"nonsense": true}},
        {"reason": "duplicate-credential", "ballot": b0},
        {"reason": "late", "ballot": {}},
    ]);
    let sm: Value = serde_json::from_slice(&unhex(v["manifest_hex"].as_str().unwrap())).unwrap();
    let key: [u8; 32] = unhex(sm["appliance_key"].as_str().unwrap())
        .try_into()
        .unwrap();
    let r = run(
        &v,
        &VerifyOptions {
            appliance_key: Some(key),
            appliance_fingerprint: Some(piaojue_core::crypto::sha256(&key)),
            hall_present: Some(5),
            previous: None,
        },
    );
    assert!(r.verified, "{}", show(&r));
}

#[test]
fn envelope_signature_is_checked() {
    let body = serde_json::to_string(&tiny()).unwrap();
    let seed = b"piaojue-tiny-election";
    let app = SigningIdentity::from_seed(&test_key_seed(seed, "appliance", 0));
    // `piaojue/v1/result` ‖ 0 ‖ body, as the plain bundle's appliance signature.
    let message = piaojue_core::crypto::Domain::Result.message(body.as_bytes());
    let sig = app.sign(&message);
    let env = |sig: &[u8]| {
        serde_json::json!({
            "format": "piaojue-bundle/2",
            "body": base64::engine::general_purpose::STANDARD.encode(body.as_bytes()),
            "signatures": [{"role": "appliance", "public_key": piaojue_core::e2e::hex::encode(&app.public_key()), "signature": piaojue_core::e2e::hex::encode(sig)}],
        })
    };
    let good = env(&sig);
    assert!(e2eb::is_v2(
        serde_json::to_string(&good).unwrap().as_bytes()
    ));
    let r = run(&good, &VerifyOptions::default());
    assert!(r.verified, "{}", show(&r));
    assert!(!r.checks[13].detail.contains("n/a"));
    let mut bad_sig = sig;
    bad_sig[0] ^= 1;
    let r = run(&env(&bad_sig), &VerifyOptions::default());
    assert_eq!(failed(&r), vec!["V14".to_owned()], "{}", show(&r));
}

#[test]
fn hostile_json_is_a_parse_failure() {
    let text = serde_json::to_string(&tiny()).unwrap();
    let parse_failed = |bytes: &[u8]| {
        let r = verify_document(bytes, &VerifyOptions::default());
        assert!(!r.verified);
        assert_eq!(r.checks[0].name, "parse", "{}", show(&r));
        assert!(!r.checks[0].ok);
    };
    for cut in [0, 1, 10, text.len() / 2, text.len() - 1] {
        parse_failed(&text.as_bytes()[..cut]);
    }
    let edits: Vec<Box<dyn Fn(&mut Value)>> = vec![
        Box::new(|v| v["ceremony"]["attempt"] = "1".into()),
        Box::new(|v| v["ceremony"]["attempt"] = serde_json::json!(-1)),
        Box::new(|v| v["ceremony"]["attempt"] = serde_json::json!(1.5)),
        Box::new(|v| {
            v["votes"][0]["roll_call"]["cast_count"] =
                serde_json::from_str("18446744073709551616").unwrap()
        }),
        Box::new(|v| {
            v["votes"][0]["result"]["counts"][0][0] =
                serde_json::from_str("1e400").unwrap_or(Value::Null)
        }),
        Box::new(|v| {
            let s = v["joint_key"].as_str().unwrap().to_uppercase();
            v["joint_key"] = s.into();
        }),
        Box::new(|v| {
            let s = v["votes"][1]["ballots"][0]["items"][0]["A"]
                .as_str()
                .unwrap()
                .to_uppercase();
            v["votes"][1]["ballots"][0]["items"][0]["A"] = s.into();
        }),
        Box::new(|v| v["votes"][0]["list_hash"] = "00".into()),
        Box::new(|v| v["votes"][0]["ballots"][0]["extra"] = 1.into()),
        Box::new(|v| v["votes"] = serde_json::json!({})),
        Box::new(|v| v["ceremony"]["round2"]["01"] = serde_json::json!({})),
        Box::new(|v| v["ceremony"]["round1"][0]["transport_pok"] = serde_json::json!(["00"])),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("manifest_hash");
        }),
    ];
    for e in &edits {
        let mut v = tiny();
        e(&mut v);
        parse_failed(serde_json::to_string(&v).unwrap().as_bytes());
    }
    for junk in [
        &b"null"[..],
        b"[]",
        b"{}",
        b"{\"manifest_hex\": 5}",
        b"\xff\xfe",
        b"{\"format\":\"piaojue-bundle/2\"}",
    ] {
        parse_failed(junk);
    }
    // Extra top-level keys are allowed.
    let mut v = tiny();
    v["comment"] = "hello".into();
    assert!(run(&v, &VerifyOptions::default()).verified);
}

#[test]
fn sample_bundles_verify_and_are_deterministic() {
    for (n, k, b) in [(3, 2, 5), (5, 3, 3)] {
        let one = e2eb::sample_bundle("sample-seed", n, k, b).unwrap();
        let two = e2eb::sample_bundle("sample-seed", n, k, b).unwrap();
        assert_eq!(one, two, "n={n} k={k} B={b}");
        let r = verify_document(one.as_bytes(), &VerifyOptions::default());
        assert!(r.verified, "n={n} k={k} B={b}\n{}", show(&r));
        let other = e2eb::sample_bundle("other-seed", n, k, b).unwrap();
        assert_ne!(one, other);
    }
    assert!(e2eb::sample_bundle("x", 2, 3, 1).is_err());
    assert!(e2eb::sample_bundle("x", 2, 1, 0).is_err());
}

#[test]
fn fuzz_bundle_never_panics_on_mutations() {
    let text = serde_json::to_string(&tiny()).unwrap().into_bytes();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut m = text.clone();
        let pos = (x % m.len() as u64) as usize;
        m[pos] = (x >> 32) as u8;
        e2eb::fuzz_bundle(&m);
    }
}
