//! A whole session: roster, rules, enrolment, check-in, a 票决 from open to announced.

use piaojue_core::crypto::{self, Domain};
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, ballot_id, repo};

/// Choices for `n` deputies giving each candidate `targets[j]` 赞成, at most `max_yes` each.
pub fn choices_for(n: usize, targets: &[usize], max_yes: usize) -> Vec<Vec<u8>> {
    let mut ballots = vec![vec![u8::MAX; targets.len()]; n];
    let mut yes = vec![0usize; n];
    for (j, &t) in targets.iter().enumerate() {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&k| (yes[k], k));
        for &k in order.iter().take(t) {
            assert!(yes[k] < max_yes, "targets need more yes than ballots allow");
            ballots[k][j] = 0;
            yes[k] += 1;
        }
    }
    for (k, ballot) in ballots.iter_mut().enumerate() {
        for c in ballot.iter_mut().filter(|c| **c == u8::MAX) {
            *c = 1 + (k % 2) as u8; // 不赞成 or 弃权
        }
    }
    ballots
}

const CANDIDATES: [&str; 7] = [
    "城区中小学扩容工程",
    "老年助餐服务点建设",
    "农村饮用水提标改造",
    "社区卫生服务中心标准化建设",
    "背街小巷改造提升",
    "公共停车泊位新增",
    "城乡公交一体化",
];

