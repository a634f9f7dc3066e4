//! The token cache: one JSON file with what a sign-in needs to refresh without asking the user again.
//!
//! It holds the Microsoft account refresh token, the device proof key and every token with its expiry, so
//! it is a credential: written with owner-only permissions (0600 on Unix) through a temporary file in the
//! same directory and a rename (never half-written), never printed, and a file that is not a cache of this
//! program is reported, never overwritten.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::config::SignInConfig;
use super::error::CacheError;

/// The `format` marker of the file.
const FORMAT: &str = "xbl-mpsd-signin-cache";
/// The format version this program writes and reads.
pub const CACHE_VERSION: u64 = 1;
/// The largest cache file read; a real one is a few KiB.
const MAX_CACHE_BYTES: u64 = 1024 * 1024;
/// The file name of the default cache.
const FILE_NAME: &str = "signin.json";

/// A token with its expiry.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct XToken {
    pub token: String,
    pub not_after: DateTime<Utc>,
}

/// The Microsoft account tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MsaTokens {
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: Option<String>,
}

/// The device proof key (private scalar, base64url) and the device token bound to it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeviceCredentials {
    pub proof_key: String,
    pub token: Option<XToken>,
}

/// The XSTS token and the display claims of its user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct XstsCredentials {
    pub token: XToken,
    pub user_hash: String,
    pub xuid: Option<String>,
    pub gamertag: Option<String>,
    pub age_group: Option<String>,
    pub privileges: Option<String>,
}

/// Everything a sign-in holds.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Credentials {
    pub msa: Option<MsaTokens>,
    pub device: Option<DeviceCredentials>,
    pub user_token: Option<XToken>,
    pub title_token: Option<XToken>,
    pub xsts: Option<XstsCredentials>,
}

/// A sign-in as stored: the configuration it was made with and its credentials. `Debug` shows neither
/// tokens nor keys.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedSignIn {
    /// What was signed in to.
    pub config: SignInConfig,
    pub(crate) credentials: Credentials,
}

impl CachedSignIn {
    /// The signed-in account, when the sign-in got as far as an XSTS token.
    pub fn account(&self) -> Option<super::Account> {
        self.credentials
            .xsts
            .as_ref()
            .map(super::Account::from_xsts)
    }
}

impl fmt::Debug for CachedSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedSignIn")
            .field("config", &self.config)
            .field("account", &self.account())
            .field("credentials", &format_args!("<redacted>"))
            .finish()
    }
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u64,
    saved: DateTime<Utc>,
    #[serde(flatten)]
    sign_in: &'a CachedSignIn,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

#[derive(Deserialize)]
struct FileIn {
    #[serde(flatten)]
    sign_in: CachedSignIn,
}

/// The token cache file.
///
/// ```
/// use xbl_mpsd_ext::signin::TokenCache;
///
/// let dir = tempfile::tempdir()?;
/// let cache = TokenCache::new(dir.path().join("signin.json"));
/// assert!(cache.load()?.is_none()); // no sign-in yet
/// assert!(!cache.remove()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenCache {
    path: PathBuf,
}

impl TokenCache {
    /// A cache at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The cache at [`default_path`](Self::default_path).
    pub fn at_default_path() -> Result<Self, CacheError> {
        Self::default_path().map(Self::new)
    }

