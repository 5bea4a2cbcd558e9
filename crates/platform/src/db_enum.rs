//! Enums as the database stores them: each variant one fixed text, and a
//! stored text no variant has refused as a decoding error, never read as a
//! default. A row written by a newer version, or edited by hand, fails
//! loudly instead of quietly becoming `USER` or `PENDING`.

/// A stored text that no variant of `kind` has.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the database holds {value:?}, which is no {kind}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

impl From<UnknownValue> for sqlx::Error {
    fn from(e: UnknownValue) -> sqlx::Error {
        sqlx::Error::Decode(Box::new(e))
    }
}

/// Gives an enum `as_db` and `from_db` from one table of its stored texts.
///
/// ```ignore
/// allot_platform::db_enum!(Role {
///     PrimaryAdmin = "PRIMARY_ADMIN",
///     User = "USER",
/// });
/// ```
#[macro_export]
macro_rules! db_enum {
    ($name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        impl $name {
            /// The text the database stores.
            pub fn as_db(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant a stored text names; any other text is refused.
            pub fn from_db(s: &str) -> Result<$name, $crate::db_enum::UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::db_enum::UnknownValue {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Colour {
        Red,
        Blue,
    }

    crate::db_enum!(Colour {
        Red = "RED",
        Blue = "BLUE",
    });

    #[test]
    fn db_enum_reads_back_what_it_writes() {
        for c in [Colour::Red, Colour::Blue] {
            assert_eq!(Colour::from_db(c.as_db()), Ok(c));
        }
    }

    #[test]
    fn db_enum_refuses_a_text_no_variant_has() {
        let e = Colour::from_db("GREEN").expect_err("GREEN is no colour");
        assert_eq!((e.kind, e.value.as_str()), ("Colour", "GREEN"));
        assert!(matches!(sqlx::Error::from(e), sqlx::Error::Decode(_)));
        assert!(Colour::from_db("red").is_err(), "texts are exact");
    }
}
