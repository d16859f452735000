//! Building blocks shared by the pages.

pub mod forms;
pub mod layout;

pub use forms::{record_view, CsrfField, ErrorBox, FormAlert, NotFoundCard};
pub use layout::{Protected, Shell};
