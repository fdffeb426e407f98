#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| semifaas_closure::fuzzing::closure(data));
