//! Encrypted votes at the appliance (SPEC-E2E §7.4, §7.6, §9): the CO opens a vote with its
//! manifest and signed roll call, tablets cast verified ballots, the secretariat closes it
//! (the list hash and the signed close statement), the CO signs the closing roll call with
//! its count of cast notices, the scrutineers post partial decryptions, and any k of them are
//! combined. The appliance checks everything it relays and decides nothing it could fake:
//! every step is re-checked by the scrutineers' programs (G1–G6) and by `piaojue verify`.
//!
//! Records (tree `e2e_votes`, key `vote ‖ 0 ‖ …`): `manifest` (exact bytes), `roll_open`,
//! `roll_close`, `b/` + tracker (the ballot's JSON), `r/` + sequence (rejected), `close`,
//! `totals`, `p/` + guardian (partials), `result`.

use std::collections::HashMap;
use std::sync::Arc;

use piaojue_core::e2e::ballot::{Ballot, BallotBox, BoxRejection, VoteContext, verify_ballot};
use piaojue_core::e2e::ceremony::Board;
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::decryption::{self, Close, Partial, RollCall, Statement};
use piaojue_core::e2e::elgamal::{Ciphertext, JointKey};
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest};
use piaojue_core::e2e::tally::{self, DlogTable};
use piaojue_core::e2e::transcript;
use piaojue_core::refusal::Refusal;
use serde_json::{Value, json};

use super::Session;
use crate::store::Actor;

/// The ceremony once complete (built once by `Session::ceremony_done`).
#[derive(Debug)]
pub struct Completed {
    pub(crate) manifest: SessionManifest,
    board: Board,
    key: Arc<JointKey>,
}

/// How many ballots one deputy may audit (核验) in one vote: enough for spot checks, and
/// the published list stays bounded by the roll.
pub const AUDITS_PER_CREDENTIAL: u64 = 3;

/// How many refused ballots of one credential a vote keeps for its bundle.
pub const REJECTED_PER_CREDENTIAL: u64 = 3;

/// `not-enabled` ballots kept per vote (anyone can make such a ballot).
pub const NOT_ENABLED_KEPT: u64 = 16;

/// The most ballots a vote's list answer carries at once.
pub const MAX_BALLOTS_PER_ANSWER: usize = 200;

/// What the appliance keeps in memory per encrypted vote (rebuilt from the store).
#[derive(Debug)]
pub struct VoteState {
    manifest: VoteManifest,
    roll: RollCall,
    /// Admitted ballots and audited ciphertexts. Never behind the store: every stored
    /// ballot and audit record is in it (the state is rebuilt from the store whenever a write
    /// fails), which is what lets a new ballot skip the store lookups (`has_seen`).
    bx: BallotBox,
    /// Each admitted credential's tracker: a tablet resending its own ballot while the first
    /// copy is still being stored is answered with that receipt, not refused.
    cast: HashMap<[u8; 32], [u8; 32]>,
    closed: bool,
}

fn bad(m: impl Into<String>) -> Refusal {
    Refusal::E2eVote(m.into())
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::internal("内部错误", e.to_string())
}

