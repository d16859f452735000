//! Identity: who is behind a request — staff signing in with a password, their sessions and
//! the session cookie, user administration and one's own account, and API keys for machine
//! clients.

pub mod account;
pub mod auth;
pub mod cookie;
pub mod passwords;
pub mod sessions;
pub mod users;

pub use account::OpenSession;
pub use auth::{ApiClient, AuthSettings, API_KEY_PREFIX};
pub use cookie::{cookie_value, CookiePolicy};
pub use passwords::PasswordPool;
pub use sessions::{LoginOutcome, SessionUser};
pub use users::UserSummary;
