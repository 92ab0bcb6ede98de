//! Encrypted votes and the scrutineers' checklist G1–G6 (SPEC-E2E §9.2a) over real HTTP with
//! real `piaojue scrutineer` processes. The credential officer and the tablets are played here
//! with the library; a hostile appliance is a proxy in front of the real one that rewrites
//! what it serves.

use std::net::SocketAddr;
use std::process::{Command, Output};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::IntoResponse;
use piaojue_core::e2e::ballot::{self, VoteContext};
use piaojue_core::e2e::ceremony::SystemSource;
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::decryption::RollCall;
use piaojue_core::e2e::elgamal::JointKey;
use piaojue_core::e2e::group::Element;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest, VoteParams};
use piaojue_core::e2e::packing::VoteType;
use serde_json::{Value, json};

use crate::ceremony::{self as cer, Scrutineer};
use crate::helpers::{Auth, TestApp};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_piaojue"))
}

struct Session {
    app: TestApp,
    ss: Vec<Scrutineer>,
    sm: SessionManifest,
    officer: SigningIdentity,
    key: JointKey,
    _root: tempfile::TempDir,
}

/// A session with n = 3, k = 2 after a real ceremony.
async fn session() -> Session {
    let root = tempfile::tempdir().unwrap();
    let ss: Vec<Scrutineer> = (1..=3).map(|i| cer::keygen(root.path(), i)).collect();
    let mut app = TestApp::spawn().await;
    let officer = SigningIdentity::from_seed(&[42; 32]);
    let sm = cer::publish_with(&mut app, &ss, 2, officer.public_key()).await;
    let mh = hex::encode(sm.hash());
    let children: Vec<_> = ss
        .iter()
        .zip(1..)
        .map(|(s, i)| cer::ceremony(&app, s, i, &mh))
        .collect();
    for c in children {
        let o = cer::finish(c).await;
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    let b = cer::board(&app).await;
    let k = Element::from_hex(b["status"]["joint_key"].as_str().unwrap(), "K").unwrap();
    Session {
        app,
        ss,
        sm,
        officer,
        key: JointKey::new(k, "K").unwrap(),
        _root: root,
    }
}

fn card(i: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&i.to_be_bytes());
    s[31] = 7;
    s
}

impl Session {
    /// The CO opens a per_item vote of two items (N = 1) for deputies 0..enabled.
    async fn open(&self, vote_id: &str, enabled: u64) -> VoteManifest {
        let vm = VoteParams {
            vote_id: vote_id.into(),
            vote_type: VoteType::PerItem,
            items: vec!["东城学校扩建".into(), "西区公交线路".into()],
            max_yes: Some(1),
            options: None,
            nonce: [vote_id.len() as u8; 16],
        }
        .build(&self.sm)
        .unwrap();
        let creds = (0..enabled)
            .map(|i| {
                SigningIdentity::derive_credential(&card(i), self.sm.hash(), vote_id).public_key()
            })
            .collect();
        let roll = RollCall::sign(&self.officer, &self.sm, &vm, creds, 0);
        self.app
            .post(
                "/api/e2e/votes",
                Auth::None,
                json!({ "vote_manifest": hex::encode(vm.bytes()), "roll_call": roll.to_json() }),
            )
            .await
            .ok();
        vm
    }

    fn ballot(&self, vm: &VoteManifest, voter: u64, choices: &[usize]) -> (Value, ballot::Ballot) {
        let cred = SigningIdentity::derive_credential(&card(voter), self.sm.hash(), &vm.vote_id);
        let vc = VoteContext {
            manifest_hash: self.sm.hash(),
            vote: vm,
            key: &self.key,
        };
        let (b, _) = ballot::prove_ballot(&vc, &cred, choices, &mut SystemSource).unwrap();
        (b.to_json(&vm.vote_id, vm.shape()), b)
    }

    async fn cast(&self, vm: &VoteManifest, voter: u64, choices: &[usize]) -> Value {
        let (j, _) = self.ballot(vm, voter, choices);
        self.app
            .post(
                &format!("/api/e2e/votes/{}/ballots", vm.vote_id),
                Auth::None,
                j,
            )
            .await
            .ok()
    }

