//! OWASP ASVS 4.0.3 level 2, sessions and browser security, attacked against the running
//! server. The basic behaviour is tested where it is built (`sessions.rs`: rotation, logout,
//! idle and absolute time-outs; `login.rs`: cookie flags, hashing, throttling with a small
//! limit; `security_headers.rs`: headers on every kind of response). This suite makes the
//! attacks those tests do not: planted and stolen session ids, session ids leaking into URLs,
//! pages, logs or the database, every state-changing endpoint forged from another site in
//! every way a browser allows, and the sign-in limits at their specified values under spoofed
//! proxy headers and concurrent bursts. Each test prints its figures.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use base64::Engine as _;
use chrono::Duration;
use lendscope_domain::Role;
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::EntityTrait;

use crate::helpers::{
    application, redirected_to, session_cookie, spawn, spawn_with, Backend, Session, TestApp,
    PASSWORD,
};

crate::on_both_backends!(
    session_ids_cannot_be_planted_guessed_or_leaked,
    cross_site_writes_are_refused_on_every_state_changing_endpoint,
    sign_in_limits_hold_at_their_specified_values,
);

fn token_of(cookie: &str) -> &str {
    cookie.split_once('=').map_or(cookie, |(_, t)| t)
}

/// V3.2.1 (new id at sign-in, planted ids useless), V3.2.2 (≥ 64 bits of entropy), V3.1.1 and
/// V7.1.1 (ids never in URLs, pages or logs), V3.3.1 (logout only by a POST with the token).
async fn session_ids_cannot_be_planted_guessed_or_leaked(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    app.add_user("mallory", Role::Officer).await;
    let mut checks = 0u32;

    // An attacker plants an id of their choosing in the victim's browser before sign-in.
    let planted = "lendscope_session=attacker-chosen-id-0000000000000000000000000";
    let res = app.login("olivia", PASSWORD, Some(planted)).await;
    let victim = session_cookie(&res).expect("signed in");
    assert_ne!(victim, planted);
    assert!(
        app.whoami(Some(planted)).await.is_null(),
        "planted id unused"
    );
    checks += 2;
    // The attacker plants their own *valid* session (the sign-in form then carries that
    // session's token): signing in as the victim ends it, and the attacker's cookie does not
    // become the victim's session.
    let mallory = app.login_as("mallory").await;
    let res = app
        .post_form(
            "/rpc/login",
            &[
                ("username", "olivia"),
                ("password", PASSWORD),
                ("csrf", &mallory.csrf),
            ],
            Some(&mallory.cookie),
            false,
        )
        .await;
    let victim2 = session_cookie(&res).expect("signed in");
    assert_ne!(victim2, mallory.cookie);
    assert!(app.whoami(Some(&mallory.cookie)).await.is_null());
    assert_eq!(app.whoami(Some(&victim2)).await["username"], "olivia");
    checks += 3;

    // Forty sign-ins: forty distinct 256-bit ids whose bits look uniformly random.
    let mut tokens = vec![token_of(&victim).to_owned(), token_of(&victim2).to_owned()];
    let mut locations = Vec::new();
    for _ in 0..38 {
        let res = app.login("olivia", PASSWORD, None).await;
        locations.push(redirected_to(&res).unwrap_or_default());
        tokens.push(token_of(&session_cookie(&res).unwrap()).to_owned());
    }
    let distinct: HashSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), tokens.len(), "every id is new");
    let (mut ones, mut bits) = (0u32, 0u32);
    for t in &tokens {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .expect("base64url id");
        assert_eq!(raw.len(), 32, "256-bit id");
        ones += raw.iter().map(|b| b.count_ones()).sum::<u32>();
        bits += 8 * u32::try_from(raw.len()).unwrap();
    }
    let share = f64::from(ones) / f64::from(bits);
    // 10,240 fair bits: a share outside 0.47–0.53 is more than 6 standard deviations away.
    assert!((0.47..0.53).contains(&share), "share of one bits {share}");
    checks += 3;

    // Ids never appear in a URL, a page, a server-function answer, the audit trail or the
    // sessions table (which keeps only their SHA-256).
    let last = format!("lendscope_session={}", tokens.last().unwrap());
    let mut surfaces: Vec<(String, String)> = locations
        .iter()
        .map(|l| ("redirect".to_owned(), l.clone()))
        .collect();
    for path in ["/", "/queue", "/statistics", "/account", "/rpc/account"] {
        let html = app.get(path, Some(&last)).await.text().await.unwrap();
        surfaces.push((path.to_owned(), html));
    }
    surfaces.push((
        "/rpc/session".into(),
        app.whoami(Some(&last)).await.to_string(),
    ));
    let audit = app
        .services
        .audit_page(lendscope_service::AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    surfaces.push(("audit trail".into(), format!("{audit:?}")));
    let sessions = lendscope_service::entity::session::Entity::find()
        .all(app.services.db())
        .await
        .unwrap();
    surfaces.push(("sessions table".into(), format!("{sessions:?}")));
    for (what, text) in &surfaces {
        for t in &tokens {
            assert!(!text.contains(t.as_str()), "a session id appears in {what}");
        }
        checks += 1;
    }

    // Logout is a POST carrying the token: a link or image (GET) cannot sign anyone out.
    let last_token = tokens.last().unwrap().clone();
    for path in ["/rpc/logout", "/rpc/logout?csrf=x"] {
        let res = app.get(path, Some(&last)).await;
        assert!(
            res.status().is_client_error(),
            "GET {path}: {}",
            res.status()
        );
        checks += 1;
    }
    assert!(app.services.session_exists(&last_token).await.unwrap());
    println!(
        "ASVS V3.2.1/V3.2.2/V3.1.1/V7.1.1/V3.3.1: {checks} checks passed; {} ids, all distinct, \
         32 random bytes each, share of one bits {share:.4}; no id found on {} surfaces",
        tokens.len(),
        surfaces.len()
    );
}

