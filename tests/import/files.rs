//! Folders and zips of image files (`mnist_gan_web::import::{import_files, FileImport}`), decoded
//! natively by `import::native`: colours to grey, labels from sub-folders, skipped files, and
//! every refusal.

use std::io::Write;
use std::path::PathBuf;

use image::{ImageEncoder, codecs};
use mnist_gan_web::import::native::{NativeDecoders, decode, import_path};
use mnist_gan_web::import::{
    Archive, ConvertOptions, FileImport, ImageFormat, ImportError, Imported, MAX_SOURCE_BYTES,
    Method, Rgba, SkipReason, SourceFile, grey_from_rgba, import_files_now,
};
use zip::write::SimpleFileOptions;

/// A `side × side` grey PNG of one level with a bright pixel in the middle.
fn png(side: u32, level: u8) -> Vec<u8> {
    let mut pixels = vec![level; (side * side) as usize];
    pixels[(side / 2 * side + side / 2) as usize] = 255 - level;
    let mut bytes = Vec::new();
    codecs::png::PngEncoder::new(&mut bytes)
        .write_image(&pixels, side, side, image::ExtendedColorType::L8)
        .unwrap();
    bytes
}

/// A zip of `(path, bytes)` files, deflated.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in files {
        zip.start_file(*path, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A zip's images, decoded natively, converted by default.
fn import_zip(bytes: &[u8]) -> Result<Imported, ImportError> {
    let zip = SourceFile {
        path: "set.zip".into(),
        bytes: bytes.to_vec(),
    };
    import_files_now(vec![zip], ConvertOptions::default(), &NativeDecoders)
}

/// A fresh folder under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("import-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn colours_become_grey_on_white_paper() {
    assert_eq!(grey_from_rgba([0, 0, 0, 255]), 0);
    assert_eq!(grey_from_rgba([255, 255, 255, 255]), 255);
    // Transparent is paper: white, whatever its colour.
    assert_eq!(grey_from_rgba([0, 0, 0, 0]), 255);
    // Rec. 601 luma: 0.299 × 200 + 0.587 × 100 + 0.114 × 50 = 124.2.
    assert_eq!(grey_from_rgba([200, 100, 50, 255]), 124);
    // Half-transparent black over white: 255 × (1 − 128/255) = 127.
    assert_eq!(grey_from_rgba([0, 0, 0, 128]), 127);
}

#[test]
fn sub_folders_name_the_labels_in_number_order() {
    let mut import = FileImport::new(ConvertOptions::default());
    let black = Rgba {
        width: 2,
        height: 2,
        pixels: [0, 0, 0, 255].repeat(4),
    };
    // One folder every file lies under is set aside: the labels are the folders below it.
    for path in [
        "digits/10/a.png",
        "digits/2/b.png",
        "digits/2/c.png",
        "digits/x/d.png",
    ] {
        import.add(path, &black).unwrap();
    }
    let imported = import.finish().unwrap();
    assert_eq!(imported.classes, ["2", "10", "x"]);
    assert_eq!(imported.dataset.labels(), Some(&[1, 0, 0, 2][..]));
    assert_eq!(imported.summary(), "4 images (2 × 2), 3 labels");

    // A file beside the sub-folders: labels are left out, and the summary says why.
    let mut import = FileImport::new(ConvertOptions::default());
    for path in ["0/a.png", "1/b.png", "c.png"] {
        import.add(path, &black).unwrap();
    }
    let imported = import.finish().unwrap();
    assert_eq!(imported.dataset.labels(), None);
    assert_eq!(
        imported.summary(),
        "3 images (2 × 2), 2 labels, 1 image lies outside the sub-folders: imported without labels"
    );

    // Eleven classes are more than a conditional model takes.
    let mut import = FileImport::new(ConvertOptions::default());
    for class in 0..11 {
        import.add(&format!("{class}/a.png"), &black).unwrap();
    }
    let imported = import.finish().unwrap();
    assert_eq!(imported.dataset.labels(), None);
    assert!(imported.summary().ends_with(
        "11 labels, more than the 10 a conditional model takes: imported without labels"
    ));

    // Files at the root only: no labels.
    let mut import = FileImport::new(ConvertOptions::default());
    import.add("a.png", &black).unwrap();
    assert_eq!(
        import.finish().unwrap().summary(),
        "1 image (2 × 2), no labels"
    );
}

