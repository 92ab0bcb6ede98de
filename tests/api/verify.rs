//! Signed result bundles, end to end: made by the real server, verified by `piaojue verify`,
//! tampered field by field, co-signed by a scrutineer, checked by a second Ed25519
//! implementation (Python's `cryptography`).

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use piaojue_core::bundle::{self, Expect};
use piaojue_core::crypto::{self, ApplianceKey, Domain};
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, ballot_id, repo};
use crate::session::choices_for;

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

/// The four golden bundles' votes: a 票决, a 测评, a motion and a named motion, in one session.
struct Session {
    app: TestApp,
    key: ApplianceKey,
    bundles: Vec<(String, Vec<u8>)>,
    receipts: Vec<Vec<String>>,
    /// The scrutineer's public key (hex), as the agenda would print it.
    scrutineer: String,
}

async fn run_session() -> Session {
    let mut app = TestApp::spawn().await;
    let mut rules = app.prepare(40).await;
    let named = std::fs::read(repo("tests/data/rules/named-motion.json")).unwrap();
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some(("application/json", named)),
        )
        .await
        .ok();
    rules.push(r["sha256"].as_str().unwrap().to_string());
    let tablets = app.enrol_all().await;
    // A scrutineer with their own key.
    let code = app
        .post(
            "/api/operator/scrutineers",
            Auth::Operator,
            json!({ "name": "总监票人 周正平" }),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let scrutineer = ApplianceKey::generate().unwrap();
    let s_token = app
        .post(
            "/api/scrutineer/enrol",
            Auth::None,
            json!({ "code": code, "public_key": scrutineer.public_hex() }),
        )
        .await
        .ok()["token"]
        .as_str()
        .unwrap()
        .to_string();
    type Plan<'a> = (&'a str, usize, Vec<&'a str>, Vec<Vec<u8>>);
    let plans: Vec<Plan> = vec![
        (
            "2026年民生实事项目票决",
            0,
            vec![
                "城区中小学扩容工程",
                "老年助餐服务点建设",
                "农村饮用水提标改造",
                "社区卫生服务中心标准化建设",
                "背街小巷改造提升",
                "公共停车泊位新增",
                "城乡公交一体化",
            ],
            choices_for(38, &[36, 33, 30, 25, 22, 22, 10], 5),
        ),
        (
            "2025年民生实事项目满意度测评",
            1,
            vec!["教育惠民工程", "老年护理照料中心", "城乡供水一体化"],
            (0..39)
                .map(|k| vec![(k % 3) as u8, (k % 2) as u8, if k < 5 { 2 } else { 0 }])
                .collect(),
        ),
        (
            "关于县人民政府工作报告的决议",
            2,
            vec!["关于县人民政府工作报告的决议"],
            (0..37)
                .map(|k| vec![if k < 33 { 0 } else { (k % 2 + 1) as u8 }])
                .collect(),
        ),
        (
            "关于撤销某某职务的决定（记名表决）",
            3,
            vec!["关于撤销某某职务的决定"],
            (0..40).map(|k| vec![if k < 30 { 0 } else { 1 }]).collect(),
        ),
    ];
    let mut bundles = Vec::new();
    let mut all_receipts = Vec::new();
    // The votes run side by side: the secret ones, where some deputies do not press, close
    // by themselves when their (test-length) period ends; the named one is closed by the
    // secretariat after them, so the chain runs in vote order.
    let mut opened = Vec::new();
    for (title, r, items, ballots) in plans {
        let vote = app.create_vote(title, &rules[r], &items).await;
        app.post(
            &format!("/api/operator/votes/{vote}/open"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
        let mut receipts = Vec::new();
        for ((_, token), choices) in tablets.iter().zip(&ballots) {
            let r = app
                .post(
                    &format!("/api/tablet/votes/{vote}/cast"),
                    Auth::Token(token),
                    json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": choices }),
                )
                .await
                .ok();
            receipts.push(r["receipt_code"].as_str().unwrap().to_string());
        }
        opened.push((vote, r, receipts));
    }
    for (vote, r, _) in &opened {
        if *r == 3 {
            app.post(
                &format!("/api/operator/votes/{vote}/close"),
                Auth::Operator,
                json!({}),
            )
            .await
            .ok();
        } else {
            app.wait_closed(vote).await;
        }
    }
    for (vote, r, mut receipts) in opened {
        if r == 3 {
            // The named motion needs one co-signature before it can be announced.
            app.post(
                &format!("/api/operator/votes/{vote}/announce"),
                Auth::Operator,
                json!({}),
            )
            .await
            .err(409, "cosignatures_missing");
            let b = app
                .get(
                    &format!("/api/scrutineer/votes/{vote}/bundle"),
                    Auth::Token(&s_token),
                )
                .await
                .ok();
            let body = STANDARD.decode(b["body"].as_str().unwrap()).unwrap();
            // A signature by another key is refused.
            let stranger = ApplianceKey::generate().unwrap();
            app.post(
                &format!("/api/scrutineer/votes/{vote}/cosign"),
                Auth::Token(&s_token),
                json!({ "signature": crypto::hex(&stranger.sign(Domain::Result, &body)) }),
            )
            .await
            .err(400, "bad_signature");
            let r = app
                .post(
                    &format!("/api/scrutineer/votes/{vote}/cosign"),
                    Auth::Token(&s_token),
                    json!({ "signature": crypto::hex(&scrutineer.sign(Domain::Result, &body)) }),
                )
                .await
                .ok();
            assert_eq!(r["cosignatures"], 1);
        }
        app.post(
            &format!("/api/operator/votes/{vote}/announce"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
        let bytes = app
            .client
            .get(format!("{}/api/public/votes/{vote}/bundle", app.base))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        bundles.push((vote, bytes));
        receipts.sort();
        all_receipts.push(receipts);
    }
    let key = piaojue::appliance::load_key(&app.data_dir()).unwrap();
    Session {
        app,
        key,
        bundles,
        receipts: all_receipts,
        scrutineer: scrutineer.public_hex(),
    }
}

const GOLDEN: [&str; 4] = [
    "project-selection",
    "satisfaction",
    "motion",
    "named-motion",
];

/// Regenerates tests/data/bundles/ from a real session: `cargo test --test api -- --ignored regenerate`.
#[tokio::test]
#[ignore]
async fn regenerate_golden_bundles() {
    let s = run_session().await;
    let dir = repo("tests/data/bundles");
    for ((_, bytes), name) in s.bundles.iter().zip(GOLDEN) {
        std::fs::write(dir.join(format!("{name}.json")), bytes).unwrap();
    }
    std::fs::write(
        dir.join("appliance-key.txt"),
        format!("{}\n", s.key.public_hex()),
    )
    .unwrap();
    std::fs::write(dir.join("receipt.txt"), format!("{}\n", s.receipts[0][0])).unwrap();
    std::fs::write(
        dir.join("scrutineers.txt"),
        format!("# 监票人公钥（议程附页）\n{}\n", s.scrutineer),
    )
    .unwrap();
}

fn golden_key() -> String {
    std::fs::read_to_string(repo("tests/data/bundles/appliance-key.txt"))
        .unwrap()
        .trim()
        .to_string()
}

fn verify_bin(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).arg("verify").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn golden_bundles_verify_and_chain() {
    let key = golden_key();
    let dir = repo("tests/data/bundles");
    let path = |n: &str| dir.join(format!("{n}.json")).to_string_lossy().into_owned();
    for (i, name) in GOLDEN.iter().enumerate() {
        let mut args = vec![path(name), "--key".into(), key.clone()];
        if i > 0 {
            args.push("--previous".into());
            args.push(path(GOLDEN[i - 1]));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (rc, out) = verify_bin(&args);
        assert_eq!(rc, 0, "{name}: {out}");
        assert!(out.contains("verified: all"), "{out}");
        if i > 0 {
            assert!(out.contains("ok   chain.previous"), "{out}");
        }
    }
    let receipt = std::fs::read_to_string(dir.join("receipt.txt")).unwrap();
    let (rc, out) = verify_bin(&[
        &path("project-selection"),
        "--key",
        &key,
        "--receipt",
        receipt.trim(),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("ok   receipt"));
    let (rc, out) = verify_bin(&[
        &path("project-selection"),
        "--key",
        &key,
        "--receipt",
        "AAAA-BBBB-CCCC-DDDD",
    ]);
    assert_eq!(rc, 1);
    assert!(
        out.contains("FAIL receipt: AAAA-BBBB-CCCC-DDDD is not among the 38 receipts"),
        "{out}"
    );
    // The chain check names a wrong predecessor.
    let (rc, out) = verify_bin(&[
        &path("motion"),
        "--key",
        &key,
        "--previous",
        &path("project-selection"),
    ]);
    assert_eq!(rc, 1);
    assert!(out.contains("FAIL chain.previous"), "{out}");
    // JSON for machines.
    let (rc, out) = verify_bin(&[&path("named-motion"), "--key", &key, "--json"]);
    assert_eq!(rc, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["verified"], true);
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "named" && c["ok"] == true)
    );
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "signature.scrutineer[1]" && c["ok"] == true)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let bundle = repo("tests/data/bundles/motion.json");
    let bundle = bundle.to_str().unwrap();
    assert_eq!(verify_bin(&[bundle]).0, 2, "no key pinned");
    assert_eq!(verify_bin(&[bundle, "--key", "xyz"]).0, 2);
    let identity = format!("01{}", "00".repeat(31));
    let (rc, out) = verify_bin(&[bundle, "--key", &identity]);
    assert_eq!(rc, 2, "a small-order key cannot be pinned: {out}");
    assert_eq!(
        verify_bin(&["/nonexistent.json", "--key", &golden_key()]).0,
        2
    );
    assert_eq!(
        verify_bin(&[bundle, "--session", "http://127.0.0.1:9/"]).0,
        2
    );
}

/// Mutates a golden bundle's signed body, keeps the signature: the signature and the
/// content check both fail, and `piaojue verify` exits 1 naming them.
fn tamper_golden(name: &str, mutate: impl Fn(&mut Value)) -> (i32, String) {
    let bytes = std::fs::read(repo(&format!("tests/data/bundles/{name}.json"))).unwrap();
    let mut envelope: Value = serde_json::from_slice(&bytes).unwrap();
    let body = STANDARD.decode(envelope["body"].as_str().unwrap()).unwrap();
    let mut body: Value = serde_json::from_slice(&body).unwrap();
    mutate(&mut body);
    envelope["body"] = json!(STANDARD.encode(body.to_string()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.json");
    std::fs::write(&file, envelope.to_string()).unwrap();
    verify_bin(&[file.to_str().unwrap(), "--key", &golden_key()])
}

#[test]
fn every_tampered_field_of_a_golden_bundle_is_named() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "project-selection",
            Box::new(|b| b["counts"][2][0] = json!(b["counts"][2][0].as_u64().unwrap() + 1)),
            "counts.recount",
        ),
        (
            "project-selection",
            Box::new(|b| {
                b["ballots"].as_array_mut().unwrap().pop();
            }),
            "roll",
        ),
        (
            "project-selection",
            Box::new(|b| {
                let first = b["ballots"][0].clone();
                b["ballots"].as_array_mut().unwrap().insert(0, first);
            }),
            "roll",
        ),
        (
            "project-selection",
            Box::new(|b| b["ballots"][0] = json!([0, 0, 0, 0, 0, 0, 0])),
            "ballots.wellformed",
        ),
        (
            "project-selection",
            Box::new(|b| b["outcome"]["selected"][0] = json!("城乡公交一体化")),
            "outcome.rerun",
        ),
        (
            "project-selection",
            Box::new(|b| b["announcement"] = json!("通过。")),
            "announcement",
        ),
        (
            "project-selection",
            Box::new(|b| b["rules_sha256"] = json!("00".repeat(32))),
            "rules.hash",
        ),
        (
            "project-selection",
            Box::new(|b| {
                let d = b["rules_document"]
                    .as_str()
                    .unwrap()
                    .replace("\"select_n\": 5", "\"select_n\": 4");
                b["rules_document"] = json!(d);
            }),
            "rules.hash",
        ),
        (
            "project-selection",
            Box::new(|b| b["receipts"].as_array_mut().unwrap().swap(0, 1)),
            "receipts",
        ),
        (
            "project-selection",
            Box::new(|b| {
                b["receipts"].as_array_mut().unwrap().pop();
            }),
            "roll",
        ),
        (
            "project-selection",
            Box::new(|b| b["ballots"].as_array_mut().unwrap().reverse()),
            "ballots.order",
        ),
        (
            "project-selection",
            Box::new(|b| b["roll"]["present"] = json!(10)),
            "roll",
        ),
        (
            "satisfaction",
            Box::new(|b| b["outcome"]["items"][0]["tier"] = json!("满意")),
            "outcome.rerun",
        ),
        (
            "motion",
            Box::new(|b| b["outcome"]["passed"] = json!(false)),
            "outcome.rerun",
        ),
        (
            "motion",
            Box::new(|b| b["audit_head"]["seq"] = json!(1)),
            "signature.appliance",
        ),
        (
            "named-motion",
            Box::new(|b| b["named"][0]["choices"] = json!([2])),
            "named",
        ),
        (
            "named-motion",
            Box::new(|b| b["secret"] = json!(true)),
            "rules.kind",
        ),
    ];
    for (name, mutate, check) in cases {
        let (rc, out) = tamper_golden(name, mutate);
        assert_eq!(rc, 1, "{name}/{check}: {out}");
        assert!(
            out.contains("FAIL signature.appliance"),
            "a changed body breaks the signature: {out}"
        );
        assert!(
            out.contains(&format!("FAIL {check}")),
            "{name}: expected FAIL {check}:\n{out}"
        );
        assert!(out.contains("NOT VERIFIED"));
    }
}

#[test]
fn broken_envelopes_and_signatures_are_named() {
    let bytes = std::fs::read(repo("tests/data/bundles/named-motion.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = |content: Vec<u8>| {
        let file = dir.path().join("b.json");
        std::fs::write(&file, content).unwrap();
        verify_bin(&[file.to_str().unwrap(), "--key", &golden_key()])
    };
    let (rc, out) = run(bytes[..bytes.len() / 2].to_vec());
    assert_eq!(rc, 1);
    assert!(out.contains("FAIL envelope"), "{out}");
    let mut env: Value = serde_json::from_slice(&bytes).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut e = env.clone();
        f(&mut e);
        serde_json::to_vec(&e).unwrap()
    };
    let (_, out) = run(edit(&|e| e["body"] = json!("***not base64***")));
    assert!(
        out.contains("FAIL envelope: body is not standard padded base64"),
        "{out}"
    );
    let (_, out) = run(edit(&|e| {
        let s = e["signatures"][0]["signature"]
            .as_str()
            .unwrap()
            .to_string();
        let flipped = match s.strip_prefix('0') {
            Some(rest) => format!("1{rest}"),
            None => format!("0{}", &s[1..]),
        };
        e["signatures"][0]["signature"] = json!(flipped);
    }));
    assert!(
        out.contains("FAIL signature.appliance: the signature does not verify"),
        "{out}"
    );
    let (_, out) = run(edit(&|e| e["signatures"][0]["signature"] = json!("abcd")));
    assert!(
        out.contains("FAIL signature.appliance: a signature must be 64 bytes"),
        "{out}"
    );
    let (_, out) = run(edit(&|e| {
        e["signatures"][0]["public_key"] = json!(format!("01{}", "00".repeat(31)))
    }));
    assert!(out.contains("small order"), "{out}");
    // Dropping the scrutineer's co-signature: the rules require one.
    let (_, out) = run(edit(&|e| {
        e["signatures"].as_array_mut().unwrap().pop();
    }));
    assert!(
        out.contains(
            "FAIL cosignatures.required: 0 valid co-signatures by the scrutineers signed into the vote, but the rules require 1"
        ),
        "{out}"
    );
    // A scrutineer signature over something else.
    let (_, out) = run(edit(&|e| {
        e["signatures"][1]["signature"] = e["signatures"][0]["signature"].clone()
    }));
    assert!(out.contains("FAIL signature.scrutineer[1]"), "{out}");
    // An unknown envelope format (piaojue-bundle/2 is the encrypted mode's, checked by V1-V16).
    env["format"] = json!("piaojue-bundle/9");
    let (_, out) = run(serde_json::to_vec(&env).unwrap());
    assert!(
        out.contains("FAIL envelope: format `piaojue-bundle/9`"),
        "{out}"
    );
    env["format"] = json!("piaojue-bundle/2");
    let (rc, out) = run(serde_json::to_vec(&env).unwrap());
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("FAIL parse"),
        "a plain body is no v2 bundle: {out}"
    );
}

/// Content checks in isolation: bundles re-signed by the real appliance key after tampering,
/// so only the content check can catch them; and a bundle signed by another key.
#[tokio::test]
async fn re_signed_tampering_is_caught_by_the_content_checks() {
    let s = run_session().await;
    let (vote, bytes) = &s.bundles[0];
    let pinned = Some(s.key.public());
    let report = bundle::verify(
        bytes,
        &Expect {
            key: pinned,
            ..Expect::default()
        },
    );
    assert!(report.verified, "{:?}", report.checks);
    // The result the server published is the one the bundle holds.
    let result = s
        .app
        .get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .ok();
    let body: Value = serde_json::from_slice(&bundle::parse(bytes).unwrap().1).unwrap();
    assert_eq!(result["outcome"], body["outcome"]);
    assert_eq!(result["receipts"], body["receipts"]);
    assert_eq!(
        json!(s.receipts[0]),
        body["receipts"],
        "every receipt a tablet got is listed"
    );
    // The named vote publishes who chose what; the secret ones name nobody.
    let named = s
        .app
        .get("/api/public/votes/v4/result", Auth::None)
        .await
        .ok();
    let list = named["named_choices"].as_array().unwrap();
    assert_eq!(list.len(), 40);
    assert!(
        list.iter()
            .all(|n| n["name"].as_str().is_some_and(|x| !x.is_empty()))
    );
    assert_eq!(
        list.iter()
            .filter(|n| n["choices"] == json!(["赞成"]))
            .count(),
        30
    );
    assert_eq!(result["named_choices"], serde_json::Value::Null);

    let resign = |key: &ApplianceKey, f: &dyn Fn(&mut Value)| -> Vec<u8> {
        let mut b = body.clone();
        f(&mut b);
        let text = b.to_string();
        let env = bundle::Envelope::new(
            &text,
            vec![bundle::SignatureEntry {
                role: "appliance".into(),
                name: None,
                public_key: key.public_hex(),
                signature: crypto::hex(&key.sign(Domain::Result, text.as_bytes())),
            }],
        );
        env.to_json().unwrap().into_bytes()
    };
    let failed = |bytes: &[u8]| -> Vec<String> {
        bundle::verify(
            bytes,
            &Expect {
                key: pinned,
                ..Expect::default()
            },
        )
        .checks
        .into_iter()
        .filter(|c| !c.ok)
        .map(|c| c.name)
        .collect()
    };
    assert_eq!(
        failed(&resign(&s.key, &|b| b["counts"][0][0] = json!(0))),
        vec!["counts.recount"]
    );
    assert_eq!(
        failed(&resign(&s.key, &|b| b["outcome"]["tie"] =
            json!({"items": ["a"], "seats": 1, "votes": 3}))),
        vec!["outcome.rerun"]
    );
    assert_eq!(
        failed(&resign(&s.key, &|b| b["announcement"] = json!("x"))),
        vec!["announcement"]
    );
    let other = ApplianceKey::generate().unwrap();
    let forged = resign(&other, &|b| b["appliance_key"] = json!(other.public_hex()));
    assert_eq!(failed(&forged), vec!["key.pinned"]);
}

/// A second Ed25519 implementation that shares no code with ours checks the signatures.
#[test]
fn python_cryptography_verifies_the_golden_signatures() {
    let script = repo("tests/interop/verify_signatures.py");
    let dir = repo("tests/data/bundles");
    let files: Vec<String> = GOLDEN
        .iter()
        .map(|n| dir.join(format!("{n}.json")).to_string_lossy().into_owned())
        .collect();
    let out = Command::new("python3")
        .arg(&script)
        .args(&files)
        .output()
        .expect("python3");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(
        text.matches("OK ").count(),
        5,
        "four appliance signatures and one co-signature: {text}"
    );
    // And it rejects a tampered body.
    let bytes = std::fs::read(&files[2]).unwrap();
    let mut env: Value = serde_json::from_slice(&bytes).unwrap();
    let mut body = STANDARD.decode(env["body"].as_str().unwrap()).unwrap();
    let at = body.iter().position(|&b| b == b'3').unwrap();
    body[at] = b'4';
    env["body"] = json!(STANDARD.encode(&body));
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("t.json");
    std::fs::write(&file, env.to_string()).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let _ = Path::new(&file);
}

/// Regression (trust holes #1): a co-signature by any key outside the scrutineers the
/// appliance signed into the vote fails, and cannot meet the rules' requirement. The
/// reproduction: remove the real co-signature of the named motion and add one by a fresh
/// key named 总监票人.
#[test]
fn a_co_signature_by_a_key_outside_the_signed_set_fails() {
    let bytes = std::fs::read(repo("tests/data/bundles/named-motion.json")).unwrap();
    let mut env: Value = serde_json::from_slice(&bytes).unwrap();
    let body = STANDARD.decode(env["body"].as_str().unwrap()).unwrap();
    let stranger = ApplianceKey::generate().unwrap();
    let sigs = env["signatures"].as_array_mut().unwrap();
    sigs.retain(|s| s["role"] == "appliance");
    sigs.push(json!({
        "role": "scrutineer",
        "name": "总监票人",
        "public_key": stranger.public_hex(),
        "signature": crypto::hex(&stranger.sign(Domain::Result, &body)),
    }));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("forged.json");
    std::fs::write(&file, serde_json::to_vec(&env).unwrap()).unwrap();
    let (rc, out) = verify_bin(&[file.to_str().unwrap(), "--key", &golden_key()]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("FAIL signature.scrutineer[1]: 总监票人: key")
            && out.contains("is not one of the scrutineers the appliance signed into this vote"),
        "{out}"
    );
    assert!(out.contains("FAIL cosignatures.required"), "{out}");
    // The genuine bundle names its scrutineer and verifies.
    let (rc, out) = verify_bin(&[
        repo("tests/data/bundles/named-motion.json")
            .to_str()
            .unwrap(),
        "--key",
        &golden_key(),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("ok   scrutineers: 1 scrutineers signed into the vote: 总监票人 周正平"),
        "{out}"
    );
}

/// Regression (trust holes #1): a bundle made before scrutineer keys were pinned cannot meet
/// a co-signature requirement: its co-signatures are bound to no key the appliance signed.
#[test]
fn an_unpinned_bundle_whose_rules_require_co_signatures_fails() {
    let legacy = repo("tests/data/bundles/legacy/named-motion-unpinned.json");
    let key = std::fs::read_to_string(legacy.with_file_name("appliance-key.txt")).unwrap();
    let (rc, out) = verify_bin(&[legacy.to_str().unwrap(), "--key", key.trim()]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("FAIL cosignatures.required: the rules require 1 co-signatures, but this bundle names no scrutineers (it predates pinned scrutineer keys)"),
        "{out}"
    );
    assert!(out.contains("FAIL signature.scrutineer[1]"), "{out}");
}

/// `piaojue verify --scrutineers FILE` pins the keys printed on the agenda.
#[test]
fn the_agendas_scrutineer_keys_are_pinned() {
    let bundle = repo("tests/data/bundles/named-motion.json");
    let agenda = repo("tests/data/bundles/scrutineers.txt");
    let (rc, out) = verify_bin(&[
        bundle.to_str().unwrap(),
        "--key",
        &golden_key(),
        "--scrutineers",
        agenda.to_str().unwrap(),
    ]);
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("ok   scrutineers.pinned"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("agenda.txt");
    std::fs::write(
        &other,
        format!("{}\n", ApplianceKey::generate().unwrap().public_hex()),
    )
    .unwrap();
    let (rc, out) = verify_bin(&[
        bundle.to_str().unwrap(),
        "--key",
        &golden_key(),
        "--scrutineers",
        other.to_str().unwrap(),
    ]);
    assert_eq!(rc, 1, "{out}");
    assert!(out.contains("FAIL scrutineers.pinned: the scrutineers differ from the agenda's: 1 of its keys are missing, 1 keys are not on it"), "{out}");
    std::fs::write(&other, "not a key\n").unwrap();
    let (rc, out) = verify_bin(&[
        bundle.to_str().unwrap(),
        "--key",
        &golden_key(),
        "--scrutineers",
        other.to_str().unwrap(),
    ]);
    assert_eq!(rc, 2, "{out}");
    assert!(out.contains("--scrutineers"), "{out}");
}

/// Regression (trust holes #14, pages #1): the fingerprint as printed on the 公告 pins the key
/// (grouping and case ignored); a shortened one is refused; a wrong one fails `key.pinned`.
#[test]
fn the_printed_fingerprint_pins_the_key() {
    let key = crypto::public_key(&golden_key()).unwrap();
    let printed = crypto::fingerprint_grouped(&crypto::fingerprint(&key));
    let bundle = repo("tests/data/bundles/motion.json");
    let bundle = bundle.to_str().unwrap();
    let (rc, out) = verify_bin(&[bundle, "--fingerprint", &printed]);
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("ok   key.pinned: the appliance key's fingerprint is the one pinned"),
        "{out}"
    );
    let (rc, out) = verify_bin(&[
        bundle,
        "--fingerprint",
        &printed.to_uppercase().replace(' ', ""),
    ]);
    assert_eq!(rc, 0, "{out}");
    let short: String = printed.chars().take(39).collect();
    let (rc, out) = verify_bin(&[bundle, "--fingerprint", &short]);
    assert_eq!(rc, 2, "{out}");
    assert!(
        out.contains("--fingerprint: only 32 of the fingerprint's 64 hex digits"),
        "{out}"
    );
    let other = crypto::fingerprint_grouped(&crypto::fingerprint(
        &ApplianceKey::generate().unwrap().public(),
    ));
    let (rc, out) = verify_bin(&[bundle, "--fingerprint", &other]);
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("FAIL key.pinned: signed by a key whose fingerprint is"),
        "{out}"
    );
}

/// Regression (trust holes #14): `--session` alone took the pinned key from the appliance it
/// verifies (circular): now the key or its fingerprint is required, the session must serve
/// that key, and the chain to the previous bundle is checked from the session's bundles.
#[tokio::test]
async fn a_session_url_does_not_pin_the_key_and_the_chain_is_checked() {
    let s = run_session().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.json");
    std::fs::write(&file, &s.bundles[1].1).unwrap();
    let file = file.to_str().unwrap().to_string();
    let base = s.app.base.clone();
    // The binary runs off the test's runtime, which keeps serving the appliance meanwhile.
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            verify_bin(&args)
        })
    };
    let (rc, out) = run(vec![file.clone(), "--session".into(), base.clone()])
        .await
        .unwrap();
    assert_eq!(rc, 2, "{out}");
    assert!(out.contains("pin the appliance key"), "{out}");
    let (rc, out) = run(vec![
        file.clone(),
        "--session".into(),
        base.clone(),
        "--key".into(),
        s.key.public_hex(),
    ])
    .await
    .unwrap();
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("ok   chain.previous: follows"), "{out}");
    let stranger = ApplianceKey::generate().unwrap().public_hex();
    let (rc, out) = run(vec![
        file,
        "--session".into(),
        base,
        "--key".into(),
        stranger,
    ])
    .await
    .unwrap();
    assert_eq!(rc, 2, "{out}");
    assert!(
        out.contains("serves the appliance key with fingerprint"),
        "{out}"
    );
}
