//! The scrutineer's own program for the key ceremony (`piaojue scrutineer ceremony`,
//! SPEC-E2E §8): it runs on the scrutineer's laptop, reaches the appliance only as a relay,
//! and trusts nothing on the board it can check: it replays every message on its own
//! [`Board`] under the guardian keys of the session manifest whose hash the scrutineer typed
//! from the printed agenda.
//!
//! State: `DIR/guardian.sealed` (see [`crate::vault`]) holds the identity key, the current
//! attempt's polynomial and transport secret, every message made but perhaps not yet
//! delivered (so a crash or a lost answer re-sends the same bytes), and at the end only the
//! key share z. It is sealed before any message leaves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use piaojue_core::e2e::ceremony::{
    self, Board, DRY_RUN_PREFIX, Message, Round1Secrets, SystemSource,
};
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::decryption;
use piaojue_core::e2e::elgamal::JointKey;
use piaojue_core::e2e::group::decode_scalar;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::SessionManifest;
use piaojue_core::e2e::tally;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::vault::Sealer;

const STATE_FILE: &str = "guardian.sealed";
const PURPOSE: &str = "piaojue-guardian-state";

/// What the scrutineer gave on the command line.
#[derive(Debug)]
pub struct Options {
    pub url: String,
    pub dir: PathBuf,
    /// The Ed25519 key file of `piaojue scrutineer keygen` (first run only).
    pub key: Option<PathBuf>,
    /// mh as printed on the agenda (hex, spaces or dashes allowed).
    pub mh: Option<String>,
    pub passphrase_file: Option<PathBuf>,
    /// Give up after this long without finishing.
    pub timeout: Duration,
    /// The dry run's label: `dry-run-LABEL`.
    pub dry_run: String,
    /// Consent to the secretariat's restart with this attempt number.
    pub accept_restart: Option<u64>,
}

/// A failure: exit 1 for a refusal or a check that fails, 2 for a usage problem.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// A usage or I/O problem: exit 2.
pub(crate) fn usage(m: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: m.into(),
    }
}

/// A refusal or a check that fails: exit 1.
pub(crate) fn refuse(m: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: m.into(),
    }
}

/// The sealed state.
struct State {
    mh: [u8; 32],
    index: u64,
    seed: Zeroizing<[u8; 32]>,
    attempt: u64,
    secrets: Option<Zeroizing<Vec<u8>>>,
    /// Messages made for the current attempt, in order; re-sent until the board has them.
    made: Vec<Value>,
    /// z of every attempt this device announced (never overwritten: a later attempt does
    /// not erase a share a key might have been used with).
    shares: BTreeMap<u64, Zeroizing<[u8; 32]>>,
    /// The completed ceremony this device belongs to: (attempt, K). Pinned: a board that
    /// shows anything else afterwards is refused.
    done: Option<(u64, String)>,
    dry_runs: serde_json::Map<String, Value>,
}

impl State {
    /// The sealed plaintext. The secrets' hex copies live in zeroized buffers only (review
    /// M1): the document is written straight into one.
    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            mh: String,
            index: u64,
            identity_seed: &'a str,
            attempt: u64,
            round1_secrets: Option<&'a str>,
            made: &'a [Value],
            shares: BTreeMap<String, &'a str>,
            done: Option<Value>,
            dry_runs: &'a serde_json::Map<String, Value>,
        }
        let seed = Zeroizing::new(hex::encode(self.seed.as_slice()));
        let secrets = self
            .secrets
            .as_ref()
            .map(|s| Zeroizing::new(hex::encode(s)));
        let shares: Vec<(String, Zeroizing<String>)> = self
            .shares
            .iter()
            .map(|(a, z)| (a.to_string(), Zeroizing::new(hex::encode(z.as_slice()))))
            .collect();
        let out = Out {
            mh: hex::encode(&self.mh),
            index: self.index,
            identity_seed: &seed,
            attempt: self.attempt,
            round1_secrets: secrets.as_ref().map(|s| s.as_str()),
            made: &self.made,
            shares: shares
                .iter()
                .map(|(a, z)| (a.clone(), z.as_str()))
                .collect(),
            done: self
                .done
                .as_ref()
                .map(|(a, k)| json!({ "attempt": a, "joint_key": k })),
            dry_runs: &self.dry_runs,
        };
        // Large enough that the buffer is not reallocated (a reallocation would leave a copy).
        let mut buf = Zeroizing::new(Vec::with_capacity(256 * 1024));
        let _ = serde_json::to_writer(&mut *buf, &out);
        buf
    }

    fn from_json(b: &[u8]) -> Result<State, String> {
        let mut v: Value = serde_json::from_slice(b).map_err(|e| e.to_string())?;
        let state = Self::from_value(&v);
        // The parsed document's copies of the secrets are wiped (review M1).
        for key in ["identity_seed", "round1_secrets"] {
            if let Some(Value::String(s)) = v.get_mut(key) {
                zeroize::Zeroize::zeroize(s);
            }
        }
        if let Some(Value::Object(m)) = v.get_mut("shares") {
            for z in m.values_mut() {
                if let Value::String(s) = z {
                    zeroize::Zeroize::zeroize(s);
                }
            }
        }
        state
    }

    fn from_value(v: &Value) -> Result<State, String> {
        let h32 = |f: &str| -> Result<[u8; 32], String> {
            hex::decode_array(v[f].as_str().unwrap_or(""), f).map_err(|e| e.to_string())
        };
        Ok(State {
            mh: h32("mh")?,
            index: v["index"].as_u64().ok_or("index")?,
            seed: Zeroizing::new(h32("identity_seed")?),
            attempt: v["attempt"].as_u64().ok_or("attempt")?,
            secrets: match v["round1_secrets"].as_str() {
                Some(s) => Some(Zeroizing::new(
                    hex::decode(s, "round1_secrets").map_err(|e| e.to_string())?,
                )),
                None => None,
            },
            made: v["made"].as_array().cloned().unwrap_or_default(),
            shares: v["shares"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(a, z)| {
                            let a: u64 = a.parse().map_err(|_| "shares".to_string())?;
                            let z = hex::decode_array::<32>(z.as_str().unwrap_or(""), "z")
                                .map_err(|e| e.to_string())?;
                            Ok((a, Zeroizing::new(z)))
                        })
                        .collect::<Result<BTreeMap<_, _>, String>>()
                })
                .transpose()?
                .unwrap_or_default(),
            done: match &v["done"] {
                Value::Null => None,
                d => Some((
                    d["attempt"].as_u64().ok_or("done.attempt")?,
                    d["joint_key"].as_str().ok_or("done.joint_key")?.to_string(),
                )),
            },
            dry_runs: v["dry_runs"].as_object().cloned().unwrap_or_default(),
        })
    }
}

