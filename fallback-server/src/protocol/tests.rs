use semifaas_closure::{
    codec,
    limits::{LIBRARY_JAR_CHUNK, LIBRARY_REPORT_NAMES_MAX},
    Capability, Closure, ClosureId, HandlerRef, NamedBytes,
};

use super::*;

fn capability() -> Capability {
    Capability {
        invocation_id: 7,
        token: [3; 16],
    }
}

fn load_class(name: &str) -> RequestFrame {
    RequestFrame {
        capability: capability(),
        request: FallbackRequest::LoadClass { name: name.into() },
    }
}

fn closure(class_bytes: Vec<u8>) -> Closure {
    Closure {
        handler: HandlerRef {
            class_name: "com.example.Api".into(),
            method_name: "get".into(),
            descriptor: "()V".into(),
        },
        receiver: vec![1, 2, 3],
        classes: vec![NamedBytes {
            name: "com.example.Api".into(),
            bytes: class_bytes,
        }],
        resources: vec![],
    }
}

#[test]
fn encode_frame_prefixes_the_big_endian_length() {
    assert_eq!(encode_frame(b"abc"), [0, 0, 0, 3, b'a', b'b', b'c']);
    assert_eq!(encode_frame(&[]), [0, 0, 0, 0]);
    assert_eq!(&encode_frame(&[0; 258])[..4], &[0, 0, 1, 2]);
}

#[test]
fn request_round_trips_through_a_frame() {
    let frame = load_class("com.example.Foo$Bar");
    let bytes = encode_request(&frame).unwrap();
    let (header, body) = split_request(&bytes).unwrap();
    assert_eq!(header.tag, 1, "load_class is kind 1");
    assert_eq!(decode_request(header.tag, body).unwrap(), frame);
}

#[test]
fn a_body_of_another_kind_than_its_header_is_malformed() {
    let bytes = encode_request(&load_class("com.example.Foo")).unwrap();
    let (_, body) = split_request(&bytes).unwrap();
    let err = decode_request(2, body).unwrap_err();
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);
    assert!(
        err.to_string().contains("announced request kind 2"),
        "{err}"
    );
    let err = decode_request(9, body).unwrap_err();
    assert!(err.to_string().contains("unknown request kind 9"), "{err}");
}

#[test]
fn hello_round_trips_and_rejects_other_bytes() {
    let hello = encode_hello(&capability());
    assert_eq!(hello.len(), HELLO_LEN);
    assert_eq!(&hello[..4], b"SFH1");
    assert_eq!(decode_hello(&hello), Some(capability()));
    let mut other = hello;
    other[0] = b'X';
    assert_eq!(decode_hello(&other), None);
}

#[test]
fn response_with_a_closure_round_trips() {
    let response = FallbackResponse::Closure(closure(vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 1]));
    let bytes = encode_response(&response).unwrap();
    let body = split_frame(&bytes, Direction::Response).unwrap();
    assert_eq!(decode_response(body).unwrap(), response);

    for response in [
        FallbackResponse::Class(Some(vec![1, 2])),
        FallbackResponse::Resource(None),
        FallbackResponse::error(FallbackErrorKind::NotFound, "no closure abc"),
    ] {
        let bytes = encode_response(&response).unwrap();
        let body = split_frame(&bytes, Direction::Response).unwrap();
        assert_eq!(decode_response(body).unwrap(), response);
    }
}

fn header(len: usize, tag: u8) -> [u8; REQUEST_HEADER_LEN] {
    let mut header = [tag; REQUEST_HEADER_LEN];
    header[..4].copy_from_slice(&(len as u32).to_be_bytes());
    header
}

