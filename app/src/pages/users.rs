//! Administrators create staff accounts and see who exists.

use lendscope_domain::{Area, Role};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::components::{CsrfField, ErrorBox, FormAlert, Protected};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    pub created_by: String,
}

#[server(prefix = "/rpc", endpoint = "users", input = GetUrl)]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    use crate::ssr;
    ssr::require(Area::Users).await?;
    let users = ssr::services()?
        .list_users()
        .await
        .map_err(ssr::map_service_error)?;
    users
        .into_iter()
        .map(|u| {
            Ok(UserRow {
                role: u.role.parse()?,
                username: u.username,
                disabled: u.disabled,
                created_at: u.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                created_by: u.created_by,
            })
        })
        .collect()
}

#[server(prefix = "/rpc", endpoint = "users/create")]
pub async fn create_user(
    username: String,
    role: String,
    password: String,
    csrf: String,
) -> Result<String, AppError> {
    use crate::ssr;
    use lendscope_domain::{NewPassword, Username};
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let admin = ssr::require(Area::Users).await.map_err(ssr::fail_form)?;
    let parsed = (|| {
        Ok::<_, AppError>((
            Username::parse(&username)?,
            role.parse::<Role>()?,
            NewPassword::parse(&password)?,
        ))
    })();
    let (username, role, password) = parsed.map_err(ssr::fail_form)?;
    let created = ssr::services()?
        .create_user(
            username,
            role,
            password,
            admin.actor(),
            &ssr::request_meta(),
        )
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    Ok(created.username)
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Protected area=Area::Users>
            <UsersAdmin/>
        </Protected>
    }
    .into_any()
}

#[component]
fn UsersAdmin() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let users = Resource::new(move || create.version().get(), |_| list_users());
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = move || create.value().get().and_then(|r| r.ok());
    view! {
        <h1>"Users"</h1>
        <div class="two-col">
            <section class="card">
                <h2>"Staff accounts"</h2>
                <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move { match users.await {
                        Ok(rows) => view! { <UserTable rows/> }.into_any(),
                        Err(error) => view! { <ErrorBox error/> }.into_any(),
                    } })}
                </Suspense>
            </section>
            <section class="card">
                <h2>"Add a user"</h2>
                <FormAlert error/>
                {move || created().map(|name| view! {
                    <p class="alert alert-success" role="status">"Created " {name} "."</p>
                })}
                <ActionForm action=create attr:class="form" attr:id="create-user-form">
                    <CsrfField/>
                    <label for="new-username">"User name"</label>
                    <input id="new-username" name="username" autocomplete="off" required
                        minlength="3" maxlength="64"/>
                    <label for="new-role">"Role"</label>
                    <select id="new-role" name="role">
                        {Role::ALL.into_iter().map(|r| view! {
                            <option value=r.as_str()>{r.label()}</option>
                        }).collect_view()}
                    </select>
                    <label for="new-password">"Initial password (at least 12 characters)"</label>
                    <input id="new-password" name="password" type="password"
                        autocomplete="new-password" required minlength="12" maxlength="256"/>
                    <button type="submit" class="button">"Create user"</button>
                </ActionForm>
            </section>
        </div>
    }
    .into_any()
}

#[component]
fn UserTable(rows: Vec<UserRow>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|u| {
            view! {
                <tr>
                    <td>{u.username}</td>
                    <td>{u.role.label()}</td>
                    <td>{if u.disabled { "disabled" } else { "active" }}</td>
                    <td>{u.created_at}</td>
                    <td>{u.created_by}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead>
                <tr>
                    <th scope="col">"User"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"By"</th>
                </tr>
            </thead>
            <tbody>{body}</tbody>
        </table>
    }
    .into_any()
}
