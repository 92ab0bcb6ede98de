//! A deputy's tablet: enrol with the card's code, check in and out, fetch the signed ballot,
//! cast once, keep the signed receipt.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiResult;
use super::extract::{DeputyAuth, JsonBody, NoFields, VotePath};
use super::{ApiError, AppState, ok};
use crate::session::{DeputyView, Presence, VoteState};
use crate::store::Actor;
use piaojue_core::ballot::CastRequest;
use piaojue_core::crypto;
use piaojue_core::ids::DeputyId;
use piaojue_core::refusal::{CodeProblem, Refusal};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    code: String,
}

fn session_info(state: &AppState) -> serde_json::Value {
    let fingerprint = state.fingerprint.clone();
    json!({
        "name": state.store.meta().name,
        "public_key": state.store.meta().public_key,
        "fingerprint": fingerprint,
        "fingerprint_grouped": crypto::fingerprint_grouped(&fingerprint),
    })
}

fn bad_code() -> ApiError {
    ApiError(Refusal::CodeUnknown(CodeProblem::DeputyCode))
}

/// Binds this tablet to the deputy whose card it is; the deputy is then checked in.
pub async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<Enrol>,
) -> ApiResult<Response> {
    // The attempt takes its slot before the code is looked up, and counts as a failure
    // unless the code is right.
    let attempt = state.enrol_failures.attempt(peer.ip()).await?;
    // 160-bit codes are 32 base32 characters; anything else cannot be one.
    let Some(code) = crypto::normalize_code(&body.code).filter(|c| c.len() == 32) else {
        return Err(bad_code());
    };
    let token = match crypto::random::<32>() {
        Ok(bytes) => crypto::hex(&bytes),
        Err(e) => {
            attempt.not_a_guess();
            return Err(Refusal::internal("随机数生成失败", e).into());
        }
    };
    let deputy = state
        .session
        .enrol(code, crypto::sha256_hex(token.as_bytes()))
        .await?;
    attempt.succeeded();
    Ok(ok(json!({
        "token": token,
        "deputy": DeputyView::from(&deputy),
        "session": session_info(&state),
    })))
}

/// Who this tablet is, and where it stands in each vote that has opened.
pub async fn me(
    DeputyAuth(deputy): DeputyAuth,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    let mut votes = Vec::new();
    for vote in state.store.votes()? {
        if matches!(vote.state, VoteState::Draft | VoteState::Cancelled) {
            continue;
        }
        let mark = state.store.cast_mark(&vote.id, &deputy.id)?;
        votes.push(json!({
            "id": vote.id,
            "title": vote.title,
            "state": vote.state,
            "state_zh": vote.state.name_zh(),
            "enabled": state.store.is_enabled(&vote.id, &deputy.id)?,
            "cast": mark.is_some(),
            "receipt_code": mark.map(|m| m.receipt.receipt_code),
            "seconds_left": (vote.state == VoteState::Open)
                .then(|| crate::session::votes::seconds_left(vote.closes_at.as_deref())),
            "result_url": (vote.state == VoteState::Announced)
                .then(|| format!("/api/public/votes/{}/result", vote.id)),
        }));
    }
    Ok(ok(json!({
        "deputy": DeputyView::from(&deputy),
        "session": session_info(&state),
        "votes": votes,
    })))
}

async fn set_presence(state: &AppState, id: DeputyId, presence: Presence) -> ApiResult<Response> {
    let d = state
        .session
        .set_presence(id.clone(), presence, Actor::Deputy(id.to_string()), None)
        .await?;
    Ok(ok(json!({ "deputy": DeputyView::from(&d) })))
}

pub async fn checkin(
    DeputyAuth(d): DeputyAuth,
    State(state): State<AppState>,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    set_presence(&state, d.id, Presence::Present).await
}

/// 中途退场.
pub async fn checkout(
    DeputyAuth(d): DeputyAuth,
    State(state): State<AppState>,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    set_presence(&state, d.id, Presence::Left).await
}

/// The signed ballot definition of a vote, exactly as signed: the tablet checks the
/// signature against the fingerprint it pinned before it shows anything.
pub async fn ballot(
    DeputyAuth(_d): DeputyAuth,
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    let vote = state
        .store
        .vote(&id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
    let Some(ballot) = vote.ballot else {
        return Err(ApiError(Refusal::VoteNotOpenYet));
    };
    Ok(ok(json!({
        "vote_id": vote.id,
        "state": vote.state,
        "body": ballot.body,
        "signature": ballot.signature,
        "public_key": state.store.meta().public_key,
    })))
}

/// Casts once. Stored durably before this answers; a retry with the same `ballot_id`
/// gets the same receipt.
pub async fn cast(
    DeputyAuth(deputy): DeputyAuth,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(request): JsonBody<CastRequest>,
) -> ApiResult<Response> {
    let receipt = state.session.cast(&id, &deputy.id, request).await?;
    Ok(ok(json!({
        "receipt_code": receipt.receipt_code,
        "body": receipt.body,
        "signature": receipt.signature,
    })))
}
