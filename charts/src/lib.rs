//! Server-side SVG charts (plotters, SVG backend): pure functions from data to an SVG string.

pub mod monitoring;
pub mod quality;
pub mod waterfall;

pub use waterfall::{waterfall, WaterfallItem};