/// A board that still shows the ceremony this device completed: the same attempt, complete,
/// with the same K (review C2: otherwise a relay could make every device start over and
/// lose the share a key was used with).
fn pinned(board: &Board, attempt: u64, key: &str) -> Result<(), Failure> {
    let a = board.current();
    if a.attempt == attempt && board.joint_key().is_some_and(|k| k.to_hex() == key) {
        return Ok(());
    }
    Err(refuse(format!(
        "公告板与本机已完成的密钥仪式不一致（the board no longer shows the ceremony this device completed: attempt {attempt}, K {key}; it shows attempt {}）：拒绝继续",
        a.attempt
    )))
}

/// Hex from the agenda: spaces and dashes are grouping only.
pub fn parse_hash(s: &str, what: &str) -> Result<[u8; 32], Failure> {
    let clean: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    hex::decode_array(&clean, what).map_err(|e| usage(format!("--{what}: {e}")))
}

struct Guardian {
    url: String,
    client: reqwest::Client,
    dir: PathBuf,
    sealer: Sealer,
    state: State,
    manifest: SessionManifest,
    last_line: String,
    dry_run_label: String,
    /// The secretariat's restart (attempt number) the scrutineer confirmed (--accept-restart).
    accept_restart: Option<u64>,
}

fn say_once(last: &mut String, line: String) {
    if *last != line {
        crate::say!("{line}");
        *last = line;
    }
}

impl Guardian {
    fn save(&mut self) -> Result<(), Failure> {
        let path = self.dir.join(STATE_FILE);
        let plain = self.state.to_json();
        self.sealer
            .seal(&path, PURPOSE, &plain)
            .map_err(|e| usage(format!("cannot save the state: {e}")))
    }

    fn identity(&self) -> SigningIdentity {
        SigningIdentity::from_seed(&self.state.seed)
    }

