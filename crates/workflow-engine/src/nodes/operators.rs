//! Comparison operators of `condition` and `switch` nodes. Values are compared the way users of
//! a form-built condition expect: numbers and numeric strings as numbers, `"true"`/`"false"` as
//! booleans, everything else as text. `matches_regex` uses the `regex` crate, whose matching
//! time is linear in the input, so a hostile pattern cannot stall a worker (no ReDoS).

use serde_json::Value;

use crate::node::NodeError;

/// Every operator name.
pub const OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "greater_than",
    "less_than",
    "greater_or_equal",
    "less_or_equal",
    "is_empty",
    "is_not_empty",
    "matches_regex",
    "expression",
];

/// The largest compiled regex accepted, in bytes.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Evaluates `left operator right` (every operator but `expression`, which needs a script
/// runner and is evaluated by the caller).
pub fn compare(operator: &str, left: &Value, right: &Value) -> Result<bool, NodeError> {
    Ok(match operator {
        "equals" => loosely_equal(left, right),
        "not_equals" => !loosely_equal(left, right),
        "contains" => contains(left, right),
        "not_contains" => !contains(left, right),
        "starts_with" => text(left).starts_with(&text(right)),
        "ends_with" => text(left).ends_with(&text(right)),
        "greater_than" => order(left, right).is_some_and(|o| o.is_gt()),
        "less_than" => order(left, right).is_some_and(|o| o.is_lt()),
        "greater_or_equal" => order(left, right).is_some_and(|o| o.is_ge()),
        "less_or_equal" => order(left, right).is_some_and(|o| o.is_le()),
        "is_empty" => is_empty(left),
        "is_not_empty" => !is_empty(left),
        "matches_regex" => regex_matches(&text(right), &text(left))?,
        other => return Err(NodeError::fatal(format!("unknown operator `{other}`"))),
    })
}

/// The value as text: strings as-is, null as empty, others as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

fn loosely_equal(left: &Value, right: &Value) -> bool {
    if left == right {
        return true;
    }
    match (left, right) {
        (Value::Number(_), _) | (_, Value::Number(_)) => {
            matches!((number(left), number(right)), (Some(a), Some(b)) if a == b)
        }
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => s
            .trim()
            .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        _ => false,
    }
}

fn contains(left: &Value, right: &Value) -> bool {
    match left {
        Value::Array(items) => items.iter().any(|item| loosely_equal(item, right)),
        Value::Object(map) => map.contains_key(&text(right)),
        Value::Null => false,
        other => text(other).contains(&text(right)),
    }
}

fn order(left: &Value, right: &Value) -> Option<std::cmp::Ordering> {
    match (number(left), number(right)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => match (left, right) {
            (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
            _ => None,
        },
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// Matches `subject` against `pattern`, written plain or as `/pattern/flags` (flags `i`, `m`,
/// `s`, `x`).
pub fn regex_matches(pattern: &str, subject: &str) -> Result<bool, NodeError> {
    let (body, flags) = match pattern.strip_prefix('/').and_then(|p| p.rsplit_once('/')) {
        Some((body, flags)) if flags.chars().all(|c| "gimsuxy".contains(c)) => (body, flags),
        _ => (pattern, ""),
    };
    let regex = regex::RegexBuilder::new(body)
        .case_insensitive(flags.contains('i'))
        .multi_line(flags.contains('m'))
        .dot_matches_new_line(flags.contains('s'))
        .ignore_whitespace(flags.contains('x'))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| NodeError::fatal(format!("invalid regular expression: {e}")))?;
    Ok(regex.is_match(subject))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_operator_behaves_as_a_form_user_expects() {
        let cases = [
            ("equals", json!(5), json!("5"), true),
            ("equals", json!("a"), json!("a"), true),
            ("equals", json!(true), json!("true"), true),
            ("not_equals", json!(1), json!(2), true),
            ("contains", json!("hello"), json!("ell"), true),
            ("contains", json!([1, 2]), json!("2"), true),
            ("contains", json!({"k": 1}), json!("k"), true),
            ("not_contains", json!("hello"), json!("z"), true),
            ("starts_with", json!("hello"), json!("he"), true),
            ("ends_with", json!("hello"), json!("lo"), true),
            ("greater_than", json!("10"), json!(9), true),
            ("less_than", json!(1.5), json!(2), true),
            ("greater_or_equal", json!(2), json!(2), true),
            (
                "less_or_equal",
                json!("2026-01-01"),
                json!("2026-02-01"),
                true,
            ),
            ("greater_than", json!({}), json!(1), false),
            ("is_empty", json!(""), json!(null), true),
            ("is_empty", json!([]), json!(null), true),
            ("is_not_empty", json!([0]), json!(null), true),
            (
                "matches_regex",
                json!("ABC-123"),
                json!("/^abc-\\d+$/i"),
                true,
            ),
            ("matches_regex", json!("abc"), json!("^\\d+$"), false),
        ];
        for (op, left, right, expected) in cases {
            assert_eq!(
                compare(op, &left, &right).unwrap(),
                expected,
                "{left} {op} {right}"
            );
        }
    }

    #[test]
    fn a_catastrophic_pattern_is_linear_here() {
        let subject = format!("{}!", "a".repeat(50_000));
        assert!(!regex_matches("^(a+)+$", &subject).unwrap());
    }

    #[test]
    fn a_bad_pattern_is_a_node_error() {
        assert!(regex_matches("(", "x").is_err());
    }
}
