//! What a power cut, a failing disk and a read racing a write can do to acknowledged data,
//! against the real binary: strace shows what reaches the disk before each answer, a replay
//! keeps only what was fsynced, an injected `fsync` error stops the process with its own exit
//! status, and a delayed `fsync` shows that no read serves what is not yet on disk.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{ballot_id, repo};

const BIN: &str = env!("CARGO_BIN_EXE_piaojue");

/// The real `piaojue serve --demo`, optionally under strace, in its own process group.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(data: &Path, strace: &[&str]) -> Server {
        let log = data.with_extension(format!("log{}", std::process::id()));
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let args = [
            "serve",
            "--demo",
            "--demo-deputies",
            "5",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ];
        let mut command = if strace.is_empty() {
            Command::new(BIN)
        } else {
            let mut c = Command::new("strace");
            c.args(strace).arg(BIN);
            c
        };
        command.args(args);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command
            .env("PIAOJUE_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start piaojue (and strace, which .ci/run installs)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "the server did not start:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(url) = line.trim().strip_prefix("listening:") {
                break url.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, base, log }
    }

    /// SIGKILL to the whole group (strace and its tracee alike).
    fn kill9(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// strace attached to a running process (every thread), until dropped.
struct Attached(Child);

impl Attached {
    fn to(pid: u32, args: &[&str]) -> Attached {
        let mut child = Command::new("strace")
            .args(["-f", "-p", &pid.to_string()])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("strace");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        while err.read_line(&mut line).unwrap() > 0 {
            if line.contains("attached") {
                break;
            }
            line.clear();
        }
        assert!(line.contains("attached"), "strace did not attach: {line}");
        std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = err.read_to_string(&mut rest);
        });
        Attached(child)
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        // SIGTERM: strace detaches and leaves the tracee running.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

async fn post(client: &Client, url: String, auth: Auth<'_>, body: Vec<u8>) -> (u16, Value) {
    let mut r = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    match auth {
        Auth::None => {}
        Auth::Cookie(c) => r = r.header("cookie", c),
        Auth::Token(t) => r = r.bearer_auth(t),
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    None,
    Cookie(&'a str),
    Token(&'a str),
}

async fn login(client: &Client, base: &str, data: &Path) -> String {
    let passphrase = std::fs::read_to_string(data.join("demo/operator-passphrase")).unwrap();
    let r = client
        .post(format!("{base}/api/operator/login"))
        .json(&json!({ "passphrase": passphrase.trim() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// A demo appliance with every tablet enrolled and vote v3 open; returns the tokens.
async fn prepared(data: &Path) -> Vec<String> {
    let client = crate::helpers::http();
    let server = Server::start(data, &[]);
    let codes = std::fs::read_to_string(data.join("demo/codes.csv")).unwrap();
    let mut tokens = Vec::new();
    for line in codes.lines().skip(1) {
        let code = line.split(',').nth(2).unwrap();
        let (status, body) = post(
            &client,
            format!("{}/api/tablet/enrol", server.base),
            Auth::None,
            json!({ "code": code }).to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    let out = Command::new(BIN)
        .args(["admin", "--url", &server.base, "--passphrase-file"])
        .arg(data.join("demo/operator-passphrase"))
        .args(["open", "v3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokens
}

/// A valid rules document of about 180 KB: sled writes it to its own file in `store/blobs`.
fn large_rules() -> Vec<u8> {
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(repo("firmware-config/rules/motion.json")).unwrap())
            .unwrap();
    let text = doc["text"].as_str().unwrap().to_string();
    let mut long = String::new();
    while long.len() < 180_000 {
        long.push_str(&text);
        long.push('\n');
    }
    doc["text"] = json!(long.trim_end());
    doc["title"] = json!("大记录：表决议案办法（长文本）");
    serde_json::to_vec(&doc).unwrap()
}

async fn cast(client: &Client, base: &str, token: &str, choice: u8) -> (u16, Value) {
    let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [choice] });
    post(
        client,
        format!("{base}/api/tablet/votes/v3/cast"),
        Auth::Token(token),
        body.to_string().into_bytes(),
    )
    .await
}

/// One system call from an `strace -f` log, its two halves joined if another thread's line
/// came between: the text, and the lines where it began and where it returned.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    text: String,
    start: usize,
    end: usize,
}

impl Call {
    /// The return value (`-1` for an error).
    fn ret(&self) -> i64 {
        let after = self.text.rsplit_once("= ").map_or("", |(_, r)| r).trim();
        let digits: String = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '-')
            .collect();
        digits.parse().unwrap_or(-1)
    }
    /// The path strace (`-y`) shows for the first argument, a descriptor.
    fn fd_path(&self) -> Option<&str> {
        let args = &self.text[self.text.find('(')? + 1..];
        let open = args.find('<')?;
        if !args[..open].chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let close = args[open..].find('>')? + open;
        Some(&args[open + 1..close])
    }
    /// The path of the descriptor a call returned (`= 9</path>`).
    fn ret_path(&self) -> Option<&str> {
        let (_, r) = self.text.rsplit_once("= ")?;
        let open = r.find('<')?;
        Some(&r[open + 1..r.rfind('>')?])
    }
    /// The quoted path arguments, in order.
    fn quoted(&self) -> Vec<String> {
        self.text
            .split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }
    /// The integer arguments after the first (descriptor) one, and before the `)`.
    fn int_args(&self) -> Vec<u64> {
        let Some(open) = self.text.find('(') else {
            return Vec::new();
        };
        let close = self.text.rfind(')').unwrap_or(self.text.len());
        self.text[open + 1..close]
            .rsplit(", ")
            .map_while(|a| a.trim().parse().ok())
            .collect::<Vec<u64>>()
            .into_iter()
            .rev()
            .collect()
    }
}

fn calls(trace: &str) -> Vec<Call> {
    let mut out = Vec::new();
    let mut open: HashMap<String, (String, usize)> = HashMap::new();
    for (i, line) in trace.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        // strace pads the pid.
        let mut rest = rest.trim_start();
        // `-ttt`: a timestamp after the pid.
        if let Some((first, after)) = rest.split_once(' ')
            && first.contains('.')
            && first.parse::<f64>().is_ok()
        {
            rest = after;
        }
        if rest.starts_with("+++") || rest.starts_with("---") {
            continue;
        }
        if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            open.insert(pid.to_string(), (head.trim_end().to_string(), i));
            continue;
        }
        if let Some(tail) = rest.strip_prefix("<... ") {
            let Some((_, tail)) = tail.split_once(" resumed>") else {
                continue;
            };
            if let Some((head, start)) = open.remove(pid) {
                let text = format!("{head}{tail}");
                let name = text.split('(').next().unwrap_or("").to_string();
                out.push(Call {
                    name,
                    text,
                    start,
                    end: i,
                });
            }
            continue;
        }
        let name = rest.split('(').next().unwrap_or("").to_string();
        out.push(Call {
            name,
            text: rest.to_string(),
            start: i,
            end: i,
        });
    }
    out.sort_by_key(|c| c.end);
    out
}

fn parent(path: &str) -> String {
    Path::new(path)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// #6: sled writes a record over about 128 KiB to `store/blobs/<lsn>`; that file and the
/// `blobs` directory are fsynced before the answer, as the store's log is.
#[tokio::test]
async fn a_large_record_s_blob_file_and_directory_are_fsynced_before_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("strace.log");
    drop(Server::start(&data, &[]));
    let trace_arg = trace.to_str().unwrap();
    let server = Server::start(
        &data,
        &[
            "-f",
            "-ttt",
            "-y",
            "-s",
            "200",
            "-o",
            trace_arg,
            "-e",
            "trace=openat,read,recvfrom,write,writev,sendto,fsync,fdatasync",
        ],
    );
    let client = crate::helpers::http();
    let cookie = login(&client, &server.base, &data).await;
    let doc = large_rules();
    assert!(doc.len() > 170_000);
    let (status, body) = post(
        &client,
        format!("{}/api/operator/rules", server.base),
        Auth::Cookie(&cookie),
        doc,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    drop(server);

    let log = std::fs::read_to_string(&trace).unwrap();
    let calls = calls(&log);
    let request = calls
        .iter()
        .position(|c| c.text.contains("POST /api/operator/rules"))
        .expect("the request in the trace");
    let answer = calls[request..]
        .iter()
        .position(|c| {
            ["write", "writev", "sendto"].contains(&c.name.as_str())
                && c.text.contains("adopted_at")
        })
        .map(|i| i + request)
        .expect("the answer in the trace");
    let between = &calls[request..answer];
    let blobs_dir = data.join("store/blobs");
    let blobs_dir = blobs_dir.to_str().unwrap();
    let created: Vec<String> = between
        .iter()
        .filter(|c| c.name == "openat" && c.text.contains("O_CREAT") && c.ret() >= 0)
        .filter_map(|c| c.ret_path().map(str::to_string))
        .filter(|p| p.starts_with(&format!("{blobs_dir}/")))
        .collect();
    let excerpt = || {
        between
            .iter()
            .filter(|c| c.name == "openat" || c.name.contains("sync"))
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        !created.is_empty(),
        "no blob written for a 180 KB record:\n{}",
        excerpt()
    );
    let fsynced = |path: &str, after: usize| {
        between.iter().any(|c| {
            c.end > after && c.name == "fsync" && c.fd_path() == Some(path) && c.ret() == 0
        })
    };
    for blob in &created {
        let made = between
            .iter()
            .find(|c| c.ret_path() == Some(blob.as_str()))
            .unwrap()
            .end;
        assert!(
            fsynced(blob, made),
            "{blob} is never fsynced before the answer:\n{}",
            excerpt()
        );
        assert!(
            fsynced(blobs_dir, made),
            "the blobs directory is not fsynced after {blob} was made:\n{}",
            excerpt()
        );
    }
    let db = data.join("store/db");
    assert!(fsynced(db.to_str().unwrap(), 0), "{}", excerpt());
    eprintln!("between the request and the answer:\n{}", excerpt());
}

/// What the disk holds after a power cut, in the model this test assumes: a file's bytes as of
/// its last `fsync` (bytes written after it are lost: the file is cut back to its size at that
/// `fsync`, and a later overwrite of older bytes reads as zeros), and a directory's new entries
/// only once the directory has been fsynced (a file made or renamed into an unsynced directory
/// is gone). Everything on disk when tracing began counts as durable. Removals count as done.
/// A file: its size now, its size at its last `fsync`, the byte ranges written since.
type FileState = (u64, u64, Vec<(u64, u64)>);

#[derive(Debug, Default)]
struct PowerCut {
    files: HashMap<String, FileState>,
    /// directory → entries made in it and not yet fsynced.
    unsynced_entries: HashMap<String, HashSet<String>>,
    /// descriptor → (path, position).
    fds: HashMap<i64, (String, u64)>,
}

impl PowerCut {
    fn new(store: &Path) -> PowerCut {
        let mut cut = PowerCut::default();
        let mut stack = vec![store.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let meta = e.metadata().unwrap();
                if meta.is_dir() {
                    stack.push(e.path());
                } else {
                    let p = e.path().to_string_lossy().into_owned();
                    cut.files.insert(p, (meta.len(), meta.len(), Vec::new()));
                }
            }
        }
        cut
    }

    fn written(&mut self, path: &str, from: u64, len: u64) {
        let f = self
            .files
            .entry(path.to_string())
            .or_insert((0, 0, Vec::new()));
        f.0 = f.0.max(from + len);
        f.2.push((from, from + len));
    }

    fn created(&mut self, path: &str) {
        self.unsynced_entries
            .entry(parent(path))
            .or_default()
            .insert(path.to_string());
    }

    /// Replays the calls on paths under `store`.
    fn replay(&mut self, calls: &[Call], store: &str) {
        let mine = |p: &str| p == store || p.starts_with(&format!("{store}/"));
        for c in calls {
            let ret = c.ret();
            match c.name.as_str() {
                "openat" if ret >= 0 => {
                    let Some(path) = c.ret_path().map(str::to_string) else {
                        continue;
                    };
                    if !mine(&path) {
                        self.fds.remove(&ret);
                        continue;
                    }
                    if c.text.contains("O_CREAT") && !self.files.contains_key(&path) {
                        self.files.insert(path.clone(), (0, 0, Vec::new()));
                        self.created(&path);
                    }
                    if c.text.contains("O_TRUNC")
                        && let Some(f) = self.files.get_mut(&path)
                    {
                        f.0 = 0;
                        f.2.push((0, u64::MAX));
                    }
                    let pos = if c.text.contains("O_APPEND") {
                        self.files.get(&path).map_or(0, |f| f.0)
                    } else {
                        0
                    };
                    self.fds.insert(ret, (path, pos));
                }
                "close" => {
                    if let Some(fd) = c.int_args().first() {
                        self.fds.remove(&(*fd as i64));
                    }
                }
                "write" | "writev" if ret > 0 => {
                    let fd: i64 = c.text[c.name.len() + 1..]
                        .split(['<', ','])
                        .next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(-1);
                    if let Some((path, pos)) = self.fds.get_mut(&fd) {
                        let (path, from) = (path.clone(), *pos);
                        *pos += ret as u64;
                        self.written(&path, from, ret as u64);
                    } else if let Some(path) = c.fd_path().filter(|p| mine(p)) {
                        // A descriptor opened before tracing: treat the write as at its end.
                        let from = self.files.get(path).map_or(0, |f| f.0);
                        self.written(path, from, ret as u64);
                    }
                }
                "pwrite64" | "pwritev" | "pwritev2" if ret > 0 => {
                    if let Some(path) = c.fd_path().filter(|p| mine(p)) {
                        let args = c.int_args();
                        let off = match c.name.as_str() {
                            "pwritev2" => args[args.len().saturating_sub(2)],
                            _ => *args.last().unwrap(),
                        };
                        self.written(path, off, ret as u64);
                    }
                }
                "ftruncate" if ret == 0 => {
                    if let Some(path) = c.fd_path().filter(|p| mine(p))
                        && let Some(len) = c.int_args().last()
                    {
                        let f = self
                            .files
                            .entry(path.to_string())
                            .or_insert((0, 0, Vec::new()));
                        f.0 = *len;
                        f.2.push((*len, u64::MAX));
                    }
                }
                "fsync" | "fdatasync" if ret == 0 => {
                    let Some(path) = c.fd_path().filter(|p| mine(p)) else {
                        continue;
                    };
                    if let Some(f) = self.files.get_mut(path) {
                        f.1 = f.0;
                        f.2.clear();
                    }
                    if c.name == "fsync" {
                        self.unsynced_entries.remove(path);
                    }
                }
                "rename" | "renameat" | "renameat2" if ret == 0 => {
                    let q = c.quoted();
                    let (Some(from), Some(to)) = (q.first(), q.get(1)) else {
                        continue;
                    };
                    if !mine(to) {
                        continue;
                    }
                    let moved = self.files.remove(from).unwrap_or((0, 0, Vec::new()));
                    for set in self.unsynced_entries.values_mut() {
                        set.remove(from);
                    }
                    self.files.insert(to.clone(), moved);
                    self.created(to);
                }
                "unlink" | "unlinkat" if ret == 0 => {
                    for p in c.quoted() {
                        self.files.remove(&p);
                        for set in self.unsynced_entries.values_mut() {
                            set.remove(&p);
                        }
                    }
                }
                "mkdir" | "mkdirat" if ret == 0 => {
                    if let Some(p) = c.quoted().first().filter(|p| mine(p)) {
                        self.created(&p.clone());
                    }
                }
                _ => {}
            }
        }
    }

    /// Turns a copy of the store at `image` (a copy of `store`) into what a power cut leaves;
    /// returns what it dropped, for the failure message.
    fn apply(&self, store: &str, image: &Path) -> Vec<String> {
        let mut dropped = Vec::new();
        let gone: HashSet<&String> = self.unsynced_entries.values().flatten().collect();
        let lost = |p: &str| {
            let mut p = p.to_string();
            while p.len() > store.len() {
                if gone.contains(&p) {
                    return true;
                }
                p = parent(&p);
            }
            false
        };
        let there = |p: &str| image.join(p.strip_prefix(&format!("{store}/")).unwrap());
        for p in &gone {
            if let Some(rel) = p.strip_prefix(&format!("{store}/")) {
                let path = image.join(rel);
                if path.is_dir() {
                    std::fs::remove_dir_all(&path).unwrap();
                } else {
                    let _ = std::fs::remove_file(&path);
                }
                dropped.push(format!("{rel}: its directory entry was never fsynced"));
            }
        }
        for (p, (_, durable, dirty)) in &self.files {
            if lost(p) || !p.starts_with(&format!("{store}/")) {
                continue;
            }
            let path = there(p);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            let mut bytes = std::fs::read(&path).unwrap();
            let before = bytes.clone();
            if meta.len() > *durable {
                bytes.truncate(*durable as usize);
            }
            for (a, b) in dirty {
                let b = (*b).min(bytes.len() as u64) as usize;
                for byte in bytes.iter_mut().take(b).skip(*a as usize) {
                    *byte = 0;
                }
            }
            if bytes != before {
                dropped.push(format!(
                    "{}: {} of {} bytes durable, {} unsynced ranges",
                    p.strip_prefix(store).unwrap(),
                    durable,
                    meta.len(),
                    dirty.len()
                ));
                std::fs::write(&path, bytes).unwrap();
            }
        }
        dropped
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// #6, the crash-consistency check of the design: the appliance adopts a large record and
/// takes ballots under strace; at the last answer the power goes (SIGKILL, then the model of
/// [`PowerCut`] applied to a copy of the data directory); the real binary started on that
/// copy must serve every acknowledged record and ballot.
#[tokio::test]
async fn a_power_cut_after_the_answers_loses_no_acknowledged_large_record_or_ballot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("strace.log");
    let tokens = prepared(&data).await;
    let store = data.join("store");
    let mut cut = PowerCut::new(&store);
    let mut server = Server::start(
        &data,
        &[
            "-f",
            "-y",
            "-s",
            "0",
            "-o",
            trace.to_str().unwrap(),
            "-e",
            "trace=openat,close,write,writev,pwrite64,pwritev,pwritev2,ftruncate,fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat",
        ],
    );
    let client = crate::helpers::http();
    let cookie = login(&client, &server.base, &data).await;
    let mut receipts = Vec::new();
    let (status, r) = cast(&client, &server.base, &tokens[0], 0).await;
    assert_eq!(status, 200, "{r}");
    receipts.push(r["receipt_code"].as_str().unwrap().to_string());
    let doc = large_rules();
    let sha = piaojue_core::crypto::sha256_hex(&doc);
    let (status, body) = post(
        &client,
        format!("{}/api/operator/rules", server.base),
        Auth::Cookie(&cookie),
        doc,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Ballots after the large record: sled stops replaying at a record it cannot read.
    for (i, t) in tokens.iter().enumerate().skip(1).take(3) {
        let (status, r) = cast(&client, &server.base, t, (i % 3) as u8).await;
        assert_eq!(status, 200, "{r}");
        receipts.push(r["receipt_code"].as_str().unwrap().to_string());
    }
    server.kill9();

    let log = std::fs::read_to_string(&trace).unwrap();
    let store_path = store.to_str().unwrap();
    cut.replay(&calls(&log), store_path);
    let image = dir.path().join("image");
    copy_dir(&data, &image);
    let dropped = cut.apply(store_path, &image.join("store"));
    eprintln!("the power cut dropped: {dropped:#?}");

    let server = Server::start(&image, &[]);
    let cookie = login(&client, &server.base, &image).await;
    let rules: Value = client
        .get(format!("{}/api/operator/rules", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        rules.to_string().contains(&sha),
        "the acknowledged large rules document is gone after the power cut (dropped: {dropped:#?})"
    );
    let votes: Value = client
        .get(format!("{}/api/public/votes", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let v3 = votes["votes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "v3")
        .unwrap();
    assert_eq!(
        v3["turnout"]["cast"], 4,
        "acknowledged ballots lost after the power cut (dropped: {dropped:#?})"
    );
    for (t, code) in tokens.iter().zip(&receipts) {
        let me: Value = client
            .get(format!("{}/api/tablet/me", server.base))
            .bearer_auth(t)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(me.to_string().contains(code.as_str()), "{me}");
    }
    let log = std::fs::read_to_string(&server.log).unwrap_or_default();
    assert!(!log.contains("corrupt"), "{log}");
}

/// #11: a failed `fsync` stops the appliance with [`piaojue::store::EXIT_STORAGE_FAILED`]
/// (which `deploy/piaojue.service` does not restart on: see `firmware.rs`), not with SIGABRT,
/// and the cast it was syncing is never acknowledged.
#[tokio::test]
async fn a_failed_fsync_exits_with_the_no_restart_status_and_answers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = prepared(&data).await;
    let mut server = Server::start(&data, &[]);
    let client = crate::helpers::http();
    {
        let _eio = Attached::to(
            server.child.id(),
            &[
                "-o",
                "/dev/null",
                "-e",
                "trace=fsync,fdatasync",
                "-e",
                "inject=fsync,fdatasync:error=EIO",
            ],
        );
        let body = json!({ "vote_id": "v3", "ballot_id": ballot_id(), "choices": [0] });
        let answer = client
            .post(format!("{}/api/tablet/votes/v3/cast", server.base))
            .bearer_auth(&tokens[0])
            .json(&body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        if let Ok(r) = answer {
            panic!("an unsynced cast got an answer: {}", r.status());
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = server.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            status.code(),
            Some(piaojue::store::EXIT_STORAGE_FAILED),
            "{status:?}"
        );
    }
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("could not be synced"), "{log}");
}

/// #12: sled shows a committed transaction at once; a tablet polling `/api/tablet/me` while
/// its cast is being synced must not see `cast: true` (or its receipt) before that sync has
/// returned. Every `fsync` is slowed to 300 ms under strace; in the trace, no `/me` answer
/// that shows the cast is written while an `fsync` is in progress, and one has completed
/// since the cast arrived.
#[tokio::test]
async fn a_read_never_shows_a_cast_before_its_fsync_returned() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("strace.log");
    let tokens = prepared(&data).await;
    let server = Server::start(&data, &[]);
    let client = crate::helpers::http();
    let token = tokens[0].clone();
    let attached = Attached::to(
        server.child.id(),
        &[
            "-ttt",
            "-y",
            "-s",
            "8192",
            "-o",
            trace.to_str().unwrap(),
            "-e",
            "trace=read,recvfrom,write,writev,sendto,fsync,fdatasync",
            "-e",
            "inject=fsync:delay_enter=300000",
        ],
    );
    let poller = {
        let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let me: Value = client
                    .get(format!("{base}/api/tablet/me"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let v3 = me["votes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["id"] == "v3")
                    .cloned()
                    .unwrap();
                if v3["cast"] == true {
                    return v3;
                }
                assert!(Instant::now() < deadline, "the cast never showed");
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, r) = cast(&client, &server.base, &token, 1).await;
    assert_eq!(status, 200, "{r}");
    let seen = poller.await.unwrap();
    assert_eq!(seen["receipt_code"], r["receipt_code"]);
    drop(attached);
    drop(server);

    let log = std::fs::read_to_string(&trace).unwrap();
    let calls = calls(&log);
    let request = calls
        .iter()
        // hyper's first read on a connection is 24 bytes (it checks for the HTTP/2 preface).
        .find(|c| c.text.contains("POST /api/tablet/votes/"))
        .expect("the cast in the trace")
        .end;
    let shown = calls
        .iter()
        .filter(|c| ["write", "writev", "sendto"].contains(&c.name.as_str()))
        .find(|c| c.text.contains("cast\\\":true"))
        .expect("the /me answer showing the cast in the trace");
    let syncs: Vec<&Call> = calls.iter().filter(|c| c.name.contains("sync")).collect();
    let in_flight: Vec<&str> = syncs
        .iter()
        .filter(|c| c.start < shown.start && c.end > shown.start)
        .map(|c| c.text.as_str())
        .collect();
    assert!(
        in_flight.is_empty(),
        "a read showed the cast while its fsync was still running: {in_flight:?}\n{}",
        shown.text
    );
    assert!(
        syncs
            .iter()
            .any(|c| c.start > request && c.end < shown.start && c.ret() == 0),
        "a read showed the cast before any fsync after it:\n{}",
        shown.text
    );
}
