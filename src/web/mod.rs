//! The pages: tablet, console (with its enrolment cards and notice), hall screen and verify,
//! as static files embedded in the binary.
//!
//! Owns: every byte the browser runs. Invariants: nothing is rendered per request (the pages
//! are a self-contained static app talking to the JSON API, so their files can later be
//! installed on the tablets and pinned by hash); no inline script (the CSP forbids it); no
//! request ever leaves the appliance (fonts, scripts and images are all here).

pub mod booth;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (path under /assets/, content type, bytes).
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", CSS, include_bytes!("assets/app.css")),
    ("cards.css", CSS, include_bytes!("assets/cards.css")),
    ("cards.js", JS, include_bytes!("assets/cards.js")),
    ("agenda.js", JS, include_bytes!("assets/agenda.js")),
    ("common.js", JS, include_bytes!("assets/common.js")),
    ("sig.js", JS, include_bytes!("assets/sig.js")),
    ("tablet.js", JS, include_bytes!("assets/tablet.js")),
    ("console.js", JS, include_bytes!("assets/console.js")),
    ("notice.js", JS, include_bytes!("assets/notice.js")),
    ("screen.js", JS, include_bytes!("assets/screen.js")),
    ("verify.js", JS, include_bytes!("assets/verify.js")),
    // The tablet app's service worker (scope /tablet: needs `Service-Worker-Allowed: /tablet`).
    ("sw.js", JS, include_bytes!("assets/sw.js")),
    // The verify page's port of the verifier and the rules engine; sig.js's strict Ed25519
    // (e2e.js over the vendored @noble/curves) and its whole import graph.
    ("rules.js", JS, include_bytes!("assets/rules.js")),
    ("checks.js", JS, include_bytes!("assets/checks.js")),
    ("e2e/e2e.js", JS, include_bytes!("assets/e2e/e2e.js")),
    // The sealed card's check symbols: the booth's (the demo serves the booth).
    ("e2e/card.js", JS, include_bytes!("assets/e2e/card.js")),
    // The verify page's checks of encrypted (v2) bundles and the worker that runs them.
    (
        "e2e/bundle-verify.js",
        JS,
        include_bytes!("assets/e2e/bundle-verify.js"),
    ),
    (
        "e2e/verify-worker.js",
        JS,
        include_bytes!("assets/e2e/verify-worker.js"),
    ),
    (
        "vendor/noble-curves/ed25519.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/ed25519.js"),
    ),
    (
        "vendor/noble-curves/utils.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/utils.js"),
    ),
    (
        "vendor/noble-curves/abstract/curve.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/curve.js"),
    ),
    (
        "vendor/noble-curves/abstract/edwards.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/edwards.js"),
    ),
    (
        "vendor/noble-curves/abstract/fft.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/fft.js"),
    ),
    (
        "vendor/noble-curves/abstract/frost.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/frost.js"),
    ),
    (
        "vendor/noble-curves/abstract/hash-to-curve.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/hash-to-curve.js"),
    ),
    (
        "vendor/noble-curves/abstract/modular.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/modular.js"),
    ),
    (
        "vendor/noble-curves/abstract/montgomery.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/montgomery.js"),
    ),
    (
        "vendor/noble-curves/abstract/oprf.js",
        JS,
        include_bytes!("assets/vendor/noble-curves/abstract/oprf.js"),
    ),
    (
        "vendor/noble-ed25519.js",
        JS,
        include_bytes!("assets/vendor/noble-ed25519.js"),
    ),
    (
        "vendor/noble-hashes/sha2.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/sha2.js"),
    ),
    (
        "vendor/noble-hashes/_md.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/_md.js"),
    ),
    (
        "vendor/noble-hashes/_u64.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/_u64.js"),
    ),
    (
        "vendor/noble-hashes/utils.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/utils.js"),
    ),
    // A complaint's share opening in the v2 verifier (bundle-verify.js): HKDF and
    // ChaCha20-Poly1305, vendored and unmodified.
    (
        "vendor/noble-hashes/hkdf.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/hkdf.js"),
    ),
    (
        "vendor/noble-hashes/hmac.js",
        JS,
        include_bytes!("assets/vendor/noble-hashes/hmac.js"),
    ),
    (
        "vendor/noble-ciphers/chacha.js",
        JS,
        include_bytes!("assets/vendor/noble-ciphers/chacha.js"),
    ),
    (
        "vendor/noble-ciphers/_arx.js",
        JS,
        include_bytes!("assets/vendor/noble-ciphers/_arx.js"),
    ),
    (
        "vendor/noble-ciphers/_poly1305.js",
        JS,
        include_bytes!("assets/vendor/noble-ciphers/_poly1305.js"),
    ),
    (
        "vendor/noble-ciphers/utils.js",
        JS,
        include_bytes!("assets/vendor/noble-ciphers/utils.js"),
    ),
];

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// The pages, by path.
pub const PAGES: &[(&str, &[u8])] = &[
    ("/", include_bytes!("assets/index.html")),
    ("/tablet", include_bytes!("assets/tablet.html")),
    ("/console", include_bytes!("assets/console.html")),
    ("/console/cards", include_bytes!("assets/cards.html")),
    ("/console/agenda", include_bytes!("assets/agenda.html")),
    ("/console/notice", include_bytes!("assets/notice.html")),
    ("/screen", include_bytes!("assets/screen.html")),
    ("/verify", include_bytes!("assets/verify.html")),
];

/// Every embedded file with its path, for the hash manifest and tests.
pub fn files() -> impl Iterator<Item = (String, &'static [u8])> {
    ASSETS
        .iter()
        .map(|(p, _, b)| (format!("/assets/{p}"), *b))
        .chain(PAGES.iter().map(|(p, b)| (p.to_string(), *b)))
}

pub fn page(path: &str) -> Response {
    match PAGES.iter().find(|(p, _)| *p == path) {
        Some((_, bytes)) => (
            [
                (header::CONTENT_TYPE, HTML),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/assets/{*path}`: only the files listed above; anything else (a `..`, an encoded
/// slash) simply is not in the list.
pub async fn asset(Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|(p, _, _)| *p == path) {
        // The tablet app's service worker may control /tablet (and nothing else: not the
        // console, the screen, the verify page or any API).
        Some((_, mime, bytes)) if path == "sw.js" => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
                (
                    header::HeaderName::from_static("service-worker-allowed"),
                    "/tablet",
                ),
            ],
            *bytes,
        )
            .into_response(),
        Some((_, mime, bytes)) => (
            [
                (header::CONTENT_TYPE, *mime),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *bytes,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "没有这个文件",
        )
            .into_response(),
    }
}
