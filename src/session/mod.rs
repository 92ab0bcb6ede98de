//! The session's domain: deputies and their presence, the roster, votes and their lifecycle,
//! casting, scrutineers, and every transition between states.
//!
//! Owns: the shapes stored and served, and [`Session`], whose methods are the only way the
//! session changes. Each transition lives in the file of its aggregate ([`roster`] for
//! deputies, codes and presence; [`votes`] for rules and a vote's life; [`casting`];
//! [`scrutineers`]) and runs on the store's writer thread, so it is atomic with its audit
//! entry and durable before it answers. Invariant: a deputy's record never holds a choice,
//! and a vote record never holds a deputy's choice of a secret vote.

pub mod board;
pub mod casting;
pub mod e2e;
pub mod e2e_votes;
pub mod encrypted;
pub mod procedures;
pub mod roster;
pub mod scrutineers;
pub mod votes;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use piaojue_core::crypto::{self, ApplianceKey};
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::refusal::Refusal;
use piaojue_core::rules::{Roll, Rules};
use serde::{Deserialize, Serialize};

use crate::store::{Actor, Store, Tx};

/// The session as it changes: the store, the appliance key that signs ballots, receipts and
/// results, and what never changes once stored (adopted rules, signed ballot hashes).
#[derive(Debug, Clone)]
pub struct Session {
    store: Store,
    key: Arc<ApplianceKey>,
    rules: RulesCache,
    /// SHA-256 of each opened vote's signed ballot definition, for receipts.
    ballot_hashes: Arc<Mutex<HashMap<String, String>>>,
    votes: VoteCache,
    /// The key ceremony's board, replayed from the store once (see `board.rs`); its lock
    /// orders the posts.
    board: Arc<tokio::sync::Mutex<Option<piaojue_core::e2e::ceremony::Board>>>,
    /// Encrypted votes' in-memory state (see `e2e_votes.rs`); its lock orders their changes.
    e2e_votes: Arc<tokio::sync::Mutex<HashMap<String, e2e_votes::VoteState>>>,
    /// Ballots being parsed and verified at once: two per core, the rest wait their turn as
    /// raw bytes (a flood of ballots queues instead of starving the appliance's other work).
    e2e_verifiers: Arc<tokio::sync::Semaphore>,
    /// The completed key ceremony and K's tables, built once (see `e2e_votes.rs`).
    e2e_completed: Arc<std::sync::OnceLock<Arc<e2e_votes::Completed>>>,
    /// Decided encrypted votes' bundles (tens of MB each at NPC scale), built once.
    e2e_bundles: Arc<Mutex<HashMap<String, axum::body::Bytes>>>,
    e2e_bundle_build: Arc<tokio::sync::Mutex<()>>,
    e2e_decrypting: Arc<tokio::sync::Mutex<()>>,
    e2e_gate: Arc<tokio::sync::RwLock<()>>,
}

/// Votes as the casts of a burst read them, parsed once: every vote write goes through
/// [`VoteCache::put`], which forgets the cached copy, so a cast never reads a stale state
/// (a change that is then refused only costs a re-read).
#[derive(Debug, Clone, Default)]
pub(crate) struct VoteCache(Arc<Mutex<HashMap<String, Arc<Vote>>>>);

impl VoteCache {
    pub(crate) fn get(&self, tx: &Tx<'_>, id: &str) -> Result<Arc<Vote>, Refusal> {
        if let Some(v) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(v.clone());
        }
        let vote = Arc::new(
            tx.vote(id)?
                .ok_or_else(|| Refusal::VoteUnknown(id.into()))?,
        );
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), vote.clone());
        Ok(vote)
    }

    pub(crate) fn put(&self, tx: &mut Tx<'_>, vote: &Vote) -> Result<(), Refusal> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(vote.id.as_str());
        tx.put_vote(vote)
    }
}

/// Adopted rules documents by hash, parsed once: a document never changes once adopted.
#[derive(Debug, Clone, Default)]
pub(crate) struct RulesCache(Arc<Mutex<HashMap<String, Arc<Rules>>>>);

impl RulesCache {
    /// The adopted rules with this hash, from the cache or the store.
    pub(crate) fn get(&self, tx: &Tx<'_>, sha256: &str) -> Result<Arc<Rules>, Refusal> {
        if let Some(r) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(sha256) {
            return Ok(r.clone());
        }
        let adopted = tx
            .rules(sha256)?
            .ok_or_else(|| Refusal::RulesUnknown(sha256.into()))?;
        let rules = Arc::new(
            Rules::from_json(adopted.document.as_bytes())
                .map_err(|e| Refusal::internal("内部错误", format!("adopted rules: {e}")))?,
        );
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(sha256.to_string(), rules.clone());
        Ok(rules)
    }
}