    async fn fetch_board(&self) -> Result<Board, Failure> {
        let body = get_json(&self.client, &format!("{}/api/public/e2e/board", self.url)).await?;
        // Every message is checked here again, as if the appliance were hostile.
        let mut board = Board::new(self.manifest.clone());
        for (n, m) in body["messages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let (attempt, msg) = Message::from_json(m).map_err(|e| {
                refuse(format!(
                    "公告板第 {n} 条消息格式错误（appliance board message {n} malformed）: {e}"
                ))
            })?;
            board.accept(attempt, msg).map_err(|e| {
                refuse(format!(
                    "公告板第 {n} 条消息未通过本机核验（board message {n} does not verify on this device）: {e}"
                ))
            })?;
        }
        Ok(board)
    }

    async fn post(&self, msg: &Value) -> Result<(), Failure> {
        let url = format!("{}/api/e2e/board", self.url);
        let r = self
            .client
            .post(&url)
            .json(msg)
            .send()
            .await
            .map_err(|e| usage(format!("cannot reach {url}: {e}")))?;
        if r.status().is_success() {
            return Ok(());
        }
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        // Out of turn (a restart or a complaint raced this post): the next look at the board
        // shows why; nothing is lost (review I7).
        if status == reqwest::StatusCode::CONFLICT && body["error"] == "board_conflict" {
            crate::say!(
                "公告板：{}（重新读取）",
                body["message"].as_str().unwrap_or("")
            );
            return Ok(());
        }
        Err(refuse(format!(
            "公告板拒收本人的消息（the board refused this device's message）: {status} {} {}",
            body["error"], body["message"]
        )))
    }

    /// One step: looks at the board, acts if it is this guardian's turn. Ok(true) = done.
    async fn step(&mut self) -> Result<bool, Failure> {
        let board = self.fetch_board().await?;
        let a = board.current().clone();
        let me = self.state.index;
        if let Some((attempt, key)) = &self.state.done {
            pinned(&board, *attempt, key)?;
            return self.dry_run(&board).await;
        }
        if a.attempt != self.state.attempt {
            if a.attempt < self.state.attempt {
                return Err(refuse(format!(
                    "the board is at attempt {}, this device already took part in attempt {}: the board was rolled back",
                    a.attempt, self.state.attempt
                )));
            }
            // A restart after a complaint follows from the verdict this device computed
            // itself; any other is the secretariat's and needs this scrutineer's consent.
            let judged = board
                .attempts()
                .iter()
                .find(|x| x.attempt == self.state.attempt)
                .is_some_and(|x| !x.complaints.is_empty())
                && a.attempt == self.state.attempt + 1;
            if !judged && self.accept_restart != Some(a.attempt) {
                return Err(refuse(format!(
                    "秘书处发起第 {n} 次（restart by the secretariat, attempt {n}）：参加者 {p:?}；原因：{r}。核对无误后加 --accept-restart {n} 重新运行本命令（re-run with --accept-restart {n} if the hall agrees）",
                    n = a.attempt,
                    p = a.participants,
                    r = a.reason
                )));
            }
            crate::say!(
                "第 {} 次：重新开始（attempt {}），参加者 {:?}；原因：{}",
                a.attempt,
                a.attempt,
                a.participants,
                a.reason
            );
            self.state.attempt = a.attempt;
            self.state.secrets = None;
            self.state.made.clear();
            self.save()?;
        }
        if !a.participants.contains(&me) {
            return Err(refuse(format!(
                "本监票人（{me} 号）不在第 {} 次的参加者 {:?} 之中：{}",
                a.attempt, a.participants, a.reason
            )));
        }
        // Deliver whatever was made but is not on the board yet (same bytes: no conflict).
        for m in self.state.made.clone() {
            let on_board = Message::from_json(&m)
                .map(|(at, msg)| board.holds(at, &msg))
                .unwrap_or(false);
            if !on_board {
                self.post(&m).await?;
            }
        }
        if !a.complaints.is_empty() {
            let verdicts: Vec<String> = a
                .complaints
                .iter()
                .map(|(_, v)| {
                    format!(
                        "{}→{}: {}（判定 {} 号有过错）",
                        v.from, v.to, v.reason, v.faulty
                    )
                })
                .collect();
            say_once(
                &mut self.last_line,
                format!(
                    "第 {} 次出现申诉，等待重新开始（complaint; waiting for the restart）: {}",
                    a.attempt,
                    verdicts.join("; ")
                ),
            );
            return Ok(false);
        }
        let mut rng = SystemSource;
        let id = self.identity();
        if !a.round1.contains_key(&me) {
            if self.state.secrets.is_none() {
                let (r1, secrets) =
                    ceremony::make_round1(&a.cc, me, self.manifest.k, &id, &mut rng)
                        .map_err(|e| usage(e.to_string()))?;
                self.state.secrets = Some(secrets.to_bytes());
                self.state.made = vec![Message::Round1(r1).to_json(a.attempt)];
                self.save()?;
                for m in self.state.made.clone() {
                    self.post(&m).await?;
                }
                crate::say!("第一轮：已发送本人的承诺（round 1 sent）");
            }
            return Ok(false);
        }
        let secrets = match &self.state.secrets {
            Some(b) => Some(Round1Secrets::from_bytes(b).map_err(|e| usage(e.to_string()))?),
            None => None,
        };
        let missing1 = a.missing_round1();
        if !missing1.is_empty() {
            say_once(
                &mut self.last_line,
                format!("第一轮：等待监票人 {missing1:?}（waiting for round 1 from {missing1:?}）"),
            );
            return Ok(false);
        }
        let mine_sent = a
            .participants
            .iter()
            .all(|l| *l == me || a.round2.contains_key(&(me, *l)));
        if !mine_sent {
            let Some(s) = &secrets else {
                return Err(refuse(
                    "this device lost its round-1 secrets for this attempt",
                ));
            };
            if !self.state.made.iter().any(|m| m["kind"] == "round2") {
                let blobs = ceremony::make_round2(&a, me, s, &id, &mut rng)
                    .map_err(|e| usage(e.to_string()))?;
                for b in blobs {
                    self.state.made.push(Message::Round2(b).to_json(a.attempt));
                }
                self.save()?;
                for m in self.state.made.clone() {
                    self.post(&m).await?;
                }
                crate::say!("第二轮：已向其他监票人发送加密份额（round 2 shares sent）");
            }
            return Ok(false);
        }
        let to_me: Vec<u64> = a
            .participants
            .iter()
            .filter(|i| **i != me && !a.round2.contains_key(&(**i, me)))
            .copied()
            .collect();
        if !to_me.is_empty() {
            say_once(
                &mut self.last_line,
                format!(
                    "第二轮：等待监票人 {to_me:?} 发给本人的份额（waiting for shares from {to_me:?}）"
                ),
            );
            return Ok(false);
        }
        if !a.announced.contains_key(&me) {
            let Some(s) = &secrets else {
                return Err(refuse(
                    "this device lost its round-1 secrets for this attempt",
                ));
            };
            match ceremony::finish(&a, me, s) {
                Ok(z) => {
                    let msg = a
                        .announcement()
                        .ok_or_else(|| refuse("no key announcement"))?;
                    self.state
                        .shares
                        .insert(a.attempt, Zeroizing::new(z.to_bytes()));
                    let sig = id.sign(&msg);
                    self.state
                        .made
                        .push(Message::KeyAnnounce { guardian: me, sig }.to_json(a.attempt));
                    self.save()?;
                    for m in self.state.made.clone() {
                        self.post(&m).await?;
                    }
                    crate::say!(
                        "第三轮：全部份额核验无误，已签署密钥公告（shares verified; key announcement signed）"
                    );
                }
                Err(bad) => {
                    // One complaint ends the attempt; the others would only be refused.
                    for (from, why) in bad.iter().take(1) {
                        let c = ceremony::make_complaint(&a, *from, me, s, &id, &mut rng)
                            .map_err(|e| usage(e.to_string()))?;
                        self.state
                            .made
                            .push(Message::Complaint(c).to_json(a.attempt));
                        crate::say!(
                            "第三轮：监票人 {from} 发给本人的份额无效（{why}），已提出申诉（complaint filed against guardian {from}）"
                        );
                    }
                    self.save()?;
                    for m in self.state.made.clone() {
                        self.post(&m).await?;
                    }
                }
            }
            return Ok(false);
        }
        if !a.complete() {
            let w = a.missing_announcements();
            say_once(
                &mut self.last_line,
                format!(
                    "等待监票人 {w:?} 签署密钥公告（waiting for the key announcement of {w:?}）"
                ),
            );
            return Ok(false);
        }
        // Complete: pin (attempt, K), erase the polynomial and the transport secret (§8.5),
        // keep z.
        if self.state.done.is_none() {
            let key = board.joint_key().map(|k| k.to_hex()).unwrap_or_default();
            self.state.done = Some((a.attempt, key));
            self.state.secrets = None;
            self.state.made.clear();
            self.save()?;
            let fp = a.fingerprint().unwrap_or_default();
            let key = board.joint_key().map(|k| k.to_hex()).unwrap_or_default();
            crate::say!("");
            crate::say!("密钥指纹（key fingerprint）: {fp}");
            crate::say!("请大声宣读，并与其他每一位监票人屏幕上的指纹核对；全部一致方可继续。");
            crate::say!("(Read it aloud; every scrutineer's screen must show the same.)");
            crate::say!("联合公钥（joint key K）: {key}");
            crate::say!(
                "参加者（participants）: {:?}, 第 {} 次（attempt）",
                a.participants,
                a.attempt
            );
            crate::say!("");
        }
        self.dry_run(&board).await
    }

    async fn dry_run(&mut self, board: &Board) -> Result<bool, Failure> {
        let me = self.state.index;
        let vote_id = format!("{DRY_RUN_PREFIX}{}", self.dry_run_label);
        let posted = board
            .dry_runs()
            .get(&vote_id)
            .is_some_and(|m| m.contains_key(&me));
        if !posted {
            let msg = match self.state.dry_runs.get(&vote_id) {
                Some(m) => m.clone(),
                None => {
                    let z = self
                        .state
                        .done
                        .as_ref()
                        .and_then(|(at, _)| self.state.shares.get(at))
                        .ok_or_else(|| refuse("this device has no key share"))?;
                    let z = decode_scalar(z.as_slice(), "z").map_err(|e| usage(e.to_string()))?;
                    let d = ceremony::make_dry_run(
                        board,
                        &vote_id,
                        me,
                        &z,
                        &self.identity(),
                        &mut SystemSource,
                    )
                    .map_err(|e| usage(e.to_string()))?;
                    let m = Message::DryRun(d).to_json(board.current().attempt);
                    self.state.dry_runs.insert(vote_id.clone(), m.clone());
                    self.save()?;
                    m
                }
            };
            self.post(&msg).await?;
            crate::say!(
                "试运行：已对测试密文做部分解密（dry run {vote_id}: partial decryption sent）"
            );
            return Ok(false);
        }
        let parts = board.current().participants.clone();
        let have: Vec<u64> = board
            .dry_runs()
            .get(&vote_id)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        let waiting: Vec<u64> = parts
            .iter()
            .filter(|p| !have.contains(p))
            .copied()
            .collect();
        if !waiting.is_empty() {
            say_once(
                &mut self.last_line,
                format!("试运行：等待监票人 {waiting:?}（dry run: waiting for {waiting:?}）"),
            );
            return Ok(false);
        }
        match board.check_dry_run(&vote_id) {
            Ok(n) => {
                crate::say!(
                    "试运行通过：任意 {} 位监票人的 {n} 种组合都解密出测试值（dry run {vote_id}: all {n} quorums decrypt the test value）",
                    self.manifest.k
                );
                crate::say!(
                    "仪式完成（ceremony complete）。密钥份额已加密保存在 {}",
                    self.dir.join(STATE_FILE).display()
                );
                Ok(true)
            }
            Err(e) => Err(refuse(format!(
                "试运行失败（dry run {vote_id} failed）: {e}"
            ))),
        }
    }
}

