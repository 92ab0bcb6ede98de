//! Deputies: the roster, enrolment codes and tablets, presence (签到, 退场, 请假, 补签到).

use piaojue_core::crypto;
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::refusal::{CodeProblem, Refusal};
use serde_json::json;

use super::{
    Deputy, MAX_REASON_CHARS, Presence, RosterEntry, Session, VoteState, check_text, new_code,
};
use crate::store::{Actor, Holder, Tx};

fn deputy(tx: &Tx<'_>, id: &str) -> Result<Deputy, Refusal> {
    tx.deputy(id)?
        .ok_or_else(|| Refusal::DeputyUnknown(id.into()))
}

/// The open vote in which this deputy may vote, if any: until it closes, the secretariat
/// cannot change their presence, codes or tablet (so it can neither block their cast nor
/// cast in their place).
fn open_vote_of(tx: &Tx<'_>, deputy: &str) -> Result<Option<VoteId>, Refusal> {
    for n in 1..=tx.last_vote_number()? {
        let id = VoteId::nth(n);
        if let Some(v) = tx.vote(&id)?
            && v.state == VoteState::Open
            && tx.is_enabled(&id, deputy)?
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Refuses a change to a deputy who is voting now.
fn not_voting(tx: &Tx<'_>, deputy: &str) -> Result<(), Refusal> {
    match open_vote_of(tx, deputy)? {
        Some(vote) => Err(Refusal::DeputyInOpenVote(vote.to_string())),
        None => Ok(()),
    }
}

impl Session {
    /// Imports the roster, once.
    pub async fn import_roster(&self, entries: Vec<RosterEntry>) -> Result<usize, Refusal> {
        self.store
            .write(move |tx| {
                if !tx.roster_is_empty() {
                    return Err(Refusal::RosterExists);
                }
                for e in &entries {
                    tx.put_deputy(&Deputy {
                        id: e.id.clone(),
                        name: e.name.clone(),
                        delegation: e.delegation.clone(),
                        seat: e.seat.clone(),
                        presence: Presence::Absent,
                        token_sha256: None,
                        code_sha256: None,
                    })?;
                }
                tx.audit(
                    Actor::Operator,
                    "import_roster",
                    json!({ "deputies": entries.len() }),
                );
                Ok(entries.len())
            })
            .await
    }

    /// New enrolment codes for these deputies (for every deputy without a tablet or a
    /// pending code if `None`): (deputy id, code in its grouped form), shown once.
    pub async fn issue_codes(
        &self,
        ids: Option<Vec<DeputyId>>,
    ) -> Result<Vec<(String, String)>, Refusal> {
        self.store
            .write(move |tx| {
                let deputies: Vec<Deputy> = match ids {
                    Some(ids) => ids
                        .iter()
                        .map(|id| deputy(tx, id.as_str()))
                        .collect::<Result<_, _>>()?,
                    // Everyone without a tablet or a code, except deputies voting now: a
                    // code for them would let its holder cast in their place.
                    None => {
                        let mut waiting = Vec::new();
                        for d in tx.deputies()? {
                            if d.token_sha256.is_none()
                                && d.code_sha256.is_none()
                                && open_vote_of(tx, &d.id)?.is_none()
                            {
                                waiting.push(d);
                            }
                        }
                        waiting
                    }
                };
                for d in &deputies {
                    not_voting(tx, &d.id)?;
                }
                let mut codes = Vec::with_capacity(deputies.len());
                for mut d in deputies {
                    if let Some(old) = &d.code_sha256 {
                        tx.del_code(old);
                    }
                    let (hash, code) = new_code()?;
                    tx.put_code(&hash, &Holder::Deputy(d.id.to_string()));
                    tx.put_pending_code(&d.id, &code);
                    d.code_sha256 = Some(hash);
                    tx.put_deputy(&d)?;
                    codes.push((d.id.to_string(), code));
                }
                let ids: Vec<&String> = codes.iter().map(|(id, _)| id).collect();
                tx.audit(Actor::Operator, "issue_codes", json!({ "deputies": ids }));
                Ok(codes)
            })
            .await
    }

    /// A tablet enrols with a deputy's code (normalised) and the SHA-256 of the token it
    /// will hold; the deputy is checked in.
    pub async fn enrol(&self, code: String, token_sha256: String) -> Result<Deputy, Refusal> {
        self.store
            .write(move |tx| {
                let hash = crypto::sha256_hex(code.as_bytes());
                let id = match tx.code_holder(&hash)? {
                    Some(Holder::Deputy(id)) => id,
                    Some(Holder::Scrutineer(_)) => {
                        return Err(Refusal::CodeUnknown(CodeProblem::ScrutineerCardOnTablet));
                    }
                    None => return Err(Refusal::CodeUnknown(CodeProblem::DeputyCode)),
                };
                let mut d = deputy(tx, &id)?;
                tx.del_code(&hash);
                tx.del_pending_code(&d.id);
                if let Some(old) = &d.token_sha256 {
                    tx.del_token(old);
                }
                tx.put_token(&token_sha256, &Holder::Deputy(d.id.to_string()));
                d.code_sha256 = None;
                d.token_sha256 = Some(token_sha256);
                d.presence = Presence::Present;
                tx.put_deputy(&d)?;
                tx.audit(
                    Actor::Deputy(d.id.to_string()),
                    "enrol",
                    json!({ "deputy": d.id }),
                );
                Ok(d)
            })
            .await
    }

    /// A deputy's presence changes: by their own tablet, or by the secretariat with a reason.
    pub async fn set_presence(
        &self,
        id: DeputyId,
        presence: Presence,
        actor: Actor,
        reason: Option<String>,
    ) -> Result<Deputy, Refusal> {
        self.store
            .write(move |tx| {
                let mut d = deputy(tx, id.as_str())?;
                let reason = match (&actor, reason) {
                    (Actor::Operator, Some(r)) => Some(check_text("reason", &r, MAX_REASON_CHARS)?),
                    (Actor::Operator, None) => return Err(Refusal::ReasonRequired),
                    (_, r) => r,
                };
                // The secretariat waits for the vote to close; the deputy's own check-out is
                // recorded, and does not take their vote away (casting checks the roll of
                // the vote, not today's presence).
                if actor == Actor::Operator {
                    not_voting(tx, &d.id)?;
                }
                let from = d.presence;
                d.presence = presence;
                tx.put_deputy(&d)?;
                tx.audit(
                    actor,
                    "presence",
                    json!({ "deputy": d.id, "from": from, "to": presence, "reason": reason }),
                );
                Ok(d)
            })
            .await
    }

    /// A broken tablet: its token is revoked and a new code issued, (deputy id, code).
    pub async fn reissue(&self, id: DeputyId, reason: String) -> Result<(String, String), Refusal> {
        self.store
            .write(move |tx| {
                let reason = check_text("reason", &reason, MAX_REASON_CHARS)?;
                let mut d = deputy(tx, id.as_str())?;
                not_voting(tx, &d.id)?;
                if let Some(old) = d.token_sha256.take() {
                    tx.del_token(&old);
                }
                if let Some(old) = d.code_sha256.take() {
                    tx.del_code(&old);
                }
                let (hash, code) = new_code()?;
                tx.put_code(&hash, &Holder::Deputy(d.id.to_string()));
                tx.put_pending_code(&d.id, &code);
                d.code_sha256 = Some(hash);
                tx.put_deputy(&d)?;
                tx.audit(
                    Actor::Operator,
                    "reissue",
                    json!({ "deputy": d.id, "reason": reason }),
                );
                Ok((d.id.to_string(), code))
            })
            .await
    }
}
