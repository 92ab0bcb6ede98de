//! The observer's and the scrutineer's side of the command line: `piaojue verify` and
//! `piaojue scrutineer keygen|enrol|cosign`. Only public endpoints and the scrutineer's own
//! token are used; the verification itself is [`piaojue_core::bundle::verify`].

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use serde_json::{Value, json};

use piaojue_core::bundle::{self, Expect, MAX_BUNDLE_BYTES, Report};
use piaojue_core::crypto::{self, ApplianceKey, Domain};

/// A usage or I/O problem: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

fn client() -> Result<reqwest::Client, UsageError> {
    crate::tls::client_builder()
        .map_err(usage)?
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| usage(e.to_string()))
}

fn check_url(url: &str) -> Result<String, UsageError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(usage(format!("`{url}` is not an http:// or https:// URL")))
    }
}

/// Fetches a URL's body, capped.
async fn fetch(url: &str, token: Option<&str>) -> Result<Vec<u8>, UsageError> {
    let mut request = client()?.get(url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let response = request
        .send()
        .await
        .map_err(|e| usage(format!("cannot fetch {url}: {e}")))?;
    let status = response.status();
    let too_large = || usage(format!("{url}: larger than {} MiB", MAX_BUNDLE_BYTES >> 20));
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BUNDLE_BYTES as u64)
    {
        return Err(too_large());
    }
    // Read chunk by chunk and stop at the cap: a hostile server cannot make us hold more.
    let mut response = response;
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| usage(format!("cannot read {url}: {e}")))?
    {
        if bytes.len() + chunk.len() > MAX_BUNDLE_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    if !status.is_success() {
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_default();
        return Err(usage(format!("{url}: {status} {message}")));
    }
    Ok(bytes)
}

/// A bundle from a file, `-` (stdin) or a URL.
async fn read_bundle(source: &str) -> Result<Vec<u8>, UsageError> {
    if source.starts_with("http://") || source.starts_with("https://") {
        // A QR code's `#sha256=…` fragment is for the reader, not the server.
        let url = source.split('#').next().unwrap_or(source);
        return fetch(url, None).await;
    }
    let limit = MAX_BUNDLE_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    let result = if source == "-" {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        fs::File::open(source).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|e| usage(format!("cannot read {source}: {e}")))?;
    Ok(bytes)
}

/// The appliance key of a session, from its public session endpoint.
async fn session_key(url: &str) -> Result<String, UsageError> {
    let base = check_url(url)?;
    let bytes = fetch(&format!("{base}/api/public/session"), None).await?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|_| usage(format!("{base} did not answer with a session")))?;
    v["public_key"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| usage(format!("{base} did not give a public key")))
}

/// Options of `piaojue verify`.
#[derive(Debug)]
pub struct VerifyOptions {
    pub bundle: String,
    pub key: Option<String>,
    /// The appliance key's fingerprint as printed (`20c9 0c81 …`, all 16 groups).
    pub fingerprint: Option<String>,
    pub session: Option<String>,
    pub previous: Option<String>,
    pub receipt: Option<String>,
    pub json: bool,
    /// Deputies present in the hall (v2 bundles: V15's procedural comparison).
    pub hall_present: Option<u64>,
    /// A file of the scrutineers' keys as printed on the agenda, one hex key per line.
    pub scrutineers: Option<String>,
    /// A run-off's parent bundle (file or URL): its items and seats must follow from it.
    pub parent: Option<String>,
    /// A 测评's source 票决 bundle (file or URL): its items must be what that adopted.
    pub source: Option<String>,
}

