//! Rules documents and a vote's life: adopt, create, open (the signed ballot), close (the
//! count, the outcome and the signed result), announce, cancel.

use piaojue_core::ballot::BallotDefinition;
use piaojue_core::bundle::{self, AuditHead, Facts, NamedChoice, PinnedScrutineer, SignedBundle};
use piaojue_core::crypto::{self, Domain};
use piaojue_core::ids::VoteId;
use piaojue_core::refusal::Refusal;
use piaojue_core::rules::{Counts, Roll, Rules, encrypted};
use serde_json::json;

use super::encrypted::present_count;
use super::{
    Deputy, MAX_REASON_CHARS, MAX_TITLE_CHARS, Mode, Presence, Session, SignedBallot, Vote,
    VoteState, check_text, now,
};
use crate::store::{Actor, AdoptedRules, Tx};

fn vote(tx: &Tx<'_>, id: &VoteId) -> Result<Vote, Refusal> {
    tx.vote(id.as_str())?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))
}

/// Who closes a vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    /// The secretariat, from the console or `piaojue admin`.
    Operator,
    /// The appliance, when the voting period is over.
    PeriodEnded,
}

/// The chair may extend a period once, by this much.
const MIN_EXTENSION: u32 = 15;
const MAX_EXTENSION: u32 = 600;

/// `time` (RFC 3339) plus `seconds`, as RFC 3339 to the millisecond.
pub(crate) fn after(time: &str, seconds: u64) -> Result<String, Refusal> {
    let t = humantime::parse_rfc3339(time).map_err(|e| failed("a stored time")(e.to_string()))?;
    Ok(humantime::format_rfc3339_millis(t + std::time::Duration::from_secs(seconds)).to_string())
}

/// Whole seconds until `closes_at` (rounded up), 0 once it has passed or if there is none.
pub fn seconds_left(closes_at: Option<&str>) -> u64 {
    let Some(t) = closes_at.and_then(|c| humantime::parse_rfc3339(c).ok()) else {
        return 0;
    };
    match t.duration_since(std::time::SystemTime::now()) {
        Ok(d) => d.as_secs() + u64::from(d.subsec_nanos() > 0),
        Err(_) => 0,
    }
}

fn failed(what: &'static str) -> impl FnOnce(String) -> Refusal {
    move |cause| Refusal::internal("内部错误", format!("{what}: {cause}"))
}

/// The scrutineers enrolled with a key now: a vote opening pins them.
pub(crate) fn pinned_scrutineers(tx: &Tx<'_>) -> Result<Vec<PinnedScrutineer>, Refusal> {
    Ok(tx
        .scrutineers()?
        .into_iter()
        .filter_map(|s| {
            s.public_key.map(|public_key| PinnedScrutineer {
                id: s.id,
                name: s.name,
                public_key,
            })
        })
        .collect())
}

impl Session {
    /// Adopts a rules document (its exact bytes); adopting the same bytes again returns the
    /// first adoption.
    pub async fn adopt_rules(&self, document: Vec<u8>) -> Result<AdoptedRules, Refusal> {
        self.store
            .write(move |tx| {
                let rules =
                    Rules::from_json(&document).map_err(|e| Refusal::BadRules(e.to_string()))?;
                if rules.title.is_empty() {
                    return Err(Refusal::BadRules("title: 通过的办法须有标题".into()));
                }
                let sha256 = crypto::sha256_hex(&document);
                if let Some(existing) = tx.rules(&sha256)? {
                    return Ok(existing);
                }
                let adopted = AdoptedRules {
                    sha256: sha256.clone(),
                    title: rules.title.clone(),
                    kind: rules.kind,
                    adopted_at: now(),
                    document: String::from_utf8_lossy(&document).into_owned(),
                };
                tx.put_rules(&adopted)?;
                tx.audit(
                    Actor::Operator,
                    "adopt_rules",
                    json!({ "sha256": sha256, "title": adopted.title, "kind": adopted.kind }),
                );
                Ok(adopted)
            })
            .await
    }

