//! Which closures this instance has installed, and for which server. Servers running the same
//! application ship closures with the same id, but what an installed closure accumulates
//! afterwards (classes and resources fetched lazily, static fields, values its remote calls
//! returned) came from the server whose invocations ran it: an installation belongs to one
//! server, known by the certificate its fallback endpoint proves, never by an address.

use std::{
    collections::{HashMap, HashSet},
    fmt,
};

use semifaas_closure::{ClosureId, FallbackEndpoint};

/// A server, as the SHA-256 of the certificate its fallback endpoint presents (each server
/// process makes its own; the client pins it, so a connection proves it).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServerId([u8; 32]);

impl ServerId {
    pub fn of(endpoint: &FallbackEndpoint) -> ServerId {
        ServerId(endpoint.cert_sha256)
    }
}

impl fmt::Display for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerId({})", &self.to_string()[..12])
    }
}

/// One closure installed for one server; its `Display` names the installation in the JVM.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct InstallKey {
    pub server: ServerId,
    pub closure: ClosureId,
}

impl InstallKey {
    pub fn new(endpoint: &FallbackEndpoint, closure: ClosureId) -> InstallKey {
        InstallKey {
            server: ServerId::of(endpoint),
            closure,
        }
    }
}

impl fmt::Display for InstallKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.closure, self.server)
    }
}

/// The installations of this instance and how warm each is.
#[derive(Debug, Default)]
pub struct Installations {
    installed: HashSet<InstallKey>,
    /// Shadow rounds already replayed per installation: a prewarm that reaches an instance
    /// already warmed as much (a scale-out that found a free instance) replays nothing.
    replayed_rounds: HashMap<InstallKey, u32>,
}

impl Installations {
    pub fn contains(&self, key: &InstallKey) -> bool {
        self.installed.contains(key)
    }

    pub fn insert(&mut self, key: InstallKey) {
        self.installed.insert(key);
    }

    /// Shadow rounds replayed so far for `key`.
    pub fn replayed(&self, key: &InstallKey) -> u32 {
        self.replayed_rounds.get(key).copied().unwrap_or(0)
    }

    pub fn set_replayed(&mut self, key: InstallKey, rounds: u32) {
        self.replayed_rounds.insert(key, rounds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(addr: &str, cert: u8) -> FallbackEndpoint {
        FallbackEndpoint {
            addr: addr.to_owned(),
            server_name: "localhost".to_owned(),
            cert_sha256: [cert; 32],
        }
    }

    const CLOSURE: ClosureId = ClosureId([7; 32]);

    #[test]
    fn the_same_closure_of_two_servers_is_two_installations() {
        let mut installations = Installations::default();
        let a = InstallKey::new(&endpoint("10.0.0.1:4433", 1), CLOSURE);
        let b = InstallKey::new(&endpoint("10.0.0.2:4433", 2), CLOSURE);
        installations.insert(a);
        assert!(installations.contains(&a));
        assert!(!installations.contains(&b), "server b must fetch its own");
        assert_ne!(a.to_string(), b.to_string(), "distinct in the JVM too");
        installations.set_replayed(a, 3);
        assert_eq!(installations.replayed(&b), 0);
    }

    #[test]
    fn a_server_is_its_certificate_not_its_address() {
        let mut installations = Installations::default();
        installations.insert(InstallKey::new(&endpoint("10.0.0.1:4433", 1), CLOSURE));
        // Another process at the same address (a restart) has another certificate.
        let restarted = InstallKey::new(&endpoint("10.0.0.1:4433", 9), CLOSURE);
        assert!(!installations.contains(&restarted));
        // The same server behind a new address (NAT, advertised name) keeps its installation.
        let moved = InstallKey::new(&endpoint("192.0.2.7:4433", 1), CLOSURE);
        assert!(installations.contains(&moved));
    }

    #[test]
    fn the_installation_name_holds_closure_and_server() {
        let key = InstallKey::new(&endpoint("h:1", 0xab), CLOSURE);
        assert_eq!(
            key.to_string(),
            format!("{}@{}", "07".repeat(32), "ab".repeat(32))
        );
    }
}
