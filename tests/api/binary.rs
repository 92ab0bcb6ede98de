//! The real `piaojue` binary: `serve --demo`, `admin`, `kill -9` and restart, a tampered
//! audit log, fsync before the answer (under strace), and logs free of secrets.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::ballot_id;

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts `piaojue serve --demo` (optionally under strace) and waits for its URL.
    fn start(data: &Path, deputies: usize, strace: Option<&Path>) -> Server {
        let log = data.with_extension(format!("log{}", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let args = [
            "serve",
            "--demo",
            "--demo-deputies",
            &deputies.to_string(),
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        let mut command = match strace {
            Some(out) => {
                let mut c = Command::new("strace");
                c.args(["-f", "-ttt", "-s", "256", "-o"])
                    .arg(out)
                    .args([
                        "-e",
                        "trace=read,recvfrom,write,writev,sendto,fsync,fdatasync",
                    ])
                    .arg(BIN)
                    .args(args);
                c
            }
            None => {
                let mut c = Command::new(BIN);
                c.args(args);
                c
            }
        };
        // Its own process group, so that killing it takes strace's tracee along.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .env("PIAOJUE_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start piaojue (and strace, which .ci/run installs)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("the server prints its URL").unwrap();
            if let Some(url) = line.trim().strip_prefix("listening:") {
                break url.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Server { child, base, log }
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin(server: &Server, data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(["admin", "--url", &server.base, "--passphrase-file"])
        .arg(data.join("demo/operator-passphrase"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (deputy id, code) from the demo's codes.csv, read as CSV (a name may hold a comma).
fn codes(data: &Path) -> Vec<(String, String)> {
    csv::Reader::from_path(data.join("demo/codes.csv"))
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[2].to_string())
        })
        .collect()
}

async fn post(client: &Client, url: String, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut r = client.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn enrol(client: &Client, base: &str, code: &str) -> String {
    let (status, body) = post(
        client,
        format!("{base}/api/tablet/enrol"),
        None,
        json!({ "code": code }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn kill_9_mid_vote_loses_nothing_and_admin_drives_the_vote() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = crate::helpers::http();
    let mut server = Server::start(&data, 30, None);
    let codes = codes(&data);
    assert_eq!(codes.len(), 30);
    let passphrase = std::fs::read_to_string(data.join("demo/operator-passphrase")).unwrap();
    let mut tokens = Vec::new();
    for (_, code) in &codes {
        tokens.push(enrol(&client, &server.base, code).await);
    }
    let (rc, out, err) = admin(&server, &data, &["status"]);
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("应到 30 实到 30"), "{out}");
    let (rc, out, _) = admin(&server, &data, &["open", "v3"]);
    assert_eq!(rc, 0);
    assert!(out.contains("v3\t表决中"), "{out}");
    let (rc, _, err) = admin(&server, &data, &["open", "v3"]);
    assert_eq!(rc, 1, "a refusal exits 1");
    assert!(err.contains("vote_not_draft"), "{err}");

    let cast_url = |base: &str| format!("{base}/api/tablet/votes/v3/cast");
    let mut acknowledged = Vec::new();
    for t in tokens.iter().take(10) {
        let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [0] });
        let (status, r) = post(&client, cast_url(&server.base), Some(t), body.clone()).await;
        assert_eq!(status, 200, "{r}");
        acknowledged.push((body, r));
    }
    server.kill9();

    let server = Server::start(&data, 30, None);
    let votes: Value = client
        .get(format!("{}/api/public/votes", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        votes["votes"][2]["state"], "open",
        "an open vote stays open"
    );
    assert_eq!(
        votes["votes"][2]["turnout"]["cast"], 10,
        "every acknowledged ballot is there"
    );
    // A retry after the crash gets the same receipt; a second ballot is refused.
    let (body, receipt) = &acknowledged[0];
    let (status, again) = post(
        &client,
        cast_url(&server.base),
        Some(&tokens[0]),
        body.clone(),
    )
    .await;
    assert_eq!((status, &again), (200, receipt));
    let mut other = body.clone();
    other["ballot_id"] = json!(ballot_id());
    let (status, r) = post(&client, cast_url(&server.base), Some(&tokens[0]), other).await;
    assert_eq!((status, r["error"].as_str()), (409, Some("already_cast")));
    // Tokens survive the restart: the rest vote 反对.
    for t in tokens.iter().skip(10).take(15) {
        let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [1] });
        let (status, _) = post(&client, cast_url(&server.base), Some(t), body).await;
        assert_eq!(status, 200);
    }
    // Five have not voted: the secret motion cannot be closed before its period ends.
    let (rc, _, err) = admin(&server, &data, &["close", "v3"]);
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("period_running"), "{err}");
    // The last five abstain; with every enabled deputy voted, the secretariat may close.
    for t in tokens.iter().skip(25) {
        let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [2] });
        let (status, _) = post(&client, cast_url(&server.base), Some(t), body).await;
        assert_eq!(status, 200);
    }
    let (rc, _, err) = admin(&server, &data, &["close", "v3"]);
    assert_eq!(rc, 0, "{err}");
    let (rc, out, _) = admin(&server, &data, &["announce", "v3"]);
    assert_eq!(rc, 0);
    assert!(
        out.contains("应到代表30名，实到30名。赞成10票，反对15票，弃权5票"),
        "{out}"
    );
    assert!(out.contains("未通过"), "{out}");
    let (rc, out, _) = admin(&server, &data, &["votes"]);
    assert_eq!(rc, 0);
    let votes: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(votes["votes"][2]["state"], "announced");
    let (rc, _, _) = admin(
        &server,
        &data,
        &["cancel", "v1", "--reason", "表决器故障，改用举手表决"],
    );
    assert_eq!(rc, 0);
    let result: Value = client
        .get(format!("{}/api/public/votes/v3/result", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for (_, r) in &acknowledged {
        assert!(
            result["receipts"]
                .as_array()
                .unwrap()
                .contains(&r["receipt_code"])
        );
    }
    assert_eq!(result["receipts"].as_array().unwrap().len(), 30);

    // Logs never hold a token, a code or the passphrase.
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("serving"), "the log is the server's");
    for secret in tokens
        .iter()
        .chain(codes.iter().map(|(_, c)| c))
        .chain([&passphrase])
    {
        assert!(!log.contains(secret.trim()), "a secret reached the log");
        assert!(!log.contains(&secret.trim().replace('-', "")));
    }
}

#[tokio::test]
async fn an_edited_audit_entry_stops_the_server_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, 5, None);
    let client = crate::helpers::http();
    enrol(&client, &server.base, &codes(&data)[0].1).await;
    server.kill9();
    {
        // An attacker with the disk rewrites history: entry 2 now says something else.
        let db = sled::open(data.join("store")).unwrap();
        let audit = db.open_tree("audit").unwrap();
        let entry = audit.get(2u64.to_be_bytes()).unwrap().unwrap();
        let edited = String::from_utf8(entry.to_vec())
            .unwrap()
            .replace("import_roster", "import_rostex");
        audit.insert(2u64.to_be_bytes(), edited.as_bytes()).unwrap();
        db.flush().unwrap();
    }
    let out = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the audit chain does not verify at entry 3"),
        "{err}"
    );
    assert!(err.contains("refusing to serve"), "{err}");
}

