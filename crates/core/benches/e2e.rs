//! Benchmarks of the `e2e` module against SPEC-E2E appendix A (one thread, release):
//! prove and verify for the five ballot shapes, aggregation of 3,000 ballots, one partial
//! decryption, combination, and the discrete log (L = 3 and L = 4 at 3,000 voters).
//!
//! Run: `cargo bench --bench e2e` (add `-- --quick` for a short pass).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use curve25519_dalek::scalar::Scalar;
use piaojue_core::e2e::ballot::{self, Ballot, EncryptedItem, VoteContext};
use piaojue_core::e2e::credential::SigningIdentity;
use piaojue_core::e2e::drbg::TestDrbg;
use piaojue_core::e2e::elgamal::{self, JointKey};
use piaojue_core::e2e::group::{self, Element};
use piaojue_core::e2e::hex;
use piaojue_core::e2e::manifest::{SessionManifest, VoteManifest};
use piaojue_core::e2e::proofs::CdsProof;
use piaojue_core::e2e::tally::{self, DlogTable};
use piaojue_core::e2e::transcript;
use serde_json::Value;

const VECTORS: &str = include_str!("../tests/data/e2e/vectors.json");

fn session() -> (SessionManifest, JointKey) {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let b = &v["tiny_election"]["bundle"];
    let sm =
        SessionManifest::parse(&hex::decode(b["manifest_hex"].as_str().unwrap(), "m").unwrap())
            .unwrap();
    let k = Element::from_hex(b["joint_key"].as_str().unwrap(), "K").unwrap();
    (sm, JointKey::new(k, "K").unwrap())
}

fn vote(
    sm: &SessionManifest,
    id: &str,
    vtype: &str,
    m: usize,
    max_yes: Option<u64>,
    options: &[&str],
) -> VoteManifest {
    let mut map = serde_json::Map::new();
    map.insert(
        "items".into(),
        serde_json::json!((0..m).map(|i| format!("item {i}")).collect::<Vec<_>>()),
    );
    map.insert("m".into(), serde_json::json!(m));
    if let Some(n) = max_yes {
        map.insert("max_yes".into(), serde_json::json!(n));
    }
    map.insert(
        "nonce".into(),
        serde_json::json!("00112233445566778899aabbccddeeff"),
    );
    map.insert("options".into(), serde_json::json!(options));
    map.insert("session".into(), serde_json::json!(hex::encode(sm.hash())));
    map.insert("type".into(), serde_json::json!(vtype));
    map.insert("vote_id".into(), serde_json::json!(id));
    VoteManifest::parse(&serde_json::to_vec(&Value::Object(map)).unwrap(), sm).unwrap()
}

fn shapes(sm: &SessionManifest) -> Vec<(&'static str, VoteManifest, Vec<usize>)> {
    let pi = ["弃权", "不赞成", "赞成"];
    vec![
        (
            "per_item_m7_n5",
            vote(sm, "pi7", "per_item", 7, Some(5), &pi),
            vec![2, 2, 1, 0, 2, 1, 2],
        ),
        (
            "per_item_m30_n25",
            vote(sm, "pi30", "per_item", 30, Some(25), &pi),
            (0..30).map(|i| i % 3).collect(),
        ),
        (
            "satisfaction_m10_l3",
            vote(sm, "sat10", "satisfaction", 10, None, &["a", "b", "c"]),
            (0..10).map(|i| i % 3).collect(),
        ),
        (
            "approve_m30_n25",
            vote(sm, "ap30", "approve_up_to_n", 30, Some(25), &["不选", "选"]),
            (0..30).map(|i| usize::from(i % 2 == 0)).collect(),
        ),
        (
            "motion",
            vote(sm, "mo", "motion", 1, None, &["弃权", "反对", "赞成"]),
            vec![2],
        ),
    ]
}

fn bench_ballots(c: &mut Criterion) {
    let (sm, key) = session();
    let mh = *sm.hash();
    let cred = SigningIdentity::from_seed(&[1u8; 32]);
    let mut g = c.benchmark_group("ballot");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for (name, vm, choices) in shapes(&sm) {
        let vc = VoteContext {
            manifest_hash: &mh,
            vote: &vm,
            key: &key,
        };
        g.bench_function(format!("prove/{name}"), |b| {
            let mut rng = TestDrbg::new(b"bench");
            b.iter(|| ballot::prove_ballot(&vc, &cred, black_box(&choices), &mut rng).unwrap())
        });
        let (bal, _) =
            ballot::prove_ballot(&vc, &cred, &choices, &mut TestDrbg::new(b"b")).unwrap();
        let rec = bal.to_record();
        let json = serde_json::to_string(&bal.to_json(&vm.vote_id, vm.shape())).unwrap();
        g.bench_function(format!("verify_record/{name}"), |b| {
            b.iter(|| {
                let parsed = Ballot::from_record(black_box(&rec), vm.shape()).unwrap();
                ballot::verify_ballot(&vc, &parsed).unwrap()
            })
        });
        g.bench_function(format!("verify_json/{name}"), |b| {
            b.iter(|| {
                let v: Value = serde_json::from_str(black_box(&json)).unwrap();
                let parsed = Ballot::from_json(&v, &vm).unwrap();
                ballot::verify_ballot(&vc, &parsed).unwrap()
            })
        });
    }
    g.finish();
}

