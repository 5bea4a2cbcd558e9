//! Secrets in the configuration. Each may come from a file instead of the
//! environment (`ALLOT_AUTH__INTERNAL_SECRET_FILE=/run/secrets/internal`, as
//! Docker and Kubernetes mount secrets), and a server refuses to start with
//! a weak one.

use super::{Config, ConfigError};

/// The secret settings as `ALLOT_` variables name them (lower case, `__`
/// between levels); each has a `_FILE` variant.
const SECRET_KEYS: &[&str] = &[
    "auth__internal_secret",
    "bootstrap__admin_secret",
    "bootstrap__admin_password",
    "database_url",
    "databases__identity",
    "databases__team",
    "databases__entitlement",
    "databases__notification",
    "smtp_url",
    "nats_url",
];

/// `key` (lower case, without `ALLOT_`) is a secret's `_FILE` variant.
pub(super) fn is_file_variant(key: &str) -> bool {
    key.strip_suffix("_file")
        .is_some_and(|k| SECRET_KEYS.contains(&k))
}

impl Config {
    /// Reads each secret whose `ALLOT_<KEY>_FILE` variable names a file
    /// (`var` reads the environment). A file that cannot be read, an empty
    /// one, or a secret given both ways stops the start with what to fix.
    pub(super) fn read_secret_files(
        &mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        for key in SECRET_KEYS {
            let plain = format!("ALLOT_{}", key.to_uppercase());
            let file_var = format!("{plain}_FILE");
            let Some(path) = var(&file_var).filter(|p| !p.is_empty()) else {
                continue;
            };
            if var(&plain).is_some() {
                return Err(ConfigError::new(format!(
                    "{plain} and {file_var} are both set; keep one of them"
                )));
            }
            let text = std::fs::read_to_string(&path).map_err(|e| {
                ConfigError::new(format!(
                    "{file_var}: cannot read {path} ({e}); mount the file readable by the service's user"
                ))
            })?;
            let value = text.trim_end_matches(['\n', '\r']);
            if value.is_empty() {
                return Err(ConfigError::new(format!(
                    "{file_var}: {path} is empty; write the secret into it"
                )));
            }
            *self.secret_mut(key) = Some(value.to_owned());
        }
        Ok(())
    }

    fn secret_mut(&mut self, key: &str) -> &mut Option<String> {
        match key {
            "auth__internal_secret" => &mut self.auth.internal_secret,
            "bootstrap__admin_secret" => &mut self.bootstrap.admin_secret,
            "bootstrap__admin_password" => &mut self.bootstrap.admin_password,
            "databases__identity" => &mut self.databases.identity,
            "databases__team" => &mut self.databases.team,
            "databases__entitlement" => &mut self.databases.entitlement,
            "databases__notification" => &mut self.databases.notification,
            "smtp_url" => &mut self.smtp_url,
            "nats_url" => &mut self.nats_url,
            _ => &mut self.database_url,
        }
    }
}

/// The fewest characters a shared secret may have.
pub const MIN_SECRET_CHARS: usize = 32;
/// The fewest different characters in it (`aaaa…` is no secret).
const MIN_DISTINCT_CHARS: usize = 12;
/// Words of example values that must never reach a deployment.
const PLACEHOLDERS: &[&str] = &[
    "change-me",
    "changeme",
    "example",
    "placeholder",
    "your-secret",
];

/// Refuses a weak secret: shorter than [`MIN_SECRET_CHARS`], made of too
/// few different characters, or an example's placeholder. `setting` names
/// it as the operator sets it.
pub fn check_secret(setting: &str, value: &str) -> Result<(), ConfigError> {
    let fix = "make one with `openssl rand -hex 32`";
    let chars = value.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(ConfigError::new(format!(
            "{setting} is too weak: {chars} characters, at least {MIN_SECRET_CHARS} are needed; {fix}"
        )));
    }
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Err(ConfigError::new(format!(
            "{setting} is too weak: only {} different characters; {fix}",
            distinct.len()
        )));
    }
    let lower = value.to_lowercase();
    if let Some(word) = PLACEHOLDERS.iter().find(|w| lower.contains(*w)) {
        return Err(ConfigError::new(format!(
            "{setting} is an example's placeholder (it contains {word:?}); {fix}"
        )));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn a_secret_comes_from_its_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("internal", "s3cr3t-from-a-file\n")?;
            jail.set_env("ALLOT_AUTH__INTERNAL_SECRET_FILE", "internal");
            jail.set_env("ALLOT_DATABASE_URL_FILE", "internal");
            let c = Config::load(None).map_err(|e| e.to_string())?;
            assert_eq!(
                c.auth.internal_secret.as_deref(),
                Some("s3cr3t-from-a-file")
            );
            assert_eq!(c.database_url.as_deref(), Some("s3cr3t-from-a-file"));
            Ok(())
        });
    }

    #[test]
    fn an_unreadable_secret_file_stops_the_start() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("ALLOT_BOOTSTRAP__ADMIN_SECRET_FILE", "missing");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("ALLOT_BOOTSTRAP__ADMIN_SECRET_FILE: cannot read missing"),
                "{err}"
            );
            jail.create_file("empty", "\n")?;
            jail.set_env("ALLOT_BOOTSTRAP__ADMIN_SECRET_FILE", "empty");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("is empty"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_secret_given_twice_is_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("internal", "x")?;
            jail.set_env("ALLOT_AUTH__INTERNAL_SECRET_FILE", "internal");
            jail.set_env("ALLOT_AUTH__INTERNAL_SECRET", "y");
            let err = Config::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("both set"), "{err}");
            assert!(Path::new("internal").exists());
            Ok(())
        });
    }

    #[test]
    fn weak_secrets_are_refused() {
        let setting = "ALLOT_AUTH__INTERNAL_SECRET";
        let short = check_secret(setting, "abc123").expect_err("short");
        assert!(short.to_string().contains("6 characters"), "{short}");
        assert!(
            check_secret(setting, &"ab".repeat(20)).is_err(),
            "two characters"
        );
        let example = check_secret(setting, "change-me-internal-secret-0123456789abcdef");
        assert!(
            example
                .expect_err("placeholder")
                .to_string()
                .contains("placeholder")
        );
        assert!(check_secret(setting, "6f1c0d9a8b7e2f4a5c3b1d0e9f8a7b6c").is_ok());
    }
}
