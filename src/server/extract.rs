//! Request extractors: JSON bodies read strictly, operator and deputy authentication.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::session::Deputy;
use crate::store::Holder;
use piaojue_core::crypto;
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::refusal::{Device, Refusal};

/// A JSON body: `Content-Type: application/json` required (a cross-site form cannot send
/// it without a preflight), unknown fields refused by the types, errors naming the field.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if super::media_type(req.headers()).as_deref() != Some("application/json") {
            return Err(ApiError(Refusal::NotJson));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The body of a route that takes no data: `{}`, sent as `application/json` like every
/// state-changing request (so a cross-site form cannot send it).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// How long a client may take to send a body: a slow-loris trickle is cut off.
const BODY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

/// A whole body, within the route's size limit and [`BODY_DEADLINE`].
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let read = Bytes::from_request(req, state);
        let bytes = tokio::time::timeout(BODY_DEADLINE, read)
            .await
            .map_err(|_| ApiError(Refusal::BodyTimeout))?
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError(Refusal::BodyTooLarge)
                } else {
                    ApiError(Refusal::BadBody)
                }
            })?;
        Ok(RawBody(bytes))
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        };
        ApiError(Refusal::BadJson(detail))
    })?;
    de.end().map_err(|_| ApiError(Refusal::TrailingJson))?;
    Ok(value)
}

/// The operator's session cookie, if the request carries one.
pub fn operator_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == OPERATOR_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// The bearer token of a tablet or a scrutineer's device, if the request carries one.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// The request comes from a logged-in operator (the `piaojue_operator` cookie).
#[derive(Debug)]
pub struct Operator;

pub const OPERATOR_COOKIE: &str = "piaojue_operator";

impl<S> FromRequestParts<S> for Operator
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = operator_cookie(&parts.headers);
        let Some(token) = token else {
            if parts.headers.contains_key(header::AUTHORIZATION) {
                return Err(ApiError(Refusal::OperatorsOnly));
            }
            return Err(ApiError(Refusal::LoginRequired));
        };
        if state.operator_sessions.check(&token) {
            Ok(Operator)
        } else {
            Err(ApiError(Refusal::LoginExpired))
        }
    }
}

/// The request comes from an enrolled deputy's tablet (`Authorization: Bearer …`).
#[derive(Debug)]
pub struct DeputyAuth(pub Deputy);

impl<S> FromRequestParts<S> for DeputyAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let Some(token) = bearer(parts) else {
            if operator_cookie(&parts.headers).is_some() {
                return Err(ApiError(Refusal::DeputiesOnly));
            }
            return Err(ApiError(Refusal::TokenMissing(Device::Tablet)));
        };
        // Looked up by hash: the token itself is never stored or compared.
        let hash = crypto::sha256_hex(token.as_bytes());
        let invalid = || ApiError(Refusal::TokenInvalid(Device::Tablet));
        match state.store.token_holder(&hash)? {
            Some(Holder::Deputy(id)) => match state.store.deputy(&id)? {
                // A tablet's token ends with the session it was issued for.
                Some(d) if d.token_expired() => Err(invalid()),
                Some(d) => Ok(DeputyAuth(d)),
                None => Err(invalid()),
            },
            Some(Holder::Scrutineer(_)) => Err(ApiError(Refusal::DeputiesOnly)),
            None => Err(invalid()),
        }
    }
}

/// The request comes from an enrolled scrutineer's device (`Authorization: Bearer …`).
#[derive(Debug)]
pub struct ScrutineerAuth(pub crate::store::Scrutineer);

impl<S> FromRequestParts<S> for ScrutineerAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(ApiError(Refusal::TokenMissing(Device::Scrutineer)))?;
        let hash = crypto::sha256_hex(token.as_bytes());
        let invalid = || ApiError(Refusal::TokenInvalid(Device::Scrutineer));
        match state.store.token_holder(&hash)? {
            Some(Holder::Scrutineer(id)) => state
                .store
                .scrutineer(&id)?
                .map(ScrutineerAuth)
                .ok_or_else(invalid),
            Some(Holder::Deputy(_)) => Err(ApiError(Refusal::ScrutineersOnly)),
            None => Err(invalid()),
        }
    }
}

/// A vote id from the URL (`…/votes/{id}/…`): text that cannot be a vote id names no vote.
#[derive(Debug)]
pub struct VotePath(pub VoteId);

impl<S: Send + Sync> FromRequestParts<S> for VotePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(Refusal::NotFound))?;
        VoteId::parse(&text)
            .map(VotePath)
            .ok_or(ApiError(Refusal::VoteUnknown(text)))
    }
}

/// A deputy id from the URL (`…/deputies/{id}/…`): text that cannot be an id names no deputy.
#[derive(Debug)]
pub struct DeputyPath(pub DeputyId);

impl<S: Send + Sync> FromRequestParts<S> for DeputyPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError(Refusal::NotFound))?;
        deputy_id(text).map(DeputyPath).map_err(ApiError)
    }
}

/// A deputy id from a request body: text that cannot be an id names no deputy.
pub fn deputy_id(text: String) -> Result<DeputyId, Refusal> {
    DeputyId::parse(&text).ok_or(Refusal::DeputyUnknown(text))
}
