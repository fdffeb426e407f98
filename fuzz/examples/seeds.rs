//! Writes the seed inputs of every fuzz target into `fuzz/corpus/<target>/seed-*`: valid values
//! encoded by the real encoders, so the fuzzer starts from what peers really send.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds` (any toolchain), then
//! `fuzz/run.sh --minimize` keeps the corpora small.

use std::path::Path;

use semifaas_closure::{
    Capability, Closure, ClosureId, FailureKind, FallbackCounts, FallbackEndpoint, FunctionFailure,
    FunctionStats, HandlerRef, Invocation, InvocationKind, InvocationOutcome, InvocationReply,
    NamedBytes, ShadowCall, PREWARM_HANDLER_KEY,
};
use semifaas_fallback::protocol::{encode_hello, encode_request, encode_response};
use semifaas_fallback::{
    FallbackErrorKind, FallbackRequest, FallbackResponse, JarHash, LibraryJarEntry, RequestFrame,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
}

fn closures() -> Vec<(&'static str, Closure)> {
    let handler = HandlerRef {
        class_name: "com.example.ImageController".into(),
        method_name: "resize".into(),
        descriptor: "(II[B)[B".into(),
    };
    let class = |name: &str| NamedBytes {
        name: name.into(),
        bytes: vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61, 0, 10],
    };
    vec![
        (
            "minimal",
            Closure {
                handler: handler.clone(),
                receiver: vec![1],
                classes: vec![],
                resources: vec![],
            },
        ),
        (
            "code",
            Closure {
                handler,
                receiver: vec![1, 0, 0x80, 0xFF],
                classes: vec![
                    class("com.example.ImageController"),
                    class("com.example.Size"),
                ],
                resources: vec![NamedBytes {
                    name: "templates/index.html".into(),
                    bytes: b"<html></html>".to_vec(),
                }],
            },
        ),
    ]
}

fn invocations() -> Vec<(&'static str, Invocation)> {
    let call = Invocation {
        closure_id: ClosureId([7; 32]),
        handler_key: "com.example.ImageController#resize".into(),
        args: vec![1, 2, 3, 4],
        deadline_unix_ms: 1_700_000_000_000,
        fallback: FallbackEndpoint {
            addr: "127.0.0.1:4433".into(),
            server_name: "semifaas-fallback".into(),
            cert_sha256: [9; 32],
        },
        capability: Capability {
            invocation_id: 42,
            token: [1; 16],
        },
        kind: InvocationKind::Call,
    };
    let prewarm = Invocation {
        closure_id: ClosureId([0; 32]),
        handler_key: PREWARM_HANDLER_KEY.into(),
        args: vec![],
        kind: InvocationKind::Prewarm {
            closures: vec![ClosureId([7; 32]), ClosureId([8; 32])],
            shadow_calls: vec![ShadowCall {
                closure_id: ClosureId([8; 32]),
                handler_key: "com.example.Api#get".into(),
                args: vec![4, 5],
            }],
            rounds: 3,
        },
        ..call.clone()
    };
    vec![("call", call), ("prewarm", prewarm)]
}

fn replies() -> Vec<(&'static str, InvocationReply)> {
    let stats = FunctionStats {
        instance_id: "pid-123".into(),
        cold: true,
        jvm_start_us: 250_000,
        closure_fetch_us: 1_000,
        install_us: 2_000,
        handler_us: 300,
        fallbacks: FallbackCounts {
            fetch_closure: 1,
            load_class: 2,
            get_resource: 3,
            invoke: 4,
        },
    };
    let reply = |outcome| InvocationReply {
        outcome,
        stats: stats.clone(),
    };
    vec![
        (
            "returned",
            reply(InvocationOutcome::Returned(vec![1, 2, 3])),
        ),
        ("threw", reply(InvocationOutcome::Threw(vec![9, 8]))),
        (
            "failed",
            reply(InvocationOutcome::Failed(FunctionFailure {
                kind: FailureKind::ClosureUnavailable,
                message: "closure abc is gone".into(),
            })),
        ),
    ]
}

