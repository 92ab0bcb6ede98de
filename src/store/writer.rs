//! The single writer: applies commands one at a time, each in one sled transaction with its
//! audit entry, and answers a batch only after one flush + fsync covers all of it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::json;
use sled::Transactional;
use tokio::sync::{mpsc, oneshot};

use super::{
    AdoptedRules, AuditEntry, CastMark, ChainHead, Receipt, SCRUTINEER_PREFIX, Scrutineer,
    SessionMeta, StoredBundle, T, Trees, ballots, read_json, read_u64, scoped,
};
use crate::ballot::{self, BallotDefinition, CastRequest, ReceiptBody};
use crate::bundle::{AuditHead, NamedChoice, ResultBody, SignatureEntry};
use crate::crypto::{self, ApplianceKey, Domain};
use crate::rules::{self, Counts, Roll, Rules};
use crate::session::{
    Deputy, DomainError, ErrorKind, Presence, RosterEntry, SignedBallot, Vote, VoteState, now,
};

/// Who asked for a change; recorded in the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Operator,
    Deputy(String),
    Scrutineer(String),
    System,
}

impl Actor {
    fn name(&self) -> String {
        match self {
            Actor::Operator => "operator".into(),
            Actor::Deputy(id) => format!("deputy:{id}"),
            Actor::Scrutineer(id) => format!("scrutineer:{id}"),
            Actor::System => "system".into(),
        }
    }
}

/// A change to the session. Each is validated against the stored state and applied atomically.
#[derive(Debug, Clone)]
pub enum Command {
    ImportRoster {
        entries: Vec<RosterEntry>,
    },
    /// New enrolment codes for these deputies (all without a tablet or a pending code if `None`).
    IssueCodes {
        deputies: Option<Vec<String>>,
    },
    /// A tablet enrols: `code` already normalised, `token_sha256` of the token it will hold.
    Enrol {
        code: String,
        token_sha256: String,
    },
    SetPresence {
        deputy: String,
        presence: Presence,
        actor: Actor,
        reason: Option<String>,
    },
    /// A broken tablet: revoke its token and issue a new code.
    Reissue {
        deputy: String,
        reason: String,
    },
    AdoptRules {
        document: Vec<u8>,
    },
    CreateVote {
        title: String,
        rules_sha256: String,
        items: Vec<String>,
    },
    OpenVote {
        vote: String,
    },
    /// A cast, with its receipt already signed off the writer's thread (see [`super::Store::cast`]).
    Cast {
        vote: String,
        deputy: String,
        request: CastRequest,
        receipt: Receipt,
    },
    CloseVote {
        vote: String,
    },
    AnnounceVote {
        vote: String,
    },
    CancelVote {
        vote: String,
        reason: String,
    },
    /// A scrutineer named by the 主席团: a card code for their device.
    AddScrutineer {
        name: String,
    },
    /// A scrutineer's device enrols with its card and its own public key.
    EnrolScrutineer {
        code: String,
        token_sha256: String,
        public_key: String,
    },
    /// A scrutineer's co-signature of a closed vote's result.
    Cosign {
        vote: String,
        scrutineer: String,
        signature: String,
    },
    /// An event worth an audit entry that changes nothing else (an operator login).
    Note {
        actor: Actor,
        action: &'static str,
        detail: serde_json::Value,
    },
}

#[derive(Debug, Clone)]
pub enum Reply {
    Done,
    Imported(usize),
    Deputy(Deputy),
    /// (deputy id, code in its grouped form), shown once.
    Codes(Vec<(String, String)>),
    Rules(AdoptedRules),
    Vote(Box<Vote>),
    Receipt(Receipt),
    Scrutineer(Scrutineer, Option<String>),
}

pub(super) struct Job {
    pub command: Command,
    pub reply: oneshot::Sender<Result<Reply, DomainError>>,
}

/// Writes that one command makes, applied in one transaction with its audit entry.
#[derive(Default)]
struct Tx {
    writes: Vec<(T, Vec<u8>, Option<Vec<u8>>)>,
}

impl Tx {
    fn put(&mut self, t: T, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.writes.push((t, key.into(), Some(value.into())));
    }
    fn put_json(&mut self, t: T, key: impl Into<Vec<u8>>, value: &impl serde::Serialize) {
        // Our own types always serialise.
        self.put(t, key, serde_json::to_vec(value).unwrap_or_default());
    }
    fn del(&mut self, t: T, key: impl Into<Vec<u8>>) {
        self.writes.push((t, key.into(), None));
    }
}

pub(super) struct Writer {
    db: sled::Db,
    trees: Trees,
    data: PathBuf,
    key: Option<Arc<ApplianceKey>>,
    meta: SessionMeta,
    head: ChainHead,
    rules: HashMap<String, Arc<Rules>>,
    votes: HashMap<String, Arc<Vote>>,
    /// Bumped whenever a deputy's record changes, so readers know when attendance moved.
    pub(super) presence_epoch: Arc<std::sync::atomic::AtomicU64>,
}

/// The stable code of a receipt code drawn twice: [`super::Store::cast`] draws again.
pub(crate) const RECEIPT_COLLISION: &str = "receipt_collision";

/// What the casts of one batch have done so far, before their shared transaction commits.
#[derive(Default)]
struct CastOverlay {
    marks: HashMap<Vec<u8>, CastMark>,
    receipts: std::collections::HashSet<Vec<u8>>,
    counts: HashMap<String, u64>,
}

