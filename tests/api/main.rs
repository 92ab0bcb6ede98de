//! The appliance over real HTTP on 127.0.0.1, with a real sled store on disk.
// Helpers outside #[test] functions may unwrap too: a test that cannot set up should fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod e2e_cli;
mod helpers;

mod bad_input;
mod binary;
mod crash;
mod firmware;
mod secrecy;
mod session;
mod tls;
mod verify;
mod web;
