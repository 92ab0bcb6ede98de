//! `piaojue-loadtest` (also run as `piaojue loadtest`): simulated tablets that speak the tablet
//! page's protocol (enrol, hold a server-sent events connection, fetch and verify the signed
//! ballot, cast, verify the signed receipt), driving a whole vote through the operator API.
//! A client tool: it reaches the appliance only over HTTP and through the files an operator
//! has (the demo's codes and passphrase); it is not part of the product library.
//!
//! The last line of `loadtest` is an interface:
//! `loadtest: tablets=N cast=N acknowledged=N failed=N p50_ms=X p99_ms=X max_ms=X burst_ms=X
//! close_to_bundle_ms=X verify_ms=X server_rss_mb=X`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore, watch};

use clap::Parser;
use piaojue::admin::Admin;
use piaojue_core::ballot;
use piaojue_core::crypto::{self, Domain};
use piaojue_core::refusal::Refusal;
use piaojue_core::rules::{Kind, Rules};

/// When the tablets cast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// All at once, as when the chair says 「请表决」.
    Burst,
    /// Uniformly over this many seconds.
    Spread(f64),
}

impl Options {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Motion => "motion",
            Kind::ProjectSelection => "project_selection",
            Kind::Satisfaction => "satisfaction",
        }
    }
}

