//! JSON: the model itself, for programs.

use super::{RenderOptions, Renderer};
use crate::report::{Report, Shown};

pub struct Json;

impl Renderer for Json {
    fn render(&self, r: &Report, _opts: &RenderOptions) -> String {
        serde_json::to_string_pretty(r).expect("report serialises") + "\n"
    }

    fn view(&self, v: &Shown, _opts: &RenderOptions) -> String {
        v.json.clone()
    }
}
