//! Handing a written email to the mail server, or to a folder of `.eml`
//! files when no server is configured (`allot dev`).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::domain::Failure;
use crate::templates::Rendered;

/// Connections kept open to the mail server.
const SMTP_CONNECTIONS: u32 = 16;

/// One email ready to go.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    /// Names the `.eml` file when writing to a folder.
    pub delivery_id: &'a str,
    pub message_id: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub content: &'a Rendered,
}

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp"),
            Mailer::Folder(p) => write!(f, "Mailer::Folder({})", p.display()),
        }
    }
}

impl Mailer {
    /// An SMTP mailer for `smtp://host:port` (or `smtps://`, with
    /// `user:password@` and `?tls=required` as lettre reads them).
    pub fn smtp(url: &str, timeout: Duration) -> Result<Mailer, String> {
        // Connections are kept and reused (lettre's pool): a burst of mail
        // goes out over a few open conversations, not one per email.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("smtp_url {:?}: {e}", allot_platform::redact::url(url)))?
            .timeout(Some(timeout))
            .pool_config(lettre::transport::smtp::PoolConfig::new().max_size(SMTP_CONNECTIONS))
            .build();
        Ok(Mailer::Smtp(transport))
    }

    /// Sends one email; on failure says whether trying again can help.
    pub async fn send(&self, mail: &Outgoing<'_>) -> Result<(), (Failure, String)> {
        let message = build(mail).map_err(|e| (Failure::Permanent, e))?;
        match self {
            Mailer::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                let kind = if e.is_permanent() {
                    Failure::Permanent
                } else {
                    Failure::Transient
                };
                (kind, e.to_string())
            }),
            Mailer::Folder(dir) => {
                let write = async {
                    tokio::fs::create_dir_all(dir).await?;
                    tokio::fs::write(
                        dir.join(format!("{}.eml", mail.delivery_id)),
                        message.formatted(),
                    )
                    .await
                };
                write.await.map_err(|e| {
                    (
                        Failure::Transient,
                        format!("writing to {}: {e}", dir.display()),
                    )
                })
            }
        }
    }
}

fn build(mail: &Outgoing<'_>) -> Result<Message, String> {
    let from: Mailbox = mail
        .from
        .parse()
        .map_err(|e| format!("sender {:?}: {e}", mail.from))?;
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(mail.content.subject.clone())
        .message_id(Some(mail.message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            mail.content.text.clone(),
            mail.content.html.clone(),
        ))
        .map_err(|e| format!("building the message: {e}"))
}
