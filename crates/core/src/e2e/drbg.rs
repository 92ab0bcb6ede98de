//! Sources of random scalars: the deterministic test DRBG (§11) and the hedged source a
//! tablet uses (§4, S8). Provers take a `&mut dyn ScalarSource` so the vectors can be
//! reproduced byte for byte with the same code that runs in production.

use curve25519_dalek::scalar::Scalar;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use super::error::{E2eError, Result};
use super::transcript::{self, Ctx, Transcript};

/// Where provers draw their random scalars from, in the normative order of §5.1, §7.5, §8.2.
pub trait ScalarSource {
    /// The next scalar.
    fn next_scalar(&mut self) -> Result<Zeroizing<Scalar>>;

    /// Tells the source the context it is drawing for (the hedged source hashes it; §4:
    /// before the ciphertexts exist the pre-ballot ctx, after it the ballot ctx).
    fn set_context(&mut self, _ctx: &Ctx) {}
}

/// The deterministic test DRBG of §11: the i-th scalar is H_scalar("test-drbg", [seed, u64 i]).
/// Tests only: its output is predictable by design.
#[derive(Clone, Debug)]
pub struct TestDrbg {
    seed: Vec<u8>,
    counter: u64,
}

impl TestDrbg {
    /// A DRBG starting at counter 0.
    pub fn new(seed: &[u8]) -> Self {
        TestDrbg {
            seed: seed.to_vec(),
            counter: 0,
        }
    }

    /// The number of scalars drawn so far (the next counter).
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Skips `n` outputs (to start a stream in the middle, e.g. at a given ballot).
    pub fn skip(&mut self, n: u64) {
        self.counter = self.counter.saturating_add(n);
    }
}

impl ScalarSource for TestDrbg {
    fn next_scalar(&mut self) -> Result<Zeroizing<Scalar>> {
        let s = transcript::test_drbg(&self.seed, self.counter);
        self.counter = self.counter.saturating_add(1);
        Ok(Zeroizing::new(s))
    }
}

/// Test Ed25519 seed: H_bytes("test-key", [seed, label, u64 i])[0..32] (§11).
pub fn test_key_seed(seed: &[u8], label: &str, i: u64) -> Zeroizing<[u8; 32]> {
    transcript::test_key(seed, label, i)
}

/// The hedged source of §4: x = H_scalar("nonce", [hedge key, ctx, u64 counter, 32 fresh bytes]).
///
/// The hedge key is the per-vote credential seed, so a weak RNG alone leaks nothing. The
/// counter runs over the whole ballot (it is not reset when the context changes).
pub struct HedgedSource {
    hedge_key: Zeroizing<[u8; 32]>,
    ctx: Ctx,
    counter: u64,
    rng: SystemRandom,
}

impl core::fmt::Debug for HedgedSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HedgedSource")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl HedgedSource {
    /// A source hedged with `hedge_key`, starting from the pre-ballot context
    /// [`pre_ballot_ctx`] of (mh, vote_id, vmh, cred_pk).
    pub fn new(hedge_key: &[u8; 32], ctx: &Ctx) -> Self {
        HedgedSource {
            hedge_key: Zeroizing::new(*hedge_key),
            ctx: *ctx,
            counter: 0,
            rng: SystemRandom::new(),
        }
    }
}

impl ScalarSource for HedgedSource {
    fn next_scalar(&mut self) -> Result<Zeroizing<Scalar>> {
        let mut fresh = Zeroizing::new([0u8; 32]);
        self.rng
            .fill(fresh.as_mut_slice())
            .map_err(|_| E2eError::Rng)?;
        let x = transcript::nonce_scalar(&self.hedge_key, &self.ctx, self.counter, &fresh);
        self.counter = self.counter.saturating_add(1);
        Ok(Zeroizing::new(x))
    }

    fn set_context(&mut self, ctx: &Ctx) {
        self.ctx = *ctx;
    }
}

/// The context a tablet hedges with before the ciphertexts exist (§4). SPEC-E2E names its
/// inputs (mh, vote_id, vmh, cred_pk) but not a domain; this module uses the `nonce` domain
/// with those four labelled fields (documented in docs/e2e-crypto.md; no verifier depends on it).
pub fn pre_ballot_ctx(
    manifest: &[u8; 32],
    vote: &str,
    vote_manifest: &[u8; 32],
    cred: &[u8; 32],
) -> Ctx {
    Transcript::new("nonce")
        .field("manifest", manifest)
        .field("vote", vote.as_bytes())
        .field("vote_manifest", vote_manifest)
        .field("cred", cred)
        .h_bytes()
}

/// 64 bytes from the system CSPRNG reduced mod ℓ (§2.3), e.g. for a guardian's secrets.
pub fn random_scalar() -> Result<Zeroizing<Scalar>> {
    let mut wide = Zeroizing::new([0u8; 64]);
    SystemRandom::new()
        .fill(wide.as_mut_slice())
        .map_err(|_| E2eError::Rng)?;
    Ok(Zeroizing::new(Scalar::from_bytes_mod_order_wide(&wide)))
}
