//! The demo's booth (`serve --demo` only): the booth page and files, its settings, and the
//! simulated credential officer's cast-notice listener. A real appliance answers 404 to all
//! of it: the tablets install the booth (`piaojue booth export`), and cast notices go to the
//! officer's own laptop (`piaojue officer serve`), never through the appliance.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use piaojue_core::e2e::{credential, hex, transcript};
use piaojue_core::refusal::Refusal;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::RawBody;
use super::{AppState, ok};

fn demo_only(state: &AppState) -> ApiResult<()> {
    if state.demo {
        Ok(())
    } else {
        Err(ApiError(Refusal::NotFound))
    }
}

fn file(path: &str) -> ApiResult<Response> {
    let (mime, bytes) = crate::web::booth::demo_file(path).ok_or(Refusal::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /booth` (demo).
pub async fn page(State(state): State<AppState>) -> ApiResult<Response> {
    demo_only(&state)?;
    file("booth.html")
}

/// `GET /assets/booth/{path}` (demo).
pub async fn asset(State(state): State<AppState>, Path(path): Path<String>) -> ApiResult<Response> {
    demo_only(&state)?;
    file(&format!("assets/booth/{path}"))
}

/// `GET /api/public/demo/booth-config` (demo): what a real booth is given at installation.
pub async fn config(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    demo_only(&state)?;
    let mh = state
        .store
        .e2e_manifest()?
        .map(|b| hex::encode(&piaojue_core::crypto::sha256(&b)));
    Ok(ok(json!({
        "demo": true,
        "mh": mh,
        "officer_notice_url": format!("{}/demo/officer/notice", super::cards::origin(&headers, state.tls)),
    })))
}

/// Distinct notices per vote (demo: in memory).
static NOTICES: Mutex<Option<HashMap<String, HashSet<String>>>> = Mutex::new(None);

/// `POST /demo/officer/notice` (demo): the simulated officer checks a cast notice as
/// `piaojue officer serve` does (the credential in the roll call, the receipt under the
/// appliance key, the notice under the credential) and counts it.
pub async fn notice(State(state): State<AppState>, RawBody(b): RawBody) -> ApiResult<Response> {
    demo_only(&state)?;
    let bad = |m: String| ApiError(Refusal::E2eVote(m));
    let n: Value = serde_json::from_slice(&b).map_err(|e| bad(format!("notice: {e}")))?;
    let f = |k: &str| n[k].as_str().ok_or_else(|| bad(format!("{k}: missing")));
    let vote = f("vote_id")?.to_string();
    let sm = state.session.e2e_session_manifest().await?;
    let view = state.session.e2e_view(&vote).await?;
    let open = piaojue_core::e2e::decryption::RollCall::from_json(&view["roll_call_open"], "roll")
        .map_err(|e| bad(e.to_string()))?;
    let h32 = |k: &str| hex::decode_array::<32>(f(k)?, k).map_err(|e| bad(e.to_string()));
    let h64 = |k: &str| hex::decode_array::<64>(f(k)?, k).map_err(|e| bad(e.to_string()));
    let (tracker, cred, receipt, sig) = (
        h32("tracker")?,
        h32("cred_pk")?,
        h64("receipt_sig")?,
        h64("sig")?,
    );
    let time = n["time"]
        .as_u64()
        .ok_or_else(|| bad("time: missing".into()))?;
    if !open.credentials.contains(&cred) {
        return Err(bad("cred_pk: not in this vote's roll call".into()));
    }
    credential::verify_field(
        &sm.appliance_key,
        &transcript::receipt_message(sm.hash(), &vote, &tracker, time),
        &receipt,
        "receipt_sig",
    )
    .map_err(|e| bad(e.to_string()))?;
    credential::verify_field(
        &cred,
        &transcript::cast_notice_message(sm.hash(), &vote, &tracker, time, &receipt),
        &sig,
        "sig",
    )
    .map_err(|e| bad(e.to_string()))?;
    let mut all = NOTICES.lock().unwrap_or_else(|p| p.into_inner());
    let fresh = all
        .get_or_insert_with(HashMap::new)
        .entry(vote)
        .or_default()
        .insert(hex::encode(&tracker));
    Ok(ok(
        json!({ "accepted": if fresh { "new" } else { "duplicate" } }),
    ))
}
