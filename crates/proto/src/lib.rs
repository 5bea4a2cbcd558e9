//! The Allot API as generated Rust code. Nothing here is written by hand but
//! the module tree that prost's cross-package paths expect and short aliases.

#![allow(clippy::all, missing_docs, unreachable_pub)]

/// Encoded `FileDescriptorSet` of every Allot proto, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/allot_descriptor.bin"));

pub mod allot {
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("allot.common.v1");
        }
    }
    pub mod identity {
        pub mod v1 {
            tonic::include_proto!("allot.identity.v1");
        }
    }
    pub mod team {
        pub mod v1 {
            tonic::include_proto!("allot.team.v1");
        }
    }
    pub mod entitlement {
        pub mod v1 {
            tonic::include_proto!("allot.entitlement.v1");
        }
    }
    pub mod notification {
        pub mod v1 {
            tonic::include_proto!("allot.notification.v1");
        }
    }
}

pub use allot::common::v1 as common;
pub use allot::entitlement::v1 as entitlement;
pub use allot::identity::v1 as identity;
pub use allot::notification::v1 as notification;
pub use allot::team::v1 as team;
pub use prost_types;
