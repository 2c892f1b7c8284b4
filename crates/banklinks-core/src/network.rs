//! The user's IP address, which Moneyhub wants with a sync the user asked for (it tells the bank
//! the customer is present, so the bank does not count the request against its unattended
//! allowance).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};

/// The address of the interface the default route leaves through. Connecting a UDP socket
/// sends nothing; it only asks the OS which local address it would use, so this works offline
/// as long as a route exists and returns `None` otherwise.
pub fn local_ip() -> Option<IpAddr> {
    let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    // A documentation address (RFC 5737): never routed to anyone real.
    socket.connect((Ipv4Addr::new(192, 0, 2, 1), 80)).ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// The IP to send: the user's setting when it parses, else the local interface's.
pub fn customer_ip(setting: Option<&str>) -> Option<IpAddr> {
    setting
        .and_then(|text| text.trim().parse().ok())
        .or_else(local_ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_address_wins_and_a_bad_one_falls_back_to_the_interface() {
        assert_eq!(
            customer_ip(Some(" 203.0.113.7 ")),
            Some(IpAddr::from([203, 0, 113, 7]))
        );
        assert_eq!(customer_ip(Some("not an ip")), local_ip());
    }
}
