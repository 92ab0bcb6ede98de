//! An encrypted vote's life at the appliance, linked to the vote the secretariat created
//! (issue 15): the secretariat opens it, the credential officer's signed roll call starts it
//! (the vote manifest must be the form the rules document makes of the vote's items), the
//! close signs the list hash, k partial decryptions give the decoded counts, and the rules
//! engine decides from them exactly as for a plain vote. The result is the v2 bundle with the
//! appliance's result keys (`rules::encrypted::ResultKeys`), in the session's chain.
//!
//! The protocol's records are `e2e_votes.rs`'s; this file only moves the vote record along
//! and adds the `keys` record (the result keys as first computed, so the bundle's bytes never
//! change).

use piaojue_core::bundle::AuditHead;
use piaojue_core::crypto;
use piaojue_core::e2e::manifest::VoteManifest;
use piaojue_core::ids::VoteId;
use piaojue_core::refusal::Refusal;
use piaojue_core::rules::Roll;
use piaojue_core::rules::encrypted::{self, Chain, RESULT_FORMAT, ResultKeys, VoteRecord};
use serde_json::{Value, json};

use super::{Mode, Presence, RulesCache, Session, Vote, VoteCache, VoteState, now};
use crate::store::{Actor, Tx};

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::internal("内部错误", e.to_string())
}

/// 应到 and 实到 now.
pub(crate) fn present_count(tx: &Tx<'_>) -> Result<(u64, u64), Refusal> {
    let deputies = tx.deputies()?;
    let present = deputies
        .iter()
        .filter(|d| d.presence == Presence::Present)
        .count();
    Ok((deputies.len() as u64, present as u64))
}

/// Inside the write that stores an opening roll call: when the manifest's vote_id is a vote
/// of this session, that vote must be an encrypted draft the secretariat opened, and the
/// manifest its form; the vote then opens with the roll call's credentials as enabled.
/// `None` for a vote_id the session has no vote for (a stand-alone encrypted vote).
pub(crate) fn open_linked(
    tx: &mut Tx<'_>,
    rules: &RulesCache,
    votes: &VoteCache,
    vm: &VoteManifest,
    enabled: u64,
) -> Result<Option<Vote>, Refusal> {
    let Some(id) = VoteId::parse(&vm.vote_id) else {
        return Ok(None);
    };
    // A stand-alone vote must not take the id of a vote the secretariat will create later
    // (standalone_e2e_vote_cannot_take_a_session_vote_id): its ballots would be that vote's.
    let Some(mut vote) = tx.vote(id.as_str())? else {
        return Err(Refusal::E2eVote(format!(
            "vote_id: {id} is shaped like this session's votes (v<number>) but the secretariat has no such vote; a stand-alone encrypted vote takes another id"
        )));
    };
    if vote.mode != Mode::Encrypted {
        return Err(Refusal::E2eVote(format!(
            "vote_id: {id} is a plain vote (普通模式)"
        )));
    }
    if vote.state != VoteState::Draft {
        return Err(Refusal::VoteNotDraft(vote.state.name_zh()));
    }
    if !vote.awaiting_roll_call {
        return Err(Refusal::NotAwaitingRollCall(id.to_string()));
    }
    let r = rules.for_vote(tx, &vote)?;
    encrypted::form_for(&r, vote.items.len())
        .and_then(|f| f.check_manifest(vm, &vote.items))
        .map_err(|e| Refusal::E2eVote(format!("vote_manifest: {e}")))?;
    let (seated, present) = present_count(tx)?;
    if !r.quorum.reached(present, seated) {
        return Err(Refusal::QuorumNotMet {
            seated,
            present,
            minimum: r.quorum.minimum(seated),
        });
    }
    if enabled > present {
        return Err(Refusal::E2eVote(format!(
            "roll_call.credentials: {enabled} enabled, but only {present} deputies are checked in"
        )));
    }
    let scrutineers = super::votes::pinned_scrutineers(tx)?;
    let opened_at = now();
    vote.closes_at = Some(super::votes::after(
        &opened_at,
        u64::from(r.voting_seconds),
    )?);
    vote.opened_at = Some(opened_at);
    vote.state = VoteState::Open;
    vote.awaiting_roll_call = false;
    vote.roll = Some(Roll {
        seated,
        present,
        enabled: Some(enabled),
        cast: None,
    });
    vote.scrutineers = Some(scrutineers);
    votes.put(tx, &vote)?;
    tx.audit(
        Actor::System,
        "open_vote",
        json!({ "vote": vote.id, "mode": "encrypted", "seated": seated, "present": present, "enabled": enabled, "closes_at": vote.closes_at }),
    );
    Ok(Some(vote))
}

