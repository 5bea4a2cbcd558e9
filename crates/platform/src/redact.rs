//! Secrets kept out of logs and error messages: the password of a URL
//! (`postgres://allot:***@db/identity`, `smtp://user:***@mail`) and a
//! `password=` query parameter.

/// `url` with its password, if any, replaced by `***`.
pub fn url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            // A user without a password may be a token (`nats://TOKEN@…`).
            None => format!("***@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::url;

    #[test]
    fn passwords_are_left_out() {
        assert_eq!(
            url("postgres://identity:s3cr3t@db:5432/identity?sslmode=verify-full"),
            "postgres://identity:***@db:5432/identity?sslmode=verify-full"
        );
        assert_eq!(
            url("smtp://user:p%40ss@mail:587"),
            "smtp://user:***@mail:587"
        );
        assert_eq!(
            url("nats://allot:pw@nats:4222"),
            "nats://allot:***@nats:4222"
        );
        assert_eq!(
            url("postgres://db/x?user=a&password=b"),
            "postgres://db/x?user=a&password=***"
        );
        assert_eq!(url("smtp://mail:25"), "smtp://mail:25");
        assert_eq!(url("nats://s3cr3t-token@nats:4222"), "nats://***@nats:4222");
        assert_eq!(
            url("sqlite://data/a.db?mode=rwc"),
            "sqlite://data/a.db?mode=rwc"
        );
        assert_eq!(url("not a url"), "not a url");
    }
}
