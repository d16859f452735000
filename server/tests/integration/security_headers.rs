use reqwest::Response;

use lendscope_domain::Role;

use crate::helpers::{application, spawn, spawn_with, Backend};

fn assert_security_headers(res: &Response, what: &str) {
    assert_security_header_map(res.headers(), what);
}

pub fn assert_security_header_map(h: &reqwest::header::HeaderMap, what: &str) {
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

/// Every page as every role (admitted or refused), every kind of error, the JSON API, the
/// metrics and health endpoints, HEAD and OPTIONS: each answer carries the security headers,
/// is marked `no-store`, and grants no cross-origin access even when another site asks.
async fn every_kind_of_response_carries_security_headers(backend: Backend) {
    let app = spawn_with(backend, |c| c.session.max_failed_logins_per_hour = 1).await;
    let key = app.with_scoring(0).await;
    let decision = app.decide(&key, &application("HEADERS-0001")).await;
    let app_id = decision["application_id"].as_str().unwrap().to_owned();
    let notice = decision["notice_url"].as_str().unwrap().to_owned();
    let mut sessions = vec![(None, "anonymous".to_owned())];
    for role in Role::ALL {
        app.add_user(role.as_str(), role).await;
        sessions.push((
            Some(app.login_as(role.as_str()).await),
            role.as_str().to_owned(),
        ));
    }
    let pages = [
        "/".to_owned(),
        "/login".into(),
        "/apply".into(),
        notice,
        "/queue".into(),
        format!("/queue/{app_id}"),
        "/statistics".into(),
        "/models".into(),
        "/models/compare".into(),
        "/models/1".into(),
        "/monitoring".into(),
        "/admin/users".into(),
        "/audit".into(),
        "/audit/decisions".into(),
        format!("/audit/decisions/{app_id}"),
        "/account".into(),
        "/no/such/page".into(),
        "/rpc/session".into(),
        "/rpc/queue".into(),
        "/rpc/no-such-function".into(),
        "/health/live".into(),
        "/health/ready".into(),
        "/metrics".into(),
        "/api/openapi.json".into(),
        "/api/v1/whoami".into(),
        "/api/v1/no-such-endpoint".into(),
    ];
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut check = |res: &Response, what: &str| {
        assert_security_headers(res, what);
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
        for grant in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
        ] {
            assert!(!res.headers().contains_key(grant), "{what}: {grant}");
        }
        *statuses.entry(res.status().as_u16()).or_default() += 1;
    };
    for (session, who) in &sessions {
        for path in &pages {
            let mut req = app
                .client
                .get(app.url(path))
                .header("accept", "text/html")
                .header("origin", "https://evil.example");
            if let Some(s) = session {
                req = req.header("cookie", &s.cookie);
            }
            let res = req.send().await.unwrap();
            check(&res, &format!("{who} GET {path}"));
        }
    }
    // The API's answers: found, refused, invalid, wrong method, wrong media type.
    let api = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, app.url(path))
            .bearer_auth(&key)
            .header("origin", "https://evil.example")
    };
    let answers = [
        (
            "API found",
            api(
                reqwest::Method::GET,
                &format!("/api/v1/applications/{app_id}"),
            ),
        ),
        (
            "API unknown",
            api(reqwest::Method::GET, "/api/v1/applications/nope"),
        ),
        (
            "API invalid",
            api(reqwest::Method::POST, "/api/v1/applications").json(&serde_json::json!({"x": 1})),
        ),
        (
            "API bad JSON",
            api(reqwest::Method::POST, "/api/v1/applications")
                .header("content-type", "application/json")
                .body("{"),
        ),
        (
            "API media type",
            api(reqwest::Method::POST, "/api/v1/applications")
                .header("content-type", "text/plain")
                .body("x"),
        ),
        (
            "API method",
            api(
                reqwest::Method::DELETE,
                &format!("/api/v1/applications/{app_id}"),
            ),
        ),
        (
            "API preflight",
            api(reqwest::Method::OPTIONS, "/api/v1/applications")
                .header("access-control-request-method", "POST"),
        ),
        ("HEAD page", api(reqwest::Method::HEAD, "/login")),
    ];
    for (what, req) in answers {
        let res = req.send().await.unwrap();
        check(&res, what);
    }
    // Refusals: cross-site form post (403), throttled sign-in (429).
    let s = sessions[1].0.clone().unwrap();
    let res = app
        .post_cross_site("/rpc/logout", &[("csrf", &s.csrf)], &s.cookie)
        .await;
    assert_eq!(res.status(), 403);
    check(&res, "cross-site post");
    let _ = app.login("admin", "wrong password!", None).await;
    let res = app.login("admin", "wrong password!", None).await;
    assert_eq!(res.status(), 429);
    check(&res, "throttled sign-in");
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
    *statuses.entry(status).or_default() += 1;
    let total: u32 = statuses.values().sum();
    for expected in [200, 303, 401, 403, 404, 405, 413, 415, 422, 429] {
        assert!(
            statuses.contains_key(&expected),
            "no {expected} among {statuses:?}"
        );
    }
    println!(
        "security headers: {total} responses ({} pages × {} callers and {} others), statuses \
         {statuses:?}: every one with CSP, nosniff, Referrer-Policy, X-Frame-Options, COOP, \
         no-store, and no CORS grant to another origin",
        pages.len(),
        sessions.len(),
        total - u32::try_from(pages.len() * sessions.len()).unwrap()
    );
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
