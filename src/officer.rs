//! The credential officer's program (证件官, SPEC-E2E §1.1, §7.3–§7.4), on its own laptop:
//! the officer's key, one sealed card per deputy (the seeds never leave this machine except
//! printed), each vote's manifest and roll call of per-vote credentials, a small HTTPS
//! listener for the tablets' cast notices, and at close the check of every noticed tracker
//! against the appliance's list before the closing roll call is signed with the count.
//!
//! State: `DIR/officer.sealed` (see [`crate::vault`]): the key, the seeds, each vote's
//! manifest and enabled deputies. `DIR/notices/VOTE.jsonl`: the notices received (public
//! data), appended and fsynced. `DIR/tls/`: the listener's CA and certificate (the tablets
//! pin `ca.pem`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use piaojue_core::crypto;
use piaojue_core::e2e::credential::{self, SigningIdentity};
use piaojue_core::e2e::decryption::{Close, RollCall};
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest, VoteParams};
use piaojue_core::e2e::packing::VoteType;
use piaojue_core::e2e::transcript;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::guardian::{Failure, fetch_manifest, get_json as get, parse_hash, refuse, usage};
use crate::vault::Sealer;

const STATE_FILE: &str = "officer.sealed";
const PURPOSE: &str = "piaojue-officer-state";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[derive(Serialize, Deserialize, Clone)]
struct Card {
    name: String,
    delegation: String,
    seat: String,
    /// Hex; the current seed only.
    seed: String,
    issued_at: u64,
    /// SHA-256 of every earlier seed of this deputy, with when it was replaced and why.
    #[serde(default)]
    replaced: Vec<Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct VoteRec {
    manifest_hex: String,
    /// Deputy ids in the roll call, and their per-vote credentials (hex), same order.
    deputies: Vec<String>,
    credentials: Vec<String>,
}

/// Never printed: it holds the key and the seeds.
#[derive(Serialize, Deserialize)]
struct OfficerState {
    key_seed: String,
    #[serde(default)]
    session_manifest_hex: Option<String>,
    #[serde(default)]
    cards: BTreeMap<String, Card>,
    #[serde(default)]
    votes: BTreeMap<String, VoteRec>,
}

/// An officer's directory, opened with its passphrase.
pub struct Officer {
    dir: PathBuf,
    sealer: Sealer,
    state: OfficerState,
    /// The notices received per vote, as stored lines (loaded from the file once per vote:
    /// a burst of 3,000 notices must not re-read the file each time).
    seen: std::collections::HashMap<String, std::collections::HashSet<String>>,
}

impl std::fmt::Debug for Officer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Officer")
            .field("dir", &self.dir)
            .field("cards", &self.state.cards.len())
            .field("votes", &self.state.votes.len())
            .finish_non_exhaustive()
    }
}

impl Officer {
    fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    /// Opens `DIR/officer.sealed`.
    pub fn open(dir: &Path, passphrase_file: Option<&Path>) -> Result<Officer, Failure> {
        let pass = crate::vault::passphrase(passphrase_file).map_err(usage)?;
        let mut sealer = Sealer::new(pass.as_bytes());
        let plain = sealer
            .open(&Self::path(dir), PURPOSE)
            .map_err(|e| usage(e.to_string()))?;
        let state: OfficerState = serde_json::from_slice(&plain)
            .map_err(|e| usage(format!("{}: {e}", Self::path(dir).display())))?;
        Ok(Officer {
            dir: dir.to_path_buf(),
            sealer,
            state,
            seen: std::collections::HashMap::new(),
        })
    }

    fn save(&mut self) -> Result<(), Failure> {
        let plain =
            Zeroizing::new(serde_json::to_vec(&self.state).map_err(|e| usage(e.to_string()))?);
        self.sealer
            .seal(&Self::path(&self.dir), PURPOSE, &plain)
            .map_err(|e| usage(format!("cannot save the state: {e}")))
    }