enum PreparedCast {
    Retry(Receipt),
    New {
        tx: Tx,
        actor: Actor,
        detail: serde_json::Value,
        receipt: Receipt,
    },
}

fn conflict(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::conflict(code, message)
}

fn internal(e: impl std::fmt::Display) -> DomainError {
    tracing::error!(error = %e, "store write failed");
    DomainError::new(ErrorKind::Internal, "internal", "存储写入失败")
}

const MAX_TITLE_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 200;

fn check_text(field: &str, text: &str, max: usize) -> Result<String, DomainError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DomainError::invalid(
            "missing_field",
            format!("{field} 不能为空"),
        ));
    }
    if text.chars().count() > max {
        return Err(DomainError::invalid(
            "field_too_long",
            format!("{field} 不能超过{max}个字"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "bad_character",
            format!("{field} 含有控制字符"),
        ));
    }
    Ok(text.to_string())
}

impl Writer {
    pub(super) fn new(
        db: sled::Db,
        trees: Trees,
        data: PathBuf,
        key: Option<Arc<ApplianceKey>>,
        meta: SessionMeta,
    ) -> Result<Writer, DomainError> {
        Ok(Writer {
            db,
            trees,
            data,
            key,
            meta,
            head: ChainHead {
                seq: 0,
                hash: [0; 32],
            },
            rules: HashMap::new(),
            votes: HashMap::new(),
            presence_epoch: Arc::default(),
        })
    }

    pub(super) fn set_head(&mut self, head: ChainHead) {
        self.head = head;
    }

    pub(super) fn create(&mut self, meta: &SessionMeta) -> Result<(), DomainError> {
        let mut tx = Tx::default();
        tx.put_json(T::Meta, "session", meta);
        self.commit(
            tx,
            &Actor::System,
            "init",
            json!({ "session": meta.name, "public_key": meta.public_key }),
        )
    }

