//! The data pipeline: scaling, per-epoch shuffles, batch sizes, noise.
#![allow(clippy::unwrap_used)] // a test asserts by unwrapping

use mnist_gan_web::Dataset;
use mnist_gan_web::data::{epoch_order, normal_noise, scale_pixel, step_noise_rows, unscale_pixel};
use mnist_gan_web::idx::IdxImages;

fn dataset(count: usize) -> Dataset {
    // Image i is filled with the byte i, so a batch shows which images it holds.
    let pixels = (0..count).flat_map(|i| vec![i as u8; 784]).collect();
    Dataset::new(IdxImages { count, pixels })
}

#[test]
fn pixels_scale_to_minus_one_plus_one() {
    assert_eq!(scale_pixel(0), -1.0);
    assert_eq!(scale_pixel(255), 1.0);
    assert!(scale_pixel(127).abs() < 0.01 && scale_pixel(127) < 0.0);
    for p in 0..=255u8 {
        assert_eq!(unscale_pixel(scale_pixel(p)), p);
    }
}

#[test]
fn each_epoch_is_a_permutation_and_seeds_reproduce() {
    let a = epoch_order(7, 0, 60_000);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..60_000).collect::<Vec<u32>>());
    assert_eq!(
        a,
        epoch_order(7, 0, 60_000),
        "same seed, same epoch, same order"
    );
    assert_ne!(
        a,
        epoch_order(7, 1, 60_000),
        "the shuffle is redrawn each epoch"
    );
    assert_ne!(a, epoch_order(8, 0, 60_000), "another seed, another order");
    assert_ne!(
        a[..100],
        (0..100).collect::<Vec<u32>>()[..],
        "it is shuffled"
    );
}

#[test]
fn mnist_epoch_is_234_batches_of_256_and_one_of_96() {
    let data = dataset(60_000);
    assert_eq!(data.batches_per_epoch(256), 235);
    let order = epoch_order(1, 0, data.len());
    assert_eq!(data.batch(&order, 0, 256).len(), 256 * 784);
    assert_eq!(data.batch(&order, 233, 256).len(), 256 * 784);
    assert_eq!(data.batch(&order, 234, 256).len(), 96 * 784);
}

#[test]
fn batches_follow_the_order_and_cover_every_image_once() {
    let data = dataset(10);
    let order = epoch_order(3, 0, data.len());
    let mut seen = Vec::new();
    for b in 0..data.batches_per_epoch(4) {
        let batch = data.batch(&order, b, 4);
        for image in batch.chunks(784) {
            seen.push(unscale_pixel(image[0]) as u32);
        }
    }
    assert_eq!(seen, order, "batches visit images in the epoch's order");
    assert_eq!(
        data.batch(&order, 2, 4).len(),
        2 * 784,
        "last batch keeps the remainder"
    );
}

#[test]
fn noise_is_standard_normal_and_seeded() {
    let noise = normal_noise(5, 0, 256, 100);
    assert_eq!(noise.len(), 25_600);
    let mean = noise.iter().sum::<f32>() / noise.len() as f32;
    let var = noise.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / noise.len() as f32;
    assert!(mean.abs() < 0.03, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "variance {var}");
    assert_eq!(noise, normal_noise(5, 0, 256, 100));
    assert_ne!(
        noise,
        normal_noise(5, 1, 256, 100),
        "each step draws new noise"
    );
}