    /// A new vote (a draft) under adopted rules, with the same checks as `piaojue tally`.
    ///
    /// The mode: a secret vote is encrypted by default once the scrutineers' key ceremony
    /// has completed, plain otherwise; `mode` chooses. A named vote (记名) is always plain,
    /// and a rules document the encrypted ballot cannot carry is refused for it, saying why.
    pub async fn create_vote(
        &self,
        title: String,
        rules_sha256: String,
        items: Vec<String>,
        mode: Option<Mode>,
    ) -> Result<Vote, Refusal> {
        self.create_vote_linked(title, rules_sha256, items, mode, None)
            .await
    }

    /// [`Session::create_vote`], for a 测评 built from a 票决 bundle: the link and the
    /// bundle's bytes are stored with the draft, in one transaction.
    pub(crate) async fn create_vote_linked(
        &self,
        title: String,
        rules_sha256: String,
        items: Vec<String>,
        mode: Option<Mode>,
        source: Option<(piaojue_core::procedure::Source, Vec<u8>, serde_json::Value)>,
    ) -> Result<Vote, Refusal> {
        let cache = self.rules.clone();
        let votes = self.votes.clone();
        let ceremony_done = self.ceremony_done().await.is_ok();
        self.store
            .write(move |tx| {
                let title = check_text("title", &title, MAX_TITLE_CHARS)?;
                let rules = cache.get(tx, &rules_sha256)?;
                let items: Vec<String> = items.iter().map(|i| i.trim().to_string()).collect();
                rules
                    .check_items(items.len())
                    .map_err(|e| Refusal::BadItems(e.to_string()))?;
                let mode = match mode {
                    Some(Mode::Plain) => Mode::Plain,
                    None if !rules.secret || !ceremony_done => Mode::Plain,
                    Some(Mode::Encrypted) if !rules.secret => {
                        return Err(Refusal::BadMode(
                            "mode: 记名表决公布每位代表的选择，须用普通模式（a named vote is plain）".into(),
                        ));
                    }
                    Some(Mode::Encrypted) if !ceremony_done => {
                        return Err(Refusal::BadMode(
                            "mode: 监票人密钥仪式尚未完成，不能建立加密表决（the key ceremony has not completed）".into(),
                        ));
                    }
                    explicit => {
                        encrypted::form_for(&rules, items.len()).map_err(|why| {
                            Refusal::BadMode(if explicit.is_none() {
                                format!("mode: {why}；如需以普通模式表决，请选择 mode \"plain\"")
                            } else {
                                format!("mode: {why}")
                            })
                        })?;
                        Mode::Encrypted
                    }
                };
                let zero = vec![vec![0u64; rules.options.len()]; items.len()];
                let roll = Roll {
                    seated: 1,
                    present: 1,
                    enabled: Some(1),
                    cast: None,
                };
                Counts::new(&rules, items.clone(), roll, zero)
                    .map_err(|e| Refusal::BadItems(e.to_string()))?;
                let n = tx.last_vote_number()? + 1;
                let mut vote = Vote::draft(n, title, rules_sha256.clone(), items, mode);
                if let Some((link, bytes, summary)) = source {
                    vote.source = Some(link);
                    vote.source_summary = Some(summary);
                    vote.procedure()
                        .unwrap_or_default()
                        .check_shape(&rules, vote.id.as_str(), vote.items.len())
                        .map_err(Refusal::BadSourceBundle)?;
                    tx.put_source_bundle(vote.id.as_str(), &bytes);
                }
                tx.set_last_vote_number(n);
                votes.put(tx, &vote)?;
                tx.audit(
                    Actor::Operator,
                    "create_vote",
                    json!({ "vote": vote.id, "title": vote.title, "rules_sha256": rules_sha256, "items": vote.items, "mode": vote.mode, "source": vote.source }),
                );
                Ok(vote)
            })
            .await
    }

