//! How nodes of a plan are numbered: sections by Roman numerals (I, II, …), tasks by integers inside a section
//! (1, 2, 3) and indicators by their task's number and an index (2.1, 2.2).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

/// A section code: an upper-case Roman numeral from I to XXX.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SectionCode {
    code: String,
    value: u16,
}

/// A node number: `n` for a task, `n.m` for an indicator of task `n`. Components are 1 to 999.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaskNumber {
    components: Vec<u16>,
}

impl SectionCode {
    pub fn parse(input: &str) -> Result<SectionCode, String> {
        let code = input.trim().to_uppercase();
        let value =
            roman_value(&code).ok_or_else(|| format!("\"{}\" is not a Roman numeral from I to XXX", input.trim()))?;
        Ok(SectionCode { code, value })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    pub fn value(&self) -> u16 {
        self.value
    }
}

impl TaskNumber {
    pub fn parse(input: &str) -> Result<TaskNumber, String> {
        let trimmed = input.trim();
        let components = trimmed
            .split('.')
            .map(|part| part.parse::<u16>().ok().filter(|n| (1..=999).contains(n)))
            .collect::<Option<Vec<u16>>>()
            .ok_or_else(|| format!("\"{trimmed}\" is not a number like 2 or 2.1 (components 1 to 999)"))?;
        if components.len() > 2 {
            return Err(format!("\"{trimmed}\" is nested too deep: a task is numbered n and an indicator n.m"));
        }
        Ok(TaskNumber { components })
    }

    pub fn is_indicator(&self) -> bool {
        self.components.len() == 2
    }

    /// The number of the task an indicator belongs to; `None` for a task.
    pub fn parent(&self) -> Option<TaskNumber> {
        self.is_indicator().then(|| TaskNumber { components: self.components[..1].to_vec() })
    }

    /// The last component: the task's own number, or the indicator's index inside its task.
    pub fn last(&self) -> u16 {
        *self.components.last().expect("a task number has at least one component")
    }
}

impl Ord for TaskNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.components.cmp(&other.components)
    }
}

impl PartialOrd for TaskNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for TaskNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.components.iter().map(u16::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

impl std::fmt::Display for SectionCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.code)
    }
}

impl TryFrom<String> for SectionCode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        SectionCode::parse(&value)
    }
}

impl From<SectionCode> for String {
    fn from(value: SectionCode) -> Self {
        value.code
    }
}

impl TryFrom<String> for TaskNumber {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TaskNumber::parse(&value)
    }
}

impl From<TaskNumber> for String {
    fn from(value: TaskNumber) -> Self {
        value.to_string()
    }
}

/// Parses a section code for a request field, naming the field on error.
pub fn parse_section(field: &str, input: &str) -> Result<SectionCode, DomainError> {
    SectionCode::parse(input).map_err(|rule| DomainError::invalid(field, rule))
}

/// Parses a task number for a request field, naming the field on error.
pub fn parse_task_number(field: &str, input: &str) -> Result<TaskNumber, DomainError> {
    TaskNumber::parse(input).map_err(|rule| DomainError::invalid(field, rule))
}

/// Renders a number from 1 to 30 as an upper-case Roman numeral.
pub fn to_roman(mut value: u16) -> String {
    const TABLE: [(u16, &str); 5] = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")];
    let mut out = String::new();
    for (step, numeral) in TABLE.iter() {
        while value >= *step {
            out.push_str(numeral);
            value -= step;
        }
    }
    out
}

fn roman_value(code: &str) -> Option<u16> {
    (1..=30).find(|n| to_roman(*n) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roman_numerals_round_trip() {
        for n in 1..=30 {
            assert_eq!(SectionCode::parse(&to_roman(n)).unwrap().value(), n);
        }
        assert_eq!(to_roman(4), "IV");
        assert_eq!(to_roman(19), "XIX");
        assert!(SectionCode::parse("IIII").is_err());
        assert!(SectionCode::parse("").is_err());
        assert_eq!(SectionCode::parse(" ii ").unwrap().as_str(), "II");
    }

    #[test]
    fn task_numbers_order_numerically() {
        let mut numbers: Vec<TaskNumber> =
            ["10", "2.1", "2", "1", "2.10", "2.2"].iter().map(|n| TaskNumber::parse(n).unwrap()).collect();
        numbers.sort();
        let rendered: Vec<String> = numbers.iter().map(ToString::to_string).collect();
        assert_eq!(rendered, ["1", "2", "2.1", "2.2", "2.10", "10"]);
        assert_eq!(TaskNumber::parse("2.1").unwrap().parent(), Some(TaskNumber::parse("2").unwrap()));
        assert!(TaskNumber::parse("1.2.3").is_err());
        assert!(TaskNumber::parse("0").is_err());
        assert!(TaskNumber::parse("a").is_err());
        assert!(TaskNumber::parse("2.").is_err());
    }
}
