//! The panes' models, built once from the analysis so that drawing never sorts or sums:
//! [`panes::Views`] holds every pane's state (the selected layer, the file tree with its
//! modes and filters, packages, waste, largest files); [`build`] builds each pane's outline;
//! [`outline::Outline`] is the expandable, sortable list they all share; [`details`] the
//! lines of the details pane for the selected item.

pub mod build;
pub mod details;
pub mod outline;
pub mod panes;
