//! Accounts: a person's email, names and state (R-ID-*).

use allot_platform::ids::AccountId;
use allot_platform::values::Email;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Invited,
    Active,
}

allot_platform::db_enum!(AccountState {
    Invited = "INVITED",
    Active = "ACTIVE",
});

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub email: Email,
    pub given_name: String,
    pub family_name: String,
    pub state: AccountState,
    pub create_time: i64,
    pub activate_time: Option<i64>,
}

impl Account {
    /// How emails and member lists name the person.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}
