//! The hot pieces, by hand: `cargo bench -p piaojue-core --bench hot`. CI only builds them (`--no-run`).
//! Ballot validation, receipt signing, the tally of 3,000 ballots, verifying a 3,000-ballot bundle.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use piaojue_core::ballot::{self, CastRequest};
use piaojue_core::bundle::{self, AuditHead, Envelope, Expect, ResultBody, SignatureEntry};
use piaojue_core::crypto::{self, ApplianceKey, Domain};
use piaojue_core::rules::{self, Counts, Roll, Rules};

const RULES: &str = include_str!("../../../firmware-config/rules/project-selection.json");

fn items() -> Vec<String> {
    (1..=7).map(|i| format!("候选项目{i}")).collect()
}

fn ballots(rules: &Rules, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| ballot::random_choices(rules, 7).expect("random"))
        .collect()
}

fn hot(c: &mut Criterion) {
    let rules = Rules::from_json(RULES.as_bytes()).expect("rules");
    let items = items();
    let request = CastRequest {
        vote_id: "v1".into(),
        ballot_id: "00112233445566778899aabbccddeeff".into(),
        choices: vec![0, 0, 1, 2, 0, 1, 0],
    };
    c.bench_function("cast validation (7 items)", |b| {
        b.iter(|| ballot::check_cast(black_box(&rules), &items, "v1", black_box(&request)))
    });

    let key = ApplianceKey::generate().expect("key");
    let receipt = r#"{"format":"piaojue-receipt/1","appliance_key":"00","vote_id":"v1","receipt_code":"7KQ2-M9XD-4T8P-1RZC","ballot_sha256":"00"}"#;
    c.bench_function("receipt signature", |b| {
        b.iter(|| key.sign(Domain::Receipt, black_box(receipt.as_bytes())))
    });

    let many = ballots(&rules, 3000);
    let roll = Roll {
        seated: 3000,
        present: 3000,
        enabled: Some(3000),
        cast: Some(3000),
    };
    c.bench_function("tally of 3,000 ballots (count + decide)", |b| {
        b.iter(|| {
            let counts = ballot::count(3, 7, black_box(&many));
            let counts = Counts::new(&rules, items.clone(), roll, counts).expect("counts");
            rules::decide(&rules, &counts, Vec::new())
        })
    });

    // A 3,000-ballot bundle, built as the appliance builds it.
    let mut sorted = many.clone();
    sorted.sort();
    let counts = ballot::count(3, 7, &sorted);
    let outcome = rules::decide(
        &rules,
        &Counts::new(&rules, items.clone(), roll, counts.clone()).expect("counts"),
        Vec::new(),
    );
    let mut receipts: Vec<String> = (0..3000)
        .map(|_| ballot::new_receipt_code().expect("code"))
        .collect();
    receipts.sort();
    let body = ResultBody {
        format: bundle::BODY_FORMAT.into(),
        session: "bench".into(),
        appliance_key: key.public_hex(),
        vote_id: "v1".into(),
        title: "bench".into(),
        kind: rules.kind,
        items: items.clone(),
        secret: true,
        rules_sha256: crypto::sha256_hex(RULES.as_bytes()),
        rules_document: RULES.into(),
        ballot_sha256: crypto::sha256_hex(b"ballot"),
        opened_at: "2026-11-23T00:00:00Z".into(),
        closed_at: "2026-11-23T00:01:00Z".into(),
        roll,
        receipts,
        ballots: sorted,
        named: None,
        counts,
        outcome: serde_json::to_value(&outcome).expect("outcome"),
        announcement: outcome.announcement.clone(),
        audit_head: AuditHead {
            seq: 1,
            hash: "00".repeat(32),
        },
        previous_bundle_sha256: None,
        cosignatures_required: 0,
        scrutineers: Some(Vec::new()),
        interventions: Some(Vec::new()),
        demo: false,
        procedure: None,
        by_delegation: None,
    }
    .to_bytes()
    .expect("body");
    let envelope = Envelope::new(
        &body,
        vec![SignatureEntry {
            role: "appliance".into(),
            name: None,
            public_key: key.public_hex(),
            signature: crypto::hex(&key.sign(Domain::Result, body.as_bytes())),
        }],
    )
    .to_json()
    .expect("envelope");
    let expect = Expect {
        key: Some(key.public()),
        ..Expect::default()
    };
    assert!(bundle::verify(envelope.as_bytes(), &expect).verified);
    c.bench_function("verify a 3,000-ballot bundle", |b| {
        b.iter(|| bundle::verify(black_box(envelope.as_bytes()), &expect))
    });
}

criterion_group!(benches, hot);
criterion_main!(benches);
