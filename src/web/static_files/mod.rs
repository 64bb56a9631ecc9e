//! static
