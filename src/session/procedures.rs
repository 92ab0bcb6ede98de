//! The hall's procedures beyond one clean vote (docs/procedures.md): the run-off a tie or a
//! shortfall calls for, the chair's decision of a tie, the manual count (举手 / 纸质票), and
//! the 满意度测评 built from a 票决 bundle. Each is one store transaction: refused whole,
//! or created with its links and audited.

use piaojue_core::bundle::{self, AuditHead, Facts, SignedBundle};
use piaojue_core::crypto;
use piaojue_core::ids::VoteId;
use piaojue_core::procedure::{self, Decided, Manual, ManualMethod, RunoffOf, Source};
use piaojue_core::refusal::Refusal;
use piaojue_core::rules::{Counts, KindRules, Roll, TieRule, encrypted};
use serde::Deserialize;
use serde_json::json;

use super::votes::pinned_scrutineers;
use super::{ChairDecision, MAX_TITLE_CHARS, Mode, RevoteOf, Session, Vote, VoteState};
use super::{check_text, now};
use crate::store::Actor;

/// Where a 测评's projects come from: a vote of this session, or a bundle (any session's).
#[derive(Debug)]
pub enum SourceInput {
    Vote(VoteId),
    Bundle(Vec<u8>),
}

/// A manual count as the secretariat enters it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualCountInput {
    pub method: ManualMethod,
    /// 实到 when the count was taken; bounds every item's count.
    pub present: u64,
    /// `counts[i][j]`: hands or paper ballots for option `j` on item `i`.
    pub counts: Vec<Vec<u64>>,
    pub counted_by: Vec<String>,
    pub note: String,
    /// A new vote (no vote it replaces): its title, rules and items.
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub rules_sha256: Option<String>,
    #[serde(default)]
    pub items: Option<Vec<String>>,
}

/// A run-off's title: the root vote's title and what this round is.
fn runoff_title(parent: &str, reason: procedure::RunoffReason) -> String {
    let root = parent
        .split_once("（对得票相等的项目重新票决")
        .or_else(|| parent.split_once("（就剩余名额另行票决"))
        .map_or(parent, |(root, _)| root);
    let title = format!("{root}（{}）", reason.name_zh());
    title.chars().take(MAX_TITLE_CHARS).collect()
}

fn conflict(e: impl Into<String>) -> Refusal {
    Refusal::RunoffConflict(e.into())
}

impl Session {
    /// A decided vote's published bundle, plain or encrypted: what its links name.
    pub async fn bundle_bytes(&self, id: &str) -> Result<Vec<u8>, Refusal> {
        let vote = self
            .store
            .vote(id)?
            .ok_or_else(|| Refusal::VoteUnknown(id.into()))?;
        if vote.mode == Mode::Encrypted {
            if vote.result.is_none() && vote.state != VoteState::Failed {
                return Err(Refusal::NoResult(Some("尚未解密")));
            }
            return Ok(self.e2e_bundle(id).await?.to_vec());
        }
        let b = self.store.bundle(id)?.ok_or(Refusal::NoResult(None))?;
        b.envelope(&self.store.meta().public_key)
            .to_json()
            .map(String::into_bytes)
            .map_err(|e| Refusal::internal("内部错误", e))
    }

