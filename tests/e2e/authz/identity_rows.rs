//! The identity and notification services' rows of the authorization table.

use super::*;

pub fn identity_and_notification_cases() -> Vec<Case> {
    vec![
        Case {
            rpc: "IdentityService.UpdateAccount",
            scope: Some("admin"),
            // A person changes their own names; operators anyone's.
            allowed: &[Who::User, Who::ServiceAccountWithScope],
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .identity
                .update_account(idpb::UpdateAccountRequest {
                    account: Some(idpb::Account {
                        name: w.user.account.clone(),
                        given_name: "Uma".into(),
                        ..Default::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["given_name".into()]
                    }),
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.CreateInvitations",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| ok(c
                .identity
                .create_invitations(idpb::CreateInvitationsRequest {
                    team: w.team.clone(),
                    invitees: vec![idpb::Invitee {
                        given_name: "I".into(),
                        family_name: "N".into(),
                        email: unique_email("inv")
                    }],
                    ..Default::default()
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.ResendInvitation",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_invitation().await;
                ok(c.identity
                    .resend_invitation(idpb::ResendInvitationRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.RevokeInvitation",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_invitation().await;
                ok(c.identity
                    .revoke_invitation(idpb::RevokeInvitationRequest { name })
                    .await)
            }),
        },
        Case {
            // Only Allot's own notification service reads accept tokens.
            rpc: "IdentityService.GetInvitationToken",
            scope: Some("admin"),
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let invitation = w.fresh_member_invitation().await;
                ok(c.identity
                    .get_invitation_token(idpb::GetInvitationTokenRequest {
                        name: invitation.name,
                        generation: invitation.generation,
                    })
                    .await)
            }),
        },
        Case {
            // Only Allot's own notification service reads accept tokens,
            // in bulk too.
            rpc: "IdentityService.BatchGetInvitationTokens",
            scope: Some("admin"),
            allowed: &[],
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let invitation = w.fresh_member_invitation().await;
                ok(c.identity
                    .batch_get_invitation_tokens(idpb::BatchGetInvitationTokensRequest {
                        requests: vec![idpb::GetInvitationTokenRequest {
                            name: invitation.name,
                            generation: invitation.generation,
                        }],
                    })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.CreateServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|_w, c| ok(c
                .identity
                .create_service_account(idpb::CreateServiceAccountRequest {
                    service_account: Some(idpb::ServiceAccount {
                        display_name: "X".into(),
                        ..Default::default()
                    }),
                })
                .await)),
        },
        Case {
            rpc: "IdentityService.UpdateServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_service_account().await;
                ok(c.identity
                    .update_service_account(idpb::UpdateServiceAccountRequest {
                        service_account: Some(idpb::ServiceAccount {
                            name,
                            scopes: vec!["catalog".into()],
                            ..Default::default()
                        }),
                        update_mask: Some(prost_types::FieldMask {
                            paths: vec!["scopes".into()],
                        }),
                    })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.DeleteServiceAccount",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let name = w.fresh_service_account().await;
                ok(c.identity
                    .delete_service_account(idpb::DeleteServiceAccountRequest { name })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.CreateKey",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let parent = w.fresh_service_account().await;
                ok(c.identity
                    .create_key(idpb::CreateKeyRequest { parent })
                    .await)
            }),
        },
        Case {
            rpc: "IdentityService.DeleteKey",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            allowed_code: Code::Ok,
            call: call!(|w, c| {
                let parent = w.fresh_service_account().await;
                let key = w
                    .internal
                    .clone()
                    .identity
                    .create_key(idpb::CreateKeyRequest { parent })
                    .await
                    .expect("key")
                    .into_inner()
                    .key
                    .expect("key");
                ok(c.identity
                    .delete_key(idpb::DeleteKeyRequest { name: key.name })
                    .await)
            }),
        },
        Case {
            rpc: "NotificationService.RetryDelivery",
            scope: Some("admin"),
            allowed: SCOPED_SERVICE_ACCOUNT,
            // Allowed callers get past authorization to the lookup.
            allowed_code: Code::NotFound,
            call: call!(|_w, c| ok(c
                .notification
                .retry_delivery(npb::RetryDeliveryRequest {
                    name: "deliveries/doesnotexist".into()
                })
                .await)),
        },
    ]
}
