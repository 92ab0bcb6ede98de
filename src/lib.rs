//! piaojue (票决): a voting appliance for people's congress sessions that tallies under the
//! session's own adopted rules and publishes results anyone can verify.
//!
//! This crate is the appliance and its command line. What observers rebuild and trust (rules,
//! keys and signatures, ballots, receipts, result bundles made and verified, the refusals) is
//! the pure crate [`piaojue_core`], which has no async runtime, web framework, store or TLS.
//!
//! # Map
//!
//! Data flows one way: a request comes in through [`server`], which calls a typed method of
//! [`session::Session`]; the transition runs on the [`store`]'s writer thread against a
//! [`store::Tx`], using [`piaojue_core`] for the rules, the checks and the signatures; the
//! answer leaves after the fsync.
//!
//! - [`server`]: axum routes per role (public, operator, tablet, scrutineer), extractors,
//!   refusals mapped to HTTP statuses (and internal failures logged, once), SSE, limits.
//! - [`session`]: deputies and presence, the roster CSV, votes and their life, casting,
//!   scrutineers: every transition, one file per aggregate.
//! - [`store`]: the only owner of sled: typed reads, the single writer, group commit with
//!   fsync before any answer, the hash-chained audit log, recovery. It decides nothing.
//! - [`appliance`]: the data directory (`init`, key file, demo session) and `serve`.
//! - [`tls`]: the local CA, the server certificate and its renewal, the clients' trust.
//! - [`web`]: the pages (tablet, console, cards, screen, verify), embedded static files.
//! - [`observer`]: `piaojue verify` and the scrutineer's commands (core only, plus files).
//! - [`e2e_cli`]: encrypted-ballot bundles: `piaojue verify` on a v2 bundle (V1–V16) and
//!   `piaojue e2e sample-bundle`.
//! - [`admin`]: the operator's client (`piaojue admin`); [`cli`]: the command line (`main.rs`
//!   only calls [`cli::run`]).
//! - [`demo`]: `serve --demo`'s simulated scrutineers and credential officer (encrypted mode).
//! - [`fuzz`]: entry points for the fuzz targets (`fuzz/`) and their corpus replay.
//!
//! Not in this library: the load generator (`tools/loadtest.rs`, the `piaojue-loadtest`
//! binary that `piaojue loadtest` runs) talks to the appliance only over HTTP.

/// `println!` that never panics: a closed stdout (output piped into `head`) is not our error.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}
pub(crate) use say;

pub mod admin;
pub mod appliance;
pub mod archive;
pub mod cli;
pub mod demo;
pub mod e2e_cli;
#[doc(hidden)]
pub mod fuzz;
pub mod guardian;
pub mod observer;
pub mod officer;
pub mod server;
pub mod session;
pub mod store;
pub mod tls;
pub mod vault;
pub mod web;
