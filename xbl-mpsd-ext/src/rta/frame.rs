//! The RTA wire format: JSON-array frames and the status codes of replies (XSAPI
//! `Source/Services/RealTimeActivityManager/real_time_activity_connection.cpp`, go-xsapi `rta/conn.go` and
//! `rta/op.go`).

use std::fmt;

use serde_json::{Value, json};

/// The status code of a subscribe or unsubscribe reply.
///
/// The values are XSAPI's and go-xsapi's; anything else is kept as [`RtaStatus::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RtaStatus {
    /// 0: the request succeeded.
    Success,
    /// 1: the URI is not an RTA resource.
    UnknownResource,
    /// 2: the connection or user holds too many subscriptions.
    SubscriptionLimitReached,
    /// 3: the resource has no data, or access is denied.
    NoResourceData,
    /// 1001: throttled; retried later.
    Throttled,
    /// 1002: the service is unavailable; retried later.
    ServiceUnavailable,
    /// Any other code, as sent.
    Other(u64),
}

impl RtaStatus {
    /// The status of a numeric code.
    pub const fn from_code(code: u64) -> Self {
        match code {
            0 => Self::Success,
            1 => Self::UnknownResource,
            2 => Self::SubscriptionLimitReached,
            3 => Self::NoResourceData,
            1001 => Self::Throttled,
            1002 => Self::ServiceUnavailable,
            other => Self::Other(other),
        }
    }

    /// The numeric code.
    pub const fn code(self) -> u64 {
        match self {
            Self::Success => 0,
            Self::UnknownResource => 1,
            Self::SubscriptionLimitReached => 2,
            Self::NoResourceData => 3,
            Self::Throttled => 1001,
            Self::ServiceUnavailable => 1002,
            Self::Other(code) => code,
        }
    }

    /// Whether a subscribe that got this status is retried after a backoff (1001 and 1002, as XSAPI does).
    pub const fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::ServiceUnavailable)
    }
}

impl fmt::Display for RtaStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Success => "Success",
            Self::UnknownResource => "UnknownResource",
            Self::SubscriptionLimitReached => "SubscriptionLimitReached",
            Self::NoResourceData => "NoResourceData",
            Self::Throttled => "Throttled",
            Self::ServiceUnavailable => "ServiceUnavailable",
            Self::Other(_) => "Other",
        };
        write!(f, "{} ({name})", self.code())
    }
}

/// A frame the service sends.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Incoming {
    /// `[1, seq, status, subId?, data?]`.
    SubscribeReply {
        seq: u64,
        status: RtaStatus,
        sub_id: Option<u64>,
        data: Value,
    },
    /// `[2, seq, status]`.
    UnsubscribeReply { seq: u64, status: RtaStatus },
    /// `[3, subId, data]`.
    Event { sub_id: u64, data: Value },
    /// `[4]`.
    Resync,
}

impl Incoming {
    /// Parses a frame; `None` for anything malformed or unknown (logged by the caller, never fatal).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let Ok(Value::Array(mut parts)) = serde_json::from_str::<Value>(text) else {
            return None;
        };
        let number = |parts: &[Value], i: usize| parts.get(i).and_then(Value::as_u64);
        match number(&parts, 0)? {
            1 => {
                let seq = number(&parts, 1)?;
                let status = RtaStatus::from_code(number(&parts, 2)?);
                let sub_id = number(&parts, 3);
                if status == RtaStatus::Success && sub_id.is_none() {
                    return None;
                }
                let data = if parts.len() > 4 {
                    parts.swap_remove(4)
                } else {
                    Value::Null
                };
                Some(Self::SubscribeReply {
                    seq,
                    status,
                    sub_id,
                    data,
                })
            }
            2 => Some(Self::UnsubscribeReply {
                seq: number(&parts, 1)?,
                status: RtaStatus::from_code(number(&parts, 2)?),
            }),
            3 => {
                let sub_id = number(&parts, 1)?;
                let data = if parts.len() > 2 {
                    parts.swap_remove(2)
                } else {
                    return None;
                };
                Some(Self::Event { sub_id, data })
            }
            4 => Some(Self::Resync),
            _ => None,
        }
    }
}

/// `[1, seq, uri]`.
pub(crate) fn subscribe(seq: u64, uri: &str) -> String {
    json!([1, seq, uri]).to_string()
}

/// `[2, seq, subId]`.
pub(crate) fn unsubscribe(seq: u64, sub_id: u64) -> String {
    json!([2, seq, sub_id]).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_frame_kind() {
        assert_eq!(
            Incoming::parse(r#"[1,1,0,7,{"ConnectionId":"d01a"}]"#),
            Some(Incoming::SubscribeReply {
                seq: 1,
                status: RtaStatus::Success,
                sub_id: Some(7),
                data: json!({"ConnectionId": "d01a"})
            })
        );
        // Failure replies come with 3, 4 or 5 elements.
        for text in ["[1,2,1001]", "[1,2,1001,8]", "[1,2,1001,8,null]"] {
            assert!(matches!(
                Incoming::parse(text),
                Some(Incoming::SubscribeReply {
                    seq: 2,
                    status: RtaStatus::Throttled,
                    ..
                })
            ));
        }
        assert_eq!(
            Incoming::parse("[2,3,5]"),
            Some(Incoming::UnsubscribeReply {
                seq: 3,
                status: RtaStatus::Other(5)
            })
        );
        assert_eq!(
            Incoming::parse(r#"[3,7,{"a":1}]"#),
            Some(Incoming::Event {
                sub_id: 7,
                data: json!({"a": 1})
            })
        );
        assert_eq!(Incoming::parse("[4]"), Some(Incoming::Resync));
    }

    #[test]
    fn malformed_frames_are_rejected_not_panicking() {
        for text in [
            "",
            "{}",
            "[]",
            "[9]",
            "[1]",
            "[1,1]",
            "[1,1,0]",
            "[1,-1,0,1]",
            "[3,1]",
            "[3,\"x\",1]",
            "[2,1]",
            "null",
            "[1.5,1,0,1,null]",
            "[\"1\",1,0,1,null]",
        ] {
            assert_eq!(Incoming::parse(text), None, "{text}");
        }
    }

    #[test]
    fn status_codes_round_trip() {
        for code in [0, 1, 2, 3, 5, 1001, 1002, 77] {
            assert_eq!(RtaStatus::from_code(code).code(), code);
        }
        assert!(RtaStatus::Throttled.is_retryable());
        assert!(!RtaStatus::UnknownResource.is_retryable());
        assert_eq!(RtaStatus::Throttled.to_string(), "1001 (Throttled)");
    }

    #[test]
    fn requests_are_json_arrays() {
        assert_eq!(subscribe(1, "https://x/"), r#"[1,1,"https://x/"]"#);
        assert_eq!(unsubscribe(2, 7), "[2,2,7]");
    }
}
