//! Remote calls run on the request thread that waits for their invocation.
//!
//! An offloaded handler's calls back into the server (a repository, a service) must see what a
//! local run sees: everything Spring and the application keep per thread — the request's open
//! persistence context (open-session-in-view), the current transaction, `RequestContextHolder`,
//! `LocaleContextHolder`, `SecurityContextHolder`, the logging MDC. The request thread holds all
//! of it and is idle while it waits for the function, so it runs them itself: the fallback
//! server's thread hands the call over and waits for the outcome
//! (docs/internals.md, "Remote calls run on the request thread").

use std::{
    collections::HashMap,
    sync::{mpsc, Arc},
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use crate::fallback_service::{CodeSource, CodeSourceError, RemoteCall, RemoteCallRunner};

/// A remote call handed to a waiting request thread, with where its outcome goes.
pub struct HandedCall {
    scope_id: u64,
    seq: u32,
    ref_id: u64,
    method: String,
    descriptor: String,
    args: Vec<u8>,
    shadow: bool,
    reply: mpsc::SyncSender<Result<Vec<u8>, CodeSourceError>>,
}

impl HandedCall {
    fn call(&self) -> RemoteCall<'_> {
        RemoteCall {
            scope_id: self.scope_id,
            seq: self.seq,
            ref_id: self.ref_id,
            method: &self.method,
            descriptor: &self.descriptor,
            args: &self.args,
            shadow: self.shadow,
        }
    }
}

/// What wakes a waiting request thread: a call to run, or its invocation's outcome.
pub enum Wake<T> {
    Call(HandedCall),
    Done(T),
}

/// The request threads waiting for an offload, by invocation scope; a [`CodeSource`] that runs
/// each scope's remote calls on its thread (calls outside any scope, as a prewarm's, run on the
/// caller's thread as before).
pub struct CallerThreads<T> {
    code: Arc<dyn CodeSource>,
    waiting: Mutex<HashMap<u64, mpsc::Sender<Wake<T>>>>,
}

/// A request thread's registration; unregisters when dropped, after which calls of its scope
/// are refused.
pub struct Waiting<'a, T> {
    threads: &'a CallerThreads<T>,
    scope_id: u64,
    wakes: mpsc::Receiver<Wake<T>>,
    sender: mpsc::Sender<Wake<T>>,
}

impl<T: Send + 'static> CallerThreads<T> {
    pub fn new(code: Arc<dyn CodeSource>) -> CallerThreads<T> {
        CallerThreads {
            code,
            waiting: Mutex::new(HashMap::new()),
        }
    }

    /// Registers the calling thread as the one that runs `scope_id`'s remote calls (scope 0, no
    /// scope, only waits for the outcome).
    pub fn register(&self, scope_id: u64) -> Waiting<'_, T> {
        let (sender, wakes) = mpsc::channel();
        if scope_id != 0 {
            self.waiting.lock().insert(scope_id, sender.clone());
        }
        Waiting {
            threads: self,
            scope_id,
            wakes,
            sender,
        }
    }
}

impl<T> Waiting<'_, T> {
    /// Where the invocation's outcome is sent ([`Wake::Done`]) to end [`Waiting::serve`].
    pub fn done_sender(&self) -> mpsc::Sender<Wake<T>> {
        self.sender.clone()
    }

    /// Runs the scope's remote calls on this thread as they come, until the outcome arrives;
    /// `None` when none came within `limit` (the offload's own timeout comes first; this one only
    /// guards against an outcome lost on the way).
    pub fn serve(self, limit: Duration) -> Option<T> {
        let deadline = Instant::now() + limit;
        let outcome = loop {
            match self
                .wakes
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(Wake::Call(handed)) => {
                    let result = self.threads.code.invoke_remote(&handed.call());
                    // The fallback thread may have given up (its connection closed): nothing to do.
                    let _ = handed.reply.send(result);
                }
                Ok(Wake::Done(outcome)) => break Some(outcome),
                Err(_) => break None,
            }
        };
        self.threads.waiting.lock().remove(&self.scope_id);
        // Calls that arrived after the outcome are refused: their invocation is over.
        while let Ok(wake) = self.wakes.try_recv() {
            if let Wake::Call(handed) = wake {
                let _ = handed.reply.send(Err(ended(self.scope_id)));
            }
        }
        outcome
    }
}

