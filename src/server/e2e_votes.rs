//! Encrypted votes over HTTP (see `session::e2e_votes`). The CO's and the scrutineers'
//! posts need no login: their signatures under the session manifest's keys authenticate them.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use piaojue_core::refusal::Refusal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::{Operator, RawBody, parse_json};
use super::{AppState, ok};

fn body(bytes: &[u8]) -> Result<Value, super::error::ApiError> {
    parse_json::<Value>(bytes)
}

fn vote_id(id: &str) -> Result<&str, Refusal> {
    if piaojue_core::e2e::manifest::valid_vote_id(id) {
        Ok(id)
    } else {
        Err(Refusal::VoteUnknown(id.into()))
    }
}

/// `POST /api/e2e/votes`: the CO opens a vote (manifest bytes as hex, opening roll call).
pub async fn open(State(state): State<AppState>, RawBody(b): RawBody) -> ApiResult<Response> {
    Ok(ok(state.session.e2e_open(&body(&b)?).await?))
}

/// `POST /api/e2e/votes/{id}/ballots`: a tablet's encrypted ballot (JSON view, §7.1).
pub async fn cast(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(b): RawBody,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    Ok(ok(state.session.e2e_cast_bytes(id, &b).await?))
}

/// `POST /api/e2e/votes/{id}/spoiled`: a booth's audited (revealed) ballot.
pub async fn spoil(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(b): RawBody,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    Ok(ok(state.session.e2e_spoil(id, &body(&b)?).await?))
}

/// `POST /api/operator/e2e/votes/{id}/close`.
pub async fn close(
    _op: Operator,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    // A vote of this session closes through its own close, which keeps the early-close rule
    // of a secret vote and moves the vote record along.
    if state.session.linked_vote(id)?.is_some() {
        return Err(Refusal::E2eVoteConflict(format!(
            "{id} is a vote of this session: close it with POST /api/operator/votes/{id}/close"
        ))
        .into());
    }
    Ok(ok(state.session.e2e_close(id).await?))
}

/// `POST /api/e2e/votes/{id}/roll-call`: the CO's closing roll call.
pub async fn roll_call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(b): RawBody,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    Ok(ok(state.session.e2e_roll_call(id, &body(&b)?).await?))
}

/// `POST /api/e2e/votes/{id}/partials`: a scrutineer's partial decryption (§9.2).
pub async fn partial(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawBody(b): RawBody,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    Ok(ok(state.session.e2e_partial(id, &body(&b)?).await?))
}

/// `GET /api/public/e2e/votes/{id}`.
pub async fn view(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    Ok(ok(state.session.e2e_view(id).await?))
}

#[derive(Debug, Deserialize)]
pub struct Trackers {
    trackers: Option<String>,
}

/// `GET /api/public/e2e/votes/{id}/ballots` (sorted trackers) or `?trackers=a,b,…` (those
/// ballots, at most 200).
pub async fn ballots(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Trackers>,
) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    match q.trackers {
        None => Ok(ok(json!({ "trackers": state.session.e2e_trackers(id)? }))),
        Some(list) => {
            let ts: Vec<String> = list
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(ok(
                json!({ "ballots": state.session.e2e_ballots(id, &ts)? }),
            ))
        }
    }
}

/// `GET /api/public/e2e/votes/{id}/bundle`: the signed v2 bundle once k scrutineers have
/// decrypted (`piaojue verify` checks it: V1–V16).
pub async fn bundle(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let id = vote_id(&id)?;
    let text = state.session.e2e_bundle(id).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response())
}