    /// `signin.json` in the user's configuration directory for `xbl-mpsd` (Linux
    /// `$XDG_CONFIG_HOME/xbl-mpsd/`, macOS `~/Library/Application Support/xbl-mpsd/`, Windows
    /// `%APPDATA%\xbl-mpsd\config\`).
    pub fn default_path() -> Result<PathBuf, CacheError> {
        directories::ProjectDirs::from("", "", "xbl-mpsd")
            .map(|dirs| dirs.config_dir().join(FILE_NAME))
            .ok_or(CacheError::NoConfigDir)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> CacheError {
        CacheError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, reason: impl Into<String>) -> CacheError {
        CacheError::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// The stored sign-in; `None` when there is no file.
    pub fn load(&self) -> Result<Option<CachedSignIn>, CacheError> {
        let file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_CACHE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io(e))?;
        if bytes.len() as u64 > MAX_CACHE_BYTES {
            return Err(self.corrupt(format!("larger than {MAX_CACHE_BYTES} bytes")));
        }
        // serde_json's messages name a position and an expected type, never the text read.
        let header: Header = serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(format!("not a JSON object: {e}")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(self.corrupt(format!("no \"format\": \"{FORMAT}\" marker")));
        }
        match header.version {
            Some(CACHE_VERSION) => {}
            Some(found) => {
                return Err(CacheError::UnsupportedVersion {
                    path: self.path.clone(),
                    found,
                    supported: CACHE_VERSION,
                });
            }
            None => return Err(self.corrupt("no \"version\"")),
        }
        let file: FileIn = serde_json::from_slice(&bytes)
            .map_err(|e| self.corrupt(format!("damaged contents: {e}")))?;
        Ok(Some(file.sign_in))
    }

    /// Writes `sign_in`, atomically and owner-only. Refuses to replace a file that is not a cache of
    /// this program.
    pub fn save(&self, sign_in: &CachedSignIn) -> Result<(), CacheError> {
        self.load()?;
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir).map_err(|e| self.io(e))?;
        let out = FileOut {
            format: FORMAT,
            version: CACHE_VERSION,
            saved: Utc::now(),
            sign_in,
        };
        let json = serde_json::to_vec_pretty(&out).map_err(|e| self.io(e.into()))?;
        // tempfile creates the file with mode 0600 on Unix.
        let mut temp = tempfile::Builder::new()
            .prefix(".signin-")
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| self.io(e))?;
        set_owner_only(temp.as_file()).map_err(|e| self.io(e))?;
        temp.write_all(&json).map_err(|e| self.io(e))?;
        temp.as_file().sync_all().map_err(|e| self.io(e))?;
        temp.persist(&self.path).map_err(|e| self.io(e.error))?;
        Ok(())
    }

    /// Deletes the file. `Ok(false)` when there was none; refuses a file that is not a cache of this
    /// program.
    pub fn remove(&self) -> Result<bool, CacheError> {
        match self.load() {
            Ok(None) => return Ok(false),
            Ok(Some(_)) => {}
            Err(e) => return Err(e),
        }
        fs::remove_file(&self.path).map_err(|e| self.io(e))?;
        Ok(true)
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn set_owner_only(file: &fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_owner_only(_file: &fs::File) -> std::io::Result<()> {
    // The file lives in the user's profile, whose ACL is owner-only by default.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CachedSignIn {
        CachedSignIn {
            config: SignInConfig::new("000000004c20a908"),
            credentials: Credentials {
                msa: Some(MsaTokens {
                    access_token: "SECRET-AT".into(),
                    expires_at: "2030-01-01T00:00:00Z".parse().unwrap(),
                    refresh_token: Some("SECRET-RT".into()),
                }),
                xsts: Some(XstsCredentials {
                    token: XToken {
                        token: "SECRET-XSTS".into(),
                        not_after: "2030-01-01T00:00:00.1234567Z".parse().unwrap(),
                    },
                    user_hash: "uhs1".into(),
                    xuid: Some("2533274792693551".into()),
                    gamertag: Some("Gamer".into()),
                    age_group: None,
                    privileges: None,
                }),
                ..Credentials::default()
            },
        }
    }

    #[test]
    fn round_trip_private_and_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TokenCache::new(dir.path().join("sub/signin.json"));
        cache.save(&sample()).unwrap();
        assert_eq!(cache.load().unwrap(), Some(sample()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(cache.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = fs::metadata(dir.path().join("sub"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o777, 0o700);
        }
        let debug = format!("{:?}", sample());
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("Gamer"));
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path().join("sub")).unwrap().count(), 1);
        assert!(cache.remove().unwrap());
        assert!(!cache.path().exists());
    }

    #[test]
    fn foreign_corrupt_and_newer_files_are_errors_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signin.json");
        let cache = TokenCache::new(&path);
        for (text, want) in [
            ("not json at all", "not a JSON object"),
            ("{\"hello\":1}", "marker"),
            ("[1,2]", "not a JSON object"),
            (
                "{\"format\":\"xbl-mpsd-signin-cache\",\"version\":1,\"config\":5}",
                "damaged",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let err = cache.load().unwrap_err();
            assert!(err.to_string().contains(want), "{text}: {err}");
            assert!(!err.to_string().contains(text) || text.len() < 6);
            assert!(matches!(
                cache.save(&sample()),
                Err(CacheError::Corrupt { .. })
            ));
            assert!(cache.remove().is_err());
            assert_eq!(fs::read_to_string(&path).unwrap(), text, "left untouched");
        }
        fs::write(
            &path,
            "{\"format\":\"xbl-mpsd-signin-cache\",\"version\":7}",
        )
        .unwrap();
        assert!(matches!(
            cache.load(),
            Err(CacheError::UnsupportedVersion { found: 7, .. })
        ));
        fs::write(&path, vec![b' '; (MAX_CACHE_BYTES + 5) as usize]).unwrap();
        assert!(matches!(cache.load(), Err(CacheError::Corrupt { .. })));
    }
}
