//! The booth (SPEC-E2E §1.1): the encrypted mode's tablet app. It is installed on the tablets
//! from `piaojue booth export DIR`, never served by the appliance outside the demo (M3: a
//! compromised appliance must not be able to hand a tablet different code). Its hash is the
//! session manifest's `booth_hash`.
//!
//! The bundle: `booth.html` at the top and its files under `assets/` as the appliance lays
//! them out, plus `MANIFEST.sha256` (sha256sum's format, sorted by path).
//! `booth_hash` = SHA-256 of `MANIFEST.sha256`, so anyone checks an installed copy with
//! `sha256sum -c MANIFEST.sha256 && sha256sum MANIFEST.sha256`.

use std::path::Path;

use piaojue_core::crypto;

use super::{CSS, HTML, JS};

/// The booth's own files (under `assets/` but `booth.html`).
const OWN: &[(&str, &str, &[u8])] = &[
    (
        "booth.html",
        HTML,
        include_bytes!("assets/booth/booth.html"),
    ),
    (
        "assets/booth/booth.js",
        JS,
        include_bytes!("assets/booth/booth.js"),
    ),
    (
        "assets/booth/booth-worker.js",
        JS,
        include_bytes!("assets/booth/booth-worker.js"),
    ),
    (
        "assets/booth/logic.js",
        JS,
        include_bytes!("assets/booth/logic.js"),
    ),
    (
        "assets/booth/booth.css",
        CSS,
        include_bytes!("assets/booth/booth.css"),
    ),
    (
        "assets/e2e/card.js",
        JS,
        include_bytes!("assets/e2e/card.js"),
    ),
];

/// The shared files the booth imports (its whole import graph), from the appliance's assets.
fn shared(path: &str) -> bool {
    matches!(path, "app.css" | "common.js" | "e2e/e2e.js") || path.starts_with("vendor/")
}

/// Every file of the bundle, `(path, bytes)`, sorted by path.
pub fn files() -> Vec<(String, &'static [u8])> {
    let mut out: Vec<(String, &'static [u8])> = OWN
        .iter()
        .map(|(p, _, b)| ((*p).to_string(), *b))
        .chain(
            super::ASSETS
                .iter()
                .filter(|(p, _, _)| shared(p))
                .map(|(p, _, b)| (format!("assets/{p}"), *b)),
        )
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// `MANIFEST.sha256`: one `hex  path` line per file, sorted by path.
pub fn manifest() -> String {
    files()
        .iter()
        .map(|(p, b)| format!("{}  {p}\n", crypto::sha256_hex(b)))
        .collect()
}

/// The session manifest's `booth_hash`.
pub fn booth_hash() -> [u8; 32] {
    crypto::sha256(manifest().as_bytes())
}

/// Writes the bundle into `dir` (created if needed; files fsynced) and returns booth_hash.
pub fn export(dir: &Path) -> std::io::Result<[u8; 32]> {
    for (p, b) in files() {
        let path = dir.join(&p);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::appliance::write_file_durably(&path, b)?;
    }
    crate::appliance::write_file_durably(&dir.join("MANIFEST.sha256"), manifest().as_bytes())?;
    Ok(booth_hash())
}

/// The demo's booth: a file of the bundle by its path, with its content type.
pub fn demo_file(path: &str) -> Option<(&'static str, &'static [u8])> {
    OWN.iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, m, b)| (*m, *b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_booth_bundle_holds_its_whole_import_graph() {
        let files = files();
        let have: std::collections::HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        for (path, bytes) in &files {
            if !path.ends_with(".js") {
                continue;
            }
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let base = Path::new(path).parent().expect("a directory");
            for line in text.lines() {
                let line = line.trim();
                let target = if line.starts_with("import ") || line.starts_with("export ") {
                    line.split(" from \"")
                        .nth(1)
                        .and_then(|t| t.split('"').next())
                } else {
                    line.strip_prefix("import \"")
                        .and_then(|t| t.split('"').next())
                };
                let Some(t) = target.filter(|t| t.starts_with('.')) else {
                    continue;
                };
                let mut p = base.to_path_buf();
                for part in t.split('/') {
                    match part {
                        "." => {}
                        ".." => {
                            p.pop();
                        }
                        x => p.push(x),
                    }
                }
                let p = p.to_string_lossy().to_string();
                assert!(
                    have.contains(p.as_str()),
                    "{path} imports {t}: {p} is not in the bundle"
                );
            }
        }
        assert_eq!(booth_hash(), crypto::sha256(manifest().as_bytes()));
    }
}
