//! The only error shape that crosses IPC: `{ code, message }`. The UI switches on `code`.

use banklinks_core::ErrorCode;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<banklinks_core::Error> for IpcError {
    fn from(err: banklinks_core::Error) -> Self {
        Self {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl IpcError {
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::Internal,
            message: message.into(),
        }
    }

    /// Asked before the workspace finished opening.
    pub fn starting() -> Self {
        Self {
            code: ErrorCode::OutOfOrder,
            message: "Banklinks is still starting; try again in a moment.".into(),
        }
    }
}
