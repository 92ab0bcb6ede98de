//! `piaojue admin`: the secretariat's command-line client of the operator API.
//!
//! Exit codes: 0 done, 1 the appliance refused (its message is printed), 2 usage, I/O or
//! connection error.

use std::path::Path;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// Why an admin command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The appliance answered with an error.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// Nothing sensible came back, or the request could not be made.
    #[error("{0}")]
    Failed(String),
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Refused { .. } => 1,
            AdminError::Failed(_) => 2,
        }
    }
}

/// A logged-in operator session against one appliance.
#[derive(Debug)]
pub struct Admin {
    client: Client,
    base: String,
    cookie: String,
}

impl Admin {
    /// Logs in with the passphrase in `passphrase_file`.
    pub async fn login(url: &str, passphrase_file: &Path) -> Result<Admin, AdminError> {
        let text = std::fs::read_to_string(passphrase_file).map_err(|e| {
            AdminError::Failed(format!("cannot read {}: {e}", passphrase_file.display()))
        })?;
        let passphrase = zeroize::Zeroizing::new(text.trim_end_matches(['\n', '\r']).to_string());
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(AdminError::Failed(format!(
                "--url must start with http:// or https://, not `{url}`"
            )));
        }
        let client = crate::tls::client_builder()
            .map_err(AdminError::Failed)?
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| AdminError::Failed(e.to_string()))?;
        let response = client
            .post(format!("{base}/api/operator/login"))
            .json(&json!({ "passphrase": passphrase.as_str() }))
            .send()
            .await
            .map_err(|e| AdminError::Failed(format!("cannot reach {base}: {e}")))?;
        let cookie = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.split(';').next().map(str::to_string))
            .filter(|c| c.starts_with("piaojue_operator="));
        let status = response.status();
        let body = read_json(response).await?;
        if !status.is_success() {
            return Err(refused(&body));
        }
        let cookie = cookie
            .ok_or_else(|| AdminError::Failed("the appliance set no session cookie".into()))?;
        Ok(Admin {
            client,
            base,
            cookie,
        })
    }

    /// A request to the operator API; the JSON answer or the appliance's refusal.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Value, AdminError> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie);
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| AdminError::Failed(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        let body = read_json(response).await?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(refused(&body))
        }
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Result<Value, AdminError> {
        self.call(
            Method::POST,
            path,
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Result<Value, AdminError> {
        self.call(Method::GET, path, None).await
    }
}

async fn read_json(response: reqwest::Response) -> Result<Value, AdminError> {
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| AdminError::Failed(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|_| {
        AdminError::Failed(format!(
            "the appliance answered {status} with something that is not JSON{}",
            if status == StatusCode::NOT_FOUND {
                " (is --url the appliance?)"
            } else {
                ""
            }
        ))
    })
}

fn refused(body: &Value) -> AdminError {
    AdminError::Refused {
        code: body["error"].as_str().unwrap_or("error").to_string(),
        message: body["message"].as_str().unwrap_or("").to_string(),
    }
}

/// One line for a vote: `v1  表决中  2026年县政府民生实事项目票决  已投 120/300`.
pub fn vote_line(v: &Value) -> String {
    let mut line = format!(
        "{}\t{}\t{}",
        v["id"].as_str().unwrap_or("?"),
        v["state_zh"].as_str().unwrap_or("?"),
        v["title"].as_str().unwrap_or("")
    );
    if let Some(t) = v.get("turnout").filter(|t| !t.is_null()) {
        line.push_str(&format!("\t已投 {}/{}", t["cast"], t["enabled"]));
    }
    if v["mode"] == "encrypted" {
        line.push_str("\t加密投票");
        if v["awaiting_roll_call"] == true {
            line.push_str("（等待证件官签署点名）");
        }
    }
    if let Some(r) = v["failed_reason"].as_str() {
        line.push_str(&format!("	宣告失败：{r}"));
    }
    if let Some(of) = v["revote_of"]["vote"].as_str() {
        line.push_str(&format!(
            "	重新表决 {of}（{}）",
            v["revote_of"]["reason"].as_str().unwrap_or("")
        ));
    }
    if let Some(by) = v["revoted_by"].as_str() {
        line.push_str(&format!("	已重新表决为 {by}"));
    }
    if let Some(of) = v["runoff_of"]["vote"].as_str() {
        line.push_str(&format!(
            "\t{} {of}：{} 个名额",
            if v["runoff_of"]["reason"] == "tie" {
                "对并列项目重新票决"
            } else {
                "就剩余名额另行票决"
            },
            v["runoff_of"]["seats"]
        ));
    }
    if let Some(by) = v["runoff_by"].as_str() {
        line.push_str(&format!("\t重新票决为 {by}"));
    }
    if let Some(due) = v["runoff_due"]["reason_zh"].as_str() {
        line.push_str(&format!("\t待{due}（{} 个名额）", v["runoff_due"]["seats"]));
    }
    if let Some(src) = v["source"]["bundle_sha256"].as_str() {
        line.push_str(&format!(
            "\t测评来源 {}… 签名密钥 {}…",
            &src[..src.len().min(16)],
            v["source"]["appliance_key"]
                .as_str()
                .map_or("", |k| &k[..k.len().min(16)])
        ));
    }
    if let Some(h) = v["manual"]["heading_zh"].as_str() {
        line.push_str(&format!("\t{h}"));
    }
    if let Some(items) = v["chair_decision"]["items"].as_array() {
        let names: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
        line.push_str(&format!("\t主持人确定：{}", names.join("、")));
    }
    line
}
