//! Request extractors: JSON bodies read strictly, operator and deputy authentication.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::crypto;
use crate::session::{Deputy, ErrorKind};

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
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return Err(ApiError::new(
                ErrorKind::Invalid,
                "content_type",
                "请求须为 JSON（Content-Type: application/json）",
            ));
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

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
            .map_err(|_| ApiError::new(ErrorKind::Timeout, "body_timeout", "请求内容发送过慢"))?
            .map_err(|e| {
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(ErrorKind::TooLarge, "body_too_large", "请求内容过大")
                } else {
                    ApiError::new(ErrorKind::Invalid, "bad_body", "请求内容无法读取")
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
        let message = if path == "." {
            format!("JSON 格式有误：{inner}")
        } else {
            format!("JSON 格式有误：{path}: {inner}")
        };
        ApiError::new(ErrorKind::Invalid, "bad_json", message)
    })?;
    de.end()
        .map_err(|_| ApiError::new(ErrorKind::Invalid, "bad_json", "JSON 之后还有多余内容"))?;
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
                return Err(ApiError::new(
                    ErrorKind::Forbidden,
                    "operators_only",
                    "只有大会秘书处可以这样做",
                ));
            }
            return Err(ApiError::new(
                ErrorKind::Unauthorized,
                "login_required",
                "请先以秘书处身份登录",
            ));
        };
        if state.operator_sessions.check(&token) {
            Ok(Operator)
        } else {
            Err(ApiError::new(
                ErrorKind::Unauthorized,
                "login_expired",
                "登录已失效，请重新登录",
            ))
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
                return Err(ApiError::new(
                    ErrorKind::Forbidden,
                    "deputies_only",
                    "只有代表的表决终端可以这样做",
                ));
            }
            return Err(ApiError::new(
                ErrorKind::Unauthorized,
                "token_missing",
                "表决终端尚未登记",
            ));
        };
        // Looked up by hash: the token itself is never stored or compared.
        let hash = crypto::sha256_hex(token.as_bytes());
        match state.store.deputy_by_token(&hash)? {
            Some(d) => Ok(DeputyAuth(d)),
            None if state.store.scrutineer_by_token(&hash)?.is_some() => Err(ApiError::new(
                ErrorKind::Forbidden,
                "deputies_only",
                "只有代表的表决终端可以这样做",
            )),
            None => Err(ApiError::new(
                ErrorKind::Unauthorized,
                "token_invalid",
                "表决终端的登记已失效，请向大会秘书处申请新的登记卡",
            )),
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
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unauthorized,
                "token_missing",
                "监票人终端尚未登记",
            )
        })?;
        let hash = crypto::sha256_hex(token.as_bytes());
        if let Some(s) = state.store.scrutineer_by_token(&hash)? {
            return Ok(ScrutineerAuth(s));
        }
        if state.store.deputy_by_token(&hash)?.is_some() {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                "scrutineers_only",
                "只有监票人可以这样做",
            ));
        }
        Err(ApiError::new(
            ErrorKind::Unauthorized,
            "token_invalid",
            "监票人终端的登记已失效",
        ))
    }
}