    /// 对并列项目重新票决 / 就剩余名额另行票决: the run-off a decided 票决 calls for under its
    /// rules (a tie at the cut under `revote_tied`, seats left under `revote_remaining`), as
    /// a new draft among exactly those candidates for exactly those seats, same rules
    /// document and mode, naming its parent's bundle. Once per parent; a run-off's own tie
    /// calls for the next.
    pub async fn runoff(&self, parent: VoteId) -> Result<Vote, Refusal> {
        let p = self
            .store
            .vote(parent.as_str())?
            .ok_or_else(|| Refusal::VoteUnknown(parent.to_string()))?;
        if p.state != VoteState::Announced || p.result.is_none() {
            return Err(conflict(format!(
                "{parent} is {}: a run-off follows the announcement of its parent",
                p.state.name_zh()
            )));
        }
        let decided = Decided::read(&self.bundle_bytes(parent.as_str()).await?)
            .map_err(|e| Refusal::internal("内部错误", e))?;
        let (reason, candidates, seats) = decided.runoff_called_for().map_err(conflict)?;
        let items: Vec<String> = candidates
            .iter()
            .map(|&i| p.items[i as usize].clone())
            .collect();
        let ceremony_done = self.ceremony_done().await.is_ok();
        let cache = self.rules.clone();
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut p = tx
                    .vote(parent.as_str())?
                    .ok_or_else(|| Refusal::VoteUnknown(parent.to_string()))?;
                if let Some(by) = &p.runoff_by {
                    return Err(conflict(format!("{parent} already has its run-off, {by}")));
                }
                let mut new = Vote::draft(
                    tx.last_vote_number()? + 1,
                    runoff_title(&p.title, reason),
                    p.rules_sha256.clone(),
                    items,
                    p.mode,
                );
                new.runoff_of = Some(RunoffOf {
                    vote: parent.to_string(),
                    bundle_sha256: decided.body_sha256.clone(),
                    reason,
                    candidates,
                    seats,
                });
                let rules = cache.for_vote(tx, &new)?;
                if new.mode == Mode::Encrypted {
                    if !ceremony_done {
                        return Err(conflict("the key ceremony is no longer complete"));
                    }
                    encrypted::form_for(&rules, new.items.len()).map_err(Refusal::BadMode)?;
                }
                rules
                    .check_items(new.items.len())
                    .map_err(|e| Refusal::BadItems(e.to_string()))?;
                tx.set_last_vote_number(tx.last_vote_number()? + 1);
                p.runoff_by = Some(new.id.clone());
                votes.put(tx, &p)?;
                votes.put(tx, &new)?;
                tx.audit(
                    Actor::Operator,
                    "runoff",
                    json!({ "vote": new.id, "runoff_of": new.runoff_of, "items": new.items }),
                );
                Ok(new)
            })
            .await
    }

    /// `tie_rule: chair_decides`: the presiding chair's choice among the candidates tied at
    /// the cut, recorded by the secretariat (audited, shown and archived as the chair's, not
    /// the count's). Exactly as many as the seats left, each one of the tied.
    pub async fn chair_decides(
        &self,
        id: VoteId,
        chosen: Vec<String>,
        note: String,
    ) -> Result<Vote, Refusal> {
        let cache = self.rules.clone();
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let note = check_text("note", &note, super::MAX_REASON_CHARS)?;
                let mut v = tx
                    .vote(id.as_str())?
                    .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
                if v.state != VoteState::Announced {
                    return Err(conflict(format!(
                        "{id} is {}: the chair decides a tie once the result is announced",
                        v.state.name_zh()
                    )));
                }
                let rules = cache.for_vote(tx, &v)?;
                let chair = matches!(
                    rules.params,
                    KindRules::ProjectSelection {
                        tie_rule: TieRule::ChairDecides,
                        ..
                    }
                );
                let tie = v.result.as_ref().and_then(|r| r.get("tie")).cloned();
                let (Some(tie), true) = (tie.filter(|t| !t.is_null()), chair) else {
                    return Err(conflict(format!(
                        "{id} has no tie for the chair to decide (tie_rule chair_decides, decided, tied at the cut)"
                    )));
                };
                if v.chair_decision.is_some() {
                    return Err(conflict(format!("the chair has already decided {id}'s tie")));
                }
                let tied: Vec<&str> = tie["items"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                let seats = tie["seats"].as_u64().unwrap_or(0) as usize;
                let mut seen = Vec::new();
                for (i, c) in chosen.iter().enumerate() {
                    if !tied.contains(&c.as_str()) {
                        return Err(Refusal::BadItems(format!(
                            "items[{i}]: `{c}` is not among the tied candidates"
                        )));
                    }
                    if seen.contains(&c) {
                        return Err(Refusal::BadItems(format!("items[{i}]: `{c}` is named twice")));
                    }
                    seen.push(c);
                }
                if chosen.len() != seats {
                    return Err(Refusal::BadItems(format!(
                        "items: {} chosen for {seats} seats left",
                        chosen.len()
                    )));
                }
                v.chair_decision = Some(ChairDecision {
                    items: chosen,
                    note,
                    decided_at: now(),
                });
                votes.put(tx, &v)?;
                tx.audit(
                    Actor::Operator,
                    "chair_decision",
                    json!({ "vote": v.id, "decision": v.chair_decision }),
                );
                Ok(v)
            })
            .await
    }

    /// The manual fallback (SPEC §3 step 8): the counts of a show of hands or of paper
    /// ballots, with who counted, recorded as a closed vote with a signed bundle marked
    /// manual; the scrutineers then co-sign it (at least one, or the rules' number) before
    /// it is announced. For a cancelled or failed vote (`of`), the manual count is its
    /// re-vote; otherwise a new vote under `title`, `rules_sha256` and `items`.
    pub async fn manual_count(
        &self,
        of: Option<VoteId>,
        input: ManualCountInput,
    ) -> Result<Vote, Refusal> {
        let cache = self.rules.clone();
        let votes = self.votes.clone();
        let key = self.key.clone();
        let meta = self.store.meta().clone();
        self.store
            .write(move |tx| {
                let bad = |m: String| Refusal::BadManualCount(m);
                let mut old = match &of {
                    None => None,
                    Some(id) => {
                        let old = tx
                            .vote(id.as_str())?
                            .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
                        if !matches!(old.state, VoteState::Cancelled | VoteState::Failed) {
                            return Err(Refusal::RevoteConflict(format!(
                                "{id} is {}: a manual count replaces a cancelled vote or a vote declared failed",
                                old.state.name_zh()
                            )));
                        }
                        if let Some(by) = &old.revoted_by {
                            return Err(Refusal::RevoteConflict(format!(
                                "{id} was already re-voted as {by}"
                            )));
                        }
                        Some(old)
                    }
                };
                let (title, rules_sha256, items) = match &old {
                    Some(o) => {
                        if input.title.is_some() || input.rules_sha256.is_some() || input.items.is_some() {
                            return Err(bad(
                                "title, rules_sha256, items: a manual count of an existing vote takes its own".into(),
                            ));
                        }
                        (o.title.clone(), o.rules_sha256.clone(), o.items.clone())
                    }
                    None => (
                        check_text("title", input.title.as_deref().unwrap_or(""), MAX_TITLE_CHARS)?,
                        input.rules_sha256.clone().ok_or(Refusal::MissingField("rules_sha256"))?,
                        input
                            .items
                            .clone()
                            .ok_or(Refusal::MissingField("items"))?
                            .iter()
                            .map(|i| i.trim().to_string())
                            .collect(),
                    ),
                };
                let mut new = Vote::draft(tx.last_vote_number()? + 1, title, rules_sha256, items, Mode::Plain);
                if let Some(o) = &old {
                    new.revote_of = Some(RevoteOf {
                        vote: o.id.clone(),
                        state: o.state,
                        reason: o
                            .cancelled
                            .clone()
                            .or_else(|| o.failed.clone())
                            .unwrap_or_default(),
                    });
                    new.runoff_of = o.runoff_of.clone();
                    new.source = o.source.clone();
                    new.source_summary = o.source_summary.clone();
                    if let Some(bytes) = tx.source_bundle(o.id.as_str())? {
                        tx.put_source_bundle(new.id.as_str(), &bytes);
                    }
                }
                let manual = Manual {
                    method: input.method,
                    counted_by: input.counted_by.iter().map(|n| n.trim().to_string()).collect(),
                    note: input.note.trim().to_string(),
                };
                new.manual = Some(manual);
                let rules = cache.for_vote(tx, &new)?;
                let document = cache.get(tx, &new.rules_sha256)?;
                new.procedure()
                    .unwrap_or_default()
                    .check_shape(&document, new.id.as_str(), new.items.len())
                    .map_err(bad)?;
                rules
                    .check_items(new.items.len())
                    .map_err(|e| Refusal::BadItems(e.to_string()))?;
                let seated = tx.deputies()?.len() as u64;
                if seated == 0 {
                    return Err(Refusal::NoRoster);
                }
                let roll = Roll {
                    seated,
                    present: input.present,
                    enabled: Some(input.present),
                    cast: None,
                };
                // The rules' own checks: the roll, one row per item, one count per option,
                // no item counted above 实到.
                Counts::new(&rules, new.items.clone(), roll, input.counts.clone())
                    .map_err(|e| bad(e.to_string()))?;
                let adopted = tx
                    .rules(&new.rules_sha256)?
                    .ok_or_else(|| Refusal::RulesUnknown(new.rules_sha256.clone()))?;
                let at = now();
                new.opened_at = Some(at.clone());
                new.closed_at = Some(at.clone());
                // Its co-signers: the scrutineers of the vote it replaces, or of the session's
                // first vote — never ones named since (a scrutineer the operator adds and
                // enrols alone would co-sign counts no ballot can check).
                new.scrutineers = Some(match old.as_ref().and_then(|o| o.scrutineers.clone()) {
                    Some(s) => s,
                    None => {
                        let mut first = None;
                        for n in 1..=tx.last_vote_number()? {
                            if let Some(s) = tx
                                .vote(VoteId::nth(n).as_str())?
                                .and_then(|v| v.scrutineers)
                                .filter(|s| !s.is_empty())
                            {
                                first = Some(s);
                                break;
                            }
                        }
                        match first {
                            Some(s) => s,
                            None => pinned_scrutineers(tx)?,
                        }
                    }
                });
                let head = tx.audit_head();
                let closing = bundle::close(Facts {
                    session: &meta.name,
                    appliance_key: &meta.public_key,
                    vote_id: &new.id,
                    title: &new.title,
                    items: &new.items,
                    rules: &document,
                    rules_sha256: &new.rules_sha256,
                    rules_document: &adopted.document,
                    ballot_body: "",
                    opened_at: &at,
                    closed_at: &at,
                    roll,
                    receipts: Vec::new(),
                    ballots: Vec::new(),
                    named: None,
                    audit_head: AuditHead {
                        seq: head.seq,
                        hash: crypto::hex(&head.hash),
                    },
                    previous_bundle_sha256: tx.last_bundle()?,
                    scrutineers: new.scrutineers.clone().unwrap_or_default(),
                    interventions: Vec::new(),
                    demo: meta.demo,
                    procedure: new.procedure(),
                    manual_counts: Some(input.counts.clone()),
                })
                .map_err(|e| bad(e.to_string()))?;
                let signed = SignedBundle::sign(&closing.body, &key)
                    .map_err(|e| Refusal::internal("内部错误", e.to_string()))?;
                new.state = VoteState::Closed;
                new.roll = Some(roll);
                new.result = Some(
                    serde_json::to_value(&closing.outcome)
                        .map_err(|e| Refusal::internal("内部错误", e.to_string()))?,
                );
                tx.set_last_vote_number(tx.last_vote_number()? + 1);
                if let Some(o) = old.as_mut() {
                    o.revoted_by = Some(new.id.clone());
                    votes.put(tx, o)?;
                }
                votes.put(tx, &new)?;
                tx.set_last_bundle(&signed.sha256);
                tx.put_bundle(&new.id, &signed)?;
                tx.audit(
                    Actor::Operator,
                    "manual_count",
                    json!({
                        "vote": new.id,
                        "revote_of": new.revote_of.as_ref().map(|r| &r.vote),
                        "method": input.method,
                        "present": input.present,
                        "counted_by": new.manual.as_ref().map(|m| &m.counted_by),
                        "bundle_sha256": signed.sha256,
                    }),
                );
                Ok(new)
            })
            .await
    }

    /// A manual count the scrutineers will not co-sign (a miscount, a typo): declared failed
    /// with the reason before it is announced, so that it can be counted again (a new
    /// manual count, or an electronic re-vote, names it). Its signed bundle stays in the
    /// chain and the archive, marked failed, never announced.
    pub(crate) async fn reject_manual_count(
        &self,
        id: VoteId,
        reason: String,
    ) -> Result<Vote, Refusal> {
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut v = tx
                    .vote(id.as_str())?
                    .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
                if v.manual.is_none() || v.state != VoteState::Closed {
                    return Err(Refusal::E2eVoteConflict(format!(
                        "{id} is {}: only a manual count not yet announced can be declared failed",
                        v.state.name_zh()
                    )));
                }
                v.state = VoteState::Failed;
                v.failed = Some(reason.clone());
                votes.put(tx, &v)?;
                tx.audit(
                    Actor::Operator,
                    "declare_failed",
                    json!({ "vote": v.id, "reason": reason, "manual": true }),
                );
                Ok(v)
            })
            .await
    }

    /// 人大评: a 满意度测评 of exactly the projects a 票决 adopted, in its rank order, built
    /// from that 票决's bundle (this session's vote, or a bundle file of any session, which
    /// must verify under its own appliance key — or `source_key` when given). The vote
    /// names the bundle and the key from its creation; the bundle is kept for the archive.
    pub async fn satisfaction_from(
        &self,
        title: String,
        rules_sha256: String,
        source: SourceInput,
        source_key: Option<String>,
        mode: Option<Mode>,
    ) -> Result<Vote, Refusal> {
        let bad = |m: String| Refusal::BadSourceBundle(m);
        // A source of this session counts once announced: before, a secret 票决's adopted
        // list (the 测评's items) is not public.
        if let SourceInput::Vote(id) = &source {
            let v = self
                .store
                .vote(id.as_str())?
                .ok_or_else(|| bad(format!("source_vote: {id} is not a vote of this session")))?;
            if v.state != VoteState::Announced {
                return Err(bad(format!(
                    "source_vote: {id} is {}: a 测评 is built from an announced 票决",
                    v.state.name_zh()
                )));
            }
        }
        let bytes = match &source {
            SourceInput::Vote(id) => self
                .bundle_bytes(id.as_str())
                .await
                .map_err(|e| bad(format!("vote: {id} has no published result ({e})")))?,
            SourceInput::Bundle(b) => b.clone(),
        };
        let decided = Decided::read(&bytes).map_err(|e| bad(format!("bundle: {e}")))?;
        let key_hex = source_key.unwrap_or_else(|| decided.appliance_key.clone());
        let key = crypto::public_key(&key_hex).map_err(|e| bad(format!("source_key: {e}")))?;
        // Full verification (a v2 bundle's proofs take seconds): off the async workers.
        let check = bytes.clone();
        let report = tokio::task::spawn_blocking(move || procedure::verify_any(&check, key, None))
            .await
            .map_err(|e| Refusal::internal("内部错误", e.to_string()))?;
        // The previous bundle is not at hand for a file: the chain is the archive's check.
        if !report.verified {
            return Err(bad(format!(
                "bundle: it does not verify ({})",
                procedure::first_failure(&report)
            )));
        }
        if decided.demo && !self.store.meta().demo {
            return Err(bad(
                "bundle: a demonstration's bundle cannot be the source of a real session's 测评"
                    .into(),
            ));
        }
        let items = procedure::source_items(&decided).map_err(|e| bad(format!("bundle: {e}")))?;
        let link = Source {
            bundle_sha256: decided.body_sha256.clone(),
            appliance_key: key_hex,
        };
        let summary = decided.summary();
        self.create_vote_linked(
            title,
            rules_sha256,
            items,
            mode,
            Some((link, bytes, summary)),
        )
        .await
    }
}
