//! The deployment-target catalog.
