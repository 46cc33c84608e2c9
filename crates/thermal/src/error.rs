//! The one error type of this crate's boundary.

/// Everything that can go wrong while decoding, converting or rendering thermal data.
///
/// Messages are meant for the person holding the file: they say what is wrong and,
/// where there is something to do, what to do. None of them carries pixel values.
#[derive(Debug, thiserror::Error)]
pub enum ThermalError {
    /// The input holds no radiometric (temperature-calibrated) thermal data.
    #[error("not a radiometric image: {0}")]
    NotRadiometric(String),
    /// The frame decodes for viewing, but its calibration describes no
    /// radiometric measurement, so it has no temperatures.
    #[error("not radiometric: temperatures unavailable ({reason}); the frame can be viewed on a relative scale only")]
    TemperaturesUnavailable { reason: String },
    /// The data is recognisably thermal but cut short or damaged.
    #[error("truncated or corrupted thermal data: {0}; the file is damaged, use the original from the camera")]
    Corrupt(String),
    /// A calibration constant is zero, negative, not a number or infinite.
    #[error("implausible calibration constant {name} = {value}: {expected}; the file's camera record is damaged or the calibration given is wrong")]
    BadConstant {
        name: &'static str,
        value: f64,
        expected: &'static str,
    },
    /// The image dimensions exceed the configured limit.
    #[error("thermal image of {width}x{height} pixels exceeds the configured limit of {limit}; raise DecodeLimits if this camera really produces such frames")]
    TooLarge {
        width: u64,
        height: u64,
        limit: String,
    },
    /// A recognised container with content this crate does not decode.
    #[error("unsupported thermal format: {0}")]
    Unsupported(String),
    /// A plain 16-bit frame (PGM/TIFF) was given without a calibration.
    #[error("a plain 16-bit frame carries no calibration: give a linear scale and offset (e.g. 0.04 K/count and -273.15) or the camera's Planck constants")]
    CalibrationRequired,
    /// A caller-supplied argument is out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Encoding a rendered image failed.
    #[error("could not encode the rendered image: {0}")]
    Encode(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, ThermalError>;

pub(crate) fn corrupt(msg: impl Into<String>) -> ThermalError {
    ThermalError::Corrupt(msg.into())
}
