//! The applicant's notice, behind an unguessable link: no login, no internal scores.

use lendscope_domain::notice::Notice;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::{ErrorBox, NotFoundCard};
use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "notice", input = GetUrl)]
pub async fn fetch_notice(token: String) -> Result<Notice, AppError> {
    use crate::ssr;
    ssr::services()?
        .notice_by_token(&token)
        .await
        .map_err(ssr::map_service_error)
}

#[component]
pub fn NoticePage() -> impl IntoView {
    let params = use_params_map();
    let notice = Resource::new(
        move || params.read().get("token").unwrap_or_default(),
        fetch_notice,
    );
    view! {
        <Title text="Your application"/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match notice.await {
                Ok(n) => view! { <NoticeView notice=n/> }.into_any(),
                Err(AppError::NotFound) => view! {
                    <NotFoundCard
                        title="Notice not found"
                        text="This link is not valid. Please check the address you were given."
                    />
                }
                .into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn NoticeView(notice: Notice) -> impl IntoView {
    let reasons = (!notice.reasons.is_empty()).then(|| {
        let items = notice
            .reasons
            .iter()
            .map(|r| view! { <li>{r.clone()}</li> })
            .collect_view();
        view! {
            <h2>"Principal reasons"</h2>
            <ol class="reasons" data-testid="notice-reasons">{items}</ol>
        }
    });
    let steps = notice
        .next_steps
        .iter()
        .map(|s| view! { <li>{s.clone()}</li> })
        .collect_view();
    let ecoa = notice
        .ecoa_statement
        .clone()
        .map(|s| view! { <p class="muted small">{s}</p> });
    view! {
        <article class="card notice" data-decision=notice.decision.as_str()>
            <p class="muted">"Application " {notice.application_id.clone()} " · " {notice.decided_at.clone()}</p>
            <h1>{notice.headline.clone()}</h1>
            {reasons}
            <h2>"What you can do"</h2>
            <ul>{steps}</ul>
            {ecoa}
        </article>
    }
    .into_any()
}
