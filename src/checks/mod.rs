//! Checks: validators that run before anything is created, and debuggers that
//! run on nodes by role afterwards, with results folded across nodes.

mod debuggers;
mod fold;
pub mod nodeset;
mod validators;

pub use debuggers::judge;
pub use fold::fold;
pub use validators::run_validators;
