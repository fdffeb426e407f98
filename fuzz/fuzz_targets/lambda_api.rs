#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| faas_local::fuzzing::lambda_api(data));
