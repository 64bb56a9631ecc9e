//! The description grammar: [`Description::parse`] splits `prefix:arg:key=value` into
//! its parts, [`Description::bind`] matches them against an endpoint type's parameters, and
//! [`quote_string_argument`] escapes a value for interpolation.
//!
//! Tests: `tests/endpoints_grammar.rs`.

use std::fmt;

use super::error::EndpointError;

/// A parsed endpoint description: the prefix (the endpoint type), the positional arguments
/// (segments without `=`) and the `key=value` arguments, in order, unescaped.
///
/// The grammar, as Twisted's `_tokenize` and `_parse`:
///
/// - segments are separated by `:`;
/// - a segment with an `=` is `key=value`; only the first `=` counts, so
///   `address=foo=bar` sets `address` to `foo=bar`;
/// - a backslash makes the next character literal (`\:`, `\=`, `\\`).
///
/// # Examples
///
/// ```
/// use torsion::endpoints::Description;
///
/// let d = Description::parse(r"unix:foo\:bar\=baz:mode=660")?;
/// assert_eq!(d.prefix, "unix");
/// assert_eq!(d.args, ["foo:bar=baz"]);
/// assert_eq!(d.kwargs, [("mode".to_string(), "660".to_string())]);
/// # Ok::<(), torsion::endpoints::EndpointError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description {
    /// The endpoint type, as written (`tcp`, `unix`, ...).
    pub prefix: String,
    /// The positional arguments, in order.
    pub args: Vec<String>,
    /// The `key=value` arguments, in order (a key given twice appears twice).
    pub kwargs: Vec<(String, String)>,
}

enum Segment {
    Positional(String),
    Keyword(String, String),
}

impl Description {
    /// Splits a description into its parts.
    ///
    /// # Errors
    ///
    /// [`EndpointError::Empty`] for `""`, [`EndpointError::DanglingEscape`] if it ends with
    /// a lone backslash, [`EndpointError::MissingType`] if it starts with `key=value`.
    pub fn parse(description: &str) -> Result<Description, EndpointError> {
        if description.is_empty() {
            return Err(EndpointError::Empty);
        }
        let mut segments = Vec::new();
        let mut current = String::new();
        let mut key: Option<String> = None;
        let mut chars = description.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped) => current.push(escaped),
                    None => {
                        return Err(EndpointError::DanglingEscape {
                            description: description.to_string(),
                        })
                    }
                },
                ':' => segments.push(segment(key.take(), std::mem::take(&mut current))),
                '=' if key.is_none() => key = Some(std::mem::take(&mut current)),
                c => current.push(c),
            }
        }
        segments.push(segment(key, current));
        let mut segments = segments.into_iter();
        let prefix = match segments.next() {
            Some(Segment::Positional(prefix)) => prefix,
            Some(Segment::Keyword(k, v)) => {
                return Err(EndpointError::MissingType {
                    segment: format!("{k}={v}"),
                })
            }
            None => return Err(EndpointError::Empty),
        };
        let mut d = Description {
            prefix,
            args: Vec::new(),
            kwargs: Vec::new(),
        };
        for s in segments {
            match s {
                Segment::Positional(a) => d.args.push(a),
                Segment::Keyword(k, v) => d.kwargs.push((k, v)),
            }
        }
        Ok(d)
    }

    /// Matches the arguments against the parameters of an endpoint type: each `key=value`
    /// must name one of `params`, and each positional argument fills the next positional
    /// parameter not already given by keyword (so `tcp:host=h:80` and `tcp:h:port=80` both
    /// work, as in Twisted).
    ///
    /// # Errors
    ///
    /// [`EndpointError::UnknownParameter`], [`EndpointError::Duplicate`] (a key given
    /// twice), [`EndpointError::UnexpectedArgument`] (more positional arguments than
    /// positional parameters).
    ///
    /// # Examples
    ///
    /// ```
    /// use torsion::endpoints::{Description, Param};
    ///
    /// const PARAMS: &[Param] = &[
    ///     Param::positional("host"),
    ///     Param::positional("port"),
    ///     Param::keyword("timeout"),
    /// ];
    /// let d = Description::parse("tcp:host=example.com:80:timeout=5")?;
    /// let p = d.bind(PARAMS)?;
    /// assert_eq!(p.get("host"), Some("example.com"));
    /// assert_eq!(p.get("port"), Some("80"));
    /// assert_eq!(p.parse("timeout", "a number", |s| s.parse::<u32>().ok())?, Some(5));
    /// # Ok::<(), torsion::endpoints::EndpointError>(())
    /// ```
    pub fn bind(&self, params: &[Param]) -> Result<Params, EndpointError> {
        let mut values: Vec<(&'static str, String)> = Vec::new();
        for (key, value) in &self.kwargs {
            let Some(param) = params.iter().find(|p| p.name == key) else {
                return Err(EndpointError::UnknownParameter {
                    prefix: self.prefix.clone(),
                    name: key.clone(),
                    expected: params.iter().map(|p| p.name).collect(),
                });
            };
            if values.iter().any(|(n, _)| *n == param.name) {
                return Err(EndpointError::Duplicate {
                    prefix: self.prefix.clone(),
                    name: key.clone(),
                });
            }
            values.push((param.name, value.clone()));
        }
        for arg in &self.args {
            let free = params
                .iter()
                .find(|p| p.positional && !values.iter().any(|(n, _)| *n == p.name));
            let Some(param) = free else {
                return Err(EndpointError::UnexpectedArgument {
                    prefix: self.prefix.clone(),
                    value: arg.clone(),
                });
            };
            values.push((param.name, arg.clone()));
        }
        Ok(Params {
            prefix: self.prefix.clone(),
            values,
        })
    }
}

