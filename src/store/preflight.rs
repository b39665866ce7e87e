//! Checks that the configured S3 storage answers before SlateDB is opened on it.
//!
//! SlateDB retries object-store errors for minutes, so an endpoint where nothing listens, or a
//! bucket that does not exist, would otherwise look like a server that hangs at start. One
//! bounded LIST tells those cases apart and names the variable to fix.
use std::time::Duration;

use futures::StreamExt;
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
    let text = match probe {
        Ok(Ok(())) => return Ok(()),
        Err(_) => {
            return Err(format!(
                "AWS_ENDPOINT_URL {endpoint}: no answer within {} s; check that the S3 server runs there (and AWS_ALLOW_HTTP=true for http://)",
                PROBE_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(e)) => one_line(&e.to_string()),
    };
    let where_ = if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    };
    Err(if text.contains("NoSuchBucket") {
        format!("AWS_S3_BUCKET {bucket} does not exist at {endpoint}: create it or set AWS_S3_BUCKET to an existing bucket")
    } else if text.contains("403")
        || text.contains("AccessDenied")
        || text.contains("InvalidAccessKeyId")
        || text.contains("SignatureDoesNotMatch")
    {
        format!("AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY were refused for {where_} at {endpoint}: {text}")
    } else if text.contains("error sending request") || text.contains("onnection refused") {
        format!("AWS_ENDPOINT_URL {endpoint}: cannot connect; check that the S3 server runs there and the URL is right")
    } else if text.contains("HTTP") && text.contains("not allowed") {
        format!("AWS_ENDPOINT_URL {endpoint} is plain http: set AWS_ALLOW_HTTP=true to allow it")
    } else {
        format!("AWS_ENDPOINT_URL {endpoint}: {where_} cannot be listed: {text}")
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
