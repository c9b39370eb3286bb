//! Name resolution for the registry client's connections. A registry named by an IP
//! address (every loopback registry, most CI-local ones) needs no lookup; ureq's own
//! resolver would still start a thread for each new connection, to bound a lookup
//! that cannot happen by the request's deadline (about 0.2 ms each, on the path of
//! every first request). Names still go through ureq's resolver.
//!
//! This uses ureq's `unversioned` resolver API, which does not follow semver: the
//! manifest keeps ureq within 3.5.x so an API change is a deliberate upgrade.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// IP literals as they are; names through ureq's resolver.
#[derive(Debug, Default)]
pub(super) struct LiteralFirst(DefaultResolver);

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(addr) = literal(uri) {
            let mut out = self.empty();
            out.push(addr);
            return Ok(out);
        }
        self.0.resolve(uri, config, timeout)
    }
}

/// The socket address of a URI whose host is an IP address (IPv6 in brackets).
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = authority.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(uri: &str) -> Option<String> {
        literal(&uri.parse().unwrap()).map(|a| a.to_string())
    }

    #[test]
    fn ip_literals_resolve_without_a_lookup_and_names_do_not() {
        assert_eq!(
            addr("http://127.0.0.1:5000/v2/").as_deref(),
            Some("127.0.0.1:5000")
        );
        assert_eq!(
            addr("https://10.1.2.3/v2/").as_deref(),
            Some("10.1.2.3:443")
        );
        assert_eq!(addr("http://10.1.2.3/v2/").as_deref(), Some("10.1.2.3:80"));
        assert_eq!(
            addr("https://[::1]:5000/v2/").as_deref(),
            Some("[::1]:5000")
        );
        assert_eq!(addr("https://localhost:5000/v2/"), None);
        assert_eq!(addr("https://registry.example.com/v2/"), None);
        // A name that only looks numeric is a name.
        assert_eq!(addr("https://1.2.3.4.nip.io/v2/"), None);
    }
}
