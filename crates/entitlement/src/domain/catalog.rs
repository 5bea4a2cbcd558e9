//! The catalog: products and their items (R-SEAT-4), and the ids and
//! names callers choose for them.

use allot_platform::error::FieldViolation;
use allot_platform::ids::ProductId;
use allot_platform::values::parse_text;

use super::*;
use crate::error::EntitlementError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Application,
    CloudService,
    Support,
}

allot_platform::db_enum!(ItemKind {
    Application = "APPLICATION",
    CloudService = "CLOUD_SERVICE",
    Support = "SUPPORT",
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub display_name: String,
    pub kind: ItemKind,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub id: ProductId,
    pub display_name: String,
    pub items: Vec<Item>,
    pub create_time: i64,
}

impl Product {
    /// R-SEAT-6: the items of the owner's automatic seat: everything on
    /// sign-in pools; on classic pools the application only, since cloud
    /// services and support benefits are few and handed out by the
    /// contract's manager or coordinator (R-CLS-4, R-CLS-5).
    pub fn owner_seat_items(&self, activation: ActivationType) -> Vec<String> {
        match activation {
            ActivationType::SignIn => Vec::new(),
            ActivationType::SerialNumber => self
                .items
                .iter()
                .filter(|i| i.kind == ItemKind::Application)
                .map(|i| i.id.clone())
                .collect(),
        }
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    pub fn all_item_ids(&self) -> Vec<String> {
        self.items.iter().map(|i| i.id.clone()).collect()
    }

    /// R-SEAT-4: the items an assignment covers: all of them when none are
    /// named, otherwise the named ones (each must exist), in catalog order.
    pub fn select_items(
        &self,
        field: &str,
        requested: &[String],
    ) -> Result<Vec<String>, EntitlementError> {
        if requested.is_empty() {
            return Ok(self.all_item_ids());
        }
        for r in requested {
            if self.item(r).is_none() {
                return Err(EntitlementError::not_found(
                    "item",
                    format!("{}/items/{r} (named in {field})", self.id.name()),
                ));
            }
        }
        Ok(self
            .items
            .iter()
            .filter(|i| requested.contains(&i.id))
            .map(|i| i.id.clone())
            .collect())
    }
}

/// The most items one product has; also the most one assignment names.
pub const MAX_ITEMS: usize = 100;

/// A caller-chosen product id: lower-case letters, digits and dashes.
pub fn parse_product_id(field: &str, id: &str) -> Result<ProductId, FieldViolation> {
    let ok = (2..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-');
    if !ok {
        return Err(FieldViolation::new(
            field,
            "must be 2 to 64 lower-case letters, digits and dashes, starting with a letter or digit",
        ));
    }
    Ok(ProductId::from_db(id.to_owned()))
}

/// An item id within a product.
pub fn parse_item_id(field: &str, id: &str) -> Result<String, FieldViolation> {
    parse_product_id(field, id).map(|p| p.as_str().to_owned())
}

pub fn parse_display_name(field: &str, s: &str) -> Result<String, FieldViolation> {
    parse_text(field, s, 200)
}
