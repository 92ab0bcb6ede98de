//! `piaojue verify` on encrypted-ballot (v2) bundles and `piaojue e2e sample-bundle`, through
//! the real binary.
#![allow(clippy::type_complexity)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::repo;

fn piaojue(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_piaojue"))
        .args(args)
        .output()
        .unwrap()
}

fn tiny() -> Value {
    let text = std::fs::read_to_string(repo("crates/core/tests/data/e2e/vectors.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["tiny_election"]["bundle"].clone()
}

fn write(dir: &Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(v).unwrap()).unwrap();
    path.to_str().unwrap().to_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn tiny_election_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "tiny.json", &tiny());
    let out = piaojue(&["verify", &file]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let checks: Vec<&str> = text.lines().filter(|l| l.contains(" V")).collect();
    let v_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("ok   V") || l.starts_with("FAIL V"))
        .collect();
    assert_eq!(v_lines.len(), 16, "{text}");
    assert!(v_lines.iter().all(|l| l.starts_with("ok   V")), "{text}");
    assert!(!checks.is_empty());
    assert!(text.contains("verified: all 16 checks hold"), "{text}");

    // --json, --key (matching), --hall-present.
    let sm: Value = serde_json::from_slice(
        &(0..tiny()["manifest_hex"].as_str().unwrap().len() / 2)
            .map(|i| {
                u8::from_str_radix(
                    &tiny()["manifest_hex"].as_str().unwrap()[2 * i..2 * i + 2],
                    16,
                )
                .unwrap()
            })
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let key = sm["appliance_key"].as_str().unwrap();
    let out = piaojue(&[
        "verify",
        &file,
        "--json",
        "--key",
        key,
        "--hall-present",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["checks"].as_array().unwrap().len(), 16);

    // A foreign key fails V14; too few deputies present fails V15.
    let out = piaojue(&["verify", &file, "--key", &"11".repeat(32)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAIL V14"), "{}", stdout(&out));
    let out = piaojue(&["verify", &file, "--hall-present", "4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("FAIL V15"), "{}", stdout(&out));
    // Usage: a bad key, a missing file.
    assert_eq!(
        piaojue(&["verify", &file, "--key", "xyz"]).status.code(),
        Some(2)
    );
    assert_eq!(
        piaojue(&["verify", "/nonexistent/bundle.json"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn tampered_copies_fail_naming_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Box<dyn Fn(&mut Value)>)> = vec![
        (
            "V1",
            Box::new(|v| v["manifest_hash"] = "00".repeat(32).into()),
        ),
        (
            "V5",
            Box::new(|v| {
                let a = v["votes"][1]["ballots"][0]["items"][0]["A"].clone();
                v["votes"][1]["ballots"][0]["items"][0]["B"] = a;
            }),
        ),
        (
            "V7",
            Box::new(|v| v["votes"][2]["ballots"].as_array_mut().unwrap().swap(1, 2)),
        ),
        (
            "V12",
            Box::new(|v| v["votes"][0]["result"]["counts"][0] = serde_json::json!([0, 2, 3])),
        ),
    ];
    for (name, edit) in cases {
        let mut v = tiny();
        edit(&mut v);
        let file = write(dir.path(), &format!("{name}.json"), &v);
        let out = piaojue(&["verify", &file]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("FAIL {name}:"))),
            "{name}: {text}"
        );
        assert!(text.contains("NOT VERIFIED"), "{text}");
    }
}

#[test]
fn sample_bundle_is_deterministic_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for out in [&a, &b] {
        let o = piaojue(&[
            "e2e",
            "sample-bundle",
            "--seed",
            "cli-sample",
            "--guardians",
            "3",
            "--threshold",
            "2",
            "--ballots",
            "3",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let out = piaojue(&["verify", a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // Bad parameters are a usage error.
    let o = piaojue(&[
        "e2e",
        "sample-bundle",
        "--seed",
        "x",
        "--guardians",
        "2",
        "--threshold",
        "3",
        "--ballots",
        "1",
        a.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}

/// `piaojue e2e session-manifest` (the encrypted-ballot part 2's first step): the canonical
/// manifest from the scrutineers', the officer's and the appliance's keys, and its mh as the
/// agenda prints it; bad parameters are refused by name.
#[test]
fn a_session_manifest_is_built_from_the_keys_and_prints_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifest.json");
    let key = || {
        piaojue_core::crypto::ApplianceKey::generate()
            .unwrap()
            .public_hex()
    };
    let scrutineers: Vec<String> = (0..5).map(|_| key()).collect();
    let mut args: Vec<String> = vec![
        "e2e".into(),
        "session-manifest".into(),
        "--election-id".into(),
        "county-18-3".into(),
        "--threshold".into(),
        "3".into(),
        "--officer-key".into(),
        key(),
        "--appliance-key".into(),
        key(),
        "--booth-hash".into(),
        "ab".repeat(32),
    ];
    for s in &scrutineers {
        args.push("--scrutineer-key".into());
        args.push(s.clone());
    }
    args.push(out.display().to_string());
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        piaojue(&args)
    };
    let done = run(&args);
    assert!(done.status.success(), "{done:?}");
    let stdout = String::from_utf8_lossy(&done.stdout).to_string();
    let bytes = std::fs::read(&out).unwrap();
    let manifest = piaojue_core::e2e::manifest::SessionManifest::parse(&bytes).unwrap();
    assert_eq!(manifest.k, 3);
    assert_eq!(manifest.guardian_ids.len(), 5);
    let mh =
        piaojue_core::crypto::fingerprint_grouped(&piaojue_core::e2e::hex::encode(manifest.hash()));
    assert_eq!(stdout.trim(), format!("mh {mh}"));
    // More than n scrutineers needed to decrypt: refused, naming the field.
    let mut bad = args.clone();
    let at = bad.iter().position(|a| a == "--threshold").unwrap();
    bad[at + 1] = "6".into();
    let refused = run(&bad);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("manifest.guardians"));
}

/// The session manifest published on the appliance: once, for this appliance only, its exact
/// bytes served to anyone, and the agenda page's data with every key and its QR code.
#[tokio::test]
async fn the_session_manifest_is_published_once_and_the_agenda_shows_every_key() {
    use crate::helpers::{Auth, TestApp};
    use piaojue_core::e2e::manifest::SessionParams;
    let mut app = TestApp::spawn().await;
    app.prepare(3).await;
    let key = || {
        piaojue_core::crypto::ApplianceKey::generate()
            .unwrap()
            .public()
    };
    let appliance: [u8; 32] =
        piaojue_core::crypto::public_key(&app.store.meta().public_key).unwrap();
    let params = |appliance_key: [u8; 32]| SessionParams {
        election_id: "county-18-3".into(),
        radix: 4096,
        max_electorate: 4095,
        guardian_ids: vec![key(), key(), key()],
        k: 2,
        credential_officer: key(),
        appliance_key,
        booth_hash: [7; 32],
    };
    let publish = |bytes: Vec<u8>| {
        app.request(
            reqwest::Method::POST,
            "/api/operator/e2e/manifest",
            Auth::Operator,
            Some(("application/json", bytes)),
        )
    };
    app.get("/api/public/e2e/agenda", Auth::None)
        .await
        .err(404, "no_manifest");
    // A manifest naming another appliance is refused.
    let other = params(key()).build().unwrap();
    publish(other.bytes().to_vec())
        .await
        .err(400, "bad_manifest");
    let manifest = params(appliance).build().unwrap();
    let r = publish(manifest.bytes().to_vec()).await.ok();
    assert_eq!(r["mh"], piaojue_core::e2e::hex::encode(manifest.hash()));
    // The same bytes again: harmless; other bytes: refused, it never changes.
    publish(manifest.bytes().to_vec()).await.ok();
    let second = params(appliance).build().unwrap();
    publish(second.bytes().to_vec())
        .await
        .err(409, "manifest_published");
    let served = app
        .client
        .get(format!("{}/api/public/e2e/manifest", app.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        served.as_ref(),
        manifest.bytes(),
        "the exact bytes, never re-serialised"
    );
    let agenda = app.get("/api/public/e2e/agenda", Auth::None).await.ok();
    assert_eq!(agenda["n"], 3);
    assert_eq!(agenda["k"], 2);
    assert_eq!(agenda["guardians"].as_array().unwrap().len(), 3);
    for item in [
        "mh",
        "appliance",
        "officer",
        "booth",
        "guardian-1",
        "guardian-3",
    ] {
        let svg = app
            .client
            .get(format!("{}/api/public/e2e/qr/{item}.svg", app.base))
            .send()
            .await
            .unwrap();
        assert!(svg.status().is_success(), "{item}");
        assert!(svg.text().await.unwrap().contains("<svg"), "{item}");
    }
    let page = app
        .client
        .get(format!("{}/console/agenda", app.base))
        .send()
        .await
        .unwrap();
    assert!(page.status().is_success());
}