/// Between reading a cast and answering it, the store's data reaches the disk: strace shows
/// an fsync or fdatasync in between, in that order.
#[tokio::test]
async fn a_ballot_is_fsynced_before_it_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("strace.log");
    let client = crate::helpers::http();
    let token = {
        // Create the demo first (without strace, to keep the trace small).
        let server = Server::start(&data, 3, None);
        let codes = codes(&data);
        let mut tokens = Vec::new();
        for (_, c) in &codes {
            tokens.push(enrol(&client, &server.base, c).await);
        }
        let (rc, _, _) = admin(&server, &data, &["open", "v3"]);
        assert_eq!(rc, 0);
        tokens[0].clone()
    };
    let server = Server::start(&data, 3, Some(&trace));
    let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [2] });
    let (status, r) = post(
        &client,
        format!("{}/api/tablet/votes/v3/cast", server.base),
        Some(&token),
        body,
    )
    .await;
    assert_eq!(status, 200, "{r}");
    drop(server);
    let log = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let request = lines
        .iter()
        // hyper's first read is 24 bytes (it checks for the HTTP/2 preface).
        .position(|l| l.contains("\"POST /api/tablet/votes/"))
        .expect("the cast request in the trace");
    let answer = lines
        .iter()
        .skip(request)
        .position(|l| (l.contains("write") || l.contains("send")) && l.contains("receipt_code"))
        .map(|i| i + request)
        .expect("the receipt in the trace");
    let synced = lines[request..answer].iter().any(|l| {
        (l.contains("fsync(") || l.contains("fdatasync(")) && l.trim_end().ends_with("= 0")
    });
    assert!(
        synced,
        "no fsync between the request and the receipt:\n{}",
        lines[request..=answer].join("\n")
    );
}

