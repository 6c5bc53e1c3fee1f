//! The engagement score of metrics.md §5, computed exactly, and the decimals the tables print.
//!
//! Weights are parsed from decimal text into integers (units of 10⁻¹⁸), never through a binary
//! float, and a score is `round_half_up(100 × Σ w·beaten / ((N − 1) · Σ w))` in `i128`: binary
//! floating point would round some exact halves the wrong way.

use std::fmt;

/// A signed exact decimal: `units × 10^-scale`.
///
/// Its text drops trailing zeros (`30`, `33.75`, `0.5`), as the tables require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    /// The decimal `units × 10^-scale`.
    pub fn new(units: i128, scale: u32) -> Decimal {
        Decimal { units, scale }
    }

    /// `numerator / denominator` rounded half up (halves toward +∞) to `scale` digits after the
    /// point; `None` when the denominator is zero or the arithmetic would overflow.
    pub fn ratio_half_up(numerator: i128, denominator: i128, scale: u32) -> Option<Decimal> {
        if denominator == 0 {
            return None;
        }
        let (numerator, denominator) = if denominator < 0 {
            (numerator.checked_neg()?, -denominator)
        } else {
            (numerator, denominator)
        };
        let scaled = numerator.checked_mul(10i128.checked_pow(scale)?)?;
        // floor((2·n + d) / (2·d)) = floor(n/d + 1/2): half up, exactly.
        let doubled = scaled.checked_mul(2)?.checked_add(denominator)?;
        let divisor = denominator.checked_mul(2)?;
        // A 128-bit division is a library call; the shares and averages of a run (millions of
        // them) nearly always fit 64 bits, where it is one instruction. Same result either way.
        let units = match (i64::try_from(doubled), i64::try_from(divisor)) {
            (Ok(doubled), Ok(divisor)) => i128::from(doubled.div_euclid(divisor)),
            _ => doubled.div_euclid(divisor),
        };
        Some(Decimal { units, scale })
    }

    /// The value in units of `10^-scale` (as given to [`Decimal::new`]).
    pub fn units(&self) -> i128 {
        self.units
    }

    /// The number of digits after the point `units` is counted in.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Appends the value as [`fmt::Display`] prints it, without the formatting machinery:
    /// tables print millions of these.
    pub fn push_to(&self, out: &mut String) {
        let mut buffer = [0u8; 40];
        let mut start = buffer.len();
        let magnitude = self.units.unsigned_abs();
        // 128-bit division is a library call; nearly every value fits in 64 bits.
        match u64::try_from(magnitude) {
            Ok(mut small) => loop {
                start -= 1;
                if let Some(slot) = buffer.get_mut(start) {
                    *slot = b'0' + (small % 10) as u8;
                }
                small /= 10;
                if small == 0 || start == 0 {
                    break;
                }
            },
            Err(_) => {
                let mut large = magnitude;
                loop {
                    start -= 1;
                    if let Some(slot) = buffer.get_mut(start) {
                        *slot = b'0' + (large % 10) as u8;
                    }
                    large /= 10;
                    if large == 0 || start == 0 {
                        break;
                    }
                }
            }
        }
        let digits = std::str::from_utf8(buffer.get(start..).unwrap_or_default()).unwrap_or("0");
        let scale = self.scale as usize;
        let (integer, fraction) = if digits.len() > scale {
            digits.split_at(digits.len() - scale)
        } else {
            ("0", digits)
        };
        let fraction_padding = scale - fraction.len();
        if self.units < 0 {
            out.push('-');
        }
        out.push_str(integer);
        let fraction = fraction.trim_end_matches('0');
        if !fraction.is_empty() {
            out.push('.');
            for _ in 0..fraction_padding {
                out.push('0');
            }
            out.push_str(fraction);
        }
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(24);
        self.push_to(&mut text);
        formatter.write_str(&text)
    }
}

/// Digits after the point a weight is held in.
const WEIGHT_SCALE: u32 = 18;
/// At most this many digits before the point, so `100 × Σ w · N` stays far inside `i128`.
const WEIGHT_MAX_INTEGER_DIGITS: usize = 6;

/// The five feature weights of §5, exact decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Weights {
    /// Each weight in units of 10⁻¹⁸, in [`Weights::FEATURES`] order.
    units: [i128; 5],
}

/// The default weights of §5: 0.25, 0.25, 0.20, 0.20, 0.10.
impl Default for Weights {
    fn default() -> Weights {
        let unit = 10i128.pow(WEIGHT_SCALE - 2);
        Weights { units: [25 * unit, 25 * unit, 20 * unit, 20 * unit, 10 * unit] }
    }
}

