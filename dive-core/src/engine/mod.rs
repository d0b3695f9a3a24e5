//! The pipeline: open → resolve → walk layers in parallel → merge → facts.

mod analyzer;
mod builder;
mod facts;
mod hasher;
mod observe;
mod walk_plan;

pub use analyzer::{Analyzer, analyze};
pub use builder::AnalyzerBuilder;
pub use facts::{Attributed, Attributing};
pub use observe::{Control, Event, Observer};
