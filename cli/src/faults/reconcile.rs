//! What the client was told against what the database holds: every write request carries a
//! title of its own, so the rows with that title say how often the write happened.

use std::collections::HashMap;

use serde::Serialize;

/// What one request's client saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The unique title the request wrote.
    pub title: String,
    /// HTTP status; `None` for a transport error or no response in time.
    pub status: Option<u16>,
    /// The answer's `Location` header (redirects are not followed).
    pub location: Option<String>,
}

impl Outcome {
    /// Answered 2xx or 3xx: the blog's 201, the library's redirect to the new book.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..400).contains(&s))
    }

    /// The `Location` without a scheme and authority, as the rows' locations are written.
    fn path(&self) -> Option<&str> {
        let location = self.location.as_deref()?;
        Some(match location.split_once("://") {
            Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
            None => location,
        })
    }
}

/// One row of the database the writes create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub title: String,
    /// Where a success answer for this row must send the client (the library's `/books/{id}`);
    /// `None` when the status alone is the answer.
    pub location: Option<String>,
}

/// The requests of one run, reconciled with the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    pub requests: usize,
    /// Answered 2xx or 3xx.
    pub answered: usize,
    /// 4xx, 5xx or a transport error.
    pub failed: usize,
    /// Failed for the client, yet the row exists.
    pub written_but_failed: usize,
    /// Answered, yet no row has its title.
    pub lost: usize,
    /// More than one row has its title.
    pub duplicated: usize,
    /// Answered and written, but the answer's `Location` names none of the rows with its title
    /// (only where rows have a location: the library).
    pub misdirected: usize,
}

/// Counts, per request, the rows whose title is its title among `rows` (every row of the table
/// in the database; other rows are ignored).
pub fn reconcile(outcomes: &[Outcome], rows: &[Written]) -> Reconciled {
    let mut by_title: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
    for row in rows {
        by_title
            .entry(row.title.as_str())
            .or_default()
            .push(row.location.as_deref());
    }
    let mut r = Reconciled {
        requests: outcomes.len(),
        ..Reconciled::default()
    };
    for outcome in outcomes {
        let locations = by_title
            .get(outcome.title.as_str())
            .map_or(&[][..], Vec::as_slice);
        let written = locations.len();
        if outcome.succeeded() {
            r.answered += 1;
            r.lost += usize::from(written == 0);
            let expected: Vec<&str> = locations.iter().flatten().copied().collect();
            r.misdirected += usize::from(
                !expected.is_empty() && !outcome.path().is_some_and(|p| expected.contains(&p)),
            );
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
            location: None,
        }
    }

    fn rows(titles: &[&str]) -> Vec<Written> {
        titles
            .iter()
            .map(|t| Written {
                title: (*t).into(),
                location: None,
            })
            .collect()
    }

    #[test]
    fn each_request_is_judged_by_the_rows_with_its_title() {
        let outcomes = [
            outcome("ok", Some(201)),
            outcome("ok-twice", Some(201)),
            outcome("lost", Some(201)),
            outcome("failed-written", Some(500)),
            outcome("failed-written-twice", None),
            outcome("failed-clean", Some(500)),
            outcome("no-answer-clean", None),
        ];
        let db = rows(&[
            "seeded post",
            "ok",
            "ok-twice",
            "ok-twice",
            "failed-written",
            "failed-written-twice",
            "failed-written-twice",
        ]);
        let r = reconcile(&outcomes, &db);
        assert_eq!(
            r,
            Reconciled {
                requests: 7,
                answered: 3,
                failed: 4,
                written_but_failed: 2,
                lost: 1,
                duplicated: 2,
                misdirected: 0,
            }
        );
    }

    #[test]
    fn a_clean_run_is_correct() {
        let outcomes = [outcome("a", Some(201)), outcome("b", Some(503))];
        let r = reconcile(&outcomes, &rows(&["a"]));
        assert_eq!((r.answered, r.failed, r.written_but_failed), (1, 1, 0));
        assert_eq!((r.lost, r.duplicated, r.misdirected), (0, 0, 0));
        assert!(outcome("redirect", Some(302)).succeeded());
        assert!(!outcome("forbidden", Some(403)).succeeded());
    }

    #[test]
    fn a_redirect_must_name_the_row_its_request_wrote() {
        let redirect = |title: &str, location: &str| Outcome {
            title: title.into(),
            status: Some(302),
            location: Some(location.into()),
        };
        let book = |title: &str, id: u64| Written {
            title: title.into(),
            location: Some(format!("/books/{id}")),
        };
        let outcomes = [
            redirect("a", "/books/26"),
            redirect("b", "http://127.0.0.1:8080/books/27"),
            redirect("c", "/books/26"),
            redirect("d", "/login"),
            outcome("e", Some(200)),
            redirect("f", "/books/30"),
        ];
        let db = [book("a", 26), book("b", 27), book("c", 28), book("e", 29)];
        let r = reconcile(&outcomes, &db);
        assert_eq!((r.answered, r.failed), (6, 0));
        // c names another book, e (a form shown again) names none; d and f wrote nothing.
        assert_eq!((r.misdirected, r.lost, r.duplicated), (2, 2, 0));
    }
}
