//! The browser's own decoders, for the worker's imports: PNGs are taken apart by the core's
//! reader (`import::Png`) around a `DecompressionStream` (`www/inflate.js`), which costs a
//! tenth of a `createImageBitmap` decode per small image; other images (and PNGs that reader
//! leaves) go to `createImageBitmap` (off the page's thread, in the worker that imports), read
//! back from an `OffscreenCanvas` as they are stored — not premultiplied, no colour-space
//! conversion. A `DecompressionStream` also inflates zips' files and gzip files, read chunk by
//! chunk so a zip bomb stops at the limit.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Blob, BlobPropertyBag, ImageBitmap, OffscreenCanvas, OffscreenCanvasRenderingContext2d,
};

use super::dom::js_message;
use crate::import::{
    Decoders, Decoding, ImageFormat, InflateError, Packing, Png, Rgba, SkipReason, check_size,
};

/// The browser's decoders and decompressors.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserDecoders;

impl Decoders for BrowserDecoders {
    fn image(&self, format: ImageFormat, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>> {
        if format == ImageFormat::Png {
            match Png::parse(&bytes) {
                Ok(Some(png)) => return decode_png(png, bytes),
                Ok(None) => {} // left to the browser's decoder
                Err(reason) => return Box::pin(std::future::ready(Err(reason))),
            }
        }
        browser_decode(format, bytes)
    }

    fn inflate(
        &self,
        packing: Packing,
        bytes: Vec<u8>,
        limit: u64,
    ) -> Decoding<Result<Vec<u8>, InflateError>> {
        let format = match packing {
            Packing::Deflate => "deflate-raw",
            Packing::Gzip => "gzip",
        };
        let inflating = inflate(&bytes, format, limit);
        Box::pin(async move {
            inflating
                .await
                .map_err(|error| InflateError::Broken(js_message(&error)))?
                .ok_or(InflateError::TooLarge)
        })
    }
}

/// A PNG put together from its data, inflated by the browser (started now, so the caller can
/// start the next ones before it waits); a PNG whose data does not inflate to what its header
/// declares goes to the browser's decoder, which says what is wrong with it.
fn decode_png(png: Png, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>> {
    let inflating = inflate(&png.data, "deflate", png.inflated_len() as u64);
    Box::pin(async move {
        match inflating
            .await
            .ok()
            .flatten()
            .and_then(|data| png.rgba(&data))
        {
            Some(rgba) => Ok(rgba),
            None => browser_decode(ImageFormat::Png, bytes).await,
        }
    })
}

#[wasm_bindgen(module = "/www/inflate.js")]
extern "C" {
    /// `www/inflate.js`: the stream's whole conversation in one promise.
    #[wasm_bindgen(js_name = inflate)]
    fn inflate_js(bytes: &[u8], format: &str, limit: f64) -> Promise;
}

/// `bytes` inflated by the browser's `DecompressionStream` of `format` ("gzip", "deflate",
/// "deflate-raw"), or `None` once they would expand past `limit`. The stream starts now; the
/// future waits for it.
pub fn inflate(
    bytes: &[u8],
    format: &str,
    limit: u64,
) -> impl Future<Output = Result<Option<Vec<u8>>, JsValue>> + 'static {
    let inflating = JsFuture::from(inflate_js(bytes, format, limit as f64));
    async move {
        let inflated = inflating.await?;
        Ok((!inflated.is_null()).then(|| Uint8Array::new(&inflated).to_vec()))
    }
}

/// The media type a `Blob` of `format` carries.
fn media_type(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "image/png",
        ImageFormat::Jpeg => "image/jpeg",
        ImageFormat::WebP => "image/webp",
        ImageFormat::Gif => "image/gif",
    }
}