/// `piaojue scrutineer ceremony`.
pub async fn ceremony(o: Options) -> Result<(), Failure> {
    if !(o.url.starts_with("https://") || o.url.starts_with("http://")) {
        return Err(usage(format!("--url {}: not an http(s) URL", o.url)));
    }
    let label_ok = !o.dry_run.is_empty()
        && piaojue_core::e2e::manifest::valid_vote_id(&format!("{DRY_RUN_PREFIX}{}", o.dry_run));
    if !label_ok {
        return Err(usage(format!(
            "--dry-run {}: letters, digits, '-' only",
            o.dry_run
        )));
    }
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&o.dir)
            .map_err(|e| usage(format!("{}: {e}", o.dir.display())))?;
    }
    let pass = crate::vault::passphrase(o.passphrase_file.as_deref()).map_err(usage)?;
    let mut sealer = Sealer::new(pass.as_bytes());
    let client = crate::tls::client_builder()
        .map_err(usage)?
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| usage(e.to_string()))?;
    let url = o.url.trim_end_matches('/').to_string();
    let path = o.dir.join(STATE_FILE);
    let existing = if path.exists() {
        let plain = sealer
            .open(&path, PURPOSE)
            .map_err(|e| usage(e.to_string()))?;
        Some(State::from_json(&plain).map_err(|e| usage(format!("{}: {e}", path.display())))?)
    } else {
        None
    };
    let typed = o.mh.as_deref().map(|m| parse_hash(m, "mh")).transpose()?;
    let mh = match (&existing, typed) {
        (Some(s), Some(t)) if s.mh != t => {
            return Err(usage(
                "--mh differs from the session this directory belongs to",
            ));
        }
        (Some(s), _) => s.mh,
        (None, Some(t)) => t,
        (None, None) => {
            return Err(usage(
                "--mh: type the session manifest hash printed on the agenda (打印议程附页)",
            ));
        }
    };
    let manifest = fetch_manifest(&client, &url, &mh).await?;
    let state = match existing {
        Some(s) => s,
        None => {
            let key = o.key.as_deref().ok_or_else(|| {
                usage("--key: the key file of `piaojue scrutineer keygen` (first run)")
            })?;
            let seed = read_seed(key)?;
            let public = SigningIdentity::from_seed(&seed).public_key();
            let index = manifest
                .guardian_ids
                .iter()
                .position(|g| *g == public)
                .ok_or_else(|| {
                    refuse("this key is not one of the session manifest's scrutineers")
                })? as u64
                + 1;
            State {
                mh,
                index,
                seed,
                attempt: 1,
                secrets: None,
                made: Vec::new(),
                shares: BTreeMap::new(),
                done: None,
                dry_runs: serde_json::Map::new(),
            }
        }
    };
    crate::say!(
        "监票人 {} 号（guardian {} of {}，门限 k = {}）；会议清单 mh 核对一致：{}",
        state.index,
        state.index,
        manifest.n(),
        manifest.k,
        piaojue_core::crypto::fingerprint_grouped(&hex::encode(&mh))
    );
    let mut g = Guardian {
        url,
        client,
        dir: o.dir.clone(),
        sealer,
        state,
        manifest,
        last_line: String::new(),
        dry_run_label: o.dry_run.clone(),
        accept_restart: o.accept_restart,
    };
    g.save()?;
    let deadline = Instant::now() + o.timeout;
    loop {
        if g.step().await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(refuse(format!(
                "未在 {} 秒内完成（not finished within {} s）: {}",
                o.timeout.as_secs(),
                o.timeout.as_secs(),
                g.last_line
            )));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn read_seed(path: &Path) -> Result<Zeroizing<[u8; 32]>, Failure> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?,
    );
    piaojue_core::crypto::unhex::<32>(text.trim())
        .map(Zeroizing::new)
        .ok_or_else(|| usage(format!("{}: not a key file", path.display())))
}

/// The manifest from the appliance, accepted only if its SHA-256 is the typed mh.
pub async fn fetch_manifest(
    client: &reqwest::Client,
    url: &str,
    mh: &[u8; 32],
) -> Result<SessionManifest, Failure> {
    let u = format!("{url}/api/public/e2e/manifest");
    let r = client
        .get(&u)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {u}: {e}")))?;
    if !r.status().is_success() {
        return Err(refuse(format!("{u}: {}", r.status())));
    }
    let bytes = r.bytes().await.map_err(|e| usage(e.to_string()))?;
    let sm = SessionManifest::parse(&bytes)
        .map_err(|e| refuse(format!("the appliance's manifest is invalid: {e}")))?;
    if sm.hash() != mh {
        return Err(refuse(format!(
            "表决系统提供的会议清单与议程上打印的 mh 不一致（the appliance's manifest hashes to {}, not the agenda's mh）",
            hex::encode(sm.hash())
        )));
    }
    Ok(sm)
}

// ------------------------------------------------------------------------------ decryption

