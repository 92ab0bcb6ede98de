//! The appliance over real HTTP on 127.0.0.1, with a real sled store on disk.
// Helpers outside #[test] functions may unwrap too: a test that cannot set up should fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod backup;
mod bad_input;
mod binary;
mod ceremony;
mod crash;
mod decryption;
mod durability;
mod e2e_cli;
mod encrypted;
mod firmware;
mod limits;
mod officer;
mod procedures;
mod secrecy;
mod session;
mod tls;
mod trust;
mod verify;
mod web;
