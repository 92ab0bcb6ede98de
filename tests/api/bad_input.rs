//! Hostile requests: each refused with a precise code and status, nothing stored, no panic.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Auth, TestApp, ballot_id};

#[tokio::test]
async fn hostile_requests_are_refused_precisely() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(6).await;
    let tablets = app.enrol_all().await;
    let (_, token) = &tablets[0];
    let vote = app
        .create_vote("票决", &rules[0], &["甲", "乙", "丙", "丁", "戊", "己"])
        .await;
    let cast_path = format!("/api/tablet/votes/{vote}/cast");
    let good = |choices: serde_json::Value| json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": choices });

    // Roles: no credentials → 401; the wrong role → 403.
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::None,
        json!({}),
    )
    .await
    .err(401, "login_required");
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Token(token),
        json!({}),
    )
    .await
    .err(403, "operators_only");
    app.post(&cast_path, Auth::None, good(json!([0, 1, 1, 1, 1, 1])))
        .await
        .err(401, "token_missing");
    app.post(&cast_path, Auth::Operator, good(json!([0, 1, 1, 1, 1, 1])))
        .await
        .err(403, "deputies_only");
    let forged = "0".repeat(64);
    app.post(
        &cast_path,
        Auth::Token(&forged),
        good(json!([0, 1, 1, 1, 1, 1])),
    )
    .await
    .err(401, "token_invalid");
    app.post(
        "/api/operator/login",
        Auth::None,
        json!({ "passphrase": "guess" }),
    )
    .await
    .err(401, "bad_passphrase");

    // Before the vote opens.
    app.post(
        &cast_path,
        Auth::Token(token),
        good(json!([0, 1, 1, 1, 1, 1])),
    )
    .await
    .err(409, "vote_not_open");
    app.get(
        &format!("/api/tablet/votes/{vote}/ballot"),
        Auth::Token(token),
    )
    .await
    .err(409, "vote_not_open");
    app.post("/api/operator/votes/v99/open", Auth::Operator, json!({}))
        .await
        .err(404, "vote_unknown");
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();

    // Malformed bodies.
    let raw = |ct: &'static str, body: &'static [u8]| (ct, body.to_vec());
    let a = app
        .request(
            Method::POST,
            &cast_path,
            Auth::Token(token),
            Some(raw("application/json", b"{not json")),
        )
        .await;
    a.err(400, "bad_json");
    let a = app
        .request(
            Method::POST,
            &cast_path,
            Auth::Token(token),
            Some(raw("text/plain", b"{}")),
        )
        .await;
    a.err(400, "content_type");
    app.post(
        &cast_path,
        Auth::Token(token),
        json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": "yes" }),
    )
    .await
    .err(400, "bad_json");
    app.post(&cast_path, Auth::Token(token), json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0,1,1,1,1,1], "deputy": "d0002" }))
        .await
        .err(400, "bad_json");
    app.post(
        &cast_path,
        Auth::Token(token),
        json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0,1,1,1,1,-1] }),
    )
    .await
    .err(400, "bad_json");
    app.post(
        &cast_path,
        Auth::Token(token),
        good(json!([0, 1, 1, 1, 1, 9])),
    )
    .await
    .err(400, "unknown_option");
    app.post(&cast_path, Auth::Token(token), good(json!([0, 1, 1])))
        .await
        .err(400, "wrong_item_count");
    app.post(
        &cast_path,
        Auth::Token(token),
        good(json!([0, 0, 0, 0, 0, 0])),
    )
    .await
    .err(400, "too_many_yes");
    app.post(
        &cast_path,
        Auth::Token(token),
        json!({ "vote_id": "v2", "ballot_id": ballot_id(), "choices": [0,1,1,1,1,1] }),
    )
    .await
    .err(400, "wrong_vote");
    app.post(
        &cast_path,
        Auth::Token(token),
        json!({ "vote_id": vote, "ballot_id": "not-hex", "choices": [0,1,1,1,1,1] }),
    )
    .await
    .err(400, "bad_ballot_id");
    app.post(
        "/api/tablet/votes/v99/cast",
        Auth::Token(token),
        good(json!([0])),
    )
    .await
    .err(404, "vote_unknown");
    let huge = vec![b'a'; 200 * 1024];
    let a = app
        .request(
            Method::POST,
            &cast_path,
            Auth::Token(token),
            Some(("application/json", huge)),
        )
        .await;
    a.err(413, "body_too_large");
    let long_title = "长".repeat(500);
    app.post(
        "/api/operator/votes",
        Auth::Operator,
        json!({ "title": long_title, "rules_sha256": rules[2], "items": ["a"] }),
    )
    .await
    .err(400, "field_too_long");
    app.post(
        "/api/operator/votes",
        Auth::Operator,
        json!({ "title": "x", "rules_sha256": rules[0], "items": ["a", "a", "b", "c", "d", "e"] }),
    )
    .await
    .err(400, "bad_items");
    app.post(
        "/api/operator/votes",
        Auth::Operator,
        json!({ "title": "x", "rules_sha256": rules[0], "items": ["a", "b"] }),
    )
    .await
    .err(400, "bad_items");
    app.post(
        "/api/operator/votes",
        Auth::Operator,
        json!({ "title": "x", "rules_sha256": "00", "items": ["a"] }),
    )
    .await
    .err(404, "rules_unknown");
    let a = app
        .request(
            Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some((
                "application/json",
                br#"{"kind":"motion","title":"t","majority":{"num":1,"den":0,"inclusive":true}}"#
                    .to_vec(),
            )),
        )
        .await;
    a.err(400, "bad_rules");
    assert!(a.body["message"].as_str().unwrap().contains("majority.den"));
    let a = app
        .request(
            Method::POST,
            "/api/operator/roster",
            Auth::Operator,
            Some(("text/csv", b"id,name,delegation,seat\nd1,a,b,c\n".to_vec())),
        )
        .await;
    a.err(409, "roster_exists");
    app.post(
        "/api/tablet/enrol",
        Auth::None,
        json!({ "code": "AAAA-BBBB" }),
    )
    .await
    .err(401, "code_unknown");
    app.post(
        "/api/tablet/enrol",
        Auth::None,
        json!({ "code": "A".repeat(32) }),
    )
    .await
    .err(401, "code_unknown");
    app.get("/api/nothing/here", Auth::None)
        .await
        .err(404, "not_found");

    // None of that stored a ballot.
    let votes = app.get("/api/public/votes", Auth::None).await.ok();
    assert_eq!(votes["votes"][0]["turnout"]["cast"], 0);
    assert!(app.store.ballots(&vote).unwrap().is_empty());
    // A good one still goes through, once.
    app.post(
        &cast_path,
        Auth::Token(token),
        good(json!([0, 0, 1, 2, 1, 1])),
    )
    .await
    .ok();
    assert_eq!(app.store.ballots(&vote).unwrap().len(), 1);
    app.store.verify_chain().unwrap();
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/public/session", "/nope"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = r.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        if path.starts_with("/api/") {
            assert_eq!(h["cache-control"], "no-store");
        }
    }
}

