//! The Rust rules engine on the shared golden tally vectors (`tests/data/tally/vectors.json`),
//! the same file the verify page's JS port is tested on (`tests/js/rules.test.mjs`): the same
//! outcome for every input, the same refused field for every bad one, and the values the
//! research's worked examples (domain-rules-and-anchors.md §8) fix.

use piaojue_core::rules::TallyInput;
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/tally/vectors.json");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let file: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    file["vectors"].as_array().cloned().unwrap_or_default()
}

/// `items[9].rank` → the value at that path.
fn at<'a>(value: &'a Value, path: &str) -> &'a Value {
    let mut v = value;
    for part in path.replace('[', ".").replace(']', "").split('.') {
        v = match part.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[part],
        };
    }
    v
}

#[test]
fn the_rust_engine_gives_every_golden_outcome_and_refusal() {
    let vectors = vectors();
    assert!(vectors.len() >= 40, "vectors.json read");
    let (mut outcomes, mut refusals) = (0, 0);
    for v in &vectors {
        let name = v["name"].as_str().expect("name");
        let bytes = serde_json::to_vec(&v["input"]).expect("input");
        match (TallyInput::parse(&bytes), v.get("error")) {
            (Ok(input), None) => {
                let mut got = serde_json::to_value(input.decide()).expect("outcome");
                let map = got.as_object_mut().expect("object");
                map.remove("rules_title");
                map.remove("rules_sha256");
                assert_eq!(got, v["outcome"], "{name}");
                if let Some(research) = v.get("research").and_then(Value::as_object) {
                    for (path, want) in research {
                        assert_eq!(at(&got, path), want, "{name}: {path} (research §8)");
                    }
                }
                outcomes += 1;
            }
            (Err(e), Some(error)) => {
                assert_eq!(
                    e.field,
                    error["field"].as_str().expect("field"),
                    "{name}: {e}"
                );
                refusals += 1;
            }
            (Ok(_), Some(error)) => panic!("{name}: accepted, but the golden file refuses {error}"),
            (Err(e), None) => panic!("{name}: refused ({e}), but the golden file has an outcome"),
        }
    }
    assert!(
        outcomes >= 25 && refusals >= 15,
        "{outcomes} outcomes, {refusals} refusals"
    );
}

#[test]
fn every_worked_example_of_the_research_is_a_vector() {
    let vectors = vectors();
    for tag in ["§8.1", "§8.2", "§8.3", "§8.4", "§8.5", "§8.6", "§8.7"] {
        assert!(
            vectors
                .iter()
                .any(|v| v["name"].as_str().is_some_and(|n| n.starts_with(tag))),
            "{tag}"
        );
    }
}
