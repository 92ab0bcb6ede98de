//! The HTTP server: routes per role, authentication, errors, server-sent events.
//!
//! Owns: the API contract of docs/api.md. Invariants: every state-changing route checks its
//! role (operator cookie, deputy bearer token) before it touches the store; no answer and no
//! log line carries a token, code, passphrase, key or a deputy's choice; open secret votes
//! expose turnout only.

mod agenda;
mod cards;
mod demo_booth;
mod e2e_votes;
mod error;
mod events;
mod extract;
mod limits;
mod operator;
mod public;
mod scrutineer;
mod tablet;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, broadcast};
use tower_http::trace::TraceLayer;

use piaojue_core::crypto;
use piaojue_core::refusal::Refusal;

use crate::session::{MAX_ROSTER_BYTES, Session};
use crate::store::Store;

pub use error::ApiError;
pub use limits::ServerLimits;

fn listener_counter(limits: &ServerLimits) -> limits::AddressCounter {
    limits::AddressCounter::new(
        "event streams",
        limits.listeners_total,
        limits.listeners_per_address,
        limits.loopback_exempt,
    )
}

/// Cap on every request body except the roster and rules uploads.
const MAX_BODY_BYTES: usize = 64 * 1024;
/// A 测评's source bundle posted whole: an encrypted 票决 of 3,000 ballots is ≈ 28 MB.
const MAX_SOURCE_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
/// An encrypted ballot's JSON view: ~22 kB at M = 30 with its range proof; a roll call of
/// 4,095 credentials is ~270 kB.
const MAX_E2E_BALLOT_BYTES: usize = 256 * 1024;
const MAX_ROLL_CALL_BYTES: usize = 512 * 1024;
/// Operator logins last a working day.
const OPERATOR_SESSION: Duration = Duration::from_secs(12 * 3600);

/// Logged-in operators, by the SHA-256 of their cookie (never the cookie itself).
#[derive(Debug, Default)]
pub struct OperatorSessions {
    sessions: Mutex<HashMap<String, Instant>>,
}

impl OperatorSessions {
    fn create(&self) -> Result<String, ApiError> {
        let token = crypto::hex(
            &crypto::random::<32>().map_err(|e| Refusal::internal("随机数生成失败", e))?,
        );
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        sessions.retain(|_, expiry| *expiry > now);
        sessions.insert(crypto::sha256_hex(token.as_bytes()), now + OPERATOR_SESSION);
        Ok(token)
    }

    pub fn check(&self, token: &str) -> bool {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions
            .get(&crypto::sha256_hex(token.as_bytes()))
            .is_some_and(|expiry| *expiry > Instant::now())
    }

    fn remove(&self, token: &str) {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.remove(&crypto::sha256_hex(token.as_bytes()));
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The session's transitions (every change goes through it).
    pub session: Session,
    /// The store, for reads.
    pub store: Store,
    /// The appliance key's fingerprint, as printed on the cards and the 公告.
    pub fingerprint: String,
    pub operator_sessions: Arc<OperatorSessions>,
    /// Server-sent events, as JSON text (votes' states, turnout, attendance).
    pub events: broadcast::Sender<Arc<str>>,
    /// Only the votes' changes of state: all a tablet needs, so 3,000 tablets are not woken
    /// twice a second for turnout they never show.
    pub vote_events: broadcast::Sender<Arc<str>>,
    /// One passphrase check at a time: a flood of logins cannot eat both cores. Its queue is
    /// bounded by `login_failures` (at most 8 logins are admitted at once, from all addresses).
    pub login_gate: Arc<Semaphore>,
    pub demo: bool,
    /// The demo's files (`DATA/demo/`): its simulated people's secrets.
    pub demo_dir: Option<std::path::PathBuf>,
    /// Served over HTTPS: answers carry HSTS.
    pub tls: bool,
    /// Failed enrolments (tablets and scrutineers) per address.
    pub enrol_failures: Arc<limits::FailureLimiter>,
    /// Failed operator logins per address.
    pub login_failures: Arc<limits::FailureLimiter>,
    /// Timeouts and connection caps (see [`AppState::with_limits`]).
    pub limits: ServerLimits,
    /// Open event streams, per address and in all.
    pub listeners: Arc<limits::AddressCounter>,
}

impl AppState {
    pub fn new(session: Session, demo: bool) -> AppState {
        let (events, _) = broadcast::channel(1024);
        let (vote_events, _) = broadcast::channel(64);
        let store = session.store().clone();
        let fingerprint = session.fingerprint();
        AppState {
            session,
            store,
            fingerprint,
            operator_sessions: Arc::default(),
            events,
            vote_events,
            login_gate: Arc::new(Semaphore::new(1)),
            demo,
            demo_dir: None,
            tls: false,
            // Enrolments cost a lookup and a write, not a hash: many may be evaluated at once,
            // and a hall enrolling through one address queues rather than being refused.
            enrol_failures: Arc::new(limits::FailureLimiter::new(
                "enrolment",
                20,
                Duration::from_secs(300),
                256,
                1_024,
                4_096,
            )),
            // Each login costs a PBKDF2: at most 8 wait for the gate, from all addresses.
            login_failures: Arc::new(limits::FailureLimiter::new(
                "operator login",
                5,
                Duration::from_secs(300),
                8,
                5,
                32,
            )),
            listeners: Arc::new(listener_counter(&ServerLimits::default())),
            limits: ServerLimits::default(),
        }
    }

