//! Who calls: typed clients with a token, the bootstrap administrator,
//! Allot itself, people and service accounts made for a test.

use super::*;

impl Env {
    /// An endpoint for `url`; `https://` verified against the deployment's
    /// CA (or `tls.ca_file` of the in-process configuration), showing the
    /// front door's certificate when deployed (services ask callers for
    /// one).
    pub fn endpoint(&self, url: &str) -> Endpoint {
        let endpoint = Endpoint::from_shared(url.to_owned()).expect("url");
        if !url.starts_with("https://") {
            return endpoint;
        }
        let read = |p: &std::path::Path| std::fs::read(p).expect("a TLS file");
        let ca = match (&self.deployed, &self.config.tls.ca_file) {
            (Some(d), _) => Some(d.tls_dir.join("ca.pem")),
            (None, ca) => ca.clone(),
        };
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = ca {
            tls = tls.ca_certificate(Certificate::from_pem(read(&ca)));
        }
        if let Some(d) = &self.deployed {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                read(&d.tls_dir.join("front-door/cert.pem")),
                read(&d.tls_dir.join("front-door/key.pem")),
            ));
        }
        endpoint.tls_config(tls).expect("TLS settings")
    }

    fn channel(&self, url: &str) -> Channel {
        self.endpoint(url).connect_lazy()
    }

    /// Clients acting with `token` (or none).
    pub fn clients_with(&self, token: Option<&str>) -> Clients {
        self.clients_at(&self.urls, token)
    }

    /// Clients of an Allot started some other way (`allot dev` as a
    /// process), all four services at `url`, acting with `token`.
    pub fn clients_for_url(url: &str, token: &str) -> Clients {
        let channel = Endpoint::from_shared(url.to_owned())
            .expect("url")
            .connect_lazy();
        let b = Bearer::new(Some(token));
        Clients {
            identity: IdentityServiceClient::with_interceptor(channel.clone(), b.clone()),
            team: TeamServiceClient::with_interceptor(channel.clone(), b.clone()),
            entitlement: EntitlementServiceClient::with_interceptor(channel.clone(), b.clone()),
            notification: NotificationServiceClient::with_interceptor(channel, b),
        }
    }

    /// Clients of the services at `urls` (a front door, say), acting with
    /// `token` (or none).
    pub fn clients_at(&self, urls: &Urls, token: Option<&str>) -> Clients {
        let b = Bearer::new(token);
        Clients {
            identity: IdentityServiceClient::with_interceptor(
                self.channel(&urls.identity),
                b.clone(),
            ),
            team: TeamServiceClient::with_interceptor(self.channel(&urls.team), b.clone()),
            entitlement: EntitlementServiceClient::with_interceptor(
                self.channel(&urls.entitlement),
                b.clone(),
            ),
            notification: NotificationServiceClient::with_interceptor(
                self.channel(&urls.notification),
                b,
            ),
        }
    }

    /// A token for a client credential.
    pub async fn token_for(&self, client_id: &str, secret: &str) -> String {
        IdentityServiceClient::new(self.channel(&self.urls.identity))
            .create_token(idpb::CreateTokenRequest {
                client_id: client_id.into(),
                client_secret: secret.into(),
                ..Default::default()
            })
            .await
            .expect("token")
            .into_inner()
            .access_token
    }

    /// Clients acting as the bootstrap administrator.
    pub async fn admin(&self) -> Clients {
        let token = self.admin_token().await;
        self.clients_with(Some(&token))
    }

    /// The bootstrap administrator's bearer token.
    pub async fn admin_token(&self) -> String {
        self.token_for(&self.admin_client_id, ADMIN_SECRET).await
    }

    /// A plain channel to team, for requests no generated client can send.
    pub fn team_channel(&self) -> Channel {
        self.channel(&self.urls.team)
    }

    /// The bootstrap administrator's first team, once created.
    pub async fn first_team(&self) -> tpb::Team {
        let mut team = self.admin().await.team;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let teams = team
                .list_teams(tpb::ListTeamsRequest::default())
                .await
                .expect("list teams")
                .into_inner()
                .teams;
            if let Some(t) = teams.into_iter().next() {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "the first team was never created{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clients acting as Allot's own services (internal scope).
    pub async fn internal(&self) -> Clients {
        let token = self
            .token_for(
                allot_platform::auth::INTERNAL_SERVICE_ACCOUNT,
                INTERNAL_SECRET,
            )
            .await;
        self.clients_with(Some(&token))
    }

    /// A new person with a credential of their own (no scopes). They are
    /// invited into the bootstrap team, which gives them an account.
    pub async fn person(&self, given: &str) -> Person {
        let mut admin = self.admin().await;
        let first = self.first_team().await;
        let email = unique_email(&given.to_lowercase());
        let member = admin
            .team
            .add_member(tpb::AddMemberRequest {
                parent: first.name,
                who: Some(tpb::add_member_request::Who::Person(tpb::Person {
                    given_name: given.into(),
                    family_name: "Tester".into(),
                    email: email.clone(),
                })),
                ..Default::default()
            })
            .await
            .expect("invite a person")
            .into_inner();
        let key = admin
            .identity
            .create_key(idpb::CreateKeyRequest {
                parent: member.account.clone(),
            })
            .await
            .expect("a key for the person")
            .into_inner();
        let token = self
            .token_for(&key.key.expect("key").client_id, &key.client_secret)
            .await;
        Person {
            account: member.account,
            email,
            clients: self.clients_with(Some(&token)),
        }
    }

    /// A service account with `scopes` and clients acting as it.
    pub async fn service_account(&self, scopes: &[&str]) -> Clients {
        let token = self.token_for_scopes(scopes).await;
        self.clients_with(Some(&token))
    }

    /// A bearer token of a new service account with `scopes`.
    pub async fn token_for_scopes(&self, scopes: &[&str]) -> String {
        let mut admin = self.admin().await;
        let sa = admin
            .identity
            .create_service_account(idpb::CreateServiceAccountRequest {
                service_account: Some(idpb::ServiceAccount {
                    display_name: format!("test platform {}", scopes.join(",")),
                    scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                    ..Default::default()
                }),
            })
            .await
            .expect("create service account")
            .into_inner();
        let key = admin
            .identity
            .create_key(idpb::CreateKeyRequest { parent: sa.name })
            .await
            .expect("key")
            .into_inner();
        self.token_for(&key.key.expect("key").client_id, &key.client_secret)
            .await
    }
}
