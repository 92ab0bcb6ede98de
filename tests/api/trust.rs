//! Trust holes a hostile review found, each pinned by a regression test: interventions on
//! voting deputies (a tablet reissued mid-vote only with a scrutineer's co-signature, listed
//! in the bundle), manual check-ins that need a co-signature, and demo-ness decided at
//! creation.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, ballot_id, init_appliance, repo, short_period};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

/// Runs the real `piaojue` binary off the test's runtime (which keeps serving meanwhile).
async fn piaojue(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let out = Command::new(BIN).args(&args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

/// A scrutineer with their own key file and token, enrolled through the real CLI.
async fn scrutineer(app: &TestApp, dir: &Path) -> (String, String) {
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
    let key = dir.join("scrutineer.key");
    let token = dir.join("scrutineer.token");
    let (rc, _, err) = piaojue(vec![
        "scrutineer".into(),
        "keygen".into(),
        "--out".into(),
        key.display().to_string(),
    ])
    .await;
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = piaojue(vec![
        "scrutineer".into(),
        "enrol".into(),
        "--url".into(),
        app.base.clone(),
        "--code".into(),
        code,
        "--key".into(),
        key.display().to_string(),
        "--token-out".into(),
        token.display().to_string(),
    ])
    .await;
    assert_eq!(rc, 0, "{err}");
    (key.display().to_string(), token.display().to_string())
}

/// Regression (trust holes #2): a deputy's tablet breaks mid-vote. Without a scrutineer's
/// co-signature the secretariat cannot reissue it (so it cannot cast in their place); with
/// one, it can, and the reissue is listed in the vote's bundle with the co-signature, which
/// `piaojue verify` checks.
#[tokio::test]
async fn a_tablet_broken_mid_vote_is_reissued_only_with_a_scrutineers_co_signature() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(4).await;
    let tablets = app.enrol_all().await;
    let dir = tempfile::tempdir().unwrap();
    let (key, token) = scrutineer(&app, dir.path()).await;
    let vote = app
        .create_vote("关于某事项的决定", &rules[2], &["关于某事项的决定"])
        .await;
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let reason = "平板故障，现场更换";
    app.post(
        "/api/operator/deputies/d0002/reissue",
        Auth::Operator,
        json!({ "reason": reason }),
    )
    .await
    .err(409, "deputy_in_open_vote");
    // The scrutineer witnesses it and co-signs, with their own key, on their own device.
    let cosign = |reason: &str| {
        vec![
            "scrutineer".to_string(),
            "cosign-intervention".into(),
            "--url".into(),
            app.base.clone(),
            "--token-file".into(),
            token.clone(),
            "--key".into(),
            key.clone(),
            "--kind".into(),
            "reissue".into(),
            "--deputy".into(),
            "d0002".into(),
            "--reason".into(),
            reason.into(),
        ]
    };
    let (rc, out, err) = piaojue(cosign("另一个原因")).await;
    assert_eq!(rc, 0, "{err}");
    let other: Value = serde_json::from_str(out.trim()).unwrap();
    // A co-signature of another reason does not cover this one.
    app.post(
        "/api/operator/deputies/d0002/reissue",
        Auth::Operator,
        json!({ "reason": reason, "cosignature": other }),
    )
    .await
    .err(400, "bad_cosignature");
    let (rc, out, err) = piaojue(cosign(reason)).await;
    assert_eq!(rc, 0, "{err}");
    let cosignature: Value = serde_json::from_str(out.trim()).unwrap();
    let r = app
        .post(
            "/api/operator/deputies/d0002/reissue",
            Auth::Operator,
            json!({ "reason": reason, "cosignature": cosignature }),
        )
        .await
        .ok();
    let code = r["code"].as_str().unwrap().to_string();
    // The same co-signature cannot be used again: it named the deputy's first intervention.
    app.post(
        "/api/operator/deputies/d0002/reissue",
        Auth::Operator,
        json!({ "reason": reason, "cosignature": cosignature }),
    )
    .await
    .err(400, "bad_cosignature");
    // The old tablet is dead; the new one enrols and casts.
    let (_, old) = &tablets[1];
    app.get("/api/tablet/me", Auth::Token(old))
        .await
        .err(401, "token_invalid");
    let enrolled = app
        .post("/api/tablet/enrol", Auth::None, json!({ "code": code }))
        .await
        .ok();
    let new_token = enrolled["token"].as_str().unwrap().to_string();
    let mut tokens: Vec<String> = tablets.iter().map(|(_, t)| t.clone()).collect();
    tokens[1] = new_token;
    for t in &tokens {
        app.post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(t),
            json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
        )
        .await
        .ok();
    }
    for step in ["close", "announce"] {
        app.post(
            &format!("/api/operator/votes/{vote}/{step}"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
    }
    let result = app
        .get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .ok();
    let listed = &result["interventions"];
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["kind"], "reissue");
    assert_eq!(listed[0]["deputy"], "d0002");
    assert_eq!(listed[0]["reason"], reason);
    assert_eq!(listed[0]["cosignature"]["scrutineer"], "s1");
    // The observer's verifier checks the co-signature against the vote's scrutineers.
    let bytes = app
        .client
        .get(format!("{}/api/public/votes/{vote}/bundle", app.base))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &bytes).unwrap();
    let key_hex = app.store.meta().public_key.clone();
    let (rc, out, _) = piaojue(vec![
        "verify".into(),
        file.display().to_string(),
        "--key".into(),
        key_hex.clone(),
    ])
    .await;
    assert_eq!(rc, 0, "{out}");
    assert!(
        out.contains("ok   interventions: 0 manual check-ins and 1 reissues of deputies in this vote, 1 co-signed"),
        "{out}"
    );
    // A bundle whose intervention co-signature was altered (and re-signed by the appliance)
    // fails `interventions`.
    let mut env: Value = serde_json::from_slice(&bytes).unwrap();
    let engine = base64::engine::general_purpose::STANDARD;
    let mut body: Value =
        serde_json::from_slice(&engine.decode(env["body"].as_str().unwrap()).unwrap()).unwrap();
    body["interventions"][0]["reason"] = json!("改过的原因");
    let text = serde_json::to_string(&body).unwrap();
    let appliance = piaojue::appliance::load_key(&app.data_dir()).unwrap();
    env["body"] = json!(engine.encode(text.as_bytes()));
    env["signatures"] = json!([{
        "role": "appliance",
        "public_key": key_hex,
        "signature": piaojue_core::crypto::hex(&appliance.sign(piaojue_core::crypto::Domain::Result, text.as_bytes())),
    }]);
    std::fs::write(&file, serde_json::to_vec(&env).unwrap()).unwrap();
    let (rc, out, _) = piaojue(vec![
        "verify".into(),
        file.display().to_string(),
        "--key".into(),
        key_hex,
    ])
    .await;
    assert_eq!(rc, 1, "{out}");
    assert!(
        out.contains("FAIL interventions: interventions[0] (d0002 补发登记码): the co-signature does not verify"),
        "{out}"
    );
}