#[test]
fn length_over_the_kinds_limit_is_rejected_from_the_header_alone() {
    // A remote call may carry arguments; a named request only a name.
    assert_eq!(
        request_header(header(REQUEST_FRAME_MAX, 3)).unwrap().len,
        REQUEST_FRAME_MAX
    );
    let err = request_header(header(REQUEST_FRAME_MAX + 1, 3)).unwrap_err();
    assert!(
        matches!(err, FrameError::TooLarge { len, limit, .. } if len == REQUEST_FRAME_MAX + 1 && limit == REQUEST_FRAME_MAX)
    );
    assert_eq!(err.kind(), FallbackErrorKind::TooLarge);
    assert!(err.to_string().contains(&format!(
        "request frame is {} bytes, over the limit of {REQUEST_FRAME_MAX}",
        REQUEST_FRAME_MAX + 1
    )));
    for tag in 0..=2 {
        let err = request_header(header(NAMED_REQUEST_MAX + 1, tag)).unwrap_err();
        assert!(
            matches!(
                err,
                FrameError::TooLarge {
                    limit: NAMED_REQUEST_MAX,
                    ..
                }
            ),
            "{err}"
        );
    }
    for tag in [4, 5] {
        let err = request_header(header(NAMED_REQUEST_MAX + 1, tag)).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    }
    let err = request_header(header(LIBRARY_REPORT_MAX + 1, 6)).unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
    let err = request_header(header(10, 7)).unwrap_err();
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);

    // A response's limit is larger...
    let over = (REQUEST_FRAME_MAX as u32 + 1).to_be_bytes();
    assert_eq!(
        frame_length(over, Direction::Response).unwrap(),
        REQUEST_FRAME_MAX + 1
    );
    // ...but not a 4 GiB claim.
    assert!(matches!(
        frame_length(u32::MAX.to_be_bytes(), Direction::Response),
        Err(FrameError::TooLarge { .. })
    ));
    // split_request rejects the length before looking for the body.
    assert!(matches!(
        split_request(&header(NAMED_REQUEST_MAX + 1, 1)),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn truncated_frames_report_how_much_arrived() {
    let err = split_request(&[0, 0]).unwrap_err();
    assert!(matches!(
        err,
        FrameError::Truncated {
            expected: 5,
            received: 2,
            ..
        }
    ));
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);

    let err = split_request(&[0, 0, 0, 10, 1, 2, 3]).unwrap_err();
    assert!(matches!(
        err,
        FrameError::Truncated {
            expected: 15,
            received: 7,
            ..
        }
    ));
    assert!(err.to_string().contains("truncated"), "{err}");
    let err = split_frame(&[0, 0, 0, 10, 1, 2, 3], Direction::Response).unwrap_err();
    assert!(matches!(
        err,
        FrameError::Truncated {
            expected: 14,
            received: 7,
            ..
        }
    ));
}

#[test]
fn trailing_bytes_after_a_frame_are_rejected() {
    let mut bytes = encode_request(&load_class("a.B")).unwrap();
    bytes.extend_from_slice(&[9, 9]);
    let err = split_request(&bytes).unwrap_err();
    assert!(matches!(err, FrameError::TrailingBytes { count: 2, .. }));
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);
}

#[test]
fn garbage_bodies_are_malformed() {
    let err = decode_request(1, &[0xFF; 16]).unwrap_err();
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);
    assert!(
        err.to_string().contains("malformed fallback request"),
        "{err}"
    );

    let err = decode_response(&[]).unwrap_err();
    assert_eq!(err.kind(), FallbackErrorKind::Malformed);
}

#[test]
fn invalid_names_are_malformed() {
    for name in ["", "a\0b"] {
        let body = codec::encode(&load_class(name));
        let err = decode_request(1, &body).unwrap_err();
        assert_eq!(err.kind(), FallbackErrorKind::Malformed, "{name:?}");
        assert!(err.to_string().contains("load_class name"), "{err}");
    }
    let body = codec::encode(&load_class(&"x".repeat(4097)));
    assert!(matches!(
        decode_request(1, &body),
        Err(FrameError::Invalid { .. })
    ));
}

#[test]
fn oversized_request_is_refused_before_sending() {
    let err = encode_request(&load_class(&"x".repeat(NAMED_REQUEST_MAX))).unwrap_err();
    assert!(matches!(
        err,
        FrameError::TooLarge {
            direction: Direction::Request,
            ..
        }
    ));
}

#[test]
fn a_closure_that_fails_validation_is_rejected() {
    let response = FallbackResponse::Closure(closure(b"not a class".to_vec()));
    let body = codec::encode(&response);
    let err = decode_response(&body).unwrap_err();
    assert!(matches!(
        err,
        FrameError::Invalid {
            direction: Direction::Response,
            ..
        }
    ));
    assert!(err.to_string().contains("com.example.Api"), "{err}");
}

#[test]
fn variant_indexes_are_stable_on_the_wire() {
    // New kinds go at the end; these bytes must never change.
    let tag = |request: FallbackRequest| codec::encode(&request)[0];
    assert_eq!(
        tag(FallbackRequest::FetchClosure {
            id: ClosureId([0; 32])
        }),
        0
    );
    assert_eq!(tag(FallbackRequest::LoadClass { name: "a".into() }), 1);
    assert_eq!(tag(FallbackRequest::GetResource { name: "a".into() }), 2);
    assert_eq!(tag(invoke("get", "()I")), 3);
    assert_eq!(codec::encode(&FallbackResponse::Class(None))[0], 1);
    assert_eq!(codec::encode(&FallbackResponse::Resource(None))[0], 2);
    assert_eq!(codec::encode(&FallbackResponse::Invoked(vec![]))[0], 4);
    assert_eq!(codec::encode(&FallbackErrorKind::Internal)[0], 4);
    // Library jars came later: their variants follow.
    assert_eq!(tag(FallbackRequest::LibraryManifest), 4);
    assert_eq!(
        tag(FallbackRequest::LibraryJar {
            sha256: JarHash([0; 32]),
            offset: 0
        }),
        5
    );
    assert_eq!(
        tag(FallbackRequest::LibraryClassesDefined {
            names: vec!["a.B".into()]
        }),
        6
    );
    assert_eq!(
        codec::encode(&FallbackResponse::LibraryManifest(vec![]))[0],
        5
    );
    assert_eq!(
        codec::encode(&FallbackResponse::LibraryClassesRecorded(0))[0],
        7
    );
}

