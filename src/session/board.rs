//! The key ceremony's bulletin board (SPEC-E2E §8): the appliance only checks and relays.
//!
//! Every message is checked by the same [`Board`] the scrutineers' programs and the
//! verifier replay (signature under the pinned guardian key, strict encodings, the
//! attempt's state) before it is stored; a refused message leaves nothing. The board is
//! the appliance's only part in the ceremony: it holds no secret of it and cannot forge a
//! message. A complaint, once accepted, immediately starts the next attempt without the
//! guardian it found faulty (§8.4); the secretariat can start one without an absent
//! guardian.

use piaojue_core::e2e::ceremony::{Accepted, Board, BoardError, Message, Restart};
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::SessionManifest;
use piaojue_core::refusal::Refusal;
use serde_json::{Value, json};

use super::Session;
use crate::store::Actor;

fn refusal(e: BoardError) -> Refusal {
    if e.conflict {
        Refusal::BoardConflict(e.to_string())
    } else {
        Refusal::BoardMessage(e.to_string())
    }
}

impl Session {
    /// The board as replayed from the store (cached; rebuilt after a restart of the appliance).
    pub(super) fn board_now(&self, cache: &mut Option<Board>) -> Result<Board, Refusal> {
        if let Some(b) = cache.as_ref() {
            return Ok(b.clone());
        }
        let bytes = self.store.e2e_manifest()?.ok_or(Refusal::NoManifest)?;
        let sm = SessionManifest::parse(&bytes)
            .map_err(|e| Refusal::internal("内部错误", format!("stored manifest: {e}")))?;
        let mut board = Board::replaying(sm);
        for (seq, m) in self.store.board()?.iter().enumerate() {
            let (attempt, msg) = Message::parse(m)
                .map_err(|e| Refusal::internal("内部错误", format!("board[{seq}]: {e}")))?;
            board
                .accept(attempt, msg)
                .map_err(|e| Refusal::internal("内部错误", format!("board[{seq}]: {e}")))?;
        }
        let board = board.go_live();
        *cache = Some(board.clone());
        Ok(board)
    }

    /// The board as it stands (a copy).
    pub async fn board_snapshot(&self) -> Result<Board, Refusal> {
        let mut cache = self.board.lock().await;
        self.board_now(&mut cache)
    }

    /// Checks a guardian's message and stores it (a retry of a stored message is harmless).
    pub async fn post_board(&self, body: &[u8]) -> Result<Value, Refusal> {
        let (attempt, msg) =
            Message::parse(body).map_err(|e| Refusal::BoardMessage(e.to_string()))?;
        if matches!(msg, Message::Restart(_)) {
            return Err(Refusal::BoardMessage(
                "kind: restart is the secretariat's (POST /api/operator/e2e/ceremony/restart)"
                    .into(),
            ));
        }
        let actor = Actor::Scrutineer(format!("guardian{}", msg.sender().unwrap_or(0)));
        self.append(attempt, msg, actor).await
    }

    /// The secretariat starts the next attempt without an absent guardian (§8.1).
    pub async fn restart_ceremony(
        &self,
        participants: Vec<u64>,
        reason: String,
    ) -> Result<Value, Refusal> {
        let next = {
            let mut cache = self.board.lock().await;
            self.board_now(&mut cache)?.current().attempt + 1
        };
        let restart = Message::Restart(Restart {
            participants,
            reason,
        });
        self.append(next, restart, Actor::Operator).await
    }