/// Regression (trust holes #2): under rules with `manual_checkin_cosign`, a manual check-in
/// without a scrutineer's co-signature does not enable the deputy; one with it does.
#[tokio::test]
async fn an_uncosigned_manual_checkin_does_not_enable_under_rules_that_want_one() {
    let mut app = TestApp::spawn().await;
    let _ = app.prepare(6).await;
    let dir = tempfile::tempdir().unwrap();
    let (key, token) = scrutineer(&app, dir.path()).await;
    let tablets = app.enrol_all().await;
    let mut doc: Value = serde_json::from_slice(&short_period(
        &std::fs::read(repo("firmware-config/rules/motion.json")).unwrap(),
    ))
    .unwrap();
    doc["manual_checkin_cosign"] = json!(true);
    doc["title"] = json!("补签到须经监票人会签的表决办法");
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some(("application/json", serde_json::to_vec(&doc).unwrap())),
        )
        .await
        .ok();
    let rules = r["sha256"].as_str().unwrap().to_string();
    // d0005 and d0006 leave; the secretariat checks both back in by hand, one co-signed.
    for (_, t) in &tablets[4..] {
        app.post("/api/tablet/checkout", Auth::Token(t), json!({}))
            .await
            .ok();
    }
    app.post(
        "/api/operator/deputies/d0005/checkin",
        Auth::Operator,
        json!({ "reason": "人工核对签到" }),
    )
    .await
    .ok();
    let (rc, out, err) = piaojue(vec![
        "scrutineer".into(),
        "cosign-intervention".into(),
        "--url".into(),
        app.base.clone(),
        "--token-file".into(),
        token,
        "--key".into(),
        key,
        "--kind".into(),
        "manual_checkin".into(),
        "--deputy".into(),
        "d0006".into(),
        "--reason".into(),
        "人工核对签到".into(),
    ])
    .await;
    assert_eq!(rc, 0, "{err}");
    let cosignature: Value = serde_json::from_str(out.trim()).unwrap();
    app.post(
        "/api/operator/deputies/d0006/checkin",
        Auth::Operator,
        json!({ "reason": "人工核对签到", "cosignature": cosignature }),
    )
    .await
    .ok();
    let vote = app
        .create_vote("关于某事项的决定", &rules, &["关于某事项的决定"])
        .await;
    let opened = app
        .post(
            &format!("/api/operator/votes/{vote}/open"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
    assert_eq!(
        opened["vote"]["roll"],
        json!({ "seated": 6, "present": 6, "enabled": 5 }),
        "d0005's uncosigned check-in does not enable them"
    );
    let (_, t5) = &tablets[4];
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(t5),
        json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
    )
    .await
    .err(403, "not_enabled");
    let (_, t6) = &tablets[5];
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(t6),
        json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
    )
    .await
    .ok();
}