#[test]
fn library_requests_round_trip_and_bad_ones_are_refused() {
    let frame = |request| RequestFrame {
        capability: capability(),
        request,
    };
    let report = frame(FallbackRequest::LibraryClassesDefined {
        names: vec!["org.example.A".into(), "org.example.B".into()],
    });
    let jar = frame(FallbackRequest::LibraryJar {
        sha256: JarHash([9; 32]),
        offset: 4096,
    });
    for good in [report, jar, frame(FallbackRequest::LibraryManifest)] {
        let bytes = encode_request(&good).unwrap();
        let (header, body) = split_request(&bytes).unwrap();
        assert_eq!(decode_request(header.tag, body).unwrap(), good);
    }
    let bad_reports = [
        (vec![], "names 0 classes"),
        (vec!["a\0b".to_string()], "contains NUL"),
        (
            vec!["a.B".to_string(); LIBRARY_REPORT_NAMES_MAX + 1],
            "names 1025 classes",
        ),
    ];
    for (names, expected) in bad_reports {
        let body = codec::encode(&frame(FallbackRequest::LibraryClassesDefined { names }));
        let err = decode_request(6, &body).unwrap_err();
        assert_eq!(err.kind(), FallbackErrorKind::Malformed);
        assert!(err.to_string().contains(expected), "{err}");
    }
    // A chunk over the limit, from a peer that does not keep it, is refused when decoded.
    let big = FallbackResponse::LibraryJarChunk {
        total: 1 << 30,
        bytes: vec![0; LIBRARY_JAR_CHUNK + 1],
    };
    let err = decode_response(&codec::encode(&big)).unwrap_err();
    assert!(err.to_string().contains("over the limit"), "{err}");
    let manifest = FallbackResponse::LibraryManifest(vec![LibraryJarEntry {
        sha256: JarHash([1; 32]),
        size: 0,
        packages: vec![],
    }]);
    let err = decode_response(&codec::encode(&manifest)).unwrap_err();
    assert!(err.to_string().contains("empty or over the limit"), "{err}");
}

#[test]
fn kinds_and_errors_display_for_statistics_and_logs() {
    let names: Vec<String> = FallbackKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(
        names,
        [
            "fetch_closure",
            "load_class",
            "get_resource",
            "invoke",
            "lazy_data",
            "library_jar"
        ]
    );
    assert_eq!(
        FallbackRequest::LibraryJar {
            sha256: JarHash([0; 32]),
            offset: 0
        }
        .kind(),
        FallbackKind::LibraryJar
    );
    assert_eq!(
        invoke(LAZY_DATA_METHOD, "()Ljava/lang/Object;").kind(),
        FallbackKind::LazyData
    );
    assert_eq!(
        invoke("save", "(Ljava/lang/Object;)V").kind(),
        FallbackKind::Invoke
    );
    assert_eq!(
        invoke("save", "(Ljava/lang/Object;)V").to_string(),
        "invoke #1 ref 12 save(Ljava/lang/Object;)V"
    );
    assert_eq!(load_class("a.B").request.kind(), FallbackKind::LoadClass);
    assert_eq!(load_class("a.B").request.to_string(), "load_class a.B");
    let error = FallbackError::new(
        FallbackErrorKind::Unauthorized,
        "invocation 7 is not in flight",
    );
    assert_eq!(
        error.to_string(),
        "unauthorized: invocation 7 is not in flight"
    );
}

fn invoke(method: &str, descriptor: &str) -> FallbackRequest {
    FallbackRequest::InvokeRemote {
        seq: 1,
        ref_id: 12,
        method: method.into(),
        descriptor: descriptor.into(),
        args: vec![1, 2, 3],
    }
}

#[test]
fn remote_calls_and_their_outcomes_round_trip() {
    let frame = RequestFrame {
        capability: capability(),
        request: invoke("findById", "(J)Ljava/lang/Object;"),
    };
    let bytes = encode_request(&frame).unwrap();
    let (header, body) = split_request(&bytes).unwrap();
    assert_eq!(decode_request(header.tag, body).unwrap(), frame);

    let response = FallbackResponse::Invoked(vec![0, 9, 9]);
    let bytes = encode_response(&response).unwrap();
    let body = split_frame(&bytes, Direction::Response).unwrap();
    assert_eq!(decode_response(body).unwrap(), response);
}

#[test]
fn remote_calls_with_bad_names_or_descriptors_are_malformed() {
    for (request, expected) in [
        (invoke("", "()V"), "invoke method name"),
        (invoke("get", ""), "invoke descriptor"),
        (invoke("get", "I"), "not a JVM method descriptor"),
        (invoke("g\0t", "()V"), "invoke method name"),
    ] {
        let body = codec::encode(&RequestFrame {
            capability: capability(),
            request,
        });
        let err = decode_request(3, &body).unwrap_err();
        assert_eq!(err.kind(), FallbackErrorKind::Malformed);
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn the_lazy_data_method_is_the_java_runtimes() {
    let java =
        include_str!("../../../jvm-hooks/common/src/main/java/io/semifaas/common/LazyData.java");
    assert!(
        java.contains(&format!("MATERIALIZE = \"{LAZY_DATA_METHOD}\";")),
        "LazyData.MATERIALIZE is not {LAZY_DATA_METHOD:?}"
    );
}
