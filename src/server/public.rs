//! Public, read-only endpoints: what observers and the hall screen rely on (paths are a contract).

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::VotePath;
use super::{AppState, ok};
use crate::session::{Presence, Vote, VoteState};
use piaojue_core::bundle::choice_words;
use piaojue_core::crypto;
use piaojue_core::refusal::Refusal;

pub async fn healthz(State(state): State<AppState>) -> ApiResult<Response> {
    let head = state.store.audit_head()?;
    Ok(ok(json!({ "status": "ok", "audit_seq": head.seq })))
}

/// 应到 / 实到 / 请假 / 未签到 / 中途退场 now.
pub fn attendance(state: &AppState) -> ApiResult<Value> {
    let deputies = state.store.deputies()?;
    let count = |p: Presence| deputies.iter().filter(|d| d.presence == p).count();
    Ok(json!({
        "seated": deputies.len(),
        "present": count(Presence::Present),
        "leave": count(Presence::Leave),
        "absent": count(Presence::Absent),
        "left": count(Presence::Left),
    }))
}

pub async fn session(State(state): State<AppState>) -> ApiResult<Response> {
    let meta = state.store.meta();
    let fingerprint = state.fingerprint.clone();
    Ok(ok(json!({
        "name": meta.name,
        "public_key": meta.public_key,
        "fingerprint": fingerprint,
        "fingerprint_grouped": crypto::fingerprint_grouped(&fingerprint),
        "attendance": attendance(&state)?,
        "demo": state.demo,
    })))
}

/// A vote as anyone may see it: never a count of a secret vote before it is announced.
pub fn vote_summary(state: &AppState, vote: &Vote) -> ApiResult<Value> {
    let rules = state.store.rules(&vote.rules_sha256)?;
    let rules_doc = rules
        .as_ref()
        .and_then(|r| piaojue_core::rules::Rules::from_json(r.document.as_bytes()).ok())
        .and_then(|r| vote.rules_under(&r).ok());
    let encrypted = vote.mode == crate::session::Mode::Encrypted;
    let turnout = match vote.state {
        VoteState::Open | VoteState::Closed | VoteState::Announced => {
            let enabled = vote.roll.and_then(|r| r.enabled).unwrap_or(0);
            let cast = if encrypted {
                state.session.e2e_turnout(vote.id.as_str())?
            } else {
                state.store.turnout(&vote.id)?
            };
            Some(json!({ "cast": cast, "enabled": enabled }))
        }
        _ => None,
    };
    Ok(json!({
        "id": vote.id,
        "title": vote.title,
        "mode": vote.mode,
        "mode_zh": vote.mode.name_zh(),
        "awaiting_roll_call": vote.awaiting_roll_call,
        // An encrypted vote's own data: the booth reads its manifest and roll call there.
        "e2e_url": encrypted.then(|| format!("/api/public/e2e/votes/{}", vote.id)),
        "kind": rules.as_ref().map(|r| r.kind),
        "rules_title": rules.as_ref().map(|r| r.title.clone()),
        "rules_sha256": vote.rules_sha256,
        "items": vote.items,
        "state": vote.state,
        "state_zh": vote.state.name_zh(),
        "created_at": vote.created_at,
        "opened_at": vote.opened_at,
        "closes_at": vote.closes_at,
        "seconds_left": (vote.state == VoteState::Open)
            .then(|| crate::session::votes::seconds_left(vote.closes_at.as_deref())),
        "extended": vote.extended,
        "voting_seconds": rules_doc.as_ref().map(|r| r.voting_seconds),
        "secret": rules_doc.as_ref().map(|r| r.secret),
        "options": rules_doc.as_ref().map(|r| r.options.clone()),
        "max_yes": rules_doc.as_ref().and_then(|r| match r.params {
            piaojue_core::rules::KindRules::ProjectSelection { max_yes, .. } => Some(max_yes),
            _ => None,
        }),
        "select_n": rules_doc.as_ref().and_then(|r| match r.params {
            piaojue_core::rules::KindRules::ProjectSelection { select_n, .. } => Some(select_n),
            _ => None,
        }),
        "closed_at": vote.closed_at,
        "announced_at": vote.announced_at,
        "cancelled_reason": vote.cancelled,
        "failed_reason": vote.failed,
        "revote_of": vote.revote_of,
        "revoted_by": vote.revoted_by,
        "runoff_of": vote.runoff_of,
        "runoff_by": vote.runoff_by,
        // The run-off this decided 票决 calls for under its rules (the console's button).
        "runoff_due": match (&vote.result, &rules_doc, vote.state) {
            // Public only once announced: before, a secret vote's tie says how it went.
            (Some(outcome), Some(r), VoteState::Announced) if vote.runoff_by.is_none() =>
            {
                piaojue_core::procedure::runoff_called_for(r, outcome, vote.id.as_str())
                    .ok()
                    .map(|(reason, _, seats)| json!({ "reason": reason, "reason_zh": reason.name_zh(), "seats": seats }))
            }
            _ => None,
        },
        "source": vote.source,
        "source_summary": vote.source_summary,
        "manual": vote.manual.as_ref().map(|m| json!({
            "method": m.method,
            "heading_zh": m.method.heading_zh(),
            "counted_by": m.counted_by,
            "note": m.note,
        })),
        "chair_decision": vote.chair_decision,
        "failed_announcement": vote.failed.as_deref().map(|r| {
            if vote.manual.is_some() {
                format!("{}：人工计票结果未经监票人确认，秘书处宣告其无效（原因：{r}）。本结果不予宣布。", vote.title)
            } else {
                piaojue_core::rules::encrypted::failed_announcement(&vote.title, r)
            }
        }),
        "roll": vote.roll,
        "turnout": turnout,
        "result_url": (vote.state == VoteState::Announced)
            .then(|| format!("/api/public/votes/{}/result", vote.id)),
        "bundle_url": matches!(vote.state, VoteState::Announced | VoteState::Failed)
            .then(|| format!("/api/public/votes/{}/bundle", vote.id)),
        "bundle_sha256": match vote.state {
            VoteState::Announced if vote.mode == crate::session::Mode::Plain => {
                state.store.bundle(&vote.id)?.map(|b| b.sha256)
            }
            VoteState::Announced | VoteState::Failed => state
                .store
                .e2e_get(vote.id.as_str(), b"bundle_sha256")?
                .map(|b| String::from_utf8_lossy(&b).into_owned()),
            _ => None,
        },
    }))
}