#[test]
fn any_rows_of_the_noise_are_those_rows_of_the_whole_batch() {
    let whole = step_noise_rows(5, 3, 0..256, 100);
    let mean = whole.iter().sum::<f32>() / whole.len() as f32;
    let var = whole.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / whole.len() as f32;
    assert!(mean.abs() < 0.03, "mean {mean}");
    assert!((var - 1.0).abs() < 0.05, "variance {var}");
    for rows in [0..128, 128..256, 0..86, 86..171, 171..256, 255..256, 7..7] {
        let part = step_noise_rows(5, 3, rows.clone(), 100);
        assert_eq!(
            part,
            whole[rows.start * 100..rows.end * 100],
            "rows {rows:?}"
        );
    }
    // Neighbouring rows, seeds and steps draw different values.
    let row = |seed, step, row: usize| step_noise_rows(seed, step, row..row + 1, 100);
    assert_ne!(row(5, 3, 0), row(5, 3, 1));
    assert_ne!(row(5, 3, 0), row(6, 3, 0));
    assert_ne!(row(5, 3, 0), row(5, 4, 0));
    // Rows are independent: neighbouring rows' values are uncorrelated.
    let pairs: f32 = (0..255)
        .map(|r| {
            let (a, b) = (
                &whole[r * 100..(r + 1) * 100],
                &whole[(r + 1) * 100..(r + 2) * 100],
            );
            a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        })
        .sum();
    let correlation = pairs / (255.0 * 100.0);
    assert!(correlation.abs() < 0.03, "correlation {correlation}");
}

#[test]
fn labels_pair_with_the_images_and_are_digits() {
    let images = || IdxImages {
        count: 3,
        pixels: vec![0; 3 * 784],
    };
    let data = Dataset::labelled(images(), vec![3, 1, 4]).unwrap();
    let order = [2, 0, 1];
    assert_eq!(data.batch_labels(&order, 0, 2), Some(vec![4, 3]));
    assert_eq!(
        data.batch_labels(&order, 1, 2),
        Some(vec![1]),
        "the short last batch"
    );
    assert_eq!(Dataset::new(images()).batch_labels(&order, 0, 2), None);
    assert!(matches!(
        Dataset::labelled(images(), vec![3, 12, 4]),
        Err(mnist_gan_web::idx::IdxError::LabelOutOfRange {
            index: 1,
            value: 12
        })
    ));
    assert!(Dataset::labelled(images(), vec![3, 1]).is_err());
    // The fakes' digits: uniform over 0..10, the same for the same seed and step.
    let drawn = mnist_gan_web::data::uniform_labels(5, 7, 1000);
    assert_eq!(drawn, mnist_gan_web::data::uniform_labels(5, 7, 1000));
    assert_ne!(drawn, mnist_gan_web::data::uniform_labels(5, 8, 1000));
    let mut counts = [0; 10];
    for &d in &drawn {
        counts[usize::from(d)] += 1;
    }
    assert!(
        counts.iter().all(|&n| (60..=140).contains(&n)),
        "{counts:?}"
    );
}

#[test]
fn an_imported_dataset_holds_out_every_tenth_image_with_its_label() {
    use mnist_gan_web::data::{HELD_OUT_EVERY, training_count};
    let count = 25;
    let images = IdxImages {
        count,
        pixels: (0..count).flat_map(|i| [i as u8; 784]).collect(),
    };
    let labels = (0..count).map(|i| (i % 10) as u8).collect();
    let (training, held) = Dataset::labelled(images, labels).unwrap().hold_out();
    assert_eq!(HELD_OUT_EVERY, 10);
    assert_eq!((training.len(), held.count), (23, 2));
    assert_eq!(training_count(count), 23);
    // The page counts what the worker trains on by the same rule: MNIST holds nothing out.
    let mine = mnist_gan_web::data::DataRef {
        name: "mine".into(),
        sha256: Some("ab".into()),
    };
    assert_eq!(mine.trained_count(count), 23);
    assert_eq!(
        mnist_gan_web::data::DataRef::mnist().trained_count(count),
        count
    );
    // Images 9 and 19 are held out; the others train, in order, with their labels.
    assert_eq!((held.image(0)[0], held.image(1)[0]), (9, 19));
    assert_eq!(training.image(9)[0], 10);
    assert_eq!(training.labels().unwrap()[9], 0);
    assert!(!training.labels().unwrap()[..9].contains(&9));
}