#[tokio::test]
async fn a_whole_session_from_roster_to_announced_result() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(50).await;
    let session = app.get("/api/public/session", Auth::None).await.ok();
    let public_key = crypto::public_key(session["public_key"].as_str().unwrap()).unwrap();
    assert_eq!(session["fingerprint"], crypto::fingerprint(&public_key));
    assert_eq!(session["attendance"]["seated"], 50);
    assert_eq!(session["attendance"]["present"], 0);

    let vote = app
        .create_vote("2026年民生实事项目票决", &rules[0], &CANDIDATES)
        .await;
    assert_eq!(vote, "v1");
    // No quorum before check-in.
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "quorum_not_met");

    let tablets = app.enrol_all().await;
    assert_eq!(tablets.len(), 50);
    let status = app.get("/api/operator/status", Auth::Operator).await.ok();
    assert_eq!(status["attendance"]["present"], 50);

    // Watch the events while the vote opens.
    let mut events = app
        .client
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    let opened = app
        .post(
            &format!("/api/operator/votes/{vote}/open"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
    assert_eq!(opened["vote"]["state"], "open");
    assert_eq!(opened["vote"]["roll"]["present"], 50);
    let mut seen = String::new();
    while !seen.contains(r#""state":"open""#) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), events.chunk())
            .await
            .expect("an event within 5 s")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }

    // Each tablet checks the ballot's signature before showing it.
    let (first_deputy, first_token) = &tablets[0];
    let ballot = app
        .get(
            &format!("/api/tablet/votes/{vote}/ballot"),
            Auth::Token(first_token),
        )
        .await
        .ok();
    let body = ballot["body"].as_str().unwrap();
    let signature = crypto::unhex::<64>(ballot["signature"].as_str().unwrap()).unwrap();
    crypto::verify(&public_key, Domain::Ballot, body.as_bytes(), &signature).unwrap();
    let definition: Value = serde_json::from_str(body).unwrap();
    assert_eq!(definition["format"], "piaojue-ballot/1");
    assert_eq!(definition["max_yes"], 5);
    assert_eq!(definition["rules_sha256"], rules[0]);
    assert_eq!(definition["items"].as_array().unwrap().len(), 7);

    let choices = choices_for(50, &[45, 40, 35, 30, 28, 20, 10], 5);
    let mut receipts = Vec::new();
    let mut first_cast = None;
    for ((deputy, token), ballot_choices) in tablets.iter().zip(&choices) {
        let id = ballot_id();
        let cast = json!({ "vote_id": vote, "ballot_id": id, "choices": ballot_choices });
        let r = app
            .post(
                &format!("/api/tablet/votes/{vote}/cast"),
                Auth::Token(token),
                cast.clone(),
            )
            .await
            .ok();
        let body = r["body"].as_str().unwrap();
        let sig = crypto::unhex::<64>(r["signature"].as_str().unwrap()).unwrap();
        crypto::verify(&public_key, Domain::Receipt, body.as_bytes(), &sig).unwrap();
        let parsed: Value = serde_json::from_str(body).unwrap();
        assert_eq!(parsed["receipt_code"], r["receipt_code"]);
        assert_eq!(parsed["vote_id"], vote);
        receipts.push(r["receipt_code"].as_str().unwrap().to_string());
        if deputy == first_deputy {
            first_cast = Some((cast, r));
        }
    }
    // A retry with the same ballot id gets the same receipt; another ballot is refused.
    let (cast, receipt) = first_cast.unwrap();
    let again = app
        .post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(first_token),
            cast.clone(),
        )
        .await
        .ok();
    assert_eq!(again, receipt);
    let mut other = cast.clone();
    other["ballot_id"] = json!(ballot_id());
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(first_token),
        other,
    )
    .await
    .err(409, "already_cast");

    let me = app
        .get("/api/tablet/me", Auth::Token(first_token))
        .await
        .ok();
    assert_eq!(me["votes"][0]["cast"], true);
    assert_eq!(me["votes"][0]["receipt_code"], receipt["receipt_code"]);
    let votes = app.get("/api/public/votes", Auth::None).await.ok();
    assert_eq!(
        votes["votes"][0]["turnout"],
        json!({ "cast": 50, "enabled": 50 })
    );
    // No result is public before it is announced.
    app.get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .err(404, "not_announced");

    app.post(
        &format!("/api/operator/votes/{vote}/close"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let private = app
        .get(
            &format!("/api/operator/votes/{vote}/result"),
            Auth::Operator,
        )
        .await
        .ok();
    assert_eq!(private["outcome"]["selected"].as_array().unwrap().len(), 5);
    app.post(
        &format!("/api/operator/votes/{vote}/announce"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();

    let result = app
        .get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .ok();
    let outcome = &result["outcome"];
    assert_eq!(outcome["quorum_met"], true);
    assert_eq!(outcome["items"][0]["majority_required"], 26);
    assert_eq!(outcome["selected"], json!(CANDIDATES[..5]));
    assert_eq!(outcome["tie"], Value::Null);
    assert_eq!(outcome["shortfall"], 0);
    let yes: Vec<u64> = outcome["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["counts"]["赞成"].as_u64().unwrap())
        .collect();
    assert_eq!(yes, vec![45, 40, 35, 30, 28, 20, 10]);
    for item in outcome["items"].as_array().unwrap() {
        let sum: u64 = item["counts"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(sum + item["not_voted"].as_u64().unwrap(), 50);
    }
    assert!(result["announcement"].as_str().unwrap().starts_with(
        "应到代表50名，实到50名。候选项目7个，拟确定5个，以全体代表的过半数（26票）赞成为通过。"
    ));
    receipts.sort();
    assert_eq!(result["receipts"], json!(receipts));
    assert_eq!(result["cast"], 50);

    // Every change is in the audit chain, and the chain verifies.
    let head = app.store.verify_chain().unwrap();
    assert!(
        head.seq > 100,
        "roster, rules, codes, 50 enrolments, 50 casts, open, close, announce"
    );
    let audit = app
        .get("/api/operator/audit?from=1&limit=5", Auth::Operator)
        .await
        .ok();
    assert_eq!(audit["entries"][0]["action"], "init");
    assert_eq!(audit["head"]["seq"], head.seq);
}

#[tokio::test]
async fn a_motion_with_checkout_and_manual_checkin() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(9).await;
    let tablets = app.enrol_all().await;
    let vote = app
        .create_vote(
            "关于县人民政府工作报告的决议",
            &rules[2],
            &["关于县人民政府工作报告的决议"],
        )
        .await;
    // d0009 leaves the hall before the vote: 8 of 9 present, quorum ⌈2/3·9⌉ = 6.
    let (_, t9) = &tablets[8];
    let r = app
        .post("/api/tablet/checkout", Auth::Token(t9), json!({}))
        .await
        .ok();
    assert_eq!(r["deputy"]["presence"], "left");
    // d0008's tablet is broken: the secretariat revokes it and checks the deputy in by hand.
    let r = app
        .post(
            "/api/operator/deputies/d0008/reissue",
            Auth::Operator,
            json!({ "reason": "平板故障" }),
        )
        .await
        .ok();
    assert!(r["code"].as_str().unwrap().len() > 30);
    let (_, t8) = &tablets[7];
    app.get("/api/tablet/me", Auth::Token(t8))
        .await
        .err(401, "token_invalid");
    app.post(
        "/api/operator/deputies/d0008/checkin",
        Auth::Operator,
        json!({}),
    )
    .await
    .err(400, "bad_json");
    app.post(
        "/api/operator/deputies/d0008/checkin",
        Auth::Operator,
        json!({ "reason": "" }),
    )
    .await
    .err(400, "missing_field");
    app.post(
        "/api/operator/deputies/d0008/checkin",
        Auth::Operator,
        json!({ "reason": "平板故障，人工核对签到" }),
    )
    .await
    .ok();
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
        json!({ "seated": 9, "present": 8, "enabled": 8 })
    );
    // The deputy who left cannot vote in it even after coming back.
    app.post("/api/tablet/checkin", Auth::Token(t9), json!({}))
        .await
        .ok();
    let cast = |c: u8| json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [c] });
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(t9),
        cast(0),
    )
    .await
    .err(403, "not_enabled");
    // Six vote: 5 赞成, 1 反对; d0007 does not press (未按); d0008 has no tablet.
    for (i, (_, t)) in tablets.iter().take(6).enumerate() {
        let c = if i == 5 { 1 } else { 0 };
        app.post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(t),
            cast(c),
        )
        .await
        .ok();
    }
    // A secret vote cannot be closed while its period runs and some deputies have not
    // voted (closing right after one deputy's cast could reveal it); the appliance closes
    // it when the period ends.
    let refused = app
        .post(
            &format!("/api/operator/votes/{vote}/close"),
            Auth::Operator,
            json!({}),
        )
        .await
        .err(409, "period_running");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("已投6人，共8人")
    );
    app.wait_closed(&vote).await;
    // A cast after the close is refused.
    let (_, t7) = &tablets[6];
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(t7),
        cast(0),
    )
    .await
    .err(409, "vote_closed");
    app.post(
        &format!("/api/operator/votes/{vote}/announce"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let result = app
        .get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .ok();
    // 5 of 9 seated is more than half: 通过.
    assert_eq!(
        result["announcement"],
        "应到代表9名，实到8名。赞成5票，反对1票，弃权0票，未按表决器2名。通过。"
    );
    assert_eq!(result["outcome"]["passed"], true);
    // Announced is final: no cancel, no second announce, no reopening.
    app.post(
        &format!("/api/operator/votes/{vote}/cancel"),
        Auth::Operator,
        json!({ "reason": "x" }),
    )
    .await
    .err(409, "vote_final");
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "vote_not_draft");
}

