//! Writing emails from templates (minijinja): a subject, a plain-text body
//! and an HTML body, escaped for HTML.

use allot_platform::clock::from_micros;
use minijinja::{Environment, UndefinedBehavior};

use crate::domain::{Params, TemplateKind};

/// One email's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
}

const SOURCES: &[(&str, &str)] = &[
    (
        "invitation.subject",
        include_str!("../templates/invitation.subject"),
    ),
    (
        "invitation.txt",
        include_str!("../templates/invitation.txt"),
    ),
    (
        "invitation.html",
        include_str!("../templates/invitation.html"),
    ),
    (
        "product_assignment.subject",
        include_str!("../templates/product_assignment.subject"),
    ),
    (
        "product_assignment.txt",
        include_str!("../templates/product_assignment.txt"),
    ),
    (
        "product_assignment.html",
        include_str!("../templates/product_assignment.html"),
    ),
    (
        "contract_confirmation.subject",
        include_str!("../templates/contract_confirmation.subject"),
    ),
    (
        "contract_confirmation.txt",
        include_str!("../templates/contract_confirmation.txt"),
    ),
    (
        "contract_confirmation.html",
        include_str!("../templates/contract_confirmation.html"),
    ),
    (
        "renewal_reminder.subject",
        include_str!("../templates/renewal_reminder.subject"),
    ),
    (
        "renewal_reminder.txt",
        include_str!("../templates/renewal_reminder.txt"),
    ),
    (
        "renewal_reminder.html",
        include_str!("../templates/renewal_reminder.html"),
    ),
    (
        "release_news.subject",
        include_str!("../templates/release_news.subject"),
    ),
    (
        "release_news.txt",
        include_str!("../templates/release_news.txt"),
    ),
    (
        "release_news.html",
        include_str!("../templates/release_news.html"),
    ),
    (
        "import_finished.subject",
        include_str!("../templates/import_finished.subject"),
    ),
    (
        "import_finished.txt",
        include_str!("../templates/import_finished.txt"),
    ),
    (
        "import_finished.html",
        include_str!("../templates/import_finished.html"),
    ),
    (
        "password_reset.subject",
        include_str!("../templates/password_reset.subject"),
    ),
    (
        "password_reset.txt",
        include_str!("../templates/password_reset.txt"),
    ),
    (
        "password_reset.html",
        include_str!("../templates/password_reset.html"),
    ),
];

impl Renderer {
    pub fn new() -> Result<Renderer, minijinja::Error> {
        let mut env = Environment::new();
        // A missing value is a bug, never an empty line in someone's inbox.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in SOURCES {
            env.add_template(name, source)?;
        }
        Ok(Renderer { env })
    }

    /// The subject alone (stored in the delivery log).
    pub fn subject(&self, kind: TemplateKind, params: &Params) -> Result<String, minijinja::Error> {
        let name = kind.name();
        Ok(self
            .env
            .get_template(&format!("{name}.subject"))?
            .render(params)?
            .trim()
            .to_owned())
    }

    pub fn render(
        &self,
        kind: TemplateKind,
        params: &Params,
    ) -> Result<Rendered, minijinja::Error> {
        let name = kind.name();
        Ok(Rendered {
            subject: self.subject(kind, params)?,
            text: self
                .env
                .get_template(&format!("{name}.txt"))?
                .render(params)?,
            html: self
                .env
                .get_template(&format!("{name}.html"))?
                .render(params)?,
        })
    }
}

/// "29 November 2026, 10:00 UTC".
pub fn human_time(micros: i64) -> String {
    let t = from_micros(micros);
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:long] [year], [hour]:[minute] UTC"
    );
    t.format(&format).unwrap_or_else(|_| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TEMPLATES;

    fn sample(kind: TemplateKind) -> Params {
        kind.sample()
    }

    #[test]
    fn every_template_renders_with_its_declared_parameters() {
        let r = Renderer::new().unwrap();
        for t in TEMPLATES {
            let out = r.render(t.kind, &sample(t.kind)).unwrap();
            assert!(!out.subject.is_empty() && !out.text.is_empty() && out.html.contains("<html"));
        }
    }

    #[test]
    fn r_mail_1_invitation_names_inviter_team_link_and_expiry() {
        let r = Renderer::new().unwrap();
        let out = r
            .render(TemplateKind::Invitation, &sample(TemplateKind::Invitation))
            .unwrap();
        assert_eq!(out.subject, "Grace Hopper invited you to Design on Allot");
        for needle in ["Grace Hopper", "Design", "token=sample", "29 November 2026"] {
            assert!(out.text.contains(needle), "text lacks {needle}");
            assert!(out.html.contains(needle), "html lacks {needle}");
        }
    }

    #[test]
    fn r_mail_2_assignment_names_products_items_and_how_to_start() {
        let r = Renderer::new().unwrap();
        let mut p = sample(TemplateKind::ProductAssignment);
        let out = r.render(TemplateKind::ProductAssignment, &p).unwrap();
        assert_eq!(out.subject, "You can now use CAD Suite");
        assert!(
            out.text
                .contains("CAD Suite: Desktop application, Cloud rendering"),
            "{}",
            out.text
        );
        assert!(out.html.contains("How to get started"));
        p.insert(
            "products".into(),
            serde_json::json!([{"name": "A", "items": []}, {"name": "B", "items": ["x"]}]),
        );
        assert_eq!(
            r.subject(TemplateKind::ProductAssignment, &p).unwrap(),
            "You can now use 2 products"
        );
    }

    #[test]
    fn r_mail_4_confirmation_lists_the_subscriptions() {
        let r = Renderer::new().unwrap();
        let out = r
            .render(
                TemplateKind::ContractConfirmation,
                &sample(TemplateKind::ContractConfirmation),
            )
            .unwrap();
        assert!(out.text.contains("CAD Suite: 10 seats"), "{}", out.text);
        assert!(out.text.contains("contract manager"));
    }

    #[test]
    fn html_is_escaped_and_missing_values_fail() {
        let r = Renderer::new().unwrap();
        let mut p = sample(TemplateKind::Invitation);
        p.insert("team".into(), serde_json::Value::from("<script>x</script>"));
        let out = r.render(TemplateKind::Invitation, &p).unwrap();
        assert!(!out.html.contains("<script>"));
        p.remove("team");
        assert!(r.render(TemplateKind::Invitation, &p).is_err());
    }
}
