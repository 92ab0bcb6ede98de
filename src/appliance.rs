//! The appliance's data directory: `init` (key, passphrase, store), loading the key, the demo
//! session, and starting the server.
//!
//! Layout of a data directory (mode 0700):
//! - `appliance.key`: the Ed25519 seed, hex, mode 0600. Never served, never logged.
//! - `store/`: sled, owned by [`crate::store`].
//! - `demo/`: only for `serve --demo`: `codes.csv` and `operator-passphrase` (0600).

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::server::{self, AppState};
use crate::session::Session;
use crate::session::{Mode, RosterEntry, now};
use crate::store::{Actor, SessionMeta, Store};
use piaojue_core::crypto::{self, ApplianceKey};

const KEY_FILE: &str = "appliance.key";
/// The shortest operator passphrase accepted from a file.
const MIN_PASSPHRASE: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum ApplianceError {
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Setup(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ApplianceError + '_ {
    move |source| ApplianceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What `init` made, to print once.
#[derive(Debug)]
pub struct Created {
    pub fingerprint: String,
    pub public_key: String,
    /// Only when generated here (not read from a file).
    pub passphrase: Option<zeroize::Zeroizing<String>>,
}

/// Creates an appliance for a real session in `data`. Refuses to overwrite one.
pub fn init(
    data: &Path,
    session_name: &str,
    passphrase_file: Option<&Path>,
    tls_names: &[String],
) -> Result<Created, ApplianceError> {
    init_session(data, session_name, passphrase_file, tls_names, false)
}

/// Creates an appliance in `data`, a demonstration or a real session: decided here, once,
/// and stored (a real session is never served as a demo).
pub fn init_session(
    data: &Path,
    session_name: &str,
    passphrase_file: Option<&Path>,
    tls_names: &[String],
    demo: bool,
) -> Result<Created, ApplianceError> {
    crate::tls::names(tls_names).map_err(|e| ApplianceError::Usage(format!("--tls-name: {e}")))?;
    let name = session_name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApplianceError::Usage(
            "--session-name must be 1 to 100 characters".into(),
        ));
    }
    if data.join(KEY_FILE).exists() || data.join("store").exists() {
        return Err(ApplianceError::Usage(format!(
            "an appliance already exists in {}; refusing to overwrite it",
            data.display()
        )));
    }
    let (passphrase, generated) = match passphrase_file {
        Some(f) => {
            let text = fs::read_to_string(f).map_err(io(f))?;
            let p = text.trim_end_matches(['\n', '\r']).to_string();
            if p.chars().count() < MIN_PASSPHRASE {
                return Err(ApplianceError::Usage(format!(
                    "{}: the passphrase must be at least {MIN_PASSPHRASE} characters",
                    f.display()
                )));
            }
            (zeroize::Zeroizing::new(p), false)
        }
        None => (
            crypto::new_passphrase().map_err(|e| ApplianceError::Setup(e.to_string()))?,
            true,
        ),
    };
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data)
        .map_err(io(data))?;
    let key = ApplianceKey::generate().map_err(|e| ApplianceError::Setup(e.to_string()))?;
    write_secret(&data.join(KEY_FILE), &crypto::hex(key.seed().as_ref()))?;
    let meta = SessionMeta {
        name: name.to_string(),
        public_key: key.public_hex(),
        created_at: now(),
        passphrase_hash: crypto::hash_passphrase(&passphrase)
            .map_err(|e| ApplianceError::Setup(e.to_string()))?,
        demo,
        sealed_at: None,
    };
    let detail = serde_json::json!({ "session": meta.name, "public_key": meta.public_key, "demo": meta.demo });
    Store::create(data, &meta, move |tx| {
        tx.audit(Actor::System, "init", detail);
        Ok(())
    })?;
    crate::tls::create(data, tls_names).map_err(ApplianceError::Setup)?;
    Ok(Created {
        fingerprint: key.fingerprint(),
        public_key: key.public_hex(),
        passphrase: generated.then_some(passphrase),
    })
}

/// Writes a secret file with mode 0600, never over an existing one, and syncs it.
/// (Also how a scrutineer's key and token are saved: `crate::observer`.)
pub(crate) fn write_secret_file(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

/// Writes a public file durably: to a temporary name beside it, fsynced, renamed over the
/// target, and the directory fsynced, so a crash leaves the old file or the new one whole.
pub(crate) fn write_file_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::vault::write_atomic(path, bytes, 0o644)
}

fn write_secret(path: &Path, text: &str) -> Result<(), ApplianceError> {
    write_secret_file(path, text).map_err(io(path))
}

