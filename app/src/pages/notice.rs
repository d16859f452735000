//! The applicant's notice, behind an unguessable link: no login, no internal scores.

use lendscope_domain::notice::Notice;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::components::record_view;
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
            {move || Suspend::new(async move {
                record_view(
                    notice.await,
                    ("Notice not found", "This link is not valid. Please check the address you were given."),
                    |n| {
                        let pdf = format!("/notice/{}/notice.pdf", params.read_untracked().get("token").unwrap_or_default());
                        view! { <NoticeView notice=n pdf/> }.into_any()
                    },
                )
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn NoticeView(notice: Notice, pdf: String) -> impl IntoView {
    let offer = notice.counteroffer.clone().map(|o| {
        view! {
            <section class="offer" data-testid="notice-counteroffer">
                <h2>"Our offer"</h2>
                <p><strong>{o.amount}</strong> " repaid over " <strong>{o.term_months} " months"</strong></p>
            </section>
        }
    });
    let recourse = (!notice.recourse.is_empty()).then(|| {
        let items = notice
            .recourse
            .iter()
            .map(|r| view! { <li>{r.clone()}</li> })
            .collect_view();
        view! {
            <h2>"What would have changed the result"</h2>
            <ul data-testid="notice-recourse">{items}</ul>
            <p class="muted small">{notice.recourse_disclaimer.clone()}</p>
        }
    });
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
            {offer}
            {reasons}
            {recourse}
            <h2>"What you can do"</h2>
            <ul>{steps}</ul>
            {ecoa}
            <p class="muted small">{notice.creditor.clone()}</p>
            <p><a href=pdf data-testid="notice-pdf" rel="external">"Download this notice (PDF)"</a></p>
        </article>
    }
    .into_any()
}
