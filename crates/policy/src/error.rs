use thiserror::Error;

/// The one error type of the policy crate. A broken pack fails at startup with one of these.
#[derive(Debug, Error)]
pub enum PolicyError {
    #[error("unknown action '{0}'; see probity_policy::Action::ALL for the actions of the system")]
    UnknownAction(String),
    #[error("policy pack {pack}: {message}; fix the pack file and restart")]
    Pack { pack: String, message: String },
    #[error("policy pack {pack}: Cedar policy text does not parse: {message}")]
    CedarParse { pack: String, message: String },
    #[error("Cedar schema does not parse: {0}")]
    Schema(String),
    #[error("policy packs do not validate against the Cedar schema: {0}")]
    Validation(String),
}

impl PolicyError {
    pub(crate) fn pack(pack: &str, message: impl Into<String>) -> Self {
        PolicyError::Pack {
            pack: pack.to_string(),
            message: message.into(),
        }
    }
}