/// Reads the appliance key, refusing a key file others can read.
pub fn load_key(data: &Path) -> Result<ApplianceKey, ApplianceError> {
    let path = data.join(KEY_FILE);
    if !path.exists() {
        return Err(ApplianceError::Usage(format!(
            "no appliance in {}: run `piaojue init --data {}` first",
            data.display(),
            data.display()
        )));
    }
    let mode = fs::metadata(&path).map_err(io(&path))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(ApplianceError::Setup(format!(
            "{}: the key file is readable by others (mode {:o}); run `chmod 600` on it",
            path.display(),
            mode & 0o777
        )));
    }
    let text = zeroize::Zeroizing::new(fs::read_to_string(&path).map_err(io(&path))?);
    let seed = zeroize::Zeroizing::new(
        crypto::unhex::<32>(text.trim())
            .ok_or_else(|| ApplianceError::Setup(format!("{}: not a key file", path.display())))?,
    );
    Ok(ApplianceKey::from_seed(&seed))
}

/// The demo's rules documents, baked in from firmware-config/rules/.
const DEMO_RULES: [&[u8]; 3] = [
    include_bytes!("../firmware-config/rules/project-selection.json"),
    include_bytes!("../firmware-config/rules/satisfaction.json"),
    include_bytes!("../firmware-config/rules/motion.json"),
];
const DEMO_SESSION: &str = "某县第十八届人民代表大会第三次会议（演示）";

/// Plausible names, delegations and seats for a demo roster of `n` deputies.
pub fn demo_roster(n: usize) -> Vec<RosterEntry> {
    const SURNAMES: &[&str] = &[
        "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡",
        "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
        "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏",
        "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
    ];
    const GIVEN: &[&str] = &[
        "建国", "秀英", "志强", "桂兰", "海燕", "永红", "国庆", "丽华", "文斌", "晓梅", "建华",
        "玉兰", "春生", "红霞", "明辉", "淑芬", "德胜", "凤英", "卫东", "慧敏", "振华", "秀兰",
        "立新", "雪梅", "光明", "素珍", "学军", "艳玲", "宏伟", "金凤", "家豪", "婷婷", "俊杰",
        "丹丹", "浩然", "欣怡", "子涵", "雨桐", "国强", "美华", "长青", "冬梅", "正平", "月娥",
        "世杰", "亚萍", "新民", "翠兰", "文静", "保国",
    ];
    const DELEGATIONS: &[&str] = &[
        "城关镇代表团",
        "东城街道代表团",
        "西城街道代表团",
        "南山镇代表团",
        "北湖镇代表团",
        "青石乡代表团",
        "白沙镇代表团",
        "解放军代表团",
    ];
    (0..n)
        .map(|i| {
            // (i mod 60, i div 60) is unique below 3,000, so each pair of names is too.
            let (s, g) = (i % SURNAMES.len(), i / SURNAMES.len());
            let surname = SURNAMES[s];
            let given = GIVEN[(g + 7 * s) % GIVEN.len()];
            let name = if i < SURNAMES.len() * GIVEN.len() {
                format!("{surname}{given}")
            } else {
                format!("{surname}{given}{}", i / (SURNAMES.len() * GIVEN.len()) + 1)
            };
            RosterEntry {
                id: piaojue_core::ids::DeputyId::parse(&format!("d{:04}", i + 1))
                    .expect("d and four digits is a deputy id"),
                name,
                delegation: DELEGATIONS[i * DELEGATIONS.len() / n.max(1)].to_string(),
                seat: format!("{}排{}座", i / 20 + 1, i % 20 + 1),
            }
        })
        .collect()
}