    /// The same state with other timeouts and caps (tests use short ones).
    pub fn with_limits(mut self, limits: ServerLimits) -> AppState {
        self.listeners = Arc::new(listener_counter(&limits));
        self.limits = limits;
        self
    }

    /// Pushes an event to every listener; nobody listening is fine.
    pub fn publish(&self, event: serde_json::Value) {
        let text: Arc<str> = Arc::from(event.to_string());
        if event["type"] == "vote" {
            let _ = self.vote_events.send(text.clone());
        }
        let _ = self.events.send(text);
    }
}

/// The whole router, testable in-process.
pub fn app(state: AppState) -> Router {
    let operator = Router::new()
        .route("/login", post(operator::login))
        .route("/logout", post(operator::logout))
        .route("/whoami", get(operator::whoami))
        .route("/status", get(operator::status))
        .route("/deputies", get(operator::deputies))
        .route(
            "/roster",
            post(operator::import_roster).layer(DefaultBodyLimit::max(MAX_ROSTER_BYTES)),
        )
        .route("/codes", post(operator::issue_codes))
        .route("/deputies/{id}/checkin", post(operator::checkin))
        .route("/deputies/{id}/checkout", post(operator::checkout))
        .route("/deputies/{id}/leave", post(operator::leave))
        .route("/deputies/{id}/reissue", post(operator::reissue))
        .route(
            "/rules",
            get(operator::rules_list)
                .post(operator::adopt_rules)
                .layer(DefaultBodyLimit::max(
                    piaojue_core::rules::MAX_DOCUMENT_BYTES,
                )),
        )
        .route("/votes", get(operator::votes).post(operator::create_vote))
        .route("/votes/{id}/open", post(operator::open_vote))
        .route("/votes/{id}/close", post(operator::close_vote))
        .route("/votes/{id}/extend", post(operator::extend_vote))
        .route("/votes/{id}/announce", post(operator::announce_vote))
        .route("/votes/{id}/cancel", post(operator::cancel_vote))
        .route("/votes/{id}/declare-failed", post(operator::declare_failed))
        .route("/votes/{id}/revote", post(operator::revote))
        .route("/votes/{id}/runoff", post(operator::runoff))
        .route("/votes/{id}/chair-decision", post(operator::chair_decision))
        .route("/votes/{id}/manual-count", post(operator::manual_count_of))
        .route("/manual-counts", post(operator::manual_count))
        .route(
            "/votes/from-bundle",
            post(operator::satisfaction_from).layer(DefaultBodyLimit::max(MAX_SOURCE_BUNDLE_BYTES)),
        )
        .route("/votes/{id}/result", get(operator::result))
        .route("/votes/{id}/bundle", get(operator::bundle))
        .route("/audit", get(operator::audit))
        .route("/report", get(operator::report))
        .route("/scrutineers", get(scrutineer::list).post(scrutineer::add))
        .route("/demo/checkin", post(operator::demo_checkin))
        .route("/demo/simulate/{id}", post(operator::demo_simulate))
        .route(
            "/demo/absent-scrutineers/{id}",
            post(operator::demo_absent_scrutineers),
        );
    let scrutineer = Router::new()
        .route("/enrol", post(scrutineer::enrol))
        .route("/status", get(scrutineer::status))
        .route("/audit", get(scrutineer::audit))
        .route("/votes/{id}/bundle", get(scrutineer::bundle))
        .route("/votes/{id}/cosign", post(scrutineer::cosign))
        .route("/deputies/{id}", get(scrutineer::deputy));
    let tablet = Router::new()
        .route("/enrol", post(tablet::enrol))
        .route("/me", get(tablet::me))
        .route("/checkin", post(tablet::checkin))
        .route("/checkout", post(tablet::checkout))
        .route("/votes/{id}/ballot", get(tablet::ballot))
        .route("/votes/{id}/cast", post(tablet::cast));
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/api/public/session", get(public::session))
        .route("/api/public/attendance", get(public::present))
        .route("/api/public/votes", get(public::votes))
        .route("/api/public/votes/{id}/result", get(public::result))
        .route("/api/public/votes/{id}/bundle", get(public::bundle))
        .route("/api/public/votes/{id}/qr.svg", get(public::qr))
        .route(
            "/api/public/votes/{id}/list-hash.svg",
            get(public::list_hash_qr),
        )
        .route("/api/public/votes/{id}/e2e", get(public::e2e_status))
        .route("/api/public/key.svg", get(public::key_qr))
        .route("/api/public/e2e/manifest", get(agenda::manifest))
        .route("/api/public/e2e/agenda", get(agenda::agenda))
        .route("/api/public/e2e/qr/{item}", get(agenda::qr))
        .route("/api/operator/e2e/manifest", post(agenda::publish))
        .route("/api/public/e2e/board", get(agenda::board))
        .route("/api/public/e2e/ceremony", get(agenda::ceremony))
        .route(
            "/api/e2e/votes",
            post(e2e_votes::open).layer(DefaultBodyLimit::max(MAX_ROLL_CALL_BYTES)),
        )
        .route(
            "/api/e2e/votes/{id}/ballots",
            post(e2e_votes::cast).layer(DefaultBodyLimit::max(MAX_E2E_BALLOT_BYTES)),
        )
        .route(
            "/api/e2e/votes/{id}/roll-call",
            post(e2e_votes::roll_call).layer(DefaultBodyLimit::max(MAX_ROLL_CALL_BYTES)),
        )
        .route(
            "/api/e2e/votes/{id}/spoiled",
            post(e2e_votes::spoil).layer(DefaultBodyLimit::max(MAX_E2E_BALLOT_BYTES)),
        )
        .route("/api/e2e/votes/{id}/partials", post(e2e_votes::partial))
        .route("/api/operator/e2e/votes/{id}/close", post(e2e_votes::close))
        .route("/api/public/e2e/votes/{id}", get(e2e_votes::view))
        .route("/api/public/e2e/votes/{id}/bundle", get(e2e_votes::bundle))
        .route("/api/public/e2e/votes/{id}/ballots", get(e2e_votes::ballots))
        .route(
            "/api/e2e/board",
            post(agenda::post_board).layer(DefaultBodyLimit::max(
                piaojue_core::e2e::ceremony::MAX_MESSAGE_BYTES,
            )),
        )
        .route(
            "/api/operator/e2e/ceremony/restart",
            post(agenda::restart),
        )
        .route(
            "/console/agenda",
            get(|| async { crate::web::page("/console/agenda") }),
        )
        .route("/api/events", get(events::stream))
        .nest("/api/operator", operator)
        .nest("/api/tablet", tablet)
        .nest("/api/scrutineer", scrutineer)
        .route("/api/operator/cards", get(cards::cards))
        .route(
            "/console/cards",
            get(|| async { crate::web::page("/console/cards") }),
        )
        .route("/assets/{*path}", get(crate::web::asset))
        .route("/", get(|| async { crate::web::page("/") }))
        .route("/tablet", get(|| async { crate::web::page("/tablet") }))
        .route("/console", get(|| async { crate::web::page("/console") }))
        .route(
            "/console/notice",
            get(|| async { crate::web::page("/console/notice") }),
        )
        .route("/screen", get(|| async { crate::web::page("/screen") }))
        .route("/verify", get(|| async { crate::web::page("/verify") }))
        // The booth only in the demo (production tablets install it: web/booth.rs).
        .route("/booth", get(demo_booth::page))
        .route("/assets/booth/{*path}", get(demo_booth::asset))
        .route("/api/public/demo/booth-config", get(demo_booth::config))
        .route("/demo/officer/notice", post(demo_booth::notice))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), same_origin))
        .layer(middleware::from_fn(booth_cors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        // One span per request (method and path only: no header, query string or body, so
        // no token, code or passphrase reaches the log); refusals log their cause inside it.
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<axum::body::Body>| {
                tracing::debug_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError(Refusal::NotFound)
}

/// Cross-site request forgery: `SameSite=Strict` does not tell the appliance's pages from a
/// page on another port of the same host, and a form can post `text/plain`. So every
/// state-changing request (any method but GET, HEAD, OPTIONS) under `/api/`:
/// - whose `Origin` is present and not the appliance's own (the scheme it serves, and the
///   `Host` the request was sent to), or whose `Sec-Fetch-Site` says another site or port,
///   is refused (403 `foreign_origin`); a request without them (the CLI, curl) is not;
/// - must be `application/json` (the roster `text/csv`): a type a cross-site page can send
///   only after a CORS preflight, which the appliance never grants (400 `content_type`).
async fn same_origin(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    use axum::http::Method;
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let path = request.uri().path().to_string();
    if safe || !path.starts_with("/api/") {
        return next.run(request).await;
    }
    if foreign(&request, state.tls) && !booth_post(&path) {
        tracing::warn!(%path, "state-changing request from a foreign origin refused");
        return ApiError(Refusal::ForeignOrigin).into_response();
    }
    let media = media_type(request.headers());
    let refusal = match (path.as_str(), media.as_deref()) {
        ("/api/operator/roster", Some("text/csv")) => None,
        ("/api/operator/roster", _) => Some(Refusal::RosterNotCsv),
        (_, Some("application/json")) => None,
        ("/api/operator/rules", _) => Some(Refusal::RulesNotJson),
        _ => Some(Refusal::NotJson),
    };
    match refusal {
        Some(refusal) => ApiError(refusal).into_response(),
        None => next.run(request).await,
    }
}

/// What the installed booth (another origin: SPEC-E2E §1.1) posts: an encrypted ballot and an
/// audited ballot. Neither carries any ambient authority (no cookie is read; the ballot's
/// credential signature and the re-encryption check are the whole authentication), so a
/// page of another origin may send them.
fn booth_post(path: &str) -> bool {
    path.strip_prefix("/api/e2e/votes/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, what)| matches!(what, "ballots" | "spoiled"))
}

/// CORS for the installed booth: public reads and its two posts, without credentials
/// (`Access-Control-Allow-Origin: *` never lets a browser send cookies), and their preflight.
async fn booth_cors(request: Request<axum::body::Body>, next: Next) -> Response {
    use axum::http::Method;
    let path = request.uri().path();
    let open = path.starts_with("/api/public/") || booth_post(path);
    if !open {
        return next.run(request).await;
    }
    let preflight = request.method() == Method::OPTIONS;
    let mut response = if preflight {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(request).await
    };
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    response
}

/// The media type of the body, lower-case, without parameters (`text/csv; charset=utf-8`
/// is `text/csv`).
pub(crate) fn media_type(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

/// Whether a browser says this request comes from a page of another origin.
fn foreign(request: &Request<axum::body::Body>, tls: bool) -> bool {
    let headers = request.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        // `none`: typed by the user; `same-origin`: the appliance's own pages.
        if !matches!(site.to_str(), Ok("same-origin" | "none")) {
            return true;
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()));
    let (Ok(origin), Some(host)) = (origin.to_str(), host) else {
        return true;
    };
    let scheme = if tls { "https" } else { "http" };
    origin_key(origin) != origin_key(&format!("{scheme}://{host}"))
}

/// An origin compared as browsers write it: lower case, no trailing slash, no default port.
fn origin_key(origin: &str) -> String {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
        if o.starts_with(scheme)
            && let Some(stripped) = o.strip_suffix(port)
        {
            return stripped.to_string();
        }
    }
    o
}

/// Headers on every answer: a strict CSP without inline script, no sniffing, no framing,
/// no referrer, and no caching of API answers.
async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // A page with its own (stricter) policy keeps it: the session report.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Serves until `shutdown` resolves. Also runs the turnout and attendance ticker.
///
/// Plain HTTP (loopback only): the same header timeouts and connection caps as HTTPS.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    let acceptor = Guarded::new(axum_server::accept::DefaultAcceptor::new(), &limits);
    let server = configure(
        axum_server::Server::from_listener(listener).acceptor(acceptor),
        &limits,
        shutdown,
    );
    let ticker = tokio::spawn(events::ticker(state.clone()));
    let result = server
        .serve(app(state).into_make_service_with_connect_info::<SocketAddr>())
        .await;
    ticker.abort();
    result
}

/// Serves HTTPS on `listener` until `shutdown` resolves, with the certificate of `config`
/// (which reloads itself when renewed).
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: AppState,
    config: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let limits = state.limits.clone();
    // Counted first: a connection still in its handshake holds its place too.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config)
        .handshake_timeout(limits.handshake)
        .acceptor(Guarded::new(
            RefusePlainHttp {
                wait: limits.handshake,
            },
            &limits,
        ));
    let server = configure(
        axum_server::from_tcp(listener)?.acceptor(acceptor),
        &limits,
        shutdown,
    );
    let ticker = tokio::spawn(events::ticker(state.clone()));
    let result = server
        .serve(app(state).into_make_service_with_connect_info::<SocketAddr>())
        .await;
    ticker.abort();
    result
}

