//! The embedded pages: every file they reference is served from the appliance with the right
//! type, the vendored crypto is byte-for-byte what was published, nothing else is reachable.

use crate::helpers::{TestApp, repo};

#[test]
fn vendored_noble_files_are_exactly_as_published() {
    let readme = std::fs::read_to_string(repo("src/web/assets/vendor/README.md")).unwrap();
    let mut checked = 0;
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let file = cells[1].trim_matches('`');
        let want = cells[3];
        let bytes = std::fs::read(repo(&format!("src/web/assets/vendor/{file}"))).unwrap();
        assert_eq!(piaojue_core::crypto::sha256_hex(&bytes), want, "{file}");
        checked += 1;
    }
    assert_eq!(checked, 21);
}

#[tokio::test]
async fn every_page_and_asset_is_served_from_the_appliance_and_nothing_else() {
    let app = TestApp::spawn().await;
    let get = |path: String| {
        let client = app.client.clone();
        let url = format!("{}{path}", app.base);
        async move { client.get(url).send().await.unwrap() }
    };
    let mut referenced = Vec::new();
    for (path, bytes) in piaojue::web::PAGES {
        let r = get(path.to_string()).await;
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            r.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        let html = String::from_utf8_lossy(bytes);
        assert!(
            !html.contains("<script>") && !html.contains("style="),
            "{path}: no inline script or style"
        );
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{path}: no outside URL"
        );
        for attr in ["src=\"", "href=\""] {
            for part in html.split(attr).skip(1) {
                let url = part.split('"').next().unwrap();
                if url.starts_with('/') {
                    referenced.push(url.to_string());
                }
            }
        }
    }
    // Every module import inside the scripts resolves to an embedded file.
    for (path, bytes) in piaojue::web::files() {
        if !path.ends_with(".js") {
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("http://") || path.contains("vendor"),
            "{path}: no outside URL"
        );
        for part in text
            .split("from \"./")
            .skip(1)
            .chain(text.split("from './").skip(1))
        {
            let rel = part.split(['"', '\'']).next().unwrap();
            let dir = &path[..path.rfind('/').unwrap()];
            referenced.push(format!("{dir}/{rel}"));
        }
    }
    assert!(referenced.len() > 10);
    for url in referenced {
        let r = get(url.clone()).await;
        assert_eq!(r.status(), 200, "{url}");
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        if url.ends_with(".js") {
            assert!(ct.starts_with("text/javascript"), "{url}: {ct}");
        }
        if url.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{url}: {ct}");
        }
    }
    // Only the listed files: no traversal, no source, no directory listing.
    for path in [
        "/assets/../Cargo.toml",
        "/assets/%2e%2e/Cargo.toml",
        "/assets/vendor/",
        "/assets/",
        "/assets/app.css/../../src/main.rs",
        "/src/main.rs",
    ] {
        let r = get(path.to_string()).await;
        assert_eq!(r.status(), 404, "{path}");
    }
}
