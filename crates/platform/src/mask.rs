//! Field masks on update requests (AIP-134).

use crate::error::FieldViolation;

/// The fields an update touches. An empty or missing mask means every
/// updatable field the request sets (`set` says which those are); a path not
/// in `allowed` is refused.
pub fn update_paths(
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&str],
    set: impl Fn(&str) -> bool,
) -> Result<Vec<String>, FieldViolation> {
    let paths: Vec<String> = match mask {
        Some(m) if !m.paths.is_empty() => m.paths.clone(),
        _ => allowed
            .iter()
            .filter(|p| set(p))
            .map(|p| (*p).to_owned())
            .collect(),
    };
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            return Err(FieldViolation::new(
                "update_mask",
                format!(
                    "cannot update {}; updatable fields: {}",
                    crate::error::quote(p),
                    allowed.join(", ")
                ),
            ));
        }
    }
    if paths.is_empty() {
        return Err(FieldViolation::new(
            "update_mask",
            "names no field to update",
        ));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let m = prost_types::FieldMask {
            paths: vec!["display_name".into()],
        };
        assert_eq!(
            update_paths(Some(&m), &["display_name"], |_| false).unwrap(),
            ["display_name"]
        );
        let bad = prost_types::FieldMask {
            paths: vec!["owner".into()],
        };
        assert!(update_paths(Some(&bad), &["display_name"], |_| true).is_err());
        assert_eq!(
            update_paths(None, &["a", "b"], |p| p == "b").unwrap(),
            ["b"]
        );
        assert!(update_paths(None, &["a"], |_| false).is_err());
    }
}
