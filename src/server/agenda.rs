//! The encrypted-ballot session manifest: the secretariat publishes it once; anyone reads its
//! exact bytes, and the printable agenda page (打印议程附页) shows mh and every key, each with
//! a QR code, for the scrutineers and observers to check against what their devices show.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use piaojue_core::crypto;
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::SessionManifest;
use piaojue_core::refusal::Refusal;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::extract::{Operator, RawBody};
use super::{AppState, ok};

/// `POST /api/operator/e2e/manifest`: the manifest's exact bytes (application/json).
pub async fn publish(
    _op: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError(Refusal::NotJson));
    }
    let mh = state.session.publish_manifest(body.to_vec()).await?;
    Ok(ok(json!({
        "mh": hex::encode(&mh),
        "mh_grouped": crypto::fingerprint_grouped(&hex::encode(&mh)),
    })))
}

fn published(state: &AppState) -> Result<SessionManifest, ApiError> {
    let bytes = state.store.e2e_manifest()?.ok_or(Refusal::NoManifest)?;
    SessionManifest::parse(&bytes).map_err(|e| {
        ApiError(Refusal::internal(
            "内部错误",
            format!("stored manifest: {e}"),
        ))
    })
}

/// `GET /api/public/e2e/manifest`: the exact bytes every device hashes (never re-serialised).
pub async fn manifest(State(state): State<AppState>) -> ApiResult<Response> {
    let bytes = state.store.e2e_manifest()?.ok_or(Refusal::NoManifest)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

fn key_entry(key: &[u8; 32]) -> serde_json::Value {
    json!({
        "public_key": hex::encode(key),
        "fingerprint_grouped": crypto::fingerprint_grouped(&crypto::fingerprint(key)),
    })
}

/// `GET /api/public/e2e/agenda`: what the agenda page prints.
pub async fn agenda(State(state): State<AppState>) -> ApiResult<Response> {
    let m = published(&state)?;
    let scrutineers = state.store.scrutineers()?;
    let guardians: Vec<_> = m
        .guardian_ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let key = hex::encode(id);
            let name = scrutineers
                .iter()
                .find(|s| s.public_key.as_deref() == Some(key.as_str()))
                .map(|s| s.name.clone());
            let mut entry = key_entry(id);
            entry["index"] = json!(i + 1);
            entry["name"] = json!(name);
            entry
        })
        .collect();
    Ok(ok(json!({
        "session": state.store.meta().name,
        "election_id": m.election_id,
        "mh": hex::encode(m.hash()),
        "mh_grouped": crypto::fingerprint_grouped(&hex::encode(m.hash())),
        "radix": m.radix,
        "max_electorate": m.max_electorate,
        "k": m.k,
        "n": m.guardian_ids.len(),
        "guardians": guardians,
        "credential_officer": key_entry(&m.credential_officer),
        "appliance": key_entry(&m.appliance_key),
        "booth_hash": hex::encode(&m.booth_hash),
    })))
}

/// `GET /api/public/e2e/qr/{mh|appliance|officer|booth|guardian-N}.svg`: a QR code of that
/// value's hex, for a phone or a scrutineer's laptop to compare.
pub async fn qr(State(state): State<AppState>, Path(item): Path<String>) -> ApiResult<Response> {
    let m = published(&state)?;
    let item = item.strip_suffix(".svg").unwrap_or(&item);
    let value = match item {
        "mh" => hex::encode(m.hash()),
        "appliance" => hex::encode(&m.appliance_key),
        "officer" => hex::encode(&m.credential_officer),
        "booth" => hex::encode(&m.booth_hash),
        other => {
            let i: usize = other
                .strip_prefix("guardian-")
                .and_then(|n| n.parse().ok())
                .ok_or(Refusal::NotFound)?;
            let id = i
                .checked_sub(1)
                .and_then(|i| m.guardian_ids.get(i))
                .ok_or(Refusal::NotFound)?;
            hex::encode(id)
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        super::cards::qr_svg(&value),
    )
        .into_response())
}

/// `POST /api/e2e/board`: a guardian's signed ceremony message (SPEC-E2E §8). No login: the
/// signature under the manifest's pinned key is the authentication.
pub async fn post_board(
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    Ok(ok(state.session.post_board(&body).await?))
}

/// `GET /api/public/e2e/board`: every accepted message in order, and the board's state.
pub async fn board(State(state): State<AppState>) -> ApiResult<Response> {
    Ok(ok(state.session.board_view().await?))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartBody {
    participants: Vec<u64>,
    reason: String,
}

/// `POST /api/operator/e2e/ceremony/restart`: the next attempt without an absent guardian.
pub async fn restart(
    _op: Operator,
    State(state): State<AppState>,
    super::extract::JsonBody(body): super::extract::JsonBody<RestartBody>,
) -> ApiResult<Response> {
    Ok(ok(state
        .session
        .restart_ceremony(body.participants, body.reason)
        .await?))
}

/// `GET /api/public/e2e/ceremony`: the bundle's `ceremony` section (§10.1) and the joint key,
/// once the ceremony is complete (404 `ceremony_incomplete` before).
pub async fn ceremony(State(state): State<AppState>) -> ApiResult<Response> {
    match state.session.ceremony_section().await? {
        Some((section, key)) => Ok(ok(json!({ "ceremony": section, "joint_key": key }))),
        None => Err(ApiError(Refusal::CeremonyIncomplete)),
    }
}