impl RulesCache {
    /// The rules a vote is decided under: its document's, or a run-off's (fewer seats).
    pub(crate) fn for_vote(&self, tx: &Tx<'_>, vote: &Vote) -> Result<Arc<Rules>, Refusal> {
        let document = self.get(tx, &vote.rules_sha256)?;
        if vote.runoff_of.is_none() {
            return Ok(document);
        }
        vote.rules_under(&document).map(Arc::new)
    }
}

impl Session {
    pub fn new(store: Store, key: Arc<ApplianceKey>) -> Session {
        Session {
            store,
            key,
            rules: RulesCache::default(),
            ballot_hashes: Arc::default(),
            votes: VoteCache::default(),
            board: Arc::default(),
            e2e_votes: Arc::default(),
            e2e_completed: Arc::default(),
            e2e_bundles: Arc::default(),
            e2e_bundle_build: Arc::default(),
            e2e_decrypting: Arc::default(),
            e2e_gate: Arc::default(),
            // Two ballots in flight per core: part of a ballot's turn is on the async side
            // (its parse, the state checks), and with one per core the cores idled meanwhile
            // (3,000 at once: 8.6-10.1 s with one per core, 7.3-8.5 s with two, same runs).
            e2e_verifiers: Arc::new(tokio::sync::Semaphore::new(
                2 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        }
    }

    /// The appliance key's fingerprint, as printed.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }

    /// The store, for reads.
    /// The appliance key (signs the archive's manifest).
    pub fn key(&self) -> Arc<ApplianceKey> {
        self.key.clone()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Records an event that changes nothing else (an operator login).
    pub async fn note(
        &self,
        actor: Actor,
        action: &'static str,
        detail: serde_json::Value,
    ) -> Result<(), Refusal> {
        self.store
            .write(move |tx| {
                tx.audit(actor, action, detail);
                Ok(())
            })
            .await
    }
}

pub(crate) const MAX_TITLE_CHARS: usize = 200;
pub(crate) const MAX_REASON_CHARS: usize = 200;

/// A person's text: trimmed, not empty, at most `max` characters, no control characters.
fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, Refusal> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refusal::MissingField(field));
    }
    if text.chars().count() > max {
        return Err(Refusal::FieldTooLong(field, max));
    }
    if text.chars().any(char::is_control) {
        return Err(Refusal::BadCharacter(field));
    }
    Ok(text.to_string())
}

/// A new 160-bit enrolment code: (SHA-256 to store, the code grouped for the card).
fn new_code() -> Result<(String, String), Refusal> {
    let bytes = crypto::random::<20>().map_err(|e| Refusal::internal("随机数生成失败", e))?;
    let plain = crypto::base32(&bytes);
    Ok((
        crypto::sha256_hex(plain.as_bytes()),
        crypto::printed_code(&plain),
    ))
}

/// The most deputies one roster may hold (the NPC has 2,977).
pub const MAX_DEPUTIES: usize = 5_000;
const MAX_FIELD_CHARS: usize = 64;
/// Cap on a roster CSV upload.
pub const MAX_ROSTER_BYTES: usize = 2 * 1024 * 1024;

/// Where a deputy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Not checked in (未签到).
    Absent,
    /// Checked in (已签到): counts for 实到 and may vote.
    Present,
    /// Checked out during the session (中途退场).
    Left,
    /// On leave with the secretariat's knowledge (请假).
    Leave,
}