/// How many refused ballots a vote keeps for its bundle: enough for every enabled deputy to
/// have one refused, and a floor for small votes.
fn rejected_cap(roll: &RollCall) -> u64 {
    (roll.credentials.len() as u64).max(64)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Session {
    /// The completed ceremony: the manifest, the board as it completed (cc, Z) and K with its
    /// precomputed tables. Built once: a completed attempt never changes, and the tables must
    /// not be rebuilt on every cast.
    pub(crate) async fn ceremony_done(&self) -> Result<Arc<Completed>, Refusal> {
        if let Some(done) = self.e2e_completed.get() {
            return Ok(done.clone());
        }
        let board = {
            let mut cache = self.board.lock().await;
            self.board_now(&mut cache)?
        };
        let k = board.joint_key().ok_or(Refusal::CeremonyIncomplete)?;
        let key = JointKey::new(k, "joint_key").map_err(internal)?;
        let done = Arc::new(Completed {
            manifest: board.manifest().clone(),
            board,
            key: Arc::new(key),
        });
        Ok(self.e2e_completed.get_or_init(|| done).clone())
    }

    /// The published session manifest, once the ceremony has completed.
    pub async fn e2e_session_manifest(&self) -> Result<SessionManifest, Refusal> {
        Ok(self.ceremony_done().await?.manifest.clone())
    }

    /// The completed ceremony: manifest, board and K.
    pub async fn e2e_completed(&self) -> Result<(SessionManifest, Board, Arc<JointKey>), Refusal> {
        let done = self.ceremony_done().await?;
        Ok((done.manifest.clone(), done.board.clone(), done.key.clone()))
    }

    /// The vote's state, loaded from the store on first use.
    async fn e2e_state<'a>(
        &self,
        votes: &'a mut HashMap<String, VoteState>,
        sm: &SessionManifest,
        vote: &str,
    ) -> Result<&'a mut VoteState, Refusal> {
        if !votes.contains_key(vote) {
            let bytes = self
                .store
                .e2e_get(vote, b"manifest")?
                .ok_or_else(|| Refusal::VoteUnknown(vote.into()))?;
            let manifest = VoteManifest::parse(&bytes, sm).map_err(internal)?;
            let roll = self
                .e2e_json(vote, b"roll_open")?
                .ok_or_else(|| internal("no roll call"))?;
            let roll = RollCall::from_json(&roll, "roll_open").map_err(internal)?;
            let mut bx = BallotBox::new(&roll.credentials);
            let mut cast = HashMap::new();
            for (k, b) in self.store.e2e_shared(vote, b"b/")? {
                let v: Value = serde_json::from_slice(b.as_ref()).map_err(internal)?;
                let ballot = Ballot::from_json(&v, &manifest).map_err(internal)?;
                bx.admit(&ballot)
                    .map_err(|r| internal(format!("stored ballot: {r:?}")))?;
                cast.insert(
                    ballot.cred_pk,
                    <[u8; 32]>::try_from(k.as_slice()).map_err(internal)?,
                );
            }
            for (_, b) in self.store.e2e_scan(vote, b"s/")? {
                let v: Value = serde_json::from_slice(&b).map_err(internal)?;
                let sp = piaojue_core::e2e::bundle::Spoiled::from_json(&v, "spoiled")
                    .map_err(internal)?;
                bx.reserve_a_values(sp.items.iter().chain(&sp.bits).map(|c| {
                    let mut a = [0u8; 32];
                    a.copy_from_slice(&c[..32]);
                    a
                }));
            }
            let closed = self.store.e2e_get(vote, b"close")?.is_some();
            votes.insert(
                vote.to_owned(),
                VoteState {
                    manifest,
                    roll,
                    bx,
                    cast,
                    closed,
                },
            );
        }
        votes
            .get_mut(vote)
            .ok_or_else(|| Refusal::VoteUnknown(vote.into()))
    }

    /// Every JSON record of a vote under `prefix`, in key order.
    fn e2e_jsons(&self, vote: &str, prefix: &[u8]) -> Result<Vec<Value>, Refusal> {
        self.store
            .e2e_scan(vote, prefix)?
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).map_err(internal))
            .collect()
    }

    fn e2e_json(&self, vote: &str, key: &[u8]) -> Result<Option<Value>, Refusal> {
        match self.store.e2e_get(vote, key)? {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(internal)?)),
            None => Ok(None),
        }
    }

    /// The CO opens an encrypted vote: its manifest's exact bytes and the opening roll call
    /// (cast_count 0), signed with the CO key the session manifest pins.
    pub async fn e2e_open(&self, body: &Value) -> Result<Value, Refusal> {
        let sm = self.ceremony_done().await?.manifest.clone();
        let bytes = body["vote_manifest"]
            .as_str()
            .ok_or_else(|| bad("vote_manifest: the manifest's exact bytes, as hex"))
            .and_then(|h| hex::decode(h, "vote_manifest").map_err(|e| bad(e.to_string())))?;
        let vm = VoteManifest::parse(&bytes, &sm).map_err(|e| bad(e.to_string()))?;
        if vm
            .vote_id
            .starts_with(piaojue_core::e2e::ceremony::DRY_RUN_PREFIX)
        {
            return Err(bad(
                "vote_id: dry-run-… is reserved for the ceremony's dry runs",
            ));
        }
        let roll =
            RollCall::from_json(&body["roll_call"], "roll_call").map_err(|e| bad(e.to_string()))?;
        if roll.cast_count != 0 {
            return Err(bad("roll_call.cast_count: 0 at opening"));
        }
        roll.verify(&sm, &vm, "roll_call")
            .map_err(|e| bad(e.to_string()))?;
        let vote = vm.vote_id.clone();
        let vmh = *vm.hash();
        let mut votes = self.e2e_votes.lock().await;
        if self.store.e2e_get(&vote, b"manifest")?.is_some() {
            return Err(Refusal::E2eVoteConflict(format!(
                "{vote} already exists (a re-vote takes a new vote_id)"
            )));
        }
        let roll_json = serde_json::to_vec(&roll.to_json()).map_err(internal)?;
        let (v2, n) = (vote.clone(), roll.credentials.len());
        let (cache, vcache) = (self.rules.clone(), self.votes.clone());
        let linked = self
            .store
            .write(move |tx| {
                // A vote of this session opens with it (encrypted.rs); any refusal there
                // leaves nothing stored.
                let linked = super::encrypted::open_linked(tx, &cache, &vcache, &vm, n as u64)?;
                tx.e2e_put(&v2, b"manifest", bytes);
                tx.e2e_put(&v2, b"roll_open", roll_json);
                tx.audit(
                    Actor::System,
                    "e2e_open",
                    json!({ "vote": v2, "enabled": n }),
                );
                Ok(linked.map(|v| v.id))
            })
            .await?;
        votes.remove(&vote);
        Ok(
            json!({ "vote_id": vote, "vmh": hex::encode(&vmh), "enabled": n, "opened": linked.is_some() }),
        )
    }

    /// A tablet's ballot: verified (§7.6 1–7) before it is stored; the receipt is signed
    /// after the store's fsync. A refused ballot is kept, with its reason, for the bundle.
    pub async fn e2e_cast(&self, vote: &str, body: Value) -> Result<Value, Refusal> {
        let permit = self
            .e2e_verifiers
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)?;
        self.e2e_cast_with(vote, body, permit).await
    }

    /// A tablet's ballot as the bytes it sent: parsed only once a verifier is free, so a
    /// burst of 3,000 waits as 3,000 small bodies, not 3,000 parsed trees (the server's peak
    /// memory: encrypted_burst_holds_raw_bodies_while_waiting).
    pub async fn e2e_cast_bytes(&self, vote: &str, bytes: &[u8]) -> Result<Value, Refusal> {
        let permit = self
            .e2e_verifiers
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)?;
        let body: Value = serde_json::from_slice(bytes)
            .map_err(|e| Refusal::BallotRejected(format!("invalid: not JSON: {e}")))?;
        self.e2e_cast_with(vote, body, permit).await
    }

    async fn e2e_cast_with(
        &self,
        vote: &str,
        body: Value,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<Value, Refusal> {
        let done = self.ceremony_done().await?;
        let (sm, key) = (done.manifest.clone(), done.key.clone());
        let vm = {
            let mut votes = self.e2e_votes.lock().await;
            let st = self.e2e_state(&mut votes, &sm, vote).await?;
            (st.manifest.clone(), st.closed)
        };
        let (vm, closed) = vm;
        // The same ballot again (a tablet that lost its answer, or anyone replaying a public
        // ballot): its receipt, without verifying or keeping anything (review I2).
        // Not even a ballot of this vote's shape: refused, nothing kept.
        let parsed = Ballot::from_json(&body, &vm)
            .map_err(|e| Refusal::BallotRejected(format!("invalid: {e}")))?;
        // Only a ballot whose credential or ciphertexts the box has seen can have a receipt
        // or an audit record: a new one skips both lookups, which would wait for the group
        // commit in flight (reads see only what is on disk).
        let seen = {
            let mut votes = self.e2e_votes.lock().await;
            let st = self.e2e_state(&mut votes, &sm, vote).await?;
            st.bx.has_seen(&parsed)
        };
        // Only then is its tracker wanted before verification (which computes it).
        let seen = seen.then(|| parsed.tracker(sm.hash(), vote));
        // Before any state check: a tablet whose answer was lost in the last second gets its
        // receipt after the close too (review: retry_of_accepted_encrypted_ballot_after_close).
        if let Some(tracker) = &seen {
            let mut rk = b"rc/".to_vec();
            rk.extend_from_slice(tracker);
            if let Some(receipt) = self.e2e_json(vote, &rk)? {
                return Ok(receipt);
            }
        }
        if closed {
            return Err(Refusal::VoteClosed);
        }
        // A vote of this session takes ballots while it is open and its period runs.
        if let Some(v) = self.linked_vote(vote)?
            && (v.state != super::VoteState::Open
                || super::votes::seconds_left(v.closes_at.as_deref()) == 0)
        {
            return Err(Refusal::VoteClosed);
        }

        // An audited ballot was revealed: casting it would publish a known vote (V13).
        if let Some(tracker) = &seen {
            let mut sk = b"s/".to_vec();
            sk.extend_from_slice(tracker);
            if self.store.e2e_get(vote, &sk)?.is_some() {
                return Err(Refusal::BallotRejected(
                    "spoiled: this ballot was audited (核验) and revealed; it can never be cast — encrypt a new one".into(),
                ));
            }
        }
        let (sm2, vm2, key2) = (sm.clone(), vm.clone(), key.clone());
        let verified = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let t = verify_ballot(
                &VoteContext {
                    manifest_hash: sm2.hash(),
                    vote: &vm2,
                    key: &key2,
                },
                &parsed,
            );
            (parsed, t)
        })
        .await
        .map_err(internal)?;
        let (ballot, checked) = verified;
        // Held until the ballot is stored: the close waits for every admitted ballot, so no
        // receipt is ever signed for a ballot outside the closed list.
        let admitting = self.e2e_gate.read().await;
        let mut votes = self.e2e_votes.lock().await;
        let st = self.e2e_state(&mut votes, &sm, vote).await?;
        if st.closed {
            return Err(Refusal::VoteClosed);
        }
        let tracker = match checked {
            Ok(t) => t,
            // Kept for the bundle (V16) only when attributable: an enabled credential's valid
            // signature over a ballot whose proofs fail. Anything else anyone could send.
            Err(e @ piaojue_core::e2e::E2eError::Signature { .. }) => {
                return Err(Refusal::BallotRejected(format!("invalid: {e}")));
            }
            Err(e) if !st.roll.credentials.contains(&ballot.cred_pk) => {
                return Err(Refusal::BallotRejected(format!("not-enabled: {e}")));
            }
            Err(e) => {
                let cap = rejected_cap(&st.roll);
                drop(votes);
                return self
                    .e2e_reject(vote, &ballot.cred_pk, "invalid", &e.to_string(), body, cap)
                    .await;
            }
        };
        if let Err(r) = st.bx.admit(&ballot) {
            let cap = rejected_cap(&st.roll);
            let resent = st.cast.get(&ballot.cred_pk) == Some(&tracker);
            drop(votes);
            if resent {
                // The same ballot again while its first copy is being stored
                // (a_resent_ballot_racing_its_first_copy_gets_the_same_receipt): its receipt
                // once on disk, and nothing kept as refused.
                drop(admitting);
                return self.e2e_receipt_once_stored(vote, &tracker).await;
            }
            let reason = match r {
                BoxRejection::DuplicateCredential => "duplicate-credential",
                BoxRejection::NotEnabled => "not-enabled",
                // A valid ballot repeating a ciphertext: refused, not kept, since V16 has no
                // reason for it that a verifier could substantiate (review M7).
                BoxRejection::DuplicateCiphertext => {
                    return Err(Refusal::BallotRejected(
                        "invalid: a ciphertext repeats one already cast or audited (核验)".into(),
                    ));
                }
            };
            return self
                .e2e_reject(vote, &ballot.cred_pk, reason, &format!("{r:?}"), body, cap)
                .await;
        }
        st.cast.insert(ballot.cred_pk, tracker);
        let time = now();
        let record = serde_json::to_vec(&ballot.to_json(vote, vm.shape())).map_err(internal)?;
        let identity = SigningIdentity::from_seed(&self.key.seed());
        let sig = identity.sign(&transcript::receipt_message(
            sm.hash(),
            vote,
            &tracker,
            time,
        ));
        let receipt = json!({
            "vote_id": vote,
            "tracker": hex::encode(&tracker),
            "short_code": piaojue_core::e2e::ballot::short_code(&tracker),
            "time": time,
            "sig": hex::encode(&sig),
        });
        let receipt_bytes = serde_json::to_vec(&receipt).map_err(internal)?;
        let (v2, t2) = (vote.to_owned(), tracker);
        let mut k = b"b/".to_vec();
        k.extend_from_slice(&t2);
        let mut rk = b"rc/".to_vec();
        rk.extend_from_slice(&t2);
        // The credential is taken in memory: the lock is released before the write, so the
        // casts of a burst share one group commit instead of one fsync each
        // (encrypted_casts_share_the_group_commit).
        drop(votes);
        let written = self
            .store
            .write_batched(move |tx| {
                tx.e2e_put(&v2, &k, record);
                tx.e2e_put(&v2, &rk, receipt_bytes);
                Ok(())
            })
            .await;
        if let Err(e) = written {
            // The ballot was admitted in memory but not stored: forget the vote's state so the
            // next use rebuilds it from the store.
            self.e2e_votes.lock().await.remove(vote);
            return Err(e);
        }
        // Only now, after the fsync, does the receipt leave.
        Ok(receipt)
    }

    /// The receipt of a ballot admitted by another request whose write is in flight: read
    /// once durable. The writer commits within milliseconds or the appliance stops, so a
    /// receipt still missing after 10 s is an error to retry, never a refusal.
    async fn e2e_receipt_once_stored(
        &self,
        vote: &str,
        tracker: &[u8; 32],
    ) -> Result<Value, Refusal> {
        let mut rk = b"rc/".to_vec();
        rk.extend_from_slice(tracker);
        for _ in 0..500 {
            if let Some(receipt) = self.e2e_json(vote, &rk)? {
                return Ok(receipt);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(internal(
            "this ballot's first copy is still being stored: send it again",
        ))
    }

    /// A booth's Benaloh audit (§12): the booth's audit document (`piaojue-audit/1`: the
    /// signed ballot as it would have been cast, its choices and randomness). The ballot must be
    /// valid and signed by an enabled credential (so audits are counted per deputy, at most
    /// [`AUDITS_PER_CREDENTIAL`] each, and nobody else can fill the list), and re-encrypt to
    /// the choices. Under the vote's lock none of its ciphertexts may be cast, and afterwards
    /// none can be. The published record carries no credential (S4).
    pub async fn e2e_spoil(&self, vote: &str, body: &Value) -> Result<Value, Refusal> {
        use piaojue_core::e2e::audit::{AuditDocument, reencrypts};
        let done = self.ceremony_done().await?;
        let (sm, key) = (done.manifest.clone(), done.key.clone());
        let vm = {
            let mut votes = self.e2e_votes.lock().await;
            let st = self.e2e_state(&mut votes, &sm, vote).await?;
            if st.closed {
                return Err(Refusal::VoteClosed);
            }
            st.manifest.clone()
        };
        let doc = AuditDocument::from_json(body, &vm).map_err(|e| {
            bad(format!(
                "spoiled: {e} (the body is the booth's audit document, piaojue-audit/1)"
            ))
        })?;
        // Before any proof is checked: a stranger's credential costs the verifiers nothing.
        {
            let mut votes = self.e2e_votes.lock().await;
            let st = self.e2e_state(&mut votes, &sm, vote).await?;
            if !st.roll.credentials.contains(&doc.ballot.cred_pk) {
                return Err(bad(
                    "spoiled.ballot.cred_pk: not a credential the roll call enabled",
                ));
            }
        }
        let (sm2, key2, vm2, doc2) = (sm.clone(), key.clone(), vm.clone(), doc.clone());
        let permit = self
            .e2e_verifiers
            .clone()
            .acquire_owned()
            .await
            .map_err(internal)?;
        let tracker = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let tracker = verify_ballot(
                &VoteContext {
                    manifest_hash: sm2.hash(),
                    vote: &vm2,
                    key: &key2,
                },
                &doc2.ballot,
            )
            .map_err(|e| format!("the ballot is not valid: {e}"))?;
            let items: Vec<[u8; 64]> = doc2.ballot.items.iter().map(|i| i.ct.to_bytes()).collect();
            let bits: Vec<[u8; 64]> = doc2.ballot.bits().iter().map(|b| b.ct.to_bytes()).collect();
            reencrypts(&vm2, &key2, &items, &bits, &doc2.revealed)
                .map_err(|e| format!("does not re-encrypt: {e}"))?;
            Ok::<_, String>(tracker)
        })
        .await
        .map_err(internal)?
        .map_err(|e| bad(format!("spoiled: {e}")))?;
        let cred = doc.ballot.cred_pk;
        let mut votes = self.e2e_votes.lock().await;
        let st = self.e2e_state(&mut votes, &sm, vote).await?;
        if st.closed {
            return Err(Refusal::VoteClosed);
        }
        if let Some(v) = self.linked_vote(vote)?
            && v.state != super::VoteState::Open
        {
            return Err(Refusal::VoteClosed);
        }
        if !st.roll.credentials.contains(&cred) {
            return Err(bad(
                "spoiled.ballot.cred_pk: not a credential the roll call enabled",
            ));
        }
        let mut sk = b"s/".to_vec();
        sk.extend_from_slice(&tracker);
        let answer = json!({
            "accepted": "duplicate",
            "tracker": hex::encode(&tracker),
            "short_code": piaojue_core::e2e::ballot::short_code(&tracker),
        });
        if self.store.e2e_get(vote, &sk)?.is_some() {
            return Ok(answer);
        }
        let mut bk = b"b/".to_vec();
        bk.extend_from_slice(&tracker);
        if self.store.e2e_get(vote, &bk)?.is_some() {
            return Err(Refusal::E2eVoteConflict(
                "spoiled.tracker: this ballot was cast; a cast ballot cannot be audited".into(),
            ));
        }
        let mut qk = b"sq/".to_vec();
        qk.extend_from_slice(&cred);
        let used = self
            .store
            .e2e_get(vote, &qk)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0);
        if used >= AUDITS_PER_CREDENTIAL {
            return Err(Refusal::E2eVoteConflict(format!(
                "spoiled: this credential already audited {used} ballots in this vote (at most {AUDITS_PER_CREDENTIAL})"
            )));
        }
        if st.bx.reserve(&doc.ballot).is_err() {
            return Err(Refusal::E2eVoteConflict(
                "spoiled: a ciphertext of this ballot was cast or audited already".into(),
            ));
        }
        let record = serde_json::to_vec(&doc.spoiled_record(&tracker)).map_err(internal)?;
        let v2 = vote.to_owned();
        let written = self
            .store
            .write(move |tx| {
                if tx.e2e_get(&v2, b"close")?.is_some() {
                    return Err(Refusal::VoteClosed);
                }
                tx.e2e_put(&v2, &sk, record);
                tx.e2e_put(&v2, &qk, (used + 1).to_be_bytes().to_vec());
                tx.audit(Actor::System, "e2e_spoiled", json!({ "vote": v2 }));
                Ok(())
            })
            .await;
        if let Err(e) = written {
            // The ciphertexts were reserved in memory only: rebuild from the store.
            votes.remove(vote);
            return Err(e);
        }
        drop(votes);
        Ok(json!({
            "accepted": "new",
            "tracker": answer["tracker"],
            "short_code": answer["short_code"],
        }))
    }

    /// Keeps a refused ballot for the bundle (V16), at most [`REJECTED_PER_CREDENTIAL`] per
    /// credential and [`rejected_cap`] per vote (one deputy's tablet cannot crowd out the
    /// others' evidence), never after the close.
    async fn e2e_reject(
        &self,
        vote: &str,
        cred: &[u8; 32],
        reason: &str,
        detail: &str,
        ballot: Value,
        cap: u64,
    ) -> Result<Value, Refusal> {
        let record =
            serde_json::to_vec(&json!({ "reason": reason, "detail": detail, "ballot": ballot }))
                .map_err(internal)?;
        let v2 = vote.to_owned();
        let not_enabled = reason == "not-enabled";
        let mut qk = b"rq/".to_vec();
        qk.extend_from_slice(cred);
        self.store
            .write(move |tx| {
                if tx.e2e_get(&v2, b"close")?.is_some() {
                    return Err(Refusal::VoteClosed);
                }
                let mine = tx
                    .e2e_get(&v2, &qk)?
                    .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                    .map(u64::from_be_bytes)
                    .unwrap_or(0);
                if mine >= REJECTED_PER_CREDENTIAL {
                    return Ok(());
                }
                let count = |tx: &crate::store::Tx<'_>, key: &[u8]| -> Result<u64, Refusal> {
                    Ok(tx
                        .e2e_get(&v2, key)?
                        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                        .map(u64::from_be_bytes)
                        .unwrap_or(0))
                };
                let seq = count(tx, b"rejected_seq")?;
                // Anyone can make a credential and sign a valid ballot with it: `not-enabled`
                // evidence has its own small cap, so strangers cannot crowd out the deputies'
                // (not_enabled_flood_cannot_crowd_out_evidence).
                let strangers = count(tx, b"rejected_ne")?;
                let full = if not_enabled {
                    strangers >= NOT_ENABLED_KEPT
                } else {
                    seq - strangers >= cap
                };
                if full {
                    // Refused all the same; only not kept (a flood cannot fill the disk).
                    return Ok(());
                }
                if not_enabled {
                    tx.e2e_put(&v2, b"rejected_ne", (strangers + 1).to_be_bytes().to_vec());
                }
                let mut k = b"r/".to_vec();
                k.extend_from_slice(&seq.to_be_bytes());
                tx.e2e_put(&v2, &k, record);
                tx.e2e_put(&v2, b"rejected_seq", (seq + 1).to_be_bytes().to_vec());
                tx.e2e_put(&v2, &qk, (mine + 1).to_be_bytes().to_vec());
                Ok(())
            })
            .await?;
        Err(Refusal::BallotRejected(format!("{reason}: {detail}")))
    }

    /// The secretariat closes an encrypted vote: the trackers sorted, the list hash and the
    /// signed close statement, the item totals. Returns the close statement.
    pub async fn e2e_close(&self, vote: &str) -> Result<Value, Refusal> {
        let sm = self.ceremony_done().await?.manifest.clone();
        // Every admitted ballot is stored before the list is read.
        let _no_admissions = self.e2e_gate.write().await;
        let mut votes = self.e2e_votes.lock().await;
        let st = self.e2e_state(&mut votes, &sm, vote).await?;
        if st.closed {
            return Err(Refusal::E2eVoteConflict(format!(
                "{vote} is already closed"
            )));
        }
        let vm = st.manifest.clone();
        let m = vm.shape().m();
        let admitted = st.bx.len();
        let ballots = self.store.e2e_shared(vote, b"b/")?;
        let vm2 = vm.clone();
        // Parsing and aggregating 3,000 ballots is CPU work: on a blocking thread, the locks
        // still held (the list must be final), so no async worker stalls meanwhile.
        let (trackers, totals) = tokio::task::spawn_blocking(move || {
            // A few hundred ballots at a time: 3,000 parsed ballots at once were the server's
            // peak memory at the close.
            let mut totals = tally::aggregate(&[], m).map_err(internal)?;
            let mut chunk = Vec::with_capacity(256);
            let mut fold = |chunk: &mut Vec<Ballot>| -> Result<(), Refusal> {
                let part = tally::aggregate(chunk, m).map_err(internal)?;
                for (t, p) in totals.iter_mut().zip(part) {
                    *t = Ciphertext {
                        a: piaojue_core::e2e::group::Element::from_point(t.a.point() + p.a.point()),
                        b: piaojue_core::e2e::group::Element::from_point(t.b.point() + p.b.point()),
                    };
                }
                chunk.clear();
                Ok(())
            };
            let mut trackers = Vec::with_capacity(ballots.len());
            for (k, b) in &ballots {
                let v: Value = serde_json::from_slice(b.as_ref()).map_err(internal)?;
                chunk.push(Ballot::from_json(&v, &vm2).map_err(internal)?);
                trackers.push(<[u8; 32]>::try_from(k.as_slice()).map_err(internal)?);
                if chunk.len() == 256 {
                    fold(&mut chunk)?;
                }
            }
            fold(&mut chunk)?;
            Ok::<_, Refusal>((trackers, totals))
        })
        .await
        .map_err(internal)??;
        // The list on disk is the ballots admitted in memory, one per credential; anything
        // else would close a list the ballot box did not check (nothing is signed then).
        if trackers.len() != admitted {
            return Err(internal(format!(
                "{vote}: {} ballots stored but {admitted} admitted; not closed",
                trackers.len()
            )));
        }
        let lh = tally::list_hash(sm.hash(), vote, &trackers).map_err(internal)?;
        let n = trackers.len() as u64;
        let identity = SigningIdentity::from_seed(&self.key.seed());
        let sig = identity.sign(&transcript::close_message(sm.hash(), vote, &lh, n));
        let close = Close {
            list_hash: lh,
            n_cast: n,
            sig,
        };
        let totals_json: Vec<Value> = totals
            .iter()
            .map(|t| json!({ "A": t.a.to_hex(), "B": t.b.to_hex() }))
            .collect();
        let (v2, cj, tj) = (
            vote.to_owned(),
            serde_json::to_vec(&close.to_json()).map_err(internal)?,
            serde_json::to_vec(&totals_json).map_err(internal)?,
        );
        self.store
            .write(move |tx| {
                tx.e2e_put(&v2, b"close", cj);
                tx.e2e_put(&v2, b"totals", tj);
                tx.audit(
                    Actor::Operator,
                    "e2e_close",
                    json!({ "vote": v2, "list_hash": hex::encode(&lh), "n_cast": n }),
                );
                Ok(())
            })
            .await?;
        st.closed = true;
        let mut out = close.to_json();
        out["list_hash_grouped"] =
            json!(piaojue_core::crypto::fingerprint_grouped(&hex::encode(&lh)));
        Ok(out)
    }

    /// The CO's closing roll call: the opening list again, with the count of cast notices.
    pub async fn e2e_roll_call(&self, vote: &str, body: &Value) -> Result<Value, Refusal> {
        let sm = self.ceremony_done().await?.manifest.clone();
        let mut votes = self.e2e_votes.lock().await;
        let st = self.e2e_state(&mut votes, &sm, vote).await?;
        if !st.closed {
            return Err(Refusal::E2eVoteConflict(format!(
                "{vote} is not closed yet"
            )));
        }
        let roll = RollCall::from_json(body, "roll_call").map_err(|e| bad(e.to_string()))?;
        roll.verify(&sm, &st.manifest, "roll_call")
            .map_err(|e| bad(e.to_string()))?;
        if roll.credentials != st.roll.credentials {
            return Err(bad(
                "roll_call.credentials: not the list published at opening",
            ));
        }
        if let Some(old) = self.e2e_json(vote, b"roll_close")? {
            return if old == roll.to_json() {
                Ok(old)
            } else {
                Err(Refusal::E2eVoteConflict(
                    "the closing roll call is already signed".into(),
                ))
            };
        }
        let (v2, rj, cast) = (
            vote.to_owned(),
            serde_json::to_vec(&roll.to_json()).map_err(internal)?,
            roll.cast_count,
        );
        self.store
            .write(move |tx| {
                tx.e2e_put(&v2, b"roll_close", rj);
                tx.audit(
                    Actor::System,
                    "e2e_roll_call",
                    json!({ "vote": v2, "cast_count": cast }),
                );
                Ok(())
            })
            .await?;
        Ok(roll.to_json())
    }

    /// A scrutineer's partial decryption: checked against the totals the appliance
    /// aggregated and the close statement (G6); with k of them the tally is combined.
    pub async fn e2e_partial(&self, vote: &str, body: &Value) -> Result<Value, Refusal> {
        let done = self.ceremony_done().await?;
        let (sm, board, key) = (done.manifest.clone(), &done.board, done.key.clone());
        // Partials are serialised among themselves, not with casting: the proofs and the
        // discrete logs take seconds, and another vote's tablets must not wait for them
        // (decryption_does_not_hold_the_casting_lock).
        let _guard = self.e2e_decrypting.lock().await;
        // cancelled_encrypted_vote_is_never_decrypted (review): its ballots are never tallied;
        // nor those of a vote declared failed.
        if let Some(v) = self.linked_vote(vote)? {
            if v.state == super::VoteState::Cancelled {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{vote} was cancelled ({}): it is never decrypted",
                    v.cancelled.as_deref().unwrap_or("")
                )));
            }
            if v.state == super::VoteState::Failed {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{vote} was declared failed ({}): it is never decrypted",
                    v.failed.as_deref().unwrap_or("")
                )));
            }
            // Only once the vote record is closed (a half-done close is the ticker's to finish
            // first), never after the announcement.
            if v.state != super::VoteState::Closed {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{vote} is {}: partial decryptions are taken only while it is closed and undecided",
                    v.state.name_zh()
                )));
            }
        }
        let vmb = self
            .store
            .e2e_get(vote, b"manifest")?
            .ok_or_else(|| Refusal::VoteUnknown(vote.into()))?;
        let vm = VoteManifest::parse(&vmb, &sm).map_err(internal)?;
        let close = self
            .e2e_json(vote, b"close")?
            .ok_or_else(|| Refusal::E2eVoteConflict(format!("{vote} is not closed yet")))?;
        let close = Close::from_json(&close, "close").map_err(internal)?;
        let totals = self.e2e_totals(vote)?;
        let p = Partial::from_json(body, "partial").map_err(|e| bad(e.to_string()))?;
        let a = board.current();
        if !a.participants.contains(&p.guardian) {
            return Err(bad(format!(
                "partial.guardian: {} is not a participant",
                p.guardian
            )));
        }
        let z = a
            .verification_key(p.guardian)
            .ok_or_else(|| internal("no Z"))?;
        let mut pk = b"p/".to_vec();
        pk.extend_from_slice(&p.guardian.to_be_bytes());
        if let Some(old) = self.e2e_json(vote, &pk)? {
            return if old == p.to_json() {
                Ok(json!({ "accepted": "duplicate" }))
            } else {
                Err(Refusal::E2eVoteConflict(format!(
                    "guardian {} already decrypted {vote}",
                    p.guardian
                )))
            };
        }
        let mut partials: Vec<Partial> = Vec::new();
        for (_, b) in self.store.e2e_scan(vote, b"p/")? {
            let v: Value = serde_json::from_slice(&b).map_err(internal)?;
            partials.push(Partial::from_json(&v, "stored").map_err(internal)?);
        }
        let k = usize::try_from(sm.k).map_err(internal)?;
        let combine = partials.len() + 1 >= k && self.store.e2e_get(vote, b"result")?.is_none();
        // The proofs and the discrete logs are CPU work: off the async workers (review I3).
        let cc = a.cc;
        let p2 = p.clone();
        let result = tokio::task::spawn_blocking(move || {
            let st = Statement {
                session: &sm,
                vote: &vm,
                key: key.element(),
                cc: &cc,
                list_hash: &close.list_hash,
                n_cast: close.n_cast,
                totals: &totals,
            };
            st.verify(&p2, &z, "partial")
                .map_err(|e| bad(e.to_string()))?;
            if !combine {
                return Ok(None);
            }
            partials.push(p2);
            partials.sort_by_key(|p| p.guardian);
            let q: Vec<Partial> = partials.into_iter().take(k).collect();
            let quorum: Vec<u64> = q.iter().map(|p| p.guardian).collect();
            let vmax = close.n_cast.saturating_mul(vm.shape().max_value());
            let bits = 64 - vmax.leading_zeros();
            let table = DlogTable::new((bits / 2 + 1).clamp(8, 22));
            let (vs, counts) =
                decryption::combine_and_decode(&vm, &totals, &quorum, &q, close.n_cast, &table)
                    .map_err(|e| internal(format!("combination: {e}")))?;
            Ok::<_, Refusal>(Some(
                json!({ "quorum": quorum, "plaintext_totals": vs, "counts": counts }),
            ))
        })
        .await
        .map_err(internal)??;
        let (v2, pj, rj, g) = (
            vote.to_owned(),
            serde_json::to_vec(&p.to_json()).map_err(internal)?,
            result
                .as_ref()
                .map(serde_json::to_vec)
                .transpose()
                .map_err(internal)?,
            p.guardian,
        );
        self.store
            .write(move |tx| {
                tx.e2e_put(&v2, &pk, pj);
                tx.audit(
                    Actor::Scrutineer(format!("guardian{g}")),
                    "e2e_partial",
                    json!({ "vote": v2 }),
                );
                if let Some(r) = rj {
                    tx.e2e_put(&v2, b"result", r);
                    tx.audit(Actor::System, "e2e_result", json!({ "vote": v2 }));
                }
                Ok(())
            })
            .await?;
        if result.is_some()
            && let Some(id) = piaojue_core::ids::VoteId::parse(vote)
        {
            // The partial is stored: a failure to decide now is the ticker's to retry, not
            // this scrutineer's error.
            if let Err(e) = self.e2e_finish(&id).await {
                tracing::warn!(vote, error = %e, "deciding after the combination failed; retried");
            }
        }
        Ok(json!({ "accepted": "new", "result": result }))
    }

    pub fn e2e_totals(&self, vote: &str) -> Result<Vec<Ciphertext>, Refusal> {
        let t = self
            .e2e_json(vote, b"totals")?
            .ok_or_else(|| Refusal::E2eVoteConflict(format!("{vote} is not closed yet")))?;
        t.as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|x| {
                let a = hex::decode_array::<32>(x["A"].as_str().unwrap_or(""), "A")
                    .map_err(internal)?;
                let b = hex::decode_array::<32>(x["B"].as_str().unwrap_or(""), "B")
                    .map_err(internal)?;
                let mut ab = [0u8; 64];
                ab[..32].copy_from_slice(&a);
                ab[32..].copy_from_slice(&b);
                Ciphertext::decode(&ab, "totals").map_err(internal)
            })
            .collect()
    }

    /// The guardians whose partial decryption of `vote` is stored.
    pub(crate) fn e2e_decrypted_by(&self, vote: &str) -> Result<Vec<u64>, Refusal> {
        Ok(self
            .store
            .e2e_keys(vote, b"p/")?
            .iter()
            .filter_map(|k| <[u8; 8]>::try_from(k.as_slice()).ok())
            .map(u64::from_be_bytes)
            .collect())
    }

    /// The vote's public record (everything but the ballots themselves).
    pub async fn e2e_view(&self, vote: &str) -> Result<Value, Refusal> {
        let vmb = self
            .store
            .e2e_get(vote, b"manifest")?
            .ok_or_else(|| Refusal::VoteUnknown(vote.into()))?;
        // The partial decryptions are published once k are combined, not one by one: k − 1
        // public partials let the k-th scrutineer learn the result before deciding to send
        // theirs (a last-mover veto). Until then only who has decrypted.
        let result = self.e2e_json(vote, b"result")?;
        let partials: Vec<Value> = if result.is_some() {
            self.e2e_jsons(vote, b"p/")?
        } else {
            Vec::new()
        };
        let decrypted_by = self.e2e_decrypted_by(vote)?;
        let rejected: Vec<Value> = self.e2e_jsons(vote, b"r/")?;
        let n = self.store.e2e_keys(vote, b"b/")?.len();
        Ok(json!({
            "vote_id": vote,
            "vote_manifest_hex": hex::encode(&vmb),
            "roll_call_open": self.e2e_json(vote, b"roll_open")?,
            "roll_call": self.e2e_json(vote, b"roll_close")?,
            "ballots": n,
            "close": self.e2e_json(vote, b"close")?,
            "totals": self.e2e_json(vote, b"totals")?,
            "partials": partials,
            "decrypted_by": decrypted_by,
            "rejected": rejected,
            "result": result,
        }))
    }

    /// The accepted ballots' trackers, sorted (the list the scrutineers watch).
    pub fn e2e_trackers(&self, vote: &str) -> Result<Vec<String>, Refusal> {
        Ok(self
            .store
            .e2e_keys(vote, b"b/")?
            .iter()
            .map(|k| hex::encode(k))
            .collect())
    }

    /// Up to [`MAX_BALLOTS_PER_ANSWER`] ballots by tracker.
    pub fn e2e_ballots(&self, vote: &str, trackers: &[String]) -> Result<Vec<Value>, Refusal> {
        if trackers.len() > MAX_BALLOTS_PER_ANSWER {
            return Err(bad(format!(
                "trackers: at most {MAX_BALLOTS_PER_ANSWER} at once"
            )));
        }
        trackers
            .iter()
            .map(|t| {
                let raw = hex::decode_array::<32>(t, "trackers").map_err(|e| bad(e.to_string()))?;
                let mut k = b"b/".to_vec();
                k.extend_from_slice(&raw);
                let b = self
                    .store
                    .e2e_get(vote, &k)?
                    .ok_or_else(|| bad(format!("trackers: {t} is not on the list")))?;
                serde_json::from_slice(&b).map_err(internal)
            })
            .collect()
    }
}

