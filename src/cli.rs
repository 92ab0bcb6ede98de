//! The `piaojue` command line. Each subcommand is a thin shell over a library module;
//! exit codes are an interface: 0 done, 1 the input or the appliance refused, 2 usage or I/O.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::admin::{Admin, AdminError, vote_line};
use crate::appliance::{self, ApplianceError, ServeOptions};
use crate::observer;
use piaojue_core::crypto;
use piaojue_core::rules::{MAX_TALLY_INPUT_BYTES, TallyInput};

#[derive(Debug, Parser)]
#[command(
    name = "piaojue",
    version,
    about = "票决: a voting appliance for people's congress sessions, with verifiable results"
)]
struct Cli {
    /// The appliance's CA certificate (`DIR/tls/ca.pem`), to reach it over HTTPS.
    #[arg(long, global = true)]
    cacert: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the session archive (档案) of a stopped appliance's data directory: one tar with
    /// the signed manifest, every bundle in chain order, the 测评 sources and the report.
    Archive {
        /// The appliance's data directory (the appliance must be stopped).
        data: PathBuf,
        /// The archive file to write (tar).
        out: PathBuf,
    },
    /// Seal a stopped appliance's session once its archive verifies: the links between
    /// deputies and plain secret ballots are destroyed and the store rewritten (docs/procedures.md).
    Seal {
        /// The appliance's data directory (the appliance must be stopped).
        data: PathBuf,
        /// The session archive (`piaojue archive`), verified first.
        #[arg(long)]
        archive: PathBuf,
    },
    /// Create an appliance: data directory, signing key, operator passphrase, store.
    Init {
        /// The data directory to create.
        #[arg(long)]
        data: PathBuf,
        /// The session's name, as printed on results.
        #[arg(long, default_value = "人民代表大会会议")]
        session_name: String,
        /// Take the operator passphrase from this file instead of generating one.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// A host name or address the appliance's TLS certificate covers (repeat for each;
        /// localhost and loopback are always covered).
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
    },
    /// Run the appliance.
    Serve {
        /// The data directory (made by `init`, or by `--demo` on first start).
        #[arg(long, default_value = "./piaojue-data")]
        data: PathBuf,
        /// Address to listen on (loopback only until TLS is configured).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// On first start, create a demo session: roster, codes, rules and three votes.
        #[arg(long)]
        demo: bool,
        /// Deputies in the demo roster.
        #[arg(long, default_value_t = 300, requires = "demo")]
        demo_deputies: usize,
        /// Start the demo afresh: delete the demo's data directory first (refused for a
        /// directory that holds a real session).
        #[arg(long, requires = "demo")]
        fresh: bool,
        /// HTTPS on loopback too (it is always on for any other address).
        #[arg(long)]
        tls: bool,
    },
    /// The appliance's TLS certificate.
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// The appliance's signing key.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// The secretariat's commands against a running appliance.
    Admin {
        /// The appliance's URL, e.g. http://127.0.0.1:8080
        #[arg(long)]
        url: String,
        /// A file holding the operator passphrase.
        #[arg(long)]
        passphrase_file: PathBuf,
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Verify a signed result bundle: signatures, ballots, recount, rules, chain, receipt.
    ///
    /// Exit 0 verified, 1 not verified (every failed check is named), 2 usage or I/O error.
    Verify {
        /// The bundle: a file, `-` for standard input, or its URL.
        #[arg(required_unless_present = "archive")]
        bundle: Option<String>,
        /// A session archive (`piaojue archive`) instead of one bundle: every bundle, the
        /// chain, every link and the signed manifest are checked.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["bundle", "session", "previous", "receipt", "hall_present", "parent", "source"])]
        archive: Option<PathBuf>,
        /// The appliance's public key (64 hex digits), as printed on the agenda.
        #[arg(long)]
        key: Option<String>,
        /// The appliance key's fingerprint as printed on the 公告, cards and hall screen
        /// (all 16 groups: `"20c9 0c81 …"`; grouping and case ignored).
        #[arg(long)]
        fingerprint: Option<String>,
        /// A running appliance (`URL`): it must serve the pinned key, and the chain to the
        /// previous bundle is checked against its published bundles.
        #[arg(long)]
        session: Option<String>,
        /// The session's previous bundle (file or URL), to check the chain.
        #[arg(long)]
        previous: Option<String>,
        /// A receipt code that must be listed.
        #[arg(long)]
        receipt: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Deputies present (出席) as announced in the hall: v2 bundles check cast_count <= N (V15).
        #[arg(long)]
        hall_present: Option<u64>,
        /// The scrutineers' keys as printed on the agenda (a file, one hex key per line): the
        /// bundle must name exactly these.
        #[arg(long, value_name = "FILE")]
        scrutineers: Option<String>,
        /// A run-off's parent bundle (file or URL): the run-off's candidates and seats must
        /// follow from its outcome, and it must verify under the same key.
        #[arg(long, value_name = "BUNDLE")]
        parent: Option<String>,
        /// A 测评's source 票决 bundle (file or URL): the 测评's items must be what it adopted,
        /// in rank order, and it must verify under the key the 测评 names.
        #[arg(long, value_name = "BUNDLE")]
        source: Option<String>,
    },
    /// Encrypted ballots (`piaojue-e2e-v2`): sample bundles for tests and demonstrations.
    E2e {
        #[command(subcommand)]
        command: E2eCommand,
    },
    /// Simulated tablets against a running demo appliance: enrol, events, signed ballots, casts,
    /// receipts; then close, announce and verify. Its last line is machine-readable.
    /// Simulated tablets against a running demo appliance: forwards to `piaojue-loadtest`
    /// (installed beside this binary), with the same arguments.
    #[command(disable_help_flag = true)]
    Loadtest {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A scrutineer's own key, enrolment and co-signature; the key ceremony and decryption
    /// of encrypted votes.
    Scrutineer {
        #[command(subcommand)]
        command: ScrutineerCommand,
    },
    /// The encrypted mode's tablet app (投票终端): `booth export DIR` writes the bundle to
    /// install on the tablets and prints its booth_hash (the session manifest pins it).
    Booth {
        #[command(subcommand)]
        command: BoothCommand,
    },
    /// The credential officer (证件官): cards, each vote's roll call, cast notices.
    Officer {
        #[command(subcommand)]
        command: OfficerCommand,
    },
    /// Decide an outcome from counts alone under a rules document (see docs/rules.md).
    ///
    /// Reads `{ "rules": {…}, "items": […], "roll": {…}, "counts": [[…]] }` and prints the
    /// outcome as JSON. Exit 0 on valid input whatever the outcome, 1 on input that breaks
    /// the rules, 2 on usage or I/O errors.
    Tally {
        /// The tally input file, or `-` for standard input.
        file: PathBuf,
        /// Print only the announcement text, not the JSON outcome.
        #[arg(long)]
        text: bool,
    },
}

#[derive(Debug, Subcommand)]
enum E2eCommand {
    /// Write a complete sample v2 bundle (test keys and DRBG from the seed; deterministic).
    SampleBundle {
        /// Seed of the test DRBG and test keys.
        #[arg(long)]
        seed: String,
        /// Number of guardians n.
        #[arg(long)]
        guardians: u32,
        /// Threshold k.
        #[arg(long)]
        threshold: u32,
        /// Ballots per vote.
        #[arg(long)]
        ballots: u32,
        /// Output file (bare JSON).
        out: PathBuf,
    },
    /// Build the session manifest of an encrypted-ballot session (SPEC-E2E §6.4) from the
    /// scrutineers' identity keys (in their guardian order), the credential officer's key,
    /// the appliance key and the booth's hash; writes its canonical bytes to OUT and prints
    /// its hash mh, grouped, as the agenda prints it. Once published it never changes.
    SessionManifest {
        /// The session's id (1–64 printable ASCII characters, e.g. `county-18-3`).
        #[arg(long)]
        election_id: String,
        /// Each scrutineer's public key (64 hex digits, as `piaojue scrutineer keygen`
        /// prints it), once per scrutineer, in guardian order.
        #[arg(long = "scrutineer-key", required = true)]
        scrutineer_keys: Vec<String>,
        /// Threshold k: how many scrutineers together decrypt.
        #[arg(long)]
        threshold: u64,
        /// The credential officer's public key.
        #[arg(long)]
        officer_key: String,
        /// The appliance's public key.
        #[arg(long)]
        appliance_key: String,
        /// SHA-256 of the booth bundle (`piaojue booth export` prints it).
        #[arg(long)]
        booth_hash: String,
        /// The most deputies who may vote (< radix).
        #[arg(long, default_value_t = 4095)]
        max_electorate: u64,
        /// Radix T (a power of two; 4096 is the only value a deployment needs).
        #[arg(long, default_value_t = 4096)]
        radix: u64,
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TlsCommand {
    /// A new server certificate from the appliance's CA; a running server picks it up.
    Renew {
        #[arg(long, default_value = "./piaojue-data")]
        data: PathBuf,
        /// The names and addresses to cover (default: those of the current certificate).
        #[arg(long = "name")]
        names: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// The public key, its fingerprint as printed on the agenda, and a QR code of it.
    Show {
        #[arg(long, default_value = "./piaojue-data")]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BoothCommand {
    /// Write the booth (booth.html, assets/, MANIFEST.sha256) into DIR; prints
    /// `booth_hash: HEX` (SHA-256 of MANIFEST.sha256) for `piaojue e2e session-manifest
    /// --booth-hash`.
    Export { dir: PathBuf },
    /// Print the booth_hash of the booth this binary carries.
    Hash,
}

#[derive(Debug, Subcommand)]
enum OfficerCommand {
    /// The credential officer's key (its public half goes into the session manifest) and the
    /// cast-notice listener's certificate, in DIR, sealed under the passphrase.
    Init {
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Extra host names or addresses of this laptop for the listener's certificate.
        #[arg(long = "tls-name")]
        tls_names: Vec<String>,
    },
    /// One sealed card per deputy of ROSTER (CSV id,name,delegation,seat) without one: the
    /// seed as a QR code and as checked groups, on printable A4 sheets written to --out.
    Cards {
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// The printable sheet (default DIR/cards.html).
        #[arg(long)]
        out: Option<PathBuf>,
        roster: PathBuf,
    },
    /// A new card for a deputy who lost theirs; the old seed leaves every later roll call.
    ReplaceCard {
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        reason: String,
        deputy: String,
    },
    /// Open an encrypted vote: its manifest (fresh nonce) and the roll call of the deputies
    /// present, confirmed against the hall's count.
    Open {
        #[arg(long)]
        url: String,
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// The session manifest hash as printed on the agenda (first vote).
        #[arg(long)]
        mh: Option<String>,
        #[arg(long = "vote-id")]
        vote_id: String,
        /// motion, per_item, approve_up_to_n or satisfaction.
        #[arg(long = "type")]
        vote_type: String,
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[arg(long)]
        max_yes: Option<u64>,
        /// Satisfaction's labels (3 or 4), in encoding order.
        #[arg(long = "option")]
        options: Vec<String>,
        /// The number of deputies present as counted in the hall.
        #[arg(long)]
        confirm_present: Option<u64>,
    },
    /// Receive the tablets' cast notices over HTTPS (POST /notice).
    Serve {
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long, default_value = "0.0.0.0:8444")]
        listen: String,
    },
    /// After the appliance closed a vote: check every noticed tracker against its list and
    /// sign the closing roll call with the count of notices.
    Close {
        #[arg(long)]
        url: String,
        /// The officer's state directory.
        #[arg(long, default_value = "piaojue-officer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        vote: String,
    },
}

#[derive(Debug, Subcommand)]
enum ScrutineerCommand {
    /// The key ceremony (密钥仪式, SPEC-E2E §8) on this laptop, step by step: every board
    /// message is verified here; the key share is sealed in DIR under the passphrase
    /// (--passphrase-file or PIAOJUE_PASSPHRASE).
    Ceremony {
        /// The appliance, e.g. https://10.0.0.1:8443 (with the global --cacert).
        #[arg(long)]
        url: String,
        /// This scrutineer's state directory.
        #[arg(long, default_value = "piaojue-scrutineer")]
        dir: PathBuf,
        /// The key file of `piaojue scrutineer keygen` (first run; then kept sealed in DIR).
        #[arg(long)]
        key: Option<PathBuf>,
        /// The session manifest hash mh as printed on the agenda (first run).
        #[arg(long)]
        mh: Option<String>,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        /// The dry run's name: its vote_id is dry-run-NAME (one per sitting day).
        #[arg(long, default_value = "ceremony")]
        dry_run: String,
        /// Agree to the secretariat's restart with this attempt number (after checking its
        /// participants and reason in the hall).
        #[arg(long)]
        accept_restart: Option<u64>,
    },
    /// Verify an encrypted vote's ballots on this laptop as they arrive (SPEC-E2E §9.2a G2),
    /// until the vote closes; `decrypt` then has only the last ones left.
    Watch {
        #[arg(long)]
        url: String,
        /// This scrutineer's state directory.
        #[arg(long, default_value = "piaojue-scrutineer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
        vote: String,
    },
    /// The pre-decryption checklist G1–G6, then this scrutineer's partial decryption of the
    /// vote's totals, once per vote; refused with the failing check's name.
    Decrypt {
        #[arg(long)]
        url: String,
        /// This scrutineer's state directory.
        #[arg(long, default_value = "piaojue-scrutineer")]
        dir: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// The list hash as shown on the hall screen (typed or scanned).
        #[arg(long)]
        list_hash: Option<String>,
        /// Deputies present (出席) as announced in the hall.
        #[arg(long)]
        hall_present: Option<u64>,
        /// The legal minimum participation.
        #[arg(long)]
        quorum: Option<u64>,
        /// Send again the partial decryption this device already signed for VOTE (the same
        /// list hash only), e.g. after a crash or a lost answer: no new decryption.
        #[arg(long)]
        resend: bool,
        vote: String,
    },
    /// Check a ballot the booth revealed for 核验 (Benaloh audit, SPEC-E2E §12) on this
    /// independent device: valid, the tracker the booth showed, and it re-encrypts to the
    /// revealed choices. FILE is the booth's QR content (`piaojue-audit/1`), or - for stdin.
    Audit {
        #[arg(long)]
        url: String,
        /// The session manifest hash as printed on the agenda.
        #[arg(long)]
        mh: String,
        file: PathBuf,
    },
    /// Make this scrutineer's Ed25519 key (file mode 0600); prints the public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Enrol this key with the code on the scrutineer's card; saves the token.
    Enrol {
        #[arg(long)]
        url: String,
        #[arg(long)]
        code: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        token_out: PathBuf,
    },
    /// Verify a closed vote's bundle and, if every check holds, co-sign it.
    Cosign {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token_file: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// The appliance key as printed on the agenda (else taken from the appliance).
        #[arg(long)]
        appliance_key: Option<String>,
        vote: String,
    },
    /// Co-sign a manual check-in (补签到) or a tablet reissue the hall has witnessed: prints
    /// the co-signature for the secretariat (`piaojue admin checkin|reissue --cosignature`).
    CosignIntervention {
        #[arg(long)]
        url: String,
        #[arg(long)]
        token_file: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// The appliance key as printed on the agenda (else taken from the appliance).
        #[arg(long)]
        appliance_key: Option<String>,
        /// `manual_checkin` or `reissue`.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        deputy: String,
        /// The reason, exactly as the secretariat will record it.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Session, attendance (应到/实到/请假) and votes.
    Status,
    /// Every vote, as JSON.
    Votes,
    /// Open a vote (checks the quorum, freezes who may vote).
    Open { vote: String },
    /// Close a vote: later casts are refused, the tally is computed.
    Close { vote: String },
    /// Announce a closed vote: its result becomes public.
    Announce { vote: String },
    /// Cancel a vote, with the reason for the record.
    Cancel {
        vote: String,
        #[arg(long)]
        reason: String,
    },
    /// Declare a closed encrypted vote failed when its decryption cannot complete (fewer
    /// than k scrutineers, a closing roll call they refuse, the officer's laptop lost): its
    /// bundle is published without totals; re-vote or record a manual count.
    DeclareFailed {
        vote: String,
        #[arg(long)]
        reason: String,
    },
    /// 重新表决: repeat a cancelled vote, or one declared failed, as a new draft that names
    /// it (same title, rules, items and mode; a new id).
    Revote { vote: String },
    /// 对并列项目重新票决 / 就剩余名额另行票决: the run-off an announced 票决 calls for under
    /// its rules (tie_rule revote_tied, shortfall_rule revote_remaining), as a new draft.
    Runoff { vote: String },
    /// tie_rule chair_decides: record the presiding chair's choice among the tied candidates.
    ChairDecides {
        vote: String,
        /// A chosen candidate; repeat for each seat left.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        #[arg(long)]
        note: String,
    },
    /// Record a manual count (举手 / 纸质票) from a JSON file (docs/procedures.md):
    /// `manual-count VOTE FILE` for a cancelled or failed vote, `manual-count --new FILE` for
    /// a new vote (title, rules_sha256 and items in the file). The scrutineers then co-sign
    /// it before it is announced.
    ManualCount {
        /// The cancelled or failed vote it replaces (with --new: the file).
        vote: String,
        /// The count: method, present, counts, counted_by, note.
        file: Option<PathBuf>,
        /// The file, as a flag (instead of the second argument).
        #[arg(long = "file", value_name = "FILE")]
        file_flag: Option<PathBuf>,
        /// A new vote, not replacing one.
        #[arg(long)]
        new: bool,
    },
    /// 人大评: create a 满意度测评 of the projects a 票决 adopted, from its bundle (a file,
    /// this or an earlier session's) or from a vote id of this session.
    SatisfactionFrom {
        /// A bundle file, or a vote id (`v3`).
        bundle: String,
        #[arg(long)]
        title: String,
        /// SHA-256 of the adopted satisfaction rules document.
        #[arg(long)]
        rules: String,
        /// The appliance key that must have signed the source (hex; default: the key it names).
        #[arg(long)]
        source_key: Option<String>,
        #[arg(long)]
        mode: Option<String>,
    },
    /// The result of a closed or announced vote, as JSON.
    Result { vote: String },
    /// Import the roster (CSV: id,name,delegation,seat).
    Roster { file: PathBuf },
    /// Adopt a rules document (its exact bytes are hashed and frozen).
    Rules { file: PathBuf },
    /// Create a vote from adopted rules.
    Create {
        #[arg(long)]
        title: String,
        /// SHA-256 of the adopted rules document.
        #[arg(long)]
        rules: String,
        /// An item (candidate project, motion, 测评 item); repeat for each.
        #[arg(long = "item", required = true)]
        items: Vec<String>,
        /// `plain` or `encrypted` (default: encrypted for a secret vote once the key
        /// ceremony has completed, else plain).
        #[arg(long)]
        mode: Option<String>,
    },
    /// Issue enrolment codes to every deputy without a tablet or a code (printed once).
    Codes,
    /// Check a deputy in on their behalf (补签到), with the reason for the record.
    Checkin {
        deputy: String,
        #[arg(long)]
        reason: String,
        /// A scrutineer's co-signature, as `piaojue scrutineer cosign-intervention` prints it
        /// (`{"scrutineer": "s1", "signature": "…"}`).
        #[arg(long)]
        cosignature: Option<String>,
    },
    /// Publish the encrypted-ballot session manifest (as `piaojue e2e session-manifest`
    /// wrote it): once per session; prints mh.
    PublishManifest { file: PathBuf },
    /// Check a deputy out (中途退场) on their behalf, with the reason for the record.
    Checkout {
        deputy: String,
        #[arg(long)]
        reason: String,
    },
    /// Record a deputy's leave (请假), with the reason for the record.
    Leave {
        deputy: String,
        #[arg(long)]
        reason: String,
    },
    /// A broken or lost tablet: revoke it and issue a new code (printed once). For a deputy
    /// voting in an open vote only with a scrutineer's co-signature.
    Reissue {
        deputy: String,
        #[arg(long)]
        reason: String,
        /// A scrutineer's co-signature, as `piaojue scrutineer cosign-intervention` prints it.
        #[arg(long)]
        cosignature: Option<String>,
    },
}

/// Runs the command line; `main` returns what this returns.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    if let Some(ca) = cli.cacert.clone() {
        if !ca.is_file() {
            eprintln!("error: --cacert {}: no such file", ca.display());
            return ExitCode::from(EXIT_USAGE);
        }
        crate::tls::trust(ca);
    }
    match cli.command {
        Command::Tls {
            command: TlsCommand::Renew { data, names },
        } => {
            let names = (!names.is_empty()).then_some(names);
            match crate::tls::renew(&data, names.as_deref()) {
                Ok(n) => {
                    crate::say!("renewed the server certificate for {}", n.join(", "));
                    crate::say!("a running appliance loads it within 5 seconds");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        Command::Keys {
            command: KeysCommand::Show { data },
        } => keys_show(&data),
        Command::Tally { file, text } => tally(&file, text),
        Command::Seal { data, archive } => in_runtime(async move {
            match crate::archive::seal(&data, &archive).await {
                Ok(s) => {
                    crate::say!(
                        "sealed:     {} plain secret votes, {} deputies' cast marks cleared; the store rewritten; no vote opens from now",
                        s.votes,
                        s.marks
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Err(EXIT_USAGE)
                }
            }
        }),
        Command::Archive { data, out } => in_runtime(async move {
            match crate::archive::write(&data, &out).await {
                Ok(m) => {
                    crate::say!(
                        "archive:    {} ({} votes, {} bundles)",
                        out.display(),
                        m.votes.len(),
                        m.chain.len()
                    );
                    crate::say!("key:        {}", m.appliance_key);
                    crate::say!(
                        "verify:     piaojue verify --archive {} --key {}",
                        out.display(),
                        m.appliance_key
                    );
                    Ok(())
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Err(EXIT_USAGE)
                }
            }
        }),
        Command::Init {
            data,
            session_name,
            passphrase_file,
            tls_names,
        } => init(&data, &session_name, passphrase_file.as_deref(), &tls_names),
        Command::Serve {
            data,
            listen,
            demo,
            demo_deputies,
            fresh,
            tls,
        } => in_runtime(async move {
            if fresh {
                appliance::remove_demo(&data).map_err(|e| {
                    eprintln!("error: {e}");
                    EXIT_USAGE
                })?;
            }
            appliance::serve(ServeOptions {
                data,
                listen,
                demo,
                demo_deputies,
                tls,
            })
            .await
            .map_err(|e| {
                eprintln!("error: {e}");
                EXIT_USAGE
            })
        }),
        Command::Verify {
            archive: Some(archive),
            key,
            fingerprint,
            json,
            scrutineers,
            ..
        } => in_runtime(async move {
            let pin = |k: Option<String>, f: Option<String>| -> Result<_, String> {
                let key = match k {
                    Some(k) => Some(
                        piaojue_core::crypto::public_key(k.trim())
                            .map_err(|e| format!("--key: {e}"))?,
                    ),
                    None => None,
                };
                let fp = match f {
                    Some(f) => Some(
                        piaojue_core::crypto::parse_fingerprint(&f)
                            .map_err(|e| format!("--fingerprint: {e}"))?,
                    ),
                    None => None,
                };
                Ok((key, fp))
            };
            let agenda = match scrutineers.as_deref().map(observer::read_scrutineer_keys) {
                Some(Err(e)) => {
                    eprintln!("error: {e}");
                    return Err(EXIT_USAGE);
                }
                Some(Ok(keys)) => Some(keys),
                None => None,
            };
            let result = pin(key, fingerprint)
                .and_then(|(k, f)| crate::archive::verify(&archive, k, f, agenda.as_deref(), json));
            match result {
                Ok(true) => Ok(()),
                Ok(false) => Err(EXIT_INVALID),
                Err(e) => {
                    eprintln!("error: {e}");
                    Err(EXIT_USAGE)
                }
            }
        }),
        Command::Verify {
            bundle,
            key,
            fingerprint,
            session,
            previous,
            receipt,
            json,
            hall_present,
            scrutineers,
            parent,
            source,
            archive: None,
        } => in_runtime(async move {
            let options = observer::VerifyOptions {
                bundle: bundle.unwrap_or_default(),
                key,
                fingerprint,
                session,
                previous,
                receipt,
                json,
                hall_present,
                scrutineers,
                parent,
                source,
            };
            match observer::verify(options).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(EXIT_INVALID),
                Err(e) => {
                    eprintln!("error: {e}");
                    Err(EXIT_USAGE)
                }
            }
        }),
        Command::E2e {
            command:
                E2eCommand::SessionManifest {
                    election_id,
                    scrutineer_keys,
                    threshold,
                    officer_key,
                    appliance_key,
                    booth_hash,
                    max_electorate,
                    radix,
                    out,
                },
        } => match crate::e2e_cli::session_manifest(
            crate::e2e_cli::ManifestArgs {
                election_id,
                scrutineer_keys,
                threshold,
                officer_key,
                appliance_key,
                booth_hash,
                max_electorate,
                radix,
            },
            &out,
        ) {
            Ok(mh) => {
                crate::say!("mh {mh}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::E2e {
            command:
                E2eCommand::SampleBundle {
                    seed,
                    guardians,
                    threshold,
                    ballots,
                    out,
                },
        } => match crate::e2e_cli::sample_bundle(&seed, guardians, threshold, ballots, &out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::Scrutineer { command } => in_runtime(scrutineer(command)),
        Command::Booth { command } => match command {
            BoothCommand::Export { dir } => match crate::web::booth::export(&dir) {
                Ok(hash) => {
                    crate::say!(
                        "{} files written to {}",
                        crate::web::booth::files().len() + 1,
                        dir.display()
                    );
                    crate::say!("booth_hash: {}", piaojue_core::e2e::hex::encode(&hash));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", dir.display());
                    ExitCode::from(2)
                }
            },
            BoothCommand::Hash => {
                crate::say!(
                    "booth_hash: {}",
                    piaojue_core::e2e::hex::encode(&crate::web::booth::booth_hash())
                );
                ExitCode::SUCCESS
            }
        },
        Command::Officer { command } => in_runtime(officer(command)),
        Command::Loadtest { args } => forward_loadtest(cli.cacert.as_deref(), &args),
        Command::Admin {
            url,
            passphrase_file,
            command,
        } => in_runtime(async move {
            admin(&url, &passphrase_file, command).await.map_err(|e| {
                eprintln!("error: {e}");
                e.exit_code()
            })
        }),
    }
}

/// `admin checkout|leave`: the secretariat records a deputy's presence, with a reason.
async fn presence_command(
    admin: &Admin,
    deputy: &str,
    what: &str,
    reason: String,
) -> Result<(), AdminError> {
    let r = admin
        .post_json(
            &format!("/api/operator/deputies/{deputy}/{what}"),
            json!({ "reason": reason }),
        )
        .await?;
    crate::say!(
        "{} {} {}",
        r["deputy"]["id"].as_str().unwrap_or(""),
        r["deputy"]["name"].as_str().unwrap_or(""),
        r["deputy"]["presence_zh"].as_str().unwrap_or("")
    );
    Ok(())
}

/// The body of a manual check-in or reissue, with a scrutineer's co-signature if given.
fn intervention_body(
    reason: String,
    cosignature: Option<&str>,
) -> Result<serde_json::Value, AdminError> {
    let mut body = json!({ "reason": reason });
    if let Some(text) = cosignature {
        let c: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            AdminError::Failed(format!(
                "--cosignature: not the JSON `piaojue scrutineer cosign-intervention` prints: {e}"
            ))
        })?;
        body["cosignature"] = c;
    }
    Ok(body)
}

/// Runs `piaojue-loadtest` from beside this binary with `args`, and exits as it does.
fn forward_loadtest(cacert: Option<&Path>, args: &[String]) -> ExitCode {
    let tool = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("piaojue-loadtest")));
    let Some(tool) = tool.filter(|t| t.is_file()) else {
        eprintln!(
            "error: piaojue-loadtest is not installed beside piaojue (cargo build --release builds both)"
        );
        return ExitCode::from(EXIT_USAGE);
    };
    let mut command = std::process::Command::new(&tool);
    if let Some(ca) = cacert {
        command.arg("--cacert").arg(ca);
    }
    match command.args(args).status() {
        Ok(status) => ExitCode::from(status.code().map_or(EXIT_USAGE, |c| c as u8)),
        Err(e) => {
            eprintln!("error: {}: {e}", tool.display());
            ExitCode::from(EXIT_USAGE)
        }
    }
}

const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn in_runtime(f: impl std::future::Future<Output = Result<(), u8>>) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match runtime.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => ExitCode::from(code),
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PIAOJUE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: a journal or a log file gets plain text.
    use std::io::IsTerminal as _;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

fn keys_show(data: &Path) -> ExitCode {
    let key = match appliance::load_key(data) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let fingerprint = key.fingerprint();
    crate::say!("public key:      {}", key.public_hex());
    crate::say!(
        "key fingerprint: {}",
        crypto::fingerprint_grouped(&fingerprint)
    );
    // The public key as a QR code, for observers' phones and the printed agenda.
    if let Ok(code) = qrcode::QrCode::new(key.public_hex().as_bytes()) {
        let text = code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        crate::say!("{text}");
    }
    ExitCode::SUCCESS
}

fn init(
    data: &Path,
    session_name: &str,
    passphrase_file: Option<&Path>,
    tls_names: &[String],
) -> ExitCode {
    match appliance::init(data, session_name, passphrase_file, tls_names) {
        Ok(created) => {
            crate::say!("appliance created in {}", data.display());
            crate::say!("session:         {session_name}");
            crate::say!("public key:      {}", created.public_key);
            crate::say!(
                "key fingerprint: {}",
                crypto::fingerprint_grouped(&created.fingerprint)
            );
            crate::say!(
                "TLS CA:          {} (install it on the tablets and observers' machines)",
                data.join("tls/ca.pem").display()
            );
            if let Some(p) = created.passphrase {
                crate::say!(
                    "operator passphrase (shown once, write it down): {}",
                    p.as_str()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                ApplianceError::Usage(_) | ApplianceError::Io { .. } => EXIT_USAGE,
                _ => EXIT_INVALID,
            })
        }
    }
}

async fn admin(url: &str, passphrase_file: &Path, command: AdminCommand) -> Result<(), AdminError> {
    let admin = Admin::login(url, passphrase_file).await?;
    let print = |v: &serde_json::Value| {
        // Pretty-printing a JSON value cannot fail; print it plain if it ever did.
        match serde_json::to_string_pretty(v) {
            Ok(text) => crate::say!("{text}"),
            Err(_) => crate::say!("{v}"),
        }
    };
    let read = |file: &Path, max: usize| read_capped(file, max).map_err(AdminError::Failed);
    match command {
        AdminCommand::Status => {
            let s = admin.get("/api/operator/status").await?;
            let a = &s["attendance"];
            crate::say!("session:     {}", s["session"].as_str().unwrap_or(""));
            crate::say!(
                "fingerprint: {}",
                crypto::fingerprint_grouped(s["fingerprint"].as_str().unwrap_or(""))
            );
            crate::say!(
                "attendance:  应到 {} 实到 {} 请假 {} 未签到 {} 中途退场 {}",
                a["seated"],
                a["present"],
                a["leave"],
                a["absent"],
                a["left"]
            );
            crate::say!(
                "audit:       {} entries, head {}",
                s["audit"]["seq"],
                s["audit"]["head"].as_str().unwrap_or("")
            );
            crate::say!("votes:");
            for v in s["votes"].as_array().into_iter().flatten() {
                crate::say!("  {}", vote_line(v));
            }
        }
        AdminCommand::Votes => print(&admin.get("/api/operator/votes").await?),
        AdminCommand::Open { vote } => transition(&admin, &vote, "open").await?,
        AdminCommand::Close { vote } => transition(&admin, &vote, "close").await?,
        AdminCommand::Announce { vote } => {
            transition(&admin, &vote, "announce").await?;
            let r = admin
                .get(&format!("/api/operator/votes/{vote}/result"))
                .await?;
            crate::say!("{}", r["announcement"].as_str().unwrap_or(""));
        }
        AdminCommand::Cancel { vote, reason } => {
            let v = admin
                .post_json(
                    &format!("/api/operator/votes/{vote}/cancel"),
                    json!({ "reason": reason }),
                )
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::DeclareFailed { vote, reason } => {
            let v = admin
                .post_json(
                    &format!("/api/operator/votes/{vote}/declare-failed"),
                    json!({ "reason": reason }),
                )
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::Revote { vote } => {
            let v = admin
                .post_json(&format!("/api/operator/votes/{vote}/revote"), json!({}))
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::Runoff { vote } => {
            let v = admin
                .post_json(&format!("/api/operator/votes/{vote}/runoff"), json!({}))
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::ChairDecides { vote, items, note } => {
            let v = admin
                .post_json(
                    &format!("/api/operator/votes/{vote}/chair-decision"),
                    json!({ "items": items, "note": note }),
                )
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::ManualCount {
            vote,
            file,
            file_flag,
            new,
        } => {
            let (path, file) = match (new, file.or(file_flag)) {
                (false, Some(f)) => (format!("/api/operator/votes/{vote}/manual-count"), f),
                (true, None) => (
                    "/api/operator/manual-counts".to_string(),
                    PathBuf::from(&vote),
                ),
                (true, Some(_)) => {
                    return Err(AdminError::Failed(
                        "--new takes the count's file only (no VOTE)".into(),
                    ));
                }
                (false, None) => {
                    return Err(AdminError::Failed(
                        "give the cancelled or failed VOTE and the count's FILE, or --new FILE"
                            .into(),
                    ));
                }
            };
            let bytes = read(&file, 1024 * 1024)?;
            let body: serde_json::Value = serde_json::from_slice(&bytes)
                .map_err(|e| AdminError::Failed(format!("{}: not JSON: {e}", file.display())))?;
            let v = admin.post_json(&path, body).await?;
            crate::say!("{}", vote_line(&v["vote"]));
            crate::say!(
                "bundle:     /api/operator/votes/{}/bundle (the scrutineers co-sign it: piaojue scrutineer cosign)",
                v["vote"]["id"].as_str().unwrap_or("")
            );
        }
        AdminCommand::SatisfactionFrom {
            bundle,
            title,
            rules,
            source_key,
            mode,
        } => {
            let mut body = json!({ "title": title, "rules_sha256": rules });
            if piaojue_core::ids::VoteId::parse(&bundle).is_some() {
                body["source_vote"] = json!(bundle);
            } else {
                let bytes = read(Path::new(&bundle), piaojue_core::bundle::MAX_BUNDLE_BYTES)?;
                body["bundle"] = serde_json::from_slice(&bytes).map_err(|e| {
                    AdminError::Failed(format!("{bundle}: not a bundle envelope: {e}"))
                })?;
            }
            if let Some(k) = source_key {
                body["source_key"] = json!(k);
            }
            if let Some(m) = mode {
                body["mode"] = json!(m);
            }
            let v = admin
                .post_json("/api/operator/votes/from-bundle", body)
                .await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::Result { vote } => print(
            &admin
                .get(&format!("/api/operator/votes/{vote}/result"))
                .await?,
        ),
        AdminCommand::Roster { file } => {
            let bytes = read(&file, crate::session::MAX_ROSTER_BYTES)?;
            let r = admin
                .call(
                    reqwest::Method::POST,
                    "/api/operator/roster",
                    Some(("text/csv; charset=utf-8", bytes)),
                )
                .await?;
            crate::say!("imported {} deputies", r["imported"]);
        }
        AdminCommand::Rules { file } => {
            let bytes = read(&file, piaojue_core::rules::MAX_DOCUMENT_BYTES)?;
            let r = admin
                .call(
                    reqwest::Method::POST,
                    "/api/operator/rules",
                    Some(("application/json", bytes)),
                )
                .await?;
            crate::say!(
                "adopted {} {}",
                r["sha256"].as_str().unwrap_or(""),
                r["title"].as_str().unwrap_or("")
            );
        }
        AdminCommand::Create {
            title,
            rules,
            items,
            mode,
        } => {
            let mut body = json!({ "title": title, "rules_sha256": rules, "items": items });
            if let Some(m) = mode {
                body["mode"] = json!(m);
            }
            let v = admin.post_json("/api/operator/votes", body).await?;
            crate::say!("{}", vote_line(&v["vote"]));
        }
        AdminCommand::Codes => {
            let r = admin.post_json("/api/operator/codes", json!({})).await?;
            crate::say!("deputy,code");
            for c in r["codes"].as_array().into_iter().flatten() {
                crate::say!(
                    "{},{}",
                    c["deputy"].as_str().unwrap_or(""),
                    c["code"].as_str().unwrap_or("")
                );
            }
        }
        AdminCommand::Checkin {
            deputy,
            reason,
            cosignature,
        } => {
            let r = admin
                .post_json(
                    &format!("/api/operator/deputies/{deputy}/checkin"),
                    intervention_body(reason, cosignature.as_deref())?,
                )
                .await?;
            crate::say!(
                "{} {} {}",
                r["deputy"]["id"].as_str().unwrap_or(""),
                r["deputy"]["name"].as_str().unwrap_or(""),
                r["deputy"]["presence_zh"].as_str().unwrap_or("")
            );
        }
        AdminCommand::PublishManifest { file } => {
            let bytes = read(&file, 64 * 1024)?;
            let r = admin
                .call(
                    reqwest::Method::POST,
                    "/api/operator/e2e/manifest",
                    Some(("application/json", bytes)),
                )
                .await?;
            crate::say!("mh {}", r["mh_grouped"].as_str().unwrap_or(""));
        }
        AdminCommand::Checkout { deputy, reason } => {
            presence_command(&admin, &deputy, "checkout", reason).await?;
        }
        AdminCommand::Leave { deputy, reason } => {
            presence_command(&admin, &deputy, "leave", reason).await?;
        }
        AdminCommand::Reissue {
            deputy,
            reason,
            cosignature,
        } => {
            let r = admin
                .post_json(
                    &format!("/api/operator/deputies/{deputy}/reissue"),
                    intervention_body(reason, cosignature.as_deref())?,
                )
                .await?;
            crate::say!(
                "{} {}",
                r["deputy"].as_str().unwrap_or(""),
                r["code"].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

async fn officer(command: OfficerCommand) -> Result<(), u8> {
    let fail = |f: crate::guardian::Failure| {
        eprintln!("error: {}", f.message);
        f.code
    };
    match command {
        OfficerCommand::Init {
            dir,
            passphrase_file,
            tls_names,
        } => {
            let public =
                crate::officer::init(&dir, passphrase_file.as_deref(), &tls_names).map_err(fail)?;
            crate::say!("officer key: {public}");
            crate::say!(
                "fingerprint: {}",
                piaojue_core::crypto::fingerprint_grouped(&piaojue_core::crypto::sha256_hex(
                    &piaojue_core::e2e::hex::decode(&public, "key").unwrap_or_default()
                ))
            );
            crate::say!(
                "listener CA (for the tablets): {}",
                dir.join("tls/ca.pem").display()
            );
        }
        OfficerCommand::Cards {
            dir,
            passphrase_file,
            out,
            roster,
        } => {
            let out = out.unwrap_or_else(|| dir.join("cards.html"));
            let n = crate::officer::cards(&dir, passphrase_file.as_deref(), &roster, &out)
                .map_err(fail)?;
            crate::say!(
                "{n} new card(s) in {} (print, seal, then delete the file)",
                out.display()
            );
        }
        OfficerCommand::ReplaceCard {
            dir,
            passphrase_file,
            out,
            reason,
            deputy,
        } => {
            crate::officer::replace_card(&dir, passphrase_file.as_deref(), &deputy, &reason, &out)
                .map_err(fail)?;
            crate::say!(
                "new card for {deputy} in {}; the old card no longer votes",
                out.display()
            );
        }
        OfficerCommand::Open {
            url,
            dir,
            passphrase_file,
            mh,
            vote_id,
            vote_type,
            items,
            max_yes,
            options,
            confirm_present,
        } => {
            let r = crate::officer::open(crate::officer::OpenOptions {
                url,
                dir,
                passphrase_file,
                mh,
                vote_id,
                vote_type,
                items,
                max_yes,
                options,
                confirm_present,
            })
            .await
            .map_err(fail)?;
            crate::say!(
                "opened {} (vmh {}) with {} deputies",
                r["vote_id"].as_str().unwrap_or(""),
                r["vmh"].as_str().unwrap_or(""),
                r["enabled"]
            );
        }
        OfficerCommand::Serve {
            dir,
            passphrase_file,
            listen,
        } => crate::officer::serve(dir, passphrase_file, listen)
            .await
            .map_err(fail)?,
        OfficerCommand::Close {
            url,
            dir,
            passphrase_file,
            vote,
        } => {
            crate::officer::close(&url, &dir, passphrase_file.as_deref(), &vote)
                .await
                .map_err(fail)?;
        }
    }
    Ok(())
}

async fn scrutineer(command: ScrutineerCommand) -> Result<(), u8> {
    let fail = |e: observer::UsageError| {
        eprintln!("error: {e}");
        EXIT_USAGE
    };
    match command {
        ScrutineerCommand::Ceremony {
            url,
            dir,
            key,
            mh,
            passphrase_file,
            timeout,
            dry_run,
            accept_restart,
        } => {
            let o = crate::guardian::Options {
                accept_restart,
                url,
                dir,
                key,
                mh,
                passphrase_file,
                timeout: std::time::Duration::from_secs(timeout),
                dry_run,
            };
            if let Err(f) = crate::guardian::ceremony(o).await {
                eprintln!("error: {}", f.message);
                return Err(f.code);
            }
        }
        ScrutineerCommand::Watch {
            url,
            dir,
            passphrase_file,
            timeout,
            vote,
        } => {
            let o = crate::guardian::VoteOptions {
                url,
                dir,
                passphrase_file,
                vote,
                list_hash: None,
                hall_present: None,
                quorum: None,
                resend: false,
                timeout: std::time::Duration::from_secs(timeout),
            };
            if let Err(f) = crate::guardian::watch(o).await {
                eprintln!("error: {}", f.message);
                return Err(f.code);
            }
        }
        ScrutineerCommand::Decrypt {
            url,
            dir,
            passphrase_file,
            list_hash,
            hall_present,
            quorum,
            resend,
            vote,
        } => {
            let o = crate::guardian::VoteOptions {
                url,
                dir,
                passphrase_file,
                vote,
                list_hash,
                hall_present,
                quorum,
                resend,
                timeout: std::time::Duration::from_secs(600),
            };
            if let Err(f) = crate::guardian::decrypt(o).await {
                eprintln!("error: {}", f.message);
                return Err(f.code);
            }
        }
        ScrutineerCommand::Audit { url, mh, file } => {
            match crate::guardian::audit(&url, &mh, &file).await {
                Ok(lines) => {
                    for l in lines {
                        crate::say!("{l}");
                    }
                }
                Err(f) => {
                    eprintln!("error: {}", f.message);
                    return Err(f.code);
                }
            }
        }
        ScrutineerCommand::Keygen { out } => {
            let public = observer::keygen(&out).map_err(fail)?;
            crate::say!("public key: {public}");
            crate::say!("key file:   {} (keep it on this machine)", out.display());
        }
        ScrutineerCommand::Enrol {
            url,
            code,
            key,
            token_out,
        } => {
            let s = observer::enrol(&url, &code, &key, &token_out)
                .await
                .map_err(fail)?;
            crate::say!(
                "enrolled as {} {}; token in {}",
                s["id"].as_str().unwrap_or(""),
                s["name"].as_str().unwrap_or(""),
                token_out.display()
            );
        }
        ScrutineerCommand::Cosign {
            url,
            token_file,
            key,
            appliance_key,
            vote,
        } => {
            let report = observer::cosign(&url, &token_file, &key, appliance_key.as_deref(), &vote)
                .await
                .map_err(fail)?;
            observer::print_report(&report);
            if !report.holds_but_for_cosignatures() {
                eprintln!("error: the bundle does not verify; not co-signed");
                return Err(EXIT_INVALID);
            }
            crate::say!("co-signed {vote}");
        }
        ScrutineerCommand::CosignIntervention {
            url,
            token_file,
            key,
            appliance_key,
            kind,
            deputy,
            reason,
        } => {
            let line = observer::cosign_intervention(
                &url,
                &token_file,
                &key,
                appliance_key.as_deref(),
                &kind,
                &deputy,
                &reason,
            )
            .await
            .map_err(fail)?;
            crate::say!("{line}");
        }
    }
    Ok(())
}

async fn transition(admin: &Admin, vote: &str, action: &str) -> Result<(), AdminError> {
    if piaojue_core::ids::VoteId::parse(vote).is_none() {
        return Err(AdminError::Failed(format!(
            "`{vote}` is not a vote id (e.g. v1)"
        )));
    }
    let v = admin
        .post_json(&format!("/api/operator/votes/{vote}/{action}"), json!({}))
        .await?;
    crate::say!("{}", vote_line(&v["vote"]));
    Ok(())
}

fn tally(file: &Path, text_only: bool) -> ExitCode {
    let bytes = match read_capped(file, MAX_TALLY_INPUT_BYTES) {
        Ok(bytes) => bytes,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let input = match TallyInput::parse(&bytes) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_INVALID);
        }
    };
    let report = input.decide();
    for warning in &report.outcome.warnings {
        eprintln!("warning: {warning}");
    }
    let out = if text_only {
        format!("{}\n", report.outcome.announcement)
    } else {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => format!("{json}\n"),
            Err(e) => {
                eprintln!("error: cannot print the outcome: {e}");
                return ExitCode::from(EXIT_USAGE);
            }
        }
    };
    match std::io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write the outcome: {e}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Reads a file (or stdin for `-`), at most `max + 1` bytes so a huge input costs nothing;
/// the parser then refuses anything over `max` with a clear message.
fn read_capped(path: &Path, max: usize) -> Result<Vec<u8>, String> {
    let limit = (max as u64) + 1;
    let mut bytes = Vec::new();
    let result = if path == Path::new("-") {
        std::io::stdin().lock().take(limit).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes))
    };
    result.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(bytes)
}
