//! The rules of sending mail: which emails exist, how often a failed one is
//! tried again, when it is given up. Pure: no database, no SMTP.

use std::time::Duration;

use std::collections::BTreeMap;

use allot_platform::ids::DeliveryId;

/// A template's values.
pub type Params = BTreeMap<String, serde_json::Value>;

/// Every kind of email Allot sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// R-MAIL-1.
    Invitation,
    /// R-MAIL-2.
    ProductAssignment,
    /// R-MAIL-4.
    ContractConfirmation,
    /// R-MAIL-3.
    ImportFinished,
    /// R-MAIL-4.
    ReleaseNews,
    /// R-MAIL-4.
    RenewalReminder,
    /// R-AUTH-2.
    PasswordReset,
}

/// What a template needs, with sample values for previews (JSON; strings
/// unless a list is needed).
#[derive(Debug, Clone, Copy)]
pub struct TemplateInfo {
    pub kind: TemplateKind,
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: &'static [(&'static str, &'static str)],
}

pub const TEMPLATES: &[TemplateInfo] = &[
    INVITATION,
    PRODUCT_ASSIGNMENT,
    CONTRACT_CONFIRMATION,
    IMPORT_FINISHED,
    RELEASE_NEWS,
    RENEWAL_REMINDER,
    PASSWORD_RESET,
];