impl Presence {
    pub fn name_zh(self) -> &'static str {
        match self {
            Presence::Absent => "未签到",
            Presence::Present => "已签到",
            Presence::Left => "中途退场",
            Presence::Leave => "请假",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deputy {
    pub id: DeputyId,
    pub name: String,
    pub delegation: String,
    pub seat: String,
    pub presence: Presence,
    /// SHA-256 (hex) of the tablet's bearer token, while one is enrolled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// SHA-256 (hex) of the enrolment code not yet used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_sha256: Option<String>,
    /// The secretariat's interventions for this deputy (manual check-ins, reissues), in
    /// order: listed in the bundle of every vote the deputy is enabled in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interventions: Vec<piaojue_core::bundle::Intervention>,
    /// When the tablet's token stops working: it is issued for one session, not forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_expires_at: Option<String>,
    /// Whether the deputy is present by a manual check-in (and whether it was co-signed),
    /// rather than from their own tablet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual_checkin: Option<ManualCheckin>,
}

/// How long a tablet's token lasts: longer than any plenary session (人代会 sessions last days,
/// not weeks), so a tablet carried off after the session, or a token copied from it, is dead.
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

impl Deputy {
    /// Whether the tablet's token has passed its end.
    pub fn token_expired(&self) -> bool {
        self.token_expires_at
            .as_deref()
            .and_then(|t| humantime::parse_rfc3339(t).ok())
            .is_some_and(|end| end <= std::time::SystemTime::now())
    }
}

/// A deputy present by the secretariat's hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualCheckin {
    /// Co-signed by a scrutineer (a rules document may require it to enable the deputy).
    pub cosigned: bool,
}

/// A scrutineer's co-signature sent with an intervention request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignatureInput {
    /// The scrutineer's id (`s1`).
    pub scrutineer: String,
    /// Ed25519 by their key over `piaojue/v1/intervention` ‖ 0 ‖ the intervention message.
    pub signature: String,
}

/// The public face of a deputy (no hashes).
#[derive(Debug, Clone, Serialize)]
pub struct DeputyView {
    pub id: DeputyId,
    pub name: String,
    pub delegation: String,
    pub seat: String,
    pub presence: Presence,
    pub presence_zh: &'static str,
    pub tablet_enrolled: bool,
}

impl From<&Deputy> for DeputyView {
    fn from(d: &Deputy) -> Self {
        DeputyView {
            id: d.id.clone(),
            name: d.name.clone(),
            delegation: d.delegation.clone(),
            seat: d.seat.clone(),
            presence: d.presence,
            presence_zh: d.presence.name_zh(),
            tablet_enrolled: d.token_sha256.is_some(),
        }
    }
}

/// One roster row as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    pub id: DeputyId,
    pub name: String,
    pub delegation: String,
    pub seat: String,
}

/// Parses a roster CSV (`id,name,delegation,seat`, UTF-8, header required). Every error
/// names its line: `line 5: seat is empty`.
pub fn parse_roster(bytes: &[u8]) -> Result<Vec<RosterEntry>, String> {
    if bytes.len() > MAX_ROSTER_BYTES {
        return Err(format!(
            "the roster is larger than {} MiB",
            MAX_ROSTER_BYTES / 1024 / 1024
        ));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!("line {line}: not UTF-8 (save the roster as UTF-8 CSV)")
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text); // Excel's BOM
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .iter()
        .map(str::to_string)
        .collect::<Vec<_>>();
    if headers != ["id", "name", "delegation", "seat"] {
        return Err(format!(
            "line 1: the header must be `id,name,delegation,seat`, not `{}`",
            headers.join(",")
        ));
    }
    let mut out: Vec<RosterEntry> = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut seats = std::collections::HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            format!("line {line}: {}", csv_error_text(&e))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize, name: &str| -> Result<String, String> {
            let value = record.get(i).unwrap_or("").to_string();
            if value.is_empty() {
                return Err(format!("line {line}: {name} is empty"));
            }
            if value.chars().count() > MAX_FIELD_CHARS {
                return Err(format!(
                    "line {line}: {name} is longer than {MAX_FIELD_CHARS} characters"
                ));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("line {line}: {name} holds a control character"));
            }
            Ok(value)
        };
        let id = field(0, "id")?;
        let entry = RosterEntry {
            id: DeputyId::parse(&id).ok_or_else(|| {
                format!(
                    "line {line}: id `{id}` may hold only letters, digits, _ and - (at most 32)"
                )
            })?,
            name: field(1, "name")?,
            delegation: field(2, "delegation")?,
            seat: field(3, "seat")?,
        };
        if !ids.insert(entry.id.clone()) {
            return Err(format!("line {line}: id `{}` appears twice", entry.id));
        }
        if let Some(other) = seats.insert(entry.seat.clone(), line) {
            return Err(format!(
                "line {line}: seat `{}` is already taken on line {other}",
                entry.seat
            ));
        }
        out.push(entry);
        if out.len() > MAX_DEPUTIES {
            return Err(format!("more than {MAX_DEPUTIES} deputies"));
        }
    }
    if out.is_empty() {
        return Err("the roster has no deputies".into());
    }
    Ok(out)
}

