//! The core stays pure: what observers rebuild must not pull in an async runtime, a web
//! framework, a store or TLS. Reads `cargo tree` of this crate's normal dependencies.

use std::process::Command;

#[test]
fn the_core_depends_on_no_runtime_framework_store_or_tls() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "piaojue-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("piaojue-core"), "{tree}");
    assert!(tree.contains("ring"), "the tree is the real one: {tree}");
    for forbidden in [
        "tokio", "axum", "hyper", "sled", "rustls", "reqwest", "tower",
    ] {
        let found: Vec<&str> = tree
            .lines()
            .filter(|l| {
                l.split_whitespace().next().is_some_and(|name| {
                    name == forbidden || name.starts_with(&format!("{forbidden}-"))
                })
            })
            .collect();
        assert!(
            found.is_empty(),
            "piaojue-core depends on {forbidden}: {found:?}"
        );
    }
}