#[tokio::test]
async fn enrolment_cards_carry_the_code_and_fingerprint() {
    let mut app = TestApp::spawn().await;
    app.prepare(3).await;
    let codes = app
        .post("/api/operator/codes", Auth::Operator, json!({}))
        .await
        .ok();
    let code = codes["codes"][0]["code"].as_str().unwrap().to_string();
    // The page is static, like the console; the cards come from the operator API.
    let page = app
        .client
        .get(format!("{}/console/cards", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = app.get("/api/operator/cards", Auth::Operator).await.ok();
    let cards = r["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 3);
    assert!(
        cards.iter().any(|c| c["code"] == code.as_str()),
        "the code is printed as text"
    );
    let svgs: usize = cards
        .iter()
        .map(|c| c["qr_svg"].as_str().unwrap().matches("<svg").count())
        .sum();
    assert_eq!(svgs, 3, "one QR per card");
    assert!(cards.iter().any(|c| c["name"] == "王建国"));
    assert_eq!(r["session"], "测试县人大会议");
    let fingerprint = r["fingerprint"].as_str().unwrap();
    assert_eq!(
        r["fingerprint_grouped"],
        crypto::fingerprint_grouped(fingerprint)
    );
    // Cards are for the secretariat only.
    app.get("/api/operator/cards", Auth::None)
        .await
        .err(401, "login_required");
    // A used code leaves the list.
    app.post(
        "/api/tablet/enrol",
        Auth::None,
        json!({ "code": code.to_lowercase() }),
    )
    .await
    .ok();
    let r = app.get("/api/operator/cards", Auth::Operator).await.ok();
    assert!(!r.to_string().contains(&code));
    assert_eq!(r["cards"].as_array().unwrap().len(), 2);
    assert_eq!(r.to_string().matches("<svg").count(), 2);
}

#[tokio::test]
async fn a_scrutineer_enrols_with_their_own_key_and_watches() {
    let mut app = TestApp::spawn().await;
    app.prepare(3).await;
    let tablets = app.enrol_all().await;
    let r = app
        .post(
            "/api/operator/scrutineers",
            Auth::Operator,
            json!({ "name": "总监票人 周正平" }),
        )
        .await
        .ok();
    let code = r["code"].as_str().unwrap().to_string();
    // Their device makes its own key; the appliance only ever sees the public half.
    let key = crypto::ApplianceKey::generate().unwrap();
    // A small-order key is refused.
    let identity = format!("01{}", "00".repeat(31));
    app.post(
        "/api/scrutineer/enrol",
        Auth::None,
        json!({ "code": code, "public_key": identity }),
    )
    .await
    .err(400, "bad_public_key");
    // A deputy's tablet cannot use a scrutineer's card.
    app.post("/api/tablet/enrol", Auth::None, json!({ "code": code }))
        .await
        .err(401, "code_unknown");
    let r = app
        .post(
            "/api/scrutineer/enrol",
            Auth::None,
            json!({ "code": code, "public_key": key.public_hex() }),
        )
        .await
        .ok();
    let token = r["token"].as_str().unwrap().to_string();
    assert_eq!(r["scrutineer"]["public_key"], key.public_hex());
    let status = app
        .get("/api/scrutineer/status", Auth::Token(&token))
        .await
        .ok();
    assert_eq!(status["attendance"]["present"], 3);
    let audit = app
        .get("/api/scrutineer/audit", Auth::Token(&token))
        .await
        .ok();
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "enrol_scrutineer")
    );
    // Roles stay apart: a scrutineer cannot cast, a deputy cannot watch as a scrutineer.
    app.get("/api/tablet/me", Auth::Token(&token))
        .await
        .err(403, "deputies_only");
    app.get("/api/scrutineer/status", Auth::Token(&tablets[0].1))
        .await
        .err(403, "scrutineers_only");
    let list = app
        .get("/api/operator/scrutineers", Auth::Operator)
        .await
        .ok();
    assert_eq!(list["scrutineers"][0]["enrolled"], true);
}

/// Regression (trust holes #2 and #4): while a vote is open, the secretariat can neither
/// issue a new code for, reissue the tablet of, nor check out a deputy who may vote in it:
/// a new code would let its holder cast in the deputy's place, a check-out would block their
/// cast. The deputy's own check-out keeps their vote.
#[tokio::test]
async fn the_operator_cannot_take_over_or_block_a_voting_deputy() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(6).await;
    let tablets = app.enrol_all().await;
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
    let before = app.store.verify_chain().unwrap().seq;
    app.post(
        "/api/operator/codes",
        Auth::Operator,
        json!({ "deputies": ["d0003"] }),
    )
    .await
    .err(409, "deputy_in_open_vote");
    app.post(
        "/api/operator/deputies/d0003/reissue",
        Auth::Operator,
        json!({ "reason": "平板故障" }),
    )
    .await
    .err(409, "deputy_in_open_vote");
    app.post(
        "/api/operator/deputies/d0003/checkout",
        Auth::Operator,
        json!({ "reason": "离场" }),
    )
    .await
    .err(409, "deputy_in_open_vote");
    assert_eq!(
        app.store.verify_chain().unwrap().seq,
        before,
        "nothing was issued, revoked or recorded"
    );
    // The deputy's tablet still works and casts.
    let (_, t3) = &tablets[2];
    let me = app.get("/api/tablet/me", Auth::Token(t3)).await.ok();
    assert_eq!(me["deputy"]["presence"], "present");
    // Their own check-out is recorded and does not take their vote away.
    app.post("/api/tablet/checkout", Auth::Token(t3), json!({}))
        .await
        .ok();
    app.post(
        &format!("/api/tablet/votes/{vote}/cast"),
        Auth::Token(t3),
        json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
    )
    .await
    .ok();
}

