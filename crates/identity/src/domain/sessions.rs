//! Sign-in sessions (R-AUTH-2): how long a signed-in person's tokens are
//! renewed, and how often one address may ask for reset links.

/// Reset links one caller's address may ask for in an hour, whatever the
/// addresses they name: nobody floods many mailboxes from one machine.
pub const RESET_REQUESTS_PER_ADDRESS: i64 = 20;

/// How long an address's reset requests are remembered.
pub const RESET_REQUEST_MEMORY_SECONDS: i64 = 60 * 60;

/// R-AUTH-2: when a renewed token of a session opened at `opened` (Unix
/// seconds) expires: one token's life from `now`, never past the
/// session's end `max_age` after it opened. `None` once that end passed:
/// the person signs in again.
pub fn renewed_expiry(opened: i64, now: i64, token_ttl: i64, max_age: i64) -> Option<i64> {
    let end = opened.saturating_add(max_age);
    (now < end).then(|| now.saturating_add(token_ttl).min(end))
}

/// How long an address that asked for `requests` reset links, the last at
/// `last` (Unix seconds), must wait before asking again; `None`: it may.
pub fn reset_request_wait(requests: i64, last: i64, now: i64) -> Option<i64> {
    if requests < RESET_REQUESTS_PER_ADDRESS || last < now - RESET_REQUEST_MEMORY_SECONDS {
        return None;
    }
    Some((last + RESET_REQUEST_MEMORY_SECONDS - now).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_auth_2_a_session_is_renewed_until_its_maximum_age() {
        let hour = 3600;
        // Early on: a whole token life.
        assert_eq!(renewed_expiry(0, 60, hour, 12 * hour), Some(60 + hour));
        // Near the end: cut at the session's end.
        assert_eq!(
            renewed_expiry(0, 11 * hour + 1800, hour, 12 * hour),
            Some(12 * hour)
        );
        // At or past the end: sign in again.
        assert_eq!(renewed_expiry(0, 12 * hour, hour, 12 * hour), None);
        assert_eq!(renewed_expiry(0, 13 * hour, hour, 12 * hour), None);
    }

    #[test]
    fn r_auth_2_one_address_asks_for_a_limited_number_of_reset_links() {
        let now = 10_000;
        assert_eq!(
            reset_request_wait(RESET_REQUESTS_PER_ADDRESS - 1, now, now),
            None
        );
        assert_eq!(
            reset_request_wait(RESET_REQUESTS_PER_ADDRESS, now - 600, now),
            Some(3000)
        );
        // An hour after the last request the address starts afresh.
        assert_eq!(
            reset_request_wait(RESET_REQUESTS_PER_ADDRESS, now - 3601, now),
            None
        );
    }
}
