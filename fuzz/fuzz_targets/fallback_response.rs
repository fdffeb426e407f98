#![no_main]

libfuzzer_sys::fuzz_target!(
    |data: &[u8]| semifaas_fallback::protocol::fuzzing::response_frame(data)
);