impl Session {
    /// The v2 result bundle of a decrypted encrypted vote (SPEC-E2E §10.1), in the envelope
    /// `piaojue-bundle/2` signed by the appliance over `piaojue/v1/result ‖ 0 ‖ body` (V14):
    /// the session manifest, the ceremony as the board recorded it, the vote with its closing
    /// roll call, every accepted ballot in tracker order, the list hash and close signature,
    /// the refused ballots with their reasons, and the quorum's partial decryptions.
    pub async fn e2e_bundle(&self, vote: &str) -> Result<axum::body::Bytes, Refusal> {
        let cached = || {
            self.e2e_bundles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(vote)
                .cloned()
        };
        if let Some(b) = cached() {
            return Ok(b);
        }
        // One build at a time: a hall of observers asking at the announcement must not
        // sign a 65 MB body once each.
        let _building = self.e2e_bundle_build.lock().await;
        if let Some(b) = cached() {
            return Ok(b);
        }
        // An encrypted vote of this session is published once decided, with its result
        // keys, as the exact body stored at the decision; a stand-alone one as soon as it
        // is decrypted.
        let keys = self.e2e_keys(vote)?;
        if keys.is_none() && self.linked_vote(vote)?.is_some() {
            return Err(Refusal::E2eVoteConflict(format!(
                "{vote}: not decided yet (the decryption is not complete)"
            )));
        }
        let named = self
            .store
            .e2e_get(vote, b"bundle_sha256")?
            .unwrap_or_default();
        let out = match self.store.e2e_value(vote, b"body")? {
            Some(stored) if keys.is_some() => {
                if piaojue_core::crypto::sha256_hex(stored.as_ref()).as_bytes() != named.as_slice()
                {
                    return Err(internal(format!(
                        "{vote}: the stored bundle body does not match the SHA-256 the chain names"
                    )));
                }
                std::str::from_utf8(stored.as_ref()).map_err(internal)?;
                self.envelope(stored.as_ref())?
            }
            _ => {
                let text = self.e2e_body(vote, keys.as_ref()).await?;
                // A vote decided before bodies were stored: rebuilt, and served only if it is
                // still the body whose SHA-256 the chain names.
                if keys.is_some()
                    && piaojue_core::crypto::sha256_hex(text.as_bytes()).as_bytes()
                        != named.as_slice()
                {
                    return Err(internal(format!(
                        "{vote}: the rebuilt bundle body does not match the SHA-256 the chain names"
                    )));
                }
                self.envelope(text.as_bytes())?
            }
        };
        // A decided vote's bundle never changes (its records are final): built once.
        if keys.is_some() {
            self.e2e_bundles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(vote.to_owned(), out.clone());
        }
        Ok(out)
    }

