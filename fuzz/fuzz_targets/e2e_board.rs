#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| piaojue::fuzz::e2e_board(data));