/// Pages issue #9: on SIGTERM the server closes its event streams and exits within 2 s, even
/// with a tablet's event stream open.
#[tokio::test]
async fn sigterm_stops_the_server_within_two_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, 5, None);
    let client = crate::helpers::http();
    let mut events = client
        .get(format!("{}/api/events?scope=tablet", server.base))
        .send()
        .await
        .unwrap();
    assert!(events.status().is_success());
    let _ = tokio::time::timeout(Duration::from_millis(500), events.chunk()).await;
    let start = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            assert!(exit.success() || exit.code().is_some(), "{exit:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "still running {:?} after SIGTERM",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Regression (trust holes #4): a vote whose period ended while the appliance was down is
/// closed when it starts again, with every acknowledged ballot.
#[tokio::test]
async fn a_vote_whose_period_ended_while_down_is_closed_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let client = crate::helpers::http();
    let mut server = Server::start(&data, 3, None);
    let passphrase = std::fs::read_to_string(data.join("demo/operator-passphrase")).unwrap();
    let login = client
        .post(format!("{}/api/operator/login", server.base))
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
    let op = |path: String, body: Vec<u8>, kind: &'static str| {
        client
            .post(format!("{}{path}", server.base))
            .header("cookie", cookie.clone())
            .header("content-type", kind)
            .body(body)
            .send()
    };
    let rules = crate::helpers::short_period(
        &std::fs::read(crate::helpers::repo("firmware-config/rules/motion.json")).unwrap(),
    );
    let adopted: Value = op("/api/operator/rules".into(), rules, "application/json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vote: Value = op(
        "/api/operator/votes".into(),
        serde_json::to_vec(&json!({ "title": "关于某事项的决定", "rules_sha256": adopted["sha256"], "items": ["关于某事项的决定"], "mode": "plain" })).unwrap(),
        "application/json",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let id = vote["vote"]["id"].as_str().unwrap().to_string();
    let mut tokens = Vec::new();
    for (_, code) in codes(&data) {
        tokens.push(enrol(&client, &server.base, &code).await);
    }
    let opened = op(
        format!("/api/operator/votes/{id}/open"),
        b"{}".to_vec(),
        "application/json",
    )
    .await
    .unwrap();
    assert!(opened.status().is_success());
    for t in tokens.iter().take(2) {
        let body = json!({ "vote_id": id, "ballot_id": ballot_id(), "choices": [0] });
        let (status, r) = post(
            &client,
            format!("{}/api/tablet/votes/{id}/cast", server.base),
            Some(t),
            body,
        )
        .await;
        assert_eq!(status, 200, "{r}");
    }
    server.kill9();
    // The 15 s period ends while the appliance is down.
    tokio::time::sleep(Duration::from_secs(16)).await;
    let server = Server::start(&data, 3, None);
    let mut state = Value::Null;
    for _ in 0..40 {
        let votes: Value = client
            .get(format!("{}/api/public/votes", server.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = votes["votes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == id.as_str())
            .unwrap()
            .clone();
        state = v.clone();
        if v["state"] == "closed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state["state"], "closed", "{state}");
    assert_eq!(
        state["roll"]["cast"], 2,
        "every acknowledged ballot: {state}"
    );
}
