//! The public application form (the demo channel of the applicant's journey): the applicant
//! enters a loan request and the alternative data a partner would supply; it is scored by the
//! same service as the JSON API, and the applicant lands on their notice page.

use std::collections::BTreeMap;

use lendscope_domain::review::FormField;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::{CsrfField, ErrorBox, FormAlert};
use crate::error::AppError;

/// The form's fields and a fresh id that makes a double submit harmless.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormSpec {
    pub fields: Vec<FormField>,
    pub form_id: String,
}

#[server(prefix = "/rpc", endpoint = "apply/form", input = GetUrl)]
pub async fn application_form() -> Result<FormSpec, AppError> {
    Ok(FormSpec {
        fields: lendscope_service::scoring::form::form_fields(),
        form_id: uuid::Uuid::new_v4().simple().to_string(),
    })
}

#[server(prefix = "/rpc", endpoint = "apply")]
pub async fn submit_application(
    fields: BTreeMap<String, String>,
    form_id: String,
    csrf: String,
) -> Result<(), AppError> {
    use crate::ssr;
    let _ = csrf; // checked by the server's CSRF layer (only signed-in staff carry a token)
    let form_id = form_id.trim();
    if form_id.is_empty()
        || form_id.len() > 64
        || !form_id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(ssr::fail_form(AppError::Invalid {
            field: "form_id".into(),
            message: "the form has expired; reload the page".into(),
        }));
    }
    let notice_url = ssr::services()?
        .score_form(&fields, form_id)
        .await
        .map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    leptos_axum::redirect(&notice_url);
    Ok(())
}

#[component]
pub fn ApplyPage() -> impl IntoView {
    let form = Resource::new(|| (), |_| application_form());
    view! {
        <Title text="Apply for a loan"/>
        <h1>"Apply for a small loan"</h1>
        <p class="lead">
            "Loans from $500 to $5,000 for people with little credit history. We look at how you "
            "pay rent, utilities and your phone, your work and your bank account — not only at a "
            "credit file. You get an answer at once, with the reasons."
        </p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move { match form.await {
                Ok(form) => view! { <Apply form/> }.into_any(),
                Err(error) => view! { <ErrorBox error/> }.into_any(),
            } })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn Apply(form: FormSpec) -> impl IntoView {
    let submit = ServerAction::<SubmitApplication>::new();
    let query = use_query_map();
    let error = Signal::derive(move || submit.value().get().and_then(|r| r.err()));
    // The field the last error names (from the action, or from the URL after a plain post).
    let bad_field = Signal::derive(move || {
        error
            .get()
            .and_then(|e| e.field().map(str::to_owned))
            .or_else(|| query.read().get("field"))
    });
    let mut groups: Vec<(String, Vec<FormField>)> = Vec::new();
    for f in form.fields {
        match groups.iter_mut().find(|(g, _)| *g == f.group) {
            Some((_, list)) => list.push(f),
            None => groups.push((f.group.clone(), vec![f])),
        }
    }
    let fieldsets = groups
        .into_iter()
        .map(|(title, fields)| {
            let inputs = fields
                .into_iter()
                .map(|f| view! { <Field field=f bad_field/> })
                .collect_view();
            view! {
                <fieldset class="card">
                    <legend>{title}</legend>
                    <div class="field-grid">{inputs}</div>
                </fieldset>
            }
        })
        .collect_view();
    view! {
        <FormAlert error/>
        <ActionForm action=submit attr:class="form apply" attr:id="apply-form">
            <CsrfField/>
            <input type="hidden" name="form_id" value=form.form_id/>
            {fieldsets}
            <p class="muted small">
                "By submitting you agree that we score this information to decide on your loan. "
                "You will receive the decision and its main reasons on the next page."
            </p>
            <button type="submit" class="button">"Submit application"</button>
        </ActionForm>
    }
    .into_any()
}

#[component]
fn Field(field: FormField, bad_field: Signal<Option<String>>) -> impl IntoView {
    let id = format!("apply-{}", field.name);
    let name = format!("fields[{}]", field.name);
    let help_id = format!("{id}-help");
    let mine = field.name.clone();
    let invalid = move || bad_field.get().as_deref() == Some(mine.as_str());
    let label = if field.required {
        field.label.clone()
    } else {
        format!("{} (optional)", field.label)
    };
    let control = if field.options.is_empty() && field.step.is_empty() {
        view! {
            <input id=id.clone() name=name type="text" required=field.required maxlength="64"
                autocomplete="off" pattern="[A-Za-z0-9_\\-]+" aria-describedby=help_id.clone()
                aria-invalid=move || invalid().then_some("true")/>
        }
        .into_any()
    } else if field.options.is_empty() {
        view! {
            <input id=id.clone() name=name type="number" inputmode="decimal"
                required=field.required step=field.step.clone()
                min=field.min.map(|m| m.to_string()) max=field.max.map(|m| m.to_string())
                aria-describedby=help_id.clone()
                aria-invalid=move || invalid().then_some("true")/>
        }
        .into_any()
    } else {
        let options = field
            .options
            .iter()
            .map(|o| view! { <option value=o.clone()>{o.replace('_', " ")}</option> })
            .collect_view();
        let placeholder = if field.required {
            "Choose…"
        } else {
            "Prefer not to say"
        };
        view! {
            <select id=id.clone() name=name required=field.required
                aria-describedby=help_id.clone()
                aria-invalid=move || invalid().then_some("true")>
                <option value="">{placeholder}</option>
                {options}
            </select>
        }
        .into_any()
    };
    let range = match (field.min, field.max) {
        (Some(lo), Some(hi)) => format!("{lo} to {hi}. "),
        _ => String::new(),
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {control}
            <small id=help_id class="muted">{range}{field.help}</small>
        </div>
    }
    .into_any()
}
