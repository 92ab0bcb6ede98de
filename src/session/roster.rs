//! Deputies: the roster, enrolment codes and tablets, presence (签到, 退场, 请假, 补签到).

use piaojue_core::crypto;
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::refusal::{CodeProblem, Refusal};
use serde_json::json;

use piaojue_core::bundle::{Intervention, InterventionCosignature, InterventionKind};

use super::{
    CosignatureInput, Deputy, MAX_REASON_CHARS, ManualCheckin, Presence, RosterEntry, Session,
    VoteState, check_text, new_code, now,
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

/// Records an intervention on `d` (its n-th), checking a co-signature if one is given: by an
/// enrolled scrutineer (one of `vote`'s, when the deputy is voting in it), over this very
/// intervention.
fn intervene(
    tx: &Tx<'_>,
    appliance_key: &str,
    d: &mut Deputy,
    kind: InterventionKind,
    reason: String,
    cosignature: Option<CosignatureInput>,
    vote: Option<&VoteId>,
) -> Result<Intervention, Refusal> {
    let mut intervention = Intervention {
        kind,
        deputy: d.id.to_string(),
        seq: d.interventions.len() as u32 + 1,
        time: now(),
        reason,
        actor: "operator".into(),
        cosignature: None,
    };
    if let Some(c) = cosignature {
        let scrutineer = tx
            .scrutineer(&c.scrutineer)?
            .ok_or(Refusal::InterventionCosignature("没有这位监票人"))?;
        let key = scrutineer
            .public_key
            .ok_or(Refusal::InterventionCosignature("这位监票人尚未登记终端"))?;
        if let Some(vote) = vote {
            let pinned = tx
                .vote(vote)?
                .and_then(|v| v.scrutineers)
                .is_some_and(|set| set.iter().any(|p| p.public_key == key));
            if !pinned {
                return Err(Refusal::InterventionCosignature(
                    "会签人不在本次表决开始时确定的监票人之列",
                ));
            }
        }
        piaojue_core::bundle::check_intervention(appliance_key, &intervention, &key, &c.signature)
            .map_err(|_| {
                Refusal::InterventionCosignature("会签签名不能用该监票人登记的公钥验证")
            })?;
        intervention.cosignature = Some(InterventionCosignature {
            scrutineer: scrutineer.id,
            public_key: key,
            signature: c.signature.to_ascii_lowercase(),
        });
    }
    d.interventions.push(intervention.clone());
    Ok(intervention)
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
                        interventions: Vec::new(),
                        token_expires_at: None,
                        manual_checkin: None,
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
                d.token_expires_at = Some(
                    humantime::format_rfc3339_millis(
                        std::time::SystemTime::now() + super::TOKEN_LIFETIME,
                    )
                    .to_string(),
                );
                d.presence = Presence::Present;
                d.manual_checkin = None;
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
        self.set_presence_cosigned(id, presence, actor, reason, None)
            .await
    }

    /// As [`Session::set_presence`]; a manual check-in may carry a scrutineer's co-signature
    /// (a rules document may require one to enable the deputy in a vote).
    pub async fn set_presence_cosigned(
        &self,
        id: DeputyId,
        presence: Presence,
        actor: Actor,
        reason: Option<String>,
        cosignature: Option<CosignatureInput>,
    ) -> Result<Deputy, Refusal> {
        let appliance_key = self.store.meta().public_key.clone();
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
                let mut cosigned_by = None;
                match (&actor, presence) {
                    // 补签到: recorded as an intervention, listed in the bundles of the votes
                    // the deputy is enabled in.
                    (Actor::Operator, Presence::Present) => {
                        let intervention = intervene(
                            tx,
                            &appliance_key,
                            &mut d,
                            InterventionKind::ManualCheckin,
                            reason.clone().unwrap_or_default(),
                            cosignature,
                            None,
                        )?;
                        cosigned_by = intervention.cosignature.map(|c| c.scrutineer);
                        d.manual_checkin = Some(ManualCheckin {
                            cosigned: cosigned_by.is_some(),
                        });
                    }
                    (Actor::Deputy(_), Presence::Present) => d.manual_checkin = None,
                    _ => {}
                }
                tx.put_deputy(&d)?;
                tx.audit(
                    actor,
                    "presence",
                    json!({ "deputy": d.id, "from": from, "to": presence, "reason": reason, "cosigned_by": cosigned_by }),
                );
                Ok(d)
            })
            .await
    }

    /// A broken tablet: its token is revoked and a new code issued, (deputy id, code). For a
    /// deputy enabled in an open vote only with a co-signature by one of that vote's
    /// scrutineers: a tablet broken mid-vote is real, a secretariat casting in a deputy's place
    /// must not be possible.
    pub async fn reissue(
        &self,
        id: DeputyId,
        reason: String,
        cosignature: Option<CosignatureInput>,
    ) -> Result<(String, String), Refusal> {
        let appliance_key = self.store.meta().public_key.clone();
        self.store
            .write(move |tx| {
                let reason = check_text("reason", &reason, MAX_REASON_CHARS)?;
                let mut d = deputy(tx, id.as_str())?;
                let voting = open_vote_of(tx, &d.id)?;
                if let (Some(vote), None) = (&voting, &cosignature) {
                    return Err(Refusal::DeputyInOpenVote(vote.to_string()));
                }
                let intervention = intervene(
                    tx,
                    &appliance_key,
                    &mut d,
                    InterventionKind::Reissue,
                    reason.clone(),
                    cosignature,
                    voting.as_ref(),
                )?;
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
                    json!({ "deputy": d.id, "reason": reason, "cosigned_by": intervention.cosignature.map(|c| c.scrutineer) }),
                );
                Ok((d.id.to_string(), code))
            })
            .await
    }
}
