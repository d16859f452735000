//! Building blocks shared by the pages.

pub mod forms;
pub mod layout;

pub use forms::{CsrfField, ErrorBox, FormAlert, NotFoundCard};
pub use layout::{Protected, Shell};
