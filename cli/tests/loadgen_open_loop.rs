//! The load generator is open loop: against a server that takes 500 ms per request, requests are
//! still sent at their scheduled instants, and their latency counts from those instants. The
//! closed loop, by contrast, waits for each response, so it measures what the server completes.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use semifaas_cli::{
    harness::{HttpClient, Request},
    loadgen::{run_closed_loop, run_open_loop, Phase, Profile},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const SERVICE_TIME: Duration = Duration::from_millis(500);

/// A keep-alive HTTP/1.1 server answering every request after `SERVICE_TIME`; records when each
/// request arrived.
async fn slow_server(arrivals: Arc<Mutex<Vec<Instant>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(serve(stream, arrivals.clone()));
        }
    });
    port
}

async fn serve(mut stream: TcpStream, arrivals: Arc<Mutex<Vec<Instant>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buffer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buffer.drain(..end);
        arrivals.lock().push(Instant::now());
        tokio::time::sleep(SERVICE_TIME).await;
        let response = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
        if stream.write_all(response).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_sent_on_schedule_even_when_the_server_is_slow() {
    let arrivals = Arc::new(Mutex::new(vec![]));
    let port = slow_server(arrivals.clone()).await;
    let client = HttpClient::new(port);
    let profile = Profile::new(vec![Phase {
        duration_s: 1.0,
        rps: 50.0,
    }])
    .unwrap();
    let schedule = profile.schedule();
    assert_eq!(schedule.len(), 50);

    let start = Instant::now();
    let records = run_open_loop(&client, &schedule, start, Duration::from_secs(30), |i| {
        Request::get(&format!("/slow/{i}"))
    })
    .await;

    assert_eq!(records.len(), 50);
    let slack = Duration::from_millis(150);
    for (record, &scheduled) in records.iter().zip(&schedule) {
        assert_eq!(record.scheduled, scheduled);
        assert!(
            record.sent >= scheduled && record.sent - scheduled < slack,
            "request scheduled at {scheduled:?} was sent at {:?}",
            record.sent
        );
        assert_eq!(record.status, Some(200));
        assert!(record.latency() >= SERVICE_TIME, "{record:?}");
    }
    // A closed loop would have had one request in flight: the server saw them all overlap.
    let arrivals = arrivals.lock();
    assert_eq!(arrivals.len(), 50);
    let last_arrival = arrivals.iter().max().unwrap().duration_since(start);
    assert!(
        last_arrival < schedule[49] + slack,
        "the last request arrived at {last_arrival:?}, scheduled at {:?}",
        schedule[49]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_counts_what_completes_after_its_warm_up() {
    let port = slow_server(Arc::new(Mutex::new(vec![]))).await;
    let client = HttpClient::new(port);
    // 3 clients, 500 ms per request: responses at 0.5, 1.0, 1.5 and 2.0 s; the measured span
    // [0.3 s, 1.8 s) holds three of each client's.
    let result = run_closed_loop(
        &client,
        3,
        Duration::from_millis(300),
        Duration::from_millis(1500),
        Duration::from_secs(5),
        |_| Request::get("/"),
    )
    .await;
    assert_eq!(
        (result.completed, result.failed, result.offloaded),
        (9, 0, 0)
    );
    assert!((result.completed_rps() - 6.0).abs() < 1e-9, "{result:?}");
}