impl Weights {
    /// The feature names, in the order of §5 and of the explanation table.
    pub const FEATURES: [&'static str; 5] =
        ["email_volume", "meeting_volume", "breadth", "recency", "initiative"];

    /// Sets the weight of `feature` from decimal text (`0.25`, `1`, `.5`, `-0.1`; no exponent).
    /// The error names the feature. A negative value is accepted here and refused by
    /// [`Weights::validate`], so both problems can be reported.
    pub fn set(&mut self, feature: &str, decimal_text: &str) -> Result<(), String> {
        let Some(index) = Weights::FEATURES.iter().position(|name| *name == feature) else {
            return Err(format!(
                "unknown weight \"{feature}\": expected one of {}",
                Weights::FEATURES.join(", ")
            ));
        };
        let units = parse_weight(decimal_text).ok_or_else(|| {
            format!(
                "weight {feature} = \"{decimal_text}\" is not a decimal number with at most \
                 {WEIGHT_MAX_INTEGER_DIGITS} digits before and {WEIGHT_SCALE} after the point"
            )
        })?;
        if let Some(slot) = self.units.get_mut(index) {
            *slot = units;
        }
        Ok(())
    }

    /// Refuses negative weights and weights that are all zero.
    pub fn validate(&self) -> Result<(), String> {
        for (name, units) in Weights::FEATURES.iter().zip(self.units) {
            if units < 0 {
                return Err(format!(
                    "weight {name} is negative ({})",
                    Decimal::new(units, WEIGHT_SCALE)
                ));
            }
        }
        if self.units.iter().all(|units| *units == 0) {
            return Err(
                "weights are all zero: at least one feature needs a positive weight".to_string()
            );
        }
        Ok(())
    }

    /// The weights whose units of 10⁻¹⁸ are `units` (as [`Weights::get`] gives them), as a
    /// stored enrichment's results keep them. Not validated: a reader shows them as they are.
    pub fn from_units(units: [i128; 5]) -> Weights {
        Weights { units }
    }

    /// The weight of the feature at `index` (in [`Weights::FEATURES`] order).
    pub fn get(&self, index: usize) -> Decimal {
        Decimal::new(self.units.get(index).copied().unwrap_or(0), WEIGHT_SCALE)
    }
}

/// Parses `[+-]digits[.digits]` (either side may be empty, not both) into units of 10⁻¹⁸.
fn parse_weight(text: &str) -> Option<i128> {
    let text = text.trim();
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (integer, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if (integer.is_empty() && fraction.is_empty()) || !all_digits(integer) || !all_digits(fraction)
    {
        return None;
    }
    let integer = integer.trim_start_matches('0');
    let fraction = fraction.trim_end_matches('0');
    if integer.len() > WEIGHT_MAX_INTEGER_DIGITS || fraction.len() > WEIGHT_SCALE as usize {
        return None;
    }
    let mut units: i128 = 0;
    for byte in integer.bytes().chain(fraction.bytes()) {
        units = units * 10 + i128::from(byte - b'0');
    }
    units *= 10i128.pow(WEIGHT_SCALE - fraction.len() as u32);
    Some(if negative { -units } else { units })
}

/// The score of one row of a (level, period) group and how it came about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scored {
    /// `EngagementScore`, 0–100.
    pub score: u8,
    /// Per feature, the number of other rows of the group with a strictly smaller value.
    pub beaten: [u64; 5],
    /// `N − 1`: the number of other rows in the group.
    pub compared: u64,
}

impl Scored {
    /// The share of the compared rows feature `index` beats, half-up to 4 decimals; 1 when the
    /// row is alone in its group (§5: `beats = 1` for `N = 1`).
    pub fn share_beaten(&self, index: usize) -> Decimal {
        let beaten = self.beaten.get(index).copied().unwrap_or(0);
        if self.compared == 0 {
            return Decimal::new(1, 0);
        }
        Decimal::ratio_half_up(i128::from(beaten), i128::from(self.compared), 4)
            .unwrap_or(Decimal::new(0, 0))
    }
}

/// Scores every row of one (level, period) group from its five feature values (in
/// [`Weights::FEATURES`] order). The result is in the order of `values`.
///
/// Negative weights count as zero and all-zero weights give 0 everywhere; callers validate first.
pub fn score_group(values: &[[i64; 5]], weights: &Weights) -> Vec<Scored> {
    let n_rows = values.len();
    let compared = n_rows.saturating_sub(1) as u64;
    // Per feature, the sorted values: the rows a value beats are those before its first copy.
    let mut sorted: Vec<i64> = Vec::with_capacity(n_rows);
    let mut beaten_per_feature: Vec<[u64; 5]> = vec![[0; 5]; n_rows];
    for feature in 0..5 {
        sorted.clear();
        sorted.extend(values.iter().map(|row| row[feature]));
        sorted.sort_unstable();
        for (row, beaten) in values.iter().zip(beaten_per_feature.iter_mut()) {
            beaten[feature] = sorted.partition_point(|value| *value < row[feature]) as u64;
        }
    }
    let weight_units = weights.units.map(|units| units.max(0));
    let weight_sum: i128 = weight_units.iter().sum();
    beaten_per_feature
        .into_iter()
        .map(|beaten| Scored {
            score: score_of(&beaten, compared, &weight_units, weight_sum),
            beaten,
            compared,
        })
        .collect()
}

/// `round_half_up(100 × Σ w·beaten / ((N − 1) · Σ w))`, with `beaten / (N − 1) = 1` when `N = 1`.
fn score_of(beaten: &[u64; 5], compared: u64, weight_units: &[i128; 5], weight_sum: i128) -> u8 {
    let (numerator, denominator) = if compared == 0 {
        (100 * weight_sum, weight_sum)
    } else {
        let weighted: i128 = weight_units
            .iter()
            .zip(beaten)
            .map(|(weight, beaten)| weight * i128::from(*beaten))
            .sum();
        (100 * weighted, i128::from(compared) * weight_sum)
    };
    let score = Decimal::ratio_half_up(numerator, denominator, 0).map_or(0, |score| score.units());
    score.clamp(0, 100) as u8
}

#[cfg(test)]
mod tests;
