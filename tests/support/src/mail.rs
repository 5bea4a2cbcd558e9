//! The mail a test waits for at the SMTP server.

use super::*;

impl Env {
    /// Waits for `count` emails to `to`.
    pub async fn mail_to(&self, to: &str, count: usize) -> Vec<ReceivedMail> {
        self.smtp.wait_for(to, count, Duration::from_secs(30)).await
    }

    /// Waits for `count` emails to `to` whose subject contains `subject`.
    pub async fn mail_with_subject(
        &self,
        to: &str,
        subject: &str,
        count: usize,
    ) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let found: Vec<ReceivedMail> = self
                .smtp
                .messages_to(to)
                .into_iter()
                .filter(|m| m.header("Subject").unwrap_or_default().contains(subject))
                .collect();
            if found.len() >= count {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} email(s) to {to} about {subject:?}, found {}",
                found.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
