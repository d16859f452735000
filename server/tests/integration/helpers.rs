use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use lendscope_domain::{NewPassword, Role, Username};
use lendscope_server::{Application, Config};
use lendscope_service::{Actor, ManualClock, RequestMeta, Services};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{redirect, Response};
use sea_orm::{ConnectionTrait, Database};

/// Runs an `async fn(Backend)` test once per database backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub database_url: String,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    _dir: tempdir::Dir,
}

/// A logged-in browser: its session cookie and anti-CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

mod tempdir {
    /// A temporary folder removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap()
    )
}

/// The PostgreSQL server the tests create databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("LENDSCOPE_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

async fn database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/lendscope.db", dir.display()),
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let admin = Database::connect(&admin_url)
                .await
                .expect("PostgreSQL must be running for the integration tests");
            let name = unique("lendscope_t");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (base, _) = admin_url.rsplit_once('/').unwrap();
            format!("{base}/{name}")
        }
    }
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> TestApp {
    let dir = std::env::temp_dir().join(unique("lendscope-it"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config {
        database_url: database_url(backend, &dir).await,
        listen: "127.0.0.1:0".parse().unwrap(),
        site_root: dir.join("site"),
        ..Config::default()
    };
    configure(&mut config);
    let database_url = config.database_url.clone();
    let clock = Arc::new(ManualClock::default());
    let app = Application::build_with_clock(&config, clock.clone())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let services = app.services().clone();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .redirect(redirect::Policy::none())
        .build()
        .unwrap();
    TestApp {
        base,
        database_url,
        services,
        clock,
        client,
        _dir: tempdir::Dir(dir),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    pub async fn add_user(&self, name: &str, role: Role) {
        self.services
            .create_user(
                Username::parse(name).unwrap(),
                role,
                NewPassword::parse(PASSWORD).unwrap(),
                Actor::System,
                &RequestMeta::default(),
            )
            .await
            .unwrap();
    }

    /// Headers a same-origin browser form post carries.
    pub fn browser_post_headers(&self, accept_html: bool) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("origin", HeaderValue::from_str(&self.base).unwrap());
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(
            "accept",
            HeaderValue::from_static(if accept_html {
                "text/html"
            } else {
                "application/json"
            }),
        );
        h
    }

    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: Option<&str>,
        accept_html: bool,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url(path))
            .headers(self.browser_post_headers(accept_html))
            .form(form);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut req = self
            .client
            .get(self.url(path))
            .header("accept", "text/html");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.send().await.unwrap()
    }

    /// Signs in through the real login endpoint.
    pub async fn login_as(&self, name: &str) -> Session {
        let res = self.login(name, PASSWORD, None).await;
        assert!(
            redirected_to(&res).is_some(),
            "login of {name} failed: {}",
            res.status()
        );
        let cookie = session_cookie(&res).expect("login sets a session cookie");
        let csrf = self.csrf_of(&cookie).await;
        Session { cookie, csrf }
    }

    pub async fn login(&self, name: &str, password: &str, cookie: Option<&str>) -> Response {
        self.post_form(
            "/rpc/login",
            &[("username", name), ("password", password), ("next", "/")],
            cookie,
            false,
        )
        .await
    }

    /// Signs in with extra request headers: another browser's `User-Agent`, the
    /// `X-Forwarded-For` a proxy passes on.
    pub async fn login_with_headers(
        &self,
        name: &str,
        password: &str,
        extra: &[(&'static str, &str)],
    ) -> Response {
        let mut req = self
            .client
            .post(self.url("/rpc/login"))
            .headers(self.browser_post_headers(false))
            .form(&[("username", name), ("password", password)]);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.send().await.unwrap()
    }

    /// A form post with a session, sent from another site (`Origin: https://evil.example`).
    pub async fn post_cross_site(
        &self,
        path: &str,
        form: &[(&str, &str)],
        cookie: &str,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("cookie", cookie)
            .header("origin", "https://evil.example")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The anti-CSRF token of a session, as the page would receive it.
    pub async fn csrf_of(&self, cookie: &str) -> String {
        let me = self.whoami(Some(cookie)).await;
        me["csrf"].as_str().expect("signed in").to_owned()
    }

    /// A GET asking for JSON, with a session cookie and/or an API key.
    pub async fn get_json(
        &self,
        path: &str,
        cookie: Option<&str>,
        bearer: Option<&str>,
    ) -> Response {
        let mut req = self
            .client
            .get(self.url(path))
            .header("accept", "application/json");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(k) = bearer {
            req = req.bearer_auth(k);
        }
        req.send().await.unwrap()
    }

    /// The current user as `/rpc/session` reports it (JSON null when signed out).
    pub async fn whoami(&self, cookie: Option<&str>) -> serde_json::Value {
        let res = self.get_json("/rpc/session", cookie, None).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }

    pub async fn audit_actions(&self) -> Vec<(String, String)> {
        self.services
            .audit_page(lendscope_service::AuditQuery {
                limit: 500,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.action, r.outcome))
            .collect()
    }
}

/// The `name=value` of the session cookie a response sets, if it sets a non-empty one.
pub fn session_cookie(res: &Response) -> Option<String> {
    set_cookies(res)
        .into_iter()
        .filter(|c| c.contains("lendscope_session="))
        .filter_map(|c| c.split(';').next().map(str::to_owned))
        .find(|kv| !kv.ends_with('='))
}

pub fn set_cookies(res: &Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Where a response sends the browser: a 302's `Location`, or the `Location` that a server
/// function answers JavaScript callers with (status 200 plus the `serverfnredirect` marker).
pub fn redirected_to(res: &Response) -> Option<String> {
    let location = res.headers().get("location")?.to_str().ok()?.to_owned();
    let js_redirect = res.status() == 200 && res.headers().contains_key("serverfnredirect");
    (res.status() == 302 || js_redirect).then_some(location)
}

/// A trained model artifact: (model.json, schema.json, card.json).
pub type Artifact = (String, String, String);

fn train_small(seed: u64, depth: u32) -> Artifact {
    use lendscope_trainer::generate::generated_dataset;
    use lendscope_trainer::train::Quiet;
    use lendscope_trainer::{train, TrainParams};
    let settings = lendscope_model::synth::Settings {
        seed,
        drift: 0.0,
        bias: 0.0,
    };
    let data = generated_dataset(settings, 3000).unwrap();
    let params = TrainParams {
        rounds: 40,
        max_depth: depth,
        seed,
        early_stopping_rounds: 40,
        ..TrainParams::default()
    };
    let a = train(&data, &params, &mut Quiet).unwrap();
    (
        a.model_json,
        a.schema_json,
        serde_json::to_string(&a.card).unwrap(),
    )
}

/// Two models trained once per test run and shared by every test.
pub fn fixture_models() -> &'static (Artifact, Artifact) {
    static MODELS: std::sync::OnceLock<(Artifact, Artifact)> = std::sync::OnceLock::new();
    MODELS.get_or_init(|| (train_small(1, 3), train_small(2, 4)))
}

impl TestApp {
    /// Registers the fixture models as champion and challenger (challenger share in %) and
    /// returns a new API key.
    pub async fn with_scoring(&self, challenger_share: u8) -> String {
        let ((m1, s1, c1), (m2, s2, c2)) = fixture_models().clone();
        let champion = self
            .services
            .register_model("fixture", &m1, &s1, &c1, Actor::System)
            .await
            .unwrap();
        let challenger = self
            .services
            .register_model("fixture", &m2, &s2, &c2, Actor::System)
            .await
            .unwrap();
        use lendscope_service::registry::{Emergency, ModelRole as R};
        let setup = Emergency::new("test set-up").unwrap();
        self.services
            .set_alias(R::Champion, Some(champion.id), Actor::System, &setup)
            .await
            .unwrap();
        self.services
            .set_alias(R::Challenger, Some(challenger.id), Actor::System, &setup)
            .await
            .unwrap();
        self.services
            .set_challenger_share(challenger_share, Actor::System, &setup)
            .await
            .unwrap();
        self.services
            .create_api_key("partner", Actor::System)
            .await
            .unwrap()
    }

    pub async fn post_application(
        &self,
        key: &str,
        body: &serde_json::Value,
        idempotency: Option<&str>,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url("/api/v1/applications"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = idempotency {
            req = req.header("idempotency-key", k);
        }
        req.send().await.unwrap()
    }

    /// Scores generated applicants (request body, defaulted) through the API; records each
    /// outcome when `labelled`. Returns the application ids.
    pub async fn score_all(
        &self,
        key: &str,
        applicants: Vec<(Vec<u8>, bool)>,
        labelled: bool,
    ) -> Vec<String> {
        let mut ids = Vec::new();
        for (body, defaulted) in applicants {
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let res = self.decide(key, &body).await;
            let id = res["application_id"].as_str().unwrap().to_owned();
            if labelled {
                let outcome = if defaulted { "defaulted" } else { "repaid" };
                label(&self.services, &id, outcome).await;
            }
            ids.push(id);
        }
        ids
    }

    pub async fn decide(&self, key: &str, body: &serde_json::Value) -> serde_json::Value {
        self.post_application(key, body, None)
            .await
            .json()
            .await
            .unwrap()
    }

    /// GETs an API path with an API key and returns the JSON body.
    pub async fn get_api(&self, key: &str, path: &str) -> serde_json::Value {
        self.client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn decisions(&self) -> u64 {
        self.services.verify_decisions().await.unwrap().records
    }
}

/// A valid application body.
pub fn application(applicant_id: &str) -> serde_json::Value {
    serde_json::json!({
        "applicant": {"id": applicant_id, "monthly_income": 2100},
        "loan": {"amount": 1800, "term_months": 12, "purpose": "emergency"},
        "alternative_data": {
            "employment": {"status": "gig", "tenure_months": 8, "employer_changes_24m": 3, "income_verified": false},
            "payments": {"rent_on_time_ratio": 0.71, "utility_on_time_ratio": 0.82, "late_payments_12m": 4, "payment_history_months": 14},
            "digital": {"mobile_account_tenure_months": 20, "device_tenure_months": 6},
            "banking": {"avg_monthly_balance": 120.0, "min_balance_90d": -80, "overdrafts_90d": 3, "income_volatility": 0.9, "savings_rate": -0.05}
        },
        "protected": {"gender": "female", "age_band": "25-34"}
    })
}

/// Records the outcome of an application as a lender would: only approved loans have one, so
/// an application the model did not approve is first approved by an officer (with a note).
pub async fn label(services: &Services, id: &str, outcome: &str) {
    use lendscope_service::review::ReviewAction;
    match services
        .record_outcome(id, "partner", outcome, services.now())
        .await
    {
        Ok(_) => return,
        Err(lendscope_service::ServiceError::Conflict(why))
            if why.contains("approved loans only") => {}
        Err(e) => panic!("outcome of {id}: {e}"),
    }
    let version = services.case_history(id).await.unwrap().len();
    services
        .review(
            id,
            "test-officer",
            ReviewAction::Approve,
            i32::try_from(version).unwrap(),
            Some("approved on review"),
            None,
            &[],
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    services
        .record_outcome(id, "partner", outcome, services.now())
        .await
        .unwrap();
}

/// A gate that judges performance, stability and latency as configured but lets the small
/// samples of a test through the fairness checks (those have their own tests).
pub fn lenient_gate() -> lendscope_service::registry::GateSettings {
    lendscope_service::registry::GateSettings {
        auc_tolerance: 0.2,
        max_parity_difference: 1.01,
        min_disparate_impact: 0.0,
        // The two fixture models (40 rounds, depth 3 and 4) spread their scores differently.
        max_psi: 100.0,
        min_group_members: 30,
        // Debug builds on a busy test machine; the 5 ms bound is about release builds.
        max_latency_p99_us: 1e6,
        ..lendscope_service::registry::GateSettings::default()
    }
}