fn csv_error_text(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// How a vote's ballots travel: signed plain choices, or encrypted under the scrutineers'
/// joint key (SPEC-E2E) and decrypted only by k of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Plain,
    Encrypted,
}

impl Mode {
    pub fn name_zh(self) -> &'static str {
        match self {
            Mode::Plain => "普通",
            Mode::Encrypted => "加密",
        }
    }
}

/// Where a vote is in its life: draft → open → closed → announced, or cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteState {
    Draft,
    Open,
    Closed,
    Announced,
    Cancelled,
    /// An encrypted vote whose decryption could not complete, declared failed by the
    /// secretariat: its bundle is published without totals.
    Failed,
}

impl VoteState {
    pub fn name_zh(self) -> &'static str {
        match self {
            VoteState::Draft => "未开始",
            VoteState::Open => "表决中",
            VoteState::Closed => "已结束",
            VoteState::Announced => "已宣布",
            VoteState::Cancelled => "已取消",
            VoteState::Failed => "宣告失败",
        }
    }

    /// The state as the records write it (`cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            VoteState::Draft => "draft",
            VoteState::Open => "open",
            VoteState::Closed => "closed",
            VoteState::Announced => "announced",
            VoteState::Cancelled => "cancelled",
            VoteState::Failed => "failed",
        }
    }
}

/// The signed ballot definition: the exact body bytes (UTF-8 JSON) and their signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedBallot {
    pub body: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    pub id: VoteId,
    pub title: String,
    pub rules_sha256: String,
    pub items: Vec<String>,
    /// Plain or encrypted, fixed at creation (absent in records made before the encrypted
    /// mode: plain).
    #[serde(default)]
    pub mode: Mode,
    /// An encrypted draft the secretariat has opened: waiting for the credential officer's
    /// signed roll call, which opens it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub awaiting_roll_call: bool,
    pub state: VoteState,
    pub created_at: String,
    #[serde(default)]
    pub opened_at: Option<String>,
    /// When the voting period ends: the appliance closes the vote then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    /// Whether the chair has extended the period (once at most).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub extended: bool,
    #[serde(default)]
    pub closed_at: Option<String>,
    #[serde(default)]
    pub announced_at: Option<String>,
    #[serde(default)]
    pub cancelled: Option<String>,
    /// Why the secretariat declared an encrypted vote failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// A re-vote (重新表决): the cancelled or failed vote it repeats, and why that one ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revote_of: Option<RevoteOf>,
    /// The re-vote of this cancelled or failed vote, once created (at most one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoted_by: Option<VoteId>,
    /// A run-off: the parent 票决, its bundle, its candidates and the seats left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runoff_of: Option<piaojue_core::procedure::RunoffOf>,
    /// The run-off this 票决 called for, once created (at most one per vote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runoff_by: Option<VoteId>,
    /// A 测评 built from a 票决 bundle: that bundle and the key that signed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<piaojue_core::procedure::Source>,
    /// For the console: the source 票决's projects with their 赞成 and rank (display only;
    /// the link is `source`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_summary: Option<serde_json::Value>,
    /// A manual count (举手 or 纸质票): how and by whom it was counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<piaojue_core::procedure::Manual>,
    /// The chair's choice among candidates tied at the cut (`tie_rule: chair_decides`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chair_decision: Option<ChairDecision>,
    /// 应到 / 实到 / enabled, frozen when the vote opened.
    #[serde(default)]
    pub roll: Option<Roll>,
    /// The scrutineers (with their keys) in force when the vote opened: only they may
    /// co-sign its result, and none is added or removed while it is open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scrutineers: Option<Vec<piaojue_core::bundle::PinnedScrutineer>>,
    #[serde(default)]
    pub ballot: Option<SignedBallot>,
    /// The tally (a `rules::Outcome` as JSON), set when the vote closes.
    #[serde(default)]
    pub result: Option<serde_json::Value>,
}

impl Vote {
    /// A new draft.
    pub fn draft(
        n: u64,
        title: String,
        rules_sha256: String,
        items: Vec<String>,
        mode: Mode,
    ) -> Vote {
        Vote {
            id: VoteId::nth(n),
            title,
            rules_sha256,
            items,
            mode,
            awaiting_roll_call: false,
            state: VoteState::Draft,
            created_at: now(),
            opened_at: None,
            closes_at: None,
            extended: false,
            closed_at: None,
            announced_at: None,
            cancelled: None,
            failed: None,
            revote_of: None,
            revoted_by: None,
            runoff_of: None,
            runoff_by: None,
            source: None,
            source_summary: None,
            manual: None,
            chair_decision: None,
            roll: None,
            scrutineers: None,
            ballot: None,
            result: None,
        }
    }

