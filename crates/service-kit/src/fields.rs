//! The request fields both services check the same way: a required text (the question, the
//! message) and its limit. The schema (`/openapi.json`) and the check read the same constant.

use crate::error::BadRequest;

/// Questions and messages above this many characters are refused with 422.
pub const MAX_TEXT_CHARS: usize = 4_000;

/// A required text field and the error codes that name its two failures.
#[derive(Debug, Clone, Copy)]
pub struct TextField {
    /// The field's name as the client sends it.
    pub name: &'static str,
    /// Code for an empty (or all-whitespace) value.
    pub empty_code: &'static str,
    /// Code for a value over [`MAX_TEXT_CHARS`].
    pub too_long_code: &'static str,
}

impl TextField {
    /// The value without surrounding whitespace, if it is non-empty and within the limit.
    pub fn check<'a>(&self, value: &'a str) -> Result<&'a str, BadRequest> {
        let value = value.trim();
        if value.is_empty() {
            return Err(BadRequest::invalid(
                self.empty_code,
                format!("{} must not be empty", self.name),
            ));
        }
        if value.chars().count() > MAX_TEXT_CHARS {
            return Err(BadRequest::invalid(
                self.too_long_code,
                format!("{} must be at most {MAX_TEXT_CHARS} characters", self.name),
            ));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUESTION: TextField = TextField {
        name: "question",
        empty_code: "invalid_question",
        too_long_code: "question_too_long",
    };

    #[test]
    fn text_is_trimmed_non_empty_and_bounded() {
        assert_eq!(QUESTION.check("  hi \n").unwrap(), "hi");
        assert_eq!(QUESTION.check(" \t ").unwrap_err().code, "invalid_question");
        let long = "é".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(QUESTION.check(&long).unwrap_err().code, "question_too_long");
        assert!(QUESTION.check(&"é".repeat(MAX_TEXT_CHARS)).is_ok());
    }
}
