//! The user's IP address, which Moneyhub wants with a sync the user asked for (it tells the bank
//! the customer is present, so the bank does not count the request against its unattended
//! allowance). Moneyhub passes it on to the bank as the customer's own, so only an address the
//! bank could see is sent: one the person entered, or this computer's own when it is public.
//! A LAN address (`192.168.1.23`) is not what any bank sees, and says something about the
//! person's network besides; nothing is sent instead.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

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

/// The IP to send: the person's setting when it parses, else this computer's own address when
/// it is a public one, else none.
pub fn customer_ip(setting: Option<&str>) -> Option<IpAddr> {
    customer_ip_from(setting, local_ip())
}

fn customer_ip_from(setting: Option<&str>, local: Option<IpAddr>) -> Option<IpAddr> {
    setting
        .and_then(|text| text.trim().parse().ok())
        .or_else(|| local.filter(|ip| is_public(*ip)))
}

/// What Settings says is sent with syncs the person asks for, decided here once.
pub fn customer_ip_note(setting: Option<&str>) -> String {
    customer_ip_note_from(setting, local_ip())
}

fn customer_ip_note_from(setting: Option<&str>, local: Option<IpAddr>) -> String {
    match (customer_ip_from(setting, local), local) {
        (Some(ip), _) if setting.is_some_and(|s| s.trim().parse::<IpAddr>().is_ok()) => {
            format!("Sent with syncs you ask for: {ip}, the address you entered.")
        }
        (Some(ip), _) => format!("Sent with syncs you ask for: {ip}, this computer's address."),
        (None, Some(ip)) => format!(
            "Nothing is sent: this computer's address ({ip}) is one on your own network, not \
             the one your bank would see. Enter your public address to send it."
        ),
        (None, None) => {
            "Nothing is sent: no network address was found. Enter your public address to send it."
                .into()
        }
    }
}

/// An address on the public internet: not loopback, private, shared (carrier NAT), link-local,
/// unique-local, documentation, benchmarking or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn an_entered_address_wins_and_a_bad_one_falls_back_to_a_public_interface() {
        assert_eq!(
            customer_ip_from(Some(" 203.0.113.7 "), Some(ip("192.168.1.23"))),
            Some(ip("203.0.113.7")),
            "what the person entered is sent as it is"
        );
        assert_eq!(
            customer_ip_from(Some("not an ip"), Some(ip("81.2.69.160"))),
            Some(ip("81.2.69.160"))
        );
        assert_eq!(
            customer_ip_from(None, Some(ip("2a00:1450:4009::1"))),
            Some(ip("2a00:1450:4009::1"))
        );
    }

    #[test]
    fn a_local_address_is_never_sent_as_the_customers() {
        for local in [
            "192.168.1.23",
            "10.0.0.5",
            "172.20.1.1",
            "100.72.3.4",
            "169.254.10.1",
            "127.0.0.1",
            "fd12:3456::1",
            "fe80::1",
            "::1",
            "::ffff:192.168.1.23",
            "2001:db8::5",
        ] {
            assert_eq!(customer_ip_from(None, Some(ip(local))), None, "{local}");
        }
        assert_eq!(customer_ip_from(None, None), None);
    }

    #[test]
    fn settings_say_what_is_sent() {
        let lan = customer_ip_note_from(None, Some(ip("192.168.1.23")));
        assert!(
            lan.starts_with("Nothing is sent") && lan.contains("192.168.1.23"),
            "{lan}"
        );
        assert_eq!(
            customer_ip_note_from(Some("81.2.69.160"), Some(ip("192.168.1.23"))),
            "Sent with syncs you ask for: 81.2.69.160, the address you entered."
        );
        assert_eq!(
            customer_ip_note_from(None, Some(ip("81.2.69.160"))),
            "Sent with syncs you ask for: 81.2.69.160, this computer's address."
        );
    }
}
