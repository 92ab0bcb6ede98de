//! Scrutineers (监票人): named by the 主席团, enrolled with their own device's key, and
//! co-signing closed votes' results.

use piaojue_core::crypto;
use piaojue_core::ids::{ScrutineerId, VoteId};
use piaojue_core::refusal::{CodeProblem, Refusal};
use serde_json::json;

use super::{Session, VoteState, check_text, new_code};
use crate::store::Tx;

/// Refuses a change to the scrutineers while a vote is open: the set in force when a vote
/// opens is signed into it, and only that set may co-sign its result.
fn no_open_vote(tx: &Tx<'_>) -> Result<(), Refusal> {
    for n in 1..=tx.last_vote_number()? {
        let id = VoteId::nth(n);
        if tx.vote(&id)?.is_some_and(|v| v.state == VoteState::Open) {
            return Err(Refusal::ScrutineersFrozen(id.to_string()));
        }
    }
    Ok(())
}
use crate::store::{Actor, Holder, Scrutineer};

impl Session {
    /// Names a scrutineer: their record and a card code for their device (shown once).
    pub async fn add_scrutineer(&self, name: String) -> Result<(Scrutineer, String), Refusal> {
        self.store
            .write(move |tx| {
                let name = check_text("name", &name, 64)?;
                no_open_vote(tx)?;
                let (hash, code) = new_code()?;
                let s = Scrutineer {
                    id: ScrutineerId::nth(tx.scrutineer_count() as u64 + 1).into(),
                    name,
                    public_key: None,
                    code_sha256: Some(hash.clone()),
                    token_sha256: None,
                };
                tx.put_code(&hash, &Holder::Scrutineer(s.id.clone()));
                tx.put_scrutineer(&s)?;
                tx.audit(
                    Actor::Operator,
                    "add_scrutineer",
                    json!({ "scrutineer": s.id, "name": s.name }),
                );
                Ok((s, code))
            })
            .await
    }

    /// A scrutineer's device enrols with its card code (normalised), the SHA-256 of its
    /// token and its own public key (already checked strict).
    pub async fn enrol_scrutineer(
        &self,
        code: String,
        token_sha256: String,
        public_key: String,
    ) -> Result<Scrutineer, Refusal> {
        self.store
            .write(move |tx| {
                let refused = Refusal::CodeUnknown(CodeProblem::ScrutineerCode);
                let hash = crypto::sha256_hex(code.as_bytes());
                let Some(Holder::Scrutineer(id)) = tx.code_holder(&hash)? else {
                    return Err(refused);
                };
                let mut s = tx.scrutineer(&id)?.ok_or(refused)?;
                no_open_vote(tx)?;
                tx.del_code(&hash);
                if let Some(old) = &s.token_sha256 {
                    tx.del_token(old);
                }
                tx.put_token(&token_sha256, &Holder::Scrutineer(s.id.clone()));
                s.code_sha256 = None;
                s.token_sha256 = Some(token_sha256);
                s.public_key = Some(public_key.clone());
                tx.put_scrutineer(&s)?;
                tx.audit(
                    Actor::Scrutineer(s.id.clone()),
                    "enrol_scrutineer",
                    json!({ "scrutineer": s.id, "public_key": public_key }),
                );
                Ok(s)
            })
            .await
    }

    /// A scrutineer co-signs a closed vote's result with their enrolled key.
    pub async fn cosign(
        &self,
        vote: VoteId,
        scrutineer: ScrutineerId,
        signature: String,
    ) -> Result<(), Refusal> {
        let (vote, scrutineer) = (vote.to_string(), scrutineer.to_string());
        self.store
            .write(move |tx| {
                let v = tx
                    .vote(&vote)?
                    .ok_or_else(|| Refusal::VoteUnknown(vote.clone()))?;
                let mut bundle = tx
                    .bundle(&vote)?
                    .ok_or(Refusal::NothingToCosign(v.state.name_zh()))?;
                let s = tx
                    .scrutineer(&scrutineer)?
                    .ok_or_else(|| Refusal::internal("内部错误", "scrutineer missing"))?;
                let key = s
                    .public_key
                    .clone()
                    .ok_or_else(|| Refusal::internal("内部错误", "scrutineer without key"))?;
                let pinned = v.scrutineers.iter().flatten().any(|p| p.public_key == key);
                if !pinned {
                    return Err(Refusal::ScrutineerNotInVote);
                }
                if !bundle.cosign(&s.name, &key, &signature)? {
                    return Ok(());
                }
                tx.put_bundle(&vote, &bundle)?;
                tx.audit(
                    Actor::Scrutineer(s.id.clone()),
                    "cosign",
                    json!({ "vote": vote, "bundle_sha256": bundle.sha256 }),
                );
                Ok(())
            })
            .await
    }
}