/// Creates the demo session in `data` on first start: roster, codes, rules, three votes.
pub async fn create_demo(data: &Path, deputies: usize) -> Result<Session, ApplianceError> {
    if !(3..=5000).contains(&deputies) {
        return Err(ApplianceError::Usage(
            "--demo-deputies must be between 3 and 5000".into(),
        ));
    }
    let created = init_session(data, DEMO_SESSION, None, &[], true)?;
    let demo = data.join("demo");
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&demo)
        .map_err(io(&demo))?;
    if let Some(p) = &created.passphrase {
        write_secret(&demo.join("operator-passphrase"), p)?;
    }
    let key = Arc::new(load_key(data)?);
    let session = Session::new(Store::open(data, &key.public_hex())?, key);
    let setup = |e: piaojue_core::refusal::Refusal| ApplianceError::Setup(e.to_string());
    let roster = demo_roster(deputies);
    session.import_roster(roster.clone()).await.map_err(setup)?;
    // Codes in slices: one transaction for 3,000 deputies would hold all of it in memory at once.
    let mut codes = Vec::with_capacity(deputies);
    for slice in roster.chunks(250) {
        let ids = slice.iter().map(|d| d.id.clone()).collect();
        codes.extend(session.issue_codes(Some(ids)).await.map_err(setup)?);
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let written: Result<(), csv::Error> = (|| {
        csv.write_record(["id", "name", "code"])?;
        for (id, code) in &codes {
            let name = roster
                .iter()
                .find(|r| &r.id == id)
                .map_or("", |r| r.name.as_str());
            csv.write_record([id.as_str(), name, code.as_str()])?;
        }
        csv.flush()?;
        Ok(())
    })();
    let csv = written
        .map_err(|e| e.to_string())
        .and_then(|()| csv.into_inner().map_err(|e| e.to_string()))
        .and_then(|bytes| String::from_utf8(bytes).map_err(|e| e.to_string()))
        .map_err(ApplianceError::Setup)?;
    write_secret(&demo.join("codes.csv"), csv.trim_end())?;
    let mut hashes = Vec::new();
    for doc in DEMO_RULES {
        hashes.push(
            session
                .adopt_rules(doc.to_vec())
                .await
                .map_err(setup)?
                .sha256,
        );
    }
    let votes: [(&str, usize, Vec<&str>); 2] = [
        (
            "2026年县政府民生实事项目票决",
            0,
            vec![
                "城区中小学扩容工程",
                "老年助餐服务点建设",
                "农村饮用水提标改造",
                "社区卫生服务中心标准化建设",
                "背街小巷改造提升",
                "公共停车泊位新增",
                "城乡公交一体化",
            ],
        ),
        (
            "关于县人民政府工作报告的决议",
            2,
            vec!["关于县人民政府工作报告的决议"],
        ),
    ];
    // 人大评: last year's 票决, signed by last year's (demo) appliance, and this year's 测评
    // of the projects it adopted, built from its bundle (kept beside the demo's codes).
    let last_year = crate::demo::last_year_bundle(&demo.join("last-year-appliance"), DEMO_RULES[0])
        .await
        .map_err(ApplianceError::Setup)?;
    let last_year_file = demo.join("last-year-bundle.json");
    fs::write(&last_year_file, &last_year).map_err(io(&last_year_file))?;
    let satisfaction = "2025年民生实事项目实施情况满意度测评";
    let from_last_year = |mode| {
        session.satisfaction_from(
            if mode == Mode::Plain {
                satisfaction.into()
            } else {
                format!("{satisfaction}（加密投票）")
            },
            hashes[1].clone(),
            crate::session::procedures::SourceInput::Bundle(last_year.clone()),
            None,
            Some(mode),
        )
    };
    for (n, (title, rules, items)) in votes.iter().enumerate() {
        let items = items.iter().map(|s| (*s).to_string()).collect();
        session
            .create_vote(
                (*title).into(),
                hashes[*rules].clone(),
                items,
                Some(Mode::Plain),
            )
            .await
            .map_err(setup)?;
        if n == 0 {
            from_last_year(Mode::Plain).await.map_err(setup)?;
        }
    }
    // The encrypted mode: simulated scrutineers hold the key ceremony now; the same three
    // votes again, encrypted (the plain ones stay, one of each kind, beside them).
    let ids: Vec<String> = roster.iter().map(|d| d.id.to_string()).collect();
    crate::demo::setup(&session, &demo, &ids)
        .await
        .map_err(ApplianceError::Setup)?;
    for (n, (title, rules, items)) in votes.into_iter().enumerate() {
        let items = items.into_iter().map(str::to_string).collect();
        session
            .create_vote(
                format!("{title}（加密投票）"),
                hashes[rules].clone(),
                items,
                Some(Mode::Encrypted),
            )
            .await
            .map_err(setup)?;
        if n == 0 {
            from_last_year(Mode::Encrypted).await.map_err(setup)?;
        }
    }
    Ok(session)
}

/// `serve --demo --fresh`: deletes a demo's data directory so the demo starts anew. Refuses
/// a directory that holds a real session (or anything that is not a piaojue demo).
pub fn remove_demo(data: &Path) -> Result<(), ApplianceError> {
    if !data.exists() {
        return Ok(());
    }
    // Only `serve --demo` writes `demo/codes.csv`; `piaojue init` never does.
    if !data.join(KEY_FILE).exists() || !data.join("demo").join("codes.csv").is_file() {
        return Err(ApplianceError::Usage(format!(
            "{} is not a demo's data directory (it may hold a real session): --fresh deletes only a demo's",
            data.display()
        )));
    }
    fs::remove_dir_all(data).map_err(io(data))
}

