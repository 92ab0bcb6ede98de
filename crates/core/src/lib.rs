//! piaojue-core: what an observer rebuilds and trusts, with no async runtime, web framework,
//! store or TLS in its dependency tree (a test checks).
//!
//! # Map
//!
//! - [`rules`]: pure functions from a rules document (`piaojue-rules/1`), a roll and counts to
//!   an outcome and its announcement. What the appliance, `piaojue tally` and the verifier share.
//! - [`crypto`]: keys, signatures, hashing, randomness, passphrases, text encodings; with
//!   `e2e`, the only importer of `ring` and the dalek crates.
//! - [`ballot`]: the signed ballot definition, cast checks against the rules, counting stored
//!   ballots, receipts.
//! - [`bundle`]: the signed result bundle: made from the store's facts when a vote closes,
//!   and verified, check by check, by `piaojue verify` and the scrutineers.
//! - [`procedure`]: the hall's procedures a result records (re-vote, run-off, 测评 from a
//!   票决 bundle, manual count) and the checks of their links.
//! - [`archive`]: the session archive's signed manifest, its end-to-end verifier and the
//!   printable session report.
//! - [`ids`]: vote, deputy and scrutineer identifiers, parsed once at the edge.
//! - [`refusal`]: every stable error code, with its Chinese message and its class.
//! - [`e2e`]: the encrypted-ballot protocol `piaojue-e2e-v2` (SPEC-E2E): group and strict
//!   encodings, transcripts, ElGamal, proofs, manifests, ballots, credentials and the one
//!   strict Ed25519 rule, share transport, tally and decoding.

pub mod archive;
pub mod ballot;
pub mod bundle;
pub mod crypto;
pub mod e2e;
pub mod ids;
pub mod procedure;
pub mod refusal;
pub mod rules;