/// How long requests in flight may take to finish once the appliance is told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

/// Both servers: hyper's header-read timeout (every request's header, and so an idle
/// kept-alive connection), a first-request timeout, and on Ctrl-C or SIGTERM a shutdown within
/// 1.5 s: requests in flight finish, then the event streams (which never end by themselves)
/// are closed, so the process is gone in under 2 s.
fn configure<A>(
    mut server: axum_server::Server<SocketAddr, A>,
    limits: &ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> axum_server::Server<SocketAddr, A> {
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_read);
    server
        .first_request_timeout(limits.header_read)
        .handle(handle)
}

/// Wraps an acceptor: a connection beyond the caps (per address, in all) is closed at once;
/// one within them holds its place until it closes, and a write that stalls fails.
#[derive(Debug, Clone)]
struct Guarded<A> {
    inner: A,
    connections: Arc<limits::AddressCounter>,
    write_stall: Duration,
}

impl<A> Guarded<A> {
    fn new(inner: A, limits: &ServerLimits) -> Self {
        Guarded {
            inner,
            connections: Arc::new(limits::AddressCounter::new(
                "connections",
                limits.connections_total,
                limits.connections_per_address,
                limits.loopback_exempt,
            )),
            write_stall: limits.write_stall,
        }
    }
}

impl<A, S> axum_server::accept::Accept<tokio::net::TcpStream, S> for Guarded<A>
where
    A: axum_server::accept::Accept<tokio::net::TcpStream, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = limits::Counted<A::Stream>;
    type Service = A::Service;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<(Self::Stream, A::Service)>> + Send>,
    >;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let held = stream
            .peer_addr()
            .ok()
            .and_then(|peer| self.connections.hold(peer.ip()));
        let Some(held) = held else {
            drop(stream);
            return Box::pin(std::future::ready(Err(std::io::Error::other(
                "connection cap reached",
            ))));
        };
        let stall = self.write_stall;
        let accepted = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            Ok((limits::Counted::new(stream, held, stall), service))
        })
    }
}

