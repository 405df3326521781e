//! "Add data…": files the visitor brings are staged in a short-lived import worker, converted
//! there (again for each change of the options), previewed, and — on "Use this data" — stored
//! under their SHA-256 and put to use (`app::switch`). Nothing of it touches the run on screen or
//! the stored datasets until then, and a failure anywhere loses nothing.

use crate::app::effect::Effect;
use crate::app::import::{
    ImportPhase, ImportPreview, ImportState, SharedImport, name_of_import, preview_images,
};
use crate::app::library::clean_name;
use crate::app::{DatasetInfo, Model};
use crate::import::ConvertOptions;

impl Model {
    /// Files were chosen (`files` of them, `bytes` in all, under `name`): a new import
    /// worker gets them (→ [`Effect::ReadImport`]).
    pub(super) fn files_picked(
        &mut self,
        name: &str,
        files: Option<usize>,
        bytes: u64,
        effects: &mut Vec<Effect>,
    ) {
        if self.import.keeping {
            return;
        }
        if files == Some(0) {
            self.import.phase = Some(ImportPhase::Failed("No files were chosen.".into()));
            return;
        }
        if bytes > crate::import::MAX_SOURCE_BYTES {
            let message = crate::import::ImportError::TooLarge.to_string();
            self.import.phase = Some(ImportPhase::Failed(capitalize(&message)));
            return;
        }
        self.import = ImportState {
            phase: Some(ImportPhase::Reading {
                read: 0,
                total: files,
            }),
            name: name_of_import(name),
            wanted: self.import.wanted.take(),
            ..ImportState::default()
        };
        effects.push(Effect::ReadImport);
    }

    pub(super) fn import_progress(&mut self, read: usize, total: usize) {
        if matches!(self.import.phase, Some(ImportPhase::Reading { .. })) {
            self.import.phase = Some(ImportPhase::Reading {
                read,
                total: Some(total),
            });
        }
    }

    /// The files are in the import worker (or not): convert them.
    pub(super) fn files_staged(&mut self, result: Result<(), String>, effects: &mut Vec<Effect>) {
        if !matches!(self.import.phase, Some(ImportPhase::Reading { .. })) {
            return; // cancelled meanwhile
        }
        match result {
            Ok(()) => {
                self.import.staged = true;
                self.import.phase = Some(ImportPhase::Converting);
                effects.push(Effect::Import {
                    options: self.import.options,
                });
            }
            Err(e) => {
                self.import.phase = Some(ImportPhase::Failed(capitalize(&e)));
                effects.push(Effect::CloseImport);
            }
        }
    }

    /// New options: the staged files are converted again.
    pub(super) fn import_options(&mut self, options: ConvertOptions, effects: &mut Vec<Effect>) {
        self.import.options = options;
        let settled = matches!(
            self.import.phase,
            Some(ImportPhase::Preview(_) | ImportPhase::Failed(_))
        );
        if self.import.staged && settled && !self.import.keeping {
            self.import.phase = Some(ImportPhase::Converting);
            effects.push(Effect::Import { options });
        }
    }

    pub(super) fn imported(&mut self, result: Result<SharedImport, String>) {
        if self.import.phase != Some(ImportPhase::Converting) {
            return;
        }
        self.import.phase = Some(match result {
            Ok(data) => ImportPhase::Preview(Box::new(ImportPreview {
                images: preview_images(&data.0),
                data,
            })),
            Err(e) => ImportPhase::Failed(capitalize(&e)),
        });
    }

    /// "Use this data": the conversion is hashed and stored (→ [`Model::import_kept`]).
    pub(super) fn use_import(&mut self, effects: &mut Vec<Effect>) {
        let Some(ImportPhase::Preview(preview)) = &self.import.phase else {
            return;
        };
        if self.import.keeping {
            return;
        }
        let Some(name) = clean_name(&self.import.name) else {
            self.status.import = "The dataset needs a name.".into();
            return;
        };
        let needs_labels = self
            .settings
            .parsed()
            .as_ref()
            .is_ok_and(|config| config.model.labels() > 0);
        if needs_labels && preview.data.0.labels.is_none() {
            self.status.import = "These images have no labels, and the model in the settings draws the digit asked for: choose a model without labels first.".into();
            return;
        }
        self.status.import = "Storing…".into();
        self.import.keeping = true;
        effects.push(Effect::KeepImport {
            data: preview.data.clone(),
            name,
            expect: self.import.wanted.as_ref().map(|(_, data)| data.clone()),
        });
    }

    /// The conversion is stored (its listing), or why not: put it to use, or the run that
    /// waited for it.
    pub(super) fn import_kept(
        &mut self,
        result: Result<DatasetInfo, String>,
        effects: &mut Vec<Effect>,
    ) {
        self.import.keeping = false;
        match result {
            Ok(info) => {
                self.status.import = String::new();
                let to = info.data_ref();
                // Stored again under another name: the new listing replaces the old.
                self.datasets.stored.retain(|d| d.sha256 != info.sha256);
                self.datasets.stored.insert(0, info);
                self.datasets.version += 1;
                self.import.phase = None;
                self.import.staged = false;
                effects.push(Effect::CloseImport);
                if let Some((key, _)) = self.import.wanted.take() {
                    self.datasets.resume_after = Some(key);
                }
                self.use_data(to, effects);
            }
            Err(e) => self.status.import = format!("Not stored: {e}."),
        }
    }

    /// A drop that could not be read: said so, in place of any import not under way.
    pub(super) fn drop_failed(&mut self, message: &str, effects: &mut Vec<Effect>) {
        let busy = matches!(
            self.import.phase,
            Some(ImportPhase::Reading { .. } | ImportPhase::Converting)
        );
        if self.import.keeping || busy {
            self.status.import = capitalize(message);
            return;
        }
        if self.import.staged {
            self.import.staged = false;
            effects.push(Effect::CloseImport);
        }
        self.import.phase = Some(ImportPhase::Failed(capitalize(message)));
    }

    /// "Cancel": the preview and the import worker go; nothing was stored.
    pub(super) fn cancel_import(&mut self, effects: &mut Vec<Effect>) {
        if self.import.keeping || self.import.phase.is_none() {
            return;
        }
        self.import.phase = None;
        self.import.staged = false;
        self.import.wanted = None;
        self.status.import = String::new();
        effects.push(Effect::CloseImport);
    }
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
