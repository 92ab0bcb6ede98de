//! HTTPS with the appliance's own CA: `serve --tls` on loopback, always on other addresses,
//! HSTS and a Secure cookie, a certificate renewed while serving.

use std::process::Command;

use crate::helpers::{Running, serve};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

fn start(data: &std::path::Path, listen: &str, tls: bool) -> (Running, String) {
    let data = data.to_str().unwrap();
    let mut args = vec!["--data", data, "--listen", listen];
    if tls {
        args.push("--tls");
    }
    serve(&args)
}

fn client(ca: &std::path::Path) -> reqwest::Client {
    piaojue::tls::install_provider();
    let cert = reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(cert)
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_with_the_appliance_ca_and_a_renewed_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "a long enough passphrase").unwrap();
    let out = Command::new(BIN)
        .args(["init", "--data"])
        .arg(&data)
        .arg("--passphrase-file")
        .arg(&pass)
        .args(["--tls-name", "piaojue.venue.lan"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ca = data.join("tls/ca.pem");
    let (server, url) = start(&data, "127.0.0.1:0", true);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let c = client(&ca);
    let r = c.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let r = c
        .post(format!("{url}/api/operator/login"))
        .json(&serde_json::json!({ "passphrase": "a long enough passphrase" }))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    // Without the CA, the certificate is not trusted.
    piaojue::tls::install_provider();
    let stranger = reqwest::Client::new();
    assert!(stranger.get(format!("{url}/healthz")).send().await.is_err());
    // Plain HTTP to the HTTPS port is told so, with a 400, and the connection closes.
    let plain = url.replace("https://", "http://");
    let r = reqwest::get(format!("{plain}/healthz")).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("请使用 HTTPS"));
    // `piaojue admin` over HTTPS with --cacert.
    let admin = Command::new(BIN)
        .args(["admin", "--url", &url, "--passphrase-file"])
        .arg(&pass)
        .arg("--cacert")
        .arg(&ca)
        .arg("status")
        .output()
        .unwrap();
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    // Renewal while serving: the new certificate is picked up, the session goes on.
    let before = std::fs::read(data.join("tls/server.pem")).unwrap();
    let renew = Command::new(BIN)
        .args(["tls", "renew", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(renew.status.success());
    assert_ne!(before, std::fs::read(data.join("tls/server.pem")).unwrap());
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let fresh = client(&ca);
    assert_eq!(
        fresh
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    drop(server);
    // On any address but loopback, it is HTTPS whatever the flags.
    let (_server, url) = start(&data, "0.0.0.0:0", false);
    assert!(url.starts_with("https://"), "{url}");
}
