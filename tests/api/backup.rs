//! `deploy/backup.sh` against a real appliance (`piaojue serve --demo`): in the plain ballot
//! mode the store links each deputy to their ballot, so a backup is encrypted to the recipients
//! given (the `age` format) and refused without one, and refused while a vote is open
//! (issue 11, item 5).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{ballot_id, http, repo, serve};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

/// Whether `age` and `age-keygen` run. Missing outside CI: the test says so and is skipped; in
/// CI (`CI=true`) `.ci/test` installs them, so missing there fails.
fn age_available() -> bool {
    let runs = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs("age") && runs("age-keygen") {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "age is not installed, and CI=true: .ci/test installs it (apt-get install age)"
    );
    eprintln!("SKIPPED backup tests: `age` is not installed (apt-get install age); CI installs it");
    false
}

/// Runs `bash deploy/backup.sh ARGS…` on this data directory, never touching a systemd unit.
fn backup_sh(data: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo("deploy/backup.sh"))
        .args(args)
        .env("PIAOJUE_DATA", data)
        .env("PIAOJUE_SERVICE", "")
        .env_remove("PIAOJUE_URL")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn admin(base: &str, data: &Path, args: &[&str]) {
    let out = Command::new(BIN)
        .args(["admin", "--url", base, "--passphrase-file"])
        .arg(data.join("demo/operator-passphrase"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        text(&out.stderr)
    );
}

async fn post(client: &Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut r = client.post(url).json(&body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

async fn cast(client: &Client, base: &str, token: &str, choice: u32) {
    post(
        client,
        format!("{base}/api/tablet/votes/v3/cast"),
        Some(token),
        json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [choice] }),
    )
    .await;
}

/// The files a failed backup must not leave behind: the archive, its checksum, a partial one.
fn left_behind(dir: &Path, name: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(name))
        })
        .collect()
}