    /// Opens a draft once the quorum is present: the roll is frozen, the present deputies
    /// are enabled and the ballot definition is signed.
    pub async fn open_vote(&self, id: VoteId) -> Result<Vote, Refusal> {
        if self.store.meta().sealed_at.is_some() {
            return Err(Refusal::SessionSealed);
        }
        let cache = self.rules.clone();
        let key = self.key.clone();
        let meta = self.store.meta().clone();
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut vote = vote(tx, &id)?;
                if vote.state != VoteState::Draft {
                    return Err(Refusal::VoteNotDraft(vote.state.name_zh()));
                }
                let rules = cache.for_vote(tx, &vote)?;
                if vote.mode == Mode::Encrypted {
                    // The credential officer's signed roll call opens it (open_encrypted).
                    let (seated, present) = present_count(tx)?;
                    if seated == 0 {
                        return Err(Refusal::NoRoster);
                    }
                    if !rules.quorum.reached(present, seated) {
                        return Err(Refusal::QuorumNotMet {
                            seated,
                            present,
                            minimum: rules.quorum.minimum(seated),
                        });
                    }
                    if !vote.awaiting_roll_call {
                        vote.awaiting_roll_call = true;
                        votes.put(tx, &vote)?;
                        tx.audit(
                            Actor::Operator,
                            "request_roll_call",
                            json!({ "vote": vote.id, "seated": seated, "present": present }),
                        );
                    }
                    return Ok(vote);
                }
                let deputies = tx.deputies()?;
                let seated = deputies.len() as u64;
                let present: Vec<&Deputy> = deputies
                    .iter()
                    .filter(|d| d.presence == Presence::Present)
                    .collect();
                let n_present = present.len() as u64;
                // Under rules that want it, a manual check-in enables only once co-signed.
                let enabled: Vec<&str> = present
                    .iter()
                    .filter(|d| {
                        !rules.manual_checkin_cosign
                            || d.manual_checkin.is_none_or(|m| m.cosigned)
                    })
                    .map(|d| d.id.as_str())
                    .collect();
                let n_enabled = enabled.len() as u64;
                if seated == 0 {
                    return Err(Refusal::NoRoster);
                }
                if !rules.quorum.reached(n_present, seated) {
                    return Err(Refusal::QuorumNotMet {
                        seated,
                        present: n_present,
                        minimum: rules.quorum.minimum(seated),
                    });
                }
                // The scrutineers enrolled now are the vote's: their keys go into the signed
                // ballot definition and, at close, the signed result.
                let scrutineers = pinned_scrutineers(tx)?;
                let opened_at = now();
                let body = BallotDefinition::new(
                    &meta.name,
                    &meta.public_key,
                    (&vote.id, &vote.title, &vote.items),
                    (&rules, &vote.rules_sha256),
                    &opened_at,
                )
                .with_scrutineers(scrutineers.clone())
                .body()
                .map_err(|e| failed("the ballot definition")(e.to_string()))?;
                let signature = crypto::hex(&key.sign(Domain::Ballot, body.as_bytes()));
                vote.state = VoteState::Open;
                vote.closes_at = Some(after(&opened_at, u64::from(rules.voting_seconds))?);
                vote.opened_at = Some(opened_at);
                vote.roll = Some(Roll {
                    seated,
                    present: n_present,
                    enabled: Some(n_enabled),
                    cast: None,
                });
                vote.ballot = Some(SignedBallot { body, signature });
                vote.scrutineers = Some(scrutineers);
                for d in &enabled {
                    tx.enable(&vote.id, d);
                }
                tx.set_turnout(&vote.id, 0);
                votes.put(tx, &vote)?;
                tx.audit(
                    Actor::Operator,
                    "open_vote",
                    json!({ "vote": vote.id, "seated": seated, "present": n_present, "enabled": n_enabled, "closes_at": vote.closes_at }),
                );
                Ok(vote)
            })
            .await
    }

    /// The secretariat closes an open vote. A secret vote closes early only once every
    /// enabled deputy has cast: closing right after one deputy's cast could reveal it.
    pub async fn close_vote(&self, id: VoteId) -> Result<Vote, Refusal> {
        self.close(id, Closer::Operator).await.map(|(vote, _)| vote)
    }

    /// Closes a vote whose period has ended (the appliance's clock, or at restart after it
    /// ended while the appliance was down), with every acknowledged ballot. `None` if it is
    /// not open or its period is not over.
    pub async fn close_if_period_over(&self, id: VoteId) -> Result<Option<Vote>, Refusal> {
        self.close(id, Closer::PeriodEnded)
            .await
            .map(|(vote, closed)| closed.then_some(vote))
    }

    /// Extends a running vote's period once, by `seconds` (the chair's decision, audited).
    pub async fn extend_vote(&self, id: VoteId, seconds: u32) -> Result<Vote, Refusal> {
        if !(MIN_EXTENSION..=MAX_EXTENSION).contains(&seconds) {
            return Err(Refusal::BadExtension {
                min: MIN_EXTENSION,
                max: MAX_EXTENSION,
            });
        }
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut vote = vote(tx, &id)?;
                if vote.state != VoteState::Open {
                    return Err(Refusal::VoteNotOpen(vote.state.name_zh()));
                }
                if vote.extended {
                    return Err(Refusal::AlreadyExtended);
                }
                let closes_at = vote
                    .closes_at
                    .clone()
                    .ok_or_else(|| failed("an open vote")("it has no period".into()))?;
                vote.closes_at = Some(after(&closes_at, u64::from(seconds))?);
                vote.extended = true;
                votes.put(tx, &vote)?;
                tx.audit(
                    Actor::Operator,
                    "extend_vote",
                    json!({ "vote": vote.id, "seconds": seconds, "closes_at": vote.closes_at }),
                );
                Ok(vote)
            })
            .await
    }

    /// Closes an open vote: counts its ballots, decides under its rules, and signs the
    /// result bundle, which names the previous one. Returns the vote and whether it closed.
    async fn close(&self, id: VoteId, by: Closer) -> Result<(Vote, bool), Refusal> {
        if self.linked_vote(id.as_str())?.is_some() {
            return self.close_encrypted(id, by == Closer::Operator).await;
        }
        let cache = self.rules.clone();
        let key = self.key.clone();
        let meta = self.store.meta().clone();
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut vote = vote(tx, &id)?;
                if vote.state != VoteState::Open {
                    return match by {
                        Closer::PeriodEnded => Ok((vote, false)),
                        Closer::Operator => Err(Refusal::VoteNotOpen(vote.state.name_zh())),
                    };
                }
                let rules = cache.get(tx, &vote.rules_sha256)?;
                let left = seconds_left(vote.closes_at.as_deref());
                match by {
                    Closer::PeriodEnded if left > 0 => return Ok((vote, false)),
                    Closer::Operator if left > 0 && rules.secret => {
                        let cast = tx.turnout(&id)?;
                        let enabled = vote.roll.and_then(|r| r.enabled).unwrap_or(0);
                        if cast < enabled {
                            return Err(Refusal::PeriodRunning {
                                cast,
                                enabled,
                                seconds_left: left,
                            });
                        }
                    }
                    _ => {}
                }
                let adopted = tx
                    .rules(&vote.rules_sha256)?
                    .ok_or_else(|| failed("adopted rules")("missing".into()))?;
                let ballots = tx.ballots(id.as_str())?;
                let mut roll = vote
                    .roll
                    .ok_or_else(|| failed("an open vote")("it has no roll".into()))?;
                roll.cast = Some(ballots.len() as u64);
                let named = if rules.secret {
                    None
                } else {
                    let mut named = Vec::new();
                    for (deputy, mark) in tx.cast_marks(id.as_str())? {
                        let d = tx
                            .deputy(&deputy)?
                            .ok_or_else(|| Refusal::DeputyUnknown(deputy.clone()))?;
                        named.push(NamedChoice {
                            name: d.name,
                            deputy,
                            choices: mark.named_choices.unwrap_or_default(),
                            delegation: Some(d.delegation),
                        });
                    }
                    Some(named)
                };
                let closed_at = now();
                // The manual check-ins and reissues of every deputy enabled in this vote.
                let mut interventions = Vec::new();
                for d in tx.deputies()? {
                    if tx.is_enabled(&id, &d.id)? {
                        interventions.extend(d.interventions);
                    }
                }
                interventions.sort_by(|a, b| (&a.time, &a.deputy).cmp(&(&b.time, &b.deputy)));
                let head = tx.audit_head();
                let closing = bundle::close(Facts {
                    session: &meta.name,
                    appliance_key: &meta.public_key,
                    vote_id: &vote.id,
                    title: &vote.title,
                    items: &vote.items,
                    rules: &rules,
                    rules_sha256: &vote.rules_sha256,
                    rules_document: &adopted.document,
                    ballot_body: vote.ballot.as_ref().map_or("", |b| b.body.as_str()),
                    opened_at: vote.opened_at.as_deref().unwrap_or_default(),
                    closed_at: &closed_at,
                    roll,
                    receipts: tx.receipts(id.as_str())?,
                    ballots,
                    named,
                    audit_head: AuditHead {
                        seq: head.seq,
                        hash: crypto::hex(&head.hash),
                    },
                    previous_bundle_sha256: tx.last_bundle()?,
                    scrutineers: vote.scrutineers.clone().unwrap_or_default(),
                    interventions,
                    demo: meta.demo,
                    procedure: vote.procedure(),
                    manual_counts: None,
                })
                .map_err(|e| failed("the result")(e.to_string()))?;
                let signed = SignedBundle::sign(&closing.body, &key)
                    .map_err(|e| failed("the result")(e.to_string()))?;
                vote.state = VoteState::Closed;
                vote.closed_at = Some(closed_at);
                vote.roll = Some(roll);
                vote.result = Some(
                    serde_json::to_value(&closing.outcome)
                        .map_err(|e| failed("the outcome")(e.to_string()))?,
                );
                votes.put(tx, &vote)?;
                tx.set_last_bundle(&signed.sha256);
                tx.put_bundle(&vote.id, &signed)?;
                let (actor, reason) = match by {
                    Closer::Operator => (Actor::Operator, "operator"),
                    Closer::PeriodEnded => (Actor::System, "period_ended"),
                };
                tx.audit(
                    actor,
                    "close_vote",
                    json!({ "vote": vote.id, "cast": roll.cast, "bundle_sha256": signed.sha256, "by": reason }),
                );
                Ok((vote, true))
            })
            .await
    }

    /// Announces a closed vote once the co-signatures its rules require are in.
    pub async fn announce_vote(&self, id: VoteId) -> Result<Vote, Refusal> {
        let cache = self.rules.clone();
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut vote = vote(tx, &id)?;
                if vote.state != VoteState::Closed {
                    return Err(Refusal::VoteNotClosed(vote.state.name_zh()));
                }
                let rules = cache.for_vote(tx, &vote)?;
                // An encrypted vote's result exists only once k scrutineers have decrypted
                // it; their signed partial decryptions are its scrutineers' signatures.
                let encrypted = vote.mode == Mode::Encrypted;
                if encrypted && vote.result.is_none() {
                    return Err(Refusal::NoResult(Some("尚未解密")));
                }
                // Only co-signatures by the scrutineers signed into the vote count (cosign
                // accepts no others), each key once.
                let pinned: Vec<&str> = vote
                    .scrutineers
                    .iter()
                    .flatten()
                    .map(|s| s.public_key.as_str())
                    .collect();
                let have = tx.bundle(&vote.id)?.map_or(0, |b| {
                    b.cosignatures
                        .iter()
                        .filter(|c| pinned.contains(&c.public_key.as_str()))
                        .count()
                }) as u32;
                let required = vote.procedure().map_or(rules.cosignatures_required, |p| {
                    p.cosignatures_required(&rules)
                });
                if !encrypted && have < required {
                    return Err(Refusal::CosignaturesMissing { required, have });
                }
                vote.state = VoteState::Announced;
                vote.announced_at = Some(now());
                votes.put(tx, &vote)?;
                tx.audit(Actor::Operator, "announce_vote", json!({ "vote": vote.id }));
                Ok(vote)
            })
            .await
    }

    /// 重新表决: a cancelled vote, or an encrypted vote declared failed, is repeated as a new
    /// draft (a new id) with the same title, rules document, items and mode, naming the vote
    /// it repeats and why that one ended; the old vote names its re-vote. At most one re-vote
    /// per vote (a re-vote can itself be cancelled and re-voted). The old ballots are never
    /// tallied: the new vote has its own.
    pub async fn revote(&self, id: VoteId) -> Result<Vote, Refusal> {
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let mut old = vote(tx, &id)?;
                let reason = match old.state {
                    VoteState::Cancelled => old.cancelled.clone().unwrap_or_default(),
                    VoteState::Failed => old.failed.clone().unwrap_or_default(),
                    _ => {
                        return Err(Refusal::RevoteConflict(format!(
                            "{id} is {}: only a cancelled vote or a vote declared failed is re-voted",
                            old.state.name_zh()
                        )));
                    }
                };
                if let Some(by) = &old.revoted_by {
                    return Err(Refusal::RevoteConflict(format!(
                        "{id} was already re-voted as {by}"
                    )));
                }
                let n = tx.last_vote_number()? + 1;
                let mut new = Vote::draft(
                    n,
                    old.title.clone(),
                    old.rules_sha256.clone(),
                    old.items.clone(),
                    old.mode,
                );
                new.revote_of = Some(super::RevoteOf {
                    vote: old.id.clone(),
                    state: old.state,
                    reason: reason.clone(),
                });
                // A re-vote of a run-off or of a 测评 keeps its link.
                new.runoff_of = old.runoff_of.clone();
                new.source = old.source.clone();
                new.source_summary = old.source_summary.clone();
                // …and the source bundle the archive lists with it.
                if let Some(bytes) = tx.source_bundle(old.id.as_str())? {
                    tx.put_source_bundle(new.id.as_str(), &bytes);
                }
                tx.set_last_vote_number(n);
                old.revoted_by = Some(new.id.clone());
                votes.put(tx, &old)?;
                votes.put(tx, &new)?;
                tx.audit(
                    Actor::Operator,
                    "revote",
                    json!({ "vote": new.id, "revote_of": old.id, "state": old.state, "reason": reason }),
                );
                Ok(new)
            })
            .await
    }

    /// Cancels a draft or open vote, with a reason.
    pub async fn cancel_vote(&self, id: VoteId, reason: String) -> Result<Vote, Refusal> {
        let votes = self.votes.clone();
        self.store
            .write(move |tx| {
                let reason = check_text("reason", &reason, MAX_REASON_CHARS)?;
                let mut vote = vote(tx, &id)?;
                // Once closed, the tally exists: cancelling then would let anyone who dislikes
                // a result make it vanish. Only a draft or an open vote can be cancelled.
                if !matches!(vote.state, VoteState::Draft | VoteState::Open) {
                    return Err(Refusal::VoteFinal(vote.state.name_zh()));
                }
                // Nor once an encrypted vote's list is signed (a crash left the record open).
                if tx.e2e_get(id.as_str(), b"close")?.is_some() {
                    return Err(Refusal::VoteFinal(VoteState::Closed.name_zh()));
                }
                vote.state = VoteState::Cancelled;
                vote.cancelled = Some(reason.clone());
                votes.put(tx, &vote)?;
                tx.audit(
                    Actor::Operator,
                    "cancel_vote",
                    json!({ "vote": vote.id, "reason": reason }),
                );
                Ok(vote)
            })
            .await
    }
}
