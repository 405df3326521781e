//! The weights loader never panics: any bytes give a checkpoint or an error, and a checkpoint
//! it accepts writes back to a file it accepts again, unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_gan_web::{Checkpoint, TrainingConfig};

fuzz_target!(|data: &[u8]| {
    let fallback = TrainingConfig::default();
    if let Ok(checkpoint) = Checkpoint::from_bytes(data, "", &fallback) {
        let again = Checkpoint::from_bytes(&checkpoint.to_bytes(), "", &fallback)
            .expect("a written checkpoint loads");
        assert_eq!(again, checkpoint);
    }
});
