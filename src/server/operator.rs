//! The secretariat's endpoints (operator cookie): roster, codes, attendance, rules, votes.
//! The operator never sees a choice of a secret vote: only the tally after the close.

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiResult;
use super::extract::{
    DeputyPath, JsonBody, NoFields, OPERATOR_COOKIE, Operator, RawBody, VotePath, deputy_id,
    operator_cookie,
};
use super::public::{attendance, result_of, vote_summary};
use super::{ApiError, AppState, ok};
use crate::session::{DeputyView, Presence, Vote, parse_roster};
use crate::store::Actor;
use piaojue_core::crypto;
use piaojue_core::refusal::Refusal;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    passphrase: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    JsonBody(body): JsonBody<Login>,
) -> ApiResult<Response> {
    if body.passphrase.len() > 256 {
        return Err(ApiError(Refusal::PassphraseTooLong));
    }
    // The attempt takes its slot before the slow hash, so simultaneous guesses from one
    // address are evaluated no more often than guesses one after the other; it counts as a
    // failure unless the passphrase is right.
    let attempt = state.login_failures.attempt(peer.ip()).await?;
    let stored = state.store.meta().passphrase_hash.clone();
    let permit = state
        .login_gate
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Refusal::internal("服务正在关闭", e))?;
    let passphrase = zeroize::Zeroizing::new(body.passphrase);
    // The permit goes with the hash: a caller that gives up does not free the core early.
    let good = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        crypto::check_passphrase(&passphrase, &stored)
    })
    .await
    .unwrap_or(false);
    if !good {
        drop(attempt);
        return Err(ApiError(Refusal::WrongPassphrase));
    }
    attempt.succeeded();
    let token = state.operator_sessions.create()?;
    state
        .session
        .note(Actor::Operator, "login", json!({}))
        .await?;
    let secure = if state.tls { "; Secure" } else { "" };
    let cookie = format!("{OPERATOR_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/{secure}");
    Ok((
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "ok": true })),
    )
        .into_response())
}

