//! Casting: a deputy's tablet sends its choices, the appliance checks them against the
//! stored state and the rules, stores the ballot apart from the deputy, and answers with a
//! signed receipt once it is on disk.
//!
//! The path: [`Session::cast`] signs a receipt on the request's own thread (signatures run
//! in parallel), then one batched change on the writer checks and stores; the writer answers
//! after the batch's fsync. A refused cast's signature is thrown away.

use piaojue_core::ballot::{self, CastRequest, ReceiptBody};
use piaojue_core::crypto::{self, Domain};
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::refusal::Refusal;
use serde_json::json;

use super::{Session, VoteState};
use crate::store::{Actor, CastMark, Receipt};

impl Session {
    /// Casts a ballot for `deputy` in `vote`. A retry with the same ballot id gets the first
    /// receipt back; a receipt code that happens to be taken is drawn again.
    pub async fn cast(
        &self,
        vote: &VoteId,
        deputy: &DeputyId,
        request: CastRequest,
    ) -> Result<Receipt, Refusal> {
        self.cast_as(vote, deputy, request, false).await
    }

    /// The demo's simulation: a random ballot for a deputy who has not voted, audited as
    /// the operator's act (`demo_cast`), never as the deputy's own. Only a session created
    /// as a demo allows it.
    pub async fn cast_simulated(
        &self,
        vote: &VoteId,
        deputy: &DeputyId,
        request: CastRequest,
    ) -> Result<Receipt, Refusal> {
        if !self.store.meta().demo {
            return Err(Refusal::NotFound);
        }
        self.cast_as(vote, deputy, request, true).await
    }

    async fn cast_as(
        &self,
        vote: &VoteId,
        deputy: &DeputyId,
        request: CastRequest,
        simulated: bool,
    ) -> Result<Receipt, Refusal> {
        let ballot_sha256 = self.ballot_sha256(vote.as_str())?;
        self.cast_signed_for(vote, deputy, request, simulated, ballot_sha256)
            .await
    }

    /// The cast itself, given the ballot hash read before the writer runs (`None`: the vote
    /// had no signed ballot yet).
    async fn cast_signed_for(
        &self,
        vote: &VoteId,
        deputy: &DeputyId,
        request: CastRequest,
        simulated: bool,
        ballot_sha256: Option<String>,
    ) -> Result<Receipt, Refusal> {
        let (vote, deputy) = (vote.as_str(), deputy.as_str());
        for _ in 0..3 {
            let receipt = self.sign_receipt(vote, ballot_sha256.as_deref().unwrap_or_default())?;
            let unsigned_ballot = ballot_sha256.is_none();
            let cache = self.rules.clone();
            let votes = self.votes.clone();
            let (vote, deputy, request) = (vote.to_string(), deputy.to_string(), request.clone());
            let stored = self
                .store
                .write_batched(move |tx| {
                    let v = votes.get(tx, &vote)?;
                    let ballot_id_sha256 = crypto::sha256_hex(request.ballot_id.as_bytes());
                    // A retry of an acknowledged cast gets its receipt back, even after close.
                    if let Some(mark) = tx.cast_mark(&vote, &deputy)? {
                        if mark.ballot_id_sha256 == ballot_id_sha256 {
                            return Ok(mark.receipt);
                        }
                        return Err(Refusal::AlreadyCast);
                    }
                    match v.state {
                        // Opened after the hash was read: the receipt names no ballot, so the
                        // cast is refused as it arrived, before the opening; nothing is stored.
                        VoteState::Open if unsigned_ballot => return Err(Refusal::VoteNotOpenYet),
                        VoteState::Open => {}
                        VoteState::Draft => return Err(Refusal::VoteNotOpenYet),
                        VoteState::Cancelled => return Err(Refusal::VoteCancelled),
                        VoteState::Closed | VoteState::Announced | VoteState::Failed => {
                            return Err(Refusal::VoteClosed);
                        }
                    }
                    // The roll frozen at opening decides who may vote: a deputy who checks out
                    // mid-vote keeps their vote, one checked in after it opened has none.
                    if !tx.is_enabled(&vote, &deputy)? {
                        return Err(Refusal::NotEnabled);
                    }
                    let rules = cache.for_vote(tx, &v)?;
                    let choices = ballot::check_cast(&rules, &v.items, &vote, &request)?;
                    // The receipt was signed before the checks: its code must be new.
                    if tx.has_receipt(&vote, &receipt.receipt_code)? {
                        return Err(Refusal::ReceiptCollision);
                    }
                    let mark = CastMark {
                        ballot_id_sha256,
                        receipt: receipt.clone(),
                        named_choices: (!rules.secret).then(|| choices.clone()),
                    };
                    let turnout = tx.turnout(&vote)? + 1;
                    tx.put_cast_mark(&vote, &deputy, &mark)?;
                    tx.put_ballot(&vote, choices)?;
                    tx.put_receipt(&vote, &receipt.receipt_code);
                    tx.set_turnout(&vote, turnout);
                    if simulated {
                        tx.audit(
                            Actor::Operator,
                            "demo_cast",
                            json!({ "vote": vote, "deputy": deputy }),
                        );
                    } else {
                        tx.audit(Actor::Deputy(deputy), "cast", json!({ "vote": vote }));
                    }
                    Ok(receipt)
                })
                .await;
            match stored {
                Err(Refusal::ReceiptCollision) => continue,
                other => return other,
            }
        }
        Err(Refusal::internal("内部错误", "no free receipt code"))
    }