/// Two casts from one tablet at the same instant land in the same group commit: one ballot
/// is stored, the other refused; the same cast sent twice at once gets one receipt.
#[tokio::test]
async fn simultaneous_casts_from_one_deputy_store_one_ballot() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(6).await;
    let tablets = app.enrol_all().await;
    let vote = app.create_vote("决议", &rules[2], &["决议"]).await;
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let path = format!("/api/tablet/votes/{vote}/cast");
    let (_, t0) = &tablets[0];
    let cast = |c: u8| json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [c] });
    let mut answers = Vec::new();
    for _ in 0..5 {
        let (a, b, c) = tokio::join!(
            app.post(&path, Auth::Token(t0), cast(0)),
            app.post(&path, Auth::Token(t0), cast(1)),
            app.post(&path, Auth::Token(t0), cast(2)),
        );
        answers.extend([a, b, c]);
    }
    let stored = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        stored, 1,
        "exactly one of fifteen simultaneous casts is stored"
    );
    for a in answers.iter().filter(|a| a.status != 200) {
        a.err(409, "already_cast");
    }
    let (_, t1) = &tablets[1];
    let same = cast(0);
    let (a, b) = tokio::join!(
        app.post(&path, Auth::Token(t1), same.clone()),
        app.post(&path, Auth::Token(t1), same.clone())
    );
    assert_eq!(
        a.ok(),
        b.ok(),
        "a duplicated cast gets one and the same receipt"
    );
    assert_eq!(app.store.ballots(&vote).unwrap().len(), 2);
    assert_eq!(app.store.turnout(&vote).unwrap(), 2);
    app.store.verify_chain().unwrap();
}

/// A guessing run against enrolment codes is shut out while enrolled tablets keep voting;
/// a flood of wrong passphrases is shut out too, and the operator who knows it is not.
#[tokio::test]
async fn guessing_codes_is_shut_out_while_tablets_vote() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(40).await;
    let tablets = app.enrol_all().await;
    let vote = app.create_vote("决议", &rules[2], &["决议"]).await;
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let path = format!("/api/tablet/votes/{vote}/cast");
    let guesses = async {
        let mut statuses = Vec::new();
        for i in 0..60 {
            let code = format!("{:032}", i);
            let a = app
                .post("/api/tablet/enrol", Auth::None, json!({ "code": code }))
                .await;
            statuses.push(a.status.as_u16());
        }
        statuses
    };
    let votes = async {
        let mut ok = 0;
        for (_, t) in &tablets {
            let a = app
                .post(
                    &path,
                    Auth::Token(t),
                    json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
                )
                .await;
            if a.status == 200 {
                ok += 1;
            }
        }
        ok
    };
    let (statuses, ok) = tokio::join!(guesses, votes);
    assert_eq!(
        ok, 40,
        "every enrolled tablet voted during the guessing run"
    );
    assert!(statuses[..20].iter().all(|&s| s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|&s| s == 429), "{statuses:?}");
    let a = app
        .post(
            "/api/tablet/enrol",
            Auth::None,
            json!({ "code": "A".repeat(32) }),
        )
        .await;
    a.err(429, "too_many_attempts");
    // Logins: five wrong passphrases, then even the right one waits.
    for _ in 0..5 {
        app.post(
            "/api/operator/login",
            Auth::None,
            json!({ "passphrase": "wrong guess" }),
        )
        .await
        .err(401, "bad_passphrase");
    }
    app.post(
        "/api/operator/login",
        Auth::None,
        json!({ "passphrase": crate::helpers::PASSPHRASE }),
    )
    .await
    .err(429, "too_many_attempts");
    // The operator already logged in is not affected.
    app.get("/api/operator/status", Auth::Operator).await.ok();
}