    /// The rules this vote is decided under, from its adopted document.
    pub fn rules_under(&self, document: &Rules) -> Result<Rules, Refusal> {
        piaojue_core::procedure::effective_rules(self.procedure().as_ref(), document)
            .map_err(|e| Refusal::internal("内部错误", format!("a run-off's rules: {e}")))
    }

    /// What the vote's result records of how it came about (docs/procedures.md).
    pub fn procedure(&self) -> Option<piaojue_core::procedure::Procedure> {
        let p = piaojue_core::procedure::Procedure {
            revote_of: self
                .revote_of
                .as_ref()
                .map(|r| piaojue_core::procedure::RevoteOf {
                    vote: r.vote.to_string(),
                    state: r.state.as_str().into(),
                    reason: r.reason.clone(),
                }),
            runoff_of: self.runoff_of.clone(),
            source: self.source.clone(),
            manual: self.manual.clone(),
        };
        (!p.is_empty()).then_some(p)
    }
}

/// The presiding chair's decision of a tie at the cut, recorded by the secretariat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChairDecision {
    /// The tied candidates the chair chose, as many as the seats left.
    pub items: Vec<String>,
    pub note: String,
    pub decided_at: String,
}

/// What a re-vote names of the vote it repeats: its id, how it ended and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevoteOf {
    pub vote: VoteId,
    /// `cancelled` or `failed`.
    pub state: VoteState,
    pub reason: String,
}

/// Now, as RFC 3339 UTC to the millisecond (so events within a second keep their order).
pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (trust holes #14): tablet tokens never expired; now a token ends after the
    /// session's lifetime.
    #[test]
    fn a_tablets_token_ends_with_the_session() {
        let mut d = Deputy {
            id: DeputyId::parse("d0001").unwrap(),
            name: "王建国".into(),
            delegation: "城关镇代表团".into(),
            seat: "1排1座".into(),
            presence: Presence::Present,
            token_sha256: Some("00".repeat(32)),
            code_sha256: None,
            interventions: Vec::new(),
            token_expires_at: None,
            manual_checkin: None,
        };
        assert!(
            !d.token_expired(),
            "a token from before expiry was recorded stays valid"
        );
        let at = |t: std::time::SystemTime| humantime::format_rfc3339_millis(t).to_string();
        d.token_expires_at = Some(at(std::time::SystemTime::now() + TOKEN_LIFETIME));
        assert!(!d.token_expired());
        d.token_expires_at = Some(at(
            std::time::SystemTime::now() - std::time::Duration::from_secs(1)
        ));
        assert!(d.token_expired());
    }

    #[test]
    fn roster_parses_and_names_bad_lines() {
        let ok = "\u{feff}id,name,delegation,seat\nd001,王建国,城关镇代表团,1排1座\nd002, 李秀英 ,城关镇代表团,1排2座\n";
        let r = parse_roster(ok.as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].name, "李秀英");
        let bad = |text: &str| parse_roster(text.as_bytes()).unwrap_err();
        assert_eq!(
            bad("id,name\n"),
            "line 1: the header must be `id,name,delegation,seat`, not `id,name`"
        );
        assert_eq!(
            bad("id,name,delegation,seat\nd1,甲,团,1\nd2,乙,团,\n"),
            "line 3: seat is empty"
        );
        assert_eq!(
            bad("id,name,delegation,seat\nd1,甲,团,1\nd1,乙,团,2\n"),
            "line 3: id `d1` appears twice"
        );
        assert_eq!(
            bad("id,name,delegation,seat\nd1,甲,团,1\nd2,乙,团,1\n"),
            "line 3: seat `1` is already taken on line 2"
        );
        assert_eq!(
            bad("id,name,delegation,seat\nd1,甲,团\n"),
            "line 2: 3 fields where the header has 4"
        );
        assert_eq!(
            bad("id,name,delegation,seat\nd/1,甲,团,1\n"),
            "line 2: id `d/1` may hold only letters, digits, _ and - (at most 32)"
        );
        assert_eq!(
            parse_roster(b"id,name,delegation,seat\nd1,\xff,x,1\n").unwrap_err(),
            "line 2: not UTF-8 (save the roster as UTF-8 CSV)"
        );
        assert_eq!(
            bad("id,name,delegation,seat\n"),
            "the roster has no deputies"
        );
    }
}