/// Before the TLS handshake: a client that speaks plain HTTP to the HTTPS port gets a 400
/// that says so, in Chinese, and the connection closes; one that sends nothing in `wait`
/// (10 s) is cut off. Neither is logged per connection.
#[derive(Debug, Clone, Copy)]
struct RefusePlainHttp {
    wait: Duration,
}

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

impl<S: Send + 'static> axum_server::accept::Accept<tokio::net::TcpStream, S> for RefusePlainHttp {
    type Stream = tokio::net::TcpStream;
    type Service = S;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::io::Result<(Self::Stream, S)>> + Send>,
    >;

    fn accept(&self, stream: tokio::net::TcpStream, service: S) -> Self::Future {
        let wait = self.wait;
        Box::pin(async move {
            let mut first = [0u8; 1];
            match tokio::time::timeout(wait, stream.peek(&mut first)).await {
                Ok(Ok(1)) if first[0] == TLS_HANDSHAKE => Ok((stream, service)),
                Ok(Ok(1)) => {
                    use tokio::io::AsyncWriteExt as _;
                    let mut stream = stream;
                    let body =
                        "请使用 HTTPS 访问表决系统（https://…）。This port speaks HTTPS only.\n";
                    let answer = format!(
                        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        stream.write_all(answer.as_bytes()),
                    )
                    .await;
                    let _ = stream.shutdown().await;
                    Err(std::io::Error::other("plain HTTP on the HTTPS port"))
                }
                _ => Err(std::io::Error::other("no TLS handshake")),
            }
        })
    }
}

/// A JSON answer with status 200.
pub(crate) fn ok(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}
