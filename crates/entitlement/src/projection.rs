//! What the entitlement check reads: an in-memory index of who holds which
//! product with which items, built from the database at start and then kept
//! current by following this service's own outbox in commit order. Writers
//! wait until it has applied their commit before they answer, so a check
//! made after a change returns reflects it (R-USE-1).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use allot_platform::db::Db;
use allot_platform::outbox::{Outbox, decode_stored};
use allot_proto::entitlement as pb;
use allot_proto::entitlement::event::Payload;
use sqlx::Row;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::domain::{ActivationType, Item};
use crate::store;

/// A seat someone holds, as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub team: String,
    pub items: Arc<[String]>,
}

/// How a team's seats of a product are activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolInfo {
    pub activation: ActivationType,
    pub serial_number: String,
}

#[derive(Debug, Clone)]
pub struct ProductInfo {
    pub display_name: String,
    pub items: Arc<[Item]>,
}

/// The answer to "may this person use this product?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Allowed {
        grant: Grant,
        pool: Option<PoolInfo>,
    },
    UnknownProduct,
    NotAssigned,
}

#[derive(Debug, Default)]
struct State {
    /// account -> product -> grants (one per team).
    grants: HashMap<String, HashMap<String, Vec<Grant>>>,
    /// team -> product -> activation.
    pools: HashMap<String, HashMap<String, PoolInfo>>,
    products: HashMap<String, ProductInfo>,
}

#[derive(Debug)]
pub struct Projection {
    state: RwLock<State>,
    applied: watch::Sender<i64>,
}

fn id_of<'a>(name: &'a str, collection: &str) -> &'a str {
    name.strip_prefix(collection)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(name)
}

/// `teams/{team}/assignments/{id}` -> team id.
fn team_of_assignment(name: &str) -> &str {
    name.split('/').nth(1).unwrap_or_default()
}

