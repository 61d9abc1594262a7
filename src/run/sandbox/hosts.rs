//! The private `/etc/hosts` confined children see: `localhost`, this machine's name and
//! the placeholder names the caller maps (`hostname`, `servername`).
//!
//! It only writes text; mounting it is `pre_exec`'s job.

use std::fs;
use std::io;
use std::net::IpAddr;

/// The private hosts file: `localhost`, this machine's name, then `hosts` in order.
pub(super) fn hosts_file_contents(hosts: &[(String, IpAddr)]) -> io::Result<String> {
    let mut out = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    for (name, ip) in hosts {
        let valid = !name.is_empty()
            && !name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '#');
        if !valid {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("host name {name:?} cannot go in a hosts file; use letters, digits, '-' and '.'"),
            ));
        }
        out.push_str(&format!("{ip}\t{name}\n"));
    }
    if let Some(own) = machine_name() {
        if !hosts.iter().any(|(n, _)| *n == own) && own != "localhost" {
            // Java's InetAddress.getLocalHost() resolves it, and there is no DNS here.
            out.push_str(&format!("127.0.0.1\t{own}\n"));
        }
    }
    Ok(out)
}

/// This machine's name (`uname -n`), if it is one a hosts file can hold.
fn machine_name() -> Option<String> {
    let name = fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    let fits = !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && c != '#');
    fits.then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn loopback(name: &str) -> (String, IpAddr) {
        (name.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    #[test]
    fn hosts_file_maps_localhost_and_the_given_names() {
        let text = hosts_file_contents(&[loopback("hostname"), loopback("servername")]).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "127.0.0.1\tlocalhost");
        assert!(lines.contains(&"127.0.0.1\thostname"), "{text}");
        assert!(lines.contains(&"127.0.0.1\tservername"), "{text}");
    }

    #[test]
    fn hosts_file_refuses_a_name_with_a_space_or_newline() {
        for bad in ["two words", "evil\n1.2.3.4 x", "", "a#b"] {
            let err = hosts_file_contents(&[loopback(bad)]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
