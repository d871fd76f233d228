//! [`KojiError`]: why a hub call failed (a fault, the transport, HTTP, a malformed or
//! unexpected answer), and which failures are worth retrying.

/// Why a hub call failed. Every variant names the hub and the method.
#[derive(Debug, thiserror::Error)]
pub enum KojiError {
    #[error("Koji hub {hub}: {method} failed: fault {code}: {message}")]
    Fault {
        hub: String,
        method: String,
        code: i64,
        message: String,
    },
    #[error("Koji hub {hub} is unreachable ({method}): {detail}")]
    Unreachable {
        hub: String,
        method: String,
        detail: String,
    },
    #[error("Koji hub {hub} timed out after {secs} s ({method})")]
    Timeout {
        hub: String,
        method: String,
        secs: u64,
    },
    #[error("Koji hub {hub} answered HTTP {status} to {method}")]
    Http {
        hub: String,
        method: String,
        status: u16,
    },
    #[error("Koji hub {hub} answered {method} with malformed XML-RPC: {detail}")]
    Malformed {
        hub: String,
        method: String,
        detail: String,
    },
    #[error("Koji hub {hub}: unexpected answer to {method}: {detail}")]
    Unexpected {
        hub: String,
        method: String,
        detail: String,
    },
}

impl KojiError {
    /// Transport problems are worth retrying; faults and protocol errors are not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            KojiError::Unreachable { .. } | KojiError::Timeout { .. }
        ) || matches!(self, KojiError::Http { status, .. } if *status >= 500)
    }
    /// The Koji fault code, if the hub answered with a fault.
    pub fn fault_code(&self) -> Option<i64> {
        match self {
            KojiError::Fault { code, .. } => Some(*code),
            _ => None,
        }
    }
}
