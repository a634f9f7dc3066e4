//! A session query's filters: its query-string parameters and a batch's XUIDs, checked (400/403 naming
//! the parameter), and a visibility as a result reports it.

use serde_json::{Map, Value};

use super::MAX_RESULTS;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::model::parse_xuid;
use crate::session::{Session, Visibility};

/// The query-string filters of a session query.
#[derive(Debug, Clone, Default)]
pub(super) struct Filters {
    pub(super) keyword: Option<String>,
    pub(super) xuid: Option<u64>,
    pub(super) reservations: bool,
    pub(super) inactive: bool,
    pub(super) private: bool,
    pub(super) visibility: Option<Reported>,
    pub(super) version: Option<u64>,
    pub(super) take: usize,
}

impl Filters {
    /// Reads the filters; `with_xuid` allows the `xuid` parameter (not on a batch, whose XUIDs are the body).
    pub(super) fn parse(
        query: &[(String, String)],
        contract_version: u32,
        with_xuid: bool,
    ) -> ApiResult<Self> {
        let value = |name: &str| -> ApiResult<Option<&str>> {
            let mut values = query.iter().filter(|(key, _)| key == name);
            match (values.next(), values.next()) {
                (None, _) => Ok(None),
                (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
                    "{name} is given more than once; give it once"
                ))),
                (Some((_, value)), None) => Ok(Some(value.as_str())),
            }
        };
        let flag = |name: &str| -> ApiResult<bool> {
            match value(name)? {
                None => Ok(false),
                Some(text) if text.eq_ignore_ascii_case("true") => Ok(true),
                Some(text) if text.eq_ignore_ascii_case("false") => Ok(false),
                Some(text) => Err(ApiError::bad_request(format!(
                    "{name} must be true or false, not '{}'",
                    text.escape_debug()
                ))),
            }
        };
        let keyword = match value("keyword")? {
            Some("") => {
                return Err(ApiError::bad_request(
                    "keyword must not be empty; leave it out to query by xuid only",
                ));
            }
            other => other.map(str::to_owned),
        };
        let xuid = match value("xuid")? {
            None => None,
            Some(_) if !with_xuid => {
                return Err(ApiError::bad_request(
                    "xuid is not a parameter of a batch query: give the XUIDs in the body's xuids",
                ));
            }
            Some(text) => Some(parse_xuid(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "xuid must be a decimal XUID, not '{}'",
                    text.escape_debug()
                ))
            })?),
        };
        let visibility = value("visibility")?
            .map(|text| {
                Reported::parse(text).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "visibility must be open, visible, full or private, not '{}'",
                        text.escape_debug()
                    ))
                })
            })
            .transpose()?;
        let highest_version = u64::from(contract_version % 100);
        let version = value("version")?
            .map(|text| {
                text.parse::<u64>()
                    .ok()
                    .filter(|version| (1..=highest_version).contains(version))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "version must be an integer from 1 to {highest_version} (the contract version \
                             modulo 100), not '{}'",
                            text.escape_debug()
                        ))
                    })
            })
            .transpose()?;
        let take = value("take")?
            .map(|text| {
                text.parse::<usize>()
                    .ok()
                    .filter(|take| *take <= MAX_RESULTS)
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "take must be an integer from 0 to {MAX_RESULTS}, not '{}'",
                            text.escape_debug()
                        ))
                    })
            })
            .transpose()?
            .unwrap_or(MAX_RESULTS);
        let filters = Self {
            keyword,
            xuid,
            reservations: flag("reservations")?,
            inactive: flag("inactive")?,
            private: flag("private")?,
            visibility,
            version,
            take,
        };
        if filters.visibility == Some(Reported::Private) && !filters.private {
            return Err(ApiError::bad_request(
                "visibility=private needs private=true",
            ));
        }
        Ok(filters)
    }

    /// The rules that need the XUID filters and the caller: a keyword or a XUID (400), `reservations` and
    /// `inactive` only with a XUID (400), `private` and `reservations` only for the caller's own XUID (403).
    pub(super) fn check(&self, xuids: &[u64], caller: Caller) -> ApiResult<()> {
        if xuids.is_empty() {
            if self.keyword.is_none() {
                return Err(ApiError::bad_request(
                    "a session query needs a keyword, a xuid or both",
                ));
            }
            for (set, name) in [
                (self.reservations, "reservations"),
                (self.inactive, "inactive"),
            ] {
                if set {
                    return Err(ApiError::bad_request(format!(
                        "{name}=true needs a xuid filter"
                    )));
                }
            }
        }
        let own = !xuids.is_empty() && xuids.iter().all(|xuid| *xuid == caller.xuid);
        for (set, name) in [
            (self.private, "private"),
            (self.reservations, "reservations"),
        ] {
            if set && !own {
                return Err(ApiError::forbidden(format!(
                    "{name}=true needs server-level access, or a xuid filter that is the caller's own XUID"
                )));
            }
        }
        Ok(())
    }
}

/// The body of a batch query: `xuids`, 1 to 100 decimal XUID strings (400 naming the problem otherwise).
pub(super) fn batch_xuids(body: &Map<String, Value>) -> ApiResult<Vec<u64>> {
    let Some(Value::Array(items)) = body.get("xuids") else {
        return Err(ApiError::bad_request(
            "xuids is required and must be an array of XUID strings",
        ));
    };
    if items.is_empty() || items.len() > MAX_RESULTS {
        return Err(ApiError::bad_request(format!(
            "xuids holds {} XUIDs; a batch query takes 1 to {MAX_RESULTS}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            item.as_str().and_then(parse_xuid).ok_or_else(|| {
                ApiError::bad_request(format!("xuids[{index}] must be a decimal XUID string"))
            })
        })
        .collect()
}

/// A visibility as a result reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reported {
    Open,
    Visible,
    Full,
    Private,
}

impl Reported {
    pub(super) fn parse(text: &str) -> Option<Self> {
        [
            ("open", Self::Open),
            ("visible", Self::Visible),
            ("full", Self::Full),
            ("private", Self::Private),
        ]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, reported)| reported)
    }

    pub(super) fn of(session: &Session) -> Self {
        match session.visibility() {
            Visibility::Private => Self::Private,
            Visibility::Visible => Self::Visible,
            Visibility::Open if session.members.len() as u64 >= session.max_members() => Self::Full,
            Visibility::Open => Self::Open,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Visible => "visible",
            Self::Full => "full",
            Self::Private => "private",
        }
    }
}