/// The link checks `--parent` and `--source` ask for: the linked bundle verifies (the parent
/// under the same appliance key, the source under the key the link names) and the link holds.
async fn link_checks(
    bytes: &[u8],
    options: &VerifyOptions,
) -> Result<Vec<piaojue_core::bundle::Check>, UsageError> {
    use piaojue_core::bundle::Check;
    use piaojue_core::procedure::{self, Decided};
    let mut checks = Vec::new();
    let child = Decided::read(bytes);
    // A link not checked is said so (not a failure: the bundle alone can still verify).
    if let Ok(c) = &child
        && let Some(p) = &c.procedure
    {
        if let Some(r) = p.runoff_of.as_ref().filter(|_| options.parent.is_none()) {
            eprintln!(
                "note: a run-off of {}; its link is checked with --parent (that bundle)",
                r.vote
            );
        }
        if let Some(s) = p.source.as_ref().filter(|_| options.source.is_none()) {
            eprintln!(
                "note: a 测评 built from bundle {}…; its link is checked with --source (that bundle)",
                s.bundle_sha256.get(..16).unwrap_or("")
            );
        }
    }
    if options.parent.is_none() && options.source.is_none() {
        return Ok(checks);
    }
    let mut put = |name: &str, r: Result<String, String>| {
        let (ok, detail) = match r {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        checks.push(Check {
            name: name.into(),
            ok,
            detail,
        });
    };
    let linked = |other: &[u8], key: &str| -> Result<Decided, String> {
        let key = crypto::public_key(key).map_err(|e| format!("the key: {e}"))?;
        let r = procedure::verify_any(other, key, None);
        if !r.verified {
            return Err(format!(
                "the linked bundle does not verify: {}",
                procedure::first_failure(&r)
            ));
        }
        Decided::read(other)
    };
    if let Some(p) = &options.parent {
        let other = read_bundle(p).await?;
        put(
            "link.runoff_of",
            child.clone().and_then(|c| {
                let parent = linked(&other, &c.appliance_key)?;
                procedure::check_runoff(&c, &parent)
            }),
        );
    }
    if let Some(s) = &options.source {
        let other = read_bundle(s).await?;
        put(
            "link.source",
            child.and_then(|c| {
                let key = c
                    .procedure
                    .as_ref()
                    .and_then(|p| p.source.as_ref())
                    .map(|s| s.appliance_key.clone())
                    .ok_or("the bundle is not a 测评 built from a bundle")?;
                let source = linked(&other, &key)?;
                procedure::check_source(&c, &source)
            }),
        );
    }
    Ok(checks)
}

/// Runs `piaojue verify`: prints the report; `Ok(true)` when every check holds.
pub async fn verify(options: VerifyOptions) -> Result<bool, UsageError> {
    let bytes = read_bundle(&options.bundle).await?;
    let links = link_checks(&bytes, &options).await?;
    if crate::e2e_cli::is_v2(&bytes) {
        let previous = match &options.previous {
            Some(p) => Some(read_bundle(p).await?),
            None => None,
        };
        return crate::e2e_cli::verify(&bytes, previous, &options, links);
    }
    let (key, fingerprint) = pinned_key(&options)?;
    // The appliance being checked cannot vouch for its own key: a session URL only says
    // where to find the session's other bundles, and must serve the pinned key.
    if let Some(url) = &options.session {
        let served = crypto::public_key(session_key(url).await?.trim())
            .map_err(|e| usage(format!("{url}: the session's key: {e}")))?;
        let matches = key.is_none_or(|k| k == served)
            && fingerprint.is_none_or(|f| crypto::sha256(&served) == f);
        if !matches {
            return Err(usage(format!(
                "{url} serves the appliance key with fingerprint {}, not the one pinned",
                crypto::fingerprint_grouped(&crypto::fingerprint(&served))
            )));
        }
    }
    let previous = match (&options.previous, &options.session) {
        (Some(p), _) => Some(read_bundle(p).await?),
        // The session's bundles are at hand: the chain is checked whenever it can be.
        (None, Some(url)) => previous_from_session(url, &bytes).await?,
        (None, None) => None,
    };
    let scrutineers = match &options.scrutineers {
        Some(file) => Some(read_scrutineer_keys(file)?),
        None => None,
    };
    let mut report = bundle::verify(
        &bytes,
        &Expect {
            key,
            fingerprint,
            previous: previous.as_deref(),
            receipt: options.receipt.as_deref(),
            scrutineers: scrutineers.as_deref(),
        },
    );
    report.checks.extend(links);
    report.verified = report.checks.iter().all(|c| c.ok);
    if options.json {
        // A report of strings and booleans always serialises; say so if it ever did not.
        match serde_json::to_string_pretty(&report) {
            Ok(text) => crate::say!("{text}"),
            Err(e) => eprintln!("error: the report cannot be written as JSON: {e}"),
        }
    } else {
        print_report(&report);
    }
    Ok(report.verified)
}

pub fn print_report(report: &Report) {
    let mut out = String::new();
    if let (Some(id), Some(title)) = (&report.vote_id, &report.title) {
        out.push_str(&format!("bundle {id} 《{title}》\n"));
    }
    if let Some(sha) = &report.bundle_sha256 {
        out.push_str(&format!("sha256 {sha}\n"));
    }
    for c in &report.checks {
        out.push_str(&format!(
            "{} {}: {}\n",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        ));
    }
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    if report.verified {
        out.push_str(&format!(
            "verified: all {} checks hold\n",
            report.checks.len()
        ));
        if let Some(a) = &report.announcement {
            out.push_str(&format!("announcement:\n{a}\n"));
        }
    } else {
        out.push_str(&format!(
            "NOT VERIFIED: {failed} of {} checks failed\n",
            report.checks.len()
        ));
    }
    out.push_str(
        "not checked: that these ballots are what each deputy chose (that rests on the \
         appliance keeping its promise; each deputy checks their own receipt with --receipt)\n",
    );
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
}

fn write_secret(path: &Path, text: &str) -> Result<(), UsageError> {
    crate::appliance::write_secret_file(path, text)
        .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))
}

