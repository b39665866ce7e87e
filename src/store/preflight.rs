//! Checks that the configured S3 storage answers before SlateDB is opened on it.
//!
//! SlateDB retries object-store errors for minutes, so an endpoint where nothing listens, or a
//! bucket that does not exist, would otherwise look like a server that hangs at start. One
//! bounded LIST tells those cases apart and names the variable to fix.
use std::time::Duration;

use futures::StreamExt;
use object_store::client::HttpErrorKind;
use object_store::path::Path;

use super::{object_store, S3Settings, StorageUrl};

/// How long the endpoint has to answer one LIST.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// `Ok` for non-S3 storage or an S3 bucket that answers; otherwise one line naming the
/// variable to fix.
pub fn check_s3(storage: &StorageUrl, s3: &S3Settings) -> Result<(), String> {
    let StorageUrl::S3 { bucket, prefix } = storage else {
        return Ok(());
    };
    let endpoint = s3
        .endpoint
        .clone()
        .unwrap_or_else(|| "the default AWS endpoint".to_string());
    let os = object_store(storage, s3).map_err(|e| one_line(&e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime to probe S3: {e}"))?;
    let probe = runtime.block_on(async {
        tokio::time::timeout(PROBE_TIMEOUT, async {
            let mut listing = os.list(Some(&Path::from("slatenfs")));
            listing.next().await.transpose().map(|_| ())
        })
        .await
    });
    let error = match probe {
        Ok(Ok(())) => return Ok(()),
        Err(_) => return Err(no_answer(&endpoint)),
        Ok(Err(e)) => e,
    };
    let where_ = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    let text = one_line(&error.to_string());
    Err(match ProbeFailure::of(&error) {
        ProbeFailure::NoSuchBucket => format!("AWS_S3_BUCKET {bucket} does not exist at {endpoint}: create it or set AWS_S3_BUCKET to an existing bucket"),
        ProbeFailure::CredentialsRefused => format!("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY were refused for {where_} at {endpoint}: {text}"),
        ProbeFailure::CannotConnect => format!("AWS_ENDPOINT_URL {endpoint}: cannot connect; check that the S3 server runs there and the URL is right"),
        ProbeFailure::NoAnswer => no_answer(&endpoint),
        ProbeFailure::PlainHttpRefused => format!("AWS_ENDPOINT_URL {endpoint} is plain http: set AWS_ALLOW_HTTP=true to allow it"),
        ProbeFailure::Other => format!("AWS_ENDPOINT_URL {endpoint}: {where_} cannot be listed: {text}"),
    })
}

fn no_answer(endpoint: &str) -> String {
    format!(
        "AWS_ENDPOINT_URL {endpoint}: no answer within {} s; check that the S3 server runs there (and AWS_ALLOW_HTTP=true for http://)",
        PROBE_TIMEOUT.as_secs()
    )
}

/// Why the probe's LIST failed, as far as the setting to fix goes.
#[derive(Debug, PartialEq, Eq)]
enum ProbeFailure {
    NoSuchBucket,
    CredentialsRefused,
    CannotConnect,
    NoAnswer,
    PlainHttpRefused,
    Other,
}

impl ProbeFailure {
    /// Transport failures are read from the error's source chain, where object_store keeps the
    /// kind of its `HttpError`; only S3's answers (status and error code) are read from the
    /// text, since their types are private to object_store. The text also holds the request's
    /// URL and elapsed time, so a bare number such as "403" may appear in it by chance.
    fn of(error: &object_store::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
        while let Some(e) = source {
            if let Some(http) = e.downcast_ref::<object_store::client::HttpError>() {
                match http.kind() {
                    HttpErrorKind::Connect => return Self::CannotConnect,
                    HttpErrorKind::Timeout => return Self::NoAnswer,
                    _ => {}
                }
            }
            source = e.source();
        }
        let text = error.to_string();
        if text.contains("NoSuchBucket") {
            Self::NoSuchBucket
        } else if text.contains("status code: 403")
            || text.contains("403 Forbidden")
            || text.contains("AccessDenied")
            || text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
        {
            Self::CredentialsRefused
        } else if text.contains("HTTP") && text.contains("not allowed") {
            Self::PlainHttpRefused
        } else {
            Self::Other
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::client::HttpError;

    fn generic(source: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: Box::new(source),
        }
    }

    /// Wraps an error the way object_store's retry loop does: its own text first, the cause as
    /// its source.
    #[derive(Debug)]
    struct Wrapped(String, HttpError);
    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} - {}", self.0, self.1)
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    fn http(kind: HttpErrorKind) -> HttpError {
        HttpError::new(kind, std::io::Error::other("error sending request"))
    }

    #[test]
    fn a_refused_connection_is_not_read_as_forbidden_from_its_elapsed_time() {
        // The text CI once saw: the retry loop's elapsed time happened to read "403.78…ms".
        let error = generic(Wrapped(
            "Error performing GET http://127.0.0.1:50697/slatedb?list-type=2 in 403.788741ms, after 3 retries".into(),
            http(HttpErrorKind::Connect),
        ));
        assert_eq!(ProbeFailure::of(&error), ProbeFailure::CannotConnect);
    }

    #[test]
    fn a_timed_out_request_is_no_answer() {
        let error = generic(Wrapped(
            "Error performing GET".into(),
            http(HttpErrorKind::Timeout),
        ));
        assert_eq!(ProbeFailure::of(&error), ProbeFailure::NoAnswer);
    }

    #[test]
    fn s3_answers_are_read_from_the_text() {
        let cases = [
            (
                "Server returned non-2xx status code: 403 Forbidden: ",
                ProbeFailure::CredentialsRefused,
            ),
            (
                "Server returned error response: <Code>InvalidAccessKeyId</Code>",
                ProbeFailure::CredentialsRefused,
            ),
            (
                "Server returned error response: <Code>SignatureDoesNotMatch</Code>",
                ProbeFailure::CredentialsRefused,
            ),
            (
                "Server returned error response: <Code>NoSuchBucket</Code>",
                ProbeFailure::NoSuchBucket,
            ),
            (
                "in 403ms - Server returned non-2xx status code: 500 Internal Server Error: ",
                ProbeFailure::Other,
            ),
        ];
        for (text, want) in cases {
            let error = generic(std::io::Error::other(text));
            assert_eq!(ProbeFailure::of(&error), want, "{text}");
        }
    }
}