/// Regression (trust holes #4): the voting period is the appliance's, shown with the vote;
/// the chair may extend it once; when every enabled deputy has voted the secretariat may
/// close early.
#[tokio::test]
async fn the_voting_period_is_kept_by_the_appliance() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(3).await;
    let tablets = app.enrol_all().await;
    let vote = app
        .create_vote("关于某事项的决定", &rules[2], &["关于某事项的决定"])
        .await;
    let opened = app
        .post(
            &format!("/api/operator/votes/{vote}/open"),
            Auth::Operator,
            json!({}),
        )
        .await
        .ok();
    assert!(opened["vote"]["closes_at"].is_string());
    let left = opened["vote"]["seconds_left"].as_u64().unwrap();
    assert!((10..=15).contains(&left), "{left}");
    app.post(
        &format!("/api/operator/votes/{vote}/extend"),
        Auth::Operator,
        json!({ "seconds": 5 }),
    )
    .await
    .err(400, "bad_extension");
    let extended = app
        .post(
            &format!("/api/operator/votes/{vote}/extend"),
            Auth::Operator,
            json!({ "seconds": 30 }),
        )
        .await
        .ok();
    assert_eq!(extended["vote"]["extended"], true);
    assert!(extended["vote"]["seconds_left"].as_u64().unwrap() > 30);
    app.post(
        &format!("/api/operator/votes/{vote}/extend"),
        Auth::Operator,
        json!({ "seconds": 30 }),
    )
    .await
    .err(409, "already_extended");
    for (_, t) in &tablets {
        app.post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(t),
            json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
        )
        .await
        .ok();
    }
    // Everyone has voted: closing before the period ends reveals nothing.
    app.post(
        &format!("/api/operator/votes/{vote}/close"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
}

/// Regression (trust holes #1): the operator cannot pass the announce gate with a scrutineer
/// key of their own making: no scrutineer is named or enrolled while a vote is open, and only
/// the scrutineers signed into the vote when it opened may co-sign its result.
#[tokio::test]
async fn only_the_scrutineers_signed_into_a_vote_co_sign_it() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(3).await;
    let tablets = app.enrol_all().await;
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
    let named_rules = r["sha256"].as_str().unwrap().to_string();
    let _ = rules;
    let vote = app
        .create_vote("关于撤职的决定（记名）", &named_rules, &["关于撤职的决定"])
        .await;
    app.post(
        &format!("/api/operator/votes/{vote}/open"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    // The operator tries to name a scrutineer of their own while the vote is open.
    app.post(
        "/api/operator/scrutineers",
        Auth::Operator,
        json!({ "name": "总监票人" }),
    )
    .await
    .err(409, "scrutineers_frozen");
    for (_, t) in &tablets {
        app.post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(t),
            json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": [0] }),
        )
        .await
        .ok();
    }
    app.post(
        &format!("/api/operator/votes/{vote}/close"),
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    // Named after the vote opened: enrolled, but not one of the vote's scrutineers.
    let code = app
        .post(
            "/api/operator/scrutineers",
            Auth::Operator,
            json!({ "name": "总监票人" }),
        )
        .await
        .ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let key = piaojue_core::crypto::ApplianceKey::generate().unwrap();
    let token = app
        .post(
            "/api/scrutineer/enrol",
            Auth::None,
            json!({ "code": code, "public_key": key.public_hex() }),
        )
        .await
        .ok()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .get(
            &format!("/api/scrutineer/votes/{vote}/bundle"),
            Auth::Token(&token),
        )
        .await
        .ok();
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD
        .decode(b["body"].as_str().unwrap())
        .unwrap();
    let signature =
        piaojue_core::crypto::hex(&key.sign(piaojue_core::crypto::Domain::Result, &body));
    app.post(
        &format!("/api/scrutineer/votes/{vote}/cosign"),
        Auth::Token(&token),
        json!({ "signature": signature }),
    )
    .await
    .err(403, "scrutineer_not_in_vote");
    app.post(
        &format!("/api/operator/votes/{vote}/announce"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "cosignatures_missing");
}

#[tokio::test]
async fn a_cancelled_vote_is_re_voted_once_under_a_new_id_that_names_it() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(4).await;
    app.enrol_all().await;
    let vote = app
        .create_vote("关于某事项的决定", &rules[2], &["关于某事项的决定"])
        .await;
    let post = |path: String| {
        let app = &app;
        async move { app.post(&path, Auth::Operator, json!({})).await }
    };
    // Not a draft, an open or a closed vote: only one that ended without a result.
    post(format!("/api/operator/votes/{vote}/revote"))
        .await
        .err(409, "revote_conflict");
    post(format!("/api/operator/votes/{vote}/open")).await.ok();
    post(format!("/api/operator/votes/{vote}/revote"))
        .await
        .err(409, "revote_conflict");
    let reason = "表决器故障，重新表决";
    app.post(
        &format!("/api/operator/votes/{vote}/cancel"),
        Auth::Operator,
        json!({ "reason": reason }),
    )
    .await
    .ok();
    let again = post(format!("/api/operator/votes/{vote}/revote"))
        .await
        .ok();
    let new = again["vote"]["id"].as_str().unwrap().to_string();
    assert_ne!(new, vote);
    assert_eq!(again["vote"]["state"], "draft");
    assert_eq!(again["vote"]["title"], "关于某事项的决定");
    assert_eq!(again["vote"]["revote_of"]["vote"], vote.as_str());
    assert_eq!(again["vote"]["revote_of"]["state"], "cancelled");
    assert_eq!(again["vote"]["revote_of"]["reason"], reason);
    // Once only; the old vote names its re-vote.
    post(format!("/api/operator/votes/{vote}/revote"))
        .await
        .err(409, "revote_conflict");
    let list = app.get("/api/public/votes", Auth::None).await.ok();
    let old = list["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == vote.as_str())
        .unwrap()
        .clone();
    assert_eq!(old["revoted_by"], new.as_str());
    assert_eq!(old["state"], "cancelled");
    // The re-vote runs as any vote.
    post(format!("/api/operator/votes/{new}/open")).await.ok();
    // The audit log records it.
    let log = app.get("/api/operator/audit", Auth::Operator).await.ok();
    assert!(log.to_string().contains("\"revote\""), "{log}");
}
