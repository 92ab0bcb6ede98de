//! What is baked into the appliance and the tablets, checked as the machine would: the systemd
//! unit's exposure, the firewall rules, the kiosk policy, the sysctl file, the dependency tree.

use std::process::Command;

use crate::helpers::repo;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_systemd_unit_is_sandboxed_to_an_exposure_of_at_most_2() {
    assert!(
        have("systemd-analyze"),
        "systemd-analyze is needed (.ci/test installs systemd)"
    );
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(repo("deploy/piaojue.service"))
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let level: f64 = text
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for piaojue.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.0, "exposure {level} > 2.0");
}

#[test]
fn the_firewall_rules_parse_and_let_in_only_https() {
    let rules = std::fs::read_to_string(repo("firmware-config/nftables.conf")).unwrap();
    if have("nft") {
        let out = Command::new("nft")
            .args(["-c", "-f"])
            .arg(repo("firmware-config/nftables.conf"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "nft -c: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Whatever nft says, the shape: every chain drops by default, only port 443 is let in.
    for chain in ["input", "forward", "output"] {
        let start = rules.find(&format!("chain {chain} {{")).expect("chain");
        let body = &rules[start..start + rules[start..].find("\n  }").unwrap()];
        assert!(body.contains("policy drop;"), "{chain} drops by default");
    }
    let tcp_ports: Vec<&str> = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains("tcp dport"))
        .collect();
    assert!(!tcp_ports.is_empty());
    assert!(
        tcp_ports.iter().all(|l| l.contains("tcp dport 443")),
        "{tcp_ports:?}"
    );
}

#[test]
fn the_kiosk_allows_only_the_appliance() {
    let p: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo("firmware-config/kiosk/chromium-policy.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(p["URLBlocklist"], serde_json::json!(["*"]));
    for url in p["URLAllowlist"].as_array().unwrap() {
        assert!(
            url.as_str()
                .unwrap()
                .starts_with("https://piaojue.venue.lan/")
        );
    }
    assert_eq!(p["DeveloperToolsAvailability"], 2, "no developer tools");
    assert_eq!(p["DownloadRestrictions"], 3, "no downloads");
}

#[test]
fn the_sysctl_file_is_key_equals_value() {
    let text = std::fs::read_to_string(repo("firmware-config/sysctl.conf")).unwrap();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (k, v) = line.split_once(" = ").unwrap_or_else(|| panic!("`{line}`"));
        assert!(
            k.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._".contains(c)),
            "{k}"
        );
        assert!(!v.trim().is_empty());
    }
}

/// TLS on ring alone: neither aws-lc-rs nor OpenSSL anywhere in what the appliance links.
#[test]
fn no_aws_lc_and_no_openssl_in_the_dependency_tree() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(tree.contains("rustls v0.23"), "rustls is in the tree");
    for banned in ["aws-lc", "openssl"] {
        assert!(
            !tree.to_lowercase().contains(banned),
            "{banned} in:\n{tree}"
        );
    }
}

#[test]
fn no_private_key_is_ever_committed() {
    let ignore = std::fs::read_to_string(repo(".gitignore")).unwrap();
    for pattern in ["*.key", "*.pem", "/piaojue-data"] {
        assert!(
            ignore.lines().any(|l| l.trim() == pattern),
            "{pattern} in .gitignore"
        );
    }
    let out = Command::new("git")
        .args(["ls-files"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    for file in String::from_utf8_lossy(&out.stdout).lines() {
        if file.ends_with(".key") || file.ends_with(".pem") || file.contains("appliance.key") {
            panic!("{file} is in git");
        }
        if file.starts_with("tests/")
            || file.starts_with("fuzz/")
            || file.starts_with("src/web/assets/vendor")
        {
            continue;
        }
        let text = std::fs::read_to_string(repo(file)).unwrap_or_default();
        assert!(
            !text.contains("PRIVATE KEY-----"),
            "{file} holds a private key"
        );
    }
}

/// #11: the store exits with its own status when a commit or an `fsync` fails, and the unit
/// never restarts on it (a restart could serve page-cache data that never reached the disk).
#[test]
fn the_unit_does_not_restart_after_a_storage_failure() {
    let unit = std::fs::read_to_string(repo("deploy/piaojue.service")).unwrap();
    let code = piaojue::store::EXIT_STORAGE_FAILED.to_string();
    let prevented: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.trim().strip_prefix("RestartPreventExitStatus="))
        .flat_map(str::split_whitespace)
        .collect();
    assert!(
        prevented.contains(&code.as_str()),
        "RestartPreventExitStatus= does not list {code}: {prevented:?}"
    );
    assert!(
        code != "0" && code != "1" && code != "2",
        "the status must differ from the CLI's usual ones"
    );
    if have("systemd-analyze") {
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(repo("deploy/piaojue.service"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("RestartPreventExitStatus"),
            "systemd rejects the setting: {text}"
        );
    }
}