#[test]
fn a_folder_is_read_decoded_labelled_and_described() {
    let dir = scratch("folder");
    for (class, level) in [("0", 250), ("1", 240)] {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        std::fs::write(dir.join(class).join("a.png"), png(56, level)).unwrap();
    }
    std::fs::write(dir.join("1").join("b.png"), png(28, 245)).unwrap();
    std::fs::write(dir.join("1").join("notes.txt"), "not an image").unwrap();
    std::fs::write(dir.join("1").join("half.png"), &png(28, 0)[..40]).unwrap();
    std::fs::write(dir.join(".DS_Store"), "ignored without a word").unwrap();
    let imported = import_path(&dir, ConvertOptions::default()).unwrap();
    let summary = imported.summary();
    assert!(
        summary.starts_with(
            "3 images (28 × 28 to 56 × 56, inverted), 2 labels, 2 files skipped: 1/half.png: a broken PNG: "
        ),
        "{summary}"
    );
    assert!(
        summary.ends_with("; 1/notes.txt: not a PNG, JPEG, WebP or GIF image"),
        "{summary}"
    );
    assert_eq!(imported.dataset.labels(), Some(&[0, 1, 1][..]));
    // Light paper inverted: the background dark, the bright dot now the darkest pixel.
    let first = imported.dataset.image(0);
    assert_eq!(first[0], 5);
    assert!(first[14 * 28 + 14] < 200);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_zip_of_images_is_read_like_a_folder() {
    let files: [(&str, &[u8]); 4] = [
        ("set/a/one.png", &png(28, 0)),
        ("set/b/two.png", &png(28, 0)),
        ("__MACOSX/set/a/._one.png", b"resource fork"),
        ("set/b/readme.md", b"# hi"),
    ];
    let imported = import_zip(&zip_of(&files)).unwrap();
    assert_eq!(
        imported.summary(),
        "2 images (28 × 28), 2 labels, 1 file skipped: set/b/readme.md: not a PNG, JPEG, WebP or GIF image"
    );
    assert_eq!(imported.classes, ["a", "b"]);
    assert_eq!(imported.dataset.image(1)[14 * 28 + 14], 255);
}

#[test]
fn jpeg_webp_and_gif_decode_natively() {
    let pixels = vec![100u8; 16 * 16 * 3];
    let mut jpeg = Vec::new();
    codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .write_image(&pixels, 16, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    let mut gif = Vec::new();
    codecs::gif::GifEncoder::new(&mut gif)
        .encode(
            &[100u8; 16 * 16 * 4],
            16,
            16,
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    let mut webp = Vec::new();
    codecs::webp::WebPEncoder::new_lossless(&mut webp)
        .write_image(&pixels, 16, 16, image::ExtendedColorType::Rgb8)
        .unwrap();
    for (bytes, format) in [
        (jpeg, ImageFormat::Jpeg),
        (gif, ImageFormat::Gif),
        (webp, ImageFormat::WebP),
    ] {
        assert_eq!(ImageFormat::sniff(&bytes), Some(format));
        let image = decode(format, &bytes).unwrap();
        assert_eq!((image.width, image.height), (16, 16));
        let grey = grey_from_rgba([image.pixels[0], image.pixels[1], image.pixels[2], 255]);
        assert!(grey.abs_diff(100) <= 2, "{format:?}: {grey}");
    }
}

#[test]
fn an_image_too_large_is_skipped_before_it_is_decoded() {
    // 6,000 × 6,000 pixels: 36 million, over the 2^25 an image may have.
    let mut big = Vec::new();
    codecs::png::PngEncoder::new(&mut big)
        .write_image(
            &vec![0u8; 6000 * 6000],
            6000,
            6000,
            image::ExtendedColorType::L8,
        )
        .unwrap();
    assert_eq!(
        decode(ImageFormat::Png, &big).unwrap_err(),
        SkipReason::TooLarge {
            width: 6000,
            height: 6000
        }
    );
    let zip = zip_of(&[("big.png", &big), ("ok.png", &png(28, 0))]);
    let imported = import_zip(&zip).unwrap();
    assert_eq!(
        imported.summary(),
        "1 image (28 × 28), no labels, 1 file skipped: big.png: 6000 × 6000 pixels, more than the 33554432 an image may have"
    );
}

#[test]
fn broken_zips_and_zip_bombs_are_refused() {
    let good = zip_of(&[("a.png", &png(28, 0))]);
    assert!(matches!(
        import_zip(&good[..good.len() - 10]),
        Err(ImportError::Zip(_))
    ));
    // Bytes that are no zip at all are one file that is not an image.
    assert_eq!(
        import_zip(b"not a zip").unwrap_err().to_string(),
        "no images found: 1 file skipped: set.zip: not a PNG, JPEG, WebP or GIF image"
    );
    // A damaged file inside a readable zip is skipped with its reason, and so is one stored
    // with a compression this app does not read.
    let mut damaged = zip_of(&[("a.png", &png(28, 0)), ("b.png", &png(28, 9))]);
    let at = damaged.windows(5).position(|w| w == b"a.png").unwrap() + 5 + 10;
    damaged[at] ^= 0xff;
    let summary = import_zip(&damaged).unwrap().summary();
    assert!(
        summary.starts_with(
            "1 image (28 × 28), no labels, 1 file skipped: a.png: unreadable: damaged: "
        ),
        "{summary}"
    );
    let mut bzip2 = zip_of(&[("a.png", &png(28, 0)), ("b.png", &png(28, 9))]);
    let central = bzip2.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bzip2[central + 10] = 12;
    assert_eq!(
        import_zip(&bzip2).unwrap().skipped[0].to_string(),
        "a.png: unreadable: compressed with method 12, not stored or deflated"
    );
    assert_eq!(
        Archive::open(&bzip2).unwrap().members[0].method,
        Method::Other(12)
    );
    // 401 MB of zeros deflate to a few hundred kilobytes: refused from the size the zip
    // declares, and when it lies about it, once the file expands past 400 MB.
    let mut bomb = zip_of(&[(
        "zeros.png",
        &vec![0u8; MAX_SOURCE_BYTES as usize + 1_000_000],
    )]);
    assert!(bomb.len() < 2_000_000);
    assert_eq!(import_zip(&bomb).unwrap_err(), ImportError::Expanded);
    let central = bomb.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bomb[central + 24..central + 28].copy_from_slice(&1000u32.to_le_bytes());
    assert_eq!(import_zip(&bomb).unwrap_err(), ImportError::Expanded);
    // Nothing in it an image: refused, saying what was there.
    assert_eq!(
        import_zip(&zip_of(&[("a.txt", b"text")]))
            .unwrap_err()
            .to_string(),
        "no images found: 1 file skipped: a.txt: not a PNG, JPEG, WebP or GIF image"
    );
}

#[test]
fn idx_files_gzipped_or_not_and_unknown_files() {
    let dir = scratch("idx");
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend([0, 0, 0, 0, 255, 255, 255, 255]);
    let labels = [0, 0, 8, 1, 0, 0, 0, 2, 3, 4];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&images).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&labels).unwrap();
        gz.finish().unwrap()
    })
    .unwrap();
    let imported = import_path(
        &dir.join("t10k-images-idx3-ubyte.gz"),
        ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(imported.summary(), "2 images (2 × 2), 2 labels");
    assert_eq!(imported.classes, ["3", "4"]);
    std::fs::write(dir.join("photo.heic"), b"ftypheic").unwrap();
    assert_eq!(
        import_path(&dir.join("photo.heic"), ConvertOptions::default())
            .unwrap_err()
            .to_string(),
        format!(
            "{}: not an IDX file, a zip or a folder of images",
            dir.join("photo.heic").display()
        )
    );
    std::fs::write(dir.join("broken.gz"), [0x1f, 0x8b, 8, 0, 1, 2]).unwrap();
    assert!(matches!(
        import_path(&dir.join("broken.gz"), ConvertOptions::default()),
        Err(ImportError::Gzip { .. })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn files_picked_together_sort_themselves_out() {
    let file = |path: &str, bytes: Vec<u8>| SourceFile {
        path: path.into(),
        bytes,
    };
    // An IDX pair picked with a stray file, the images gzipped: the pair is the dataset, the
    // stray file is named.
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7, 9];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&images).unwrap();
    let files = vec![
        file("labels", vec![0, 0, 8, 1, 0, 0, 0, 2, 5, 5]),
        file("notes.txt", b"hello".to_vec()),
        file("images.gz", gz.finish().unwrap()),
    ];
    let imported = import_files_now(files, ConvertOptions::default(), &NativeDecoders).unwrap();
    assert_eq!(
        imported.summary(),
        "2 images (1 × 1), 1 label, 1 file skipped: notes.txt: not part of the IDX pair (one images file, one labels file)"
    );
    // Images and a zip of more, together.
    let zip = zip_of(&[("b.png", &png(28, 0))]);
    let files = vec![file("a.png", png(14, 0)), file("more.zip", zip)];
    let imported = import_files_now(files, ConvertOptions::default(), &NativeDecoders).unwrap();
    assert_eq!(
        imported.summary(),
        "2 images (14 × 14 to 28 × 28), no labels"
    );
    // However they came, the files are taken in the order of their paths (string order, '-'
    // before '/', as in the page): the same dataset and SHA-256 natively and in the browser.
    let files = vec![
        file("a/b.png", png(28, 200)),
        file("a-b/c.png", png(28, 100)),
        file("a/a.png", png(28, 0)),
    ];
    let as_they_are = ConvertOptions {
        invert: mnist_gan_web::import::Invert::Never,
        ..ConvertOptions::default()
    };
    let imported = import_files_now(files, as_they_are, &NativeDecoders).unwrap();
    assert_eq!(imported.classes, ["a", "a-b"]);
    let firsts: Vec<u8> = (0..3).map(|i| imported.dataset.image(i)[0]).collect();
    assert_eq!(firsts, [100, 0, 200]);
    assert_eq!(imported.dataset.labels(), Some(&[1, 0, 0][..]));
    // More than 400 MB brought: refused before anything is read.
    images.resize(MAX_SOURCE_BYTES as usize + 1, 0);
    assert_eq!(
        import_files_now(
            vec![file("big", images)],
            ConvertOptions::default(),
            &NativeDecoders
        )
        .unwrap_err(),
        ImportError::TooLarge
    );
}

/// A zip whose one deflated file (4 MB of zeros) is listed `copies` times in its directory, each
/// copy declaring 0 bytes and a wrong checksum: each inflates to 4 MB and fails its check.
fn shared_bomb(copies: u16) -> Vec<u8> {
    let zip = zip_of(&[("zeros.png", &vec![0u8; 4_000_000])]);
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let end = zip.windows(4).position(|w| w == b"PK\x05\x06").unwrap();
    let mut record = zip[central..end].to_vec();
    record[16] ^= 0xff;
    record[24..28].copy_from_slice(&0u32.to_le_bytes());
    let mut out = zip[..central].to_vec();
    for _ in 0..copies {
        out.extend(&record);
    }
    let mut tail = zip[end..].to_vec();
    tail[8..10].copy_from_slice(&copies.to_le_bytes());
    tail[10..12].copy_from_slice(&copies.to_le_bytes());
    let size = record.len() as u32 * u32::from(copies);
    tail[12..16].copy_from_slice(&size.to_le_bytes());
    out.extend(tail);
    out
}

#[test]
fn files_that_share_their_bytes_or_fail_their_checksum_count_against_the_limit() {
    // 50 copies: 200 MB inflated, every one damaged.
    let refused = import_zip(&shared_bomb(50)).unwrap_err();
    let ImportError::NoImages(skipped) = refused else {
        panic!("{refused}")
    };
    assert_eq!(skipped.len(), 50);
    assert_eq!(
        skipped[0].to_string(),
        "zeros.png: unreadable: damaged: its contents do not match their checksum"
    );
    // 120 copies: 480 MB, although each declares nothing and none checks out.
    assert_eq!(
        import_zip(&shared_bomb(120)).unwrap_err(),
        ImportError::Expanded
    );
}

#[test]
fn a_zip_of_one_folder_names_no_classes_and_headers_give_sizes() {
    let zip = zip_of(&[("digits/a.png", &png(28, 0)), ("digits/b.png", &png(28, 0))]);
    let imported = import_zip(&zip).unwrap();
    assert_eq!(imported.summary(), "2 images (28 × 28), no labels");
    assert!(imported.classes.is_empty());
    // Every format's header gives its size before anything decodes it.
    let (width, height) = (30u32, 20u32);
    let rgb = vec![90u8; (width * height * 3) as usize];
    let mut encoded = Vec::new();
    let mut out = Vec::new();
    codecs::png::PngEncoder::new(&mut out)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    encoded.push(std::mem::take(&mut out));
    codecs::jpeg::JpegEncoder::new(&mut out)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    encoded.push(std::mem::take(&mut out));
    codecs::webp::WebPEncoder::new_lossless(&mut out)
        .write_image(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    encoded.push(std::mem::take(&mut out));
    codecs::gif::GifEncoder::new(&mut out)
        .encode(
            &vec![90u8; (width * height * 4) as usize],
            width,
            height,
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    encoded.push(out);
    for bytes in encoded {
        let format = ImageFormat::sniff(&bytes).unwrap();
        assert_eq!(format.dimensions(&bytes), Some((30, 20)), "{format:?}");
        assert_eq!(format.dimensions(&bytes[..6]), None, "{format:?} truncated");
    }
}

/// Decoders that count the decodes started and not yet recorded, decoding natively.
#[derive(Default)]
struct Counting {
    alive: std::rc::Rc<std::cell::Cell<usize>>,
    most: std::rc::Rc<std::cell::Cell<usize>>,
}

/// Leaves the count when the decode it stands for is recorded (dropped).
struct Alive(std::rc::Rc<std::cell::Cell<usize>>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl mnist_gan_web::import::Decoders for Counting {
    fn image(
        &self,
        format: ImageFormat,
        bytes: Vec<u8>,
    ) -> mnist_gan_web::import::Decoding<Result<Rgba, SkipReason>> {
        self.alive.set(self.alive.get() + 1);
        self.most.set(self.most.get().max(self.alive.get()));
        let alive = Alive(self.alive.clone());
        Box::pin(async move {
            let _alive = alive;
            NativeDecoders.image(format, bytes).await
        })
    }

    fn inflate(
        &self,
        packing: mnist_gan_web::import::Packing,
        bytes: Vec<u8>,
        limit: u64,
    ) -> mnist_gan_web::import::Decoding<Result<Vec<u8>, mnist_gan_web::import::InflateError>> {
        NativeDecoders.inflate(packing, bytes, limit)
    }
}

#[test]
fn at_most_32_images_decode_at_once_and_they_are_recorded_in_order() {
    let mut files: Vec<SourceFile> = (0..100u8)
        .map(|i| SourceFile {
            path: format!("{i:03}.png"),
            bytes: png(28, i),
        })
        .collect();
    files.insert(
        50,
        SourceFile {
            path: "050-notes.txt".into(),
            bytes: b"notes".to_vec(),
        },
    );
    let counting = Counting::default();
    let options = ConvertOptions {
        invert: mnist_gan_web::import::Invert::Never,
        ..ConvertOptions::default()
    };
    let imported = import_files_now(files, options, &counting).unwrap();
    assert_eq!(counting.most.get(), 32);
    assert_eq!(counting.alive.get(), 0);
    // In the order they came: image i is level i (its corner pixel), the text file skipped.
    let corners: Vec<u8> = (0..100).map(|i| imported.dataset.image(i)[0]).collect();
    assert_eq!(corners, (0..100u8).collect::<Vec<_>>());
    assert_eq!(imported.skipped.len(), 1);
}
