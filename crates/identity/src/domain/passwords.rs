//! Passwords (R-AUTH-1, R-AUTH-2): what a person may choose, how it is
//! kept (argon2id with OWASP's parameters, salted; never the password
//! itself), and how repeated failures are slowed down.

use allot_platform::error::FieldViolation;
use allot_platform::values::Email;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

/// The shortest password a person may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest (hashing has a cost; nobody types more).
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Failed sign-ins of an account (or from an address) before each further
/// attempt waits.
pub const FREE_FAILURES: i64 = 5;
/// From one address, which many people may share (an office), more.
pub const FREE_FAILURES_PER_ADDRESS: i64 = 20;
/// The longest wait, however many failures.
pub const MAX_WAIT_SECONDS: i64 = 15 * 60;
/// Failures older than this are forgotten.
pub const FAILURE_MEMORY_SECONDS: i64 = 60 * 60;

/// How long a password reset link works.
pub const RESET_VALIDITY_SECONDS: i64 = 60 * 60;
/// Reset links one account may get in an hour (no one's mailbox is
/// flooded by strangers asking).
pub const RESETS_PER_HOUR: i64 = 3;

const COMMON: &str = include_str!("common-passwords.txt");

/// A password that passed the policy; only [`hash_password`] reads it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    /// R-AUTH-2: at least 12 characters, at most 128, not one of the common
    /// passwords Allot ships, not one character over and over, and not
    /// the person's email address or its name part.
    pub fn parse(field: &str, input: &str, email: &Email) -> Result<Password, FieldViolation> {
        let chars = input.chars().count();
        let refuse = |why: &str| Err(FieldViolation::new(field, why));
        if chars < MIN_PASSWORD_CHARS {
            return refuse(&format!(
                "must have at least {MIN_PASSWORD_CHARS} characters (it has {chars}); a few words make a good one"
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return refuse(&format!(
                "may have at most {MAX_PASSWORD_CHARS} characters (it has {chars})"
            ));
        }
        let lower = input.to_lowercase();
        if is_common(&lower) {
            return refuse("is one of the passwords people choose most often; choose another");
        }
        let mut distinct: Vec<char> = lower.chars().collect();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 4 {
            return refuse("uses too few different characters; choose another");
        }
        let address = email.as_str().to_lowercase();
        let local = address.split('@').next().unwrap_or_default();
        if lower.contains(&address) || (local.chars().count() >= 4 && lower.contains(local)) {
            return refuse("must not contain your email address; choose another");
        }
        Ok(Password(input.to_owned()))
    }
}

fn is_common(lower: &str) -> bool {
    COMMON
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .any(|l| l == lower)
}

/// OWASP's argon2id setting: 19 MiB, two passes, one lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The stored form: a PHC string with its own salt and parameters.
pub fn hash_password(password: &Password) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.0.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `input` is the password `stored` was made from. With no stored
/// hash (an unknown email, a person without a password) it spends the
/// same time and says no, so the answer's speed tells nothing.
pub fn verify_password(stored: Option<&str>, input: &str) -> bool {
    match stored.and_then(|s| PasswordHash::new(s).ok()) {
        Some(h) => argon2().verify_password(input.as_bytes(), &h).is_ok(),
        None => {
            let salt = SaltString::generate(&mut OsRng);
            let _ = argon2().hash_password(input.as_bytes(), &salt);
            false
        }
    }
}

/// How long the next attempt must wait after `failures` failed ones, the
/// last at `last` (Unix seconds), given `free` failures without a wait:
/// one second after the first failure past `free`, doubling, at most
/// [`MAX_WAIT_SECONDS`]. `None`: it may go ahead.
pub fn wait_before_next(failures: i64, last: i64, free: i64, now: i64) -> Option<i64> {
    if failures < free {
        return None;
    }
    let doublings = u32::try_from((failures - free).min(20)).unwrap_or(20);
    let wait = (1i64 << doublings).min(MAX_WAIT_SECONDS);
    let until = last + wait;
    (until > now).then_some(until - now)
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email::from_db("ada.lovelace@example.com".into())
    }

    #[test]
    fn r_auth_2_weak_passwords_are_refused_with_the_reason() {
        let reason = |p: &str| {
            Password::parse("password", p, &email())
                .err()
                .map(|v| v.reason)
                .unwrap_or_default()
        };
        assert!(reason("short").contains("at least 12"));
        assert!(reason(&"x".repeat(129)).contains("at most 128"));
        assert!(
            reason("Password1234").contains("most often"),
            "case does not help"
        );
        assert!(reason("abababababab").contains("too few different"));
        assert!(reason("ada.lovelace-2026").contains("email"));
        assert!(Password::parse("password", "correct horse battery staple", &email()).is_ok());
    }

    #[test]
    fn r_auth_2_passwords_are_kept_as_salted_argon2id_hashes() {
        let p = Password::parse("password", "correct horse battery staple", &email())
            .unwrap_or_else(|v| panic!("{}", v.reason));
        let (a, b) = (
            hash_password(&p).unwrap_or_default(),
            hash_password(&p).unwrap_or_default(),
        );
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(!a.contains("horse"));
        assert!(verify_password(Some(&a), "correct horse battery staple"));
        assert!(!verify_password(Some(&a), "correct horse battery stapler"));
        assert!(!verify_password(None, "anything"));
    }

    #[test]
    fn r_auth_2_repeated_failures_wait_longer_and_longer() {
        assert_eq!(
            wait_before_next(4, 1000, 5, 1000),
            None,
            "the first failures are free"
        );
        assert_eq!(wait_before_next(5, 1000, 5, 1000), Some(1));
        assert_eq!(wait_before_next(7, 1000, 5, 1000), Some(4));
        assert_eq!(wait_before_next(7, 1000, 5, 1004), None, "the wait is over");
        assert_eq!(wait_before_next(60, 1000, 5, 1000), Some(MAX_WAIT_SECONDS));
    }
}
