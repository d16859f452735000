//! The signed-in user's own account: where they are signed in (and ending those sessions), and
//! changing their password, which signs them out everywhere else.

use lendscope_domain::Area;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{CsrfField, ErrorBox, FormAlert, Protected};
use crate::error::AppError;
use crate::session::use_auth;

/// One open session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Names the session in the sign-out form (not a usable session id).
    pub handle: String,
    pub started: String,
    pub last_seen: String,
    pub ends: String,
    pub address: String,
    pub browser: String,
    pub current: bool,
}

#[server(prefix = "/rpc", endpoint = "account", input = GetUrl)]
pub async fn fetch_sessions() -> Result<Vec<SessionRow>, AppError> {
    use crate::ssr;
    let me = ssr::require(Area::Account).await?;
    let sessions = ssr::services()?
        .open_sessions(&me)
        .await
        .map_err(ssr::map_service_error)?;
    const TIME: &str = "%Y-%m-%d %H:%M UTC";
    Ok(sessions
        .into_iter()
        .map(|s| SessionRow {
            started: s.started_at.format(TIME).to_string(),
            last_seen: s.last_seen_at.format(TIME).to_string(),
            ends: s.ends_at.format(TIME).to_string(),
            address: s.client_ip.unwrap_or_else(|| "unknown".into()),
            browser: s
                .user_agent
                .map(|ua| ua.chars().take(120).collect())
                .unwrap_or_else(|| "unknown".into()),
            current: s.current,
            handle: s.handle,
        })
        .collect())
}

/// Ends one of the user's other sessions (`session` = its handle), or all of them
/// (`session` = `others`).
#[server(prefix = "/rpc", endpoint = "account/sessions/end")]
pub async fn end_sessions(session: String, csrf: String) -> Result<u64, AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let me = ssr::require(Area::Account).await.map_err(ssr::fail_form)?;
    let handle = (session != "others").then_some(session.as_str());
    let ended = ssr::services()?
        .end_sessions(&me, handle, &ssr::request_meta())
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    leptos_axum::redirect("/account?done=sessions");
    Ok(ended)
}

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="My account"/>
        <Protected area=Area::Account>
            <Account/>
        </Protected>
    }
    .into_any()
}

#[component]
fn Account() -> impl IntoView {
    let auth = use_auth();
    let end = ServerAction::<EndSessions>::new();
    let sessions = Resource::new(
        move || (end.version().get(), auth.password.version().get()),
        |_| fetch_sessions(),
    );
    let end_error = Signal::derive(move || end.value().get().and_then(|r| r.err()));
    let password_error = Signal::derive(move || auth.password.value().get().and_then(|r| r.err()));
    let query = use_query_map();
    let done = move || match query.read().get("done").as_deref() {
        Some("password") => Some("Password changed. Every other session has been signed out."),
        Some("sessions") => Some("Signed out."),
        _ => None,
    };
    view! {
        <h1>"My account"</h1>
        {move || done().map(|text| view! {
            <p class="alert alert-success" role="status">{text}</p>
        })}
        <div class="two-col">
            <section class="card" aria-labelledby="sessions-heading">
                <h2 id="sessions-heading">"Where you are signed in"</h2>
                <FormAlert error=end_error/>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match sessions.await {
                            Ok(rows) => view! { <SessionTable rows end/> }.into_any(),
                            Err(error) => view! { <ErrorBox error/> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="card" aria-labelledby="password-heading">
                <h2 id="password-heading">"Change password"</h2>
                <FormAlert error=password_error/>
                <ActionForm action=auth.password attr:class="form" attr:id="password-form">
                    <CsrfField/>
                    <label for="current-password">"Current password"</label>
                    <input id="current-password" name="current_password" type="password"
                        autocomplete="current-password" required maxlength="1024"/>
                    <label for="new-password">"New password (at least 12 characters)"</label>
                    <input id="new-password" name="new_password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="256"/>
                    <label for="repeat-password">"New password again"</label>
                    <input id="repeat-password" name="repeat_password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="256"/>
                    <p class="muted">"Changing it signs you out everywhere else."</p>
                    <button type="submit" class="button">"Change password"</button>
                </ActionForm>
            </section>
        </div>
    }
    .into_any()
}

#[component]
fn SessionTable(rows: Vec<SessionRow>, end: ServerAction<EndSessions>) -> impl IntoView {
    let others = rows.iter().filter(|r| !r.current).count();
    let body = rows
        .into_iter()
        .map(|s| {
            let action = if s.current {
                view! { <span class="pill pill-approve">"This browser"</span> }.into_any()
            } else {
                view! {
                    <ActionForm action=end attr:class="inline-form">
                        <CsrfField/>
                        <input type="hidden" name="session" value=s.handle.clone()/>
                        <button type="submit" class="button button-small button-quiet">
                            "Sign out"
                        </button>
                    </ActionForm>
                }
                .into_any()
            };
            view! {
                <tr>
                    <td>{s.started}</td>
                    <td>{s.last_seen}</td>
                    <td>{s.ends}</td>
                    <td>{s.address}</td>
                    <td class="user-agent">{s.browser}</td>
                    <td>{action}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" id="sessions">
            <thead>
                <tr>
                    <th scope="col">"Signed in"</th>
                    <th scope="col">"Last active"</th>
                    <th scope="col">"Ends at the latest"</th>
                    <th scope="col">"Address"</th>
                    <th scope="col">"Browser"</th>
                    <th scope="col"><span class="sr-only">"Action"</span></th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
        <Show when=move || { others > 0 }>
            <ActionForm action=end attr:class="form">
                <CsrfField/>
                <input type="hidden" name="session" value="others"/>
                <button type="submit" class="button button-quiet">
                    "Sign out all other sessions"
                </button>
            </ActionForm>
        </Show>
    }
    .into_any()
}