/// One way a forged request can arrive, and what it carries.
struct Forgery {
    name: &'static str,
    origin: Option<String>,
    fetch_site: Option<&'static str>,
    token: TokenUse,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenUse {
    /// The session's own token (stolen or leaked): only the origin checks can stop it.
    Valid,
    /// No token at all.
    Missing,
    /// The token of another session (the attacker's own).
    Foreign,
    /// The right token, but only in the query string, where it must not be accepted.
    QueryOnly,
    /// A `text/plain` body (what `<form enctype="text/plain">` sends) that looks like a form.
    TextPlain,
}

fn forgeries(app: &TestApp) -> Vec<Forgery> {
    let host = app.host();
    let same = Some(app.base.clone());
    let cross = |name, origin: String| Forgery {
        name,
        origin: Some(origin),
        fetch_site: None,
        token: TokenUse::Valid,
    };
    let same_origin = |name, token| Forgery {
        name,
        origin: same.clone(),
        fetch_site: Some("same-origin"),
        token,
    };
    vec![
        cross("Origin of another site", "https://evil.example".into()),
        cross("Origin null (sandboxed frame)", "null".into()),
        cross("Origin on another port", "http://127.0.0.1:1".into()),
        cross("Origin with another scheme", format!("https://{host}")),
        cross(
            "Origin with a suffix",
            format!("http://{host}.evil.example"),
        ),
        Forgery {
            name: "Sec-Fetch-Site cross-site",
            origin: None,
            fetch_site: Some("cross-site"),
            token: TokenUse::Valid,
        },
        Forgery {
            name: "Sec-Fetch-Site same-site (a sibling subdomain)",
            origin: same.clone(),
            fetch_site: Some("same-site"),
            token: TokenUse::Valid,
        },
        same_origin("no token", TokenUse::Missing),
        same_origin("another session's token", TokenUse::Foreign),
        same_origin("token only in the query string", TokenUse::QueryOnly),
        same_origin("text/plain body", TokenUse::TextPlain),
        Forgery {
            name: "no Origin, no Sec-Fetch-Site, no token",
            origin: None,
            fetch_site: None,
            token: TokenUse::Missing,
        },
    ]
}

/// A state-changing endpoint: its path, its fields (without the token), the session that may
/// use it (`None`: anonymous endpoints, which have no token to check), and its encoding.
struct Endpoint {
    path: &'static str,
    fields: Vec<(&'static str, String)>,
    session: Option<Session>,
    multipart: bool,
}

async fn forge(app: &TestApp, e: &Endpoint, f: &Forgery, attacker: &Session) -> u16 {
    let mut headers = HeaderMap::new();
    headers.insert("accept", HeaderValue::from_static("application/json"));
    if let Some(o) = &f.origin {
        headers.insert("origin", HeaderValue::from_str(o).unwrap());
    }
    if let Some(s) = f.fetch_site {
        headers.insert("sec-fetch-site", HeaderValue::from_static(s));
    }
    let mut fields = e.fields.clone();
    let mut path = e.path.to_owned();
    if let Some(s) = &e.session {
        headers.insert("cookie", HeaderValue::from_str(&s.cookie).unwrap());
        match f.token {
            TokenUse::Valid | TokenUse::TextPlain => fields.push(("csrf", s.csrf.clone())),
            TokenUse::Foreign => fields.push(("csrf", attacker.csrf.clone())),
            TokenUse::QueryOnly => path = format!("{path}?csrf={}", s.csrf),
            TokenUse::Missing => {}
        }
    }
    let req = app.client.post(app.url(&path)).headers(headers);
    let req = if f.token == TokenUse::TextPlain {
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req.header("content-type", "text/plain")
            .body(body.join("&"))
    } else if e.multipart {
        let boundary = "----lendscope-forgery";
        let mut body = String::new();
        for (k, v) in &fields {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        req.header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
    } else {
        req.form(&fields)
    };
    req.send().await.unwrap().status().as_u16()
}

/// V4.2.2 / V13.2.3 (anti-CSRF), V3.4.3 (SameSite is not relied on alone), V3.5.3: every
/// state-changing endpoint of the browser side, forged in every way above, is refused with
/// 403 before anything changes, and every refusal is audited.
async fn cross_site_writes_are_refused_on_every_state_changing_endpoint(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let decided = app.decide(&key, &application("CSRF-0001")).await;
    let app_id = decided["application_id"].as_str().unwrap().to_owned();
    app.add_user("olivia", Role::Officer).await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("mallory", Role::Officer).await;
    let officer = app.login_as("olivia").await;
    let admin = app.login_as("ada").await;
    let attacker = app.login_as("mallory").await;
    let case_version = app.services.case_history(&app_id).await.unwrap().len();
    let share = app.services.serving_share().await.unwrap();
    let decisions = app.decisions().await;
    let users = app.services.list_users().await.unwrap().len();
    let sessions_before = lendscope_service::entity::session::Entity::find()
        .all(app.services.db())
        .await
        .unwrap()
        .len();

    let s = |v: &str| v.to_owned();
    let endpoints = vec![
        Endpoint {
            path: "/rpc/login",
            fields: vec![("username", s("olivia")), ("password", s(PASSWORD))],
            session: None,
            multipart: false,
        },
        Endpoint {
            path: "/rpc/apply",
            fields: vec![("form_id", s("forged")), ("fields[monthly_income]", s("1"))],
            session: None,
            multipart: false,
        },
        Endpoint {
            path: "/rpc/logout",
            fields: vec![],
            session: Some(officer.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/case/review",
            fields: vec![
                ("id", app_id.clone()),
                ("action", s("claim")),
                ("version", case_version.to_string()),
                ("note", s("")),
            ],
            session: Some(officer.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/users/create",
            fields: vec![
                ("username", s("eve")),
                ("role", s("admin")),
                ("password", s("a very long password")),
            ],
            session: Some(admin.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/models/act",
            fields: vec![("action", s("share")), ("percent", s("100"))],
            session: Some(admin.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/monitoring/run",
            fields: vec![],
            session: Some(admin.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/account/password",
            fields: vec![
                ("current_password", s(PASSWORD)),
                ("new_password", s("a password chosen by the attacker")),
                ("repeat_password", s("a password chosen by the attacker")),
            ],
            session: Some(admin.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/rpc/account/sessions/end",
            fields: vec![("session", s("others"))],
            session: Some(admin.clone()),
            multipart: false,
        },
        Endpoint {
            path: "/models/upload",
            fields: vec![("name", s("forged"))],
            session: Some(admin.clone()),
            multipart: true,
        },
    ];
    let mut refused = 0u32;
    for e in &endpoints {
        for f in forgeries(&app) {
            // Anonymous endpoints have no token: only the origin checks apply to them.
            if e.session.is_none() && f.token != TokenUse::Valid {
                continue;
            }
            let status = forge(&app, e, &f, &attacker).await;
            assert_eq!(status, 403, "{} forged by {}", e.path, f.name);
            refused += 1;
        }
    }

    // Nothing changed: no session ended or began, no case claimed, no user created, the
    // traffic share and the decisions as they were, no monitoring run.
    let sessions_after = lendscope_service::entity::session::Entity::find()
        .all(app.services.db())
        .await
        .unwrap()
        .len();
    assert_eq!(sessions_after, sessions_before, "no session began or ended");
    assert!(!app.whoami(Some(&officer.cookie)).await.is_null());
    assert_eq!(
        app.services.case_history(&app_id).await.unwrap().len(),
        case_version
    );
    assert_eq!(app.services.list_users().await.unwrap().len(), users);
    assert_eq!(app.services.serving_share().await.unwrap(), share);
    assert!(
        app.services
            .registry_view()
            .await
            .unwrap()
            .promotions
            .is_empty(),
        "no share request was made"
    );
    assert_eq!(app.decisions().await, decisions);
    assert!(app.services.monitoring_runs(5).await.unwrap().is_empty());
    let audited = app
        .audit_actions()
        .await
        .iter()
        .filter(|(a, o)| a == "csrf" && o == "denied")
        .count();
    assert_eq!(
        audited,
        usize::try_from(refused).unwrap(),
        "every refusal audited"
    );

    // The same requests from the page itself go through: the refusals above were for the
    // forgery, not for a broken request.
    let mut accepted = 0u32;
    for e in endpoints
        .iter()
        .filter(|e| ["/rpc/users/create", "/rpc/case/review"].contains(&e.path))
    {
        let mut fields: Vec<(&str, &str)> =
            e.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let session = e.session.as_ref().unwrap();
        fields.push(("csrf", &session.csrf));
        let res = app
            .post_form(e.path, &fields, Some(&session.cookie), false)
            .await;
        assert!(
            redirected_to(&res).is_some() || res.status() == 200,
            "{}: {}",
            e.path,
            res.status()
        );
        accepted += 1;
    }
    assert_eq!(app.services.list_users().await.unwrap().len(), users + 1);
    assert_eq!(
        app.services.case_history(&app_id).await.unwrap().len(),
        case_version + 1
    );
    println!(
        "ASVS V4.2.2/V13.2.3: {} endpoints × {} forgeries: {refused} forged writes refused (403), \
         0 accepted, {audited} refusals audited, nothing changed; \
         {accepted} genuine same-origin writes accepted",
        endpoints.len(),
        forgeries(&app).len()
    );
}

/// A sign-in as a trusted proxy would forward it: `forwarded` is the whole `X-Forwarded-For`
/// (entries the client made up, then the address the proxy appended).
async fn login_via_proxy(
    app: &TestApp,
    user: &str,
    password: &str,
    forwarded: &str,
) -> reqwest::Response {
    app.login_with_headers(user, password, &[("x-forwarded-for", forwarded)])
        .await
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// V2.2.1 (anti-automation: at most 100 failed attempts per hour per account, and per client,
/// no permanent lock-out), under concurrent bursts, and no account enumeration (same answer for unknown users),
/// with the default limit of 100 behind a trusted proxy.
async fn sign_in_limits_hold_at_their_specified_values(backend: Backend) {
    let app = spawn_with(backend, |c| c.trust_forwarded_for = true).await;
    for name in ["olivia", "alice", "bob"] {
        app.add_user(name, Role::Officer).await;
    }
    let limit = 100u32;

    // Per account: 100 wrong passwords for olivia, each from another client.
    for i in 0..limit {
        let res = login_via_proxy(
            &app,
            "olivia",
            "wrong password!",
            &format!("10.1.{}.{}", i / 200, i % 200 + 1),
        )
        .await;
        assert_eq!(res.status(), 401, "attempt {}", i + 1);
    }
    // The 101st, even with the right password and from a fresh client, is refused.
    let refused = login_via_proxy(&app, "olivia", PASSWORD, "10.9.9.9").await;
    assert_eq!(refused.status(), 429);
    let account_retry = retry_after(&refused);
    assert!((1..=3600).contains(&account_retry));
    // That client is not blocked for other accounts.
    let res = login_via_proxy(&app, "alice", PASSWORD, "10.9.9.9").await;
    assert!(redirected_to(&res).is_some(), "{}", res.status());

    // Per client, with made-up addresses before the proxy's: 100 failures on 100 accounts
    // from one client whose first X-Forwarded-For entry changes every time.
    for i in 0..limit {
        let res = login_via_proxy(
            &app,
            &format!("nobody{i}"),
            "wrong password!",
            &format!("198.51.100.{}, 10.2.0.1", i % 250 + 1),
        )
        .await;
        assert_eq!(res.status(), 401, "attempt {}", i + 1);
    }
    let spoofed = login_via_proxy(&app, "alice", PASSWORD, "203.0.113.99, 10.2.0.1").await;
    assert_eq!(
        spoofed.status(),
        429,
        "made-up entries do not make a new client"
    );
    let res = login_via_proxy(&app, "alice", PASSWORD, "10.2.0.2").await;
    assert!(redirected_to(&res).is_some(), "{}", res.status());

    // A concurrent burst on one account from 250 clients: at most 100 are ever checked.
    let burst = 250u32;
    let app = Arc::new(app);
    let started = Instant::now();
    let tasks: Vec<_> = (0..burst)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                login_via_proxy(
                    &app,
                    "bob",
                    "wrong password!",
                    &format!("10.3.{}.{}", i / 200, i % 200 + 1),
                )
                .await
                .status()
                .as_u16()
            })
        })
        .collect();
    let (mut checked, mut throttled, mut unavailable) = (0u32, 0u32, 0u32);
    for t in tasks {
        match t.await.unwrap() {
            401 => checked += 1,
            429 => throttled += 1,
            // The database pool was busy: refused without a check, which is allowed.
            503 => unavailable += 1,
            other => panic!("burst answer {other}"),
        }
    }
    let burst_time = started.elapsed();
    assert!(
        checked <= limit,
        "{checked} of {burst} concurrent attempts were checked"
    );
    // Sequential attempts after the burst: bob's failures stop at exactly the limit.
    let mut after = 0u32;
    loop {
        let res = login_via_proxy(
            &app,
            "bob",
            "wrong password!",
            &format!("10.4.{}.{}", after / 200, after % 200 + 1),
        )
        .await;
        match res.status().as_u16() {
            401 => after += 1,
            429 => break,
            other => panic!("after the burst: {other}"),
        }
        assert!(after <= limit, "no limit after the burst");
    }
    // Whether the burst used some of bob's limit depends on the machine: on a loaded one its
    // admitted attempts may all have answered 503 (the pool gave out after they were recorded),
    // or the whole burst may be refused before any attempt is recorded (seen in CI on
    // 2026-12-02: none checked, the sequential attempts then reached the full limit). The exact
    // count below holds in every case.
    // Every failure counted against bob was answered: 401 when checked, or 503 when the
    // database pool gave out after the attempt was recorded (a busy machine). None more.
    assert!(
        checked + after <= limit && limit <= checked + after + unavailable,
        "exactly the limit of failures was counted: {checked} checked in the burst, {after} \
         after it, {unavailable} answered 503"
    );

    // Same answer, after the same work, for a wrong password and an unknown account.
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    let mut bodies = HashSet::new();
    for i in 0..15u32 {
        for (user, times) in [("alice", &mut known), ("no-such-user", &mut unknown)] {
            let t = Instant::now();
            let res =
                login_via_proxy(&app, user, "wrong password!", &format!("10.5.0.{}", i + 1)).await;
            times.push(t.elapsed());
            assert_eq!(res.status(), 401);
            bodies.insert(res.text().await.unwrap());
        }
    }
    assert_eq!(bodies.len(), 1, "one answer for both: {bodies:?}");
    let median = |v: &mut Vec<StdDuration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known_ms, unknown_ms) = (
        median(&mut known).as_secs_f64() * 1e3,
        median(&mut unknown).as_secs_f64() * 1e3,
    );
    let ratio = known_ms / unknown_ms;
    assert!(
        (0.33..3.0).contains(&ratio),
        "wrong password {known_ms:.1} ms, unknown account {unknown_ms:.1} ms"
    );

    // No permanent lock-out: an hour later olivia signs in.
    app.clock.advance(Duration::minutes(61));
    let res = login_via_proxy(&app, "olivia", PASSWORD, "10.9.9.10").await;
    assert!(redirected_to(&res).is_some(), "{}", res.status());
    println!(
        "ASVS V2.2.1: per account refused at attempt {} (Retry-After {account_retry} s); per \
         client refused at attempt {} despite made-up X-Forwarded-For entries; concurrent burst \
         of {burst} on one account: {checked} checked, {throttled} refused (429), {unavailable} answered 503, in {:.2} s, then \
         {after} more until the limit; \
         wrong password vs unknown account: identical answers, median {known_ms:.1} ms vs \
         {unknown_ms:.1} ms; signed in again after the hour",
        limit + 1,
        limit + 1,
        burst_time.as_secs_f64()
    );
}
