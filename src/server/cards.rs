//! Enrolment cards: an A4 page of cards (name, seat, QR code, the code as text) for the codes
//! not yet used. The QR holds `/tablet#code=CODE&fp=FINGERPRINT` (in the fragment, so the code
//! never reaches a server log), rendered server-side as SVG.

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

use super::AppState;
use super::error::ApiResult;
use super::extract::Operator;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

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

pub async fn page(
    _op: Operator,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let origin = origin(&headers, state.tls);
    let fingerprint = state.fingerprint.clone();
    let mut deputies = state.store.deputies()?;
    deputies.sort_by(|a, b| a.id.cmp(&b.id));
    let codes: std::collections::HashMap<String, String> =
        state.store.pending_codes()?.into_iter().collect();
    let mut cards = String::new();
    for d in deputies.iter().filter(|d| codes.contains_key(&d.id)) {
        let code = &codes[&d.id];
        cards.push_str(&format!(
            "<section class=\"card\"><div class=\"who\"><h2>{name}</h2><p>{delegation}</p>\
             <p>座位：{seat}</p><p class=\"id\">代表编号 {id}</p></div>\
             <div class=\"qr\">{qr}</div><p class=\"code\">{code}</p>\
             <p class=\"fp\">设备指纹 {fp}</p></section>",
            name = escape(&d.name),
            delegation = escape(&d.delegation),
            seat = escape(&d.seat),
            id = escape(&d.id),
            qr = qr_svg(&tablet_url(&origin, code, &fingerprint)),
            code = escape(code),
            fp = escape(&piaojue_core::crypto::fingerprint_grouped(&fingerprint)[..19]),
        ));
    }
    if cards.is_empty() {
        cards.push_str(
            "<p class=\"none\">没有待打印的登记卡：所有代表均已登记，或尚未生成登记码。</p>",
        );
    }
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <title>代表登记卡 · {session}</title><link rel=\"stylesheet\" href=\"/assets/cards.css\">\
         </head><body><header><h1>{session}</h1><p>代表登记卡 · 扫描二维码或在表决终端输入登记码。\
         登记码只能使用一次，请妥善保管。</p></header><main>{cards}</main></body></html>",
        session = escape(&state.store.meta().name),
    );
    Ok(Html(html).into_response())
}
