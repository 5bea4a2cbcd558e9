//! One view per concept over a service's shared core.
//!
//! A service's use cases are split by concept (`seats`, `contracts`, …), each a
//! small struct borrowing the one core that holds the database, outbox and
//! clock. The service's front struct hands them out:
//! `entitlements.seats().assign_products(…)`. Inside a view, the core's
//! fields and helpers are reached through `Deref`, and another concept through
//! `Contracts::of(self)`.

/// Declares the views of `$front`, whose field `$field` is a `$core`.
///
/// ```ignore
/// allot_platform::views!(Entitlements.core: Core {
///     /// Seat assignments.
///     Seats => seats,
/// });
/// ```
#[macro_export]
macro_rules! views {
    ($front:ident . $field:ident : $core:ident { $($(#[$doc:meta])* $view:ident => $accessor:ident),* $(,)? }) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $view<'a>(&'a $core);

            impl<'a> $view<'a> {
                /// This concept's view of `core`.
                #[allow(dead_code)]
                pub(crate) fn of(core: &'a $core) -> $view<'a> {
                    $view(core)
                }
            }

            impl std::ops::Deref for $view<'_> {
                type Target = $core;
                fn deref(&self) -> &$core {
                    self.0
                }
            }
        )*

        impl $front {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $view<'_> {
                    $view(&self.$field)
                }
            )*
        }
    };
}