fn read_secret(path: &Path) -> Result<zeroize::Zeroizing<String>, UsageError> {
    fs::read_to_string(path)
        .map(|t| zeroize::Zeroizing::new(t.trim().to_string()))
        .map_err(|e| usage(format!("cannot read {}: {e}", path.display())))
}

fn load_device_key(path: &Path) -> Result<ApplianceKey, UsageError> {
    let text = read_secret(path)?;
    let seed = zeroize::Zeroizing::new(
        crypto::unhex::<32>(&text)
            .ok_or_else(|| usage(format!("{}: not a key file", path.display())))?,
    );
    Ok(ApplianceKey::from_seed(&seed))
}

/// `piaojue scrutineer keygen`: the scrutineer's own key, made on their machine.
pub fn keygen(out: &Path) -> Result<String, UsageError> {
    let key = ApplianceKey::generate().map_err(|e| usage(e.to_string()))?;
    write_secret(out, &crypto::hex(key.seed().as_ref()))?;
    Ok(key.public_hex())
}

/// `piaojue scrutineer enrol`: binds the card's code to this key; saves the token.
pub async fn enrol(
    url: &str,
    code: &str,
    key: &Path,
    token_out: &Path,
) -> Result<Value, UsageError> {
    let base = check_url(url)?;
    let key = load_device_key(key)?;
    let response = client()?
        .post(format!("{base}/api/scrutineer/enrol"))
        .json(&json!({ "code": code, "public_key": key.public_hex() }))
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {base}: {e}")))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(usage(format!("{}: {}", body["error"], body["message"])));
    }
    let token = body["token"]
        .as_str()
        .ok_or_else(|| usage("no token in the answer"))?;
    write_secret(token_out, token)?;
    Ok(body["scrutineer"].clone())
}

/// `piaojue scrutineer cosign`: fetches a closed vote's bundle, verifies it fully against the
/// pinned appliance key, and only then signs it and sends the co-signature.
pub async fn cosign(
    url: &str,
    token_file: &Path,
    key: &Path,
    appliance_key: Option<&str>,
    vote: &str,
) -> Result<Report, UsageError> {
    let base = check_url(url)?;
    if piaojue_core::ids::VoteId::parse(vote).is_none() {
        return Err(usage(format!("`{vote}` is not a vote id")));
    }
    let token = read_secret(token_file)?;
    let key = load_device_key(key)?;
    let pinned = match appliance_key {
        Some(k) => k.to_string(),
        None => session_key(&base).await?,
    };
    let pinned = crypto::public_key(&pinned).map_err(|e| usage(format!("appliance key: {e}")))?;
    let bytes = fetch(
        &format!("{base}/api/scrutineer/votes/{vote}/bundle"),
        Some(&token),
    )
    .await?;
    let report = bundle::verify(
        &bytes,
        &Expect {
            key: Some(pinned),
            ..Expect::default()
        },
    );
    // Missing co-signatures are what this command supplies; every other check must hold.
    if !report.holds_but_for_cosignatures() {
        return Ok(report);
    }
    let (_, body) = bundle::parse(&bytes).map_err(usage)?;
    let signature = crypto::hex(&key.sign(Domain::Result, &body));
    let response = client()?
        .post(format!("{base}/api/scrutineer/votes/{vote}/cosign"))
        .bearer_auth(token.as_str())
        .json(&json!({ "signature": signature }))
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {base}: {e}")))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(usage(format!("{}: {}", answer["error"], answer["message"])));
    }
    Ok(report)
}

/// The scrutineers' keys as printed on the agenda: one hex key per line; blank lines and
/// `#` comments are skipped. Each key must be a strict Ed25519 key.
pub(crate) fn read_scrutineer_keys(file: &str) -> Result<Vec<[u8; 32]>, UsageError> {
    let text = fs::read_to_string(file).map_err(|e| usage(format!("--scrutineers {file}: {e}")))?;
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = crypto::public_key(line)
            .map_err(|e| usage(format!("--scrutineers {file}: line {}: {e}", n + 1)))?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(usage(format!("--scrutineers {file}: no keys in it")));
    }
    Ok(keys)
}