    fn identity(&self) -> Result<SigningIdentity, Failure> {
        let seed = Zeroizing::new(
            hex::decode_array::<32>(&self.state.key_seed, "key_seed")
                .map_err(|e| usage(e.to_string()))?,
        );
        Ok(SigningIdentity::from_seed(&seed))
    }

    fn session(&self) -> Result<SessionManifest, Failure> {
        let h = self
            .state
            .session_manifest_hex
            .as_deref()
            .ok_or_else(|| usage("no session yet: `piaojue officer open --mh …` pins it"))?;
        let bytes = hex::decode(h, "session_manifest").map_err(|e| usage(e.to_string()))?;
        SessionManifest::parse(&bytes).map_err(|e| usage(e.to_string()))
    }

    fn vote(&self, vote: &str) -> Result<(SessionManifest, VoteManifest, VoteRec), Failure> {
        let sm = self.session()?;
        let rec = self
            .state
            .votes
            .get(vote)
            .cloned()
            .ok_or_else(|| refuse(format!("{vote}: this officer did not open it")))?;
        let bytes = hex::decode(&rec.manifest_hex, "manifest").map_err(|e| usage(e.to_string()))?;
        let vm = VoteManifest::parse(&bytes, &sm).map_err(|e| usage(e.to_string()))?;
        Ok((sm, vm, rec))
    }
}

