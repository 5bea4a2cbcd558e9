//! Event streams and consumers: waiting until everything is read and
//! sent, pruning as retention would, the in-process services themselves.

use super::*;

impl Env {
    /// Where the one-process shape serves `/metrics`, when configured
    /// (`metrics_listen`).
    pub fn metrics_addr(&self) -> std::net::SocketAddr {
        match &self.shape {
            Shape::InProcess { main: Some(m), .. } => {
                m.metrics_addr.expect("metrics_listen is set")
            }
            _ => panic!("metrics of other shapes are served by each process"),
        }
    }

    /// Where `kind`'s process serves `/metrics` ([`Env::deployed`]).
    pub fn metrics_addr_of(&self, kind: ServiceKind) -> std::net::SocketAddr {
        let port = self
            .deployed
            .as_ref()
            .and_then(|d| d.metrics_ports.iter().find(|(k, _)| *k == kind))
            .map(|(_, p)| *p)
            .expect("Env::deployed serves /metrics from each process");
        std::net::SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Prunes every event `which` has written so far, as retention does
    /// once they are old, through the service's own database; returns the
    /// new retention boundary. Works with every shape.
    pub async fn prune_all_events(&self, which: ServiceKind) -> i64 {
        let db = self.database(which).await;
        sequenced_head(&db).await;
        let outbox =
            allot_platform::outbox::Outbox::new(db, self.clock.clone(), Default::default());
        outbox
            .prune_before(outbox.now_micros() + 1)
            .await
            .expect("prune")
    }

    /// A connection pool to `which`'s own database, whatever the shape.
    async fn database(&self, which: ServiceKind) -> allot_platform::db::Db {
        let url = self.config.database_url_for(which.name());
        allot_platform::db::Db::connect(&url, 2)
            .await
            .expect("the service's database opens")
    }

    /// Waits until every service has read everything the others wrote so
    /// far (each consumer's cursor at its source's head, again and again
    /// until reactions write nothing new) and notification has no email
    /// left to send. What a test then asserts about events and mail is
    /// final: a duplicate would be there, a missing email will not come.
    pub async fn settled(&self) {
        use ServiceKind::{Entitlement, Identity, Notification, Team};
        const FOLLOWS: [(ServiceKind, ServiceKind); 6] = [
            (Team, Identity),
            (Team, Entitlement),
            (Entitlement, Team),
            (Notification, Identity),
            (Notification, Team),
            (Notification, Entitlement),
        ];
        let mut dbs = Vec::new();
        for kind in ServiceKind::ALL {
            dbs.push((kind, self.database(kind).await));
        }
        let db = |k: ServiceKind| &dbs.iter().find(|(d, _)| *d == k).expect("a database").1;
        let deadline = Instant::now() + Duration::from_secs(30);
        'again: loop {
            assert!(Instant::now() < deadline, "the services do not settle");
            for (reader, source) in FOLLOWS {
                let head = sequenced_head(db(source)).await;
                let consumer = format!("{}.{}-events", reader.name(), source.name());
                let mut conn = db(reader).conn().await.expect("connection");
                let at = allot_platform::consumer::load_cursor(&mut conn, &consumer)
                    .await
                    .expect("read the cursor")
                    .and_then(|c| c.parse::<i64>().ok())
                    .unwrap_or(0);
                if at < head {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue 'again;
                }
            }
            let mut conn = db(Notification).conn().await.expect("connection");
            let unsent: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE state = 'PENDING'")
                    .fetch_one(&mut *conn)
                    .await
                    .expect("count unsent mail");
            if unsent == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The in-process team service (to prune its events as retention would).
    pub fn team_app(&self) -> std::sync::Arc<allot_team::service::Teams> {
        match &self.shape {
            Shape::InProcess { main: Some(m), .. } => {
                m.team.as_ref().expect("team runs here").app.clone()
            }
            _ => panic!("team runs in another process"),
        }
    }

    /// The in-process identity service (to sign tokens of any shape).
    /// Waits until team has followed entitlement's stream past everything
    /// entitlement committed so far (the roles of contracts, R-CLS-6).
    pub async fn team_follows_entitlement(&self) {
        let head = match &self.shape {
            Shape::InProcess { main: Some(m), .. } => m
                .entitlement
                .as_ref()
                .expect("entitlement runs here")
                .app
                .outbox()
                .head(),
            _ => panic!("entitlement runs in another process"),
        };
        let team = self.team_app();
        eventually("team to follow entitlement's events", || {
            let team = team.clone();
            async move {
                let mut conn = team.outbox().db().conn().await.expect("team's database");
                allot_platform::consumer::load_cursor(
                    &mut conn,
                    allot_team::consumer::ENTITLEMENT_CONSUMER,
                )
                .await
                .ok()
                .flatten()
                .and_then(|c| c.parse::<i64>().ok())
                .is_some_and(|position| position >= head)
            }
        })
        .await;
    }

    pub fn identity_app(&self) -> std::sync::Arc<allot_identity::Identity> {
        match &self.shape {
            Shape::InProcess { main: Some(m), .. } => {
                m.identity.as_ref().expect("identity runs here").app.clone()
            }
            _ => panic!("identity runs in another process"),
        }
    }
}

/// The last position of a service's stream, once the sequencer has placed
/// every event committed so far.
async fn sequenced_head(db: &allot_platform::db::Db) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut conn = db.conn().await.expect("connection");
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox_pending")
            .fetch_one(&mut *conn)
            .await
            .expect("count pending");
        if pending == 0 {
            return sqlx::query_scalar("SELECT head FROM outbox_state WHERE id = 1")
                .fetch_one(&mut *conn)
                .await
                .expect("the stream's head");
        }
        assert!(Instant::now() < deadline, "events stay unsequenced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
