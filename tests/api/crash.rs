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