impl std::str::FromStr for Arrival {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "burst" {
            return Ok(Arrival::Burst);
        }
        match s.strip_prefix("spread:").map(str::parse::<f64>) {
            Some(Ok(secs)) if (0.0..=3600.0).contains(&secs) => Ok(Arrival::Spread(secs)),
            _ => Err(format!(
                "`{s}`: use `burst` or `spread:SECONDS` (0 to 3600)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub url: String,
    pub data: PathBuf,
    pub tablets: usize,
    pub kind: Kind,
    pub arrival: Arrival,
    pub receipts: Option<PathBuf>,
    pub keep_open: bool,
    pub vote: Option<String>,
    /// The first draft encrypted vote of the kind (SPEC-E2E), through to the announcement.
    pub encrypted: bool,
    /// Encrypted runs: this many scrutineers' `watch` loops (SPEC-E2E §9.2a G2) verifying
    /// the published ballots during the window, on the same cores.
    pub watchers: usize,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Summary {
    pub tablets: usize,
    pub cast: usize,
    pub acknowledged: usize,
    pub failed: usize,
    pub latencies_ms: Vec<f64>,
    pub burst_ms: f64,
    pub close_to_bundle_ms: Option<f64>,
    pub verify_ms: Option<f64>,
    pub server_rss_mb: Option<f64>,
    /// Encrypted runs: the appliance's verification of one ballot (the same `verify_ballot`,
    /// timed here on sample ballots), and close → decided result.
    pub verify_ms_per_ballot: Option<f64>,
    pub close_to_result_ms: Option<f64>,
    pub encrypted: bool,
}

impl Summary {
    /// The machine-readable last line.
    pub fn line(&self) -> String {
        let mut l = self.latencies_ms.clone();
        l.sort_by(f64::total_cmp);
        let pct = |p: f64| -> String {
            if l.is_empty() {
                return "-".into();
            }
            let i = ((p * l.len() as f64).ceil() as usize).clamp(1, l.len()) - 1;
            format!("{:.1}", l[i])
        };
        let opt = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
        format!(
            "loadtest: tablets={} cast={} acknowledged={} failed={} p50_ms={} p99_ms={} max_ms={} burst_ms={:.1} close_to_bundle_ms={} verify_ms={} server_rss_mb={}",
            self.tablets,
            self.cast,
            self.acknowledged,
            self.failed,
            pct(0.50),
            pct(0.99),
            l.last().map_or("-".into(), |m| format!("{m:.1}")),
            self.burst_ms,
            opt(self.close_to_bundle_ms),
            opt(self.verify_ms),
            opt(self.server_rss_mb),
        ) + &if self.encrypted {
            format!(
                " verify_ms_per_ballot={} close_to_result_ms={}",
                self.verify_ms_per_ballot
                    .map_or("-".into(), |v| format!("{v:.2}")),
                opt(self.close_to_result_ms)
            )
        } else {
            String::new()
        }
    }
}

fn client() -> Result<Client, String> {
    piaojue::tls::client_builder()?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(usize::MAX)
        .build()
        .map_err(|e| e.to_string())
}

/// A request that survives a restarting appliance: transport errors and 5xx are retried
/// (same body, so a cast stays the same cast) until `deadline`; 4xx is final.
async fn call(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
    deadline: Instant,
) -> Result<(StatusCode, Value), String> {
    let mut wait = Duration::from_millis(50);
    loop {
        let mut r = client.request(method.clone(), url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        let outcome = match r.send().await {
            Ok(res) => {
                let status = res.status();
                match res.bytes().await {
                    Ok(bytes) if !status.is_server_error() => {
                        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        return Ok((status, v));
                    }
                    Ok(_) => format!("{status}"),
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() + wait > deadline {
            return Err(format!("{url}: {outcome}"));
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_millis(1000));
    }
}

/// Runs the load test; the caller prints [`Summary::line`].
pub async fn run(o: Options) -> Result<Summary, String> {
    let base = o.url.trim_end_matches('/').to_string();
    let codes = read_codes(&o.data.join("demo/codes.csv"))?;
    if o.tablets == 0 || o.tablets > codes.len() {
        return Err(format!(
            "--tablets must be 1 to {} (the demo's deputies)",
            codes.len()
        ));
    }
    let passphrase_file = o.data.join("demo/operator-passphrase");
    let admin = login(&base, &passphrase_file).await?;
    let client = client()?;
    let deadline = || Instant::now() + Duration::from_secs(120);
    let session = call(
        &client,
        reqwest::Method::GET,
        &format!("{base}/api/public/session"),
        None,
        None,
        deadline(),
    )
    .await?
    .1;
    let public_key = crypto::public_key(session["public_key"].as_str().unwrap_or(""))
        .map_err(|e| format!("the appliance's key: {e}"))?;

    // The vote.
    let votes = admin_call(
        &admin,
        &passphrase_file,
        &base,
        "GET",
        "/api/operator/votes",
        None,
    )
    .await?;
    let kind = serde_json::to_value(o.kind).unwrap_or(Value::Null);
    let mode = if o.encrypted { "encrypted" } else { "plain" };
    let vote = match &o.vote {
        Some(v) => votes["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == v.as_str())
            .cloned()
            .ok_or_else(|| format!("no vote {v}"))?,
        None => votes["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["kind"] == kind && x["state"] == "draft" && x["mode"] == mode)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "no {mode} vote of kind {} left to open; restart the demo with a fresh --data",
                    o.kind_name()
                )
            })?,
    };
    let vote_id = vote["id"].as_str().unwrap_or("").to_string();

    let progress = Progress::new(o.tablets);
    let (admin, tokens) = enrol(
        admin,
        &client,
        &base,
        &passphrase_file,
        codes,
        o.tablets,
        &progress,
    )
    .await?;

    if o.encrypted {
        return run_encrypted(&o, &base, admin, &passphrase_file, &client, &vote, progress).await;
    }
    // One server-sent events connection per tablet, held for the whole run.
    let mut listeners = Vec::with_capacity(o.tablets);
    for _ in 0..o.tablets {
        let (client, url) = (client.clone(), format!("{base}/api/events?scope=tablet"));
        listeners.push(tokio::spawn(async move {
            loop {
                if let Ok(mut res) = client
                    .get(&url)
                    .timeout(Duration::from_secs(3600))
                    .send()
                    .await
                {
                    while let Ok(Some(_)) = res.chunk().await {}
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }));
    }

    if vote["state"] == "draft" {
        admin_call(
            &admin,
            &passphrase_file,
            &base,
            "POST",
            &format!("/api/operator/votes/{vote_id}/open"),
            Some(json!({})),
        )
        .await?;
    }

    let receipts = match &o.receipts {
        Some(p) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ))),
        None => None,
    };
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let ready = Arc::new(AtomicUsize::new(0));
    let mut casts = Vec::with_capacity(o.tablets);
    for (i, token) in tokens.into_iter().enumerate() {
        let (client, base, vote_id) = (client.clone(), base.clone(), vote_id.clone());
        let (receipts, progress, ready) = (receipts.clone(), progress.clone(), ready.clone());
        let mut go = go_rx.clone();
        let delay = match o.arrival {
            Arrival::Burst => Duration::ZERO,
            Arrival::Spread(s) => Duration::from_secs_f64(s * (i as f64 + 0.5) / o.tablets as f64),
        };
        casts.push(tokio::spawn(async move {
            let url = format!("{base}/api/tablet/votes/{vote_id}/ballot");
            let (status, b) = call(
                &client,
                reqwest::Method::GET,
                &url,
                Some(&token),
                None,
                deadline(),
            )
            .await?;
            if !status.is_success() {
                return Err(format!("ballot: {status} {b}"));
            }
            let body = b["body"].as_str().unwrap_or("");
            let sig = crypto::unhex::<64>(b["signature"].as_str().unwrap_or(""))
                .ok_or("ballot signature")?;
            crypto::verify(&public_key, Domain::Ballot, body.as_bytes(), &sig)
                .map_err(|e| format!("ballot: {e}"))?;
            let definition: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
            let rules = rules_of(&definition)?;
            let choices =
                ballot::random_choices(&rules, definition["items"].as_array().map_or(0, Vec::len))
                    .map_err(|e| e.to_string())?;
            let cast = json!({
                "vote_id": vote_id,
                "ballot_id": crypto::hex(&crypto::random::<16>().map_err(|e| e.to_string())?),
                "choices": choices,
            });
            ready.fetch_add(1, Ordering::Relaxed);
            let start = loop {
                if let Some(t) = *go.borrow_and_update() {
                    break t;
                }
                go.changed().await.map_err(|e| e.to_string())?;
            };
            tokio::time::sleep_until((start + delay).into()).await;
            let sent = Instant::now();
            let url = format!("{base}/api/tablet/votes/{vote_id}/cast");
            progress.sent.fetch_add(1, Ordering::Relaxed);
            let (status, r) = call(
                &client,
                reqwest::Method::POST,
                &url,
                Some(&token),
                Some(&cast),
                deadline(),
            )
            .await?;
            if !status.is_success() {
                return Err(format!("cast: {status} {r}"));
            }
            let received = Instant::now();
            let rbody = r["body"].as_str().unwrap_or("");
            let rsig = crypto::unhex::<64>(r["signature"].as_str().unwrap_or(""))
                .ok_or("receipt signature")?;
            crypto::verify(&public_key, Domain::Receipt, rbody.as_bytes(), &rsig)
                .map_err(|e| format!("receipt: {e}"))?;
            let code = r["receipt_code"].as_str().unwrap_or("").to_string();
            if let Some(f) = &receipts {
                let mut f = f.lock().await;
                writeln!(f, "{code}")
                    .and_then(|()| f.flush())
                    .map_err(|e| e.to_string())?;
            }
            progress.acknowledged.fetch_add(1, Ordering::Relaxed);
            Ok((sent, received))
        }));
    }
    // Everyone has a verified ballot in hand: go.
    while ready.load(Ordering::Relaxed) < o.tablets && !casts.iter().all(|c| c.is_finished()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = go_tx.send(Some(Instant::now()));
    let (latencies, failed, burst_ms) = collect(casts, &progress).await;
    let rss = server_rss_mb(&base);
    let mut summary = Summary {
        tablets: o.tablets,
        cast: progress.sent.load(Ordering::Relaxed),
        acknowledged: latencies.len(),
        failed,
        latencies_ms: latencies,
        burst_ms,
        close_to_bundle_ms: None,
        verify_ms: None,
        server_rss_mb: rss,
        verify_ms_per_ballot: None,
        close_to_result_ms: None,
        encrypted: false,
    };
    for l in listeners {
        l.abort();
    }
    if !o.keep_open {
        let t = Instant::now();
        admin_call(
            &admin,
            &passphrase_file,
            &base,
            "POST",
            &format!("/api/operator/votes/{vote_id}/close"),
            Some(json!({})),
        )
        .await?;
        let bundle = admin
            .call(
                reqwest::Method::GET,
                &format!("/api/operator/votes/{vote_id}/bundle"),
                None,
            )
            .await
            .map_err(|e| e.to_string())?;
        summary.close_to_bundle_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
        admin_call(
            &admin,
            &passphrase_file,
            &base,
            "POST",
            &format!("/api/operator/votes/{vote_id}/announce"),
            Some(json!({})),
        )
        .await?;
        summary.verify_ms = Some(verify_with_binary(&bundle, &crypto::hex(&public_key))?);
        summary.server_rss_mb = server_rss_mb(&base).or(summary.server_rss_mb);
    }
    Ok(summary)
}

/// `loadtest --encrypted`: the tablets (checked in by their enrolment) prove their ballots
/// with the Rust prover before the burst (as real tablets encrypt before they send), then
/// post them at once or spread; each receipt is verified under the appliance key. Then the
/// close, the demo's simulated officer and scrutineers (k partial decryptions), the decided
/// result, the announcement, and `piaojue verify` of the v2 bundle.
/// Every tablet's (sent, received), or why it failed: the latencies, the failures (the first
/// five printed) and first send → last answer.
async fn collect(
    casts: Vec<tokio::task::JoinHandle<Result<(Instant, Instant), String>>>,
    progress: &Progress,
) -> (Vec<f64>, usize, f64) {
    let mut first_sent: Option<Instant> = None;
    let mut last_received: Option<Instant> = None;
    let mut latencies = Vec::with_capacity(casts.len());
    let mut failed = 0;
    let mut errors = Vec::new();
    for c in casts {
        match c.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok((sent, received)) => {
                first_sent = Some(first_sent.map_or(sent, |f| f.min(sent)));
                last_received = Some(last_received.map_or(received, |l| l.max(received)));
                latencies.push((received - sent).as_secs_f64() * 1000.0);
            }
            Err(e) => {
                failed += 1;
                errors.push(e);
            }
        }
    }
    progress.stop();
    for e in errors.iter().take(5) {
        eprintln!("loadtest: a tablet failed: {e}");
    }
    let burst_ms = match (first_sent, last_received) {
        (Some(f), Some(l)) => (l - f).as_secs_f64() * 1000.0,
        _ => 0.0,
    };
    (latencies, failed, burst_ms)
}

/// A scrutineer's `watch` (G2) during the window: new ballots fetched by tracker and verified
/// on every core until the vote is closed and every listed ballot is verified. Returns how
/// many it verified and how long after the close it had them all.
#[allow(clippy::too_many_arguments)]
async fn watch_loop(
    w: usize,
    client: &Client,
    base: &str,
    vote_id: &str,
    sm: piaojue_core::e2e::manifest::SessionManifest,
    vm: piaojue_core::e2e::manifest::VoteManifest,
    key: Arc<piaojue_core::e2e::elgamal::JointKey>,
    closed_at: Arc<std::sync::OnceLock<Instant>>,
) -> Result<(usize, f64), String> {
    use piaojue_core::e2e::ballot::{Ballot, VoteContext, verify_ballot};
    let (sm, vm) = (Arc::new(sm), Arc::new(vm));
    let mut seen = std::collections::HashSet::<String>::new();
    let get = |url: String| async move {
        let r = client.get(&url).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("{url}: {}", r.status()));
        }
        r.json::<Value>().await.map_err(|e| e.to_string())
    };
    loop {
        // The close is read before the list: a list read after it is the final one.
        let closed = closed_at.get().copied();
        let list = get(format!("{base}/api/public/e2e/votes/{vote_id}/ballots")).await?;
        let missing: Vec<String> = list["trackers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .filter(|t| !seen.contains(*t))
            .map(str::to_owned)
            .collect();
        for chunk in missing.chunks(200) {
            let got = get(format!(
                "{base}/api/public/e2e/votes/{vote_id}/ballots?trackers={}",
                chunk.join(",")
            ))
            .await?;
            let values = got["ballots"].as_array().cloned().unwrap_or_default();
            if values.len() != chunk.len() {
                return Err(format!("watcher {w}: not every listed ballot was returned"));
            }
            let (sm, vm, key) = (sm.clone(), vm.clone(), key.clone());
            tokio::task::spawn_blocking(move || {
                let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
                let part = values.len().div_ceil(threads).max(1);
                std::thread::scope(|scope| {
                    let hs: Vec<_> = values
                        .chunks(part)
                        .map(|vs| {
                            let (sm, vm, key) = (&sm, &vm, &key);
                            scope.spawn(move || {
                                vs.iter().try_for_each(|v| {
                                    let b = Ballot::from_json(v, vm).map_err(|e| e.to_string())?;
                                    verify_ballot(
                                        &VoteContext {
                                            manifest_hash: sm.hash(),
                                            vote: vm,
                                            key,
                                        },
                                        &b,
                                    )
                                    .map(|_| ())
                                    .map_err(|e| e.to_string())
                                })
                            })
                        })
                        .collect();
                    hs.into_iter()
                        .try_for_each(|h| h.join().map_err(|_| "verifier panicked".to_string())?)
                })
            })
            .await
            .map_err(|e| e.to_string())??;
            seen.extend(chunk.iter().cloned());
        }
        if let Some(c) = closed
            && missing.is_empty()
        {
            return Ok((seen.len(), c.elapsed().as_secs_f64() * 1000.0));
        }
        if closed.is_none() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn run_encrypted(
    o: &Options,
    base: &str,
    admin: Admin,
    passphrase_file: &Path,
    client: &Client,
    vote: &Value,
    progress: Progress,
) -> Result<Summary, String> {
    use piaojue_core::e2e::{elgamal::JointKey, hex, manifest, transcript};
    let deadline = || Instant::now() + Duration::from_secs(120);
    let vote_id = vote["id"].as_str().unwrap_or("").to_string();
    let get = |path: String| {
        let client = client.clone();
        async move {
            call(&client, reqwest::Method::GET, &path, None, None, deadline())
                .await
                .and_then(|(s, v)| {
                    if s.is_success() {
                        Ok(v)
                    } else {
                        Err(format!("{path}: {s} {v}"))
                    }
                })
        }
    };
    if vote["state"] == "draft" {
        admin_call(
            &admin,
            passphrase_file,
            base,
            "POST",
            &format!("/api/operator/votes/{vote_id}/open"),
            Some(json!({})),
        )
        .await?;
    }
    // The credential officer's roll call opens it.
    let t = Instant::now();
    loop {
        let v = get(format!("{base}/api/public/votes")).await?;
        let state = v["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == vote_id.as_str())
            .map(|x| x["state"].clone());
        if state == Some(json!("open")) {
            break;
        }
        if t.elapsed() > Duration::from_secs(60) {
            return Err(format!(
                "{vote_id}: no roll call from the officer within 60 s"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What a booth checks and uses: the session manifest, K, the vote manifest.
    let sm_bytes = client
        .get(format!("{base}/api/public/e2e/manifest"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    let sm = manifest::SessionManifest::parse(&sm_bytes).map_err(|e| e.to_string())?;
    let ceremony = get(format!("{base}/api/public/e2e/ceremony")).await?;
    let key = JointKey::new(
        hex::decode_array::<32>(ceremony["joint_key"].as_str().unwrap_or(""), "joint_key")
            .map_err(|e| e.to_string())
            .and_then(|k| {
                piaojue_core::e2e::group::Element::decode(&k, "joint_key")
                    .map_err(|e| e.to_string())
            })?,
        "joint_key",
    )
    .map_err(|e| e.to_string())?;
    let view = get(format!("{base}/api/public/e2e/votes/{vote_id}")).await?;
    let vmb = hex::decode(
        view["vote_manifest_hex"].as_str().unwrap_or(""),
        "vote_manifest",
    )
    .map_err(|e| e.to_string())?;
    let vm = manifest::VoteManifest::parse(&vmb, &sm).map_err(|e| e.to_string())?;
    let cards = piaojue::demo::card_seeds(&o.data.join("demo"))?;
    let codes = read_codes(&o.data.join("demo/codes.csv"))?;
    let seeds: Vec<[u8; 32]> = codes
        .iter()
        .take(o.tablets)
        .map(|(id, _)| cards.get(id).copied().ok_or(format!("{id}: no card seed")))
        .collect::<Result<_, _>>()?;
    // Prove every ballot before the burst, on every core.
    let t = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = seeds.len().div_ceil(threads).max(1);
    let ballots: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .chunks(chunk)
            .map(|part| {
                let (sm, vm, key) = (&sm, &vm, &key);
                scope.spawn(move || {
                    part.iter()
                        .map(|card| {
                            piaojue::demo::simulated_ballot(
                                sm,
                                vm,
                                key,
                                card,
                                &piaojue::demo::random_choices(vm)?,
                            )
                        })
                        .collect::<Result<Vec<_>, String>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| "a prover thread panicked".to_string())?
            })
            .collect::<Result<Vec<Vec<Value>>, String>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    eprintln!(
        "loadtest: {} ballots proved in {:.1} s before the burst",
        ballots.len(),
        t.elapsed().as_secs_f64()
    );
    // The appliance's cost per ballot: its own verify_ballot on a sample, here.
    let sample: Vec<_> = ballots.iter().take(50).collect();
    let t = Instant::now();
    for b in &sample {
        let parsed =
            piaojue_core::e2e::ballot::Ballot::from_json(b, &vm).map_err(|e| e.to_string())?;
        piaojue_core::e2e::ballot::verify_ballot(
            &piaojue_core::e2e::ballot::VoteContext {
                manifest_hash: sm.hash(),
                vote: &vm,
                key: &key,
            },
            &parsed,
        )
        .map_err(|e| e.to_string())?;
    }
    let per_ballot = t.elapsed().as_secs_f64() * 1000.0 / sample.len().max(1) as f64;

    let receipts = match &o.receipts {
        Some(p) => Some(Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| format!("{}: {e}", p.display()))?,
        ))),
        None => None,
    };
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let mut casts = Vec::with_capacity(ballots.len());
    let mh = *sm.hash();
    let appliance_key = sm.appliance_key;
    for (i, ballot) in ballots.into_iter().enumerate() {
        let (client, base, vote_id, progress, receipts) = (
            client.clone(),
            base.to_string(),
            vote_id.clone(),
            progress.clone(),
            receipts.clone(),
        );
        let mut go = go_rx.clone();
        let delay = match o.arrival {
            Arrival::Burst => Duration::ZERO,
            Arrival::Spread(s) => Duration::from_secs_f64(s * (i as f64 + 0.5) / o.tablets as f64),
        };
        casts.push(tokio::spawn(async move {
            let start = loop {
                if let Some(t) = *go.borrow_and_update() {
                    break t;
                }
                go.changed().await.map_err(|e| e.to_string())?;
            };
            tokio::time::sleep_until((start + delay).into()).await;
            let sent = Instant::now();
            progress.sent.fetch_add(1, Ordering::Relaxed);
            let (status, r) = call(
                &client,
                reqwest::Method::POST,
                &format!("{base}/api/e2e/votes/{vote_id}/ballots"),
                None,
                Some(&ballot),
                Instant::now() + Duration::from_secs(120),
            )
            .await?;
            if !status.is_success() {
                return Err(format!("cast: {status} {r}"));
            }
            let received = Instant::now();
            // The receipt, checked as the booth checks it.
            let tracker = hex::decode_array::<32>(r["tracker"].as_str().unwrap_or(""), "tracker")
                .map_err(|e| e.to_string())?;
            let sig = hex::decode_array::<64>(r["sig"].as_str().unwrap_or(""), "sig")
                .map_err(|e| e.to_string())?;
            let time = r["time"].as_u64().ok_or("receipt time")?;
            piaojue_core::e2e::credential::verify_field(
                &appliance_key,
                &transcript::receipt_message(&mh, &vote_id, &tracker, time),
                &sig,
                "receipt",
            )
            .map_err(|e| e.to_string())?;
            if let Some(f) = &receipts {
                let mut f = f.lock().await;
                writeln!(f, "{}", hex::encode(&tracker))
                    .and_then(|()| f.flush())
                    .map_err(|e| e.to_string())?;
            }
            progress.acknowledged.fetch_add(1, Ordering::Relaxed);
            Ok::<_, String>((sent, received))
        }));
    }
    // A spread longer than the voting period left: the chair extends it once, as in the hall
    // (60 s is the rules documents' default; a spread of 60 s starts after the proving).
    if let Arrival::Spread(secs) = o.arrival {
        let v = get(format!("{base}/api/public/votes")).await?;
        let left = v["votes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["id"] == vote_id.as_str())
            .and_then(|x| x["seconds_left"].as_f64())
            .unwrap_or(0.0);
        if secs + 10.0 > left {
            let more = (secs + 15.0 - left).ceil().clamp(15.0, 600.0) as u64;
            admin_call(
                &admin,
                passphrase_file,
                base,
                "POST",
                &format!("/api/operator/votes/{vote_id}/extend"),
                Some(json!({ "seconds": more })),
            )
            .await?;
            eprintln!("loadtest: the chair extended {vote_id} by {more} s for a {secs} s spread");
        }
    }
    let closed_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let key = Arc::new(key);
    let watchers: Vec<_> = (0..o.watchers)
        .map(|w| {
            let (client, base, vote_id) = (client.clone(), base.to_string(), vote_id.clone());
            let (sm, vm, key, closed_at) = (sm.clone(), vm.clone(), key.clone(), closed_at.clone());
            tokio::spawn(async move {
                watch_loop(w, &client, &base, &vote_id, sm, vm, key, closed_at).await
            })
        })
        .collect();
    let _ = go_tx.send(Some(Instant::now()));
    let (latencies, failed, burst_ms) = collect(casts, &progress).await;
    let mut summary = Summary {
        tablets: o.tablets,
        cast: progress.sent.load(Ordering::Relaxed),
        acknowledged: latencies.len(),
        failed,
        latencies_ms: latencies,
        burst_ms,
        close_to_bundle_ms: None,
        verify_ms: None,
        server_rss_mb: server_rss_mb(base),
        verify_ms_per_ballot: Some(per_ballot),
        close_to_result_ms: None,
        encrypted: true,
    };
    if o.keep_open {
        return Ok(summary);
    }
    let t = Instant::now();
    admin_call(
        &admin,
        passphrase_file,
        base,
        "POST",
        &format!("/api/operator/votes/{vote_id}/close"),
        Some(json!({})),
    )
    .await?;
    let _ = closed_at.set(t);
    // The officer's closing roll call and k partial decryptions (the demo's simulated people).
    loop {
        let st = get(format!("{base}/api/public/votes/{vote_id}/e2e")).await?;
        if st["decided"] == true {
            break;
        }
        if t.elapsed() > Duration::from_secs(300) {
            return Err(format!(
                "{vote_id}: not decided 300 s after the close: {st}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    summary.close_to_result_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
    for (w, h) in watchers.into_iter().enumerate() {
        match h.await.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok((n, after_close)) => eprintln!(
                "loadtest: watcher {w} verified {n} ballots; caught up {after_close:.0} ms after the close"
            ),
            Err(e) => return Err(format!("watcher {w}: {e}")),
        }
    }
    let bundle = admin
        .call(
            reqwest::Method::GET,
            &format!("/api/operator/votes/{vote_id}/bundle"),
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    summary.close_to_bundle_ms = Some(t.elapsed().as_secs_f64() * 1000.0);
    admin_call(
        &admin,
        passphrase_file,
        base,
        "POST",
        &format!("/api/operator/votes/{vote_id}/announce"),
        Some(json!({})),
    )
    .await?;
    summary.verify_ms = Some(verify_with_binary(&bundle, &hex::encode(&appliance_key))?);
    summary.server_rss_mb = server_rss_mb(base).or(summary.server_rss_mb);
    Ok(summary)
}

/// Enrols the first `tablets` deputies' tablets (each enrolment checks its deputy in). A code
/// already used, by an earlier run or by an enrolment whose answer a crash swallowed, is
/// reissued. Returns the operator session and the tablets' tokens.
async fn enrol(
    admin: Admin,
    client: &Client,
    base: &str,
    passphrase_file: &Path,
    codes: Vec<(String, String)>,
    tablets: usize,
    progress: &Progress,
) -> Result<(Admin, Vec<String>), String> {
    let deadline = || Instant::now() + Duration::from_secs(120);
    let (base, passphrase_file) = (base.to_string(), passphrase_file.to_path_buf());
    // Enrol every tablet (each enrolment checks its deputy in). A code already used, by an
    // earlier run or by an enrolment whose answer a crash swallowed, is reissued.
    let gate = Arc::new(Semaphore::new(64));
    // Deputies whose tablet enrolled in an earlier run get a fresh code first: a used code
    // would count as a failed (guessing) attempt against this machine's address.
    let listed = admin_call(
        &admin,
        &passphrase_file,
        &base,
        "GET",
        "/api/operator/deputies",
        None,
    )
    .await?;
    let enrolled: std::collections::HashSet<String> = listed["deputies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["tablet_enrolled"] == true)
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    let mut codes = codes;
    for (id, code) in codes.iter_mut().take(tablets) {
        if enrolled.contains(id.as_str()) {
            let r = admin_call(
                &admin,
                &passphrase_file,
                &base,
                "POST",
                &format!("/api/operator/deputies/{id}/reissue"),
                Some(json!({ "reason": "负载测试：重新发卡" })),
            )
            .await?;
            *code = r["code"].as_str().unwrap_or("").to_string();
        }
    }
    let mut enrolments = Vec::new();
    let shared_admin = Arc::new(admin);
    for (id, code) in codes.into_iter().take(tablets) {
        let (client, base, gate, admin_base) =
            (client.clone(), base.clone(), gate.clone(), base.clone());
        let passphrase_file = passphrase_file.clone();
        let progress = progress.clone();
        let admin = shared_admin.clone();
        enrolments.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
            let url = format!("{base}/api/tablet/enrol");
            let mut code = code;
            for _ in 0..5 {
                let (status, body) = call(
                    &client,
                    reqwest::Method::POST,
                    &url,
                    None,
                    Some(&json!({ "code": code })),
                    deadline(),
                )
                .await?;
                if status.is_success() {
                    progress.enrolled.fetch_add(1, Ordering::Relaxed);
                    return Ok::<String, String>(body["token"].as_str().unwrap_or("").to_string());
                }
                let r = admin_call(
                    &admin,
                    &passphrase_file,
                    &admin_base,
                    "POST",
                    &format!("/api/operator/deputies/{id}/reissue"),
                    Some(json!({ "reason": "负载测试：重新发卡" })),
                )
                .await?;
                code = r["code"].as_str().unwrap_or("").to_string();
            }
            Err(format!("{id}: could not enrol"))
        }));
    }
    let mut tokens = Vec::with_capacity(tablets);
    for e in enrolments {
        tokens.push(e.await.map_err(|e| e.to_string())??);
    }
    let admin = Arc::try_unwrap(shared_admin)
        .map_err(|_| "the operator session is still shared".to_string())?;
    Ok((admin, tokens))
}

/// Times `piaojue verify` (this same binary) on the bundle; fails if it does not verify.
fn verify_with_binary(bundle: &Value, key: &str) -> Result<f64, String> {
    let dir = std::env::temp_dir().join(format!("piaojue-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("bundle.json");
    std::fs::write(&file, bundle.to_string()).map_err(|e| e.to_string())?;
    // The observer's command, from the `piaojue` binary installed beside this tool.
    let exe = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("piaojue");
    let t = Instant::now();
    let out = std::process::Command::new(exe)
        .arg("verify")
        .arg(&file)
        .args(["--key", key])
        .output()
        .map_err(|e| e.to_string())?;
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        return Err(format!(
            "the bundle does not verify:\n{}",
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(ms)
}

/// The rules a ballot definition implies, enough to draw a valid random ballot.
fn rules_of(definition: &Value) -> Result<Rules, String> {
    let mut doc = json!({
        "kind": definition["kind"],
        "options": definition["options"],
    });
    if definition["kind"] == "project_selection" {
        doc["select_n"] = definition["max_yes"].clone();
        doc["max_yes"] = definition["max_yes"].clone();
        doc["form"] = definition["form"].clone();
    }
    Rules::from_json(doc.to_string().as_bytes()).map_err(|e| e.to_string())
}

/// The demo's `codes.csv` (`id,name,code`, written by the `csv` crate): read as CSV, so a comma
/// or a quote in a name is just part of the name.
fn read_codes(path: &Path) -> Result<Vec<(String, String)>, String> {
    let failed = |e: csv::Error| format!("{}: {e}", path.display());
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(failed)?;
    let mut codes = Vec::new();
    for record in reader.records() {
        let record = record.map_err(failed)?;
        if let (3, Some(id), Some(code)) = (record.len(), record.get(0), record.get(2)) {
            codes.push((id.to_string(), code.to_string()));
        }
    }
    Ok(codes)
}

async fn login(base: &str, passphrase_file: &Path) -> Result<Admin, String> {
    let mut wait = Duration::from_millis(100);
    for _ in 0..60 {
        match Admin::login(base, passphrase_file).await {
            Ok(a) => return Ok(a),
            Err(piaojue::admin::AdminError::Failed(_)) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(1));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("cannot log in to {base}"))
}

/// An operator call that logs in again if the appliance restarted (sessions live in memory).
async fn admin_call(
    admin: &Admin,
    passphrase_file: &Path,
    base: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let payload = || {
        body.clone()
            .map(|b| ("application/json", b.to_string().into_bytes()))
    };
    match admin.call(method.clone(), path, payload()).await {
        Ok(v) => Ok(v),
        Err(piaojue::admin::AdminError::Refused { code, message })
            if code != Refusal::LoginRequired.code() && code != Refusal::LoginExpired.code() =>
        {
            Err(format!("{code}: {message}"))
        }
        Err(_) => {
            let fresh = login(base, passphrase_file).await?;
            fresh
                .call(method, path, payload())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// Peak resident memory of the process listening on `base`'s port, when it runs here.
pub fn server_rss_mb(base: &str) -> Option<f64> {
    let url = reqwest::Url::parse(base).ok()?;
    let host = url.host_str()?;
    if !(host == "localhost" || host.parse::<std::net::IpAddr>().ok()?.is_loopback()) {
        return None;
    }
    let port = url.port_or_known_default()?;
    let inode = listening_inode(port)?;
    let target = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = entry.file_name();
        let Some(pid) = pid
            .to_str()
            .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        if fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == target))
        {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let kb: f64 = status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            return Some(kb / 1024.0);
        }
    }
    None
}

fn listening_inode(port: u16) -> Option<String> {
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(file).ok()?;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN.
            if f.len() > 9
                && f[3] == "0A"
                && f[1].rsplit(':').next() == Some(&format!("{port:04X}"))
            {
                return Some(f[9].to_string());
            }
        }
    }
    None
}

/// A progress line on a terminal (nothing in CI logs).
#[derive(Clone)]
struct Progress {
    total: usize,
    enrolled: Arc<AtomicUsize>,
    sent: Arc<AtomicUsize>,
    acknowledged: Arc<AtomicUsize>,
    ticker: Arc<std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let p = Progress {
            total,
            enrolled: Arc::default(),
            sent: Arc::default(),
            acknowledged: Arc::default(),
            ticker: Arc::default(),
        };
        if std::io::stderr().is_terminal() {
            let q = p.clone();
            let handle = tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let bar = |n: usize| {
                        let filled = n * 30 / q.total.max(1);
                        format!("[{}{}]", "#".repeat(filled), ".".repeat(30 - filled))
                    };
                    let acked = q.acknowledged.load(Ordering::Relaxed);
                    eprint!(
                        "\rloadtest: enrolled {}/{}  receipts {} {}/{}   ",
                        q.enrolled.load(Ordering::Relaxed),
                        q.total,
                        bar(acked),
                        acked,
                        q.total
                    );
                }
            });
            if let Ok(mut t) = p.ticker.lock() {
                *t = Some(handle);
            }
        }
        p
    }

    fn stop(&self) {
        if let Ok(mut t) = self.ticker.lock()
            && let Some(h) = t.take()
        {
            h.abort();
            eprintln!();
        }
    }
}

/// `println!` that never panics: a closed stdout is not our error.
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// Simulated tablets against a running appliance (its demo session).
#[derive(Debug, Parser)]
#[command(name = "piaojue loadtest", version)]
struct Cli {
    /// Trust this CA certificate (PEM) for HTTPS, as every client command does.
    #[arg(long, global = true)]
    cacert: Option<PathBuf>,
    /// The appliance's URL.
    #[arg(long)]
    url: String,
    /// The demo's data directory (for `demo/codes.csv` and `demo/operator-passphrase`).
    #[arg(long, default_value = "./piaojue-data")]
    data: PathBuf,
    /// How many tablets.
    #[arg(long)]
    tablets: usize,
    /// The kind of vote to run: project_selection, satisfaction or motion.
    #[arg(long, default_value = "project_selection")]
    kind: String,
    /// `burst` (all at once) or `spread:SECONDS`.
    #[arg(long, default_value = "burst")]
    arrival: Arrival,
    /// Append each receipt code (encrypted: each tracker, hex) to this file the moment it is
    /// verified.
    #[arg(long)]
    receipts: Option<PathBuf>,
    /// Leave the vote open at the end (no close, announce or verify).
    #[arg(long)]
    keep_open: bool,
    /// The vote to run (default: the first not yet opened of --kind).
    #[arg(long)]
    vote: Option<String>,
    /// Encrypted ballots (SPEC-E2E): the first draft encrypted vote of --kind; the tablets
    /// prove before the burst; the summary line adds verify_ms_per_ballot and
    /// close_to_result_ms at its end.
    #[arg(long)]
    encrypted: bool,
    /// With --encrypted: K scrutineers' watch loops (poll every 500 ms, fetch new ballots in
    /// chunks of 200, verify each on every core, as `piaojue scrutineer watch`) during the
    /// window; after the close each reports when it has verified every listed ballot.
    #[arg(long, default_value_t = 0)]
    watchers: usize,
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> std::process::ExitCode {
    use std::process::ExitCode;
    let cli = Cli::parse();
    if let Some(ca) = cli.cacert {
        if !ca.is_file() {
            eprintln!("error: --cacert {}: no such file", ca.display());
            return ExitCode::from(EXIT_USAGE);
        }
        piaojue::tls::trust(ca);
    }
    let Ok(kind) = serde_json::from_value::<Kind>(Value::String(cli.kind.clone())) else {
        eprintln!(
            "error: --kind `{}`: use project_selection, satisfaction or motion",
            cli.kind
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let options = Options {
        url: cli.url,
        data: cli.data,
        tablets: cli.tablets,
        kind,
        arrival: cli.arrival,
        receipts: cli.receipts,
        keep_open: cli.keep_open,
        vote: cli.vote,
        encrypted: cli.encrypted,
        watchers: cli.watchers,
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(summary) => {
            say!("{}", summary.line());
            if summary.failed > 0 {
                ExitCode::from(EXIT_INVALID)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
