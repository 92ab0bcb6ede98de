//! The credential officer's program over real processes: cards, a vote's roll call of the
//! deputies present, cast notices received over HTTPS, the check at close, a replaced card.
//! Tablets are played here with the library, scanning the seeds off the printed cards.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};

use piaojue_core::e2e::ballot::{self, VoteContext};
use piaojue_core::e2e::ceremony::SystemSource;
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::elgamal::JointKey;
use piaojue_core::e2e::group::Element;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest};
use piaojue_core::e2e::transcript;
use serde_json::{Value, json};

use crate::ceremony as cer;
use crate::helpers::{Auth, TestApp};

const PASS: &str = "officer laptop passphrase";

fn officer(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_piaojue"))
        .arg("officer")
        .arg(args[0])
        .arg("--dir")
        .arg(dir)
        .args(&args[1..])
        .env("PIAOJUE_PASSPHRASE", PASS)
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The seeds as a tablet reads them off the printed cards: deputy id → seed.
fn scan_cards(html: &str) -> Vec<(String, [u8; 32])> {
    html.split("<section class=\"card\">")
        .skip(1)
        .map(|card| {
            let who = card.split("<p class=\"who\">").nth(1).unwrap();
            let id = who
                .split(" · ")
                .nth(2)
                .unwrap()
                .split("</small>")
                .next()
                .unwrap()
                .to_string();
            let printed = card
                .split("<p class=\"seed\">")
                .nth(1)
                .unwrap()
                .split("</p>")
                .next()
                .unwrap();
            (id, piaojue_core::crypto::parse_seed(printed).unwrap())
        })
        .collect()
}

struct Tablet {
    seed: [u8; 32],
}

impl Tablet {
    fn cast(
        &self,
        sm: &SessionManifest,
        vm: &VoteManifest,
        key: &JointKey,
        choice: usize,
    ) -> Value {
        let cred = SigningIdentity::derive_credential(&self.seed, sm.hash(), &vm.vote_id);
        let vc = VoteContext {
            manifest_hash: sm.hash(),
            vote: vm,
            key,
        };
        let (b, _) = ballot::prove_ballot(&vc, &cred, &[choice], &mut SystemSource).unwrap();
        b.to_json(&vm.vote_id, vm.shape())
    }

    fn notice(&self, sm: &SessionManifest, vote: &str, receipt: &Value) -> Value {
        let cred = SigningIdentity::derive_credential(&self.seed, sm.hash(), vote);
        let tracker: [u8; 32] =
            hex::decode_array(receipt["tracker"].as_str().unwrap(), "t").unwrap();
        let rsig: [u8; 64] = hex::decode_array(receipt["sig"].as_str().unwrap(), "s").unwrap();
        let time = receipt["time"].as_u64().unwrap();
        let sig = cred.sign(&transcript::cast_notice_message(
            sm.hash(),
            vote,
            &tracker,
            time,
            &rsig,
        ));
        json!({
            "vote_id": vote, "tracker": hex::encode(&tracker), "time": time,
            "receipt_sig": hex::encode(&rsig), "cred_pk": hex::encode(&cred.public_key()),
            "sig": hex::encode(&sig),
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_issues_cards_calls_the_roll_checks_every_notice_and_signs_the_count() {
    let root = tempfile::tempdir().unwrap();
    let odir = root.path().join("officer");
    let o = officer(&odir, &["init"]);
    assert!(o.status.success(), "{}", out(&o));
    let okey: [u8; 32] = hex::decode_array(
        out(&o)
            .lines()
            .find_map(|l| l.strip_prefix("officer key: "))
            .unwrap()
            .trim(),
        "key",
    )
    .unwrap();
    // Its state is sealed: without the passphrase nothing opens.
    let sealed = std::fs::read_to_string(odir.join("officer.sealed")).unwrap();
    assert!(sealed.contains("chacha20-poly1305") && !sealed.contains("key_seed"));

    let mut app = TestApp::spawn().await;
    app.prepare(4).await;
    let tokens = app.enrol_all().await;
    // One deputy leaves: three present.
    app.post("/api/tablet/checkout", Auth::Token(&tokens[3].1), json!({}))
        .await
        .ok();
    let ss: Vec<cer::Scrutineer> = (1..=3).map(|i| cer::keygen(root.path(), i)).collect();
    let sm = cer::publish_with(&mut app, &ss, 2, okey).await;
    let mh = hex::encode(sm.hash());
    let kids: Vec<_> = ss
        .iter()
        .zip(1..)
        .map(|(s, i)| cer::ceremony(&app, s, i, &mh))
        .collect();
    for k in kids {
        assert_eq!(cer::finish(k).await.status.code(), Some(0));
    }
    let b = cer::board(&app).await;
    let key = JointKey::new(
        Element::from_hex(b["status"]["joint_key"].as_str().unwrap(), "K").unwrap(),
        "K",
    )
    .unwrap();

    // Cards for the roster.
    let roster = root.path().join("roster.csv");
    let mut csv = String::from("id,name,delegation,seat\n");
    for d in piaojue::appliance::demo_roster(4) {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            d.id, d.name, d.delegation, d.seat
        ));
    }
    std::fs::write(&roster, csv).unwrap();
    let sheet = root.path().join("cards.html");
    let o = officer(
        &odir,
        &[
            "cards",
            "--out",
            sheet.to_str().unwrap(),
            roster.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let html = std::fs::read_to_string(&sheet).unwrap();
    assert!(html.contains("<svg"), "a QR code per card");
    let cards = scan_cards(&html);
    assert_eq!(cards.len(), 4);
    // Again: nobody new, no new card.
    let again = root.path().join("again.html");
    let o = officer(
        &odir,
        &[
            "cards",
            "--out",
            again.to_str().unwrap(),
            roster.to_str().unwrap(),
        ],
    );
    assert!(out(&o).contains("0 new card"), "{}", out(&o));

    // The roll call: three present; the officer confirms the hall's count.
    let open = |vote: &str, extra: &[&str]| {
        let mut a = vec![
            "open",
            "--url",
            &app.base,
            "--mh",
            &mh,
            "--vote-id",
            vote,
            "--type",
            "motion",
            "--item",
            "关于设立代表联络站的议案",
        ];
        a.extend_from_slice(extra);
        officer(
            &odir,
            &a.iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
    };
    let o = open("m-1", &[]);
    assert_eq!(o.status.code(), Some(2), "{}", out(&o));
    assert!(out(&o).contains("--confirm-present 3"), "{}", out(&o));
    let o = open("m-1", &["--confirm-present", "4"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let o = open("m-1", &["--confirm-present", "3"]);
    assert!(o.status.success(), "{}", out(&o));
    let view = app.get("/api/public/e2e/votes/m-1", Auth::None).await.ok();
    let vm = VoteManifest::parse(
        &hex::decode(view["vote_manifest_hex"].as_str().unwrap(), "vm").unwrap(),
        &sm,
    )
    .unwrap();
    assert_eq!(
        view["roll_call_open"]["credentials"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The listener for cast notices.
    let mut serve = Command::new(env!("CARGO_BIN_EXE_piaojue"))
        .args(["officer", "serve", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&odir)
        .env("PIAOJUE_PASSPHRASE", PASS)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let notice_url = format!("{}/notice", line.trim().rsplit(' ').next().unwrap());
    piaojue::tls::install_provider();
    let ca =
        reqwest::Certificate::from_pem(&std::fs::read(odir.join("tls/ca.pem")).unwrap()).unwrap();
    let officer_http = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();

    // The three present deputies vote and notify the officer.
    let present: Vec<Tablet> = cards
        .iter()
        .filter(|(id, _)| *id != tokens[3].0)
        .map(|(_, seed)| Tablet { seed: *seed })
        .collect();
    let mut first = None;
    for (t, choice) in present.iter().zip([2, 2, 1]) {
        let receipt = app
            .post(
                "/api/e2e/votes/m-1/ballots",
                Auth::None,
                t.cast(&sm, &vm, &key, choice),
            )
            .await
            .ok();
        let n = t.notice(&sm, "m-1", &receipt);
        let r = officer_http
            .post(&notice_url)
            .json(&n)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        first.get_or_insert(n);
    }
    // A tablet sending its notice again: counted once.
    let r = officer_http
        .post(&notice_url)
        .json(first.as_ref().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["accepted"], "duplicate");
    // A notice that does not verify is refused with why.
    let mut forged = present[0].notice(
        &sm,
        "m-1",
        &json!({"tracker": hex::encode(&[1u8; 32]), "sig": hex::encode(&[0u8; 64]), "time": 1}),
    );
    forged["sig"] = json!(hex::encode(&[0u8; 64]));
    let r = officer_http
        .post(&notice_url)
        .json(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    app.post(
        "/api/operator/e2e/votes/m-1/close",
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let o = officer(&odir, &["close", "--url", &app.base, "m-1"]);
    assert!(o.status.success(), "{}", out(&o));
    let view = app.get("/api/public/e2e/votes/m-1", Auth::None).await.ok();
    assert_eq!(view["roll_call"]["cast_count"], 3);

    // A dropped ballot: the appliance signs a receipt but leaves the ballot off its list
    // (played here with the appliance's own key). The officer says so, loudly.
    let o = open("m-2", &["--confirm-present", "3"]);
    assert!(o.status.success(), "{}", out(&o));
    let view2 = app.get("/api/public/e2e/votes/m-2", Auth::None).await.ok();
    let vm2 = VoteManifest::parse(
        &hex::decode(view2["vote_manifest_hex"].as_str().unwrap(), "vm").unwrap(),
        &sm,
    )
    .unwrap();
    let receipt = app
        .post(
            "/api/e2e/votes/m-2/ballots",
            Auth::None,
            present[0].cast(&sm, &vm2, &key, 2),
        )
        .await
        .ok();
    officer_http
        .post(&notice_url)
        .json(&present[0].notice(&sm, "m-2", &receipt))
        .send()
        .await
        .unwrap();
    let appliance_key = piaojue::appliance::load_key(&app.data_dir()).unwrap();
    let evil = SigningIdentity::from_seed(&appliance_key.seed());
    let ghost: Vec<u8> = (0..32).collect();
    let ghost: [u8; 32] = ghost.try_into().unwrap();
    let gsig = evil.sign(&transcript::receipt_message(sm.hash(), "m-2", &ghost, 7));
    let dropped = json!({ "tracker": hex::encode(&ghost), "sig": hex::encode(&gsig), "time": 7 });
    let r = officer_http
        .post(&notice_url)
        .json(&present[1].notice(&sm, "m-2", &dropped))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    app.post(
        "/api/operator/e2e/votes/m-2/close",
        Auth::Operator,
        json!({}),
    )
    .await
    .ok();
    let o = officer(&odir, &["close", "--url", &app.base, "m-2"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o).contains("OMITTED") && out(&o).contains(&hex::encode(&ghost)),
        "{}",
        out(&o)
    );
    // The count it signed (2) is not the list's (1): every scrutineer's G3 refuses.
    let view2 = app.get("/api/public/e2e/votes/m-2", Auth::None).await.ok();
    assert_eq!(view2["roll_call"]["cast_count"], 2);
    assert_eq!(view2["close"]["n_cast"], 1);

    // A lost card: a new seed; the old credential leaves the next roll call.
    let (lost_id, lost_seed) = cards[0].clone();
    let newcard = root.path().join("new.html");
    let o = officer(
        &odir,
        &[
            "replace-card",
            "--out",
            newcard.to_str().unwrap(),
            "--reason",
            "遗失",
            &lost_id,
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let new_seed = scan_cards(&std::fs::read_to_string(&newcard).unwrap())[0].1;
    assert_ne!(new_seed, lost_seed);
    let o = open("m-3", &["--confirm-present", "3"]);
    assert!(o.status.success(), "{}", out(&o));
    let view3 = app.get("/api/public/e2e/votes/m-3", Auth::None).await.ok();
    let creds: Vec<&str> = view3["roll_call_open"]["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let cred = |seed: &[u8; 32]| {
        hex::encode(&SigningIdentity::derive_credential(seed, sm.hash(), "m-3").public_key())
    };
    assert!(creds.contains(&cred(&new_seed).as_str()));
    assert!(!creds.contains(&cred(&lost_seed).as_str()));
    let _ = serve.kill();
    let _ = serve.wait();
}
