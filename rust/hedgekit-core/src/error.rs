//! The one error type of the core; every variant maps to one documented Python exception.

use std::fmt;

/// Why an order is not placeable on an instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderRejection {
    /// The price is zero or negative.
    NonPositivePrice,
    /// The size is zero or negative.
    NonPositiveSize,
    /// The price is not on the instrument's price grid (tick, significant figures or decimals).
    OffTick,
    /// The size is not a multiple of the step (lot) size.
    OffStep,
    /// The price has more decimals than the instrument allows.
    TooManyDecimals,
    /// The size is below the instrument's minimum quantity.
    BelowMinSize,
    /// Price × size is below the instrument's minimum notional.
    BelowMinNotional,
    /// The price or size does not fit the venue's integer wire format.
    OutOfRange,
}

impl OrderRejection {
    /// A stable snake-case name, used as `InvalidOrderError.reason` in Python.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NonPositivePrice => "non_positive_price",
            Self::NonPositiveSize => "non_positive_size",
            Self::OffTick => "off_tick",
            Self::OffStep => "off_step",
            Self::TooManyDecimals => "too_many_decimals",
            Self::BelowMinSize => "below_min_size",
            Self::BelowMinNotional => "below_min_notional",
            Self::OutOfRange => "out_of_range",
        }
    }
}

impl fmt::Display for OrderRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a book update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BookIntegrity {
    /// A diff's sequence range does not continue the previous one (`pu` ≠ last `u`).
    SequenceGap,
    /// A diff older than the book's state was offered where a newer one was required.
    Stale,
    /// The best bid is at or above the best ask.
    Crossed,
    /// The book has not been synchronised with a snapshot yet.
    NotSynced,
}

impl BookIntegrity {
    /// A stable snake-case name, used as `BookIntegrityError.kind` in Python.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SequenceGap => "sequence_gap",
            Self::Stale => "stale",
            Self::Crossed => "crossed",
            Self::NotSynced => "not_synced",
        }
    }
}

/// Every error the core can return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    /// A number could not be read (not a finite decimal, wrong syntax).
    #[error("invalid number {input:?}: {reason}")]
    InvalidNumber { input: String, reason: &'static str },
    /// A number has more precision than the fixed-point scale holds; it would have to be rounded.
    #[error("{input:?} cannot be represented exactly with {scale} decimals")]
    Inexact { input: String, scale: u32 },
    /// A number or a result is out of the representable range.
    #[error("value out of range: {0}")]
    Overflow(String),
    /// An order is not placeable; `detail` says by how much.
    #[error("order not placeable ({reason}): {detail}")]
    InvalidOrder {
        reason: OrderRejection,
        detail: String,
    },
    /// The order book's integrity is broken (gap, crossed, not synced).
    #[error("book integrity ({}): {detail}", kind.as_str())]
    BookIntegrity { kind: BookIntegrity, detail: String },
    /// A venue message could not be parsed; `position` is the byte offset of the problem.
    #[error("parse error at byte {position}: {message}")]
    Parse { position: usize, message: String },
    /// An argument is outside its documented domain.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result alias for the core.
pub type CoreResult<T> = Result<T, CoreError>;