    /// The `piaojue-bundle/2` envelope of a body: signed by the appliance over
    /// `piaojue/v1/result ‖ 0 ‖ body` (V14).
    fn envelope(&self, body: &[u8]) -> Result<axum::body::Bytes, Refusal> {
        let sig = self.key.sign(piaojue_core::crypto::Domain::Result, body);
        // Written out directly: the base64 of a 21 MB body is made once, not copied again by
        // the serializer (the envelope's keys as serde writes piaojue_core::bundle::Envelope).
        let signatures = serde_json::to_string(&[piaojue_core::bundle::SignatureEntry {
            role: "appliance".into(),
            name: None,
            public_key: self.key.public_hex(),
            signature: hex::encode(&sig),
        }])
        .map_err(internal)?;
        Ok({
            use base64::Engine as _;
            let format = piaojue_core::e2e::bundle::ENVELOPE_FORMAT;
            let mut o = String::with_capacity(body.len() * 4 / 3 + signatures.len() + 64);
            o.push_str("{\"format\":\"");
            o.push_str(format);
            o.push_str("\",\"body\":\"");
            base64::engine::general_purpose::STANDARD.encode_string(body, &mut o);
            o.push_str("\",\"signatures\":");
            o.push_str(&signatures);
            o.push('}');
            axum::body::Bytes::from(o)
        })
    }