    /// A receipt for a cast in `vote`, signed by the appliance.
    fn sign_receipt(&self, vote: &str, ballot_sha256: &str) -> Result<Receipt, Refusal> {
        let receipt_code =
            ballot::new_receipt_code().map_err(|e| Refusal::internal("随机数生成失败", e))?;
        let body = ReceiptBody {
            format: ballot::RECEIPT_FORMAT.into(),
            appliance_key: self.store.meta().public_key.clone(),
            vote_id: vote.into(),
            receipt_code: receipt_code.clone(),
            ballot_sha256: ballot_sha256.into(),
        }
        .body()
        .map_err(|e| Refusal::internal("内部错误", e))?;
        let signature = crypto::hex(&self.key.sign(Domain::Receipt, body.as_bytes()));
        Ok(Receipt {
            body,
            signature,
            receipt_code,
        })
    }

    /// The SHA-256 of an open vote's signed ballot (it never changes once signed); `None`
    /// before the vote opens.
    fn ballot_sha256(&self, vote: &str) -> Result<Option<String>, Refusal> {
        let mut cache = self.ballot_hashes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cache.get(vote) {
            return Ok(Some(h.clone()));
        }
        let v = self
            .store
            .vote(vote)?
            .ok_or_else(|| Refusal::VoteUnknown(vote.into()))?;
        let Some(ballot) = v.ballot else {
            // Not open yet: the writer gives the precise refusal.
            return Ok(None);
        };
        let h = crypto::sha256_hex(ballot.body.as_bytes());
        cache.insert(vote.to_string(), h.clone());
        Ok(Some(h))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (receipt without a ballot): a cast whose ballot hash was read while the vote
    /// was a draft, and whose writer ran after the opening, was stored with a receipt naming
    /// an empty ballot hash. Now it is refused as not open yet, and nothing is stored.
    #[tokio::test]
    async fn a_cast_racing_the_opening_never_gets_a_receipt_without_a_ballot() {
        let dir = tempfile::tempdir().unwrap();
        let session = crate::appliance::create_demo(dir.path(), 3).await.unwrap();
        let vote = session.store.votes().unwrap()[0].id.clone();
        let id = vote.as_str().to_string();
        let deputy = DeputyId::parse("d0001").unwrap();
        // All checked in before the opening (a quorum), so the deputy is enabled: without the
        // fix the raced cast would succeed.
        for d in ["d0001", "d0002", "d0003"] {
            session
                .set_presence(
                    DeputyId::parse(d).unwrap(),
                    crate::session::Presence::Present,
                    Actor::Operator,
                    Some("到会".into()),
                )
                .await
                .unwrap();
        }
        let hash_before_opening = session.ballot_sha256(&id).unwrap();
        assert_eq!(hash_before_opening, None);
        session.open_vote(vote.clone()).await.unwrap();
        let request = CastRequest {
            vote_id: id.clone(),
            ballot_id: "ab".repeat(16),
            choices: vec![1; session.store.vote(&id).unwrap().unwrap().items.len()],
        };
        let raced = session
            .cast_signed_for(&vote, &deputy, request, false, hash_before_opening)
            .await;
        assert!(matches!(raced, Err(Refusal::VoteNotOpenYet)), "{raced:?}");
        assert_eq!(session.store.turnout(&id).unwrap(), 0);
        assert!(session.store.ballots(&id).unwrap().is_empty());
        assert!(session.store.cast_mark(&id, "d0001").unwrap().is_none());
        // The tablet's retry, now that the vote is open, is taken with a receipt naming it.
        let retry = CastRequest {
            vote_id: id.clone(),
            ballot_id: "ab".repeat(16),
            choices: vec![1; session.store.vote(&id).unwrap().unwrap().items.len()],
        };
        let receipt = session.cast(&vote, &deputy, retry).await.unwrap();
        assert!(
            receipt
                .body
                .contains(&session.ballot_sha256(&id).unwrap().unwrap())
        );
    }
}
