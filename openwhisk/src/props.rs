//! The `wsk` CLI's properties file: `KEY=VALUE` lines at `$WSK_CONFIG_FILE`, else
//! `~/.wskprops`, as `wsk property set` writes it.

use std::{collections::BTreeMap, path::PathBuf};

/// The properties semifaas reads: `APIHOST`, `AUTH`, `NAMESPACE`. A missing file is empty, as
/// for `wsk`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WskProps {
    values: BTreeMap<String, String>,
    /// Where they were read from, for error messages.
    pub source: Option<PathBuf>,
}

/// Larger than any properties file `wsk` writes; a larger one is not read.
const FILE_MAX: u64 = 64 * 1024;

impl WskProps {
    /// Reads `$WSK_CONFIG_FILE`, else `$HOME/.wskprops`.
    pub fn load() -> Result<WskProps, std::io::Error> {
        let path = match std::env::var_os("WSK_CONFIG_FILE").filter(|p| !p.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => match std::env::var_os("HOME").filter(|p| !p.is_empty()) {
                Some(home) => PathBuf::from(home).join(".wskprops"),
                None => return Ok(WskProps::default()),
            },
        };
        WskProps::read(path)
    }

    pub fn read(path: PathBuf) -> Result<WskProps, std::io::Error> {
        let text = match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WskProps::default()),
            Err(e) => return Err(e),
            Ok(meta) if meta.len() > FILE_MAX => {
                return Err(std::io::Error::other(format!(
                    "{} is over {FILE_MAX} bytes: not a wsk properties file",
                    path.display()
                )))
            }
            Ok(_) => std::fs::read_to_string(&path)?,
        };
        Ok(WskProps {
            source: Some(path),
            ..WskProps::parse(&text)
        })
    }

    /// Parses `KEY=VALUE` lines; blank lines, `#` comments and lines without `=` are skipped.
    pub fn parse(text: &str) -> WskProps {
        let values = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
            .filter(|(key, value)| !key.is_empty() && !value.is_empty())
            .collect();
        WskProps {
            values,
            source: None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_key_value_lines() {
        let props = WskProps::parse(
            "# written by wsk\nAPIHOST=openwhisk.example.com:443\n\nAUTH = uuid:key\nNAMESPACE=\nJUNK\n",
        );
        assert_eq!(props.get("APIHOST"), Some("openwhisk.example.com:443"));
        assert_eq!(props.get("AUTH"), Some("uuid:key"));
        assert_eq!(props.get("NAMESPACE"), None, "an empty value is unset");
        assert_eq!(props.get("JUNK"), None);
    }

    #[test]
    fn a_missing_file_is_empty() {
        let props = WskProps::read(PathBuf::from("/nonexistent/.wskprops")).unwrap();
        assert_eq!(props, WskProps::default());
    }
}
