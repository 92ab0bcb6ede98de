//! The crash test: the real server is killed with SIGKILL again and again while simulated
//! tablets cast; after the last restart the vote is closed and announced, and every receipt
//! a tablet received is in the published, verified bundle, with no deputy counted twice.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Running, serve};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

fn start(data: &Path, port: u16) -> Running {
    let data = data.to_str().unwrap();
    let listen = format!("127.0.0.1:{port}");
    serve(&[
        "--demo",
        "--demo-deputies",
        "200",
        "--data",
        data,
        "--listen",
        &listen,
    ])
    .0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn votes(base: &str) -> Option<Value> {
    crate::helpers::http()
        .get(format!("{base}/api/public/votes"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()
}

#[tokio::test]
async fn twenty_kill_9s_during_casting_lose_no_acknowledged_ballot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let receipts = dir.path().join("receipts.txt");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&data, port);
    let mut loadtest = Command::new(BIN)
        .args(["loadtest", "--url", &base, "--data"])
        .arg(&data)
        .args([
            "--tablets",
            "200",
            "--arrival",
            "spread:12",
            "--keep-open",
            "--receipts",
        ])
        .arg(&receipts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the vote is open, then kill at random moments while ballots arrive.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = votes(&base).await
            && v["votes"][0]["state"] == "open"
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the load test never opened the vote"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(240);
    while loadtest.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the load test did not finish");
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(100 + seed % 400)).await;
        if loadtest.try_wait().unwrap().is_some() {
            break;
        }
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        kills += 1;
        server = start(&data, port);
    }
    let out = loadtest.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(kills >= 20, "only {kills} kills: the run was too short");
    let line = stdout.lines().last().unwrap();
    assert!(
        line.starts_with("loadtest: tablets=200 cast=200 acknowledged=200 failed=0 "),
        "{line}"
    );

    // Close and announce after the last restart.
    let admin = |args: &[&str]| {
        let o = Command::new(BIN)
            .args(["admin", "--url", &base, "--passphrase-file"])
            .arg(data.join("demo/operator-passphrase"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    admin(&["close", "v1"]);
    admin(&["announce", "v1"]);
    let bundle = crate::helpers::http()
        .get(format!("{base}/api/public/votes/v1/bundle"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &bundle).unwrap();
    let session: Value = crate::helpers::http()
        .get(format!("{base}/api/public/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verify = Command::new(BIN)
        .arg("verify")
        .arg(&file)
        .args(["--key", session["public_key"].as_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );

    let body: Value = {
        use base64::Engine as _;
        let env: Value = serde_json::from_str(&bundle).unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(env["body"].as_str().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let listed: Vec<&str> = body["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let received = std::fs::read_to_string(&receipts).unwrap();
    let received: Vec<&str> = received.lines().collect();
    assert_eq!(
        received.len(),
        200,
        "every tablet recorded its receipt once"
    );
    for code in &received {
        assert!(
            listed.contains(code),
            "receipt {code} acknowledged but not in the bundle"
        );
    }
    // No deputy counted twice: one ballot and one receipt per deputy, no more.
    assert_eq!(body["roll"]["cast"], 200);
    assert_eq!(body["ballots"].as_array().unwrap().len(), 200);
    assert_eq!(listed.len(), 200);
    drop(server);
    eprintln!("crash test: {kills} kills");
}

/// The body of an envelope (v1 or v2).
fn body_of(envelope: &str) -> Value {
    use base64::Engine as _;
    let env: Value = serde_json::from_str(envelope).unwrap();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(env["body"].as_str().unwrap())
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn vote_field(base: &str, vote: &str, path: &str) -> Option<Value> {
    crate::helpers::http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .ok()?
        .json::<Value>()
        .await
        .ok()
        .map(|v| {
            v["votes"]
                .as_array()
                .and_then(|a| a.iter().find(|x| x["id"] == vote).cloned())
                .unwrap_or(v)
        })
}

/// The crash test with encrypted ballots: kill -9 while ballots arrive and again while the
/// scrutineers' partial decryptions are collected; every acknowledged tracker is in the
/// verified v2 bundle, and no ballot is counted twice.
#[tokio::test]
async fn kill_9s_during_encrypted_casting_and_decryption_lose_no_acknowledged_ballot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let receipts = dir.path().join("trackers.txt");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start(&data, port);
    let mut loadtest = Command::new(BIN)
        .args(["loadtest", "--url", &base, "--data"])
        .arg(&data)
        .args([
            "--tablets",
            "200",
            "--encrypted",
            "--arrival",
            "spread:10",
            "--keep-open",
            "--receipts",
        ])
        .arg(&receipts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let vote = "v4";
    let deadline = Instant::now() + Duration::from_secs(120);
    // Kills start once the first ballot is acknowledged.
    while std::fs::metadata(&receipts).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < deadline, "no ballot was ever acknowledged");
        assert!(
            loadtest.try_wait().unwrap().is_none(),
            "the load test ended early"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while loadtest.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the load test did not finish");
        tokio::time::sleep(Duration::from_millis(300 + next() % 700)).await;
        if loadtest.try_wait().unwrap().is_some() {
            break;
        }
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        kills += 1;
        server = start(&data, port);
    }
    let out = loadtest.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        kills >= 5,
        "only {kills} kills during casting: the run was too short"
    );
    let line = stdout.lines().last().unwrap();
    assert!(
        line.starts_with("loadtest: tablets=200 cast=200 acknowledged=200 failed=0 "),
        "{line}"
    );
    let admin = |args: &[&str]| {
        Command::new(BIN)
            .args(["admin", "--url", &base, "--passphrase-file"])
            .arg(data.join("demo/operator-passphrase"))
            .args(args)
            .output()
            .unwrap()
    };
    let o = admin(&["close", vote]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Kill while the officer's roll call and the partial decryptions come in.
    let mut decrypt_kills = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let st = vote_field(&base, vote, &format!("/api/public/votes/{vote}/e2e")).await;
        if st.as_ref().is_some_and(|s| s["decided"] == true) {
            break;
        }
        assert!(Instant::now() < deadline, "not decided: {st:?}");
        if decrypt_kills < 3 {
            tokio::time::sleep(Duration::from_millis(next() % 400)).await;
            server.0.kill().unwrap();
            server.0.wait().unwrap();
            decrypt_kills += 1;
            server = start(&data, port);
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let o = admin(&["announce", vote]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bundle = crate::helpers::http()
        .get(format!("{base}/api/public/votes/{vote}/bundle"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let file = dir.path().join("bundle.json");
    std::fs::write(&file, &bundle).unwrap();
    let verify = Command::new(BIN).arg("verify").arg(&file).output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let body = body_of(&bundle);
    let ballots = body["votes"][0]["ballots"].as_array().unwrap();
    let received = std::fs::read_to_string(&receipts).unwrap();
    let received: Vec<&str> = received.lines().collect();
    assert_eq!(
        received.len(),
        200,
        "every tablet recorded its tracker once"
    );
    // The bundle's trackers are recomputed by the verifier (V5/V7); here: each acknowledged
    // one is listed, and there are exactly 200 ballots with 200 distinct credentials.
    let listed: std::collections::HashSet<String> = crate::helpers::http()
        .get(format!("{base}/api/public/e2e/votes/{vote}/ballots"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["trackers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    for t in &received {
        assert!(
            listed.contains(*t),
            "tracker {t} acknowledged but not listed"
        );
    }
    assert_eq!(ballots.len(), 200);
    let creds: std::collections::HashSet<&str> = ballots
        .iter()
        .map(|b| b["cred_pk"].as_str().unwrap())
        .collect();
    assert_eq!(creds.len(), 200, "no credential counted twice");
    assert_eq!(body["vote_record"]["roll"]["cast"], 200);
    drop(server);
    eprintln!(
        "encrypted crash test: {kills} kills while casting, {decrypt_kills} while decrypting"
    );
}
