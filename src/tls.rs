//! TLS for the venue LAN: a local certificate authority made at `init` (its certificate goes
//! into the tablets' firmware), the server certificate it signs, renewal, and the server-side
//! rustls configuration (ring provider only: no aws-lc-rs, no OpenSSL).
//!
//! Files in `DIR/tls/`: `ca.pem` (public, for tablets and browsers), `ca.key` (0600, kept for
//! renewal; move it offline after the session if you prefer), `server.pem` (the server
//! certificate then the CA's), `server.key` (0600), `names.txt` (the names and addresses).

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// Names every certificate carries, whatever else is configured.
const ALWAYS: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

pub fn dir(data: &Path) -> PathBuf {
    data.join("tls")
}

/// Installs the ring provider as rustls's default, once per process.
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn ca_params() -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.distinguished_name
        .push(DnType::CommonName, "piaojue 表决设备本地证书颁发机构");
    p.distinguished_name
        .push(DnType::OrganizationName, "piaojue");
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    // Fixed dates, so that renewal rebuilds exactly the same issuer.
    p.not_before = rcgen::date_time_ymd(2026, 1, 1);
    p.not_after = rcgen::date_time_ymd(2036, 1, 1);
    Ok(p)
}

/// Today as (year, month, day), UTC.
fn today() -> (i32, u8, u8) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let y = now[0..4].parse().unwrap_or(2026);
    let m = now[5..7].parse().unwrap_or(1);
    let d = now[8..10].parse().unwrap_or(1);
    (y, m, d)
}

/// The names a certificate covers: the configured ones plus localhost and loopback.
pub fn names(extra: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = ALWAYS.iter().map(|s| s.to_string()).collect();
    for n in extra {
        let n = n.trim().to_string();
        let ok = !n.is_empty()
            && n.len() <= 253
            && (n.parse::<std::net::IpAddr>().is_ok()
                || n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
        if !ok {
            return Err(format!("`{n}` is not a host name or an IP address"));
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    Ok(out)
}

fn write(path: &Path, text: &str, secret: bool) -> Result<(), String> {
    // Write beside, then rename: a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if secret { 0o600 } else { 0o644 })
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Makes the local CA and a server certificate for `names`.
pub fn create(data: &Path, extra_names: &[String]) -> Result<(), String> {
    let names = names(extra_names)?;
    let d = dir(data);
    fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let ca_cert = ca_params()?
        .self_signed(&ca_key)
        .map_err(|e| e.to_string())?;
    write(&d.join("ca.key"), &ca_key.serialize_pem(), true)?;
    write(&d.join("ca.pem"), &ca_cert.pem(), false)?;
    issue(data, &names, &ca_key, &ca_cert.pem())
}

/// A new server certificate from the existing CA (for new names, or before expiry). The
/// running server picks it up by itself within seconds; nothing of the session is touched.
pub fn renew(data: &Path, extra_names: Option<&[String]>) -> Result<Vec<String>, String> {
    let d = dir(data);
    let ca_key = KeyPair::from_pem(
        &fs::read_to_string(d.join("ca.key"))
            .map_err(|e| format!("{}: {e}", d.join("ca.key").display()))?,
    )
    .map_err(|e| e.to_string())?;
    let ca_pem = fs::read_to_string(d.join("ca.pem"))
        .map_err(|e| format!("{}: {e}", d.join("ca.pem").display()))?;
    let names = match extra_names {
        Some(n) => names(n)?,
        None => fs::read_to_string(d.join("names.txt"))
            .map_err(|e| e.to_string())?
            .lines()
            .map(str::to_string)
            .collect(),
    };
    issue(data, &names, &ca_key, &ca_pem)?;
    Ok(names)
}

fn issue(data: &Path, names: &[String], ca_key: &KeyPair, ca_pem: &str) -> Result<(), String> {
    let d = dir(data);
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.get(3).map_or("localhost", String::as_str),
    );
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    // Valid from the first of this month for a year (under the 398 days browsers accept).
    let (y, m, _) = today();
    params.not_before = rcgen::date_time_ymd(y, m, 1);
    params.not_after = rcgen::date_time_ymd(y + 1, m, 1);
    // The CA's parameters are rebuilt exactly as made, so the issuer name matches.
    let issuer = Issuer::new(ca_params()?, ca_key);
    let cert = params.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    write(&d.join("server.key"), &key.serialize_pem(), true)?;
    write(
        &d.join("server.pem"),
        &format!("{}{ca_pem}", cert.pem()),
        false,
    )?;
    write(&d.join("names.txt"), &(names.join("\n") + "\n"), false)
}

/// The server's rustls configuration, reloaded whenever `server.pem` changes.
pub async fn server_config(data: &Path) -> Result<axum_server::tls_rustls::RustlsConfig, String> {
    install_provider();
    let d = dir(data);
    let (cert, key) = (d.join("server.pem"), d.join("server.key"));
    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
        .await
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    let watched = config.clone();
    tokio::spawn(async move {
        let modified = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut last = modified(&cert);
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            let now = modified(&cert);
            if now != last {
                match watched.reload_from_pem_file(&cert, &key).await {
                    Ok(()) => tracing::info!("TLS certificate reloaded"),
                    Err(e) => {
                        tracing::error!(error = %e, "TLS certificate reload failed; keeping the old one")
                    }
                }
                last = now;
            }
        }
    });
    Ok(config)
}

static CLIENT_CA: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The CA certificate every HTTPS client of this process trusts (`--cacert`).
pub fn trust(cacert: PathBuf) {
    let _ = CLIENT_CA.set(cacert);
}

/// A client trusting the appliance's CA given with `--cacert` (the operator's, observer's or
/// load test's side). Without it only plain-HTTP URLs work: there are no public roots here.
pub fn client_builder() -> Result<reqwest::ClientBuilder, String> {
    install_provider();
    let mut b = reqwest::Client::builder();
    if let Some(path) = CLIENT_CA.get() {
        let pem = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
        b = b.add_root_certificate(cert);
    }
    Ok(b)
}
