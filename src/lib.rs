//! piaojue (票决): a voting appliance for people's congress sessions that tallies under the
//! session's own adopted rules and publishes results anyone can verify.
//!
//! # Layout
//!
//! - [`rules`]: pure functions from a rules document (`piaojue-rules/1`), a roll and counts to
//!   an outcome and its announcement. What the appliance, `piaojue tally` and the verifier share.
//! - [`ballot`]: the signed ballot definition, cast checks against the rules, counting stored
//!   ballots, receipts.
//! - [`session`]: deputies and presence, the roster CSV, votes and their lifecycle, domain errors.
//! - [`store`]: the only owner of sled: one writer, group commit with fsync before any answer,
//!   the hash-chained audit log, recovery.
//! - [`server`]: axum routes per role (public, operator, tablet, scrutineer), auth, errors, SSE.
//! - [`crypto`]: keys, signatures, hashing, passphrases; the only module that imports a crypto
//!   crate.
//! - [`appliance`]: the data directory (`init`, key file, demo session) and `serve`.
//! - [`admin`], [`cli`]: `piaojue admin` and the command line; `main.rs` only calls [`cli::run`].
//!
//! - [`bundle`]: the signed result bundle and its verifier (shared by server and CLI).
//! - [`observer`]: `piaojue verify` and the scrutineer's commands.
//! - [`web`]: the pages (tablet, console, screen, verify), embedded static files.

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
pub mod cli;
#[doc(hidden)]
pub mod fuzz;
pub mod observer;
pub mod server;
pub mod session;
pub mod store;
pub mod tls;
pub mod web;
