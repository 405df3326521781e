//! "Add data…": the file and folder pickers, dropping files and folders on the Data panel, and
//! the preview of a conversion (64 images, what was read and skipped, the options, the name,
//! "Use this data" and "Cancel").

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use web_sys::{
    Element, HtmlButtonElement, HtmlCanvasElement, HtmlElement, HtmlInputElement, HtmlSelectElement,
};

use super::{append, drop_zone, element, on};
use crate::app::import::PREVIEW_IMAGES;
use crate::app::{Event, ImportPhase, Model, SharedImport};
use crate::import::{ConvertOptions, Fit, Invert};
use crate::web::dispatch::Dispatch;
use crate::web::dom::{Listener, MissingElement, by_id, set_class, set_flag, set_text};
use crate::web::picked::{self, Picked};
use crate::web::render;

pub struct ImportPanel {
    files: HtmlInputElement,
    folder: HtmlInputElement,
    zone: HtmlElement,
    preview: HtmlElement,
    status: Element,
    grid: HtmlCanvasElement,
    skipped_details: HtmlElement,
    skipped: Element,
    fit: HtmlSelectElement,
    invert: HtmlSelectElement,
    transpose: HtmlInputElement,
    name: HtmlInputElement,
    use_it: HtmlButtonElement,
    cancel: HtmlButtonElement,
    message: Element,
    /// The conversion drawn last.
    drawn: RefCell<Option<SharedImport>>,
    listeners: Vec<Listener>,
}

/// The options the three controls show.
fn options_of(
    fit: &HtmlSelectElement,
    invert: &HtmlSelectElement,
    transpose: &HtmlInputElement,
) -> ConvertOptions {
    ConvertOptions {
        fit: if fit.value() == "Crop" {
            Fit::Crop
        } else {
            Fit::Pad
        },
        invert: match invert.value().as_str() {
            "Always" => Invert::Always,
            "Never" => Invert::Never,
            _ => Invert::Auto,
        },
        transpose: transpose.checked(),
    }
}

impl ImportPanel {
    pub fn find() -> Result<Self, MissingElement> {
        Ok(Self {
            files: by_id("add-files")?,
            folder: by_id("add-folder")?,
            zone: by_id("data-panel")?,
            preview: by_id("import-preview")?,
            status: by_id("import-status")?,
            grid: by_id("import-grid")?,
            skipped_details: by_id("import-skipped-details")?,
            skipped: by_id("import-skipped")?,
            fit: by_id("import-fit")?,
            invert: by_id("import-invert")?,
            transpose: by_id("import-transpose")?,
            name: by_id("import-name")?,
            use_it: by_id("import-use")?,
            cancel: by_id("import-cancel")?,
            message: by_id("import-message")?,
            drawn: RefCell::new(None),
            listeners: Vec::new(),
        })
    }

