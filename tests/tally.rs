//! `piaojue tally` as an auditor runs it: the real binary, real files, exit codes and messages.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tally_bytes(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_piaojue"))
        .arg("tally")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run piaojue");
    // The binary may stop reading early (a capped input); a broken pipe is fine.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("wait")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The documented examples give exactly the committed outputs (docs/rules.md shows them).
#[test]
fn documented_examples_match_their_golden_outputs() {
    let root = env!("CARGO_MANIFEST_DIR");
    for name in [
        "motion",
        "project-7-to-5",
        "project-tie-at-cut",
        "satisfaction-zhenhai",
    ] {
        let input = format!("{root}/docs/examples/{name}.json");
        let out = tally_bytes(&[&input], b"");
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let golden = std::fs::read_to_string(format!("{root}/tests/data/tally/{name}.out.json"))
            .expect("golden file");
        assert_eq!(String::from_utf8_lossy(&out.stdout), golden, "{name}");
    }
}

#[test]
fn reads_stdin_and_prints_the_announcement() {
    let input = r#"{"rules": {"format": "piaojue-rules/1", "kind": "motion"}, "items": ["决议"],
        "roll": {"seated": 327, "present": 314, "enabled": 314}, "counts": [[300, 5, 6]]}"#
        .as_bytes();
    let out = tally_bytes(&["-", "--text"], input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "应到代表327名，实到314名。赞成300票，反对5票，弃权6票，未按表决器3名。通过。\n"
    );
    let out = tally_bytes(&["-"], input);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(json["quorum_met"], true);
    assert_eq!(json["passed"], true);
    assert_eq!(json["items"][0]["item"], "决议");
    assert_eq!(json["items"][0]["counts"]["赞成"], 300);
    assert_eq!(json["items"][0]["not_voted"], 3);
    assert_eq!(json["items"][0]["passed"], true);
}

#[test]
fn a_tie_is_a_valid_outcome_exit_0() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = tally_bytes(
        &[&format!("{root}/docs/examples/project-tie-at-cut.json")],
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json output");
    assert_eq!(json["tie"]["seats"], 1);
    assert_eq!(json["shortfall"], 0);
    assert_eq!(json["selected"].as_array().map(Vec::len), Some(4));
}

/// Every refusal: exit 1, nothing on stdout, one line on stderr naming the field.
#[test]
fn hostile_inputs_exit_1_with_one_line_naming_the_field() {
    let m = r#""rules": {"kind": "motion"}, "items": ["a"]"#;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[1, -2, 0]]}}"#).into_bytes(), "counts[0][1]"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[99999999999999999999999, 0, 0]]}}"#).into_bytes(), "counts[0][0]"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[10, 0, 0]]}}"#).into_bytes(), "counts[0][0]"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[1, 0]]}}"#).into_bytes(), "counts[0]"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 12}}, "counts": [[1, 0, 0]]}}"#).into_bytes(), "roll.present"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9, "enabled": 10}}, "counts": [[1, 0, 0]]}}"#).into_bytes(), "roll.enabled"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[1, 0, 0]], "extra": 1}}"#).into_bytes(), "extra"),
        (format!(r#"{{{m}, "roll": {{"seated": 10, "present": 9}}, "counts": [[1, 0, 0]]}} trailing"#).into_bytes(), "input"),
        (br#"{"rules": {"kind": "motion"}, "items": ["a"], "roll": {"seated": 10"#.to_vec(), "roll"),
        (br#"{"rules": {"kind": "ballot"}, "items": ["a"], "roll": {"seated": 10, "present": 9}, "counts": [[1,0,0]]}"#.to_vec(), "rules.kind"),
        (b"\xff\xfe{}".to_vec(), "input"),
        (b"".to_vec(), "input"),
        (b"[]".to_vec(), "input"),
    ];
    for (input, field) in cases {
        let out = tally_bytes(&["-"], &input);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}: {err}",
            String::from_utf8_lossy(&input)
        );
        assert!(out.stdout.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("error: {field}")),
            "expected {field}: {err}"
        );
    }
}

#[test]
fn huge_input_is_capped_not_read() {
    let mut big = br#"{"rules": {"kind": "motion"}, "items": ["#.to_vec();
    big.extend(std::iter::repeat_n(b' ', 3 * 1024 * 1024));
    let out = tally_bytes(&["-"], &big);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("at most 1024 KiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let out = tally_bytes(&["/nonexistent/tally.json"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /nonexistent/tally.json"));
    let out = tally_bytes(&[], b"");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing FILE is a usage error"
    );
    let out = tally_bytes(&["a.json", "--frobnicate"], b"");
    assert_eq!(out.status.code(), Some(2));
    let out = tally_bytes(&[env!("CARGO_MANIFEST_DIR")], b"");
    assert_eq!(out.status.code(), Some(2), "a directory is an I/O error");
}