    /// Closes the vote and has the CO sign the closing roll call with `cast_count`.
    async fn close(&self, vm: &VoteManifest, enabled: u64, cast_count: u64) -> String {
        let c = self
            .app
            .post(
                &format!("/api/operator/e2e/votes/{}/close", vm.vote_id),
                Auth::Operator,
                json!({}),
            )
            .await
            .ok();
        let creds = (0..enabled)
            .map(|i| {
                SigningIdentity::derive_credential(&card(i), self.sm.hash(), &vm.vote_id)
                    .public_key()
            })
            .collect();
        let roll = RollCall::sign(&self.officer, &self.sm, vm, creds, cast_count);
        self.app
            .post(
                &format!("/api/e2e/votes/{}/roll-call", vm.vote_id),
                Auth::None,
                roll.to_json(),
            )
            .await
            .ok();
        c["list_hash_grouped"].as_str().unwrap().to_string()
    }

    fn scrutineer(&self, url: &str, i: usize, args: &[&str]) -> Output {
        bin()
            .args(["scrutineer", args[0], "--url", url, "--dir"])
            .arg(&self.ss[i - 1].dir)
            .args(&args[1..])
            .env("PIAOJUE_PASSPHRASE", cer::passphrase(i as u64))
            .output()
            .unwrap()
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A hostile appliance: forwards everything to the real one, rewriting GET answers.
pub type Rewrite = Arc<dyn Fn(&str, Value) -> Value + Send + Sync>;
/// What the proxy asks the real appliance instead of a request's path.
pub type Ask = Arc<dyn Fn(&str) -> String + Send + Sync>;

pub async fn proxy(real: String, ask: Ask, rewrite: Rewrite) -> String {
    async fn forward(
        State((real, ask, rewrite)): State<(String, Ask, Rewrite)>,
        req: Request,
    ) -> axum::response::Response {
        let client = reqwest::Client::new();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let method = req.method().clone();
        let body = axum::body::to_bytes(req.into_body(), 1 << 24)
            .await
            .unwrap_or_default();
        let mut r = client.request(method.clone(), format!("{real}{}", ask(&path)));
        if method == axum::http::Method::POST {
            r = r.header("content-type", "application/json").body(body);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = resp.bytes().await.unwrap();
        if method == axum::http::Method::GET
            && ct.starts_with("application/json")
            && !path.ends_with("/manifest")
            && let Ok(v) = serde_json::from_slice::<Value>(&bytes)
        {
            let v = rewrite(&path, v);
            return (status, axum::Json(v)).into_response();
        }
        (status, [("content-type", ct)], bytes).into_response()
    }
    let app = axum::Router::new()
        .fallback(forward)
        .with_state((real, ask, rewrite));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrutineers_decrypt_only_after_g1_to_g6_and_any_k_of_them_give_the_tally() {
    let s = session().await;
    let base = s.app.base.clone();
    let vm = s.open("budget-2027", 4).await;
    // A scrutineer watches during the window.
    let mut watcher = bin()
        .args(["scrutineer", "watch", "--url", &base, "--dir"])
        .arg(&s.ss[0].dir)
        .args(["--timeout", "120", "budget-2027"])
        .env("PIAOJUE_PASSPHRASE", cer::passphrase(1))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Three deputies vote (赞成 = 2 on at most one item).
    let r = s.cast(&vm, 0, &[2, 0]).await;
    assert_eq!(r["tracker"].as_str().unwrap().len(), 64);
    s.cast(&vm, 1, &[2, 1]).await;
    s.cast(&vm, 2, &[1, 2]).await;
    // A ballot whose proof is broken is refused and kept; a second ballot of one credential too.
    // (Re-signed by its credential: only then is the refusal attributable and kept.)
    let (mut bad, _) = s.ballot(&vm, 3, &[2, 0]);
    bad["items"][0]["proof"][0][0] = json!(hex::encode(&[1u8; 32]));
    let resign = |v: &mut Value, voter: u64| {
        let cred = SigningIdentity::derive_credential(&card(voter), s.sm.hash(), &vm.vote_id);
        let b = ballot::Ballot::from_json(v, &vm).unwrap();
        let t = b.tracker(s.sm.hash(), &vm.vote_id);
        v["sig"] = json!(hex::encode(
            &cred.sign(&piaojue_core::e2e::transcript::ballot_sig_message(&t))
        ));
    };
    resign(&mut bad, 3);
    s.app
        .post(
            "/api/e2e/votes/budget-2027/ballots",
            Auth::None,
            bad.clone(),
        )
        .await
        .err(400, "ballot_rejected");
    // A bad signature is not kept (anyone could send it; a flood would fill the disk); a valid
    // ballot of a credential not in the roll call is kept for V16, up to a cap per vote.
    bad["sig"] = json!(hex::encode(&[0u8; 64]));
    let r = s
        .app
        .post("/api/e2e/votes/budget-2027/ballots", Auth::None, bad)
        .await;
    assert!(
        r.err(400, "ballot_rejected")["message"]
            .as_str()
            .unwrap()
            .contains("invalid")
    );
    let (stranger, _) = s.ballot(&vm, 9, &[2, 0]);
    let r = s
        .app
        .post("/api/e2e/votes/budget-2027/ballots", Auth::None, stranger)
        .await;
    assert!(
        r.err(400, "ballot_rejected")["message"]
            .as_str()
            .unwrap()
            .contains("not-enabled")
    );
    let (again, _) = s.ballot(&vm, 0, &[0, 0]);
    let r = s
        .app
        .post("/api/e2e/votes/budget-2027/ballots", Auth::None, again)
        .await;
    assert!(
        r.err(400, "ballot_rejected")["message"]
            .as_str()
            .unwrap()
            .contains("duplicate-credential")
    );
    let lh = s.close(&vm, 4, 3).await;
    let w = tokio::task::spawn_blocking(move || {
        let _ = watcher.wait();
        let mut out = String::new();
        use std::io::Read;
        watcher
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    })
    .await
    .unwrap();
    assert!(w.contains("vote closed; 3 verified here"), "{w}");

    // G1: a list hash that differs from the hall's is refused; nothing is logged.
    let wrong = format!("{}0", &lh[..lh.len() - 1]);
    let wrong = if wrong == lh {
        format!("{}1", &lh[..lh.len() - 1])
    } else {
        wrong
    };
    let o = s.scrutineer(&base, 1, &["decrypt", "--list-hash", &wrong, "budget-2027"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err(&o).contains("G1 清单哈希与大厅屏幕一致"),
        "{}",
        text(&o)
    );
    // G3: more cast than the hall's count is refused.
    let o = s.scrutineer(
        &base,
        1,
        &[
            "decrypt",
            "--list-hash",
            &lh,
            "--hall-present",
            "2",
            "budget-2027",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("G3 不超过出席人数"), "{}", text(&o));

    // G2: a hostile appliance lists a ballot whose proof does not hold.
    let (mut forged, _) = s.ballot(&vm, 3, &[0, 2]);
    forged["items"][1]["proof"][0][1] = json!(hex::encode(&[3u8; 32]));
    let fb = ballot::Ballot::from_json(&forged, &vm).unwrap();
    let ft = hex::encode(&fb.tracker(s.sm.hash(), "budget-2027"));
    let (ft2, ft3, forged2) = (ft.clone(), ft.clone(), forged.clone());
    let evil = proxy(
        base.clone(),
        Arc::new(move |path: &str| {
            path.replace(&format!(",{ft3}"), "")
                .replace(&format!("{ft3},"), "")
                .replace(&ft3, "")
        }),
        Arc::new(move |path, mut v| {
            if path.ends_with("/ballots") {
                v["trackers"].as_array_mut().unwrap().push(json!(ft2));
            } else if path.contains(&ft2) {
                // In the position of its tracker in the request.
                let q = path.split("trackers=").nth(1).unwrap_or("");
                let pos = q.split(',').position(|t| t == ft2).unwrap_or(0);
                if let Some(arr) = v["ballots"].as_array_mut() {
                    arr.insert(pos.min(arr.len()), forged2.clone());
                }
            }
            v
        }),
    )
    .await;
    // The real appliance never saw the forgery: the proxy asks it for the rest and adds it.
    let o = s.scrutineer(&evil, 2, &["decrypt", "--list-hash", &lh, "budget-2027"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err(&o).contains(&format!("G2: ballot {ft} does not verify on this device")),
        "{}",
        text(&o)
    );

    // G4: a hostile appliance asks to decrypt a range-bit ciphertext instead of the totals.
    let bit = {
        let real: Value = s
            .app
            .get("/api/public/e2e/votes/budget-2027/ballots", Auth::None)
            .await
            .ok();
        let t = real["trackers"][0].as_str().unwrap().to_string();
        let b = s
            .app
            .get(
                &format!("/api/public/e2e/votes/budget-2027/ballots?trackers={t}"),
                Auth::None,
            )
            .await
            .ok();
        b["ballots"][0]["range"]["bits"][0].clone()
    };
    let evil4 = proxy(
        base.clone(),
        Arc::new(|path: &str| path.to_owned()),
        Arc::new(move |path, mut v| {
            if path.ends_with("/votes/budget-2027") {
                v["totals"][0] = json!({ "A": bit["A"], "B": bit["B"] });
            }
            v
        }),
    )
    .await;
    let o = s.scrutineer(&evil4, 2, &["decrypt", "--list-hash", &lh, "budget-2027"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("refused）: G4"), "{}", text(&o));

    // The honest path: guardian 1, then guardian 3 (2 is absent): any k = 2 suffice.
    let o = s.scrutineer(
        &base,
        1,
        &[
            "decrypt",
            "--list-hash",
            &lh,
            "--hall-present",
            "4",
            "--quorum",
            "3",
            "budget-2027",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    for g in ["G1", "G2", "G3", "G4", "G5", "G6"] {
        assert!(text(&o).contains(g), "{g}: {}", text(&o));
    }
    // G5: a second decryption of the vote is refused, even over the same list.
    let o = s.scrutineer(&base, 1, &["decrypt", "--list-hash", &lh, "budget-2027"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("refused）: G5"), "{}", text(&o));
    // The partial it signed can be sent again (review I5: a lost answer must not cost the
    // vote its scrutineer), for the same list only and without decrypting again.
    let o = s.scrutineer(
        &base,
        1,
        &["decrypt", "--resend", "--list-hash", &lh, "budget-2027"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("no new decryption"), "{}", text(&o));
    let o = s.scrutineer(
        &base,
        1,
        &["decrypt", "--resend", "--list-hash", &wrong, "budget-2027"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("refused）: G5"), "{}", text(&o));
    let o = s.scrutineer(&base, 3, &["decrypt", "--list-hash", &lh, "budget-2027"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let view = s
        .app
        .get("/api/public/e2e/votes/budget-2027", Auth::None)
        .await
        .ok();
    // Counts per item in option order [弃权, 不赞成, 赞成]: item 1 = [0, 1, 2], item 2 = [1, 1, 1].
    assert_eq!(
        view["result"]["counts"],
        json!([[0, 1, 2], [1, 1, 1]]),
        "{view}"
    );
    assert_eq!(view["result"]["quorum"], json!([1, 3]));
    // The signed v2 bundle: every one of V1–V16 holds under `piaojue verify`, with the hall's
    // count; a bundle verifier that is not this appliance's code can read it.
    let env = s
        .app
        .get("/api/public/e2e/votes/budget-2027/bundle", Auth::None)
        .await
        .ok();
    assert_eq!(env["format"], "piaojue-bundle/2");
    let file = s._root.path().join("budget-2027.bundle.json");
    std::fs::write(&file, serde_json::to_vec(&env).unwrap()).unwrap();
    let appliance = s.sm.appliance_key;
    let o = bin()
        .args([
            "verify",
            file.to_str().unwrap(),
            "--hall-present",
            "4",
            "--key",
            &hex::encode(&appliance),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("verified: all 16 checks hold"),
        "{}",
        text(&o)
    );
    // Fewer present than cast: V15 fails by name.
    let o = bin()
        .args(["verify", file.to_str().unwrap(), "--hall-present", "2"])
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("FAIL V15"), "{}", text(&o));
    let reasons: Vec<&str> = view["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["invalid", "not-enabled", "duplicate-credential"]);

    // G6: a partial decryption is valid for its own list only: replayed on another vote, refused.
    let vm2 = s.open("budget-2027-b", 4).await;
    s.cast(&vm2, 0, &[2, 0]).await;
    s.close(&vm2, 4, 1).await;
    let p = view["partials"][0].clone();
    let r = s
        .app
        .post("/api/e2e/votes/budget-2027-b/partials", Auth::None, p)
        .await;
    r.err(400, "bad_e2e_vote");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cast_count_above_the_roll_call_is_refused_by_g3() {
    let s = session().await;
    let vm = s.open("motion-7", 2).await;
    s.cast(&vm, 0, &[2, 0]).await;
    s.cast(&vm, 1, &[0, 2]).await;
    // The CO signs a count above the enabled list.
    let lh = s.close(&vm, 2, 3).await;
    // Review I6: a line slipped into the scrutineer's local copy (here a real ballot with a
    // made-up MAC) is refused, not taken as verified.
    let listed = s
        .app
        .get("/api/public/e2e/votes/motion-7/ballots", Auth::None)
        .await
        .ok();
    let t = listed["trackers"][0].as_str().unwrap().to_string();
    let one = s
        .app
        .get(
            &format!("/api/public/e2e/votes/motion-7/ballots?trackers={t}"),
            Auth::None,
        )
        .await
        .ok();
    let votes = s.ss[1].dir.join("votes");
    std::fs::create_dir_all(&votes).unwrap();
    let local = votes.join(format!("motion-7-{}.jsonl", &hex::encode(vm.hash())[..16]));
    let line = json!({ "tracker": t, "ballot": one["ballots"][0], "mac": "00".repeat(32) });
    std::fs::write(&local, format!("{line}\n")).unwrap();
    let o = s.scrutineer(&s.app.base, 2, &["decrypt", "--list-hash", &lh, "motion-7"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("the file was altered"), "{}", text(&o));
    std::fs::remove_file(&local).unwrap();
    let o = s.scrutineer(&s.app.base, 2, &["decrypt", "--list-hash", &lh, "motion-7"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        err(&o).contains("refused）: G3 票数与证件官计数一致"),
        "{}",
        text(&o)
    );
    // Nothing was logged: the same scrutineer may still decrypt once the count is right
    // (here it is not; the log stays empty).
    assert!(!s.ss[1].dir.join("decrypted.json").exists());
}

/// Benaloh cast-or-audit (§12): a ballot the booth revealed is checked by `piaojue scrutineer
/// audit` on an independent device; a booth that encrypted something else, or a tracker other
/// than the one shown, is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audited_ballot_is_checked_by_an_independent_device() {
    let s = session().await;
    let vm = s.open("audit-1", 2).await;
    let cred = SigningIdentity::derive_credential(&card(0), s.sm.hash(), "audit-1");
    let vc = VoteContext {
        manifest_hash: s.sm.hash(),
        vote: &vm,
        key: &s.key,
    };
    let (b, secrets) = ballot::prove_ballot(&vc, &cred, &[2, 1], &mut SystemSource).unwrap();
    let shown = ballot::short_code(&b.tracker(s.sm.hash(), "audit-1"));
    let doc = |choices: Vec<usize>, shown: &str| {
        json!({
            "format": "piaojue-audit/1",
            "vote_id": "audit-1",
            "ballot": b.to_json("audit-1", vm.shape()),
            "choices": choices,
            "r": secrets.r.iter().map(|x| hex::encode(x.as_bytes())).collect::<Vec<_>>(),
            "s": secrets.s.iter().map(|x| hex::encode(x.as_bytes())).collect::<Vec<_>>(),
            "shown": shown,
        })
    };
    let mh = hex::encode(s.sm.hash());
    let run = |d: Value| {
        let f = s._root.path().join("audit.json");
        std::fs::write(&f, serde_json::to_vec(&d).unwrap()).unwrap();
        bin()
            .args(["scrutineer", "audit", "--url", &s.app.base, "--mh", &mh])
            .arg(&f)
            .output()
            .unwrap()
    };
    let o = run(doc(secrets.choices.to_vec(), &shown));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("核验通过") && text(&o).contains("第1项 东城学校扩建：赞成"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("第2项 西区公交线路：不赞成"),
        "{}",
        text(&o)
    );
    // A booth claiming other choices than it encrypted.
    let o = run(doc(vec![1, 2], &shown));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("does not re-encrypt"), "{}", text(&o));
    // A tracker other than the one shown.
    let o = run(doc(secrets.choices.to_vec(), "AAAA-AAAA-AAAA-AAAA"));
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(err(&o).contains("as the booth showed"), "{}", text(&o));
}