    pub fn listen(&mut self, dispatch: &Dispatch, picked: &Picked) {
        let from_input = |input: &HtmlInputElement| {
            let (input, picked) = (input.clone(), picked.clone());
            on(&input.clone(), "change", dispatch, move |_| {
                let files = input.files().map(|list| picked::from_list(&list))?;
                input.set_value("");
                Some(picked.put(files))
            })
        };
        let options = {
            let (fit, invert, transpose) = (
                self.fit.clone(),
                self.invert.clone(),
                self.transpose.clone(),
            );
            Rc::new(move || {
                Some(Event::ImportOptionsPicked(options_of(
                    &fit, &invert, &transpose,
                )))
            })
        };
        let (for_drop, picked_drop) = (dispatch.clone(), picked.clone());
        let (for_folder, picked_folder) = (dispatch.clone(), picked.clone());
        let name = self.name.clone();
        let (o1, o2, o3) = (options.clone(), options.clone(), options);
        self.listeners = vec![
            from_input(&self.files),
            from_input(&self.folder),
            // The browser's folder picker in place of the input's where there is one.
            on(&self.folder, "click", dispatch, move |event| {
                let asked = picked::pick_folder()?;
                event.prevent_default();
                let (dispatch, picked) = (for_folder.clone(), picked_folder.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    match picked::picked_folder(asked).await {
                        Ok(Some(handle)) => dispatch.send(picked.put_handles(vec![handle])),
                        Ok(None) => {} // cancelled
                        Err(e) => dispatch.send(Event::DropFailed(e)),
                    }
                });
                None
            }),
            on(&self.fit, "change", dispatch, move |_| o1()),
            on(&self.invert, "change", dispatch, move |_| o2()),
            on(&self.transpose, "change", dispatch, move |_| o3()),
            on(&self.name, "input", dispatch, move |_| {
                Some(Event::ImportNameEdited(name.value()))
            }),
            on(&self.use_it, "click", dispatch, |_| {
                Some(Event::UseImportClicked)
            }),
            on(&self.cancel, "click", dispatch, |_| {
                Some(Event::ImportCancelled)
            }),
        ];
        self.listeners
            .extend(drop_zone(&self.zone, dispatch, move |transfer| {
                // All asked for now (a drop's items are gone once this returns): handles
                // where the browser offers them (the import worker walks the folders),
                // else entries walked here, else the drop's files (a file dragged from
                // another page has neither).
                let asked = picked::drop_handles(&transfer);
                let entries = picked::drop_entries(&transfer);
                let list = transfer.files();
                if asked.is_none() && entries.is_none() {
                    return Some(picked_drop.put(picked::from_list(&list?)));
                }
                let (dispatch, picked) = (for_drop.clone(), picked_drop.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let handles = match asked {
                        Some(asked) => picked::handles(asked).await.ok(),
                        None => None,
                    };
                    let event = match (handles.filter(|h| !h.is_empty()), entries) {
                        (Some(handles), _) => picked.put_handles(handles),
                        (None, Some(entries)) => match picked::from_entries(entries).await {
                            Ok(files) => picked.put(files),
                            Err(e) => Event::DropFailed(e),
                        },
                        (None, None) => match list {
                            Some(list) => picked.put(picked::from_list(&list)),
                            None => Event::DropFailed("the drop held nothing to read".into()),
                        },
                    };
                    dispatch.send(event);
                });
                None
            }));
    }

    pub fn render(&self, model: &Model) {
        let import = &model.import;
        set_flag(&self.preview, "hidden", import.phase.is_none());
        set_text(&self.message, &model.status.import);
        let Some(phase) = &import.phase else {
            self.drawn.borrow_mut().take();
            return;
        };
        let (status, failed) = match phase {
            ImportPhase::Reading { read, total } => match total {
                Some(total) => (format!("Reading the files… {read} of {total}"), false),
                None => ("Reading the folder…".to_string(), false),
            },
            ImportPhase::Converting => ("Converting…".to_string(), false),
            ImportPhase::Preview(preview) => (preview.data.0.summary.clone(), false),
            ImportPhase::Failed(message) => (message.clone(), true),
        };
        set_text(&self.status, &status);
        set_class(&self.status, "error", failed);
        let preview = match phase {
            ImportPhase::Preview(preview) => Some(preview),
            _ => None,
        };
        set_flag(&self.grid, "hidden", preview.is_none());
        set_flag(
            &self.use_it,
            "disabled",
            preview.is_none() || import.keeping,
        );
        set_flag(&self.cancel, "disabled", import.keeping);
        let settled = preview.is_some() || matches!(phase, ImportPhase::Failed(_));
        for control in [
            self.fit.unchecked_ref::<HtmlElement>(),
            &self.invert,
            &self.transpose,
        ] {
            set_flag(
                control,
                "disabled",
                !(settled && import.staged) || import.keeping,
            );
        }
        if self.name.value() != import.name {
            self.name.set_value(&import.name);
        }
        let Some(preview) = preview else { return };
        if self.drawn.borrow().as_ref() == Some(&preview.data) {
            return;
        }
        let cells = preview.images.len() / crate::idx::IMAGE_PIXELS;
        let columns = (PREVIEW_IMAGES as f64).sqrt() as usize;
        let rows = cells.div_ceil(columns).max(1);
        let mut pixels: Vec<f32> = preview
            .images
            .iter()
            .map(|&v| f32::from(v) / 127.5 - 1.0)
            .collect();
        pixels.resize(rows * columns * crate::idx::IMAGE_PIXELS, -1.0);
        let _ = render::draw_images(&self.grid, &pixels, columns, rows);
        self.skipped.set_text_content(None);
        let data = &preview.data.0;
        for line in &data.skipped {
            let item = element("li", "").inspect(|item| item.set_text_content(Some(line)));
            let _ = append(&self.skipped, item);
        }
        set_flag(&self.skipped_details, "hidden", data.skipped.is_empty());
        *self.drawn.borrow_mut() = Some(preview.data.clone());
    }
}