/// How to run this very binary from where the user stands (`target/release/piaojue` after
/// `cargo run`, `piaojue` when installed on the PATH).
fn this_command() -> String {
    let Ok(exe) = std::env::current_exe() else {
        return "piaojue".into();
    };
    let on_path = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("piaojue") == exe));
    if on_path {
        return "piaojue".into();
    }
    match std::env::current_dir()
        .ok()
        .and_then(|cwd| exe.strip_prefix(cwd).ok().map(Path::to_path_buf))
    {
        Some(relative) => relative.display().to_string(),
        None => exe.display().to_string(),
    }
}

/// Options of `piaojue serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data: PathBuf,
    pub listen: SocketAddr,
    pub demo: bool,
    pub demo_deputies: usize,
    /// HTTPS on loopback too (always on any other address).
    pub tls: bool,
}

/// Runs the appliance until Ctrl-C or SIGTERM.
pub async fn serve(options: ServeOptions) -> Result<(), ApplianceError> {
    // Plain HTTP only on loopback: on the venue LAN anyone could read or forge it.
    let tls = options.tls || !options.listen.ip().is_loopback();
    let fresh_demo = options.demo && !options.data.join(KEY_FILE).exists();
    let session = if fresh_demo {
        create_demo(&options.data, options.demo_deputies).await?
    } else {
        let key = Arc::new(load_key(&options.data)?);
        Session::new(Store::open(&options.data, &key.public_hex())?, key)
    };
    let demo = session.store().meta().demo;
    if options.demo && !demo {
        return Err(ApplianceError::Usage(format!(
            "{} holds a real session (made by `piaojue init`): `serve --demo` refuses it, because the demo's simulation casts for deputies. Serve it without --demo, or give --data a new directory for a demo",
            options.data.display()
        )));
    }
    let listener = std::net::TcpListener::bind(options.listen)
        .map_err(|e| ApplianceError::Usage(format!("cannot listen on {}: {e}", options.listen)))?;
    let addr = listener.local_addr().map_err(io(&options.data))?;
    let mut state = AppState::new(session, demo);
    state.tls = tls;
    if demo {
        state.demo_dir = Some(options.data.join("demo"));
    }
    let scheme = if tls { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    crate::say!("piaojue 票决 — {}", state.store.meta().name);
    crate::say!(
        "  key fingerprint: {}",
        crypto::fingerprint_grouped(&state.fingerprint)
    );
    crate::say!("  listening:       {base}");
    crate::say!("  public session:  {base}/api/public/session");
    crate::say!("  public votes:    {base}/api/public/votes");
    crate::say!("  enrolment cards: {base}/console/cards (after operator login)");
    if demo {
        let demo = options.data.join("demo");
        crate::say!(
            "  demo:            {} ({}), codes in {}, operator passphrase in {}",
            if fresh_demo { "created" } else { "resumed" },
            options.data.display(),
            demo.join("codes.csv").display(),
            demo.join("operator-passphrase").display()
        );
        crate::say!(
            "  try:             {} admin --url {base} --passphrase-file {} status",
            this_command(),
            demo.join("operator-passphrase").display()
        );
        crate::say!(
            "  encrypted demo:  {base}/booth (演示 booth), simulated scrutineers and credential officer"
        );
        // The simulated scrutineers and officer of the encrypted votes (demo.rs).
        tokio::spawn(crate::demo::run(state.session.clone(), demo));
    }
    if tls {
        crate::say!(
            "  TLS:             CA certificate for tablets and browsers in {}",
            crate::tls::dir(&options.data).join("ca.pem").display()
        );
    }
    tracing::info!(%addr, tls, "serving");
    if tls {
        let config = crate::tls::server_config(&options.data)
            .await
            .map_err(|e| {
                ApplianceError::Setup(format!(
                    "TLS: {e} (run `piaojue tls renew --data {}`)",
                    options.data.display()
                ))
            })?;
        server::serve_tls(listener, state, config, shutdown_signal())
            .await
            .map_err(io(&options.data))
    } else {
        listener.set_nonblocking(true).map_err(io(&options.data))?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(io(&options.data))?;
        server::serve(listener, state, shutdown_signal())
            .await
            .map_err(io(&options.data))
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_roster_is_unique_and_plausible() {
        let r = demo_roster(3000);
        let names: std::collections::HashSet<_> = r.iter().map(|e| &e.name).collect();
        assert_eq!(names.len(), 3000, "names must be unique");
        let seats: std::collections::HashSet<_> = r.iter().map(|e| &e.seat).collect();
        assert_eq!(seats.len(), 3000);
        assert_eq!(r[0].id, "d0001");
        assert!(r[0].name.chars().count() >= 2);
    }
}