    /// Drains the queue: every command of a batch applied, then one flush + fsync, then
    /// every answer. A failed sync aborts: the acknowledged state must be the stored state.
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Job>, max_batch: usize) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            // Casts share one transaction (and one audit append) per run of casts; any other
            // command first commits the casts before it, so it sees them.
            let mut replies = Vec::with_capacity(batch.len());
            let mut results: Vec<Option<Result<Reply, DomainError>>> =
                Vec::with_capacity(batch.len());
            let mut group: Vec<(Tx, Actor, &'static str, serde_json::Value)> = Vec::new();
            let mut overlay = CastOverlay::default();
            for job in batch {
                replies.push(job.reply);
                match job.command {
                    Command::Cast {
                        vote,
                        deputy,
                        request,
                        receipt,
                    } => {
                        let r = self.prepare_cast(&vote, &deputy, request, receipt, &mut overlay);
                        results.push(Some(match r {
                            Ok(PreparedCast::Retry(receipt)) => Ok(Reply::Receipt(receipt)),
                            Ok(PreparedCast::New {
                                tx,
                                actor,
                                detail,
                                receipt,
                            }) => {
                                group.push((tx, actor, "cast", detail));
                                Ok(Reply::Receipt(receipt))
                            }
                            Err(e) => Err(e),
                        }));
                    }
                    other => {
                        self.commit_group(&mut group, &mut overlay);
                        results.push(Some(self.apply(other)));
                    }
                }
            }
            self.commit_group(&mut group, &mut overlay);
            if let Err(e) = super::sync(&self.db, &self.data) {
                tracing::error!(error = %e, "fsync of the store failed; stopping so recovery runs on restart");
                std::process::abort();
            }
            for (reply, result) in replies.into_iter().zip(results) {
                if let Some(result) = result {
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Commits one command's writes and its audit entry in one transaction.
    fn commit(
        &mut self,
        tx: Tx,
        actor: &Actor,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<(), DomainError> {
        self.commit_many(vec![(tx, actor.clone(), action, detail)])
    }

    /// Commits the batch's casts, if any, in one transaction.
    fn commit_group(
        &mut self,
        group: &mut Vec<(Tx, Actor, &'static str, serde_json::Value)>,
        overlay: &mut CastOverlay,
    ) {
        if group.is_empty() {
            return;
        }
        let entries = std::mem::take(group);
        if self.commit_many(entries).is_err() {
            // commit_many aborts on storage failure; an encoding error cannot happen here.
            tracing::error!("the casts of a batch could not be committed; stopping");
            std::process::abort();
        }
        *overlay = CastOverlay::default();
    }

    /// Commits several commands' writes, each with its audit entry in chain order, in one
    /// transaction: all of them are stored, or none.
    fn commit_many(
        &mut self,
        entries: Vec<(Tx, Actor, &str, serde_json::Value)>,
    ) -> Result<(), DomainError> {
        let mut head = self.head;
        let mut writes: Vec<(T, Vec<u8>, Option<Vec<u8>>)> = Vec::new();
        let time = now();
        for (tx, actor, action, detail) in entries {
            let entry = AuditEntry {
                seq: head.seq + 1,
                time: time.clone(),
                actor: actor.name(),
                action: action.into(),
                detail,
                prev: crypto::hex(&head.hash),
            };
            let entry_bytes = serde_json::to_vec(&entry).map_err(internal)?;
            head = ChainHead {
                seq: entry.seq,
                hash: crypto::sha256(&entry_bytes),
            };
            writes.extend(tx.writes);
            writes.push((
                T::Audit,
                entry.seq.to_be_bytes().to_vec(),
                Some(entry_bytes),
            ));
        }
        let head_bytes = serde_json::to_vec(&head).map_err(internal)?;
        writes.push((T::Meta, b"audit_head".to_vec(), Some(head_bytes)));
        // Only the trees these commands touch take part: a transaction's cost grows with them.
        let mut used: Vec<usize> = writes.iter().map(|(t, _, _)| *t as usize).collect();
        used.sort_unstable();
        used.dedup();
        let slot = |t: T| used.iter().position(|&u| u == t as usize).unwrap_or(0);
        let trees: Vec<&sled::Tree> = used.iter().map(|&i| &self.trees.all[i]).collect();
        let result: sled::transaction::TransactionResult<(), ()> =
            trees.as_slice().transaction(|t| {
                for (tree, key, value) in &writes {
                    let tree = &t[slot(*tree)];
                    match value {
                        Some(v) => {
                            tree.insert(key.as_slice(), v.as_slice())?;
                        }
                        None => {
                            tree.remove(key.as_slice())?;
                        }
                    }
                }
                Ok(())
            });
        if let Err(e) = result {
            // A failed transaction on the single writer means storage trouble: stop, and let
            // recovery run on restart rather than answer from a state that is not stored.
            tracing::error!(error = ?e, "transaction failed; stopping");
            std::process::abort();
        }
        // Votes written here are re-read from the store next time.
        for (tree, key, _) in &writes {
            if *tree == T::Votes {
                self.votes.remove(String::from_utf8_lossy(key).as_ref());
            }
        }
        if writes.iter().any(|(t, _, _)| *t == T::Deputies) {
            self.presence_epoch
                .fetch_add(1, std::sync::atomic::Ordering::Release);
        }
        self.head = head;
        Ok(())
    }

    fn key(&self) -> Result<&ApplianceKey, DomainError> {
        self.key.as_deref().ok_or_else(|| internal("no key"))
    }

    fn deputy(&self, id: &str) -> Result<Deputy, DomainError> {
        read_json::<Deputy>(self.trees.get(T::Deputies), id.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| {
                DomainError::not_found("deputy_unknown", format!("没有编号为 {id} 的代表"))
            })
    }

    fn vote(&self, id: &str) -> Result<Vote, DomainError> {
        read_json::<Vote>(self.trees.get(T::Votes), id.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| DomainError::not_found("vote_unknown", format!("没有表决 {id}")))
    }

    fn rules(&mut self, sha256: &str) -> Result<Arc<Rules>, DomainError> {
        if let Some(r) = self.rules.get(sha256) {
            return Ok(r.clone());
        }
        let adopted: AdoptedRules = read_json(self.trees.get(T::Rules), sha256.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| {
                DomainError::not_found("rules_unknown", format!("没有通过哈希为 {sha256} 的办法"))
            })?;
        let rules = Arc::new(Rules::from_json(adopted.document.as_bytes()).map_err(internal)?);
        self.rules.insert(sha256.to_string(), rules.clone());
        Ok(rules)
    }

    fn new_code(&self) -> Result<(String, String), DomainError> {
        let bytes = crypto::random::<20>().map_err(internal)?;
        let plain = crypto::base32(&bytes);
        Ok((
            crypto::sha256_hex(plain.as_bytes()),
            crypto::grouped(&plain, 4, "-"),
        ))
    }

    fn apply(&mut self, command: Command) -> Result<Reply, DomainError> {
        match command {
            Command::ImportRoster { entries } => self.import_roster(entries),
            Command::IssueCodes { deputies } => self.issue_codes(deputies),
            Command::Enrol { code, token_sha256 } => self.enrol(&code, token_sha256),
            Command::SetPresence {
                deputy,
                presence,
                actor,
                reason,
            } => self.set_presence(&deputy, presence, actor, reason),
            Command::Reissue { deputy, reason } => self.reissue(&deputy, &reason),
            Command::AdoptRules { document } => self.adopt_rules(document),
            Command::CreateVote {
                title,
                rules_sha256,
                items,
            } => self.create_vote(&title, &rules_sha256, items),
            Command::OpenVote { vote } => self.open_vote(&vote),
            Command::Cast {
                vote,
                deputy,
                request,
                receipt,
            } => {
                let mut overlay = CastOverlay::default();
                match self.prepare_cast(&vote, &deputy, request, receipt, &mut overlay)? {
                    PreparedCast::Retry(r) => Ok(Reply::Receipt(r)),
                    PreparedCast::New {
                        tx,
                        actor,
                        detail,
                        receipt,
                    } => {
                        self.commit_many(vec![(tx, actor, "cast", detail)])?;
                        Ok(Reply::Receipt(receipt))
                    }
                }
            }
            Command::CloseVote { vote } => self.close_vote(&vote),
            Command::AnnounceVote { vote } => self.announce_vote(&vote),
            Command::CancelVote { vote, reason } => self.cancel_vote(&vote, &reason),
            Command::AddScrutineer { name } => self.add_scrutineer(&name),
            Command::EnrolScrutineer {
                code,
                token_sha256,
                public_key,
            } => self.enrol_scrutineer(&code, token_sha256, public_key),
            Command::Cosign {
                vote,
                scrutineer,
                signature,
            } => self.cosign(&vote, &scrutineer, &signature),
            Command::Note {
                actor,
                action,
                detail,
            } => {
                self.commit(Tx::default(), &actor, action, detail)?;
                Ok(Reply::Done)
            }
        }
    }

    fn import_roster(&mut self, entries: Vec<RosterEntry>) -> Result<Reply, DomainError> {
        if !self.trees.get(T::Deputies).is_empty() {
            return Err(conflict("roster_exists", "名册已导入，不能再次导入"));
        }
        let mut tx = Tx::default();
        for e in &entries {
            let deputy = Deputy {
                id: e.id.clone(),
                name: e.name.clone(),
                delegation: e.delegation.clone(),
                seat: e.seat.clone(),
                presence: Presence::Absent,
                token_sha256: None,
                code_sha256: None,
            };
            tx.put_json(T::Deputies, e.id.as_bytes(), &deputy);
        }
        self.commit(
            tx,
            &Actor::Operator,
            "import_roster",
            json!({ "deputies": entries.len() }),
        )?;
        Ok(Reply::Imported(entries.len()))
    }

    fn issue_codes(&mut self, ids: Option<Vec<String>>) -> Result<Reply, DomainError> {
        let deputies: Vec<Deputy> = match ids {
            Some(ids) => ids
                .iter()
                .map(|id| self.deputy(id))
                .collect::<Result<_, _>>()?,
            None => super::scan_json::<Deputy>(self.trees.get(T::Deputies), b"")
                .map_err(internal)?
                .into_iter()
                .filter(|d| d.token_sha256.is_none() && d.code_sha256.is_none())
                .collect(),
        };
        let mut tx = Tx::default();
        let mut codes = Vec::with_capacity(deputies.len());
        for mut d in deputies {
            if let Some(old) = &d.code_sha256 {
                tx.del(T::Codes, old.as_bytes());
            }
            let (hash, code) = self.new_code()?;
            tx.put(T::Codes, hash.as_bytes(), d.id.as_bytes());
            tx.put(T::PendingCodes, d.id.as_bytes(), code.as_bytes());
            d.code_sha256 = Some(hash);
            tx.put_json(T::Deputies, d.id.as_bytes(), &d);
            codes.push((d.id.clone(), code));
        }
        let ids: Vec<&String> = codes.iter().map(|(id, _)| id).collect();
        self.commit(
            tx,
            &Actor::Operator,
            "issue_codes",
            json!({ "deputies": ids }),
        )?;
        Ok(Reply::Codes(codes))
    }

    fn enrol(&mut self, code: &str, token_sha256: String) -> Result<Reply, DomainError> {
        let hash = crypto::sha256_hex(code.as_bytes());
        let id = self
            .trees
            .get(T::Codes)
            .get(hash.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| {
                DomainError::new(
                    ErrorKind::Unauthorized,
                    "code_unknown",
                    "登记码无效或已使用，请向大会秘书处申请新的登记卡",
                )
            })?;
        if id.starts_with(SCRUTINEER_PREFIX.as_bytes()) {
            return Err(DomainError::new(
                ErrorKind::Unauthorized,
                "code_unknown",
                "这是监票人的登记卡，请在监票人终端上使用",
            ));
        }
        let mut d = self.deputy(&String::from_utf8_lossy(&id))?;
        let mut tx = Tx::default();
        tx.del(T::Codes, hash.as_bytes());
        tx.del(T::PendingCodes, d.id.as_bytes());
        if let Some(old) = &d.token_sha256 {
            tx.del(T::Tokens, old.as_bytes());
        }
        tx.put(T::Tokens, token_sha256.as_bytes(), d.id.as_bytes());
        d.code_sha256 = None;
        d.token_sha256 = Some(token_sha256);
        d.presence = Presence::Present;
        tx.put_json(T::Deputies, d.id.as_bytes(), &d);
        self.commit(
            tx,
            &Actor::Deputy(d.id.clone()),
            "enrol",
            json!({ "deputy": d.id }),
        )?;
        Ok(Reply::Deputy(d))
    }

    fn set_presence(
        &mut self,
        id: &str,
        presence: Presence,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Reply, DomainError> {
        let mut d = self.deputy(id)?;
        let reason = match (&actor, reason) {
            (Actor::Operator, Some(r)) => Some(check_text("reason", &r, MAX_REASON_CHARS)?),
            (Actor::Operator, None) => {
                return Err(DomainError::invalid(
                    "reason_required",
                    "秘书处代为签到、退场或登记请假须写明原因",
                ));
            }
            (_, r) => r,
        };
        let from = d.presence;
        d.presence = presence;
        let mut tx = Tx::default();
        tx.put_json(T::Deputies, d.id.as_bytes(), &d);
        self.commit(
            tx,
            &actor,
            "presence",
            json!({ "deputy": d.id, "from": from, "to": presence, "reason": reason }),
        )?;
        Ok(Reply::Deputy(d))
    }

    fn reissue(&mut self, id: &str, reason: &str) -> Result<Reply, DomainError> {
        let reason = check_text("reason", reason, MAX_REASON_CHARS)?;
        let mut d = self.deputy(id)?;
        let mut tx = Tx::default();
        if let Some(old) = d.token_sha256.take() {
            tx.del(T::Tokens, old.as_bytes());
        }
        if let Some(old) = d.code_sha256.take() {
            tx.del(T::Codes, old.as_bytes());
        }
        let (hash, code) = self.new_code()?;
        tx.put(T::Codes, hash.as_bytes(), d.id.as_bytes());
        tx.put(T::PendingCodes, d.id.as_bytes(), code.as_bytes());
        d.code_sha256 = Some(hash);
        tx.put_json(T::Deputies, d.id.as_bytes(), &d);
        self.commit(
            tx,
            &Actor::Operator,
            "reissue",
            json!({ "deputy": d.id, "reason": reason }),
        )?;
        Ok(Reply::Codes(vec![(d.id, code)]))
    }

    fn adopt_rules(&mut self, document: Vec<u8>) -> Result<Reply, DomainError> {
        let rules = Rules::from_json(&document)
            .map_err(|e| DomainError::invalid("bad_rules", format!("办法文件有误：{e}")))?;
        if rules.title.is_empty() {
            return Err(DomainError::invalid(
                "bad_rules",
                "办法文件有误：title: 通过的办法须有标题",
            ));
        }
        let sha256 = crypto::sha256_hex(&document);
        if let Some(existing) =
            read_json::<AdoptedRules>(self.trees.get(T::Rules), sha256.as_bytes())
                .map_err(internal)?
        {
            return Ok(Reply::Rules(existing));
        }
        let adopted = AdoptedRules {
            sha256: sha256.clone(),
            title: rules.title.clone(),
            kind: rules.kind,
            adopted_at: now(),
            document: String::from_utf8_lossy(&document).into_owned(),
        };
        let mut tx = Tx::default();
        tx.put_json(T::Rules, sha256.as_bytes(), &adopted);
        self.commit(
            tx,
            &Actor::Operator,
            "adopt_rules",
            json!({ "sha256": sha256, "title": adopted.title, "kind": adopted.kind }),
        )?;
        Ok(Reply::Rules(adopted))
    }

    fn create_vote(
        &mut self,
        title: &str,
        rules_sha256: &str,
        items: Vec<String>,
    ) -> Result<Reply, DomainError> {
        let title = check_text("title", title, MAX_TITLE_CHARS)?;
        let rules = self.rules(rules_sha256)?;
        let items: Vec<String> = items.iter().map(|i| i.trim().to_string()).collect();
        // The same checks as `piaojue tally`: non-empty, unique, bounded, select_n ≤ items.
        rules
            .check_items(items.len())
            .map_err(|e| DomainError::invalid("bad_items", format!("{e}")))?;
        let zero = vec![vec![0u64; rules.options.len()]; items.len()];
        let roll = Roll {
            seated: 1,
            present: 1,
            enabled: Some(1),
            cast: None,
        };
        Counts::new(&rules, items.clone(), roll, zero)
            .map_err(|e| DomainError::invalid("bad_items", format!("{e}")))?;
        let n = read_u64(self.trees.get(T::Meta), b"next_vote").map_err(internal)? + 1;
        let vote = Vote {
            id: format!("v{n}"),
            title,
            rules_sha256: rules_sha256.to_string(),
            items,
            state: VoteState::Draft,
            created_at: now(),
            opened_at: None,
            closed_at: None,
            announced_at: None,
            cancelled: None,
            roll: None,
            ballot: None,
            result: None,
        };
        let mut tx = Tx::default();
        tx.put(T::Meta, "next_vote", n.to_be_bytes().to_vec());
        tx.put_json(T::Votes, vote.id.as_bytes(), &vote);
        self.commit(
            tx,
            &Actor::Operator,
            "create_vote",
            json!({ "vote": vote.id, "title": vote.title, "rules_sha256": rules_sha256, "items": vote.items }),
        )?;
        Ok(Reply::Vote(Box::new(vote)))
    }

    fn open_vote(&mut self, id: &str) -> Result<Reply, DomainError> {
        let mut vote = self.vote(id)?;
        if vote.state != VoteState::Draft {
            return Err(conflict(
                "vote_not_draft",
                format!("表决{}，不能开始", vote.state.name_zh()),
            ));
        }
        let rules = self.rules(&vote.rules_sha256)?;
        let deputies =
            super::scan_json::<Deputy>(self.trees.get(T::Deputies), b"").map_err(internal)?;
        let seated = deputies.len() as u64;
        let present: Vec<&Deputy> = deputies
            .iter()
            .filter(|d| d.presence == Presence::Present)
            .collect();
        let n_present = present.len() as u64;
        if seated == 0 {
            return Err(conflict("no_roster", "尚未导入代表名册"));
        }
        if !rules.quorum.reached(n_present, seated) {
            return Err(conflict(
                "quorum_not_met",
                format!(
                    "应到{seated}名，实到{n_present}名，不足法定人数（{}名），不能开始表决",
                    rules.quorum.minimum(seated)
                ),
            ));
        }
        let opened_at = now();
        let key = self.key()?;
        let definition = BallotDefinition::new(
            &self.meta.name,
            &self.meta.public_key,
            &vote,
            &rules,
            &opened_at,
        );
        let body = definition.body();
        let signature = crypto::hex(&key.sign(Domain::Ballot, body.as_bytes()));
        vote.state = VoteState::Open;
        vote.opened_at = Some(opened_at);
        vote.roll = Some(Roll {
            seated,
            present: n_present,
            enabled: Some(n_present),
            cast: None,
        });
        vote.ballot = Some(SignedBallot { body, signature });
        let mut tx = Tx::default();
        for d in &present {
            tx.put(T::Enabled, scoped(&vote.id, d.id.as_bytes()), Vec::new());
        }
        tx.put(T::Counts, vote.id.as_bytes(), 0u64.to_be_bytes().to_vec());
        tx.put_json(T::Votes, vote.id.as_bytes(), &vote);
        self.commit(
            tx,
            &Actor::Operator,
            "open_vote",
            json!({ "vote": vote.id, "seated": seated, "present": n_present, "enabled": n_present }),
        )?;
        Ok(Reply::Vote(Box::new(vote)))
    }

    /// Checks a cast against the stored state and this batch's casts so far; returns the
    /// writes and the receipt, or the stored receipt of a retry.
    fn prepare_cast(
        &mut self,
        vote_id: &str,
        deputy_id: &str,
        request: CastRequest,
        receipt: Receipt,
        overlay: &mut CastOverlay,
    ) -> Result<PreparedCast, DomainError> {
        let vote = self.cached_vote(vote_id)?;
        let mark_key = scoped(vote_id, deputy_id.as_bytes());
        let ballot_id_sha256 = crypto::sha256_hex(request.ballot_id.as_bytes());
        // A retry of an acknowledged cast gets its receipt back, even after the close.
        let earlier = match overlay.marks.get(&mark_key) {
            Some(m) => Some(m.clone()),
            None => read_json::<CastMark>(self.trees.get(T::Casts), &mark_key).map_err(internal)?,
        };
        if let Some(mark) = earlier {
            if mark.ballot_id_sha256 == ballot_id_sha256 {
                return Ok(PreparedCast::Retry(mark.receipt));
            }
            return Err(conflict("already_cast", "您已投票，每位代表只能投票一次"));
        }
        match vote.state {
            VoteState::Open => {}
            VoteState::Draft => return Err(conflict("vote_not_open", "表决尚未开始")),
            VoteState::Cancelled => return Err(conflict("vote_cancelled", "本次表决已取消")),
            VoteState::Closed | VoteState::Announced => {
                return Err(conflict("vote_closed", "表决已结束，不能再投票"));
            }
        }
        let deputy = self.deputy(deputy_id)?;
        if !self
            .trees
            .get(T::Enabled)
            .contains_key(&mark_key)
            .map_err(internal)?
        {
            return Err(DomainError::new(
                ErrorKind::Forbidden,
                "not_enabled",
                "开始表决时您未签到，不能参加本次表决",
            ));
        }
        if deputy.presence != Presence::Present {
            return Err(DomainError::new(
                ErrorKind::Forbidden,
                "not_present",
                "您已退场，请先签到再投票",
            ));
        }
        let rules = self.rules(&vote.rules_sha256)?;
        let choices = ballot::check_cast(&rules, &vote.items, vote_id, &request)?;
        // The receipt was signed before the checks; it must be for this vote and its code new.
        let receipt_key = scoped(vote_id, receipt.receipt_code.as_bytes());
        let fresh = !overlay.receipts.contains(&receipt_key)
            && !self
                .trees
                .get(T::Receipts)
                .contains_key(&receipt_key)
                .map_err(internal)?;
        let body: ReceiptBody = serde_json::from_str(&receipt.body).map_err(internal)?;
        if !fresh || body.vote_id != vote_id || body.receipt_code != receipt.receipt_code {
            return Err(DomainError::new(
                ErrorKind::Internal,
                RECEIPT_COLLISION,
                "回执码重复，请重试",
            ));
        }
        let mark = CastMark {
            ballot_id_sha256,
            receipt: receipt.clone(),
            named_choices: (!rules.secret).then(|| choices.clone()),
        };
        let committed =
            read_u64(self.trees.get(T::Counts), vote_id.as_bytes()).map_err(internal)?;
        let added = overlay.counts.entry(vote_id.to_string()).or_insert(0);
        *added += 1;
        let turnout = committed + *added;
        // The ballot's key is random: storage order says nothing about cast order.
        let slot = crypto::random::<16>().map_err(internal)?;
        let mut tx = Tx::default();
        tx.put_json(T::Casts, mark_key.clone(), &mark);
        tx.put(T::Ballots, scoped(vote_id, &slot), choices);
        tx.put(T::Receipts, receipt_key.clone(), Vec::new());
        tx.put(
            T::Counts,
            vote_id.as_bytes(),
            turnout.to_be_bytes().to_vec(),
        );
        overlay.marks.insert(mark_key, mark);
        overlay.receipts.insert(receipt_key);
        Ok(PreparedCast::New {
            tx,
            actor: Actor::Deputy(deputy_id.into()),
            detail: json!({ "vote": vote_id }),
            receipt,
        })
    }

    /// A vote, from memory after the first read: every vote write goes through this writer,
    /// which keeps the cache in step (see [`Writer::put_vote`]).
    fn cached_vote(&mut self, id: &str) -> Result<Arc<Vote>, DomainError> {
        if let Some(v) = self.votes.get(id) {
            return Ok(v.clone());
        }
        let v = Arc::new(self.vote(id)?);
        self.votes.insert(id.to_string(), v.clone());
        Ok(v)
    }

    fn close_vote(&mut self, id: &str) -> Result<Reply, DomainError> {
        let mut vote = self.vote(id)?;
        if vote.state != VoteState::Open {
            return Err(conflict(
                "vote_not_open",
                format!("表决{}，不能结束", vote.state.name_zh()),
            ));
        }
        let rules = self.rules(&vote.rules_sha256)?;
        let ballots = ballots(&self.trees, id)?;
        let counts = ballot::count(rules.options.len(), vote.items.len(), &ballots);
        let mut roll = vote
            .roll
            .ok_or_else(|| internal("an open vote without a roll"))?;
        roll.cast = Some(ballots.len() as u64);
        let counts = Counts::new(&rules, vote.items.clone(), roll, counts).map_err(|e| {
            tracing::error!(error = %e, vote = id, "stored ballots break the rules");
            internal(e)
        })?;
        let warnings = rules.check_items(vote.items.len()).unwrap_or_default();
        let outcome = rules::decide(&rules, &counts, warnings);
        vote.state = VoteState::Closed;
        vote.closed_at = Some(now());
        vote.roll = Some(roll);
        vote.result = Some(serde_json::to_value(&outcome).map_err(internal)?);
        let bundle = self.sign_result(&vote, &rules, ballots, counts.rows().to_vec(), &outcome)?;
        let mut tx = Tx::default();
        tx.put_json(T::Votes, vote.id.as_bytes(), &vote);
        tx.put(T::Meta, "last_bundle", bundle.sha256.as_bytes().to_vec());
        tx.put_json(T::Bundles, vote.id.as_bytes(), &bundle);
        self.commit(
            tx,
            &Actor::Operator,
            "close_vote",
            json!({ "vote": vote.id, "cast": roll.cast, "bundle_sha256": bundle.sha256 }),
        )?;
        Ok(Reply::Vote(Box::new(vote)))
    }

    /// The result body of a vote that closes now, signed by the appliance.
    fn sign_result(
        &mut self,
        vote: &Vote,
        rules: &Rules,
        mut ballots: Vec<Vec<u8>>,
        counts: Vec<Vec<u64>>,
        outcome: &rules::Outcome,
    ) -> Result<StoredBundle, DomainError> {
        // Sorted: the published order says nothing about who cast when.
        ballots.sort();
        let adopted: AdoptedRules =
            read_json(self.trees.get(T::Rules), vote.rules_sha256.as_bytes())
                .map_err(internal)?
                .ok_or_else(|| internal("adopted rules missing"))?;
        let receipts = super::Store::receipts_in(&self.trees, &vote.id)?;
        let named = if rules.secret {
            None
        } else {
            let mut named = Vec::new();
            for (deputy, mark) in super::Store::marks_in(&self.trees, &vote.id)? {
                named.push(NamedChoice {
                    name: self.deputy(&deputy)?.name,
                    deputy,
                    choices: mark.named_choices.unwrap_or_default(),
                });
            }
            Some(named)
        };
        let previous = self
            .trees
            .get(T::Meta)
            .get("last_bundle")
            .map_err(internal)?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        let body = ResultBody {
            format: crate::bundle::BODY_FORMAT.into(),
            session: self.meta.name.clone(),
            appliance_key: self.meta.public_key.clone(),
            vote_id: vote.id.clone(),
            title: vote.title.clone(),
            kind: rules.kind,
            items: vote.items.clone(),
            secret: rules.secret,
            rules_sha256: vote.rules_sha256.clone(),
            rules_document: adopted.document,
            ballot_sha256: crypto::sha256_hex(
                vote.ballot
                    .as_ref()
                    .map(|b| b.body.as_bytes())
                    .unwrap_or_default(),
            ),
            opened_at: vote.opened_at.clone().unwrap_or_default(),
            closed_at: vote.closed_at.clone().unwrap_or_default(),
            roll: vote.roll.ok_or_else(|| internal("no roll"))?,
            receipts,
            ballots,
            named,
            counts,
            outcome: serde_json::to_value(outcome).map_err(internal)?,
            announcement: outcome.announcement.clone(),
            audit_head: AuditHead {
                seq: self.head.seq,
                hash: crypto::hex(&self.head.hash),
            },
            previous_bundle_sha256: previous,
            cosignatures_required: rules.cosignatures_required,
        }
        .to_bytes();
        let signature = crypto::hex(&self.key()?.sign(Domain::Result, body.as_bytes()));
        Ok(StoredBundle {
            sha256: crypto::sha256_hex(body.as_bytes()),
            body,
            appliance_signature: signature,
            cosignatures: Vec::new(),
        })
    }

    fn cosign(
        &mut self,
        vote_id: &str,
        scrutineer_id: &str,
        signature: &str,
    ) -> Result<Reply, DomainError> {
        let vote = self.vote(vote_id)?;
        let mut bundle: StoredBundle = read_json(self.trees.get(T::Bundles), vote_id.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| {
                conflict(
                    "no_result",
                    format!("表决{}，尚无结果可会签", vote.state.name_zh()),
                )
            })?;
        let s: Scrutineer = read_json(self.trees.get(T::Scrutineers), scrutineer_id.as_bytes())
            .map_err(internal)?
            .ok_or_else(|| internal("scrutineer missing"))?;
        let key_hex = s
            .public_key
            .clone()
            .ok_or_else(|| internal("scrutineer without key"))?;
        let key = crypto::public_key(&key_hex).map_err(internal)?;
        let sig = crypto::unhex::<64>(signature)
            .ok_or_else(|| DomainError::invalid("bad_signature", "会签签名应为128位十六进制数"))?;
        crypto::verify(&key, Domain::Result, bundle.body.as_bytes(), &sig)
            .map_err(|_| DomainError::invalid("bad_signature", "会签签名不能用您登记的公钥验证"))?;
        if bundle.cosignatures.iter().any(|c| c.public_key == key_hex) {
            return Ok(Reply::Done);
        }
        bundle.cosignatures.push(SignatureEntry {
            role: "scrutineer".into(),
            name: Some(s.name.clone()),
            public_key: key_hex,
            signature: signature.to_ascii_lowercase(),
        });
        let mut tx = Tx::default();
        tx.put_json(T::Bundles, vote_id.as_bytes(), &bundle);
        self.commit(
            tx,
            &Actor::Scrutineer(s.id.clone()),
            "cosign",
            json!({ "vote": vote_id, "bundle_sha256": bundle.sha256 }),
        )?;
        Ok(Reply::Done)
    }

    fn announce_vote(&mut self, id: &str) -> Result<Reply, DomainError> {
        let mut vote = self.vote(id)?;
        if vote.state != VoteState::Closed {
            return Err(conflict(
                "vote_not_closed",
                format!("表决{}，只有已结束的表决才能宣布", vote.state.name_zh()),
            ));
        }
        let rules = self.rules(&vote.rules_sha256)?;
        let bundle: Option<StoredBundle> =
            read_json(self.trees.get(T::Bundles), vote.id.as_bytes()).map_err(internal)?;
        let have = bundle.map_or(0, |b| b.cosignatures.len()) as u32;
        if have < rules.cosignatures_required {
            return Err(conflict(
                "cosignatures_missing",
                format!(
                    "办法规定须有{}名监票人会签，目前{}名，尚不能宣布",
                    rules.cosignatures_required, have
                ),
            ));
        }
        vote.state = VoteState::Announced;
        vote.announced_at = Some(now());
        let mut tx = Tx::default();
        tx.put_json(T::Votes, vote.id.as_bytes(), &vote);
        self.commit(
            tx,
            &Actor::Operator,
            "announce_vote",
            json!({ "vote": vote.id }),
        )?;
        Ok(Reply::Vote(Box::new(vote)))
    }

    fn cancel_vote(&mut self, id: &str, reason: &str) -> Result<Reply, DomainError> {
        let reason = check_text("reason", reason, MAX_REASON_CHARS)?;
        let mut vote = self.vote(id)?;
        // Once closed, the tally exists: cancelling then would let anyone who dislikes a
        // result make it vanish. Only a draft or an open vote can be cancelled.
        if !matches!(vote.state, VoteState::Draft | VoteState::Open) {
            return Err(conflict(
                "vote_final",
                format!("表决{}，不能取消", vote.state.name_zh()),
            ));
        }
        vote.state = VoteState::Cancelled;
        vote.cancelled = Some(reason.clone());
        let mut tx = Tx::default();
        tx.put_json(T::Votes, vote.id.as_bytes(), &vote);
        self.commit(
            tx,
            &Actor::Operator,
            "cancel_vote",
            json!({ "vote": vote.id, "reason": reason }),
        )?;
        Ok(Reply::Vote(Box::new(vote)))
    }

    fn add_scrutineer(&mut self, name: &str) -> Result<Reply, DomainError> {
        let name = check_text("name", name, 64)?;
        let n = self.trees.get(T::Scrutineers).len() + 1;
        let (hash, code) = self.new_code()?;
        let s = Scrutineer {
            id: format!("s{n}"),
            name,
            public_key: None,
            code_sha256: Some(hash.clone()),
            token_sha256: None,
        };
        let mut tx = Tx::default();
        tx.put(
            T::Codes,
            hash.as_bytes(),
            format!("{SCRUTINEER_PREFIX}{}", s.id),
        );
        tx.put_json(T::Scrutineers, s.id.as_bytes(), &s);
        self.commit(
            tx,
            &Actor::Operator,
            "add_scrutineer",
            json!({ "scrutineer": s.id, "name": s.name }),
        )?;
        Ok(Reply::Scrutineer(s, Some(code)))
    }

    fn enrol_scrutineer(
        &mut self,
        code: &str,
        token_sha256: String,
        public_key: String,
    ) -> Result<Reply, DomainError> {
        let refused = || {
            DomainError::new(
                ErrorKind::Unauthorized,
                "code_unknown",
                "监票人登记码无效或已使用",
            )
        };
        let hash = crypto::sha256_hex(code.as_bytes());
        let value = self
            .trees
            .get(T::Codes)
            .get(hash.as_bytes())
            .map_err(internal)?
            .ok_or_else(refused)?;
        let value = String::from_utf8_lossy(&value).into_owned();
        let id = value.strip_prefix(SCRUTINEER_PREFIX).ok_or_else(refused)?;
        let mut s: Scrutineer = read_json(self.trees.get(T::Scrutineers), id.as_bytes())
            .map_err(internal)?
            .ok_or_else(refused)?;
        let mut tx = Tx::default();
        tx.del(T::Codes, hash.as_bytes());
        if let Some(old) = &s.token_sha256 {
            tx.del(T::Tokens, old.as_bytes());
        }
        tx.put(T::Tokens, token_sha256.as_bytes(), value.as_bytes());
        s.code_sha256 = None;
        s.token_sha256 = Some(token_sha256);
        s.public_key = Some(public_key.clone());
        tx.put_json(T::Scrutineers, s.id.as_bytes(), &s);
        self.commit(
            tx,
            &Actor::Scrutineer(s.id.clone()),
            "enrol_scrutineer",
            json!({ "scrutineer": s.id, "public_key": public_key }),
        )?;
        Ok(Reply::Scrutineer(s, None))
    }
}
