//! The agent's `/stats` counters the fault benchmark reports, summed over the handlers. Fields
//! an agent does not report yet (`reexecuted`, `diverged`, `call_log`) read as 0.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AgentCounts {
    /// Invocations of the write handler (the sample's `create_handler`) that ran in a function.
    pub create_offloaded: u64,
    pub offloaded: u64,
    pub failures: u64,
    pub abandoned: u64,
    /// Failed offloads run again on the server with the call log.
    pub reexecuted: u64,
    /// Re-executions that left the call log.
    pub diverged: u64,
    /// Offloads that failed because the agent's deadline passed.
    pub timeouts: u64,
    /// The agent's call log (`open`, `bytes_in_use`, `max_entries`, `max_bytes`, `over_cap`).
    pub call_log: Value,
}

impl AgentCounts {
    /// `create_handler`: the agent's key of the handler every write runs.
    pub fn from_stats(stats: &Value, create_handler: &str) -> AgentCounts {
        let handlers: Vec<&Value> = stats["handlers"]
            .as_object()
            .map(|h| h.values().collect())
            .unwrap_or_default();
        let sum = |path: &[&str]| -> u64 {
            handlers
                .iter()
                .map(|h| path.iter().fold(*h, |v, k| &v[*k]).as_u64().unwrap_or(0))
                .sum()
        };
        AgentCounts {
            create_offloaded: stats["handlers"][create_handler]["offloaded"]
                .as_u64()
                .unwrap_or(0),
            offloaded: sum(&["offloaded"]),
            failures: sum(&["failures"]),
            abandoned: sum(&["abandoned"]),
            reexecuted: sum(&["reexecuted"]),
            diverged: sum(&["diverged"]),
            timeouts: sum(&["failure_reasons", "timeout"]),
            call_log: stats.get("call_log").cloned().unwrap_or(Value::Null),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CREATE_HANDLER: &str = "io.semifaas.samples.blog.web.PostApiController#create";

    #[test]
    fn sums_the_handlers_and_reads_missing_fields_as_zero() {
        let stats = json!({
            "handlers": {
                CREATE_HANDLER: { "offloaded": 5, "failures": 2, "abandoned": 1, "reexecuted": 1,
                                  "failure_reasons": { "timeout": 2 } },
                "x.Y#z": { "offloaded": 3, "failures": 0, "diverged": 1 },
            },
            "call_log": { "open": 0 },
        });
        let counts = AgentCounts::from_stats(&stats, CREATE_HANDLER);
        assert_eq!(counts.create_offloaded, 5);
        assert_eq!(counts.offloaded, 8);
        assert_eq!(
            (
                counts.failures,
                counts.abandoned,
                counts.reexecuted,
                counts.diverged
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(counts.timeouts, 2);
        assert_eq!(counts.call_log["open"], 0);
        let today = AgentCounts::from_stats(
            &json!({ "handlers": { "a#b": { "offloaded": 1 } } }),
            CREATE_HANDLER,
        );
        assert_eq!((today.reexecuted, today.diverged), (0, 0));
        assert!(today.call_log.is_null());
    }
}
