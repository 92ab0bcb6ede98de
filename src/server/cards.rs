//! Enrolment cards: the data for the static A4 page `/console/cards` (name, seat, QR code, the
//! code as text) for the codes not yet used. The QR holds `/tablet#code=CODE&fp=FINGERPRINT`
//! (in the fragment, so the code never reaches a server log), rendered server-side as SVG.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use piaojue_core::crypto;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::{Value, json};

use super::error::ApiResult;
use super::extract::Operator;
use super::{AppState, ok};

/// `http(s)://HOST` as the client reached the appliance: the name tablets and phones will use.
/// A Host header that is not a plain host name or address is not trusted.
pub fn origin(headers: &HeaderMap, tls: bool) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{}://{host}", if tls { "https" } else { "http" })
}

/// The tablet URL a card's QR carries.
pub fn tablet_url(origin: &str, code: &str, fingerprint: &str) -> String {
    format!(
        "{origin}/tablet#code={}&fp={fingerprint}",
        code.replace('-', "")
    )
}

pub fn qr_svg(data: &str) -> String {
    match QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color>()
            .min_dimensions(180, 180)
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// `GET /api/operator/cards`: the cards still to print (deputies with a pending code, by id),
/// each with its QR drawn as SVG; the static page `/console/cards` lays them out.
/// `?deputy=ID`: reprint one deputy's card (a lost card, after a reissue).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardsQuery {
    #[serde(default)]
    deputy: Option<String>,
}

pub async fn cards(
    _op: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<CardsQuery>,
) -> ApiResult<Response> {
    let origin = origin(&headers, state.tls);
    let fingerprint = state.fingerprint.clone();
    let mut deputies = state.store.deputies()?;
    deputies.sort_by(|a, b| a.id.cmp(&b.id));
    let codes: std::collections::HashMap<String, String> =
        state.store.pending_codes()?.into_iter().collect();
    let cards: Vec<Value> = deputies
        .iter()
        .filter(|d| query.deputy.as_deref().is_none_or(|one| d.id == one))
        .filter_map(|d| {
            let code = codes.get(d.id.as_str())?;
            Some(json!({
                "deputy": d.id,
                "name": d.name,
                "delegation": d.delegation,
                "seat": d.seat,
                "code": code,
                "qr_svg": qr_svg(&tablet_url(&origin, code, &fingerprint)),
            }))
        })
        .collect();
    Ok(ok(json!({
        "session": state.store.meta().name,
        "fingerprint": fingerprint,
        "fingerprint_grouped": crypto::fingerprint_grouped(&fingerprint),
        "cards": cards,
    })))
}