fn tally_ballots(key: &JointKey, m: usize) -> Vec<Ballot> {
    // 3,000 per_item M = 30 ballots (only the item ciphertexts matter for aggregation).
    let mut rng_i = 0u64;
    (0..3000)
        .map(|_| Ballot {
            cred_pk: [0; 32],
            items: (0..m)
                .map(|_| {
                    rng_i += 1;
                    let r = transcript::test_drbg(b"agg", rng_i);
                    EncryptedItem {
                        ct: elgamal::encrypt(key, &Scalar::from(rng_i % 3), &r).unwrap(),
                        proof: CdsProof(vec![]),
                    }
                })
                .collect(),
            range: None,
            sig: [0; 64],
        })
        .collect()
}

fn bench_tally(c: &mut Criterion) {
    let (_sm, key) = session();
    let m = 30usize;
    let ballots_cell: OnceLock<Vec<Ballot>> = OnceLock::new();
    let ballots = || ballots_cell.get_or_init(|| tally_ballots(&key, m));
    let mut g = c.benchmark_group("tally");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("aggregate_3000_ballots_m30", |b| {
        let bs = ballots();
        b.iter(|| tally::aggregate(black_box(bs), m).unwrap())
    });
    // Seven item totals for the per-guardian work (items are independent).
    let totals7: Vec<_> = (1..=7u64)
        .map(|i| {
            elgamal::encrypt(
                &key,
                &Scalar::from(i * 1000),
                &transcript::test_drbg(b"tot", i),
            )
            .unwrap()
        })
        .collect();
    let totals7 = totals7.as_slice();
    let z = transcript::test_drbg(b"z", 0);
    let z_pub = Element::from_point(group::mul_base(&z));
    let ctx = [7u8; 64];
    g.bench_function("partial_decrypt_m7", |b| {
        let mut rng = TestDrbg::new(b"p");
        b.iter(|| tally::partial_decrypt(&ctx, &z, &z_pub, black_box(totals7), &mut rng).unwrap())
    });
    let shares =
        tally::partial_decrypt(&ctx, &z, &z_pub, totals7, &mut TestDrbg::new(b"p")).unwrap();
    g.bench_function("verify_partial_m7", |b| {
        b.iter(|| tally::verify_partial(&ctx, &z_pub, black_box(totals7), &shares, "p").unwrap())
    });
    let p2 = tally::partial_decrypt(&ctx, &z, &z_pub, totals7, &mut TestDrbg::new(b"q")).unwrap();
    let parts = vec![shares.clone(), p2];
    g.bench_function("combine_m7_quorum2", |b| {
        b.iter(|| tally::combine(black_box(totals7), &[1, 3], &parts).unwrap())
    });
    g.finish();
}

fn build_table() -> DlogTable {
    // The session-wide table (§9.4, S9): 2^22 baby steps, built once (timed over 3 builds).
    let mut builds = Vec::new();
    let mut table = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        let t = DlogTable::new(22);
        builds.push(t0.elapsed());
        table = Some(t);
    }
    builds.sort();
    println!(
        "dlog table 2^22 build: median {:?} (runs {:?})",
        builds[1], builds
    );
    table.unwrap()
}

fn bench_dlog(c: &mut Criterion) {
    let table_cell: OnceLock<DlogTable> = OnceLock::new();
    let table = || table_cell.get_or_init(build_table);
    let radix = 4096u64;
    let n = 3000u64;
    let vmax3 = n * radix; // L = 3
    let vmax4 = n * radix * radix; // L = 4
    let worst3 = group::mul_base(&Scalar::from(vmax3));
    let worst4 = group::mul_base(&Scalar::from(vmax4));
    let typical4 = group::mul_base(&Scalar::from(1000 * radix * radix + 1200 * radix + 700));
    let mut g = c.benchmark_group("dlog");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("l3_3000_voters_worst_case_item", |b| {
        let t = table();
        b.iter(|| t.solve(black_box(&worst3), vmax3).unwrap())
    });
    g.bench_function("l4_3000_voters_worst_case_item", |b| {
        let t = table();
        b.iter(|| t.solve(black_box(&worst4), vmax4).unwrap())
    });
    g.bench_function("l4_3000_voters_typical_item", |b| {
        let t = table();
        b.iter(|| t.solve(black_box(&typical4), vmax4).unwrap())
    });
    g.finish();
}

/// Full V1–V16 verification of a sample bundle: n = 3, k = 2, 100 ballots in each of the
/// four votes (motion; per_item M = 7, N = 5; approve M = 4, N = 2; satisfaction M = 2, L = 3),
/// ballots on all cores (`std::thread::scope`).
fn bench_bundle(c: &mut Criterion) {
    use piaojue_core::e2e::bundle;
    let t0 = Instant::now();
    let text = bundle::sample_bundle("bench", 3, 2, 100).unwrap();
    eprintln!(
        "sample bundle n=3 k=2 B=100: {} bytes, built in {:.2} s",
        text.len(),
        t0.elapsed().as_secs_f64()
    );
    let opts = bundle::VerifyOptions::default();
    assert!(bundle::verify_document(text.as_bytes(), &opts).verified);
    let mut g = c.benchmark_group("e2e_bundle");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("verify_v1_v16_n3_k2_b100", |b| {
        b.iter(|| bundle::verify_document(black_box(text.as_bytes()), &opts).verified)
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_ballots,
    bench_tally,
    bench_dlog,
    bench_bundle
);
criterion_main!(benches);
