//! `page_size` / `page_token` as Google's API design guide describes them.
//! A page token is the opaque, URL-safe form of the last key returned.

use base64::Engine;

use crate::error::FieldViolation;

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The number of items to return: 0 means the default, more than the
/// maximum is capped, a negative size is refused.
pub fn page_size(requested: i32) -> Result<i64, FieldViolation> {
    match i64::from(requested) {
        n if n < 0 => Err(FieldViolation::new("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(n.min(MAX_PAGE_SIZE)),
    }
}

/// The key after which the page starts (`None` for the first page).
pub fn decode_token(token: &str) -> Result<Option<String>, FieldViolation> {
    if token.is_empty() {
        return Ok(None);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| {
            FieldViolation::new("page_token", "is not a token returned by a previous page")
        })
}

/// The token for the page after `last_key`.
pub fn encode_token(last_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last_key.as_bytes())
}

/// Trims a result fetched with `limit + 1` rows to `limit`, returning the
/// next page token when there was more.
pub fn finish<T>(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> (Vec<T>, String) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        let token = items
            .last()
            .map(|t| encode_token(&key(t)))
            .unwrap_or_default();
        (items, token)
    } else {
        (items, String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_tokens() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000).unwrap(), MAX_PAGE_SIZE);
        assert!(page_size(-1).is_err());
        let t = encode_token("ada@example.com");
        assert_eq!(
            decode_token(&t).unwrap().as_deref(),
            Some("ada@example.com")
        );
        assert!(decode_token("!!").is_err());
        let (items, next) = finish(vec![1, 2, 3], 2, |i| i.to_string());
        assert_eq!(items, [1, 2]);
        assert_eq!(decode_token(&next).unwrap().as_deref(), Some("2"));
        let (_, none) = finish(vec![1], 2, |i| i.to_string());
        assert!(none.is_empty());
    }
}
