//! Scrutineers (监票人): enrol a device with their card and their own Ed25519 public key, then
//! watch attendance, turnout and the audit log. They never see a choice; co-signing results
//! builds on the keys enrolled here.

use axum::extract::{ConnectInfo, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiResult;
use super::extract::{JsonBody, Operator, ScrutineerAuth, VotePath};
use super::public::{attendance, vote_summary};
use super::{AppState, ok};
use crate::store::Scrutineer;
use piaojue_core::crypto;
use piaojue_core::refusal::{CodeProblem, Refusal};

fn view(s: &Scrutineer) -> serde_json::Value {
    json!({ "id": s.id, "name": s.name, "public_key": s.public_key, "enrolled": s.token_sha256.is_some() })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScrutineer {
    name: String,
}

/// The secretariat names a scrutineer: their card's code is shown once.
pub async fn add(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewScrutineer>,
) -> ApiResult<Response> {
    let (s, code) = state.session.add_scrutineer(body.name).await?;
    Ok(ok(json!({ "scrutineer": view(&s), "code": code })))
}

pub async fn list(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    let list: Vec<_> = state.store.scrutineers()?.iter().map(view).collect();
    Ok(ok(json!({ "scrutineers": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Enrol {
    code: String,
    /// The device's own Ed25519 public key, 64 hex digits.
    public_key: String,
}

pub async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonBody(body): JsonBody<Enrol>,
) -> ApiResult<Response> {
    // A malformed key is refused before any code is compared: not a guess.
    let public_key =
        crypto::public_key(&body.public_key).map_err(|e| Refusal::BadPublicKey(e.to_string()))?;
    // The attempt takes its slot before the code is looked up, and counts as a failure
    // unless the code is right.
    let attempt = state.enrol_failures.attempt(peer.ip()).await?;
    let code = crypto::normalize_code(&body.code)
        .filter(|c| c.len() == 32)
        .ok_or(Refusal::CodeUnknown(CodeProblem::ScrutineerCode))?;
    let token = match crypto::random::<32>() {
        Ok(bytes) => crypto::hex(&bytes),
        Err(e) => {
            attempt.not_a_guess();
            return Err(Refusal::internal("随机数生成失败", e).into());
        }
    };
    let s = state
        .session
        .enrol_scrutineer(
            code,
            crypto::sha256_hex(token.as_bytes()),
            crypto::hex(&public_key),
        )
        .await?;
    attempt.succeeded();
    Ok(ok(json!({ "token": token, "scrutineer": view(&s) })))
}

/// What a scrutineer watches: attendance, each vote's state and turnout, the audit head.
pub async fn status(
    ScrutineerAuth(s): ScrutineerAuth,
    State(state): State<AppState>,
) -> ApiResult<Response> {
    let votes = state
        .store
        .votes()?
        .iter()
        .map(|v| vote_summary(&state, v))
        .collect::<ApiResult<Vec<_>>>()?;
    let head = state.store.audit_head()?;
    Ok(ok(json!({
        "scrutineer": view(&s),
        "attendance": attendance(&state)?,
        "votes": votes,
        "audit": { "seq": head.seq, "head": crypto::hex(&head.hash) },
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    from: Option<u64>,
}

/// The audit log, so manual check-ins and every other act of the secretariat can be checked.
pub async fn audit(
    ScrutineerAuth(_s): ScrutineerAuth,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let entries = state.store.audit(q.from.unwrap_or(1), 1000)?;
    Ok(ok(json!({ "entries": entries })))
}

/// The signed result of a closed vote, for the scrutineer to check and co-sign.
pub async fn bundle(
    ScrutineerAuth(_s): ScrutineerAuth,
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    super::public::bundle_of(&state, &id)
}

/// A deputy as a scrutineer about to co-sign an intervention needs them: who, present or
/// not, and the number their next intervention will carry.
pub async fn deputy(
    ScrutineerAuth(_s): ScrutineerAuth,
    State(state): State<AppState>,
    super::extract::DeputyPath(id): super::extract::DeputyPath,
) -> ApiResult<Response> {
    let d = state
        .store
        .deputy(&id)?
        .ok_or_else(|| Refusal::DeputyUnknown(id.to_string()))?;
    Ok(ok(json!({
        "deputy": crate::session::DeputyView::from(&d),
        "interventions": d.interventions,
        "next_intervention": d.interventions.len() + 1,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cosign {
    /// Ed25519 over `piaojue/v1/result` ‖ 0 ‖ the bundle body, by the scrutineer's own key.
    signature: String,
}

pub async fn cosign(
    ScrutineerAuth(s): ScrutineerAuth,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<Cosign>,
) -> ApiResult<Response> {
    state
        .session
        .cosign(id.clone(), scrutineer_id(&s.id)?, body.signature)
        .await?;
    let bundle = state.store.bundle(&id)?;
    Ok(ok(json!({
        "vote": id,
        "cosignatures": bundle.map_or(0, |b| b.cosignatures.len()),
    })))
}

/// A stored scrutineer's id (the appliance made it, so it parses).
fn scrutineer_id(text: &str) -> Result<piaojue_core::ids::ScrutineerId, Refusal> {
    piaojue_core::ids::ScrutineerId::parse(text)
        .ok_or_else(|| Refusal::internal("内部错误", format!("stored scrutineer id `{text}`")))
}