impl<T> Drop for Waiting<'_, T> {
    fn drop(&mut self) {
        self.threads.waiting.lock().remove(&self.scope_id);
    }
}

fn ended(scope_id: u64) -> CodeSourceError {
    CodeSourceError::Failed(format!(
        "invocation scope {scope_id} has ended: its request no longer waits for remote calls"
    ))
}

impl<T: Send + 'static> RemoteCallRunner for CallerThreads<T> {
    /// Hands a scope's call to its request thread and waits for the outcome (this runs on a
    /// blocking thread of the fallback server).
    fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
        if call.scope_id == 0 {
            return CodeSource::invoke_remote(&*self.code, call);
        }
        let Some(thread) = self.waiting.lock().get(&call.scope_id).cloned() else {
            return Err(ended(call.scope_id));
        };
        let (reply, outcome) = mpsc::sync_channel(1);
        let handed = HandedCall {
            scope_id: call.scope_id,
            seq: call.seq,
            ref_id: call.ref_id,
            method: call.method.to_owned(),
            descriptor: call.descriptor.to_owned(),
            args: call.args.to_vec(),
            shadow: call.shadow,
            reply,
        };
        if thread.send(Wake::Call(handed)).is_err() {
            return Err(ended(call.scope_id));
        }
        outcome.recv().unwrap_or_else(|_| Err(ended(call.scope_id)))
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    /// Answers a remote call with the name of the thread that ran it.
    struct ThreadNames;

    impl CodeSource for ThreadNames {
        fn class_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            Ok(None)
        }
        fn resource_bytes(&self, _: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
            Ok(None)
        }
        fn invoke_remote(&self, call: &RemoteCall<'_>) -> Result<Vec<u8>, CodeSourceError> {
            let name = thread::current().name().unwrap_or("?").to_owned();
            Ok(format!("{}:{name}", call.method).into_bytes())
        }
    }

    fn call(scope_id: u64, method: &str) -> RemoteCall<'_> {
        RemoteCall {
            scope_id,
            seq: 1,
            ref_id: 1,
            method,
            descriptor: "()V",
            args: &[],
            shadow: false,
        }
    }

    #[test]
    fn a_scopes_calls_run_on_its_waiting_thread_until_the_outcome() {
        let threads = Arc::new(CallerThreads::<&'static str>::new(Arc::new(ThreadNames)));
        let request = {
            let threads = threads.clone();
            thread::Builder::new()
                .name("request".into())
                .spawn(move || {
                    let waiting = threads.register(7);
                    let done = waiting.done_sender();
                    let fallback = {
                        let threads = threads.clone();
                        thread::Builder::new()
                            .name("fallback".into())
                            .spawn(move || {
                                let first = threads.invoke_remote(&call(7, "save")).unwrap();
                                let second = threads.invoke_remote(&call(7, "find")).unwrap();
                                done.send(Wake::Done("outcome")).unwrap();
                                (first, second)
                            })
                            .unwrap()
                    };
                    let outcome = waiting.serve(Duration::from_secs(10));
                    (outcome, fallback.join().unwrap())
                })
                .unwrap()
        };
        let (outcome, (first, second)) = request.join().unwrap();
        assert_eq!(outcome, Some("outcome"));
        assert_eq!(first, b"save:request");
        assert_eq!(second, b"find:request");
        // Its registration is gone: a late call of the scope is refused, by name.
        let late = threads.invoke_remote(&call(7, "save")).unwrap_err();
        assert!(late.to_string().contains("scope 7 has ended"), "{late}");
    }

    #[test]
    fn calls_outside_a_scope_run_where_they_arrive() {
        let threads = CallerThreads::<()>::new(Arc::new(ThreadNames));
        let here = thread::current().name().unwrap_or("?").to_owned();
        let answer = threads.invoke_remote(&call(0, "findAll")).unwrap();
        assert_eq!(answer, format!("findAll:{here}").into_bytes());
    }

    #[test]
    fn a_lost_outcome_ends_the_wait_at_its_limit() {
        let threads = CallerThreads::<()>::new(Arc::new(ThreadNames));
        let waiting = threads.register(3);
        drop(waiting.done_sender());
        assert_eq!(waiting.serve(Duration::from_millis(50)), None);
        assert!(threads.waiting.lock().is_empty());
    }
}