impl Session {
    /// The vote record of an encrypted vote of this session, if `vote` is one.
    pub fn linked_vote(&self, vote: &str) -> Result<Option<Vote>, Refusal> {
        Ok(self.store.vote(vote)?.filter(|v| v.mode == Mode::Encrypted))
    }

    /// Ballots accepted so far in an encrypted vote.
    pub fn e2e_turnout(&self, vote: &str) -> Result<u64, Refusal> {
        Ok(self.store.e2e_keys(vote, b"b/")?.len() as u64)
    }

    /// Closes an open encrypted vote (the secretariat, or its period's end): the list hash
    /// and the signed close statement (kept if a crash left them without the vote record's
    /// change), then the vote record. Returns the vote and whether it closed now.
    pub(crate) async fn close_encrypted(
        &self,
        id: VoteId,
        by_operator: bool,
    ) -> Result<(Vote, bool), Refusal> {
        let vote = self
            .store
            .vote(id.as_str())?
            .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
        if vote.state != VoteState::Open {
            return if by_operator {
                Err(Refusal::VoteNotOpen(vote.state.name_zh()))
            } else {
                Ok((vote, false))
            };
        }
        let left = super::votes::seconds_left(vote.closes_at.as_deref());
        // A close statement already signed (a crash between it and the vote record's change)
        // is finished whatever the period left: the list is final
        // (half_done_encrypted_close_is_finished_and_never_cancelled).
        let signed = self.store.e2e_get(id.as_str(), b"close")?.is_some();
        if left > 0 && !signed {
            if !by_operator {
                return Ok((vote, false));
            }
            // As for a plain secret vote: early only once every enabled deputy has cast.
            let cast = self.e2e_turnout(id.as_str())?;
            let enabled = vote.roll.and_then(|r| r.enabled).unwrap_or(0);
            if cast < enabled {
                return Err(Refusal::PeriodRunning {
                    cast,
                    enabled,
                    seconds_left: left,
                });
            }
        }
        if self.store.e2e_get(id.as_str(), b"close")?.is_none() {
            self.e2e_close(id.as_str()).await?;
        }
        let close: Value = self
            .store
            .e2e_get(id.as_str(), b"close")?
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| internal("no close statement after closing"))?;
        let n_cast = close["n_cast"].as_u64().unwrap_or(0);
        let votes = self.votes.clone();
        let list_hash = close["list_hash"].clone();
        self.store
            .write(move |tx| {
                let mut vote = tx
                    .vote(id.as_str())?
                    .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
                if vote.state != VoteState::Open {
                    return Ok((vote, false));
                }
                let mut roll = vote.roll.ok_or_else(|| internal("an open vote without roll"))?;
                roll.cast = Some(n_cast);
                vote.roll = Some(roll);
                vote.state = VoteState::Closed;
                vote.closed_at = Some(now());
                votes.put(tx, &vote)?;
                tx.audit(
                    if by_operator {
                        Actor::Operator
                    } else {
                        Actor::System
                    },
                    "close_vote",
                    json!({ "vote": vote.id, "mode": "encrypted", "cast": n_cast, "list_hash": list_hash, "by": if by_operator { "operator" } else { "period_ended" } }),
                );
                Ok((vote, true))
            })
            .await
    }

    /// Once k partial decryptions are combined: the rules engine decides from the decoded
    /// counts, the result keys are fixed (with the chain's previous bundle) and the vote
    /// record carries the outcome. Idempotent; also run by the ticker, so a crash between
    /// the combination and this step only delays it.
    pub async fn e2e_finish(&self, id: &VoteId) -> Result<Option<Vote>, Refusal> {
        let Some(vote) = self.linked_vote(id.as_str())? else {
            return Ok(None);
        };
        if vote.state != VoteState::Closed || vote.result.is_some() {
            return Ok(None);
        }
        let Some(result) = self.store.e2e_get(id.as_str(), b"result")? else {
            return Ok(None);
        };
        // The bundle needs the officer's closing roll call: decided once it is in.
        if self.store.e2e_get(id.as_str(), b"roll_close")?.is_none() {
            return Ok(None);
        }
        let result: Value = serde_json::from_slice(&result).map_err(internal)?;
        let decoded: Vec<Vec<u64>> =
            serde_json::from_value(result["counts"].clone()).map_err(internal)?;
        let (adopted, rules, roll) = self.closed_vote_rules(&vote)?;
        let (counts, outcome) =
            encrypted::decide_decoded(&rules, &vote.items, roll, &decoded).map_err(internal)?;
        let outcome_json = serde_json::to_value(&outcome).map_err(internal)?;
        let keys = self.result_keys(
            &vote,
            &rules,
            roll,
            adopted.document,
            counts,
            outcome_json,
            outcome.announcement.clone(),
            None,
        );
        let update = |vote: &mut Vote, keys: &ResultKeys| {
            if vote.result.is_some() {
                return Ok(false);
            }
            vote.result = Some(keys.outcome.clone());
            Ok(true)
        };
        self.seal(id, keys, update, "e2e_decided").await
    }

    /// A closed vote's adopted rules document (as adopted and parsed) and its frozen roll.
    fn closed_vote_rules(
        &self,
        vote: &Vote,
    ) -> Result<(crate::store::AdoptedRules, piaojue_core::rules::Rules, Roll), Refusal> {
        let adopted = self
            .store
            .rules(&vote.rules_sha256)?
            .ok_or_else(|| internal("adopted rules missing"))?;
        let rules =
            piaojue_core::rules::Rules::from_json(adopted.document.as_bytes()).map_err(internal)?;
        let rules = vote.rules_under(&rules)?;
        let roll = vote
            .roll
            .ok_or_else(|| internal("a closed vote without roll"))?;
        Ok((adopted, rules, roll))
    }

    /// The result keys of a decided or failed vote; `chain` is set by [`Session::seal`].
    #[allow(clippy::too_many_arguments)]
    fn result_keys(
        &self,
        vote: &Vote,
        rules: &piaojue_core::rules::Rules,
        roll: Roll,
        rules_document: String,
        counts: Vec<Vec<u64>>,
        outcome: Value,
        announcement: String,
        failed: Option<encrypted::Failed>,
    ) -> ResultKeys {
        let meta = self.store.meta();
        ResultKeys {
            result_format: RESULT_FORMAT.into(),
            session: meta.name.clone(),
            appliance_key: meta.public_key.clone(),
            vote_record: VoteRecord {
                vote_id: vote.id.to_string(),
                title: vote.title.clone(),
                kind: rules.kind,
                mode: "encrypted".into(),
                items: vote.items.clone(),
                opened_at: vote.opened_at.clone().unwrap_or_default(),
                closed_at: vote.closed_at.clone().unwrap_or_default(),
                roll,
            },
            rules_sha256: vote.rules_sha256.clone(),
            rules_document,
            counts,
            outcome,
            announcement,
            chain: Chain {
                previous_bundle_sha256: None,
                audit_head: AuditHead {
                    seq: 0,
                    hash: String::new(),
                },
            },
            demo: meta.demo,
            failed,
            procedure: vote.procedure(),
        }
    }

    /// Fixes an encrypted vote's result keys in the session's chain: the body is made with
    /// the chain's previous bundle, stored with its SHA-256 as the chain's new head, and
    /// `update` moves the vote record along (false: it already was, nothing is written).
    async fn seal(
        &self,
        id: &VoteId,
        mut keys: ResultKeys,
        update: fn(&mut Vote, &ResultKeys) -> Result<bool, Refusal>,
        action: &'static str,
    ) -> Result<Option<Vote>, Refusal> {
        // The chain's previous bundle is read again inside the write: a plain vote closing
        // meanwhile makes this try again with it.
        for _ in 0..4 {
            let previous = self.store.last_bundle()?;
            let head = self.store.audit_head()?;
            keys.chain = Chain {
                previous_bundle_sha256: previous.clone(),
                audit_head: AuditHead {
                    seq: head.seq,
                    hash: crypto::hex(&head.hash),
                },
            };
            let body = self.e2e_body(id.as_str(), Some(&keys)).await?;
            let sha = crypto::sha256_hex(body.as_bytes());
            let keys_json = serde_json::to_vec(&keys).map_err(internal)?;
            // The body's exact bytes are kept: the chain names their SHA-256, so they are
            // never rebuilt from records (bundle_bytes_are_persisted_once_at_finish).
            let body_bytes = body.into_bytes();
            let votes = self.votes.clone();
            let (id2, sealed) = (id.clone(), keys.clone());
            let done = self
                .store
                .write(move |tx| {
                    if tx.last_bundle()? != previous {
                        return Ok(None);
                    }
                    let mut vote = tx
                        .vote(id2.as_str())?
                        .ok_or_else(|| Refusal::VoteUnknown(id2.to_string()))?;
                    if !update(&mut vote, &sealed)? {
                        return Ok(Some(vote));
                    }
                    votes.put(tx, &vote)?;
                    tx.e2e_put(id2.as_str(), b"keys", keys_json);
                    tx.e2e_put(id2.as_str(), b"bundle_sha256", sha.clone().into_bytes());
                    tx.e2e_put(id2.as_str(), b"body", body_bytes);
                    tx.set_last_bundle(&sha);
                    tx.audit(
                        Actor::System,
                        action,
                        json!({ "vote": vote.id, "bundle_sha256": sha, "failed": vote.failed }),
                    );
                    Ok(Some(vote))
                })
                .await?;
            if done.is_some() {
                return Ok(done);
            }
        }
        Err(internal("the chain kept moving while the result was made"))
    }

    /// The secretariat declares an encrypted vote failed when its decryption cannot complete
    /// (fewer than k scrutineers, a closing roll call the scrutineers refuse, the officer's
    /// laptop lost): audited, shown in the hall, and its bundle published at once with every
    /// ballot, the list hash and the close statement but no totals (docs/e2e.md). Only a
    /// closed encrypted vote whose decryption has not completed; never undone.
    pub async fn declare_failed(&self, id: &VoteId, reason: String) -> Result<Vote, Refusal> {
        let reason = super::check_text("reason", &reason, encrypted::MAX_FAILED_REASON_CHARS)?;
        // No partial decryption is combined meanwhile.
        let _decrypting = self.e2e_decrypting.lock().await;
        let vote = self
            .store
            .vote(id.as_str())?
            .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
        if vote.manual.is_some() {
            return self.reject_manual_count(id.clone(), reason).await;
        }
        if vote.mode != Mode::Encrypted {
            return Err(Refusal::E2eVoteConflict(format!(
                "{id} is a plain vote: only an encrypted vote's decryption can fail; cancel a plain vote before it closes"
            )));
        }
        if vote.state != VoteState::Closed {
            return Err(Refusal::E2eVoteConflict(format!(
                "{id} is {}: only a closed vote whose decryption has not completed can be declared failed",
                vote.state.name_zh()
            )));
        }
        if vote.result.is_some() || self.store.e2e_get(id.as_str(), b"result")?.is_some() {
            return Err(Refusal::E2eVoteConflict(format!(
                "{id}: the decryption is complete; its result stands and is announced, not declared failed"
            )));
        }
        let (adopted, rules, roll) = self.closed_vote_rules(&vote)?;
        let failed = encrypted::Failed {
            reason: reason.clone(),
            declared_at: now(),
        };
        let keys = self.result_keys(
            &vote,
            &rules,
            roll,
            adopted.document,
            Vec::new(),
            Value::Null,
            encrypted::failed_announcement(&vote.title, &reason),
            Some(failed),
        );
        let update = |vote: &mut Vote, keys: &ResultKeys| {
            if vote.state != VoteState::Closed || vote.result.is_some() {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{}: no longer a closed vote awaiting its decryption",
                    vote.id
                )));
            }
            vote.state = VoteState::Failed;
            vote.failed = keys.failed.as_ref().map(|f| f.reason.clone());
            vote.announced_at = Some(now());
            Ok(true)
        };
        self.seal(id, keys, update, "declare_failed")
            .await?
            .ok_or_else(|| internal("declared failed without a vote"))
    }

    /// What the console and the hall screen show of an encrypted vote after its close: the
    /// list hash (grouped as read aloud), the credential officer's closing roll call, who
    /// has decrypted of the k needed, and the result bundle's SHA-256 once decided.
    pub async fn e2e_status(&self, vote: &str) -> Result<Value, Refusal> {
        let close: Option<Value> = self
            .store
            .e2e_get(vote, b"close")?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let roll_close: Option<Value> = self
            .store
            .e2e_get(vote, b"roll_close")?
            .and_then(|b| serde_json::from_slice(&b).ok());
        let partials = self.e2e_decrypted_by(vote)?;
        let (k, n) = match self.ceremony_done().await {
            Ok(done) => (Some(done.manifest.k), Some(done.manifest.n())),
            Err(_) => (None, None),
        };
        let list_hash = close.as_ref().and_then(|c| c["list_hash"].as_str());
        Ok(json!({
            "list_hash": list_hash,
            "list_hash_grouped": list_hash.map(crypto::fingerprint_grouped),
            "n_cast": close.as_ref().and_then(|c| c["n_cast"].as_u64()),
            "cast_count": roll_close.as_ref().and_then(|r| r["cast_count"].as_u64()),
            "decrypted_by": partials,
            "k": k,
            "n": n,
            "decided": self.store.e2e_get(vote, b"keys")?.is_some(),
            "bundle_sha256": self
                .store
                .e2e_get(vote, b"bundle_sha256")?
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
        }))
    }

    /// The result keys of a decided encrypted vote, as first computed.
    pub(crate) fn e2e_keys(&self, vote: &str) -> Result<Option<ResultKeys>, Refusal> {
        match self.store.e2e_get(vote, b"keys")? {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(internal)?)),
            None => Ok(None),
        }
    }
}
