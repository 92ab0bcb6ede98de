//! The hall's procedures over real HTTP (issue 16): a 12 → 10 票决 with a tie at the cut,
//! its run-off, a second tie and its run-off, the final list; a cancelled motion re-voted;
//! a manual count co-signed by two scrutineers; a 测评 from the 票决; then the session
//! archive written by `piaojue archive` from the stopped appliance and checked by
//! `piaojue verify --archive`, and refused after each kind of tamper.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use piaojue_core::crypto::{ApplianceKey, Domain};
use serde_json::{Value, json};

use crate::helpers::{Auth, TestApp, ballot_id, repo, short_period};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

/// Ballots giving each item `yes[i]` 赞成 (the rest 不赞成), no deputy above `max_yes`: each
/// item's 赞成 go to the deputies with the most room left.
fn ballots(deputies: usize, yes: &[usize], max_yes: usize) -> Vec<Vec<u8>> {
    let mut b = vec![vec![1u8; yes.len()]; deputies];
    let mut room = vec![max_yes; deputies];
    for (item, &n) in yes.iter().enumerate() {
        let mut order: Vec<usize> = (0..deputies).collect();
        order.sort_by_key(|&d| (std::cmp::Reverse(room[d]), d));
        for &d in order.iter().take(n) {
            assert!(room[d] > 0, "infeasible ballots");
            room[d] -= 1;
            b[d][item] = 0;
        }
    }
    b
}

async fn post(app: &TestApp, path: &str, body: Value) -> Value {
    app.post(path, Auth::Operator, body).await.ok()
}

async fn cast_all(app: &TestApp, vote: &str, tokens: &[(String, String)], ballots: &[Vec<u8>]) {
    for ((_, t), choices) in tokens.iter().zip(ballots) {
        app.post(
            &format!("/api/tablet/votes/{vote}/cast"),
            Auth::Token(t),
            json!({ "vote_id": vote, "ballot_id": ballot_id(), "choices": choices }),
        )
        .await
        .ok();
    }
}

/// Opens, casts every ballot, closes and announces; returns the public vote.
async fn run(app: &TestApp, vote: &str, tokens: &[(String, String)], ballots: &[Vec<u8>]) -> Value {
    post(app, &format!("/api/operator/votes/{vote}/open"), json!({})).await;
    cast_all(app, vote, tokens, ballots).await;
    post(app, &format!("/api/operator/votes/{vote}/close"), json!({})).await;
    post(
        app,
        &format!("/api/operator/votes/{vote}/announce"),
        json!({}),
    )
    .await;
    public_vote(app, vote).await
}

async fn public_vote(app: &TestApp, vote: &str) -> Value {
    let list = app.get("/api/public/votes", Auth::None).await.ok();
    list["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == vote)
        .unwrap()
        .clone()
}

async fn result(app: &TestApp, vote: &str) -> Value {
    app.get(&format!("/api/public/votes/{vote}/result"), Auth::None)
        .await
        .ok()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn read_tar(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(std::fs::File::open(path).unwrap());
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().to_string_lossy().into_owned();
            let mut b = Vec::new();
            e.read_to_end(&mut b).unwrap();
            (name, b)
        })
        .collect()
}

fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let mut t = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        t.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    t.finish().unwrap();
}

/// `piaojue archive DATA OUT` on a stopped appliance's data directory; it must succeed.
fn archive(data: &Path, out: &Path) {
    let run = Command::new(BIN)
        .arg("archive")
        .arg(data)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// A scrutineer named by the secretariat and enrolled with a key of their own: (key, token).
async fn scrutineer(app: &TestApp, name: &str) -> (ApplianceKey, String) {
    let code = post(app, "/api/operator/scrutineers", json!({ "name": name })).await["code"]
        .as_str()
        .unwrap()
        .to_string();
    let key = ApplianceKey::generate().unwrap();
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
    (key, token)
}

/// A scrutineer's co-signature of a vote's bundle, as `piaojue scrutineer cosign` sends it.
async fn cosign(
    app: &TestApp,
    vote: &str,
    key: &ApplianceKey,
    token: &str,
) -> crate::helpers::Answer {
    let b = app
        .get(
            &format!("/api/scrutineer/votes/{vote}/bundle"),
            Auth::Token(token),
        )
        .await
        .ok();
    let body = STANDARD.decode(b["body"].as_str().unwrap()).unwrap();
    app.post(
        &format!("/api/scrutineer/votes/{vote}/cosign"),
        Auth::Token(token),
        json!({ "signature": piaojue_core::crypto::hex(&key.sign(Domain::Result, &body)) }),
    )
    .await
}

fn verify_archive(path: &Path, key: &str) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["verify", "--archive"])
        .arg(path)
        .args(["--key", key])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A bundle's body edited, then signed again by the appliance's own key: only the check