pub async fn votes(State(state): State<AppState>) -> ApiResult<Response> {
    let votes = state.store.votes()?;
    let list = votes
        .iter()
        .map(|v| vote_summary(&state, v))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ok(json!({ "votes": list })))
}

/// The result of a closed or announced vote: outcome, counts, announcement, receipts and,
/// for a named vote, each deputy's choices.
pub fn result_of(state: &AppState, vote: &Vote) -> ApiResult<Value> {
    let Some(outcome) = &vote.result else {
        return Err(Refusal::NoResult(Some(vote.state.name_zh())).into());
    };
    // A document that cannot be read counts as secret: never publish names by mistake.
    let rules = state
        .store
        .rules(&vote.rules_sha256)?
        .and_then(|r| piaojue_core::rules::Rules::from_json(r.document.as_bytes()).ok());
    let secret = rules.as_ref().is_none_or(|r| r.secret);
    let mut named = Vec::new();
    if !secret {
        let options = rules.map(|r| r.options).unwrap_or_default();
        for (deputy, mark) in state.store.cast_marks(&vote.id)? {
            let name = state
                .store
                .deputy(&deputy)?
                .map(|d| d.name)
                .unwrap_or_default();
            let choices = choice_words(&options, &mark.named_choices.unwrap_or_default());
            named.push(json!({ "deputy": deputy, "name": name, "choices": choices }));
        }
    }
    let encrypted = vote.mode == crate::session::Mode::Encrypted;
    Ok(json!({
        "vote": vote_summary(state, vote)?,
        "cast": if encrypted { state.session.e2e_turnout(vote.id.as_str())? } else { state.store.turnout(&vote.id)? },
        "outcome": outcome,
        "announcement": outcome.get("announcement"),
        "receipts": state.store.receipts(&vote.id)?,
        "secret": secret,
        "named_choices": (!secret).then_some(named),
        // A named vote's counts per 代表团, as its signed bundle publishes them.
        "by_delegation": if secret {
            None
        } else {
            state
                .store
                .bundle(&vote.id)?
                .and_then(|b| serde_json::from_str::<piaojue_core::bundle::ResultBody>(&b.body).ok())
                .and_then(|body| body.by_delegation)
        },
        // The secretariat's manual check-ins and reissues for the deputies of this vote, as
        // its signed bundle lists them: counted on the hall screen, listed in the 公告.
        "interventions": state
            .store
            .bundle(&vote.id)?
            .and_then(|b| serde_json::from_str::<piaojue_core::bundle::ResultBody>(&b.body).ok())
            .and_then(|body| body.interventions)
            .unwrap_or_default(),
        // The scrutineers signed into the vote, with their keys' fingerprints, for the hall
        // screen and the 公告: the keys the observers' agenda printed.
        "scrutineers": vote.scrutineers.iter().flatten().map(|s| json!({
            "id": s.id,
            "name": s.name,
            "public_key": s.public_key,
            "fingerprint_grouped": crypto::public_key(&s.public_key)
                .map(|k| crypto::fingerprint_grouped(&crypto::fingerprint(&k)))
                .ok(),
        })).collect::<Vec<_>>(),
    }))
}

