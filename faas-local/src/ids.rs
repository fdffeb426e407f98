//! Identifiers and names in the shapes Lambda uses.

use std::time::{SystemTime, UNIX_EPOCH};

/// A request id shaped like a UUID v4, as Lambda's are.
pub(crate) fn request_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!(
        "{:032x}",
        (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// 32 lowercase hex digits: an OpenWhisk activation id, also the shape of its transaction ids.
pub(crate) fn activation_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// An X-Ray style trace header; nothing samples it locally.
pub(crate) fn trace_id() -> String {
    let random: u128 = rand::random();
    format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        epoch_millis(SystemTime::now()) / 1000,
        random >> 32,
        random as u64
    )
}

pub(crate) fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:000000000000:function:{name}")
}

pub(crate) fn log_group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

pub(crate) fn log_stream_name(version: &str, instance_id: &str) -> String {
    format!("local/[{version}]{instance_id}")
}

pub(crate) fn epoch_millis(time: SystemTime) -> u128 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = request_id();
        let parts: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(request_id(), id);
    }
}