/// What `scrutineer watch` and `scrutineer decrypt` are given.
#[derive(Debug)]
pub struct VoteOptions {
    pub url: String,
    pub dir: PathBuf,
    pub passphrase_file: Option<PathBuf>,
    pub vote: String,
    /// The list hash as shown on the hall screen (decrypt only).
    pub list_hash: Option<String>,
    /// Deputies present (出席) as announced in the hall.
    pub hall_present: Option<u64>,
    /// The legal minimum participation.
    pub quorum: Option<u64>,
    pub timeout: Duration,
    /// Send again the partial this device already signed for the vote (same list only).
    pub resend: bool,
}

/// This device's verified copy of a vote's ballots: `DIR/votes/VOTE-VMH.jsonl`, one
/// `{"tracker","ballot","mac"}` per line, appended and fsynced after each ballot was verified
/// here. The MAC (HMAC-SHA256 under a key derived from the sealed identity) means a line
/// slipped into the file by someone without the passphrase is refused, not trusted as
/// verified (review I6).
struct Local {
    path: PathBuf,
    key: ring::hmac::Key,
    ballots: std::collections::BTreeMap<[u8; 32], piaojue_core::e2e::ballot::Ballot>,
}

/// The key of this device's local ballot MACs.
fn local_key(seed: &[u8; 32]) -> ring::hmac::Key {
    let mut material = Zeroizing::new(b"piaojue local ballots\0".to_vec());
    material.extend_from_slice(seed);
    let k = Zeroizing::new(piaojue_core::crypto::sha256(&material));
    ring::hmac::Key::new(ring::hmac::HMAC_SHA256, k.as_slice())
}

fn local_mac(key: &ring::hmac::Key, tracker: &str, ballot: &str) -> String {
    hex::encode(ring::hmac::sign(key, format!("{tracker}\n{ballot}").as_bytes()).as_ref())
}

impl Local {
    fn load(
        dir: &Path,
        vote: &str,
        vm: &piaojue_core::e2e::manifest::VoteManifest,
        mh: &[u8; 32],
        seed: &[u8; 32],
    ) -> Result<Local, Failure> {
        let key = local_key(seed);
        let votes = dir.join("votes");
        std::fs::create_dir_all(&votes).map_err(|e| usage(format!("{}: {e}", votes.display())))?;
        // Named by the vote manifest's hash: ballots verified under one manifest are never
        // reused under another the appliance might serve later (review I6).
        let path = votes.join(format!("{vote}-{}.jsonl", &hex::encode(vm.hash())[..16]));
        let mut ballots = std::collections::BTreeMap::new();
        if let Ok(text) = std::fs::read_to_string(&path) {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let v: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    // A torn last line after a crash: that ballot is fetched and verified again.
                    Err(_) => continue,
                };
                let b = piaojue_core::e2e::ballot::Ballot::from_json(&v["ballot"], vm)
                    .map_err(|e| usage(format!("{}: {e}", path.display())))?;
                let t = b.tracker(mh, vote);
                let want = local_mac(
                    &key,
                    &hex::encode(&t),
                    &b.to_json(vote, vm.shape()).to_string(),
                );
                if v["mac"].as_str() != Some(want.as_str()) {
                    return Err(refuse(format!(
                        "G2: {} holds a ballot this device did not verify (tracker {}): the file was altered; delete it to verify every ballot again",
                        path.display(),
                        hex::encode(&t)
                    )));
                }
                ballots.insert(t, b);
            }
        }
        Ok(Local { path, key, ballots })
    }

    fn append(
        &mut self,
        vote: &str,
        vm: &piaojue_core::e2e::manifest::VoteManifest,
        new: Vec<([u8; 32], piaojue_core::e2e::ballot::Ballot)>,
    ) -> Result<(), Failure> {
        use std::io::Write as _;
        if new.is_empty() {
            return Ok(());
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| usage(format!("{}: {e}", self.path.display())))?;
        let mut text = String::new();
        for (t, b) in &new {
            let (th, bj) = (hex::encode(t), b.to_json(vote, vm.shape()));
            let mac = local_mac(&self.key, &th, &bj.to_string());
            text.push_str(&json!({ "tracker": th, "ballot": bj, "mac": mac }).to_string());
            text.push('\n');
        }
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| usage(format!("{}: {e}", self.path.display())))?;
        self.ballots.extend(new);
        Ok(())
    }
}

/// A scrutineer's device after the ceremony: its share and the session it belongs to.
struct Decryptor {
    url: String,
    client: reqwest::Client,
    dir: PathBuf,
    state: State,
    manifest: SessionManifest,
    board: Board,
}

/// GETs a JSON answer; a refusal is a failure naming the URL and the appliance's reason.
pub(crate) async fn get_json(client: &reqwest::Client, url: &str) -> Result<Value, Failure> {
    let r = client
        .get(url)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {url}: {e}")))?;
    let status = r.status();
    let body: Value = r
        .json()
        .await
        .map_err(|e| refuse(format!("{url}: not JSON: {e}")))?;
    if !status.is_success() {
        return Err(refuse(format!(
            "{url}: {} {}",
            body["error"], body["message"]
        )));
    }
    Ok(body)
}

