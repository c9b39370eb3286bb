//! Whether an error stopped the run because the user interrupted it. Read by the
//! report (an interrupted stage), mirror (what an interrupted copy left) and the command
//! edge (exit 130); a leaf of `pipeline`.

/// Whether `e` stopped the run because the user interrupted it: the interrupt itself,
/// a request it cut short, or anything that failed after it.
pub fn interrupted(e: &anyhow::Error) -> bool {
    crate::cancel::requested()
        || e.chain().any(|c| {
            c.is::<crate::exit::Interrupted>()
                || matches!(
                    c.downcast_ref::<crate::registry::RegistryError>(),
                    Some(crate::registry::RegistryError::Interrupted { .. })
                )
        })
}
