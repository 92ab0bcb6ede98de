//! The encrypted-ballot (`piaojue-e2e-v2`) side of the command line: `piaojue verify` on a v2
//! result bundle (bare JSON, or the `piaojue-bundle/2` envelope) and
//! `piaojue e2e sample-bundle`. The checks themselves are
//! [`piaojue_core::e2e::bundle::verify_document`] (V1–V16 of SPEC-E2E §10.2); this module only
//! reads files, maps options and prints in the plain verifier's style.

use std::path::Path;

use piaojue_core::e2e::bundle::{self, VerifyOptions as E2eOptions};
use piaojue_core::e2e::hex;

use crate::observer::{UsageError, VerifyOptions, print_report};

/// True when `bytes` is a v2 bundle: a JSON object with `manifest_hex`, or an envelope whose
/// `format` is `piaojue-bundle/2`. Everything else goes to the plain verifier.
pub fn is_v2(bytes: &[u8]) -> bool {
    bundle::is_v2(bytes)
}

/// `piaojue verify` on a v2 bundle: prints one line per check (`ok   V1: …` / `FAIL V1: …`) and
/// the summary; `Ok(true)` when every check holds. No key is needed (the manifest pins the
/// appliance key); `--key`, when given, must equal it (a V14 failure otherwise).
pub fn verify(
    bytes: &[u8],
    previous: Option<Vec<u8>>,
    options: &VerifyOptions,
    links: Vec<piaojue_core::bundle::Check>,
) -> Result<bool, UsageError> {
    if options.session.is_some() {
        return Err(UsageError(
            "--session is not used for a v2 bundle: its manifest pins the appliance key (give --key HEX to compare)".into(),
        ));
    }
    if options.receipt.is_some() {
        return Err(UsageError(
            "--receipt applies to plain bundles; a v2 bundle's deputy looks for their tracking code on the verify page or in the bundle's ballots".into(),
        ));
    }
    let appliance_key = match &options.key {
        None => None,
        Some(k) => Some(
            hex::decode_array::<32>(k.trim(), "--key")
                .map_err(|e| UsageError(format!("--key: {e}")))?,
        ),
    };
    let appliance_fingerprint = match &options.fingerprint {
        None => None,
        Some(f) => Some(
            piaojue_core::crypto::parse_fingerprint(f)
                .map_err(|e| UsageError(format!("--fingerprint: {e}")))?,
        ),
    };
    let mut report = bundle::verify_document(
        bytes,
        &E2eOptions {
            appliance_key,
            appliance_fingerprint,
            hall_present: options.hall_present,
            previous,
        },
    );
    report.checks.extend(links);
    report.verified = report.checks.iter().all(|c| c.ok);
    if options.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => crate::say!("{text}"),
            Err(e) => eprintln!("error: the report cannot be written as JSON: {e}"),
        }
    } else {
        print_report(&report);
    }
    Ok(report.verified)
}

/// `piaojue e2e sample-bundle`: writes a sample bundle (test keys from `seed`) to `out`.
pub fn sample_bundle(
    seed: &str,
    guardians: u32,
    threshold: u32,
    ballots: u32,
    out: &Path,
) -> Result<(), UsageError> {
    let text = bundle::sample_bundle(seed, guardians, threshold, ballots)
        .map_err(|e| UsageError(e.to_string()))?;
    std::fs::write(out, text.as_bytes())
        .map_err(|e| UsageError(format!("cannot write {}: {e}", out.display())))
}

/// The inputs of `piaojue e2e session-manifest`, as typed.
#[derive(Debug)]
pub struct ManifestArgs {
    pub election_id: String,
    pub scrutineer_keys: Vec<String>,
    pub threshold: u64,
    pub officer_key: String,
    pub appliance_key: String,
    pub booth_hash: String,
    pub max_electorate: u64,
    pub radix: u64,
}

/// `piaojue e2e session-manifest`: builds the canonical manifest, writes it (atomically,
/// fsynced) and returns mh in groups of four, as the agenda prints it.
pub fn session_manifest(args: ManifestArgs, out: &Path) -> Result<String, UsageError> {
    let key = |text: &str, flag: &str| {
        hex::decode_array::<32>(text.trim(), flag).map_err(|e| UsageError(e.to_string()))
    };
    let guardian_ids = args
        .scrutineer_keys
        .iter()
        .map(|k| key(k, "--scrutineer-key"))
        .collect::<Result<Vec<_>, _>>()?;
    let params = piaojue_core::e2e::manifest::SessionParams {
        election_id: args.election_id,
        radix: args.radix,
        max_electorate: args.max_electorate,
        guardian_ids,
        k: args.threshold,
        credential_officer: key(&args.officer_key, "--officer-key")?,
        appliance_key: key(&args.appliance_key, "--appliance-key")?,
        booth_hash: key(&args.booth_hash, "--booth-hash")?,
    };
    let manifest = params.build().map_err(|e| UsageError(e.to_string()))?;
    crate::appliance::write_file_durably(out, manifest.bytes())
        .map_err(|e| UsageError(format!("cannot write {}: {e}", out.display())))?;
    Ok(piaojue_core::crypto::fingerprint_grouped(&hex::encode(
        manifest.hash(),
    )))
}
