//! Contexts, as kubectl has them: `allotctl login` stores where an Allot is
//! (server, CA) and the credential for it under a name, in a file only its
//! owner may read, and keeps the token it got until shortly before it
//! expires. Flags and `ALLOT_*` variables override the context.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

/// A token is used again while it has at least this long to live.
const TOKEN_MARGIN_SECONDS: i64 = 60;

/// The file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Contexts {
    /// The context commands use without `--context`.
    #[serde(default)]
    pub current: Option<String>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// One Allot and who you are there.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Context {
    pub server: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// `CLIENT_ID:SECRET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// The last token, and when it expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default)]
    pub token_expires: i64,
}

impl Context {
    /// The stored token, if it still has a while to live and belongs to
    /// `credential`.
    pub fn fresh_token(&self, credential: Option<&str>, now: i64) -> Option<&str> {
        if credential != self.credential.as_deref() {
            return None;
        }
        self.token
            .as_deref()
            .filter(|_| self.token_expires - TOKEN_MARGIN_SECONDS > now)
    }
}

/// `$ALLOTCTL_CONFIG`, else `$XDG_CONFIG_HOME/allotctl/config.json`, else
/// `~/.config/allotctl/config.json`.
pub fn path() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("ALLOTCTL_CONFIG") {
        return Ok(PathBuf::from(p));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(
            std::env::var_os("HOME")
                .context("HOME is not set: set ALLOTCTL_CONFIG to where contexts are kept")?,
        )
        .join(".config"),
    };
    Ok(base.join("allotctl").join("config.json"))
}

impl Contexts {
    /// The stored contexts; none yet when the file does not exist.
    pub fn load(path: &Path) -> anyhow::Result<Contexts> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not an allotctl config file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Contexts::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the file through a temporary one of its own (two commands
    /// at once never mix their writes), readable and writable by its owner
    /// only (it holds credentials), in a folder only its owner may enter
    /// when allotctl makes it.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::DirBuilderExt;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        // tempfile makes the file 0600.
        let mut f = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("writing in {}", dir.display()))?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.as_file().sync_all()?;
        f.persist(path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// The context `name`, or the current one when `name` is none.
    pub fn pick(&self, name: Option<&str>) -> anyhow::Result<Option<(String, &Context)>> {
        match name.or(self.current.as_deref()) {
            None => Ok(None),
            Some(n) => match self.contexts.get(n) {
                Some(c) => Ok(Some((n.to_owned(), c))),
                None if name.is_some() => {
                    let known: Vec<&str> = self.contexts.keys().map(String::as_str).collect();
                    bail!(
                        "no context {n:?} (known: {}); create it with `allotctl login --context {n} --server …`",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    )
                }
                None => Ok(None),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_private_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config.json");
        let mut c = Contexts::default();
        c.contexts.insert(
            "prod".into(),
            Context {
                server: "https://allot.example:50050".into(),
                credential: Some("id:secret".into()),
                ..Context::default()
            },
        );
        c.current = Some("prod".into());
        c.save(&path).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = Contexts::load(&path).unwrap();
        let (name, ctx) = back.pick(None).unwrap().unwrap();
        assert_eq!(name, "prod");
        assert_eq!(ctx.server, "https://allot.example:50050");
        assert!(back.pick(Some("staging")).is_err());
    }

    #[test]
    fn a_token_is_reused_until_shortly_before_it_expires() {
        let ctx = Context {
            credential: Some("id:secret".into()),
            token: Some("t".into()),
            token_expires: 1000,
            ..Context::default()
        };
        assert_eq!(ctx.fresh_token(Some("id:secret"), 900), Some("t"));
        assert_eq!(ctx.fresh_token(Some("id:secret"), 950), None, "too close");
        assert_eq!(
            ctx.fresh_token(Some("other:x"), 900),
            None,
            "another credential"
        );
    }
}
