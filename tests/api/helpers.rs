//! A real appliance for tests: `piaojue init` in a temporary directory, the real server on
//! 127.0.0.1:0, reqwest over real sockets.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use piaojue::appliance;
use piaojue::server::{self, AppState};
use piaojue::session::Session;
use piaojue::store::Store;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

pub const PASSPHRASE: &str = "correct horse battery staple";

/// An HTTP client (rustls needs its ring provider chosen before the first client).
pub fn http() -> Client {
    piaojue::tls::install_provider();
    Client::new()
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    _dir: TempDir,
    pub store: Store,
    cookie: Option<String>,
    _shutdown: oneshot::Sender<()>,
}

/// An answer: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn ok(self) -> Value {
        assert!(self.status.is_success(), "{} {}", self.status, self.body);
        self.body
    }
    /// Asserts a refusal with this status and code; returns its body.
    pub fn err(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["error"], code, "{}", self.body);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "every error has a message: {}",
            self.body
        );
        self.body.clone()
    }
}

pub fn init_appliance(dir: &Path) {
    let file = dir.join("passphrase");
    std::fs::write(&file, PASSPHRASE).unwrap();
    appliance::init(&dir.join("data"), "测试县人大会议", Some(&file), &[]).unwrap();
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        init_appliance(dir.path());
        let data = dir.path().join("data");
        let key = Arc::new(appliance::load_key(&data).unwrap());
        let store = Store::open(&data, &key.public_hex()).unwrap();
        let state = AppState::new(Session::new(store.clone(), key), false);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            client: http(),
            _dir: dir,
            store,
            cookie: None,
            _shutdown: tx,
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self._dir.path().join("data")
    }

    /// Stops the appliance and keeps its directory (`data/` inside), as after `systemctl
    /// stop`: what `piaojue archive` reads.
    pub async fn stop(self) -> TempDir {
        let TestApp {
            _dir,
            store,
            client,
            _shutdown,
            ..
        } = self;
        drop(client);
        drop(store);
        let _ = _shutdown.send(());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        _dir
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        match auth {
            Auth::None => {}
            Auth::Operator => r = r.header(COOKIE, self.cookie.clone().expect("logged in")),
            Auth::Token(t) => r = r.header(AUTHORIZATION, format!("Bearer {t}")),
        }
        if let Some((ct, bytes)) = body {
            r = r.header(CONTENT_TYPE, ct).body(bytes);
        }
        let response = r.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    pub async fn post(&self, path: &str, auth: Auth<'_>, body: Value) -> Answer {
        self.request(
            Method::POST,
            path,
            auth,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Answer {
        self.request(Method::GET, path, auth, None).await
    }

    pub async fn login(&mut self) {
        let r = self
            .client
            .post(format!("{}/api/operator/login", self.base))
            .json(&json!({ "passphrase": PASSPHRASE }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cookie = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        self.cookie = Some(cookie.split(';').next().unwrap().to_string());
    }

    /// Roster of `n` demo deputies, the three sample rules adopted; returns the rules' hashes
    /// (project selection, satisfaction, motion).
    pub async fn prepare(&mut self, n: usize) -> Vec<String> {
        self.login().await;
        let mut csv = String::from("id,name,delegation,seat\n");
        for d in appliance::demo_roster(n) {
            csv.push_str(&format!(
                "{},{},{},{}\n",
                d.id, d.name, d.delegation, d.seat
            ));
        }
        let r = self
            .request(
                Method::POST,
                "/api/operator/roster",
                Auth::Operator,
                Some(("text/csv", csv.into_bytes())),
            )
            .await
            .ok();
        assert_eq!(r["imported"], n);
        let mut hashes = Vec::new();
        for f in ["project-selection", "satisfaction", "motion"] {
            let doc = short_period(
                &std::fs::read(repo(&format!("firmware-config/rules/{f}.json"))).unwrap(),
            );
            let r = self
                .request(
                    Method::POST,
                    "/api/operator/rules",
                    Auth::Operator,
                    Some(("application/json", doc.clone())),
                )
                .await
                .ok();
            assert_eq!(r["sha256"], piaojue_core::crypto::sha256_hex(&doc));
            hashes.push(r["sha256"].as_str().unwrap().to_string());
        }
        hashes
    }

    /// Waits (up to 40 s) for the appliance to close a vote whose period ends.
    pub async fn wait_closed(&self, vote: &str) {
        for _ in 0..200 {
            let votes = self.get("/api/public/votes", Auth::None).await.ok();
            let state = votes["votes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["id"] == vote)
                .map(|v| v["state"].clone());
            if state == Some(json!("closed")) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("{vote} did not close at the end of its period");
    }

    /// Issues codes and enrols every deputy; returns (deputy id, token).
    pub async fn enrol_all(&self) -> Vec<(String, String)> {
        let codes = self
            .post("/api/operator/codes", Auth::Operator, json!({}))
            .await
            .ok();
        let mut tokens = Vec::new();
        for c in codes["codes"].as_array().unwrap() {
            let r = self
                .post(
                    "/api/tablet/enrol",
                    Auth::None,
                    json!({ "code": c["code"] }),
                )
                .await
                .ok();
            assert_eq!(r["deputy"]["presence"], "present");
            tokens.push((
                c["deputy"].as_str().unwrap().to_string(),
                r["token"].as_str().unwrap().to_string(),
            ));
        }
        tokens
    }

    pub async fn create_vote(&self, title: &str, rules: &str, items: &[&str]) -> String {
        let r = self
            .post(
                "/api/operator/votes",
                Auth::Operator,
                json!({ "title": title, "rules_sha256": rules, "items": items }),
            )
            .await
            .ok();
        r["vote"]["id"].as_str().unwrap().to_string()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    None,
    Operator,
    Token(&'a str),
}

/// A random ballot id, as a tablet draws it.
pub fn ballot_id() -> String {
    piaojue_core::crypto::hex(&piaojue_core::crypto::random::<16>().unwrap())
}

/// A child process killed (and reaped) when dropped, on success and on a failed assertion alike.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real `piaojue serve ARGS…` and waits for the URL it prints.
pub fn serve(args: &[&str]) -> (Running, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_piaojue"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let running = Running(child);
    let url = loop {
        let line = lines.next().expect("the server starts").unwrap();
        if let Some(u) = line.trim().strip_prefix("listening:") {
            break u.trim().to_string();
        }
    };
    // Keep draining stdout so the server never blocks on it.
    std::thread::spawn(move || for _ in lines {});
    (running, url)
}

/// A rules document with the shortest voting period, so a test waits 15 s, not a minute,
/// for the appliance to close a vote by itself.
pub fn short_period(document: &[u8]) -> Vec<u8> {
    let mut doc: Value = serde_json::from_slice(document).unwrap();
    doc["voting_seconds"] = json!(15);
    serde_json::to_vec_pretty(&doc).unwrap()
}
