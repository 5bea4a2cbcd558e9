//! Pages from templates (minijinja, compiled into the binary, escaped for
//! HTML), the layout every page shares, and the answers every page gives
//! alike: a redirect after a form, a refusal page.

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::refusal::Refusal;
use crate::session::{Flash, NewSession, Session, Visit};

const SOURCES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("message.html", include_str!("../templates/message.html")),
    ("sign_in.html", include_str!("../templates/sign_in.html")),
    ("accept.html", include_str!("../templates/accept.html")),
    ("forgot.html", include_str!("../templates/forgot.html")),
    ("reset.html", include_str!("../templates/reset.html")),
    ("password.html", include_str!("../templates/password.html")),
    (
        "my_products.html",
        include_str!("../templates/my_products.html"),
    ),
    ("users.html", include_str!("../templates/users.html")),
    ("user.html", include_str!("../templates/user.html")),
    ("invited.html", include_str!("../templates/invited.html")),
    ("import.html", include_str!("../templates/import.html")),
    ("products.html", include_str!("../templates/products.html")),
    ("product.html", include_str!("../templates/product.html")),
    ("groups.html", include_str!("../templates/groups.html")),
    ("group.html", include_str!("../templates/group.html")),
    ("classic.html", include_str!("../templates/classic.html")),
    ("contract.html", include_str!("../templates/contract.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("reports.html", include_str!("../templates/reports.html")),
];

fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.add_filter("when", when);
    env.add_filter("day", day);
    env.add_filter("thousands", thousands);
    env.add_global("assets", crate::assets::version());
    env.add_function("request_id", crate::session::random_token);
    for (name, source) in SOURCES {
        env.add_template(name, source)?;
    }
    for (name, _) in SOURCES {
        env.get_template(name)?;
    }
    Ok(env)
}

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    environment().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the console's templates do not compile");
        Environment::new()
    })
});

/// Checks every template compiles (at start, so a broken one stops it).
pub fn check_templates() -> anyhow::Result<()> {
    environment()
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("console templates: {e:#}"))
}

/// Unix seconds as `2026-12-06 14:03 UTC`.
fn when(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Unix seconds as `2026-12-06`.
fn day(seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_default()
}

/// `5000` as `5,000`.
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A team in the team switcher.
#[derive(Debug, Clone, Serialize)]
pub struct TeamLink {
    /// The id in `teams/{id}`.
    pub id: String,
    pub display_name: String,
}

/// What the layout shows around every page.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Chrome {
    pub title: String,
    /// The person signed in: name and email.
    pub me: Option<(String, String)>,
    pub csrf: String,
    /// The team the page is about, and the person's other teams.
    pub team: Option<TeamLink>,
    pub teams: Vec<TeamLink>,
    /// Admin of `team`: the admin pages are in the menu.
    pub admin: bool,
    /// The menu entry of this page.
    pub section: &'static str,
}

impl Chrome {
    pub fn new(visit: &Visit, title: impl Into<String>, section: &'static str) -> Chrome {
        Chrome {
            title: title.into(),
            me: visit.user().map(|u| (u.name.clone(), u.email.clone())),
            csrf: visit.session.csrf.clone(),
            section,
            ..Chrome::default()
        }
    }
}

/// Renders `template` with the layout and `page`'s values; a message
/// left for this page is shown once.
pub fn page(visit: &Visit, chrome: &Chrome, template: &str, page: Value) -> Response {
    page_with_status(visit, chrome, template, page, StatusCode::OK)
}

pub fn page_with_status(
    visit: &Visit,
    chrome: &Chrome,
    template: &str,
    page: Value,
    status: StatusCode,
) -> Response {
    let flash = visit.session.flash.clone();
    let ctx = context! { chrome => chrome, flash => flash, ..page };
    let html = TEMPLATES.get_template(template).and_then(|t| t.render(ctx));
    let mut resp = match html {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template, error = %e, "rendering a console page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown; the server log has the cause",
            )
                .into_response()
        }
    };
    if flash.is_some() {
        let mut session = visit.session.clone();
        session.flash = None;
        resp.extensions_mut().insert(NewSession(session));
    }
    resp
}

/// A page that only says why something could not be done.
pub fn refusal_page(status: StatusCode, heading: &str, text: &str) -> Response {
    let ctx = context! {
        chrome => Chrome { title: heading.to_owned(), ..Chrome::default() },
        heading => heading,
        text => text,
    };
    match TEMPLATES
        .get_template("message.html")
        .and_then(|t| t.render(ctx))
    {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, text.to_owned()).into_response(),
    }
}

/// The most characters a message for the next page carries: it travels
/// in the cookie, which must stay small.
const FLASH_CHARS: usize = 600;

/// `text`, cut to [`FLASH_CHARS`].
fn short(text: &str) -> String {
    match text.char_indices().nth(FLASH_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// Names for a message: the first ten, then how many more.
pub fn some_of(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        format!("{shown} and {} more", names.len() - 10)
    } else {
        shown
    }
}

/// After a form: to `to` (a path of the console), with a message for the
/// next page (303, so a reload does not post again).
pub fn done(visit: &Visit, to: &str, kind: &str, text: impl Into<String>) -> Response {
    let session = visit.session.clone().with_flash(kind, short(&text.into()));
    go(to, session)
}

/// Back to the form `form` on the page `to`, the refusal in it: each
/// field's reason beside the field, what was typed kept (short values;
/// the cookie is small).
pub fn refused(
    visit: &Visit,
    to: &str,
    form: &str,
    refusal: &Refusal,
    values: &[(&str, &str)],
) -> Response {
    if refusal.signed_out {
        return signed_out();
    }
    let mut kept = std::collections::BTreeMap::new();
    let mut budget = 1200usize;
    for (name, value) in values {
        if value.len() <= 200 && value.len() <= budget {
            budget -= value.len();
            kept.insert((*name).to_owned(), (*value).to_owned());
        }
    }
    let mut session = visit.session.clone();
    session.flash = Some(Flash {
        kind: "error".into(),
        text: short(&refusal.message),
        form: Some(form.to_owned()),
        fields: refusal
            .fields
            .iter()
            .take(20)
            .map(|(f, r)| (f.clone(), short(r)))
            .collect(),
        values: kept,
    });
    go(&format!("{to}#{form}"), session)
}

/// To the sign-in page: the session ended.
pub fn signed_out() -> Response {
    go(
        "/sign-in",
        Session::new().with_flash("error", "Your session ended. Sign in again."),
    )
}

/// To `to` with `session` as the new session.
pub fn go(to: &str, session: Session) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.extensions_mut().insert(NewSession(session));
    resp
}

/// A download: `bytes` as a file named `name`.
pub fn download(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        check_templates().expect("templates");
    }

    #[test]
    fn messages_for_the_next_page_stay_small() {
        let long = "x".repeat(5000);
        assert_eq!(short(&long).chars().count(), FLASH_CHARS + 1);
        let names: Vec<String> = (0..25).map(|i| format!("p{i}")).collect();
        assert!(some_of(&names).ends_with("p9 and 15 more"));
        assert_eq!(some_of(&names[..2]), "p0, p1");
    }

    #[test]
    fn numbers_and_times_read_well() {
        assert_eq!(thousands(5000), "5,000");
        assert_eq!(thousands(123), "123");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        assert_eq!(day(86_400), "1970-01-02");
    }
}