impl Projection {
    /// Loads the current state and the outbox position it corresponds to.
    pub async fn load(db: &Db) -> Result<(Arc<Projection>, i64), sqlx::Error> {
        // One snapshot for the state and the position: every event up to it
        // is in the state; later ones are applied on top (they carry whole
        // states, so applying one already included changes nothing).
        let mut tx = match db.dialect() {
            allot_platform::Dialect::Postgres => {
                db.pool()
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ")
                    .await?
            }
            allot_platform::Dialect::Sqlite => db.pool().begin().await?,
        };
        let head: i64 = sqlx::query("SELECT head FROM outbox_state WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut state = State::default();
        for (account, product, team, items) in store::all_grants(&mut tx).await? {
            state
                .grants
                .entry(account)
                .or_default()
                .entry(product)
                .or_default()
                .push(Grant {
                    team,
                    items: items.into(),
                });
        }
        for p in store::all_pools(&mut tx).await? {
            state
                .pools
                .entry(p.team.as_str().to_owned())
                .or_default()
                .insert(
                    p.product.as_str().to_owned(),
                    PoolInfo {
                        activation: p.activation,
                        serial_number: p.serial_number,
                    },
                );
        }
        for p in store::list_products(&mut tx, None, i64::MAX - 1).await? {
            state.products.insert(
                p.id.as_str().to_owned(),
                ProductInfo {
                    display_name: p.display_name,
                    items: p.items.into(),
                },
            );
        }
        tx.commit().await?;
        let (applied, _) = watch::channel(head);
        Ok((
            Arc::new(Projection {
                state: RwLock::new(state),
                applied,
            }),
            head,
        ))
    }

    /// R-USE-1: may `account` use `product`, and with which items.
    pub fn check(&self, account: &str, product: &str) -> Answer {
        let Ok(state) = self.state.read() else {
            return Answer::NotAssigned;
        };
        if !state.products.contains_key(product) {
            return Answer::UnknownProduct;
        }
        let grant = state
            .grants
            .get(account)
            .and_then(|p| p.get(product))
            .and_then(|g| g.first());
        match grant {
            Some(g) => Answer::Allowed {
                pool: state
                    .pools
                    .get(&g.team)
                    .and_then(|p| p.get(product))
                    .cloned(),
                grant: g.clone(),
            },
            None => Answer::NotAssigned,
        }
    }

    /// A product of the catalog, as the index has it.
    pub fn product(&self, id: &str) -> Option<crate::domain::Product> {
        let state = self.state.read().ok()?;
        let info = state.products.get(id)?;
        Some(crate::domain::Product {
            id: allot_platform::ids::ProductId::from_db(id.to_owned()),
            display_name: info.display_name.clone(),
            items: info.items.to_vec(),
            create_time: 0,
        })
    }

    /// How a team's seats of a product are activated, as the index has it.
    pub fn activation(&self, team: &str, product: &str) -> Option<ActivationType> {
        let state = self.state.read().ok()?;
        state.pools.get(team)?.get(product).map(|p| p.activation)
    }

    /// R-SEAT-8: every product a person holds, with its items and activation.
    pub fn products_of(
        &self,
        account: &str,
    ) -> Vec<(String, ProductInfo, Grant, Option<PoolInfo>)> {
        let Ok(state) = self.state.read() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(products) = state.grants.get(account) {
            for (product, grants) in products {
                let (Some(info), Some(g)) = (state.products.get(product), grants.first()) else {
                    continue;
                };
                let pool = state
                    .pools
                    .get(&g.team)
                    .and_then(|p| p.get(product))
                    .cloned();
                out.push((product.clone(), info.clone(), g.clone(), pool));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Applies one of this service's events.
    pub fn apply(&self, event: &pb::Event) {
        let Ok(mut state) = self.state.write() else {
            return;
        };
        match &event.payload {
            Some(Payload::SeatAssigned(pb::SeatAssigned {
                assignment: Some(a),
                ..
            }))
            | Some(Payload::ItemsChanged(pb::ItemsChanged {
                assignment: Some(a),
                ..
            })) => {
                let team = team_of_assignment(&a.name).to_owned();
                let grants = state
                    .grants
                    .entry(id_of(&a.account, "accounts").to_owned())
                    .or_default()
                    .entry(id_of(&a.product, "products").to_owned())
                    .or_default();
                let grant = Grant {
                    team: team.clone(),
                    items: a.items.clone().into(),
                };
                match grants.iter_mut().find(|g| g.team == team) {
                    Some(g) => *g = grant,
                    None => grants.push(grant),
                }
            }
            Some(Payload::SeatUnassigned(pb::SeatUnassigned {
                assignment: Some(a),
            })) => {
                let team = team_of_assignment(&a.name);
                let account = id_of(&a.account, "accounts");
                if let Some(products) = state.grants.get_mut(account) {
                    if let Some(grants) = products.get_mut(id_of(&a.product, "products")) {
                        grants.retain(|g| g.team != team);
                        if grants.is_empty() {
                            products.remove(id_of(&a.product, "products"));
                        }
                    }
                    if products.is_empty() {
                        state.grants.remove(account);
                    }
                }
            }
            Some(
                Payload::SubscriptionCreated(pb::SubscriptionCreated {
                    subscription: Some(s),
                })
                | Payload::SubscriptionResized(pb::SubscriptionResized {
                    subscription: Some(s),
                    ..
                })
                | Payload::SubscriptionMoved(pb::SubscriptionMoved {
                    subscription: Some(s),
                    ..
                }),
            ) => {
                let activation = if s.activation_type == pb::ActivationType::SerialNumber as i32 {
                    ActivationType::SerialNumber
                } else {
                    ActivationType::SignIn
                };
                state
                    .pools
                    .entry(id_of(&s.team, "teams").to_owned())
                    .or_default()
                    .insert(
                        id_of(&s.product, "products").to_owned(),
                        PoolInfo {
                            activation,
                            serial_number: s.serial_number.clone(),
                        },
                    );
            }
            Some(Payload::ProductChanged(pb::ProductChanged { product: Some(p) })) => {
                let items: Vec<Item> = p.items.iter().map(crate::convert::item_from).collect();
                state.products.insert(
                    id_of(&p.name, "products").to_owned(),
                    ProductInfo {
                        display_name: p.display_name.clone(),
                        items: items.into(),
                    },
                );
            }
            _ => {}
        }
    }

    /// Waits until every event up to `position` has been applied.
    pub async fn wait_applied(&self, position: i64) {
        let mut rx = self.applied.subscribe();
        let _ = rx.wait_for(|applied| *applied >= position).await;
    }

    /// Follows the outbox from `from` until `stop`.
    pub fn spawn_follower(
        self: &Arc<Self>,
        outbox: Outbox,
        from: i64,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut cursor = from;
            let mut head_rx = outbox.subscribe();
            loop {
                let head = *head_rx.borrow_and_update();
                if cursor < head {
                    match outbox.read(cursor, head, 1000).await {
                        Ok(batch) => {
                            for stored in &batch {
                                match decode_stored::<pb::Event>(stored) {
                                    Ok(e) => this.apply(&e),
                                    Err(e) => {
                                        tracing::error!(position = stored.position, error = %e.message(), "event cannot be applied to the entitlement index")
                                    }
                                }
                                cursor = stored.position;
                            }
                            this.applied.send_replace(cursor);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reading the outbox for the entitlement index failed; retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        }
                    }
                    continue;
                }
                tokio::select! {
                    () = stop.cancelled() => break,
                    changed = head_rx.changed() => {
                        if changed.is_err() {
                            break;
                        }
                    }
                }
            }
        })
    }
}