/// (key, fingerprint) as pinned on the command line.
type Pin = (Option<[u8; 32]>, Option<[u8; 32]>);

/// The appliance key pinned on the command line: `--key HEX` and/or `--fingerprint`, as
/// printed on the agenda and the 公告. One of them is required.
fn pinned_key(options: &VerifyOptions) -> Result<Pin, UsageError> {
    let key = match &options.key {
        Some(k) => Some(crypto::public_key(k.trim()).map_err(|e| usage(format!("--key: {e}")))?),
        None => None,
    };
    let fingerprint = match &options.fingerprint {
        Some(f) => {
            Some(crypto::parse_fingerprint(f).map_err(|e| usage(format!("--fingerprint: {e}")))?)
        }
        None => None,
    };
    match (key, fingerprint) {
        (None, None) => Err(usage(
            "pin the appliance key as printed on the agenda or the 公告: --key HEX or --fingerprint \"20c9 0c81 …\" (a --session URL alone would trust the appliance being checked)",
        )),
        (Some(k), Some(f)) if crypto::sha256(&k) != f => {
            Err(usage("--key and --fingerprint name different keys"))
        }
        pin => Ok(pin),
    }
}

/// The bundle this one names as its previous, found among the session's published bundles.
async fn previous_from_session(url: &str, bundle: &[u8]) -> Result<Option<Vec<u8>>, UsageError> {
    let Ok((_, body)) = piaojue_core::bundle::parse(bundle) else {
        return Ok(None);
    };
    let Some(previous) = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["previous_bundle_sha256"].as_str().map(str::to_string))
    else {
        return Ok(None);
    };
    let base = check_url(url)?;
    let votes: Value =
        serde_json::from_slice(&fetch(&format!("{base}/api/public/votes"), None).await?)
            .map_err(|_| usage(format!("{base} did not answer with its votes")))?;
    let found = votes["votes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["bundle_sha256"].as_str() == Some(previous.as_str()));
    match found.and_then(|v| v["bundle_url"].as_str()) {
        Some(path) => Ok(Some(fetch(&format!("{base}{path}"), None).await?)),
        // Not published (yet): the check then fails, saying it cannot read the previous.
        None => Ok(Some(Vec::new())),
    }
}

/// `piaojue scrutineer cosign-intervention`: the scrutineer signs, with their own key, the
/// intervention they witnessed (kind, deputy, reason, and the deputy's next intervention
/// number, read from the appliance); returns the JSON the secretariat sends with it.
pub async fn cosign_intervention(
    url: &str,
    token_file: &Path,
    key: &Path,
    appliance_key: Option<&str>,
    kind: &str,
    deputy: &str,
    reason: &str,
) -> Result<String, UsageError> {
    let base = check_url(url)?;
    let kind: piaojue_core::bundle::InterventionKind =
        serde_json::from_value(Value::String(kind.into()))
            .map_err(|_| usage(format!("--kind `{kind}`: use manual_checkin or reissue")))?;
    let deputy = piaojue_core::ids::DeputyId::parse(deputy)
        .ok_or_else(|| usage(format!("`{deputy}` is not a deputy id")))?;
    let token = read_secret(token_file)?;
    let device = load_device_key(key)?;
    let pinned = match appliance_key {
        Some(k) => k.to_string(),
        None => session_key(&base).await?,
    };
    let pinned = crypto::public_key(&pinned).map_err(|e| usage(format!("appliance key: {e}")))?;
    let me: Value = serde_json::from_slice(
        &fetch(&format!("{base}/api/scrutineer/status"), Some(&token)).await?,
    )
    .map_err(|_| usage(format!("{base}: no scrutineer status")))?;
    let d: Value = serde_json::from_slice(
        &fetch(
            &format!("{base}/api/scrutineer/deputies/{deputy}"),
            Some(&token),
        )
        .await?,
    )
    .map_err(|_| usage(format!("{base}: no such deputy")))?;
    let seq = d["next_intervention"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            usage(format!(
                "{base}: the deputy's next intervention number is missing"
            ))
        })?;
    let message = piaojue_core::bundle::intervention_message(
        &crypto::hex(&pinned),
        kind,
        &deputy,
        reason.trim(),
        seq,
    )
    .map_err(|e| usage(e.to_string()))?;
    let signature = crypto::hex(&device.sign(Domain::Intervention, message.as_bytes()));
    Ok(json!({
        "scrutineer": me["scrutineer"]["id"],
        "signature": signature,
    })
    .to_string())
}