pub async fn logout(
    _op: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> Response {
    if let Some(token) = operator_cookie(&headers) {
        state.operator_sessions.remove(&token);
    }
    let cookie = format!("{OPERATOR_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    (
        [(header::SET_COOKIE, cookie)],
        axum::Json(json!({ "ok": true })),
    )
        .into_response()
}

pub async fn status(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    let votes = state
        .store
        .votes()?
        .iter()
        .map(|v| vote_summary(&state, v))
        .collect::<ApiResult<Vec<_>>>()?;
    let head = state.store.audit_head()?;
    Ok(ok(json!({
        "session": state.store.meta().name,
        "fingerprint": state.fingerprint.clone(),
        "attendance": attendance(&state)?,
        "votes": votes,
        "rules": state.store.rules_list()?.iter().map(|r| json!({
            "sha256": r.sha256, "title": r.title, "kind": r.kind, "adopted_at": r.adopted_at,
        })).collect::<Vec<_>>(),
        "audit": { "seq": head.seq, "head": crypto::hex(&head.hash) },
        "demo": state.demo,
    })))
}

pub async fn deputies(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    let deputies = state.store.deputies()?;
    let list: Vec<DeputyView> = deputies.iter().map(DeputyView::from).collect();
    Ok(ok(json!({ "deputies": list })))
}

pub async fn import_roster(
    _op: Operator,
    State(state): State<AppState>,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let entries = parse_roster(&body).map_err(Refusal::BadRoster)?;
    let n = state.session.import_roster(entries).await?;
    Ok(ok(json!({ "imported": n })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCodes {
    #[serde(default)]
    deputies: Option<Vec<String>>,
}

/// New enrolment codes, shown once (the cards page shows those not yet used).
pub async fn issue_codes(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<IssueCodes>,
) -> ApiResult<Response> {
    let ids = match body.deputies {
        Some(ids) => Some(
            ids.into_iter()
                .map(deputy_id)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let codes = state.session.issue_codes(ids).await?;
    let codes: Vec<_> = codes
        .into_iter()
        .map(|(id, code)| json!({ "deputy": id, "code": code }))
        .collect();
    Ok(ok(json!({ "codes": codes })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    reason: String,
}

/// A manual check-in or a reissue, with a scrutineer's co-signature where the hall has one
/// (required for a deputy voting in an open vote, and by rules with `manual_checkin_cosign`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intervention {
    reason: String,
    #[serde(default)]
    cosignature: Option<crate::session::CosignatureInput>,
}

async fn presence(
    state: &AppState,
    id: piaojue_core::ids::DeputyId,
    presence: Presence,
    reason: String,
) -> ApiResult<Response> {
    let d = state
        .session
        .set_presence(id, presence, Actor::Operator, Some(reason))
        .await?;
    Ok(ok(json!({ "deputy": DeputyView::from(&d) })))
}

/// 补签到: the operator checks a deputy in, with a reason.
pub async fn checkin(
    _op: Operator,
    State(state): State<AppState>,
    DeputyPath(id): DeputyPath,
    JsonBody(body): JsonBody<Intervention>,
) -> ApiResult<Response> {
    let d = state
        .session
        .set_presence_cosigned(
            id,
            Presence::Present,
            Actor::Operator,
            Some(body.reason),
            body.cosignature,
        )
        .await?;
    Ok(ok(json!({ "deputy": DeputyView::from(&d) })))
}

pub async fn checkout(
    _op: Operator,
    State(state): State<AppState>,
    DeputyPath(id): DeputyPath,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    presence(&state, id, Presence::Left, body.reason).await
}

/// 请假, recorded by the secretariat.
pub async fn leave(
    _op: Operator,
    State(state): State<AppState>,
    DeputyPath(id): DeputyPath,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    presence(&state, id, Presence::Leave, body.reason).await
}

/// A broken or lost tablet: its token stops working and a new code is issued.
pub async fn reissue(
    _op: Operator,
    State(state): State<AppState>,
    DeputyPath(id): DeputyPath,
    JsonBody(body): JsonBody<Intervention>,
) -> ApiResult<Response> {
    let (deputy, code) = state
        .session
        .reissue(id, body.reason, body.cosignature)
        .await?;
    Ok(ok(json!({ "deputy": deputy, "code": code })))
}

pub async fn rules_list(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    Ok(ok(json!({ "rules": state.store.rules_list()? })))
}

/// Adopts a rules document: the body is the document's exact bytes, which are hashed.
pub async fn adopt_rules(
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
        return Err(ApiError(Refusal::RulesNotJson));
    }
    let adopted = state.session.adopt_rules(body.to_vec()).await?;
    Ok(ok(json!({
        "sha256": adopted.sha256, "title": adopted.title, "kind": adopted.kind,
        "adopted_at": adopted.adopted_at,
    })))
}

pub async fn votes(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    let list = state
        .store
        .votes()?
        .iter()
        .map(|v| vote_summary(&state, v))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ok(json!({ "votes": list })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewVote {
    title: String,
    rules_sha256: String,
    items: Vec<String>,
    /// `plain` or `encrypted`; absent: encrypted for a secret vote once the key ceremony
    /// has completed.
    #[serde(default)]
    mode: Option<crate::session::Mode>,
}

pub async fn create_vote(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<NewVote>,
) -> ApiResult<Response> {
    let vote = state
        .session
        .create_vote(body.title, body.rules_sha256, body.items, body.mode)
        .await?;
    Ok(ok(json!({ "vote": vote_summary(&state, &vote)? })))
}

/// Answers a vote's change of state, and tells every listener.
fn transition(state: &AppState, vote: Vote) -> ApiResult<Response> {
    state.publish(json!({ "type": "vote", "vote": vote.id, "state": vote.state }));
    Ok(ok(json!({ "vote": vote_summary(state, &vote)? })))
}

pub async fn open_vote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    transition(&state, state.session.open_vote(id).await?)
}

pub async fn close_vote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    transition(&state, state.session.close_vote(id).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extension {
    seconds: u32,
}

/// The chair extends a running vote's period, once.
pub async fn extend_vote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<Extension>,
) -> ApiResult<Response> {
    transition(&state, state.session.extend_vote(id, body.seconds).await?)
}

pub async fn announce_vote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    transition(&state, state.session.announce_vote(id).await?)
}

pub async fn cancel_vote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    transition(&state, state.session.cancel_vote(id, body.reason).await?)
}

/// An encrypted vote whose decryption cannot complete: declared failed, with the reason
/// (docs/e2e.md); its bundle is published at once, without totals.
pub async fn declare_failed(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<Reason>,
) -> ApiResult<Response> {
    transition(
        &state,
        state.session.declare_failed(&id, body.reason).await?,
    )
}

/// 重新表决: a cancelled or failed vote repeated as a new draft naming it.
pub async fn revote(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    let vote = state.session.revote(id).await?;
    state.publish(json!({ "type": "vote", "vote": vote.id, "state": vote.state }));
    Ok(ok(json!({ "vote": vote_summary(&state, &vote)? })))
}

/// 对并列项目重新票决 / 就剩余名额另行票决: the run-off a decided 票决 calls for.
pub async fn runoff(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    let vote = state.session.runoff(id).await?;
    state.publish(json!({ "type": "vote", "vote": vote.id, "state": vote.state }));
    Ok(ok(json!({ "vote": vote_summary(&state, &vote)? })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChairChoice {
    items: Vec<String>,
    note: String,
}

/// `tie_rule: chair_decides`: the chair's choice among the tied candidates.
pub async fn chair_decision(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<ChairChoice>,
) -> ApiResult<Response> {
    transition(
        &state,
        state
            .session
            .chair_decides(id, body.items, body.note)
            .await?,
    )
}

/// A manual count replacing a cancelled or failed vote.
pub async fn manual_count_of(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(body): JsonBody<crate::session::procedures::ManualCountInput>,
) -> ApiResult<Response> {
    transition(&state, state.session.manual_count(Some(id), body).await?)
}

/// A manual count as a new vote (title, rules_sha256 and items in the body).
pub async fn manual_count(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<crate::session::procedures::ManualCountInput>,
) -> ApiResult<Response> {
    transition(&state, state.session.manual_count(None, body).await?)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromBundle {
    title: String,
    rules_sha256: String,
    /// A decided 票决 of this session…
    #[serde(default)]
    source_vote: Option<String>,
    /// …or a 票决 bundle (the envelope as published), of this or an earlier session.
    #[serde(default)]
    bundle: Option<serde_json::Value>,
    /// The appliance key the source must be signed by (hex); default: the key it names.
    #[serde(default)]
    source_key: Option<String>,
    #[serde(default)]
    mode: Option<crate::session::Mode>,
}

/// 人大评: a 满意度测评 of the projects a 票决 bundle adopted.
pub async fn satisfaction_from(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<FromBundle>,
) -> ApiResult<Response> {
    use crate::session::procedures::SourceInput;
    let source = match (body.source_vote, body.bundle) {
        (Some(v), None) => {
            SourceInput::Vote(piaojue_core::ids::VoteId::parse(&v).ok_or_else(|| {
                Refusal::BadSourceBundle(format!("source_vote: `{v}` is not a vote id"))
            })?)
        }
        (None, Some(b)) => SourceInput::Bundle(
            serde_json::to_vec(&b).map_err(|e| Refusal::internal("内部错误", e))?,
        ),
        _ => {
            return Err(Refusal::BadSourceBundle(
                "source_vote or bundle: exactly one of them".into(),
            )
            .into());
        }
    };
    let vote = state
        .session
        .satisfaction_from(
            body.title,
            body.rules_sha256,
            source,
            body.source_key,
            body.mode,
        )
        .await?;
    Ok(ok(json!({ "vote": vote_summary(&state, &vote)? })))
}

/// The printable session report (会议表决情况报告), as the archive holds it: HTML for the
/// browser's print, its one style allowed by hash and nothing else.
pub async fn report(_op: Operator, State(state): State<AppState>) -> ApiResult<Response> {
    let key = state.session.key();
    let (_, files) = crate::archive::collect(&state.session, &key)
        .await
        .map_err(|e| Refusal::internal("内部错误", e))?;
    let html = files
        .get(piaojue_core::archive::REPORT_FILE)
        .cloned()
        .unwrap_or_default();
    use base64::Engine as _;
    let style = base64::engine::general_purpose::STANDARD.encode(piaojue_core::crypto::sha256(
        piaojue_core::archive::REPORT_STYLE.as_bytes(),
    ));
    let csp = format!(
        "default-src 'none'; style-src 'sha256-{style}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, csp),
        ],
        html,
    )
        .into_response())
}

/// The tally of a closed vote, privately, before it is announced.
pub async fn result(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    let vote = state
        .store
        .vote(&id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
    let mut result = result_of(&state, &vote)?;
    // 未按: the deputies who could vote (the roll frozen at opening) and did not. Only for the
    // secretariat, and only once the vote is closed (result_of refuses an open vote): during
    // a secret vote the names of who has voted would narrow down who chose what.
    let mut not_voted = Vec::new();
    for d in state.store.deputies()? {
        if state.store.is_enabled(&vote.id, &d.id)?
            && state.store.cast_mark(&vote.id, &d.id)?.is_none()
        {
            not_voted.push(json!({
                "id": d.id, "name": d.name, "delegation": d.delegation, "seat": d.seat,
            }));
        }
    }
    result["not_voted"] = json!(not_voted);
    Ok(ok(result))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    from: Option<u64>,
    #[serde(default)]
    limit: Option<usize>,
}

pub async fn audit(
    _op: Operator,
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let entries = state
        .store
        .audit(q.from.unwrap_or(1), q.limit.unwrap_or(500).min(5000))?;
    let head = state.store.audit_head()?;
    Ok(ok(json!({
        "head": { "seq": head.seq, "hash": crypto::hex(&head.hash) },
        "entries": entries,
    })))
}

/// The signed bundle of a closed vote, before it is announced.
pub async fn bundle(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    if state.session.linked_vote(&id)?.is_some() {
        let text = state.session.e2e_bundle(&id).await?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response());
    }
    super::public::bundle_of(&state, &id)
}

fn demo_only(state: &AppState) -> ApiResult<()> {
    if state.demo {
        Ok(())
    } else {
        Err(ApiError(Refusal::NotFound))
    }
}

/// Demo only: every deputy not yet checked in is checked in, so one person can run a vote.
pub async fn demo_checkin(
    _op: Operator,
    State(state): State<AppState>,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    demo_only(&state)?;
    let mut n = 0;
    for d in state.store.deputies()? {
        if d.presence == Presence::Absent {
            state
                .session
                .set_presence(
                    d.id,
                    Presence::Present,
                    Actor::Operator,
                    Some("演示：模拟签到".into()),
                )
                .await?;
            n += 1;
        }
    }
    Ok(ok(json!({ "checked_in": n })))
}

/// Demo only: the simulated scrutineers stay away from an encrypted vote (演示：监票人缺席),
/// so its decryption cannot complete and the secretariat can declare it failed.
pub async fn demo_absent_scrutineers(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    demo_only(&state)?;
    let vote = state
        .store
        .vote(&id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
    if vote.mode != crate::session::Mode::Encrypted || vote.result.is_some() {
        return Err(Refusal::E2eVoteConflict(format!(
            "{id}: only an encrypted vote not yet decrypted"
        ))
        .into());
    }
    let dir = state.demo_dir.clone().ok_or(Refusal::NotFound)?;
    crate::demo::keep_scrutineers_away(&dir, id.as_str())
        .map_err(|e| Refusal::internal("内部错误", e))?;
    Ok(ok(json!({ "vote": id, "absent_scrutineers": true })))
}

/// Demo only: every enabled, present deputy who has not voted casts a random valid ballot.
pub async fn demo_simulate(
    _op: Operator,
    State(state): State<AppState>,
    VotePath(id): VotePath,
    JsonBody(NoFields {}): JsonBody<NoFields>,
) -> ApiResult<Response> {
    demo_only(&state)?;
    let vote = state
        .store
        .vote(&id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
    if vote.mode == crate::session::Mode::Encrypted {
        let dir = state.demo_dir.clone().ok_or(Refusal::NotFound)?;
        let cast = crate::demo::simulate(&state.session, &dir, id.as_str())
            .await
            .map_err(Refusal::E2eVote)?;
        return Ok(ok(json!({ "cast": cast })));
    }
    let adopted = state
        .store
        .rules(&vote.rules_sha256)?
        .ok_or_else(|| Refusal::RulesUnknown(vote.rules_sha256.clone()))?;
    let rules = piaojue_core::rules::Rules::from_json(adopted.document.as_bytes())
        .map_err(|e| Refusal::internal("内部错误", e))?;
    // A run-off's ballots take at most its seats' 赞成.
    let rules = vote.rules_under(&rules)?;
    let mut cast = 0;
    for d in state.store.deputies()? {
        if d.presence != Presence::Present
            || !state.store.is_enabled(&id, &d.id)?
            || state.store.cast_mark(&id, &d.id)?.is_some()
        {
            continue;
        }
        let request = piaojue_core::ballot::CastRequest {
            vote_id: id.to_string(),
            ballot_id: crypto::hex(
                &crypto::random::<16>().map_err(|e| Refusal::internal("随机数生成失败", e))?,
            ),
            choices: piaojue_core::ballot::random_choices(&rules, vote.items.len())
                .map_err(|e| Refusal::internal("随机数生成失败", e))?,
        };
        state.session.cast_simulated(&id, &d.id, request).await?;
        cast += 1;
    }
    Ok(ok(json!({ "cast": cast })))
}

/// Whether this browser holds a valid operator login (never a 401, so pages can ask first).
pub async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = operator_cookie(&headers);
    ok(json!({ "operator": token.is_some_and(|t| state.operator_sessions.check(&t)) }))
}
