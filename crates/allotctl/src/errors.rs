//! How a failed command ends: its message on stderr (as JSON with
//! `--json`), and an exit code by the kind of failure, so scripts can tell
//! "fix your input" from "retry later" without reading the text.

use serde::Serialize;

/// A refusal from Allot, with the gRPC code and the fields it names.
#[derive(Debug)]
pub struct StatusError {
    pub code: tonic::Code,
    /// The whole text: code, message, hints and field violations.
    pub text: String,
    pub message: String,
    pub violations: Vec<(String, String)>,
    pub reason: Option<String>,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for StatusError {}

/// Exit codes: 1 anything else (a local mistake, a file that cannot be
/// read), 2 wrong usage (clap), 3 the request was refused as it stands
/// (INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE), 4 not signed in or
/// not allowed (UNAUTHENTICATED, PERMISSION_DENIED), 5 NOT_FOUND, 6 a
/// conflict (ALREADY_EXISTS, ABORTED), 7 RESOURCE_EXHAUSTED, 8 try again
/// (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED), 9 the server failed
/// (INTERNAL, UNKNOWN, DATA_LOSS, UNIMPLEMENTED).
pub fn exit_code(code: Option<tonic::Code>) -> i32 {
    use tonic::Code::*;
    match code {
        None | Some(Ok) => 1,
        Some(InvalidArgument | FailedPrecondition | OutOfRange) => 3,
        Some(Unauthenticated | PermissionDenied) => 4,
        Some(NotFound) => 5,
        Some(AlreadyExists | Aborted) => 6,
        Some(ResourceExhausted) => 7,
        Some(Unavailable | DeadlineExceeded | Cancelled) => 8,
        Some(Internal | Unknown | DataLoss | Unimplemented) => 9,
    }
}

#[derive(Serialize)]
struct JsonError<'a> {
    error: JsonBody<'a>,
}

#[derive(Serialize)]
struct JsonBody<'a> {
    /// `INVALID_ARGUMENT`, …; absent for a local failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    field_violations: Vec<Violation<'a>>,
    exit_code: i32,
}

#[derive(Serialize)]
struct Violation<'a> {
    field: &'a str,
    description: &'a str,
}

/// The gRPC code's name as in the API documentation (`NOT_FOUND`).
fn code_name(code: tonic::Code) -> String {
    let debug = format!("{code:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// Prints `e` and returns the exit code.
pub fn report(e: &anyhow::Error, json: bool) -> i32 {
    let status = e.downcast_ref::<StatusError>();
    let code = exit_code(status.map(|s| s.code));
    if json {
        let text = format!("{e:#}");
        let body = JsonError {
            error: JsonBody {
                code: status.map(|s| code_name(s.code)),
                message: status.map(|s| s.message.as_str()).unwrap_or(&text),
                reason: status.and_then(|s| s.reason.as_deref()),
                field_violations: status
                    .map(|s| {
                        s.violations
                            .iter()
                            .map(|(f, d)| Violation {
                                field: f,
                                description: d,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                exit_code: code,
            },
        };
        eprintln!(
            "{}",
            serde_json::to_string(&body).unwrap_or_else(|_| text.clone())
        );
    } else {
        eprintln!("error: {e:#}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_kind_of_failure() {
        assert_eq!(exit_code(Some(tonic::Code::InvalidArgument)), 3);
        assert_eq!(exit_code(Some(tonic::Code::PermissionDenied)), 4);
        assert_eq!(exit_code(Some(tonic::Code::NotFound)), 5);
        assert_eq!(exit_code(Some(tonic::Code::ResourceExhausted)), 7);
        assert_eq!(exit_code(Some(tonic::Code::Unavailable)), 8);
        assert_eq!(exit_code(Some(tonic::Code::Internal)), 9);
        assert_eq!(exit_code(None), 1);
        assert_eq!(
            code_name(tonic::Code::FailedPrecondition),
            "FAILED_PRECONDITION"
        );
        assert_eq!(code_name(tonic::Code::NotFound), "NOT_FOUND");
    }
}
