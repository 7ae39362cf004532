//! The one error type of the `viz` library: what went wrong, in one line.

/// Everything that can go wrong in a visualization.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model, its weights, or an input image (from the `vgg16` crate).
    #[error(transparent)]
    Model(#[from] vgg16::Error),
    /// A file that cannot be read or written.
    #[error(transparent)]
    File(#[from] tensor::io::FileError),
    /// A request that cannot be carried out (bad option, a run that diverged, ...).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// `Err(Error::Invalid(format!(...)))`.
macro_rules! invalid {
    ($($arg:tt)*) => {
        Err($crate::error::Error::Invalid(format!($($arg)*)))
    };
}
pub(crate) use invalid;
