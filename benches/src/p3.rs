//! P3: activation-URI parse vs `url::Url::parse` alone on the same URIs.

use url::Url;
use xbl_mpsd_ext::Activation;

use crate::measure::{Effort, Stats, interleave, keep, ratios};
use crate::report::Row;

/// The URI shapes titles receive.
const URIS: [&str; 6] = [
    "ms-xbl-multiplayer://inviteHandleAccept?handle=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d&invitedXuid=2533274792693551&senderXuid=2533274811111111&context=lobby%20A",
    "ms-xbl-7a970ea1://inviteHandleAccept/?invitedXuid=2533274792693551&handle=%7B0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D%7D&senderXuid=2533274811111111&context=",
    "ms-xbl-multiplayer://activityHandleJoin?&handle=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d&joinerXuid=2533274792693551&joineeXuid=2533274811111111",
    "ms-xbl-7a970ea1://inviteAccept?invitedUser=2533274792693551&sender=2533274811111111&connectionString=ip%3D1.2.3.4%3A3074%26slot%3D2",
    "MS-XBL-MULTIPLAYER://INVITEHANDLEACCEPT?HANDLE=0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D&INVITEDXUID=2533274792693551&unknown=1",
    "ms-xbl-multiplayer://activityHandleJoin?handle=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d&joinerXuid=2533274792693551&joineeXuid=&extra=a+b",
];

/// Measures P3.
pub fn rows(effort: Effort) -> anyhow::Result<Vec<crate::report::Row>> {
    for uri in URIS {
        uri.parse::<Activation>()
            .map_err(|e| anyhow::anyhow!("{uri}: {e}"))?;
    }
    let mut activation = || {
        for uri in URIS {
            keep(uri.parse::<Activation>().ok());
        }
    };
    let mut url = || {
        for uri in URIS {
            keep(Url::parse(uri).ok());
        }
    };
    let times = interleave(
        effort.rounds,
        effort.iters(20_000),
        &mut [&mut activation, &mut url],
    );
    let ns = |t: &Vec<f64>| Stats::of(t.clone()).median / URIS.len() as f64;
    Ok(vec![Row::at_most(
        "P3",
        "activation-URI parse vs url::Url::parse alone (6 URI shapes)",
        0.6,
        Stats::of(ratios(&times[0], &times[1])),
        format!(
            "median ns/URI: Activation {:.0}, Url::parse {:.0}",
            ns(&times[0]),
            ns(&times[1])
        ),
    )])
}