/// under test (a link, the chain, a co-signature) can fail.
fn resign(bundle: &[u8], key: &ApplianceKey, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut env: Value = serde_json::from_slice(bundle).unwrap();
    let mut body: Value =
        serde_json::from_slice(&STANDARD.decode(env["body"].as_str().unwrap()).unwrap()).unwrap();
    edit(&mut body);
    let text = serde_json::to_string(&body).unwrap();
    env["body"] = json!(STANDARD.encode(text.as_bytes()));
    env["signatures"][0]["signature"] = json!(piaojue_core::crypto::hex(
        &key.sign(Domain::Result, text.as_bytes())
    ));
    serde_json::to_vec_pretty(&env).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runoffs_a_revote_a_manual_count_and_a_satisfaction_test_make_an_archive_that_verifies() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(10).await;
    let tokens = app.enrol_all().await;
    // Two scrutineers with their own keys, before any vote opens.
    let mut scrutineers = Vec::new();
    for name in ["监票人甲", "监票人乙"] {
        scrutineers.push(scrutineer(&app, name).await);
    }
    // A 12 → 10 票决 under the project-selection rules with ten seats.
    let mut doc: Value = serde_json::from_slice(
        &std::fs::read(repo("firmware-config/rules/project-selection.json")).unwrap(),
    )
    .unwrap();
    doc["select_n"] = json!(10);
    doc["max_yes"] = json!(10);
    let doc = short_period(serde_json::to_string_pretty(&doc).unwrap().as_bytes());
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some(("application/json", doc)),
        )
        .await
        .ok();
    let rules_10 = r["sha256"].as_str().unwrap().to_string();
    let items: Vec<String> = (1..=12).map(|i| format!("候选项目{i:02}")).collect();
    let item_refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let root = app
        .create_vote("2026年民生实事项目票决", &rules_10, &item_refs)
        .await;
    // No run-off before the result is announced, nor for a vote without a tie.
    app.post(
        &format!("/api/operator/votes/{root}/runoff"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "runoff_conflict");
    // 7 candidates with 9 赞成, 4 tied at 6 for the 3 seats left, 1 with none.
    let v = run(
        &app,
        &root,
        &tokens,
        &ballots(10, &[9, 9, 9, 9, 9, 9, 9, 6, 6, 6, 6, 0], 10),
    )
    .await;
    assert_eq!(v["runoff_due"]["reason"], "tie", "{v}");
    assert_eq!(v["runoff_due"]["seats"], 3);
    let r1 = result(&app, &root).await;
    assert_eq!(names(&r1["outcome"]["selected"]).len(), 7, "{r1}");
    assert_eq!(names(&r1["outcome"]["tie"]["items"]), items[7..11].to_vec());
    // The run-off: exactly the tied candidates, the seats left, the parent's bundle named.
    let run1 = post(
        &app,
        &format!("/api/operator/votes/{root}/runoff"),
        json!({}),
    )
    .await;
    let run1_id = run1["vote"]["id"].as_str().unwrap().to_string();
    assert_eq!(names(&run1["vote"]["items"]), items[7..11].to_vec());
    assert_eq!(run1["vote"]["runoff_of"]["vote"], root.as_str());
    assert_eq!(run1["vote"]["runoff_of"]["seats"], 3);
    assert_eq!(
        run1["vote"]["runoff_of"]["candidates"],
        json!([7, 8, 9, 10])
    );
    assert_eq!(
        run1["vote"]["max_yes"], 3,
        "a deputy marks at most the seats"
    );
    assert_eq!(
        run1["vote"]["runoff_of"]["bundle_sha256"],
        public_vote(&app, &root).await["bundle_sha256"]
    );
    // Once per parent.
    app.post(
        &format!("/api/operator/votes/{root}/runoff"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "runoff_conflict");
    // A second tie: one candidate with 8, three tied at 6 for the 2 seats left.
    let v = run(&app, &run1_id, &tokens, &ballots(10, &[8, 6, 6, 6], 3)).await;
    assert_eq!(v["runoff_due"]["seats"], 2, "{v}");
    let run2 = post(
        &app,
        &format!("/api/operator/votes/{run1_id}/runoff"),
        json!({}),
    )
    .await;
    let run2_id = run2["vote"]["id"].as_str().unwrap().to_string();
    assert_eq!(names(&run2["vote"]["items"]), items[8..11].to_vec());
    assert_eq!(run2["vote"]["runoff_of"]["candidates"], json!([1, 2, 3]));
    // A deputy may not mark more than the two seats.
    post(
        &app,
        &format!("/api/operator/votes/{run2_id}/open"),
        json!({}),
    )
    .await;
    app.post(
        &format!("/api/tablet/votes/{run2_id}/cast"),
        Auth::Token(&tokens[0].1),
        json!({ "vote_id": run2_id, "ballot_id": ballot_id(), "choices": [0, 0, 0] }),
    )
    .await
    .err(400, "too_many_yes");
    cast_all(&app, &run2_id, &tokens, &ballots(10, &[8, 7, 4], 2)).await;
    post(
        &app,
        &format!("/api/operator/votes/{run2_id}/close"),
        json!({}),
    )
    .await;
    post(
        &app,
        &format!("/api/operator/votes/{run2_id}/announce"),
        json!({}),
    )
    .await;
    let r3 = result(&app, &run2_id).await;
    assert_eq!(
        names(&r3["outcome"]["selected"]),
        vec![items[8].clone(), items[9].clone()]
    );
    assert!(r3["outcome"]["tie"].is_null());

    // A cancelled motion, re-voted.
    let motion = app
        .create_vote("关于某事项的决定", &rules[2], &["关于某事项的决定"])
        .await;
    post(
        &app,
        &format!("/api/operator/votes/{motion}/open"),
        json!({}),
    )
    .await;
    post(
        &app,
        &format!("/api/operator/votes/{motion}/cancel"),
        json!({ "reason": "表决器故障" }),
    )
    .await;
    let again = post(
        &app,
        &format!("/api/operator/votes/{motion}/revote"),
        json!({}),
    )
    .await;
    let again_id = again["vote"]["id"].as_str().unwrap().to_string();
    run(&app, &again_id, &tokens, &vec![vec![0u8]; 10]).await;

    // A manual count replacing another cancelled motion, co-signed by two scrutineers.
    let hands = app
        .create_vote("关于另一事项的决定", &rules[2], &["关于另一事项的决定"])
        .await;
    post(
        &app,
        &format!("/api/operator/votes/{hands}/open"),
        json!({}),
    )
    .await;
    // Not while it is open.
    let count = json!({
        "method": "show_of_hands", "present": 10, "counts": [[8, 1, 1]],
        "counted_by": ["监票人甲", "监票人乙"], "note": "电子表决系统故障，改为举手表决",
    });
    app.post(
        &format!("/api/operator/votes/{hands}/manual-count"),
        Auth::Operator,
        count.clone(),
    )
    .await
    .err(409, "revote_conflict");
    post(
        &app,
        &format!("/api/operator/votes/{hands}/cancel"),
        json!({ "reason": "电子表决系统故障" }),
    )
    .await;
    // A count above the roll, or of the wrong shape, is refused and nothing is made.
    let before = app.store.votes().unwrap().len();
    let mut over = count.clone();
    over["counts"] = json!([[9, 1, 1]]);
    let e = app
        .post(
            &format!("/api/operator/votes/{hands}/manual-count"),
            Auth::Operator,
            over,
        )
        .await
        .err(400, "bad_manual_count");
    assert!(e["message"].to_string().contains("counts"), "{e}");
    let mut shape = count.clone();
    shape["counts"] = json!([[8, 1]]);
    app.post(
        &format!("/api/operator/votes/{hands}/manual-count"),
        Auth::Operator,
        shape,
    )
    .await
    .err(400, "bad_manual_count");
    assert_eq!(app.store.votes().unwrap().len(), before);
    // A scrutineer named now, enrolled with a key the operator holds: not a co-signer of the
    // manual count (manual_count_cosigners_are_the_sessions_not_ones_named_later).
    let (late_key, late_token) = scrutineer(&app, "后来者").await;
    let manual = post(
        &app,
        &format!("/api/operator/votes/{hands}/manual-count"),
        count,
    )
    .await;
    let manual_id = manual["vote"]["id"].as_str().unwrap().to_string();
    cosign(&app, &manual_id, &late_key, &late_token)
        .await
        .err(403, "scrutineer_not_in_vote");
    assert_eq!(manual["vote"]["state"], "closed");
    assert_eq!(manual["vote"]["manual"]["heading_zh"], "举手表决结果");
    assert_eq!(manual["vote"]["revote_of"]["vote"], hands.as_str());
    // Not announced on the operator's word alone.
    let e = app
        .post(
            &format!("/api/operator/votes/{manual_id}/announce"),
            Auth::Operator,
            json!({}),
        )
        .await
        .err(409, "cosignatures_missing");
    assert!(e.to_string().contains("1名监票人会签"), "{e}");
    for (key, token) in &scrutineers {
        cosign(&app, &manual_id, key, token).await.ok();
    }
    post(
        &app,
        &format!("/api/operator/votes/{manual_id}/announce"),
        json!({}),
    )
    .await;
    // A paper count the scrutineers will not co-sign: declared failed, counted again.
    let wrong = post(
        &app,
        "/api/operator/manual-counts",
        json!({
            "method": "paper", "present": 10, "counts": [[7, 2, 1]],
            "counted_by": ["计票人丙"], "note": "纸质票", "title": "关于第三事项的决定",
            "rules_sha256": rules[2], "items": ["关于第三事项的决定"],
        }),
    )
    .await;
    let wrong_id = wrong["vote"]["id"].as_str().unwrap().to_string();
    let failed = post(
        &app,
        &format!("/api/operator/votes/{wrong_id}/declare-failed"),
        json!({ "reason": "计票有误，监票人不予确认" }),
    )
    .await;
    assert_eq!(failed["vote"]["state"], "failed");
    assert!(
        failed["vote"]["failed_announcement"]
            .as_str()
            .unwrap()
            .contains("人工计票结果未经监票人确认")
    );
    let recount = post(
        &app,
        &format!("/api/operator/votes/{wrong_id}/manual-count"),
        json!({
            "method": "paper", "present": 10, "counts": [[8, 1, 1]],
            "counted_by": ["监票人甲", "监票人乙"], "note": "重新清点纸质票",
        }),
    )
    .await;
    let recount_id = recount["vote"]["id"].as_str().unwrap().to_string();
    assert_eq!(recount["vote"]["revote_of"]["state"], "failed");
    for (key, token) in &scrutineers {
        cosign(&app, &recount_id, key, token).await.ok();
    }
    post(
        &app,
        &format!("/api/operator/votes/{recount_id}/announce"),
        json!({}),
    )
    .await;
    let rm = result(&app, &manual_id).await;
    assert!(
        rm["announcement"].as_str().unwrap().contains("赞成8票"),
        "{rm}"
    );

    // 人大评: a 测评 of exactly the projects the 票决 adopted, in rank order.
    let e = app
        .post(
            "/api/operator/votes/from-bundle",
            Auth::Operator,
            json!({ "title": "测评", "rules_sha256": rules[1], "source_vote": again_id }),
        )
        .await
        .err(400, "bad_source_bundle");
    assert!(
        e["message"].as_str().unwrap().contains("不是票决")
            || e["message"].as_str().unwrap().contains("not a 票决"),
        "{e}"
    );
    let root_bundle = app
        .get(&format!("/api/public/votes/{root}/bundle"), Auth::None)
        .await
        .ok();
    // From a 票决 not announced yet: refused (its adopted list is not public).
    let pending = app.create_vote("待定票决", &rules_10, &item_refs).await;
    let e = app
        .post(
            "/api/operator/votes/from-bundle",
            Auth::Operator,
            json!({ "title": "测评", "rules_sha256": rules[1], "source_vote": pending }),
        )
        .await
        .err(400, "bad_source_bundle");
    assert!(e["message"].as_str().unwrap().contains("announced"), "{e}");
    post(
        &app,
        &format!("/api/operator/votes/{pending}/cancel"),
        json!({ "reason": "不再进行" }),
    )
    .await;
    let made = app.store.votes().unwrap().len();
    let mut forged = root_bundle.clone();
    forged["body"] = json!(STANDARD.encode(b"{}"));
    app.post(
        "/api/operator/votes/from-bundle",
        Auth::Operator,
        json!({ "title": "测评", "rules_sha256": rules[1], "bundle": forged }),
    )
    .await
    .err(400, "bad_source_bundle");
    assert_eq!(app.store.votes().unwrap().len(), made, "nothing half-made");
    let sat = post(
        &app,
        "/api/operator/votes/from-bundle",
        json!({ "title": "2026年民生实事项目满意度测评", "rules_sha256": rules[1], "bundle": root_bundle }),
    )
    .await;
    let sat_id = sat["vote"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        names(&sat["vote"]["items"]),
        names(&r1["outcome"]["selected"])
    );
    assert_eq!(
        sat["vote"]["source"]["appliance_key"],
        app.store.meta().public_key.as_str()
    );
    run(&app, &sat_id, &tokens, &vec![vec![0u8; 7]; 10]).await;

    // The archive, from the stopped appliance.
    let key_hex = app.store.meta().public_key.clone();
    let dir = app.stop().await;
    let data = dir.path().join("data");
    let tar_path = dir.path().join("session.tar");
    archive(&data, &tar_path);
    let (code, text) = verify_archive(&tar_path, &key_hex);
    assert_eq!(code, 0, "{text}");
    let final_list = format!(
        "final list of {root} (10): {}",
        [&items[..7], &items[7..10]].concat().join("、")
    );
    assert!(text.contains(&final_list), "{text}");
    for link in [
        format!("link.{run1_id}.runoff_of"),
        format!("link.{run2_id}.runoff_of"),
        format!("link.{again_id}.revote_of"),
        format!("link.{manual_id}.revote_of"),
        format!("link.{recount_id}.revote_of"),
        format!("vote.{wrong_id}"),
        format!("link.{sat_id}.source"),
    ] {
        assert!(text.contains(&format!("ok   {link}")), "{link}: {text}");
    }
    let files = read_tar(&tar_path);
    assert_eq!(files[0].0, "manifest.json");
    // One bundle and its link, as an observer holding both checks them.
    let file_of = |vote: &str| {
        let (name, bytes) = files
            .iter()
            .find(|(n, _)| n.starts_with("bundles/") && n.ends_with(&format!("-{vote}.json")))
            .unwrap();
        let path = dir.path().join(name.replace('/', "_"));
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let link = |bundle: &Path, flag: &str, other: &Path| {
        let out = Command::new(BIN)
            .arg("verify")
            .arg(bundle)
            .args(["--key", &key_hex, flag])
            .arg(other)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = link(&file_of(&run1_id), "--parent", &file_of(&root));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("ok   link.runoff_of"), "{text}");
    let (code, text) = link(&file_of(&run2_id), "--parent", &file_of(&root));
    assert_eq!(
        code,
        Some(1),
        "the second run-off's parent is the first: {text}"
    );
    assert!(text.contains("FAIL link.runoff_of"), "{text}");
    let (code, text) = link(&file_of(&sat_id), "--source", &file_of(&root));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("ok   link.source"), "{text}");
    let (code, text) = link(&file_of(&sat_id), "--source", &file_of(&run1_id));
    assert_eq!(code, Some(1), "{text}");
    let report = &files.iter().find(|(n, _)| n == "report.html").unwrap().1;
    let report = String::from_utf8_lossy(report);
    assert!(
        report.contains("表决情况报告") && report.contains("表决器故障"),
        "{report}"
    );
    let key = piaojue::appliance::load_key(&data).unwrap();
    let find = |vote: &str| {
        files
            .iter()
            .position(|(n, _)| n.starts_with("bundles/") && n.ends_with(&format!("-{vote}.json")))
            .unwrap()
    };
    let tampered = dir.path().join("tampered.tar");
    let rejects = |files: Vec<(String, Vec<u8>)>, what: &str, expect: &str| {
        write_tar(&tampered, &files);
        let (code, text) = verify_archive(&tampered, &key_hex);
        assert_eq!(code, 1, "{what}: {text}");
        assert!(
            text.contains(expect),
            "{what}: expected `{expect}` in {text}"
        );
    };
    // A bundle removed.
    let mut removed = files.clone();
    removed.remove(find(&run1_id));
    rejects(
        removed,
        "a bundle removed",
        "is listed in the manifest but missing",
    );
    // Two bundles swapped.
    let mut swapped = files.clone();
    let (a, b) = (find(&run1_id), find(&run2_id));
    let tmp = swapped[a].1.clone();
    swapped[a].1 = swapped[b].1.clone();
    swapped[b].1 = tmp;
    rejects(
        swapped,
        "two bundles swapped",
        &format!("FAIL bundle.{run1_id}"),
    );
    // A link edited (the run-off's seats), even with the appliance's own signature.
    let mut edited = files.clone();
    let i = find(&run2_id);
    edited[i].1 = resign(&edited[i].1, &key, |b| {
        b["procedure"]["runoff_of"]["candidates"] = json!([0, 1, 2]);
    });
    rejects(
        edited,
        "a link edited",
        &format!("FAIL link.{run2_id}.runoff_of"),
    );
    // A manual count changed: the scrutineers' co-signatures no longer hold.
    let mut changed = files.clone();
    let i = find(&manual_id);
    changed[i].1 = resign(&changed[i].1, &key, |b| {
        b["counts"] = json!([[9, 0, 1]]);
    });
    rejects(
        changed,
        "a manual count changed",
        &format!("FAIL bundle.{manual_id}"),
    );
    // The report replaced (report_html_is_rebuilt_and_compared).
    let mut report_edit = files.clone();
    let i = report_edit
        .iter()
        .position(|(n, _)| n == "report.html")
        .unwrap();
    report_edit[i].1 = b"<html>all is well</html>".to_vec();
    rejects(report_edit, "the report replaced", "FAIL archive.report");
    // Files reordered in the tar change nothing; a file added is refused.
    let mut extra = files.clone();
    extra.push(("bundles/999-v99.json".into(), b"{}".to_vec()));
    rejects(extra, "a file added", "not in the manifest");
    // The manifest edited: its signature fails.
    // Sealing: the cast marks' links to the ballots are gone from the disk, not only from
    // the live records; no vote opens afterwards.
    let links: Vec<String> = {
        let store = piaojue::store::Store::open(&data, &key_hex).unwrap();
        let mut links = Vec::new();
        for vote in [&root, &run1_id, &run2_id, &again_id, &sat_id] {
            for (_, mark) in store.cast_marks(vote).unwrap() {
                links.push(mark.ballot_id_sha256.clone());
                links.push(mark.receipt.receipt_code.clone());
            }
        }
        links
    };
    assert_eq!(links.len(), 2 * 10 * 5);
    let bytes_on_disk = |dir: &Path| {
        let mut all = Vec::new();
        for e in walk(dir) {
            all.extend(std::fs::read(e).unwrap());
        }
        all
    };
    let disk = bytes_on_disk(&data.join("store"));
    let before = links
        .iter()
        .filter(|l| disk.windows(l.len()).any(|w| w == l.as_bytes()))
        .count();
    assert!(before > 0, "the links are on disk before sealing");
    let out = Command::new(BIN)
        .arg("seal")
        .arg(&data)
        .arg("--archive")
        .arg(dir.path().join("tampered.tar"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "a tampered archive does not seal");
    let out = Command::new(BIN)
        .arg("seal")
        .arg(&data)
        .arg("--archive")
        .arg(&tar_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let disk = bytes_on_disk(&data.join("store"));
    let ballot_ids: Vec<&String> = links.iter().step_by(2).collect();
    for l in &ballot_ids {
        assert!(
            !disk.windows(l.len()).any(|w| w == l.as_bytes()),
            "a ballot id's hash survived sealing on disk"
        );
    }
    {
        let store = piaojue::store::Store::open(&data, &key_hex).unwrap();
        assert!(store.meta().sealed_at.is_some());
        for (_, mark) in store.cast_marks(&root).unwrap() {
            assert!(mark.ballot_id_sha256.is_empty() && mark.receipt.receipt_code.is_empty());
        }
        assert!(
            store
                .audit(0, 100_000)
                .unwrap()
                .iter()
                .any(|e| e.action == "seal")
        );
        let session = piaojue::session::Session::new(
            store,
            std::sync::Arc::new(piaojue::appliance::load_key(&data).unwrap()),
        );
        let draft = session
            .create_vote(
                "封存后".into(),
                rules[2].clone(),
                vec!["封存后".into()],
                None,
            )
            .await
            .unwrap();
        assert!(matches!(
            session.open_vote(draft.id).await,
            Err(piaojue_core::refusal::Refusal::SessionSealed)
        ));
    }
    let mut manifest = files.clone();
    let mut env: Value = serde_json::from_slice(&manifest[0].1).unwrap();
    let mut body: Value =
        serde_json::from_slice(&STANDARD.decode(env["body"].as_str().unwrap()).unwrap()).unwrap();
    body["votes"][0]["title"] = json!("改过的标题");
    env["body"] = json!(STANDARD.encode(body.to_string()));
    manifest[0].1 = serde_json::to_vec(&env).unwrap();
    rejects(manifest, "the manifest edited", "does not verify");
}

/// Adopts the project-selection rules with `edit` applied; returns the hash.
async fn adopt_selection(app: &TestApp, edit: impl FnOnce(&mut Value)) -> String {
    let mut doc: Value = serde_json::from_slice(
        &std::fs::read(repo("firmware-config/rules/project-selection.json")).unwrap(),
    )
    .unwrap();
    edit(&mut doc);
    let doc = short_period(serde_json::to_string_pretty(&doc).unwrap().as_bytes());
    let r = app
        .request(
            reqwest::Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some(("application/json", doc)),
        )
        .await
        .ok();
    r["sha256"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shortfall_is_voted_again_by_most_yes_and_a_chairs_decision_is_recorded() {
    let mut app = TestApp::spawn().await;
    app.prepare(10).await;
    let tokens = app.enrol_all().await;
    // 7 → 5, but only 3 reach 全体代表的过半数 (6 of 10): 2 seats left, 4 candidates.
    let remaining = adopt_selection(&app, |d| {
        d["shortfall_rule"] = json!("revote_remaining");
        d["runoff_majority"] = json!(false);
    })
    .await;
    let items: Vec<String> = (1..=7).map(|i| format!("项目{i}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let root = app.create_vote("票决（差额）", &remaining, &refs).await;
    let v = run(
        &app,
        &root,
        &tokens,
        &ballots(10, &[9, 8, 7, 5, 4, 3, 2], 5),
    )
    .await;
    assert_eq!(v["runoff_due"]["reason"], "shortfall", "{v}");
    assert_eq!(v["runoff_due"]["seats"], 2);
    let r = post(
        &app,
        &format!("/api/operator/votes/{root}/runoff"),
        json!({}),
    )
    .await;
    let run_id = r["vote"]["id"].as_str().unwrap().to_string();
    assert_eq!(names(&r["vote"]["items"]), items[3..].to_vec());
    assert_eq!(r["vote"]["runoff_of"]["reason"], "shortfall");
    assert!(
        r["vote"]["title"]
            .as_str()
            .unwrap()
            .contains("就剩余名额另行票决")
    );
    // No majority needed in the run-off: the two with most 赞成 take the seats.
    run(&app, &run_id, &tokens, &ballots(10, &[5, 4, 3, 2], 2)).await;
    let out = result(&app, &run_id).await;
    assert_eq!(
        names(&out["outcome"]["selected"]),
        items[3..5].to_vec(),
        "{out}"
    );
    assert!(
        out["announcement"]
            .as_str()
            .unwrap()
            .contains("以得票多的确定")
    );

    // tie_rule chair_decides: no run-off; the chair's choice is recorded.
    let chair = adopt_selection(&app, |d| {
        d["tie_rule"] = json!("chair_decides");
        d["title"] = json!("票决办法（主持人确定）");
    })
    .await;
    let tied = app
        .create_vote("票决（并列由主持人确定）", &chair, &refs)
        .await;
    run(
        &app,
        &tied,
        &tokens,
        &ballots(10, &[9, 9, 9, 9, 7, 7, 0], 5),
    )
    .await;
    let v = public_vote(&app, &tied).await;
    assert!(v["runoff_due"].is_null(), "{v}");
    app.post(
        &format!("/api/operator/votes/{tied}/runoff"),
        Auth::Operator,
        json!({}),
    )
    .await
    .err(409, "runoff_conflict");
    let path = format!("/api/operator/votes/{tied}/chair-decision");
    app.post(
        &path,
        Auth::Operator,
        json!({ "items": ["项目1"], "note": "主持人确定" }),
    )
    .await
    .err(400, "bad_items");
    app.post(
        &path,
        Auth::Operator,
        json!({ "items": ["项目5", "项目6"], "note": "主持人确定" }),
    )
    .await
    .err(400, "bad_items");
    let d = post(
        &app,
        &path,
        json!({ "items": ["项目6"], "note": "会议主持人依照票决办法确定" }),
    )
    .await;
    assert_eq!(d["vote"]["chair_decision"]["items"], json!(["项目6"]));
    app.post(
        &path,
        Auth::Operator,
        json!({ "items": ["项目5"], "note": "再改" }),
    )
    .await
    .err(409, "runoff_conflict");
    // The archive checks the chair's choice against the signed tie and lists both 票决.
    let key_hex = app.store.meta().public_key.clone();
    let dir = app.stop().await;
    let tar_path = dir.path().join("s.tar");
    archive(&dir.path().join("data"), &tar_path);
    let (code, text) = verify_archive(&tar_path, &key_hex);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("ok   link.{tied}.chair_decision")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "final list of {root} (5): 项目1、项目2、项目3、项目4、项目5"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "final list of {tied} (5): 项目1、项目2、项目3、项目4、项目6"
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_votes_counts_per_delegation_are_published_and_recounted_by_the_verifier() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(10).await;
    let tokens = app.enrol_all().await;
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(repo("firmware-config/rules/motion.json")).unwrap())
            .unwrap();
    doc["secret"] = json!(false);
    doc["title"] = json!("记名表决办法");
    let doc = short_period(serde_json::to_string_pretty(&doc).unwrap().as_bytes());
    let named = app
        .request(
            reqwest::Method::POST,
            "/api/operator/rules",
            Auth::Operator,
            Some(("application/json", doc)),
        )
        .await
        .ok()["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let _ = rules;
    let v = app
        .create_vote("关于记名表决的决定", &named, &["关于记名表决的决定"])
        .await;
    let choices: Vec<Vec<u8>> = (0..10).map(|i| vec![(i % 3) as u8]).collect();
    run(&app, &v, &tokens, &choices).await;
    let r = result(&app, &v).await;
    let groups = r["by_delegation"]
        .as_array()
        .expect("counts per delegation")
        .clone();
    let total: u64 = groups.iter().map(|g| g["deputies"].as_u64().unwrap()).sum();
    assert_eq!(total, 10, "{r}");
    let sum: Vec<u64> = (0..3)
        .map(|j| {
            groups
                .iter()
                .map(|g| g["counts"][0][j].as_u64().unwrap())
                .sum()
        })
        .collect();
    assert_eq!(sum, vec![4, 3, 3]);
    let bundle = app
        .get(&format!("/api/public/votes/{v}/bundle"), Auth::None)
        .await
        .ok();
    let key_hex = app.store.meta().public_key.clone();
    let key = piaojue::appliance::load_key(&app.data_dir()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let verify = |bytes: &[u8]| {
        let f = dir.path().join("b.json");
        std::fs::write(&f, bytes).unwrap();
        let out = Command::new(BIN)
            .arg("verify")
            .arg(&f)
            .args(["--key", &key_hex])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let bytes = serde_json::to_vec(&bundle).unwrap();
    let (code, text) = verify(&bytes);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("ok   named.delegations"), "{text}");
    // Moved between delegations, even under the appliance's own signature: refused.
    let forged = resign(&bytes, &key, |b| {
        let g = b["by_delegation"].as_array_mut().unwrap();
        g[0]["counts"][0][0] = json!(g[0]["counts"][0][0].as_u64().unwrap() + 1);
        let last = g.len() - 1;
        g[last]["counts"][0][0] =
            json!(g[last]["counts"][0][0].as_u64().unwrap().saturating_sub(1));
    });
    let (code, text) = verify(&forged);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL named.delegations"), "{text}");
}

/// Regressions (review of issue 16): a run-off re-voted after a cancellation dropped out of
/// the final list, and a 测评 re-voted lost its source bundle so the archive never verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_voted_runoff_and_a_re_voted_satisfaction_test_keep_their_links_in_the_archive() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(10).await;
    let tokens = app.enrol_all().await;
    let selection = adopt_selection(&app, |_| {}).await;
    let items: Vec<String> = (1..=7).map(|i| format!("项目{i}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let root = app.create_vote("票决", &selection, &refs).await;
    run(
        &app,
        &root,
        &tokens,
        &ballots(10, &[9, 9, 9, 9, 7, 7, 0], 5),
    )
    .await;
    let r1 = post(
        &app,
        &format!("/api/operator/votes/{root}/runoff"),
        json!({}),
    )
    .await;
    let r1 = r1["vote"]["id"].as_str().unwrap().to_string();
    post(&app, &format!("/api/operator/votes/{r1}/open"), json!({})).await;
    post(
        &app,
        &format!("/api/operator/votes/{r1}/cancel"),
        json!({ "reason": "表决器故障" }),
    )
    .await;
    let r2 = post(&app, &format!("/api/operator/votes/{r1}/revote"), json!({})).await;
    assert_eq!(r2["vote"]["runoff_of"]["vote"], root.as_str());
    let r2 = r2["vote"]["id"].as_str().unwrap().to_string();
    run(&app, &r2, &tokens, &ballots(10, &[3, 6], 1)).await;
    // The 测评 of the root's projects, cancelled and re-voted.
    let sat = post(
        &app,
        "/api/operator/votes/from-bundle",
        json!({ "title": "测评", "rules_sha256": rules[1], "source_vote": root }),
    )
    .await;
    let sat = sat["vote"]["id"].as_str().unwrap().to_string();
    post(
        &app,
        &format!("/api/operator/votes/{sat}/cancel"),
        json!({ "reason": "名单有误，重新测评" }),
    )
    .await;
    let sat2 = post(
        &app,
        &format!("/api/operator/votes/{sat}/revote"),
        json!({}),
    )
    .await;
    let sat2 = sat2["vote"]["id"].as_str().unwrap().to_string();
    run(&app, &sat2, &tokens, &vec![vec![0u8; 4]; 10]).await;
    let key_hex = app.store.meta().public_key.clone();
    let dir = app.stop().await;
    let tar_path = dir.path().join("s.tar");
    archive(&dir.path().join("data"), &tar_path);
    let (code, text) = verify_archive(&tar_path, &key_hex);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(&format!("ok   link.{sat2}.source")), "{text}");
    assert!(
        text.contains(&format!(
            "final list of {root} (5): 项目1、项目2、项目3、项目4、项目6"
        )),
        "{text}"
    );
}

/// The procedures as `piaojue admin` drives them (docs/api.md): runoff, manual-count (for a
/// vote and --new), satisfaction-from, chair-decides refused without a chair's tie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_drive_the_procedures() {
    let mut app = TestApp::spawn().await;
    let rules = app.prepare(10).await;
    let tokens = app.enrol_all().await;
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pass");
    std::fs::write(&pass, crate::helpers::PASSPHRASE).unwrap();
    let admin = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["admin", "--url", &app.base, "--passphrase-file"])
            .arg(&pass)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let items: Vec<String> = (1..=7).map(|i| format!("项目{i}")).collect();
    let refs: Vec<&str> = items.iter().map(String::as_str).collect();
    let root = app.create_vote("票决", &rules[0], &refs).await;
    run(
        &app,
        &root,
        &tokens,
        &ballots(10, &[9, 9, 9, 9, 7, 7, 0], 5),
    )
    .await;
    let (code, out, err) = admin(&["runoff", &root]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("对并列项目重新票决") && out.contains("1 个名额"),
        "{out}"
    );
    let (code, _, err) = admin(&[
        "chair-decides",
        &root,
        "--item",
        "项目5",
        "--note",
        "主持人确定",
    ]);
    assert_eq!(code, Some(1), "no chair's tie under revote_tied: {err}");
    assert!(err.contains("runoff_conflict"), "{err}");
    // A manual count for a cancelled motion, then a new one.
    let motion = app
        .create_vote("关于某事项的决定", &rules[2], &["关于某事项的决定"])
        .await;
    post(
        &app,
        &format!("/api/operator/votes/{motion}/cancel"),
        json!({ "reason": "表决器故障" }),
    )
    .await;
    let count = dir.path().join("count.json");
    std::fs::write(
        &count,
        json!({ "method": "show_of_hands", "present": 10, "counts": [[8, 1, 1]],
                "counted_by": ["监票人甲"], "note": "改为举手表决" })
        .to_string(),
    )
    .unwrap();
    let (code, out, err) = admin(&["manual-count", &motion, count.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("举手表决结果"), "{out}");
    let fresh = dir.path().join("new.json");
    std::fs::write(
        &fresh,
        json!({ "method": "paper", "present": 10, "counts": [[7, 2, 1]],
                "counted_by": ["计票人乙"], "note": "纸质票", "title": "关于另一事项的决定",
                "rules_sha256": rules[2], "items": ["关于另一事项的决定"] })
        .to_string(),
    )
    .unwrap();
    let (code, out, err) = admin(&["manual-count", "--new", fresh.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("纸质票计票结果"), "{out}");
    // A count above the roll: refused, the field named.
    std::fs::write(
        &count,
        json!({ "method": "paper", "present": 10, "counts": [[9, 2, 1]],
                "counted_by": ["计票人乙"], "note": "纸质票", "title": "超过实到",
                "rules_sha256": rules[2], "items": ["超过实到"] })
        .to_string(),
    )
    .unwrap();
    let (code, _, err) = admin(&["manual-count", "--new", count.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("bad_manual_count") && err.contains("counts"),
        "{err}"
    );
    // 人大评 from the announced 票决, by id and from its bundle file.
    let (code, out, err) = admin(&[
        "satisfaction-from",
        &root,
        "--title",
        "测评",
        "--rules",
        &rules[1],
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("测评来源"), "{out}");
    let bundle = app
        .get(&format!("/api/public/votes/{root}/bundle"), Auth::None)
        .await
        .ok();
    let file = dir.path().join("source.json");
    std::fs::write(&file, bundle.to_string()).unwrap();
    let (code, out, err) = admin(&[
        "satisfaction-from",
        file.to_str().unwrap(),
        "--title",
        "测评（来自文件）",
        "--rules",
        &rules[1],
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("测评来源"), "{out}");
}
