//! What the client was told against what the database holds: every write request carries a
//! title of its own, so the posts with that title say how often the write happened.

use std::collections::HashMap;

use serde::Serialize;

/// What one request's client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The unique title the request wrote.
    pub title: String,
    /// HTTP status; `None` for a transport error or no response in time.
    pub status: Option<u16>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The requests of one run, reconciled with the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    pub requests: usize,
    /// Answered 2xx.
    pub answered: usize,
    /// Non-2xx or a transport error.
    pub failed: usize,
    /// Failed for the client, yet the post exists.
    pub written_but_failed: usize,
    /// Answered 2xx, yet no post has its title.
    pub lost: usize,
    /// More than one post has its title.
    pub duplicated: usize,
}

/// Counts, per request, the posts whose title is its title among `titles` (every post in the
/// database; other posts are ignored).
pub fn reconcile<'a>(
    outcomes: &[Outcome],
    titles: impl IntoIterator<Item = &'a str>,
) -> Reconciled {
    let mut posts: HashMap<&str, usize> = HashMap::new();
    for title in titles {
        *posts.entry(title).or_default() += 1;
    }
    let mut r = Reconciled {
        requests: outcomes.len(),
        ..Reconciled::default()
    };
    for outcome in outcomes {
        let written = posts.get(outcome.title.as_str()).copied().unwrap_or(0);
        if outcome.succeeded() {
            r.answered += 1;
            r.lost += usize::from(written == 0);
        } else {
            r.failed += 1;
            r.written_but_failed += usize::from(written > 0);
        }
        r.duplicated += usize::from(written > 1);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(title: &str, status: Option<u16>) -> Outcome {
        Outcome {
            title: title.into(),
            status,
        }
    }

    #[test]
    fn each_request_is_judged_by_the_posts_with_its_title() {
        let outcomes = [
            outcome("ok", Some(201)),
            outcome("ok-twice", Some(201)),
            outcome("lost", Some(201)),
            outcome("failed-written", Some(500)),
            outcome("failed-written-twice", None),
            outcome("failed-clean", Some(500)),
            outcome("no-answer-clean", None),
        ];
        let db = [
            "seeded post",
            "ok",
            "ok-twice",
            "ok-twice",
            "failed-written",
            "failed-written-twice",
            "failed-written-twice",
        ];
        let r = reconcile(&outcomes, db);
        assert_eq!(
            r,
            Reconciled {
                requests: 7,
                answered: 3,
                failed: 4,
                written_but_failed: 2,
                lost: 1,
                duplicated: 2,
            }
        );
    }

    #[test]
    fn a_clean_run_is_correct() {
        let outcomes = [outcome("a", Some(201)), outcome("b", Some(503))];
        let r = reconcile(&outcomes, ["a"]);
        assert_eq!((r.answered, r.failed, r.written_but_failed), (1, 1, 0));
        assert_eq!((r.lost, r.duplicated), (0, 0));
        assert!(!outcome("redirect", Some(302)).succeeded());
    }
}
