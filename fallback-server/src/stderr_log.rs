//! The log setup the agent and the function shim share (feature `stderr-log`): human-readable
//! lines on stderr, coloured only when stderr is a terminal, so files and pipes get no escape
//! codes.

use std::io::IsTerminal;

use tracing_subscriber::{
    fmt::{self, MakeWriter},
    layer::SubscriberExt,
    EnvFilter, Layer, Registry,
};

/// When a line starts with its own timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamps {
    /// Always (the agent: its lines go wherever the service's stderr goes).
    Always,
    /// Only on a terminal: elsewhere whatever collects the stream stamps each line (Lambda's
    /// log service, faas-local's output forwarding), so a second timestamp would be noise.
    OnTerminal,
}

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogStyle {
    /// ANSI colours and dimming.
    pub ansi: bool,
    /// A timestamp at the start of each line.
    pub timestamps: bool,
}

impl LogStyle {
    /// The style for a stream that is (or is not) a terminal.
    pub fn new(is_terminal: bool, timestamps: Timestamps) -> LogStyle {
        LogStyle {
            ansi: is_terminal,
            timestamps: is_terminal || timestamps == Timestamps::Always,
        }
    }

    /// The style for this process's stderr.
    pub fn for_stderr(timestamps: Timestamps) -> LogStyle {
        LogStyle::new(std::io::stderr().is_terminal(), timestamps)
    }
}

/// A subscriber that writes `style`d lines passing `filter` to `writer`.
pub fn subscriber<W>(
    style: LogStyle,
    filter: EnvFilter,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = fmt::layer().with_writer(writer).with_ansi(style.ansi);
    let layer: Box<dyn Layer<Registry> + Send + Sync> = if style.timestamps {
        layer.boxed()
    } else {
        layer.without_time().boxed()
    };
    tracing_subscriber::registry().with(layer).with(filter)
}

/// Logs to stderr in the style that fits it. Only the first call in a process installs a
/// subscriber; returns whether this one did.
pub fn init(filter: EnvFilter, timestamps: Timestamps) -> bool {
    use tracing_subscriber::util::SubscriberInitExt;
    subscriber(LogStyle::for_stderr(timestamps), filter, std::io::stderr)
        .try_init()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn colours_and_timestamps_only_where_they_fit() {
        let piped = LogStyle::new(false, Timestamps::OnTerminal);
        assert_eq!(
            piped,
            LogStyle {
                ansi: false,
                timestamps: false
            }
        );
        let file = LogStyle::new(false, Timestamps::Always);
        assert_eq!(
            file,
            LogStyle {
                ansi: false,
                timestamps: true
            }
        );
        for timestamps in [Timestamps::Always, Timestamps::OnTerminal] {
            assert_eq!(
                LogStyle::new(true, timestamps),
                LogStyle {
                    ansi: true,
                    timestamps: true
                }
            );
        }
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn one_line(style: LogStyle) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(style, EnvFilter::new("info"), move || sink.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(handler = "A#b", "something happened");
        });
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn a_piped_line_has_no_escape_codes_and_no_timestamp() {
        let line = one_line(LogStyle::new(false, Timestamps::OnTerminal));
        assert!(!line.contains('\x1b'), "{line:?}");
        assert!(line.starts_with(" WARN "), "{line:?}");
        assert!(
            line.contains("something happened handler=\"A#b\""),
            "{line:?}"
        );
        assert_eq!(line.lines().count(), 1, "{line:?}");
    }

    #[test]
    fn a_timed_line_starts_with_its_timestamp() {
        let line = one_line(LogStyle::new(false, Timestamps::Always));
        assert!(!line.contains('\x1b'), "{line:?}");
        assert!(
            line.as_bytes()[..4].iter().all(u8::is_ascii_digit) && line.contains(" WARN "),
            "{line:?}"
        );
    }
}