fn main() {
    for (name, closure) in closures() {
        write("closure", name, &closure.encode());
        let response = FallbackResponse::Closure(closure);
        write(
            "fallback_response",
            &format!("closure-{name}"),
            &encode_response(&response).unwrap(),
        );
    }
    for (name, invocation) in invocations() {
        write("invocation", name, &invocation.encode());
        write("invocation_envelope", name, &invocation.to_lambda_payload());
    }
    for (name, reply) in replies() {
        write("reply", name, &reply.encode());
        write(
            "reply",
            &format!("tagged-{name}"),
            &reply.outcome.to_tagged(),
        );
        write("reply_envelope", name, &reply.to_lambda_payload());
    }

    let capability = Capability {
        invocation_id: 7,
        token: [3; 16],
    };
    let requests = [
        (
            "fetch-closure",
            FallbackRequest::FetchClosure {
                id: ClosureId([5; 32]),
            },
        ),
        (
            "load-class",
            FallbackRequest::LoadClass {
                name: "com.example.Foo$Bar".into(),
            },
        ),
        (
            "get-resource",
            FallbackRequest::GetResource {
                name: "static/app.css".into(),
            },
        ),
        (
            "invoke",
            FallbackRequest::InvokeRemote {
                seq: 1,
                ref_id: 12,
                method: "findById".into(),
                descriptor: "(Ljava/lang/Long;)Ljava/util/Optional;".into(),
                args: vec![1, 2, 3],
            },
        ),
        ("library-manifest", FallbackRequest::LibraryManifest),
        (
            "library-jar",
            FallbackRequest::LibraryJar {
                sha256: JarHash([6; 32]),
                offset: 4 * 1024 * 1024,
            },
        ),
        (
            "library-classes",
            FallbackRequest::LibraryClassesDefined {
                names: vec!["org.springframework.util.Assert".into(), "a.B$C".into()],
            },
        ),
    ];
    for (name, request) in requests {
        let frame = RequestFrame {
            capability,
            request,
        };
        write("fallback_request", name, &encode_request(&frame).unwrap());
    }
    write("hello", "hello", &encode_hello(&capability));
    let responses = [
        (
            "class",
            FallbackResponse::Class(Some(vec![0xCA, 0xFE, 0xBA, 0xBE])),
        ),
        ("no-class", FallbackResponse::Class(None)),
        (
            "resource",
            FallbackResponse::Resource(Some(b"body { }".to_vec())),
        ),
        (
            "error",
            FallbackResponse::error(FallbackErrorKind::Unauthorized, "refused"),
        ),
        (
            "invoked",
            FallbackResponse::Invoked(InvocationOutcome::Returned(vec![1]).to_tagged()),
        ),
        (
            "library-manifest",
            FallbackResponse::LibraryManifest(vec![LibraryJarEntry {
                sha256: JarHash([6; 32]),
                size: 1_969_697,
                packages: vec!["org.springframework.core".into(), "org.springframework.util".into()],
            }]),
        ),
        (
            "library-jar-chunk",
            FallbackResponse::LibraryJarChunk {
                total: 8,
                bytes: b"PK\x03\x04".to_vec(),
            },
        ),
        ("library-recorded", FallbackResponse::LibraryClassesRecorded(2)),
    ];
    for (name, response) in responses {
        write(
            "fallback_response",
            name,
            &encode_response(&response).unwrap(),
        );
    }

    // The Lambda API's bodies are the AWS SDK's JSON; these are what it sends.
    let lambda_api: [(&str, &[u8]); 5] = [
        ("invoke", br#"{"semifaas":1,"invocation":"AAEC"}"#),
        ("json", br#"{"a":[1,-2.5e3,true,null,"x\u00e9"],"b":{}}"#),
        (
            "create-function",
            br#"{"FunctionName":"semifaas","Timeout":30,"MemorySize":1024,"Environment":{"Variables":{"SEMIFAAS_LOG":"debug"}},"CodeDirectory":"/tmp/dist"}"#,
        ),
        ("arn", b"arn:aws:lambda:us-east-1:000000000000:function:semifaas:$LATEST"),
        ("empty", b""),
    ];
    for (name, bytes) in lambda_api {
        write("lambda_api", name, bytes);
    }
}
