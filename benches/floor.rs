//! The floor without HTTP: `cargo bench --bench floor`. CI only builds it (`--no-run`).
//!
//! What any appliance must pay for N ballots, measured in the same run as this appliance's own
//! store path: N receipt signatures alone, and N casts straight through the session
//! (checks, receipts signed in parallel, one transaction per batch, the audit chain, flush and
//! fsync) on a real sled store in a temporary directory. `piaojue floor` measured the same
//! before the load tools left the product; `benches/loadtest.sh` puts HTTP on top.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use piaojue::appliance;
use piaojue::session::{Presence, Session};
use piaojue::store::{Actor, Store};
use piaojue_core::ballot::{self, CastRequest, ReceiptBody};
use piaojue_core::crypto::{self, ApplianceKey, Domain};
use piaojue_core::ids::{DeputyId, VoteId};
use piaojue_core::rules::Rules;

const RULES: &[u8] = include_bytes!("../firmware-config/rules/project-selection.json");
const TABLETS: usize = 3000;

/// A fresh appliance with `n` deputies checked in and a 7 → 5 票决 open.
async fn open_vote(dir: &std::path::Path, n: usize) -> (Session, VoteId) {
    let pass = dir.join("passphrase");
    std::fs::write(&pass, "floor measurement passphrase").expect("passphrase");
    let data = dir.join("data");
    appliance::init(&data, "floor", Some(&pass), &[]).expect("init");
    let key = Arc::new(appliance::load_key(&data).expect("key"));
    let session = Session::new(Store::open(&data, &key.public_hex()).expect("store"), key);
    let roster = appliance::demo_roster(n);
    session.import_roster(roster.clone()).await.expect("roster");
    for d in &roster {
        session
            .set_presence(
                d.id.clone(),
                Presence::Present,
                Actor::Operator,
                Some("floor".into()),
            )
            .await
            .expect("presence");
    }
    let rules = session.adopt_rules(RULES.to_vec()).await.expect("rules");
    let items = (1..=7).map(|i| format!("项目{i}")).collect();
    let vote = session
        .create_vote("floor".into(), rules.sha256, items, None)
        .await
        .expect("vote");
    session.open_vote(vote.id.clone()).await.expect("open");
    (session, vote.id)
}

fn floor(c: &mut Criterion) {
    let rules = Rules::from_json(RULES).expect("rules");
    let signer = ApplianceKey::generate().expect("key");
    let receipt = ReceiptBody {
        format: ballot::RECEIPT_FORMAT.into(),
        appliance_key: signer.public_hex(),
        vote_id: "v1".into(),
        receipt_code: "7KQ2-M9XD-4T8P-1RZC".into(),
        ballot_sha256: crypto::sha256_hex(b"ballot"),
    }
    .body()
    .expect("receipt");
    let mut group = c.benchmark_group("floor");
    group.sample_size(10);
    group.bench_function("3,000 receipt signatures", |b| {
        b.iter(|| {
            for i in 0..TABLETS {
                std::hint::black_box(
                    signer.sign(Domain::Receipt, format!("{receipt}{i}").as_bytes()),
                );
            }
        })
    });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    group.bench_function("3,000 casts through the store path", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let (session, vote) = runtime.block_on(open_vote(dir.path(), TABLETS));
                let requests: Vec<(DeputyId, CastRequest)> = appliance::demo_roster(TABLETS)
                    .into_iter()
                    .map(|d| {
                        let request = CastRequest {
                            vote_id: vote.to_string(),
                            ballot_id: crypto::hex(&crypto::random::<16>().expect("random")),
                            choices: ballot::random_choices(&rules, 7).expect("choices"),
                        };
                        (d.id, request)
                    })
                    .collect();
                let t = Instant::now();
                runtime.block_on(async {
                    let tasks: Vec<_> = requests
                        .into_iter()
                        .map(|(deputy, request)| {
                            let session = session.clone();
                            let vote = vote.clone();
                            tokio::spawn(async move { session.cast(&vote, &deputy, request).await })
                        })
                        .collect();
                    for task in tasks {
                        assert!(matches!(task.await, Ok(Ok(_))), "every cast is stored");
                    }
                });
                total += t.elapsed();
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