    /// The v2 bundle's body (§10.1's layout and, for a vote of this session, its result
    /// keys), as exact text: the same records give the same bytes.
    pub(crate) async fn e2e_body(
        &self,
        vote: &str,
        keys: Option<&piaojue_core::rules::encrypted::ResultKeys>,
    ) -> Result<String, Refusal> {
        let done = self.ceremony_done().await?;
        let (sm, board, key) = (&done.manifest, &done.board, &done.key);
        // A vote declared failed has no result: its body carries `result: null`.
        let failed = keys.is_some_and(|k| k.failed.is_some());
        let result = match self.e2e_json(vote, b"result")? {
            _ if failed => Value::Null,
            Some(r) => r,
            None => {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{vote}: not decrypted yet (fewer than k partial decryptions)"
                )));
            }
        };
        let vmb = self
            .store
            .e2e_get(vote, b"manifest")?
            .ok_or_else(|| Refusal::VoteUnknown(vote.into()))?;
        let close = self
            .e2e_json(vote, b"close")?
            .ok_or_else(|| internal("a result without a close statement"))?;
        // A failed vote may have no closing roll call (the officer's laptop lost): its
        // opening one, signed by the same officer, then stands in it.
        let roll = match self.e2e_json(vote, b"roll_close")? {
            Some(r) => r,
            None if failed => self
                .e2e_json(vote, b"roll_open")?
                .ok_or_else(|| internal("no opening roll call"))?,
            None => {
                return Err(Refusal::E2eVoteConflict(format!(
                    "{vote}: no closing roll call yet"
                )));
            }
        };
        // The ballots go in as stored (compact JSON with sorted keys, as serde_json writes
        // the Value): spliced into the text rather than parsed into 3,000 trees, and not
        // copied out of the store first.
        let ballots = self.store.e2e_shared(vote, b"b/")?;
        let slot_text = {
            use ring::rand::SecureRandom;
            let mut r = [0u8; 16];
            ring::rand::SystemRandom::new()
                .fill(&mut r)
                .map_err(|_| internal("no randomness"))?;
            format!("\u{1}ballots-{}\u{1}", hex::encode(&r))
        };
        let rejected: Vec<Value> = self
            .e2e_jsons(vote, b"r/")?
            .iter()
            .map(|r| json!({ "reason": r["reason"], "ballot": r["ballot"] }))
            .collect();
        let quorum: Vec<u64> = result["quorum"]
            .as_array()
            .map(|q| q.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let mut partials = Vec::new();
        for g in &quorum {
            let mut pk = b"p/".to_vec();
            pk.extend_from_slice(&g.to_be_bytes());
            partials.push(
                self.e2e_json(vote, &pk)?
                    .ok_or_else(|| internal("a quorum member's partial is missing"))?,
            );
        }
        let ceremony = board.bundle_json().ok_or(Refusal::CeremonyIncomplete)?;
        let spoiled: Vec<Value> = self.e2e_jsons(vote, b"s/")?;
        let body = json!({
            "manifest_hex": hex::encode(sm.bytes()),
            "manifest_hash": hex::encode(sm.hash()),
            "ceremony": ceremony,
            "joint_key": key.element().to_hex(),
            "votes": [{
                "vote_id": vote,
                "vote_manifest_hex": hex::encode(&vmb),
                "roll_call": roll,
                "ballots": slot_text,
                "list_hash": close["list_hash"],
                "close_sig": close["close_sig"],
                "spoiled": spoiled,
                "rejected": rejected,
                "result": if failed { Value::Null } else { json!({
                    "totals": self.e2e_json(vote, b"totals")?.unwrap_or(Value::Null),
                    "partials": partials,
                    "quorum": quorum,
                    "plaintext_totals": result["plaintext_totals"],
                    "counts": result["counts"],
                }) },
            }],
        });
        let mut body = body;
        if let (Some(keys), Some(obj)) = (keys, body.as_object_mut())
            && let Value::Object(extra) = serde_json::to_value(keys).map_err(internal)?
        {
            obj.extend(extra);
        }
        let text = serde_json::to_string(&body).map_err(internal)?;
        // The place is marked with a random string nobody can have put in a rules document
        // or a title (splice_slot_cannot_be_forged), and must occur exactly once.
        let slot = serde_json::to_string(&slot_text).map_err(internal)?;
        if text.matches(&slot).count() != 1 {
            return Err(internal("the ballots' place in the body is not unique"));
        }
        let at = text
            .find(&slot)
            .ok_or_else(|| internal("the ballots' place in the body"))?;
        let size: usize = ballots.iter().map(|(_, b)| b.as_ref().len() + 1).sum();
        let mut out = String::with_capacity(text.len() + size + 2);
        out.push_str(&text[..at]);
        out.push('[');
        for (i, (_, b)) in ballots.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(std::str::from_utf8(b.as_ref()).map_err(internal)?);
        }
        out.push(']');
        out.push_str(&text[at + slot.len()..]);
        Ok(out)
    }
}
