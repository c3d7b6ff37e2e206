//! JSON: the model itself, for programs.

use super::{RenderOptions, Renderer};
use crate::report::{Report, Shown};

pub struct Json;

impl Renderer for Json {
    fn render(&self, r: &Report, _opts: &RenderOptions) -> String {
        // each check also in the words the text formats print, for readers of the JSON
        let mut r = r.clone();
        for c in &mut r.checks {
            c.text = Some(super::phrase::check(c));
        }
        serde_json::to_string_pretty(&r).expect("report serialises") + "\n"
    }

    fn view(&self, v: &Shown, _opts: &RenderOptions) -> String {
        v.json.clone()
    }
}