impl Decryptor {
    async fn open(o: &VoteOptions) -> Result<Decryptor, Failure> {
        let pass = crate::vault::passphrase(o.passphrase_file.as_deref()).map_err(usage)?;
        let mut sealer = Sealer::new(pass.as_bytes());
        let path = o.dir.join(STATE_FILE);
        let plain = sealer
            .open(&path, PURPOSE)
            .map_err(|e| usage(e.to_string()))?;
        let state =
            State::from_json(&plain).map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let Some((attempt, key)) = state.done.clone() else {
            return Err(usage(
                "this device has no key share: run `piaojue scrutineer ceremony` first",
            ));
        };
        let client = crate::tls::client_builder()
            .map_err(usage)?
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| usage(e.to_string()))?;
        let url = o.url.trim_end_matches('/').to_string();
        let manifest = fetch_manifest(&client, &url, &state.mh).await?;
        let g = Guardian {
            url: url.clone(),
            client: client.clone(),
            dir: o.dir.clone(),
            sealer: Sealer::new(pass.as_bytes()),
            state: State::from_json(&plain).map_err(usage)?,
            manifest: manifest.clone(),
            last_line: String::new(),
            dry_run_label: String::new(),
            accept_restart: None,
        };
        let board = g.fetch_board().await?;
        pinned(&board, attempt, &key)?;
        Ok(Decryptor {
            url,
            client,
            dir: o.dir.clone(),
            state,
            manifest,
            board,
        })
    }

    fn key(&self) -> Result<JointKey, Failure> {
        let k = self
            .board
            .joint_key()
            .ok_or_else(|| refuse("no joint key"))?;
        JointKey::new(k, "joint_key").map_err(|e| refuse(e.to_string()))
    }

    async fn vote_view(
        &self,
        vote: &str,
    ) -> Result<(Value, piaojue_core::e2e::manifest::VoteManifest), Failure> {
        let v = get_json(
            &self.client,
            &format!("{}/api/public/e2e/votes/{vote}", self.url),
        )
        .await?;
        let bytes = hex::decode(
            v["vote_manifest_hex"].as_str().unwrap_or(""),
            "vote_manifest_hex",
        )
        .map_err(|e| refuse(e.to_string()))?;
        let vm = piaojue_core::e2e::manifest::VoteManifest::parse(&bytes, &self.manifest)
            .map_err(|e| refuse(format!("the vote manifest does not verify: {e}")))?;
        if vm.vote_id != vote {
            return Err(refuse("the vote manifest names another vote"));
        }
        Ok((v, vm))
    }

    /// Fetches every listed ballot this device has not verified, verifies them on all cores,
    /// appends them. A ballot that fails stops everything (G2), naming its tracker.
    async fn catch_up(
        &self,
        vote: &str,
        vm: &piaojue_core::e2e::manifest::VoteManifest,
        local: &mut Local,
    ) -> Result<usize, Failure> {
        let list = get_json(
            &self.client,
            &format!("{}/api/public/e2e/votes/{vote}/ballots", self.url),
        )
        .await?;
        let trackers: Vec<String> = list["trackers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let missing: Vec<String> = trackers
            .iter()
            .filter(|t| {
                hex::decode_array::<32>(t, "tracker")
                    .map(|t| !local.ballots.contains_key(&t))
                    .unwrap_or(true)
            })
            .cloned()
            .collect();
        let key = std::sync::Arc::new(self.key()?);
        let mut added = 0;
        for chunk in missing.chunks(200) {
            let got = get_json(
                &self.client,
                &format!(
                    "{}/api/public/e2e/votes/{vote}/ballots?trackers={}",
                    self.url,
                    chunk.join(",")
                ),
            )
            .await?;
            let values: Vec<Value> = got["ballots"].as_array().cloned().unwrap_or_default();
            if values.len() != chunk.len() {
                return Err(refuse(
                    "G2: the appliance did not return every listed ballot",
                ));
            }
            let (sm, vm2, key2, names) = (
                self.manifest.clone(),
                vm.clone(),
                key.clone(),
                chunk.to_vec(),
            );
            let verified =
                tokio::task::spawn_blocking(move || verify_all(&sm, &vm2, &key2, &values, &names))
                    .await
                    .map_err(|e| usage(e.to_string()))??;
            added += verified.len();
            local.append(vote, vm, verified)?;
        }
        Ok(added)
    }
}

