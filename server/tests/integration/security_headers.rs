use reqwest::Response;

use crate::helpers::{spawn, Backend};

fn assert_security_headers(res: &Response, what: &str) {
    assert_security_header_map(res.headers(), what);
}

fn assert_security_header_map(h: &reqwest::header::HeaderMap, what: &str) {
    let get = |name: &str| {
        h.get(name)
            .unwrap_or_else(|| panic!("{what}: missing {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    let csp = get("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("object-src 'none'"), "{what}: {csp}");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(
        !script_src.contains("unsafe-inline"),
        "{what}: {script_src}"
    );
    assert!(
        !script_src.contains("'unsafe-eval'"),
        "{what}: {script_src}"
    );
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("cross-origin-opener-policy"), "same-origin", "{what}");
}

async fn every_kind_of_response_carries_security_headers(backend: Backend) {
    let app = spawn(backend).await;
    for (path, status) in [
        ("/", 200),
        ("/login", 200),
        ("/no/such/page", 404),
        ("/api/v1/no-such-endpoint", 404),
        ("/api/v1/whoami", 401),
        ("/health/live", 200),
        ("/queue", 303),
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), status, "{path}");
        assert_security_headers(&res, path);
    }
    // An error produced by the body-size limit, outside any handler. The request announces a
    // 2 MiB body and sends none: the server answers from the header alone (a client still
    // writing the body would race the server closing the connection).
    let (status, headers) = raw_request(
        &app.host(),
        "POST /rpc/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 2097152\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 413);
    assert_security_header_map(&headers, "413");
}

/// Sends raw bytes and parses the status line and headers of the answer.
async fn raw_request(host: &str, request: &str) -> (u16, reqwest::header::HeaderMap) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut buf),
    )
    .await;
    let text = String::from_utf8_lossy(&buf);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(name), Ok(value)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.append(name, value);
            }
        }
    }
    (status, headers)
}

async fn pages_allow_only_their_own_nonce_for_inline_scripts(backend: Backend) {
    let app = spawn(backend).await;
    let res = app.get("/login", None).await;
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let nonce = csp
        .split_whitespace()
        .find_map(|t| t.strip_prefix("'nonce-"))
        .and_then(|t| t.strip_suffix('\''))
        .expect("page CSP has a nonce")
        .to_owned();
    assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
    let html = res.text().await.unwrap();
    let scripts = html.matches("<script").count();
    let with_nonce = html
        .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
        .count()
        + html.matches(&format!("<script nonce=\"{nonce}\"")).count();
    assert!(scripts > 0);
    assert_eq!(scripts, with_nonce, "every inline script carries the nonce");
    // A second page gets another nonce.
    let other = app.get("/login", None).await;
    let csp2 = other.headers()["content-security-policy"].to_str().unwrap();
    assert!(!csp2.contains(&nonce));
}

async fn pages_are_not_cached_but_assets_may_be(backend: Backend) {
    let app = spawn(backend).await;
    let page = app.get("/", None).await;
    assert_eq!(page.headers()["cache-control"], "no-store");
}

crate::on_both_backends!(
    every_kind_of_response_carries_security_headers,
    pages_allow_only_their_own_nonce_for_inline_scripts,
    pages_are_not_cached_but_assets_may_be,
);
