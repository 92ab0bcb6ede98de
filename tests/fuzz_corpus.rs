//! Replays the committed fuzz corpus (and every crash the fuzzers ever found, kept in
//! `fuzz/corpus/`) through the same entry points as `fuzz/fuzz_targets/`: none may panic.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        run(&data);
        // Truncations too: hostile input often arrives cut short.
        for cut in [
            1,
            data.len() / 3,
            data.len() / 2,
            data.len().saturating_sub(1),
        ] {
            run(&data[..cut.min(data.len())]);
        }
        n += 1;
    }
    assert!(n > 0, "{target}: empty corpus");
}

#[test]
fn bundle_corpus() {
    replay("bundle", piaojue::fuzz::bundle);
}

#[test]
fn rules_corpus() {
    replay("rules", piaojue::fuzz::rules);
}

#[test]
fn tally_corpus() {
    replay("tally", piaojue::fuzz::tally);
}

#[test]
fn roster_corpus() {
    replay("roster", piaojue::fuzz::roster);
}

#[test]
fn cast_corpus() {
    replay("cast", piaojue::fuzz::cast);
}

#[test]
fn e2e_ballot_corpus() {
    replay("e2e_ballot", piaojue::fuzz::e2e_ballot);
}

#[test]
fn e2e_manifest_corpus() {
    replay("e2e_manifest", piaojue::fuzz::e2e_manifest);
}

#[test]
fn e2e_bundle_corpus() {
    replay("e2e_bundle", piaojue::fuzz::e2e_bundle);
}

#[test]
fn e2e_board_corpus() {
    replay("e2e_board", piaojue::fuzz::e2e_board);
}
