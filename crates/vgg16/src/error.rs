//! The one error type of this crate: every message names what is wrong and, where it can, what
//! was expected, in one line.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file that cannot be read or written.
    #[error(transparent)]
    File(#[from] tensor::io::FileError),
    /// A weights file that cannot be used as it is.
    #[error("{path}: {message}")]
    Weights { path: String, message: String },
    /// An image that cannot be read.
    #[error("{path}: {message}")]
    Image { path: String, message: String },
    /// A request that does not fit the model (unknown layer, input too small, ...).
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn weights(path: impl std::fmt::Display, message: impl Into<String>) -> Error {
        Error::Weights {
            path: path.to_string(),
            message: message.into(),
        }
    }
}
