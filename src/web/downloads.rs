//! Offering files to the user: bytes as a download, a canvas as a PNG.

use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, Url};

use super::dom::{by_id, document, js_message};

/// Offers `bytes` as a file download.
pub fn download_bytes(bytes: &[u8], name: &str, mime: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(|e| js_message(&e))?;
    let url = Url::create_object_url_with_blob(&blob).map_err(|e| js_message(&e))?;
    let result = click_link(&url, name);
    Url::revoke_object_url(&url).map_err(|e| js_message(&e))?;
    result
}

/// Offers canvas `#id` as a PNG called `name`.
pub fn download_canvas(id: &str, name: &str) -> Result<(), String> {
    by_id::<HtmlCanvasElement>(id)
        .map_err(|e| e.to_string())
        .and_then(|canvas| canvas.to_data_url().map_err(|e| js_message(&e)))
        .and_then(|url| click_link(&url, name))
}

fn click_link(href: &str, name: &str) -> Result<(), String> {
    let link: HtmlAnchorElement = document()
        .create_element("a")
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    link.set_href(href);
    link.set_download(name);
    link.click();
    Ok(())
}