fn segment(key: Option<String>, text: String) -> Segment {
    match key {
        Some(k) => Segment::Keyword(k, text),
        None => Segment::Positional(text),
    }
}

/// Writes the description back as a string, quoting every part, so that it parses to
/// the same value.
impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&quote_string_argument(&self.prefix))?;
        for a in &self.args {
            write!(f, ":{}", quote_string_argument(a))?;
        }
        for (k, v) in &self.kwargs {
            write!(
                f,
                ":{}={}",
                quote_string_argument(k),
                quote_string_argument(v)
            )?;
        }
        Ok(())
    }
}

/// Escapes `argument` for use inside a description (Twisted's `quoteStringArgument`):
/// backslashes, colons and equals signs get a backslash. (Twisted leaves `=` alone, which
/// breaks a positional argument that contains one; escaping it is harmless everywhere.)
///
/// # Examples
///
/// ```
/// use torsion::endpoints::{quote_string_argument, Description};
///
/// let path = r"C:\keys\a=b.pem";
/// let description = format!("unix:{}", quote_string_argument(path));
/// assert_eq!(description, r"unix:C\:\\keys\\a\=b.pem");
/// assert_eq!(Description::parse(&description)?.args, [path]);
/// # Ok::<(), torsion::endpoints::EndpointError>(())
/// ```
pub fn quote_string_argument(argument: &str) -> String {
    let mut out = String::with_capacity(argument.len());
    for c in argument.chars() {
        if matches!(c, '\\' | ':' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One parameter an endpoint type takes, for [`Description::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    name: &'static str,
    positional: bool,
}

impl Param {
    /// A parameter that may be given positionally (in the order of the list) or as
    /// `name=value`.
    pub const fn positional(name: &'static str) -> Param {
        Param {
            name,
            positional: true,
        }
    }

    /// A parameter that may only be given as `name=value`.
    pub const fn keyword(name: &'static str) -> Param {
        Param {
            name,
            positional: false,
        }
    }

    /// The parameter's name.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// The arguments of a description, matched to an endpoint type's parameters by
/// [`Description::bind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    prefix: String,
    values: Vec<(&'static str, String)>,
}

impl Params {
    /// The endpoint type, as written.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value given for `name`.
    ///
    /// # Errors
    ///
    /// [`EndpointError::MissingParameter`] if there is none.
    pub fn required(&self, name: &'static str) -> Result<&str, EndpointError> {
        self.get(name)
            .ok_or_else(|| EndpointError::MissingParameter {
                prefix: self.prefix.clone(),
                name,
            })
    }

    /// The value given for `name` converted by `convert`, or `None` if not given.
    ///
    /// # Errors
    ///
    /// [`EndpointError::BadValue`] naming the parameter, the value and `expected` (such
    /// as `"a number"`) when `convert` returns `None`.
    pub fn parse<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, EndpointError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => convert(value)
                .map(Some)
                .ok_or_else(|| self.bad_value(name, value, expected)),
        }
    }

    /// [`parse`](Params::parse) for a required parameter.
    ///
    /// # Errors
    ///
    /// [`EndpointError::MissingParameter`] or [`EndpointError::BadValue`].
    pub fn parse_required<T>(
        &self,
        name: &'static str,
        expected: &'static str,
        convert: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, EndpointError> {
        self.required(name)?;
        self.parse(name, expected, convert)
            .map(|v| v.expect("checked present"))
    }

    /// An [`EndpointError::BadValue`] for this endpoint type.
    pub fn bad_value(
        &self,
        name: &'static str,
        value: &str,
        expected: &'static str,
    ) -> EndpointError {
        EndpointError::BadValue {
            prefix: self.prefix.clone(),
            name,
            value: value.to_string(),
            expected,
        }
    }
}