#[tokio::test]
async fn backup_links_deputies_to_ballots_so_it_is_encrypted_and_refused_during_a_vote() {
    if !age_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out_dir = dir.path().join("usb");
    std::fs::create_dir(&out_dir).unwrap();
    let data_arg = data.to_str().unwrap();
    let (_server, base) = serve(&[
        "--demo",
        "--demo-deputies",
        "4",
        "--data",
        data_arg,
        "--listen",
        "127.0.0.1:0",
    ]);
    let client = http();

    // Every deputy enrols (and is checked in); the secret motion v3 opens; two cast.
    let codes = std::fs::read_to_string(data.join("demo/codes.csv")).unwrap();
    let mut deputies = Vec::new();
    let mut tokens = Vec::new();
    for line in codes.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let answer = post(
            &client,
            format!("{base}/api/tablet/enrol"),
            None,
            json!({ "code": f[2] }),
        )
        .await;
        deputies.push(f[0].to_string());
        tokens.push(answer["token"].as_str().unwrap().to_string());
    }
    assert_eq!(deputies.len(), 4);
    admin(&base, &data, &["open", "v3"]);
    cast(&client, &base, &tokens[0], 1).await;
    cast(&client, &base, &tokens[1], 0).await;

    let key = dir.path().join("backup-identity.txt");
    let keygen = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .unwrap();
    assert!(keygen.status.success(), "{}", text(&keygen.stderr));
    let recipient = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    assert!(recipient.status.success());
    let recipient = text(&recipient.stdout).trim().to_string();
    assert!(recipient.starts_with("age1"), "{recipient}");

    // During the open vote: refused (exit 3), even with a recipient, and nothing is written.
    let archive = out_dir.join("piaojue.tar.age");
    let archive_arg = archive.to_str().unwrap();
    let out = backup_sh(
        &data,
        &["backup", "-r", &recipient, "--url", &base, archive_arg],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("refusing to back up") && err.contains("v3") && err.contains("open"),
        "{err}"
    );
    assert!(left_behind(&out_dir, "piaojue").is_empty());
    // Unreachable appliance: it cannot tell whether a vote is open, so it refuses too.
    let out = backup_sh(
        &data,
        &[
            "backup",
            "-r",
            &recipient,
            "--url",
            "http://127.0.0.1:9",
            archive_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--force"));
    assert!(left_behind(&out_dir, "piaojue").is_empty());

    // Everyone casts; the vote closes.
    cast(&client, &base, &tokens[2], 1).await;
    cast(&client, &base, &tokens[3], 2).await;
    admin(&base, &data, &["close", "v3"]);

    // No recipient: refused (exit 2) with a message naming the risk and the way out.
    let out = backup_sh(&data, &["backup", "--url", &base, archive_arg]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no recipient") && err.contains("--unencrypted-i-understand"),
        "{err}"
    );
    assert!(left_behind(&out_dir, "piaojue").is_empty());

    // With a recipient: done, and the archive is age, not tar, with no deputy in it.
    let out = backup_sh(
        &data,
        &["backup", "-r", &recipient, "--url", &base, archive_arg],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let mut left = left_behind(&out_dir, "piaojue");
    left.sort();
    assert_eq!(
        left,
        vec![archive.clone(), out_dir.join("piaojue.tar.age.sha256")],
        "the archive and its checksum, no partial file"
    );
    let bytes = std::fs::read(&archive).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let listed = Command::new("tar")
        .arg("--list")
        .arg("--file")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(!listed.status.success(), "the backup must not read as tar");
    for d in &deputies {
        assert!(!contains(&bytes, &format!("deputy:{d}")), "deputy:{d}");
        assert!(!contains(&bytes, d), "{d}");
    }
    assert!(!contains(&bytes, "\"action\":\"cast\""));

    // The identity restores a tar of the data directory, store and keys, deputies and all:
    // exactly what the encryption hides.
    let plain = Command::new("age")
        .arg("--decrypt")
        .arg("-i")
        .arg(&key)
        .arg(&archive)
        .output()
        .unwrap();
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let tar_path = dir.path().join("decrypted.tar");
    std::fs::write(&tar_path, &plain.stdout).unwrap();
    let listed = Command::new("tar")
        .arg("--list")
        .arg("--file")
        .arg(&tar_path)
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let names = text(&listed.stdout);
    for entry in ["data/store/db", "data/appliance.key", "data/tls/ca.pem"] {
        assert!(names.lines().any(|l| l == entry), "{entry} in {names}");
    }
    for d in &deputies {
        assert!(
            contains(
                &plain.stdout,
                &format!("\"actor\":\"deputy:{d}\",\"action\":\"cast\"")
            ),
            "the plain store names {d}'s cast (what the backup must hide)"
        );
    }

    // `restore -i` onto a fresh machine: the appliance starts on it with the closed vote.
    let restored = dir.path().join("spare").join("data");
    let out = backup_sh(&restored, &["restore", archive_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("-i"));
    let out = backup_sh(
        &restored,
        &["restore", "-i", key.to_str().unwrap(), archive_arg],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(restored.join("appliance.key")).unwrap(),
        std::fs::read(data.join("appliance.key")).unwrap()
    );
    let (_spare, spare) = serve(&[
        "--data",
        restored.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    let votes: Value = client
        .get(format!("{spare}/api/public/votes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let v3 = &votes["votes"][2];
    assert_eq!(v3["id"], "v3");
    assert_eq!(v3["state"], "closed", "{v3}");
    assert_eq!(v3["turnout"]["cast"], 4, "{v3}");

    // The named risk, on request: a readable tar, said loudly.
    let plain_archive = out_dir.join("plain.tar");
    let out = backup_sh(
        &data,
        &[
            "backup",
            "--unencrypted-i-understand",
            "--url",
            &base,
            plain_archive.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning"));
    assert!(
        Command::new("tar")
            .arg("--list")
            .arg("--file")
            .arg(&plain_archive)
            .output()
            .unwrap()
            .status
            .success()
    );
}
