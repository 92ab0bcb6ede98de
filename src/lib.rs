//! piaojue (票决): a voting appliance for people's congress sessions that tallies under the
//! session's own adopted rules and publishes results anyone can verify.
//!
//! # Layout
//!
//! - [`rules`]: pure functions from a rules document (`piaojue-rules/1`), a roll and counts to
//!   an outcome and its announcement. What the appliance, `piaojue tally` and the verifier share.
//! - [`crypto`]: hashing; the only module that touches a crypto crate.
//! - [`cli`]: the `piaojue` command line (clap); `main.rs` only calls [`cli::run`].
//!
//! Still to come (see the open issues): `ballot`, `store` (the only owner of sled), `server`,
//! `web`, `bundle`.

pub mod admin;
pub mod appliance;
pub mod ballot;
pub mod cli;
pub mod crypto;
pub mod rules;
pub mod server;
pub mod session;
pub mod store;