/// Regression (trust holes #3): `serve --demo` on a real session refused to turn on the
/// demo's ballot stuffing: demo-ness is decided when the session is created.
#[test]
fn serve_demo_refuses_a_real_session() {
    let dir = tempfile::tempdir().unwrap();
    init_appliance(dir.path());
    let out = Command::new(BIN)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds a real session") && err.contains("serve --demo"),
        "{err}"
    );
}

/// Regression (trust holes #3): a demo session's simulated casts are the operator's in the
/// audit log, never the deputies' own, and its bundles say it is a demo.
#[tokio::test]
async fn a_demo_sessions_simulation_is_audited_as_the_operators_and_its_bundles_say_demo() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let session = piaojue::appliance::create_demo(&data, 12).await.unwrap();
    assert!(session.store().meta().demo);
    let store = session.store().clone();
    let state = piaojue::server::AppState::new(session, true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(piaojue::server::serve(listener, state, async {
        let _ = rx.await;
    }));
    let passphrase = std::fs::read_to_string(data.join("demo/operator-passphrase")).unwrap();
    let client = crate::helpers::http();
    let login = client
        .post(format!("{base}/api/operator/login"))
        .json(&json!({ "passphrase": passphrase.trim() }))
        .send()
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let post = |path: &str| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .json(&json!({}))
            .send()
    };
    assert!(
        post("/api/operator/demo/checkin")
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert!(
        post("/api/operator/votes/v3/open")
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let r: Value = post("/api/operator/demo/simulate/v3")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["cast"], 12);
    let audit = store.audit(1, 10_000).unwrap();
    assert!(
        audit
            .iter()
            .filter(|e| e.action == "demo_cast")
            .all(|e| e.actor == "operator"),
        "simulated casts are the operator's"
    );
    assert!(
        !audit.iter().any(|e| e.action == "cast"),
        "no simulated cast is recorded as a deputy's own"
    );
    for step in ["close", "announce"] {
        assert!(
            post(&format!("/api/operator/votes/v3/{step}"))
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let bytes = client
        .get(format!("{base}/api/public/votes/v3/bundle"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let report = piaojue_core::bundle::verify(
        &bytes,
        &piaojue_core::bundle::Expect {
            key: Some(piaojue_core::crypto::public_key(&store.meta().public_key).unwrap()),
            ..Default::default()
        },
    );
    assert!(report.verified, "{:?}", report.checks);
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.name == "session.demo" && c.ok),
        "the verifier says it is a demo"
    );
}

/// Pages issue #7: `piaojue admin` drives the console's check-out and 请假 from a terminal,
/// and one deputy's card can be reprinted (`/console/cards?deputy=…`).
#[tokio::test]
async fn admin_checks_out_and_records_leave_and_one_card_is_reprinted() {
    let mut app = TestApp::spawn().await;
    app.prepare(3).await;
    app.post("/api/operator/codes", Auth::Operator, json!({}))
        .await
        .ok();
    let one = app
        .get("/api/operator/cards?deputy=d0002", Auth::Operator)
        .await
        .ok();
    assert_eq!(one["cards"].as_array().unwrap().len(), 1);
    assert_eq!(one["cards"][0]["deputy"], "d0002");
    let pass = app.data_dir().with_file_name("passphrase");
    let admin = |args: &[&str]| {
        let mut v = vec![
            "admin".to_string(),
            "--url".into(),
            app.base.clone(),
            "--passphrase-file".into(),
            pass.display().to_string(),
        ];
        v.extend(args.iter().map(|a| a.to_string()));
        v
    };
    let (rc, out, err) = piaojue(admin(&["checkout", "d0001", "--reason", "因公离场"])).await;
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("d0001") && out.contains("中途退场"), "{out}");
    let (rc, out, err) = piaojue(admin(&["leave", "d0003", "--reason", "病假"])).await;
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("请假"), "{out}");
    let (rc, _, err) = piaojue(admin(&["leave", "d0003"])).await;
    assert_eq!(rc, 2, "a reason is required: {err}");
}
