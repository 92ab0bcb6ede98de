//! The scrutineers' key ceremony (SPEC-E2E §8) over real HTTP with real `piaojue scrutineer
//! ceremony` processes, each with its own sealed state directory; a malicious guardian is
//! played by this test with the library (it signs what it sends, as modified software would).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use piaojue_core::e2e::ceremony::{self, Board, Message, SystemSource};
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::group::Element;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, SessionParams};
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_piaojue"))
}

pub struct Scrutineer {
    pub dir: PathBuf,
    pub key: PathBuf,
    pub public: [u8; 32],
}

pub fn keygen(root: &Path, i: u64) -> Scrutineer {
    let dir = root.join(format!("s{i}"));
    std::fs::create_dir_all(&dir).unwrap();
    let key = root.join(format!("s{i}.key"));
    let out = bin()
        .args(["scrutineer", "keygen", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let hexkey = text
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap()
        .trim()
        .to_string();
    Scrutineer {
        dir,
        key,
        public: hex::decode_array(&hexkey, "key").unwrap(),
    }
}

pub fn passphrase(i: u64) -> String {
    format!("scrutineer {i} passphrase")
}

pub fn ceremony(app: &TestApp, s: &Scrutineer, i: u64, mh: &str) -> Child {
    bin()
        .args(["scrutineer", "ceremony", "--url", &app.base, "--dir"])
        .arg(&s.dir)
        .arg("--key")
        .arg(&s.key)
        .args(["--mh", mh, "--timeout", "120"])
        .env("PIAOJUE_PASSPHRASE", passphrase(i))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub async fn finish(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

pub fn fingerprint(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("密钥指纹（key fingerprint）: "))
        .unwrap_or_else(|| panic!("no fingerprint in {text}"))
        .to_string()
}

pub async fn publish(app: &mut TestApp, scrutineers: &[Scrutineer], k: u64) -> SessionManifest {
    let officer = piaojue_core::crypto::ApplianceKey::generate()
        .unwrap()
        .public();
    publish_with(app, scrutineers, k, officer).await
}

pub async fn publish_with(
    app: &mut TestApp,
    scrutineers: &[Scrutineer],
    k: u64,
    officer: [u8; 32],
) -> SessionManifest {
    app.login().await;
    let appliance: [u8; 32] =
        piaojue_core::crypto::public_key(&app.store.meta().public_key).unwrap();
    let manifest = SessionParams {
        election_id: "county-18-3".into(),
        radix: 4096,
        max_electorate: 4095,
        guardian_ids: scrutineers.iter().map(|s| s.public).collect(),
        k,
        credential_officer: officer,
        appliance_key: appliance,
        booth_hash: [7; 32],
    }
    .build()
    .unwrap();
    app.request(
        reqwest::Method::POST,
        "/api/operator/e2e/manifest",
        Auth::Operator,
        Some(("application/json", manifest.bytes().to_vec())),
    )
    .await
    .ok();
    manifest
}

pub async fn board(app: &TestApp) -> Value {
    app.get("/api/public/e2e/board", Auth::None).await.ok()
}

/// Replays the board as any observer would.
pub fn replay(sm: &SessionManifest, v: &Value) -> Board {
    let mut b = Board::new(sm.clone());
    for m in v["messages"].as_array().unwrap() {
        let (a, msg) = Message::from_json(m).unwrap();
        b.accept(a, msg).unwrap();
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_scrutineer_processes_run_the_ceremony_and_read_the_same_fingerprint() {
    let root = tempfile::tempdir().unwrap();
    let ss: Vec<Scrutineer> = (1..=5).map(|i| keygen(root.path(), i)).collect();
    let mut app = TestApp::spawn().await;
    let sm = publish(&mut app, &ss, 3).await;
    let mh = hex::encode(sm.hash());
    app.get("/api/public/e2e/ceremony", Auth::None)
        .await
        .err(404, "ceremony_incomplete");
    let children: Vec<Child> = ss
        .iter()
        .zip(1..)
        .map(|(s, i)| ceremony(&app, s, i, &mh))
        .collect();
    let mut outs = Vec::new();
    for c in children {
        outs.push(finish(c).await);
    }
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("试运行通过"), "{text}");
        assert!(text.contains("all 10 quorums"), "{text}");
    }
    let fps: Vec<String> = outs.iter().map(fingerprint).collect();
    assert!(fps.iter().all(|f| *f == fps[0]), "{fps:?}");
    let b = board(&app).await;
    assert_eq!(b["status"]["step"], "complete");
    assert_eq!(b["status"]["fingerprint"], fps[0].as_str());
    let replayed = replay(&sm, &b);
    assert_eq!(
        replayed.joint_key().unwrap().to_hex(),
        b["status"]["joint_key"].as_str().unwrap()
    );
    let section = app.get("/api/public/e2e/ceremony", Auth::None).await.ok();
    assert_eq!(section["ceremony"]["attempt"], 1);
    assert_eq!(section["ceremony"]["participants"], json!([1, 2, 3, 4, 5]));

    // The share file is sealed: no passphrase, no share; a wrong one is refused as such.
    let sealed = std::fs::read_to_string(ss[0].dir.join("guardian.sealed")).unwrap();
    assert!(sealed.contains("pbkdf2-hmac-sha256"), "{sealed}");
    assert!(
        !sealed.contains("\"z\""),
        "the state is not readable: {sealed}"
    );
    let wrong = bin()
        .args(["scrutineer", "ceremony", "--url", &app.base, "--dir"])
        .arg(&ss[0].dir)
        .env("PIAOJUE_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2), "{wrong:?}");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    // With it, a re-run resumes from the sealed state and finds the ceremony done.
    let again = bin()
        .args(["scrutineer", "ceremony", "--url", &app.base, "--dir"])
        .arg(&ss[0].dir)
        .env("PIAOJUE_PASSPHRASE", passphrase(1))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    // Review C2: a relay that later shows a forked board (an announcement withheld and a
    // restart) is refused; the device keeps the ceremony it completed and its share.
    let fork = crate::decryption::proxy(
        app.base.clone(),
        std::sync::Arc::new(|p: &str| p.to_owned()),
        std::sync::Arc::new(|path, mut v| {
            if path.ends_with("/e2e/board") {
                let msgs = v["messages"].as_array_mut().unwrap();
                let last = msgs.iter().rposition(|m| m["kind"] == "key_announce").unwrap();
                msgs.truncate(last);
                msgs.push(json!({"attempt": 2, "kind": "restart", "message": {"participants": [1, 2, 3, 4, 5], "reason": "device crash"}}));
            }
            v
        }),
    )
    .await;
    let forked = bin()
        .args(["scrutineer", "ceremony", "--url", &fork, "--dir"])
        .arg(&ss[1].dir)
        .args(["--accept-restart", "2", "--dry-run", "day2"])
        .env("PIAOJUE_PASSPHRASE", passphrase(2))
        .output()
        .unwrap();
    assert_eq!(forked.status.code(), Some(1), "{forked:?}");
    assert!(
        String::from_utf8_lossy(&forked.stderr)
            .contains("the board no longer shows the ceremony this device completed"),
        "{forked:?}"
    );
    // The honest board still works for the next day's dry run.
    let day2 = bin()
        .args(["scrutineer", "ceremony", "--url", &app.base, "--dir"])
        .arg(&ss[1].dir)
        .args(["--dry-run", "day2", "--timeout", "3"])
        .env("PIAOJUE_PASSPHRASE", passphrase(2))
        .output()
        .unwrap();
    let day2_text = String::from_utf8_lossy(&day2.stdout);
    assert!(
        day2_text.contains("dry run dry-run-day2: partial decryption sent"),
        "{day2:?}"
    );

    // The board refuses what is not a valid message, naming why, and keeps nothing.
    let before = board(&app).await["messages"].as_array().unwrap().len();
    let post = |body: Vec<u8>| {
        app.request(
            reqwest::Method::POST,
            "/api/e2e/board",
            Auth::None,
            Some(("application/json", body)),
        )
    };
    let r = post(b"{not json".to_vec()).await;
    r.err(400, "bad_board_message");
    let forged = SigningIdentity::from_seed(&[1; 32]);
    let a = replayed.current().clone();
    let (r1, _) = ceremony::make_round1(&a.cc, 2, 3, &forged, &mut SystemSource).unwrap();
    let body = serde_json::to_vec(&Message::Round1(r1).to_json(1)).unwrap();
    let r = post(body).await;
    // The ceremony is complete: a round-1 message now is out of turn.
    r.err(409, "board_conflict");
    let after = board(&app).await["messages"].as_array().unwrap().len();
    assert_eq!(before, after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardian_sending_a_bad_share_is_judged_faulty_and_the_others_restart_without_it() {
    let root = tempfile::tempdir().unwrap();
    let ss: Vec<Scrutineer> = (1..=5).map(|i| keygen(root.path(), i)).collect();
    let mut app = TestApp::spawn().await;
    let sm = publish(&mut app, &ss, 3).await;
    let mh = hex::encode(sm.hash());
    // Guardian 2 is malicious: played here with its own key.
    let seed: [u8; 32] =
        hex::decode_array(std::fs::read_to_string(&ss[1].key).unwrap().trim(), "seed").unwrap();
    let evil = SigningIdentity::from_seed(&seed);
    let honest: Vec<Child> = [1u64, 3, 4, 5]
        .iter()
        .map(|&i| ceremony(&app, &ss[i as usize - 1], i, &mh))
        .collect();
    let post = |v: Value| {
        app.request(
            reqwest::Method::POST,
            "/api/e2e/board",
            Auth::None,
            Some(("application/json", serde_json::to_vec(&v).unwrap())),
        )
    };
    let a = Board::new(sm.clone()).current().clone();
    let (r1, secrets) = ceremony::make_round1(&a.cc, 2, 3, &evil, &mut SystemSource).unwrap();
    post(Message::Round1(r1).to_json(1)).await.ok();
    // Once round 1 is complete, send everyone a share, guardian 3 a wrong one.
    let a = loop {
        let b = replay(&sm, &board(&app).await);
        if b.current().missing_round1().is_empty() {
            break b.current().clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for mut r2 in ceremony::make_round2(&a, 2, &secrets, &evil, &mut SystemSource).unwrap() {
        if r2.to == 3 {
            let d3: Element = a.round1.get(&3).unwrap().1;
            let wrong = piaojue_core::e2e::transport::seal_share(
                &a.cc,
                2,
                3,
                &d3,
                &piaojue_core::e2e::group::scalar_from_i64(11),
                &piaojue_core::e2e::group::scalar_from_i64(42),
            )
            .unwrap();
            r2.blob = wrong.to_vec();
            r2.sig = evil.sign(&piaojue_core::e2e::transcript::dkg_round2_message(
                &a.cc, 2, 3, &r2.blob,
            ));
        }
        post(Message::Round2(r2).to_json(1)).await.ok();
    }
    let mut outs = Vec::new();
    for c in honest {
        outs.push(finish(c).await);
    }
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("第 2 次：重新开始"), "{text}");
        assert!(text.contains("all 4 quorums"), "{text}");
    }
    let g3 = String::from_utf8_lossy(&outs[1].stdout);
    assert!(g3.contains("监票人 2 发给本人的份额无效"), "{g3}");
    let fps: Vec<String> = outs.iter().map(fingerprint).collect();
    assert!(fps.iter().all(|f| *f == fps[0]), "{fps:?}");
    let b = board(&app).await;
    assert_eq!(b["status"]["attempt"], 2);
    assert_eq!(b["status"]["participants"], json!([1, 3, 4, 5]));
    let reason = b["status"]["restarts"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("sender faulty (guardian 2)"), "{reason}");
    // Guardian 2 can no longer post in attempt 2.
    let a2 = replay(&sm, &b).current().clone();
    let (r1, _) = ceremony::make_round1(&a2.cc, 2, 3, &evil, &mut SystemSource).unwrap();
    let r = post(Message::Round1(r1).to_json(2)).await;
    let body = r.err(400, "bad_board_message");
    assert!(
        body["message"].as_str().unwrap().contains("guardian 2"),
        "{body}"
    );
    // The bundle's ceremony section records the aborted attempt; its verdict replays.
    let section = app.get("/api/public/e2e/ceremony", Auth::None).await.ok();
    let c = &section["ceremony"];
    assert_eq!(c["aborted"][0]["verdicts"][0]["faulty"], 2);
    let failures = ceremony::check_aborted(&sm, c["aborted"].as_array().unwrap(), 2, &[1, 3, 4, 5]);
    assert!(failures.is_empty(), "{failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absent_guardian_is_left_out_by_the_secretariat_and_the_rest_complete() {
    let root = tempfile::tempdir().unwrap();
    let ss: Vec<Scrutineer> = (1..=4).map(|i| keygen(root.path(), i)).collect();
    let mut app = TestApp::spawn().await;
    let sm = publish(&mut app, &ss, 2).await;
    let mh = hex::encode(sm.hash());
    let present: Vec<Child> = [1u64, 2, 3]
        .iter()
        .map(|&i| ceremony(&app, &ss[i as usize - 1], i, &mh))
        .collect();
    // Too few, or someone not in the attempt: refused by name.
    app.post(
        "/api/operator/e2e/ceremony/restart",
        Auth::Operator,
        json!({ "participants": [1], "reason": "4号缺席" }),
    )
    .await
    .err(400, "bad_board_message");
    app.post(
        "/api/operator/e2e/ceremony/restart",
        Auth::Operator,
        json!({ "participants": [1, 2, 3], "reason": "4号监票人缺席" }),
    )
    .await
    .ok();
    // A restart by the secretariat needs each scrutineer's consent (review I1).
    let mut outs = Vec::new();
    for c in present {
        outs.push(finish(c).await);
    }
    for o in &outs {
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("4号监票人缺席") && err.contains("--accept-restart 2"),
            "{err}"
        );
    }
    let agreed: Vec<Child> = [1u64, 2, 3]
        .iter()
        .map(|&i| {
            bin()
                .args(["scrutineer", "ceremony", "--url", &app.base, "--dir"])
                .arg(&ss[i as usize - 1].dir)
                .args(["--timeout", "120", "--accept-restart", "2"])
                .env("PIAOJUE_PASSPHRASE", passphrase(i))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outs = Vec::new();
    for c in agreed {
        outs.push(finish(c).await);
    }
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        assert!(String::from_utf8_lossy(&o.stdout).contains("4号监票人缺席"));
    }
    let b = board(&app).await;
    assert_eq!(b["status"]["participants"], json!([1, 2, 3]));
    assert_eq!(b["status"]["step"], "complete");
}