const PASSWORD_RESET: TemplateInfo = TemplateInfo {
    kind: TemplateKind::PasswordReset,
    name: "password_reset",
    description: "Sent when someone asks to reset a forgotten password: a single-use link that works for an hour (R-AUTH-2).",
    parameters: &[
        ("given_name", r#""Ada""#),
        (
            "reset_url",
            r#""http://localhost:8080/password/reset?token=sample""#,
        ),
        ("expires", r#""29 November 2026, 10:00 UTC""#),
    ],
};

const RENEWAL_REMINDER: TemplateInfo = TemplateInfo {
    kind: TemplateKind::RenewalReminder,
    name: "renewal_reminder",
    description: "Sent to a term contract's owner 30 and 7 days before its term ends (R-MAIL-4).",
    parameters: &[
        ("contract", r#""contracts/0199""#),
        ("end_date", r#""2027-03-31""#),
        ("days", "30"),
        (
            "subscriptions",
            r#"[{"product": "products/cad", "seats": 10}]"#,
        ),
    ],
};

const RELEASE_NEWS: TemplateInfo = TemplateInfo {
    kind: TemplateKind::ReleaseNews,
    name: "release_news",
    description: "Sent once to each software coordinator of a classic contract holding a product when a new release of it is published (R-MAIL-4).",
    parameters: &[
        ("product", r#""CAD Suite""#),
        ("version", r#""2027.1""#),
        ("notes", r#""Faster rendering; new export formats.""#),
        ("contract", r#""contracts/0199""#),
    ],
};

const IMPORT_FINISHED: TemplateInfo = TemplateInfo {
    kind: TemplateKind::ImportFinished,
    name: "import_finished",
    description: "Sent to the admin who started a CSV import when it finishes, with the summary (R-MAIL-3).",
    parameters: &[
        ("team", r#""Design""#),
        ("operation", r#""operations/0199""#),
        ("file_rows", "3"),
        ("validate_only", "false"),
        (
            "summary",
            r#""1 invited, 1 added, 0 already members, 1 invalid""#,
        ),
        (
            "problems",
            r#"[{"line": 4, "email": "not-an-address", "message": "email: is not an email address"}]"#,
        ),
    ],
};

const INVITATION: TemplateInfo = TemplateInfo {
    kind: TemplateKind::Invitation,
    name: "invitation",
    description: "Sent when a person is invited into a team, and again on each resend (R-MAIL-1).",
    parameters: &[
        ("given_name", r#""Ada""#),
        ("inviter", r#""Grace Hopper""#),
        ("team", r#""Design""#),
        (
            "accept_url",
            r#""http://localhost:8080/invitations/accept?token=sample""#,
        ),
        ("expires", r#""29 November 2026, 10:00 UTC""#),
    ],
};

const PRODUCT_ASSIGNMENT: TemplateInfo = TemplateInfo {
    kind: TemplateKind::ProductAssignment,
    name: "product_assignment",
    description: "Sent when a person gets products: which ones, which items, how to start (R-MAIL-2).",
    parameters: &[
        ("email", r#""ada@example.com""#),
        (
            "products",
            r#"[{"name": "CAD Suite", "items": ["Desktop application", "Cloud rendering"]}]"#,
        ),
    ],
};

const CONTRACT_CONFIRMATION: TemplateInfo = TemplateInfo {
    kind: TemplateKind::ContractConfirmation,
    name: "contract_confirmation",
    description: "Sent to the contract manager when a purchase is recorded (R-MAIL-4).",
    parameters: &[
        ("contract", r#""contracts/0199""#),
        ("activation", r#""sign-in""#),
        ("serial_number", r#""""#),
        ("plan", r#""standard""#),
        ("billing", r#""term""#),
        (
            "subscriptions",
            r#"[{"product": "CAD Suite", "seats": 10}]"#,
        ),
    ],
};

impl TemplateKind {
    pub fn info(self) -> &'static TemplateInfo {
        match self {
            TemplateKind::Invitation => &INVITATION,
            TemplateKind::ProductAssignment => &PRODUCT_ASSIGNMENT,
            TemplateKind::ContractConfirmation => &CONTRACT_CONFIRMATION,
            TemplateKind::ImportFinished => &IMPORT_FINISHED,
            TemplateKind::ReleaseNews => &RELEASE_NEWS,
            TemplateKind::RenewalReminder => &RENEWAL_REMINDER,
            TemplateKind::PasswordReset => &PASSWORD_RESET,
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The sample values, for previews.
    pub fn sample(self) -> Params {
        self.info()
            .parameters
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    serde_json::from_str(v).unwrap_or(serde_json::Value::Null),
                )
            })
            .collect()
    }

    pub fn from_name(name: &str) -> Option<TemplateKind> {
        TEMPLATES.iter().find(|t| t.name == name).map(|t| t.kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Sent,
    Dead,
    Superseded,
}

allot_platform::db_enum!(DeliveryState {
    Pending = "PENDING",
    Sent = "SENT",
    Dead = "DEAD",
    Superseded = "SUPERSEDED",
});

/// The Message-ID of a delivery: the same on every attempt, so a copy that
/// went out twice can be recognised (R-MAIL-5).
pub fn message_id(id: &DeliveryId) -> String {
    format!("<{id}@allot>")
}

/// How many due emails one sender claims at a time, sending `concurrency`
/// at once: no more than it can certainly send before its lease runs out,
/// even if every wave waits the whole `smtp_timeout` (with half the lease
/// to spare), so another sender never takes over an email still being
/// sent (R-MAIL-5). At least one wave, at most `most`.
pub fn claim_per_pass(
    lease: Duration,
    smtp_timeout: Duration,
    concurrency: usize,
    most: usize,
) -> usize {
    let waves = (lease / 2).as_millis() / smtp_timeout.as_millis().max(1);
    let waves = usize::try_from(waves).unwrap_or(usize::MAX).max(1);
    waves.saturating_mul(concurrency).clamp(1, most.max(1))
}

/// How a failed attempt is followed up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// 0: no count, only `give_up_after`.
    pub max_attempts: u32,
    pub give_up_after: Duration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server was unreachable or asked to try later (4xx).
    Transient,
    /// The server refused the message for good (5xx).
    Permanent,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

impl RetryPolicy {
    /// R-MAIL-5: exponential backoff up to `max_backoff`, for as long as
    /// `give_up_after` since the email was queued (`elapsed`), then the dead
    /// letter list; a permanent refusal goes there at once. `attempts`
    /// counts the one that just failed.
    pub fn after_failure(
        &self,
        attempts: u32,
        elapsed: Duration,
        failure: Failure,
    ) -> AfterFailure {
        let counted_out = self.max_attempts > 0 && attempts >= self.max_attempts;
        if failure == Failure::Permanent || counted_out || elapsed >= self.give_up_after {
            return AfterFailure::GiveUp;
        }
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(31));
        let delay = self
            .initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
            // The last attempt is made when the time is up, not after it.
            .min(self.give_up_after.saturating_sub(elapsed));
        AfterFailure::RetryIn(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            give_up_after: Duration::from_secs(3600),
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(10),
        }
    }

    #[test]
    fn r_mail_5_backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = policy();
        let delays: Vec<_> = (1..=4)
            .map(|a| p.after_failure(a, Duration::ZERO, Failure::Transient))
            .collect();
        assert_eq!(
            delays,
            [2, 4, 8, 10].map(|s| AfterFailure::RetryIn(Duration::from_secs(s)))
        );
        assert_eq!(
            p.after_failure(5, Duration::ZERO, Failure::Transient),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn r_mail_5_retries_go_on_for_three_days_backing_off_to_an_hour() {
        let d = allot_platform::config::DeliveryConfig::default();
        let p = RetryPolicy {
            max_attempts: d.max_attempts,
            give_up_after: d.give_up_after,
            initial_backoff: d.initial_backoff,
            max_backoff: d.max_backoff,
        };
        // Simulate an outage: every attempt fails until the time is up.
        let (mut elapsed, mut attempts, mut longest) = (Duration::ZERO, 0u32, Duration::ZERO);
        let dead_after = loop {
            attempts += 1;
            match p.after_failure(attempts, elapsed, Failure::Transient) {
                AfterFailure::RetryIn(delay) => {
                    longest = longest.max(delay);
                    elapsed += delay;
                }
                AfterFailure::GiveUp => break elapsed,
            }
        };
        assert_eq!(dead_after, Duration::from_secs(3 * 24 * 3600), "three days");
        assert_eq!(longest, Duration::from_secs(3600), "at most an hour apart");
        assert!(attempts > 70, "{attempts} attempts");
    }

    #[test]
    fn r_mail_5_a_sender_claims_no_more_than_it_sends_within_its_lease() {
        let secs = Duration::from_secs;
        // Defaults: a 120 s lease, 30 s per attempt at worst, 32 at once:
        // two waves fit in half the lease.
        assert_eq!(claim_per_pass(secs(120), secs(30), 32, 512), 64);
        // A slow server: one wave, never none.
        assert_eq!(claim_per_pass(secs(60), secs(300), 32, 512), 32);
        // A long lease: capped.
        assert_eq!(claim_per_pass(secs(3600), secs(1), 32, 512), 512);
    }

    #[test]
    fn r_mail_5_a_permanent_refusal_is_dead_at_once() {
        assert_eq!(
            policy().after_failure(1, Duration::ZERO, Failure::Permanent),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn r_mail_5_message_ids_are_stable_per_delivery() {
        let id = DeliveryId::generate();
        assert_eq!(message_id(&id), message_id(&id));
        assert_ne!(message_id(&id), message_id(&DeliveryId::generate()));
    }

    #[test]
    fn template_names_round_trip() {
        for t in TEMPLATES {
            assert_eq!(TemplateKind::from_name(t.name), Some(t.kind));
        }
        assert_eq!(TemplateKind::from_name("nope"), None);
    }
}
