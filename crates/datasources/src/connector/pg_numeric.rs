//! PostgreSQL `numeric` from its binary wire format to exact decimal text, so no precision is
//! lost and no decimal crate is needed.
//!
//! The format: `ndigits`, `weight`, `sign`, `dscale` (each 16 bits, big-endian), then `ndigits`
//! base-10,000 digits; the first digit is worth 10,000^`weight`.

const NEGATIVE: u16 = 0x4000;
const NAN: u16 = 0xC000;
const POSITIVE_INFINITY: u16 = 0xD000;
const NEGATIVE_INFINITY: u16 = 0xF000;

/// The decimal text of a binary `numeric`, or `None` if the bytes are malformed.
pub(crate) fn to_string(bytes: &[u8]) -> Option<String> {
    let word = |i: usize| -> Option<u16> {
        Some(u16::from_be_bytes([
            *bytes.get(i * 2)?,
            *bytes.get(i * 2 + 1)?,
        ]))
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    match sign {
        NAN => return Some("NaN".into()),
        POSITIVE_INFINITY => return Some("Infinity".into()),
        NEGATIVE_INFINITY => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| word(4 + i)).collect::<Option<_>>()?;
    if digits.iter().any(|d| *d >= 10_000) {
        return None;
    }
    let mut integer = String::new();
    let mut fraction = String::new();
    // Digit i is worth 10,000^(weight - i).
    let integer_groups = weight + 1;
    for group in 0..integer_groups.max(0) {
        let digit = usize::try_from(group)
            .ok()
            .and_then(|g| digits.get(g))
            .copied()
            .unwrap_or(0);
        if integer.is_empty() {
            if digit != 0 {
                integer = digit.to_string();
            }
        } else {
            integer.push_str(&format!("{digit:04}"));
        }
    }
    if integer.is_empty() {
        integer.push('0');
    }
    let mut position = integer_groups;
    while fraction.len() < dscale {
        let digit = if position < 0 {
            0
        } else {
            usize::try_from(position)
                .ok()
                .and_then(|p| digits.get(p))
                .copied()
                .unwrap_or(0)
        };
        fraction.push_str(&format!("{digit:04}"));
        position += 1;
    }
    fraction.truncate(dscale);
    let mut text = String::new();
    if sign == NEGATIVE && (integer != "0" || fraction.bytes().any(|b| b != b'0')) {
        text.push('-');
    }
    text.push_str(&integer);
    if dscale > 0 {
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn encode(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for word in [ndigits, weight as u16, sign, dscale]
            .into_iter()
            .chain(digits.iter().copied())
        {
            bytes.extend_from_slice(&word.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn decodes_integers_fractions_signs_and_specials() {
        // 12345678.9012 = [1234, 5678, 9012], weight 1, dscale 4
        assert_eq!(
            to_string(&encode(3, 1, 0, 4, &[1234, 5678, 9012])).unwrap(),
            "12345678.9012"
        );
        // 0.0005 = [5], weight -1, dscale 4
        assert_eq!(to_string(&encode(1, -1, 0, 4, &[5])).unwrap(), "0.0005");
        // -100000000 = [1, 0000, 0000]? stored as [1], weight 2
        assert_eq!(
            to_string(&encode(1, 2, NEGATIVE, 0, &[1])).unwrap(),
            "-100000000"
        );
        // 1.50 = [1, 5000], weight 0, dscale 2
        assert_eq!(to_string(&encode(2, 0, 0, 2, &[1, 5000])).unwrap(), "1.50");
        assert_eq!(to_string(&encode(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(to_string(&encode(0, 0, NAN, 0, &[])).unwrap(), "NaN");
        assert!(to_string(&[0, 1]).is_none());
    }
}