/// §7.6 1–6 for each ballot, on every core; each must hash to the tracker it was listed under.
fn verify_all(
    sm: &SessionManifest,
    vm: &piaojue_core::e2e::manifest::VoteManifest,
    key: &JointKey,
    values: &[Value],
    names: &[String],
) -> Result<Vec<([u8; 32], piaojue_core::e2e::ballot::Ballot)>, Failure> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let per = values.len().div_ceil(threads).max(1);
    let results: Vec<Result<Vec<_>, Failure>> = std::thread::scope(|s| {
        let handles: Vec<_> = values
            .chunks(per)
            .zip(names.chunks(per))
            .map(|(vs, ns)| {
                s.spawn(move || {
                    vs.iter()
                        .zip(ns)
                        .map(|(v, name)| {
                            let b = piaojue_core::e2e::ballot::Ballot::from_json(v, vm)
                                .map_err(|e| refuse(format!("G2: ballot {name}: {e}")))?;
                            let t = decryption::verify_one(sm, vm, key, &b).map_err(|e| {
                                refuse(format!(
                                    "G2: ballot {name} does not verify on this device: {e}"
                                ))
                            })?;
                            if hex::encode(&t) != *name {
                                return Err(refuse(format!(
                                    "G2: ballot listed as {name} hashes to {}",
                                    hex::encode(&t)
                                )));
                            }
                            Ok((t, b))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(usage("a verifier thread failed")))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// `piaojue scrutineer watch VOTE`: verifies the vote's ballots as they arrive, until it closes.
pub async fn watch(o: VoteOptions) -> Result<(), Failure> {
    let d = Decryptor::open(&o).await?;
    let (_, vm) = d.vote_view(&o.vote).await?;
    let mut local = Local::load(&d.dir, &o.vote, &vm, &d.state.mh, &d.state.seed)?;
    let deadline = Instant::now() + o.timeout;
    loop {
        let (view, _) = d.vote_view(&o.vote).await?;
        let added = d.catch_up(&o.vote, &vm, &mut local).await?;
        if added > 0 {
            crate::say!(
                "已在本机核验 {} 张选票（{} ballots verified on this device）",
                local.ballots.len(),
                local.ballots.len()
            );
        }
        if !view["close"].is_null() {
            crate::say!(
                "表决已截止，本机共核验 {} 张（vote closed; {} verified here）",
                local.ballots.len(),
                local.ballots.len()
            );
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(refuse("the vote did not close before the timeout"));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The persistent once-per-vote log (G5): `DIR/decrypted.json`, vote_id → {lh, n_cast}.
fn decrypted_log(dir: &Path) -> Result<serde_json::Map<String, Value>, Failure> {
    let p = dir.join("decrypted.json");
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice::<Value>(&b)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .ok_or_else(|| {
                usage(format!(
                    "{}: not the decryption log; refusing to decrypt anything",
                    p.display()
                ))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::Map::new()),
        Err(e) => Err(usage(format!("{}: {e}", p.display()))),
    }
}

/// `piaojue scrutineer decrypt VOTE`: the checklist G1–G6 (SPEC-E2E §9.2a), then this
/// guardian's signed partial decryption of the item totals, once.
pub async fn decrypt(o: VoteOptions) -> Result<(), Failure> {
    let check = |name: &str, ok: bool, why: String| -> Result<(), Failure> {
        if ok {
            crate::say!("{name} 通过（holds）");
            Ok(())
        } else {
            Err(refuse(format!("拒绝解密（refused）: {name}: {why}")))
        }
    };
    let d = Decryptor::open(&o).await?;
    let vote = o.vote.clone();
    if vote.starts_with(DRY_RUN_PREFIX) {
        return Err(usage(
            "dry-run-… votes are the ceremony's: `scrutineer ceremony --dry-run`",
        ));
    }
    // The log is read, checked and written under an exclusive lock: two runs at once cannot
    // erase each other's entries (review I5).
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(d.dir.join("decrypted.lock"))
        .and_then(|f| f.lock().map(|()| f))
        .map_err(|e| usage(format!("cannot lock the decryption log: {e}")))?;
    // G5 first: a vote decrypted once is never decrypted again, whatever the list. The same
    // signed partial may be sent again (a crash or a lost answer): that is not a decryption.
    let mut log = decrypted_log(&d.dir)?;
    if let Some(entry) = log.get(&vote).cloned() {
        let same = o
            .list_hash
            .as_deref()
            .and_then(|h| parse_hash(h, "list-hash").ok())
            .is_some_and(|t| hex::encode(&t) == entry["list_hash"].as_str().unwrap_or(""));
        if same && o.resend && !entry["partial"].is_null() {
            crate::say!(
                "G5 本机已解密过 {vote}：重新发送同一份已签署的部分解密，不再解密（re-sending this device's earlier partial; no new decryption）"
            );
            post_partial(&d, &vote, &entry["partial"]).await?;
            drop(lock);
            return Ok(());
        }
        check(
            "G5 每次表决只解密一次（once per vote）",
            false,
            format!(
                "this device already decrypted {vote} (list {}, n_cast {}); --resend sends the same signed partial again if it was lost",
                entry["list_hash"].as_str().unwrap_or(""),
                entry["n_cast"]
            ),
        )?;
    }
    crate::say!("G5 每次表决只解密一次（once per vote）通过（holds）");
    let typed = o
        .list_hash
        .as_deref()
        .ok_or_else(|| usage("--list-hash: type or scan the list hash shown on the hall screen"))
        .and_then(|h| parse_hash(h, "list-hash"))?;
    let (view, vm) = d.vote_view(&vote).await?;
    // G1: closed, signed, the hall's hash.
    let close = decryption::Close::from_json(&view["close"], "close");
    let close = match close {
        Ok(c) => c,
        Err(_) => {
            return check(
                "G1 已截止并公布清单哈希（closed and committed）",
                false,
                "the vote is not closed".into(),
            );
        }
    };
    check(
        "G1 截止声明签名（close statement signed by the pinned appliance key）",
        close.verify(&d.manifest, &vote).is_ok(),
        "the close signature does not verify under the session manifest's appliance key".into(),
    )?;
    let mut local = Local::load(&d.dir, &vote, &vm, &d.state.mh, &d.state.seed)?;
    d.catch_up(&vote, &vm, &mut local).await?;
    let ballots: Vec<piaojue_core::e2e::ballot::Ballot> = local.ballots.values().cloned().collect();
    let trackers: Vec<[u8; 32]> = local.ballots.keys().copied().collect();
    let roll = decryption::RollCall::from_json(&view["roll_call"], "roll_call");
    let roll = match roll {
        Ok(r) => r,
        Err(_) => {
            return check(
                "G3 证件官签署的点名（the CO's closing roll call）",
                false,
                "no closing roll call".into(),
            );
        }
    };
    // G2: every ballot verified here (catch_up), credentials in the roll call, unique, sorted.
    let lh = decryption::check_list(&d.manifest, &vm, &roll, &ballots, &trackers).map_err(|p| {
        refuse(format!(
            "拒绝解密（refused）: G2: ballot {}: {}",
            hex::encode(&trackers.get(p.index).copied().unwrap_or_default()),
            p.reason
        ))
    })?;
    crate::say!(
        "G2 全部 {} 张选票已在本机核验（every ballot verified on this device）",
        ballots.len()
    );
    check(
        "G1 清单哈希与大厅屏幕一致（list hash equals the hall's）",
        typed == lh && close.list_hash == lh,
        format!(
            "hall {}, this device {}, appliance's close statement {}",
            hex::encode(&typed),
            hex::encode(&lh),
            hex::encode(&close.list_hash)
        ),
    )?;
    let n_cast = ballots.len() as u64;
    check(
        "G1 张数（n_cast）",
        close.n_cast == n_cast,
        format!(
            "close statement says {}, the list holds {n_cast}",
            close.n_cast
        ),
    )?;
    // G3: the CO's count.
    check(
        "G3 点名签名（roll call signed by the pinned CO key）",
        roll.verify(&d.manifest, &vm, "roll_call").is_ok(),
        "the closing roll call's signature does not verify".into(),
    )?;
    let enabled = roll.credentials.len() as u64;
    check(
        "G3 票数与证件官计数一致（n_cast = cast_count ≤ enabled ≤ max_electorate, n_cast < T）",
        n_cast == roll.cast_count
            && n_cast <= enabled
            && enabled <= d.manifest.max_electorate
            && n_cast < d.manifest.radix,
        format!(
            "n_cast {n_cast}, cast_count {}, enabled {enabled}, max_electorate {}, T {}",
            roll.cast_count, d.manifest.max_electorate, d.manifest.radix
        ),
    )?;
    if let Some(present) = o.hall_present {
        check(
            "G3 不超过出席人数（cast_count ≤ present in the hall）",
            roll.cast_count <= present,
            format!("cast_count {} > {present} present", roll.cast_count),
        )?;
    }
    if let Some(q) = o.quorum {
        check(
            "G3 达到法定人数（quorum）",
            roll.cast_count >= q && o.hall_present.is_none_or(|p| p >= q),
            format!(
                "cast_count {}, present {:?}, quorum {q}",
                roll.cast_count, o.hall_present
            ),
        )?;
    }
    // G4: the totals are this device's own aggregate; the appliance's must match.
    let totals = tally::aggregate(&ballots, vm.shape().m()).map_err(|e| refuse(e.to_string()))?;
    let theirs: Vec<Value> = view["totals"].as_array().cloned().unwrap_or_default();
    let ours: Vec<Value> = totals
        .iter()
        .map(|t| json!({ "A": t.a.to_hex(), "B": t.b.to_hex() }))
        .collect();
    check(
        "G4 只解密本机自行汇总的各项总和（totals only, aggregated here）",
        theirs == ours,
        "the appliance asks to decrypt ciphertexts that are not this device's aggregate of the listed ballots".into(),
    )?;
    // G6: bound to lh and n_cast.
    let me = d.state.index;
    let a = d.board.current();
    let z_pub = a
        .verification_key(me)
        .ok_or_else(|| refuse("no Z for this guardian"))?;
    let share = d
        .state
        .done
        .as_ref()
        .and_then(|(at, _)| d.state.shares.get(at))
        .ok_or_else(|| usage("this device has no key share"))?;
    let z = decode_scalar(share.as_slice(), "z").map_err(|e| usage(e.to_string()))?;
    if z_pub.point() != &piaojue_core::e2e::group::mul_base(&z) {
        return Err(refuse(
            "this device's share does not match its public key Z on the board",
        ));
    }
    let k = d.board.joint_key().ok_or_else(|| refuse("no joint key"))?;
    let st = decryption::Statement {
        session: &d.manifest,
        vote: &vm,
        key: &k,
        cc: &a.cc,
        list_hash: &lh,
        n_cast,
        totals: &totals,
    };
    let p = st
        .decrypt(
            me,
            &z,
            &z_pub,
            &SigningIdentity::from_seed(&d.state.seed),
            &mut SystemSource,
        )
        .map_err(|e| usage(e.to_string()))?;
    crate::say!("G6 部分解密绑定清单哈希与张数（bound to lh and n_cast）");
    // G5: the entry, with the signed partial, is written before the share leaves.
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    log.insert(
        vote.clone(),
        json!({ "list_hash": hex::encode(&lh), "n_cast": n_cast, "at": at, "partial": p.to_json() }),
    );
    crate::vault::write_private(
        &d.dir.join("decrypted.json"),
        &serde_json::to_vec_pretty(&log).unwrap_or_default(),
    )
    .map_err(|e| usage(format!("cannot write the decryption log: {e}")))?;
    drop(lock);
    let body = post_partial(&d, &vote, &p.to_json()).await?;
    if !body["result"].is_null() {
        crate::say!("合并结果（combined）: {}", body["result"]["counts"]);
    }
    Ok(())
}

/// Sends a signed partial decryption to the appliance.
async fn post_partial(d: &Decryptor, vote: &str, partial: &Value) -> Result<Value, Failure> {
    let url = format!("{}/api/e2e/votes/{vote}/partials", d.url);
    let r = d
        .client
        .post(&url)
        .json(partial)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {url}: {e}")))?;
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(refuse(format!(
            "the appliance refused the partial decryption: {} {}",
            body["error"], body["message"]
        )));
    }
    crate::say!("已发布本人对 {vote} 的部分解密（partial decryption of {vote} published）");
    Ok(body)
}

// ------------------------------------------------------------------------------ Benaloh audit

/// `piaojue scrutineer audit`: checks, on this independent device, a ballot the booth revealed
/// for 核验 (§12): the document `{"format":"piaojue-audit/1","vote_id","ballot":{…},
/// "choices":[…],"r":[…],"s":[…],"shown":"XXXX-XXXX-XXXX-XXXX"}` the booth shows as a QR code.
/// The session is pinned by mh; the key and the vote manifest are checked, not trusted.
/// Returns the lines to show the deputy.
pub async fn audit(url: &str, mh: &str, file: &Path) -> Result<Vec<String>, Failure> {
    let bytes = if file == Path::new("-") {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin(), 1 << 20), &mut b)
            .map_err(|e| usage(e.to_string()))?;
        b
    } else {
        std::fs::read(file).map_err(|e| usage(format!("{}: {e}", file.display())))?
    };
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(format!("not an audit document: {e}")))?;
    if doc["format"] != "piaojue-audit/1" {
        return Err(refuse("format: not piaojue-audit/1"));
    }
    let vote = doc["vote_id"].as_str().unwrap_or("");
    if !piaojue_core::e2e::manifest::valid_vote_id(vote) {
        return Err(refuse("vote_id: not a vote id"));
    }
    let client = crate::tls::client_builder()
        .map_err(usage)?
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| usage(e.to_string()))?;
    let url = url.trim_end_matches('/');
    let sm = fetch_manifest(&client, url, &parse_hash(mh, "mh")?).await?;
    // K only from a complete ceremony this device replays itself.
    let body = get_json(&client, &format!("{url}/api/public/e2e/board")).await?;
    let mut board = Board::new(sm.clone());
    for m in body["messages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let (a, msg) = Message::from_json(m).map_err(|e| refuse(e.to_string()))?;
        board
            .accept(a, msg)
            .map_err(|e| refuse(format!("the board does not verify: {e}")))?;
    }
    let k = board
        .joint_key()
        .ok_or_else(|| refuse("the ceremony is not complete"))?;
    let key = JointKey::new(k, "joint_key").map_err(|e| refuse(e.to_string()))?;
    let view = get_json(&client, &format!("{url}/api/public/e2e/votes/{vote}")).await?;
    let vmb = hex::decode(
        view["vote_manifest_hex"].as_str().unwrap_or(""),
        "vote_manifest_hex",
    )
    .map_err(|e| refuse(e.to_string()))?;
    let vm = piaojue_core::e2e::manifest::VoteManifest::parse(&vmb, &sm)
        .map_err(|e| refuse(format!("the vote manifest does not verify: {e}")))?;
    if vm.vote_id != vote {
        return Err(refuse("the vote manifest names another vote"));
    }
    let doc = piaojue_core::e2e::audit::AuditDocument::from_json(&doc, &vm).map_err(refuse)?;
    let (ballot, revealed, shown) = (&doc.ballot, &doc.revealed, doc.shown.as_str());
    let tracker = piaojue_core::e2e::audit::audit_ballot(&sm, &vm, &key, ballot, revealed, shown)
        .map_err(|e| refuse(format!("核验不通过（audit failed）: {e}")))?;
    let mut lines = vec![format!(
        "核验通过：平板加密的正是下列选择，跟踪码 {} 与平板显示一致（audit passed: the booth encrypted exactly these choices）",
        piaojue_core::e2e::ballot::short_code(&tracker)
    )];
    for (i, (item, c)) in vm.items.iter().zip(&revealed.choices).enumerate() {
        let label = usize::try_from(*c)
            .ok()
            .and_then(|c| vm.options.get(c))
            .map_or("?", String::as_str);
        lines.push(format!("  第{}项 {item}：{label}", i + 1));
    }
    lines.push(
        "这张选票已作废（核验后不能投出），请重新投票。(This ballot is spoiled; vote again.)"
            .into(),
    );
    Ok(lines)
}
