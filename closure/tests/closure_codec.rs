use semifaas_closure::*;

fn closure() -> Closure {
    Closure {
        handler: HandlerRef {
            class_name: "com.example.ImageController".into(),
            method_name: "resize".into(),
            descriptor: "(II[B)[B".into(),
        },
        receiver: vec![1, 2, 3],
        classes: vec![NamedBytes {
            name: "com.example.ImageController".into(),
            bytes: vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 61],
        }],
        resources: vec![],
    }
}

#[test]
fn closure_round_trips_and_its_id_is_its_content() {
    let c = closure();
    let decoded = Closure::decode(&c.encode()).unwrap();
    assert_eq!(decoded, c);
    assert_eq!(decoded.id(), c.id());
    let mut other = c.clone();
    other.receiver.push(4);
    assert_ne!(other.id(), c.id(), "different data, different id");
    let id = c.id();
    assert_eq!(id.to_string().parse::<ClosureId>().unwrap(), id);
    assert!("xyz"
        .parse::<ClosureId>()
        .unwrap_err()
        .to_string()
        .contains("64 hex digits"));
}

#[test]
fn decode_rejects_garbage_truncation_and_trailing_bytes() {
    let bytes = closure().encode();
    assert!(Closure::decode(&bytes[..bytes.len() - 3]).is_err());
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(Closure::decode(&trailing)
        .unwrap_err()
        .to_string()
        .contains("trailing"));
    assert!(Closure::decode(&[0xff; 16]).is_err());
}

#[test]
fn decode_rejects_a_class_that_is_not_a_class_file() {
    let mut c = closure();
    c.classes[0].bytes = b"hello".to_vec();
    let err = Closure::decode(&c.encode()).unwrap_err().to_string();
    assert!(err.contains("com.example.ImageController"), "{err}");
}

#[test]
fn decode_rejects_a_forged_length_without_allocating_it() {
    // A vector length prefix claiming ~2^60 elements.
    let mut forged = vec![];
    forged.extend_from_slice(&[0xFF; 9]);
    assert!(Closure::decode(&forged).is_err());
}

#[test]
fn outcome_tags_round_trip() {
    for outcome in [
        InvocationOutcome::Returned(vec![1]),
        InvocationOutcome::Threw(vec![]),
    ] {
        assert_eq!(
            InvocationOutcome::from_tagged(&outcome.to_tagged()).unwrap(),
            outcome
        );
    }
    let failed = InvocationOutcome::from_tagged(b"\x02class Foo not found").unwrap();
    assert!(matches!(failed, InvocationOutcome::Failed(f) if f.message == "class Foo not found"));
    assert!(InvocationOutcome::from_tagged(&[]).is_err());
    assert!(InvocationOutcome::from_tagged(&[9]).is_err());
}
