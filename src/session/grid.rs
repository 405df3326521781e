//! The sample grid's layout: which noise row and which digit each cell draws.
//!
//! A model without labels draws 8 × 8 cells, each from its own noise row. A conditional model
//! draws a column per digit picked (in the order given) and a row per noise vector: across a
//! row the noise stays and the digit changes, down a column the digit stays.

use thiserror::Error;

use super::GRID_SIDE;
use crate::model::DIGITS;

/// Digits that cannot lay out a grid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("pick 1 to 10 different digits (got {0:?})")]
pub struct BadDigits(pub Vec<u8>);

/// Where each cell of the grid comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridLayout {
    /// The digits of the columns; empty for a model without labels.
    digits: Vec<u8>,
}

impl GridLayout {
    /// The layout for a model conditioned on `labels` labels (0: none, and `digits` is
    /// ignored) with columns of `digits`.
    pub fn new(labels: usize, digits: &[u8]) -> Result<Self, BadDigits> {
        if labels == 0 {
            return Ok(Self { digits: Vec::new() });
        }
        let mut seen = [false; DIGITS];
        let valid = !digits.is_empty()
            && digits.iter().all(|&d| {
                let fresh = usize::from(d) < DIGITS && !seen[usize::from(d)];
                if fresh {
                    seen[usize::from(d)] = true;
                }
                fresh
            });
        if !valid {
            return Err(BadDigits(digits.to_vec()));
        }
        Ok(Self {
            digits: digits.to_vec(),
        })
    }

    /// Columns: 8, or one per digit.
    pub fn columns(&self) -> usize {
        if self.digits.is_empty() {
            GRID_SIDE
        } else {
            self.digits.len()
        }
    }

    /// Rows: always 8.
    pub fn rows(&self) -> usize {
        GRID_SIDE
    }

    /// Cells, row after row.
    pub fn cells(&self) -> usize {
        self.rows() * self.columns()
    }

    /// The grid noise row and the digit (for a conditional model) of cell `index`.
    pub fn cell(&self, index: usize) -> (usize, Option<u8>) {
        if self.digits.is_empty() {
            (index, None)
        } else {
            let columns = self.columns();
            (index / columns, Some(self.digits[index % columns]))
        }
    }
}