/// `piaojue officer init DIR`: the officer's key (its public half goes into the session
/// manifest) and the listener's certificate. Returns the public key.
pub fn init(
    dir: &Path,
    passphrase_file: Option<&Path>,
    tls_names: &[String],
) -> Result<String, Failure> {
    if Officer::path(dir).exists() {
        return Err(usage(format!(
            "{} exists: an officer is already set up here",
            Officer::path(dir).display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
    let pass = crate::vault::passphrase(passphrase_file).map_err(usage)?;
    let seed = Zeroizing::new(crypto::random::<32>().map_err(|e| usage(e.to_string()))?);
    let mut o = Officer {
        dir: dir.to_path_buf(),
        seen: std::collections::HashMap::new(),
        sealer: Sealer::new(pass.as_bytes()),
        state: OfficerState {
            key_seed: hex::encode(seed.as_slice()),
            session_manifest_hex: None,
            cards: BTreeMap::new(),
            votes: BTreeMap::new(),
        },
    };
    o.save()?;
    crate::tls::create(dir, tls_names).map_err(usage)?;
    Ok(hex::encode(&o.identity()?.public_key()))
}

/// One roster line.
struct Deputy {
    id: String,
    name: String,
    delegation: String,
    seat: String,
}

fn read_roster(path: &Path) -> Result<Vec<Deputy>, Failure> {
    let mut r = csv::ReaderBuilder::new()
        .from_path(path)
        .map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let headers = r.headers().map_err(|e| usage(e.to_string()))?.clone();
    let col = |n: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == n)
    };
    let (Some(i), Some(n), Some(d), Some(s)) =
        (col("id"), col("name"), col("delegation"), col("seat"))
    else {
        return Err(usage(format!(
            "{}: header must be id,name,delegation,seat",
            path.display()
        )));
    };
    let mut out = Vec::new();
    for (line, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| usage(format!("{}: line {}: {e}", path.display(), line + 2)))?;
        let get = |k: usize| rec.get(k).unwrap_or("").trim().to_string();
        let id = get(i);
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(usage(format!(
                "{}: line {}: id `{id}`",
                path.display(),
                line + 2
            )));
        }
        out.push(Deputy {
            id,
            name: get(n),
            delegation: get(d),
            seat: get(s),
        });
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The printable A4 sheets: one card per deputy, the seed as a QR code and grouped.
fn cards_html(cards: &[(String, Card)]) -> Result<String, Failure> {
    let mut body = String::new();
    for (id, c) in cards {
        let seed: [u8; 32] =
            hex::decode_array(&c.seed, "seed").map_err(|e| usage(e.to_string()))?;
        let printed = crypto::printed_seed(&seed);
        let qr =
            qrcode::QrCode::with_error_correction_level(printed.as_bytes(), qrcode::EcLevel::M)
                .map_err(|e| usage(e.to_string()))?
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(150, 150)
                .build();
        body.push_str(&format!(
            "<section class=\"card\"><h2>表决凭证卡 · 请妥善保管</h2><p class=\"who\">{} <small>{} · 座位 {} · {}</small></p>{qr}<p class=\"seed\">{}</p><p class=\"note\">入场签到后在平板上扫描二维码，或逐组输入（每组末位为校验位）。本卡仅本人使用，遗失请立即告知证件官补办，旧卡随即作废。</p></section>\n",
            escape(&c.name),
            escape(&c.delegation),
            escape(&c.seat),
            escape(id),
            escape(&printed),
        ));
    }
    Ok(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>表决凭证卡</title><style>@page{{size:A4;margin:12mm}}body{{font-family:sans-serif}}.card{{width:88mm;height:128mm;border:1px dashed #888;padding:5mm;display:inline-block;vertical-align:top;margin:2mm;box-sizing:border-box;page-break-inside:avoid}}.seed{{font-family:monospace;font-size:11pt;word-break:break-all}}.note{{font-size:8pt;color:#444}}h2{{font-size:12pt}}</style></head><body>\n{body}</body></html>\n"
    ))
}

/// `piaojue officer cards ROSTER`: a seed for every deputy of the roster without a card
/// (saved, sealed, before the sheet is written); the sheet of the new cards at `out` (0600).
pub fn cards(
    dir: &Path,
    passphrase_file: Option<&Path>,
    roster: &Path,
    out: &Path,
) -> Result<usize, Failure> {
    let mut o = Officer::open(dir, passphrase_file)?;
    let deputies = read_roster(roster)?;
    let mut new = Vec::new();
    for d in deputies {
        if o.state.cards.contains_key(&d.id) {
            continue;
        }
        let seed = Zeroizing::new(crypto::random::<32>().map_err(|e| usage(e.to_string()))?);
        let card = Card {
            name: d.name,
            delegation: d.delegation,
            seat: d.seat,
            seed: hex::encode(seed.as_slice()),
            issued_at: now(),
            replaced: Vec::new(),
        };
        o.state.cards.insert(d.id.clone(), card.clone());
        new.push((d.id, card));
    }
    o.save()?;
    crate::vault::write_private(out, cards_html(&new)?.as_bytes())
        .map_err(|e| usage(format!("{}: {e}", out.display())))?;
    Ok(new.len())
}

/// `piaojue officer replace-card DEPUTY`: a lost or forgotten card gets a new seed for the
/// rest of the session; the old one leaves every later roll call (recorded by its hash).
pub fn replace_card(
    dir: &Path,
    passphrase_file: Option<&Path>,
    deputy: &str,
    reason: &str,
    out: &Path,
) -> Result<(), Failure> {
    if reason.trim().is_empty() {
        return Err(usage("--reason: say why the card is replaced"));
    }
    let mut o = Officer::open(dir, passphrase_file)?;
    let card = o
        .state
        .cards
        .get_mut(deputy)
        .ok_or_else(|| refuse(format!("{deputy}: no card was issued")))?;
    let old = hex::decode(&card.seed, "seed").map_err(|e| usage(e.to_string()))?;
    card.replaced.push(
        json!({ "seed_sha256": hex::encode(&crypto::sha256(&old)), "at": now(), "reason": reason }),
    );
    let seed = Zeroizing::new(crypto::random::<32>().map_err(|e| usage(e.to_string()))?);
    card.seed = hex::encode(seed.as_slice());
    card.issued_at = now();
    let one = vec![(deputy.to_string(), card.clone())];
    o.save()?;
    crate::vault::write_private(out, cards_html(&one)?.as_bytes())
        .map_err(|e| usage(format!("{}: {e}", out.display())))
}

/// What `officer open` is given.
#[derive(Debug)]
pub struct OpenOptions {
    pub url: String,
    pub dir: PathBuf,
    pub passphrase_file: Option<PathBuf>,
    pub mh: Option<String>,
    pub vote_id: String,
    pub vote_type: String,
    pub items: Vec<String>,
    pub max_yes: Option<u64>,
    pub options: Vec<String>,
    /// The hall's count of deputies present; must equal the roll call's size.
    pub confirm_present: Option<u64>,
}

fn client() -> Result<reqwest::Client, Failure> {
    crate::tls::client_builder()
        .map_err(usage)?
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| usage(e.to_string()))
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value, Failure> {
    let r = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {url}: {e}")))?;
    let status = r.status();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(refuse(format!(
            "{url}: {} {}",
            answer["error"], answer["message"]
        )));
    }
    Ok(answer)
}

/// `piaojue officer open`: the vote manifest with a fresh nonce and the opening roll call of
/// the deputies present (from the appliance's attendance, confirmed against the hall's count).
pub async fn open(o: OpenOptions) -> Result<Value, Failure> {
    let mut off = Officer::open(&o.dir, o.passphrase_file.as_deref())?;
    let client = client()?;
    let url = o.url.trim_end_matches('/').to_string();
    let sm = match (&off.state.session_manifest_hex, &o.mh) {
        (Some(_), Some(m)) => {
            let sm = off.session()?;
            if *sm.hash() != parse_hash(m, "mh")? {
                return Err(usage(
                    "--mh differs from the session this officer belongs to",
                ));
            }
            sm
        }
        (Some(_), None) => off.session()?,
        (None, Some(m)) => {
            let sm = fetch_manifest(&client, &url, &parse_hash(m, "mh")?).await?;
            off.state.session_manifest_hex = Some(hex::encode(sm.bytes()));
            sm
        }
        (None, None) => {
            return Err(usage(
                "--mh: the session manifest hash printed on the agenda",
            ));
        }
    };
    if sm.credential_officer != off.identity()?.public_key() {
        return Err(refuse(
            "the session manifest names another credential officer's key",
        ));
    }
    if off.state.votes.contains_key(&o.vote_id) {
        return Err(refuse(format!(
            "{}: already opened (a re-vote takes a new vote_id)",
            o.vote_id
        )));
    }
    let vote_type = VoteType::parse(&o.vote_type).ok_or_else(|| {
        usage(format!(
            "--type {}: motion, per_item, approve_up_to_n or satisfaction",
            o.vote_type
        ))
    })?;
    let vm = VoteParams {
        vote_id: o.vote_id.clone(),
        vote_type,
        items: o.items.clone(),
        max_yes: o.max_yes,
        options: (!o.options.is_empty()).then(|| o.options.clone()),
        nonce: crypto::random::<16>().map_err(|e| usage(e.to_string()))?,
    }
    .build(&sm)
    .map_err(|e| usage(e.to_string()))?;
    let att = get(&client, &format!("{url}/api/public/attendance")).await?;
    let present: Vec<String> = att["present"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut deputies = Vec::new();
    let mut creds = Vec::new();
    let mut no_card = Vec::new();
    for d in &present {
        match off.state.cards.get(d) {
            Some(c) => {
                let seed = Zeroizing::new(
                    hex::decode_array::<32>(&c.seed, "seed").map_err(|e| usage(e.to_string()))?,
                );
                creds.push(
                    SigningIdentity::derive_credential(&seed, sm.hash(), &vm.vote_id).public_key(),
                );
                deputies.push(d.clone());
            }
            None => no_card.push(d.clone()),
        }
    }
    if !no_card.is_empty() {
        crate::say!(
            "注意：以下已签到代表没有凭证卡，不在本次点名中（present without a card）: {no_card:?}"
        );
    }
    let n = deputies.len() as u64;
    match o.confirm_present {
        Some(c) if c == n => {}
        Some(c) => {
            return Err(refuse(format!(
                "点名 {n} 人与大厅清点的 {c} 人不符，未签署（the roll call has {n}, the hall counted {c}; not signed）"
            )));
        }
        None => {
            return Err(usage(format!(
                "本次点名 {n} 人：请与大厅清点人数核对后以 --confirm-present {n} 确认（confirm the hall's count）"
            )));
        }
    }
    let mut pairs: Vec<([u8; 32], String)> = creds.into_iter().zip(deputies).collect();
    pairs.sort_unstable();
    let roll = RollCall::sign(
        &off.identity()?,
        &sm,
        &vm,
        pairs.iter().map(|p| p.0).collect(),
        0,
    );
    // Sealed before the appliance hears of it: the notices of this vote need it.
    off.state.votes.insert(
        o.vote_id.clone(),
        VoteRec {
            manifest_hex: hex::encode(vm.bytes()),
            deputies: pairs.iter().map(|p| p.1.clone()).collect(),
            credentials: pairs.iter().map(|p| hex::encode(&p.0)).collect(),
        },
    );
    off.save()?;
    let answer = post(
        &client,
        &format!("{url}/api/e2e/votes"),
        &json!({ "vote_manifest": hex::encode(vm.bytes()), "roll_call": roll.to_json() }),
    )
    .await?;
    Ok(
        json!({ "vote_id": vm.vote_id, "vmh": hex::encode(vm.hash()), "enabled": n, "appliance": answer }),
    )
}

fn notices_path(dir: &Path, vote: &str) -> PathBuf {
    dir.join("notices").join(format!("{vote}.jsonl"))
}

/// The notices received for a vote (a torn last line after a crash is skipped).
fn read_notices(dir: &Path, vote: &str) -> Vec<Value> {
    std::fs::read_to_string(notices_path(dir, vote))
        .map(|t| {
            t.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks one cast notice (§7.3): the vote is one this officer opened, the credential is in
/// its roll call, the receipt verifies under the appliance key, the notice under the
/// credential. Returns the stored line.
fn check_notice(o: &Officer, n: &Value) -> Result<(String, Value), String> {
    let f = |k: &str| n[k].as_str().ok_or(format!("{k}: missing"));
    let vote = f("vote_id")?.to_string();
    if !piaojue_core::e2e::manifest::valid_vote_id(&vote) {
        return Err("vote_id: not a vote id".into());
    }
    let (sm, _vm, rec) = o.vote(&vote).map_err(|e| e.message)?;
    let tracker = hex::decode_array::<32>(f("tracker")?, "tracker").map_err(|e| e.to_string())?;
    let cred = hex::decode_array::<32>(f("cred_pk")?, "cred_pk").map_err(|e| e.to_string())?;
    let receipt =
        hex::decode_array::<64>(f("receipt_sig")?, "receipt_sig").map_err(|e| e.to_string())?;
    let sig = hex::decode_array::<64>(f("sig")?, "sig").map_err(|e| e.to_string())?;
    let time = n["time"].as_u64().ok_or("time: missing")?;
    if !rec.credentials.contains(&hex::encode(&cred)) {
        return Err("cred_pk: not in this vote's roll call".into());
    }
    credential::verify_field(
        &sm.appliance_key,
        &transcript::receipt_message(sm.hash(), &vote, &tracker, time),
        &receipt,
        "receipt_sig",
    )
    .map_err(|e| e.to_string())?;
    credential::verify_field(
        &cred,
        &transcript::cast_notice_message(sm.hash(), &vote, &tracker, time, &receipt),
        &sig,
        "sig",
    )
    .map_err(|e| e.to_string())?;
    Ok((
        vote,
        json!({ "tracker": hex::encode(&tracker), "cred_pk": hex::encode(&cred), "time": time, "receipt_sig": hex::encode(&receipt), "sig": hex::encode(&sig) }),
    ))
}

/// `piaojue officer serve`: HTTPS on `listen` (the certificate of `DIR/tls/`), `POST
/// /notice` takes a tablet's cast notice. Prints `listening on https://ADDR`.
pub async fn serve(
    dir: PathBuf,
    passphrase_file: Option<PathBuf>,
    listen: String,
) -> Result<(), Failure> {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use std::sync::Arc;
    use tokio::sync::Mutex;

    let officer = Arc::new(Mutex::new(Officer::open(&dir, passphrase_file.as_deref())?));
    async fn notice(
        State((o, pf)): State<(Arc<Mutex<Officer>>, Option<PathBuf>)>,
        body: axum::body::Bytes,
    ) -> axum::response::Response {
        use std::io::Write as _;
        if body.len() > 4096 {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({ "error": "too_large", "message": "a notice is under 4 KiB" })),
            )
                .into_response();
        }
        let Ok(n) = serde_json::from_slice::<Value>(&body) else {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({ "error": "bad_json", "message": "not JSON" })),
            )
                .into_response();
        };
        let mut off = o.lock().await;
        // A vote opened since this listener started: read the sealed state again.
        if let Some(v) = n["vote_id"].as_str()
            && !off.state.votes.contains_key(v)
            && let Ok(fresh) = Officer::open(&off.dir, pf.as_deref())
        {
            *off = fresh;
        }
        let (vote, line) = match check_notice(&off, &n) {
            Ok(x) => x,
            Err(why) => {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "error": "bad_notice", "message": why })),
                )
                    .into_response();
            }
        };
        let dir = off.dir.clone();
        let seen = off.seen.entry(vote.clone()).or_insert_with(|| {
            read_notices(&dir, &vote)
                .iter()
                .map(Value::to_string)
                .collect()
        });
        if seen.contains(&line.to_string()) {
            return axum::Json(json!({ "accepted": "duplicate" })).into_response();
        }
        let path = notices_path(&off.dir, &vote);
        let written = std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))
            .and_then(|()| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
            })
            .and_then(|mut f| {
                f.write_all(format!("{line}\n").as_bytes())
                    .and_then(|()| f.sync_all())
            });
        match written {
            Ok(()) => {
                off.seen.entry(vote).or_default().insert(line.to_string());
                axum::Json(json!({ "accepted": "new" })).into_response()
            }
            Err(e) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({ "error": "internal", "message": e.to_string() })),
            )
                .into_response(),
        }
    }
    // The installed booth is another origin: it may read the answer (no credentials).
    let app = axum::Router::new()
        .route("/notice", axum::routing::post(notice))
        .with_state((officer, passphrase_file))
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.headers_mut().insert(
                    axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    axum::http::HeaderValue::from_static("*"),
                );
                r
            },
        ));
    let config = crate::tls::server_config(&dir).await.map_err(usage)?;
    let listener =
        std::net::TcpListener::bind(&listen).map_err(|e| usage(format!("{listen}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| usage(e.to_string()))?;
    let addr = listener.local_addr().map_err(|e| usage(e.to_string()))?;
    crate::say!("证件官回执接收服务（cast notices）listening on https://{addr}");
    axum_server::from_tcp_rustls(listener, config)
        .map_err(|e| usage(e.to_string()))?
        .serve(app.into_make_service())
        .await
        .map_err(|e| usage(e.to_string()))
}

/// `piaojue officer close VOTE`: after the appliance closed the vote, every noticed tracker
/// (all 32 bytes) must be on its signed list; the closing roll call is signed with the count
/// of distinct notices and sent. Omissions are reported loudly (exit 1) — G3 then refuses
/// the decryption, as it must.
pub async fn close(
    url: &str,
    dir: &Path,
    passphrase_file: Option<&Path>,
    vote: &str,
) -> Result<Value, Failure> {
    let off = Officer::open(dir, passphrase_file)?;
    let (sm, vm, rec) = off.vote(vote)?;
    let client = client()?;
    let url = url.trim_end_matches('/');
    let view = get(&client, &format!("{url}/api/public/e2e/votes/{vote}")).await?;
    let close = Close::from_json(&view["close"], "close")
        .map_err(|_| refuse(format!("{vote} is not closed yet")))?;
    close.verify(&sm, vote).map_err(|e| {
        refuse(format!(
            "the appliance's close statement does not verify: {e}"
        ))
    })?;
    let list = get(
        &client,
        &format!("{url}/api/public/e2e/votes/{vote}/ballots"),
    )
    .await?;
    let listed: std::collections::HashSet<String> = list["trackers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut trackers: Vec<[u8; 32]> = listed
        .iter()
        .filter_map(|t| hex::decode_array::<32>(t, "tracker").ok())
        .collect();
    trackers.sort_unstable();
    let lh = piaojue_core::e2e::tally::list_hash(sm.hash(), vote, &trackers)
        .map_err(|e| refuse(e.to_string()))?;
    if lh != close.list_hash {
        return Err(refuse(
            "the appliance's tracker list does not hash to its signed list hash",
        ));
    }
    let notices = read_notices(dir, vote);
    let mut by_cred: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in &notices {
        by_cred
            .entry(n["cred_pk"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(n["tracker"].as_str().unwrap_or("").to_string());
    }
    let missing: Vec<&Value> = notices
        .iter()
        .filter(|n| !listed.contains(n["tracker"].as_str().unwrap_or("")))
        .collect();
    let cast_count = by_cred.len() as u64;
    let credentials = rec
        .credentials
        .iter()
        .map(|c| hex::decode_array::<32>(c, "credential").map_err(|e| usage(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let roll = RollCall::sign(&off.identity()?, &sm, &vm, credentials, cast_count);
    post(
        &client,
        &format!("{url}/api/e2e/votes/{vote}/roll-call"),
        &roll.to_json(),
    )
    .await?;
    crate::say!(
        "{vote}: 回执 {} 份，张数 {}；已签署截止点名（closing roll call signed: cast_count {cast_count}, n_cast {}）",
        notices.len(),
        cast_count,
        close.n_cast
    );
    let twice: Vec<&String> = by_cred
        .iter()
        .filter(|(_, t)| t.len() > 1)
        .map(|(c, _)| c)
        .collect();
    if !missing.is_empty() || !twice.is_empty() || cast_count != close.n_cast {
        for n in &missing {
            eprintln!(
                "警告：回执所列选票不在表决系统公布的清单中（OMITTED: a noticed ballot is not on the appliance's list）: tracker {} (receipt time {})",
                n["tracker"].as_str().unwrap_or(""),
                n["time"]
            );
        }
        for c in &twice {
            eprintln!("警告：同一凭证发来不同选票的回执（one credential, two trackers）: {c}");
        }
        return Err(refuse(format!(
            "{} noticed ballot(s) missing from the list; cast_count {cast_count} vs n_cast {}: the scrutineers' G3 will refuse to decrypt",
            missing.len(),
            close.n_cast
        )));
    }
    Ok(roll.to_json())
}

#[cfg(test)]
mod tests {
    use piaojue_core::crypto::{parse_seed, printed_seed};

    /// The printed card seeds the booth's reader is tested against (tests/js/card.test.mjs).
    #[test]
    fn card_seeds_print_as_the_shared_vectors_say() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/e2e/card-seeds.json");
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for c in v["cases"].as_array().unwrap() {
            let seed: [u8; 32] =
                piaojue_core::e2e::hex::decode_array(c["seed"].as_str().unwrap(), "seed").unwrap();
            assert_eq!(printed_seed(&seed), c["printed"].as_str().unwrap());
            assert_eq!(parse_seed(c["printed"].as_str().unwrap()), Some(seed));
        }
    }
}