/// A vote that has been announced, or 404.
fn announced(state: &AppState, id: &str) -> ApiResult<Vote> {
    let vote = state
        .store
        .vote(id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.into()))?;
    if vote.state != VoteState::Announced {
        return Err(Refusal::NotAnnounced(vote.state.name_zh()).into());
    }
    Ok(vote)
}

pub async fn result(State(state): State<AppState>, VotePath(id): VotePath) -> ApiResult<Response> {
    let vote = announced(&state, &id)?;
    Ok(ok(result_of(&state, &vote)?))
}

/// The signed bundle of a vote (closed or announced, as the caller's role allows).
pub fn bundle_of(state: &AppState, id: &str) -> ApiResult<Response> {
    let bundle = state.store.bundle(id)?.ok_or(Refusal::NoResult(None))?;
    let json = bundle
        .envelope(&state.store.meta().public_key)
        .to_json()
        .map_err(|e| Refusal::internal("内部错误", e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// `GET /api/public/votes/{id}/bundle`: what observers verify (an encrypted vote's is the
/// v2 bundle, `piaojue-bundle/2`).
pub async fn bundle(State(state): State<AppState>, VotePath(id): VotePath) -> ApiResult<Response> {
    // A vote declared failed publishes its bundle (without totals) at the declaration.
    let vote = match state.store.vote(&id)? {
        Some(v) if v.state == VoteState::Failed => v,
        _ => announced(&state, &id)?,
    };
    if vote.mode == crate::session::Mode::Encrypted {
        let text = state.session.e2e_bundle(&id).await?;
        return Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response());
    }
    bundle_of(&state, &id)
}

/// The appliance's public key as a QR code (64 hex digits), for the printed 公告 and agenda:
/// an observer's phone or `piaojue verify --key` takes the key from paper, not from the
/// appliance being checked.
pub async fn key_qr(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "image/svg+xml")],
        super::cards::qr_svg(&state.store.meta().public_key),
    )
        .into_response()
}

/// An encrypted vote's list hash as a QR code (64 hex digits), shown on the hall screen from
/// its close until the result: the scrutineers and observers compare it with their own.
pub async fn list_hash_qr(
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    let status = state.session.e2e_status(&id).await?;
    let lh = status["list_hash"]
        .as_str()
        .ok_or(Refusal::NoResult(None))?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        super::cards::qr_svg(lh),
    )
        .into_response())
}

/// An encrypted vote's progress after its close (list hash, who has decrypted, decided).
pub async fn e2e_status(
    State(state): State<AppState>,
    VotePath(id): VotePath,
) -> ApiResult<Response> {
    let vote = state
        .store
        .vote(&id)?
        .ok_or_else(|| Refusal::VoteUnknown(id.to_string()))?;
    if vote.mode != crate::session::Mode::Encrypted {
        return Err(Refusal::NotFound.into());
    }
    Ok(ok(state.session.e2e_status(&id).await?))
}

/// The hall screen's QR code: the bundle's URL with its SHA-256, for an observer's phone.
pub async fn qr(
    State(state): State<AppState>,
    VotePath(id): VotePath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let vote = announced(&state, &id)?;
    let sha256 = if vote.mode == crate::session::Mode::Encrypted {
        state.session.e2e_status(&id).await?["bundle_sha256"]
            .as_str()
            .map(str::to_owned)
            .ok_or(Refusal::NoResult(None))?
    } else {
        state
            .store
            .bundle(&id)?
            .ok_or(Refusal::NoResult(None))?
            .sha256
    };
    let url = format!(
        "{}/api/public/votes/{id}/bundle#sha256={sha256}",
        super::cards::origin(&headers, state.tls),
    );
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml")],
        super::cards::qr_svg(&url),
    )
        .into_response())
}

/// `GET /api/public/attendance`: the ids of the deputies checked in (已签到), as the hall
/// sees them on the screen; the credential officer builds each roll call from it.
pub async fn present(State(state): State<AppState>) -> ApiResult<Response> {
    let present: Vec<String> = state
        .store
        .deputies()?
        .into_iter()
        .filter(|d| d.presence == crate::session::Presence::Present)
        .map(|d| d.id.to_string())
        .collect();
    Ok(ok(json!({ "present": present })))
}