/// Decodes one image with this browser's decoders alone (a GIF's first frame; a PNG too, as
/// the tests compare). The decode starts now, on the browser's own threads, so the caller can
/// start the next ones before it waits.
pub fn browser_decode(format: ImageFormat, bytes: Vec<u8>) -> Decoding<Result<Rgba, SkipReason>> {
    let started = start_decode(format, &bytes);
    Box::pin(async move {
        let decoded = async {
            let bitmap: ImageBitmap = JsFuture::from(started?).await?.dyn_into()?;
            let pixels = read_pixels(&bitmap);
            bitmap.close();
            pixels
        };
        decoded.await.map_err(|error| match error {
            Failure::Skip(reason) => reason,
            Failure::Js(error) => SkipReason::Broken {
                format,
                error: js_message(&error),
            },
        })
    })
}

/// Why a decode stopped.
enum Failure {
    Skip(SkipReason),
    Js(JsValue),
}

impl From<JsValue> for Failure {
    fn from(error: JsValue) -> Self {
        Self::Js(error)
    }
}

/// `createImageBitmap`'s promise for `bytes`, once their header's size is checked.
fn start_decode(format: ImageFormat, bytes: &[u8]) -> Result<Promise, Failure> {
    // The size its header declares, checked before the browser decodes it whole.
    if let Some((width, height)) = format.dimensions(bytes) {
        check_size(width, height).map_err(Failure::Skip)?;
    }
    let parts = Array::of1(&Uint8Array::from(bytes));
    let kind = BlobPropertyBag::new();
    kind.set_type(media_type(format));
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &kind)?;
    // `createImageBitmap` is the window's and every worker's: called on this thread's global.
    let global = js_sys::global();
    let create: Function = Reflect::get(&global, &"createImageBitmap".into())?.dyn_into()?;
    let options = Object::new();
    Reflect::set(&options, &"premultiplyAlpha".into(), &"none".into())?;
    Reflect::set(&options, &"colorSpaceConversion".into(), &"none".into())?;
    // Turned as its EXIF orientation says (the default, and what `image` does natively).
    Reflect::set(&options, &"imageOrientation".into(), &"from-image".into())?;
    Ok(create.call2(&global, &blob, &options)?.dyn_into()?)
}

thread_local! {
    /// One canvas for every image this thread decodes, its 2D context made for reading back.
    static CANVAS: RefCell<Option<(OffscreenCanvas, OffscreenCanvasRenderingContext2d)>> =
        const { RefCell::new(None) };
}

/// This thread's canvas, made on first use.
fn canvas() -> Result<(OffscreenCanvas, OffscreenCanvasRenderingContext2d), JsValue> {
    if let Some(pair) = CANVAS.with(|canvas| canvas.borrow().clone()) {
        return Ok(pair);
    }
    let canvas = OffscreenCanvas::new(1, 1)?;
    let options = Object::new();
    Reflect::set(&options, &"willReadFrequently".into(), &true.into())?;
    let context: OffscreenCanvasRenderingContext2d = canvas
        .get_context_with_context_options("2d", &options)?
        .ok_or_else(|| JsValue::from_str("no 2D context on an OffscreenCanvas"))?
        .dyn_into()
        .map_err(JsValue::from)?;
    let pair = (canvas, context);
    CANVAS.with(|canvas| *canvas.borrow_mut() = Some(pair.clone()));
    Ok(pair)
}

/// The bitmap's pixels, row after row.
fn read_pixels(bitmap: &ImageBitmap) -> Result<Rgba, Failure> {
    let (width, height) = (bitmap.width(), bitmap.height());
    check_size(u64::from(width), u64::from(height)).map_err(Failure::Skip)?;
    let (canvas, context) = canvas()?;
    // Resizing clears it.
    canvas.set_width(width);
    canvas.set_height(height);
    context.draw_image_with_image_bitmap(bitmap, 0.0, 0.0)?;
    let data = context.get_image_data(0.0, 0.0, f64::from(width), f64::from(height))?;
    Ok(Rgba {
        width: width as usize,
        height: height as usize,
        pixels: data.data().0,
    })
}