    async fn append(&self, attempt: u64, msg: Message, actor: Actor) -> Result<Value, Refusal> {
        // One post at a time: each is checked against the board the previous one left.
        let mut cache = self.board.lock().await;
        let mut board = self.board_now(&mut cache)?;
        let kind = msg.kind();
        let sender = msg.sender();
        if board.accept(attempt, msg.clone()).map_err(refusal)? == Accepted::Duplicate {
            return Ok(json!({ "accepted": "duplicate", "status": status(&board) }));
        }
        let mut stored = vec![serde_json::to_vec(&msg.to_json(attempt)).map_err(to_internal)?];
        // A complaint ends its attempt: the next one starts at once without the guardian the
        // judge found faulty (if k remain; else the ceremony stops there, shown in the status).
        if let Some(restart) = board.restart_after_complaints()
            && matches!(msg, Message::Complaint(_))
            && board.current().complaints.len() == 1
        {
            let next = Message::Restart(restart);
            if board.accept(attempt + 1, next.clone()).is_ok() {
                stored.push(serde_json::to_vec(&next.to_json(attempt + 1)).map_err(to_internal)?);
            }
        }
        let detail = json!({ "attempt": attempt, "kind": kind, "guardian": sender });
        self.store
            .write(move |tx| {
                for m in &stored {
                    tx.push_board(m)?;
                }
                tx.audit(actor, "ceremony_message", detail);
                Ok(())
            })
            .await?;
        let view = status(&board);
        *cache = Some(board);
        Ok(json!({ "accepted": "new", "status": view }))
    }

    /// The board's messages in order, and its state as the board computes it.
    pub async fn board_view(&self) -> Result<Value, Refusal> {
        let board = {
            let mut cache = self.board.lock().await;
            self.board_now(&mut cache)?
        };
        let messages = self
            .store
            .board()?
            .iter()
            .map(|m| serde_json::from_slice(m).map_err(to_internal))
            .collect::<Result<Vec<Value>, Refusal>>()?;
        Ok(json!({ "messages": messages, "status": status(&board) }))
    }

    /// The bundle's `ceremony` section, once the ceremony is complete.
    pub async fn ceremony_section(&self) -> Result<Option<(Value, String)>, Refusal> {
        let mut cache = self.board.lock().await;
        let board = self.board_now(&mut cache)?;
        Ok(board
            .bundle_json()
            .zip(board.joint_key().map(|k| k.to_hex())))
    }
}

fn to_internal(e: impl std::fmt::Display) -> Refusal {
    Refusal::internal("内部错误", e.to_string())
}

/// What the console and the scrutineers' screens show: who is awaited at which step.
pub fn status(board: &Board) -> Value {
    let a = board.current();
    let k = board.manifest().k;
    let step = if a.complete() {
        "complete"
    } else if !a.complaints.is_empty() {
        "stopped"
    } else if !a.missing_round1().is_empty() {
        "round1"
    } else if !a.missing_round2().is_empty() {
        "round2"
    } else {
        "announce"
    };
    let dry_runs: Vec<Value> = board
        .dry_runs()
        .iter()
        .map(|(id, parts)| {
            json!({
                "vote_id": id,
                "guardians": parts.keys().collect::<Vec<_>>(),
                "check": match board.dry_run_result(id) {
                    Some(Ok(n)) => json!({ "ok": true, "subsets": n }),
                    Some(Err(e)) => json!({ "ok": false, "reason": e }),
                    None => Value::Null,
                },
            })
        })
        .collect();
    json!({
        "attempt": a.attempt,
        "participants": a.participants,
        "k": k,
        "n": board.manifest().n(),
        "step": step,
        "waiting_round1": a.missing_round1(),
        "waiting_round2": a.missing_round2().iter().map(|(i, l)| json!([i, l])).collect::<Vec<_>>(),
        "waiting_announce": a.missing_announcements(),
        "complaints": a.complaints.iter().map(|(_, v)| v.to_json()).collect::<Vec<_>>(),
        "joint_key": board.joint_key().map(|k| k.to_hex()),
        "fingerprint": if a.complete() { a.fingerprint() } else { None },
        "restarts": board.attempts().iter().skip(1).map(|x| json!({
            "attempt": x.attempt, "participants": x.participants, "reason": x.reason,
        })).collect::<Vec<_>>(),
        "dry_runs": dry_runs,
        "mh": hex::encode(board.manifest().hash()),
    })
}
