//! What one source file's code does, per language: which roles its socket calls show,
//! and the port and server name it hardcodes.
//!
//! A role comes from what the program does, not from one keyword: a program that binds
//! and then waits (its first receive comes before its first send) is a server; one that
//! sends first is a client, even when it binds a local port or listens on an ephemeral
//! one (`net.ListenPacket("udp", ":0")`). A client's port is the one it sends to, never
//! the local port it binds.
//!
//! Pure functions of the code's text; every pattern is compiled once (see `pattern`).

use regex::Regex;

use super::language::Language;
use super::pattern::regex;
use crate::proto::Transport;
use crate::registry::{Role, RoleKey};

/// The first capture of the first pattern that matches with a usable value.
fn first_capture<T>(
    code: &str,
    patterns: &[&Regex],
    accept: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    patterns.iter().find_map(|re| {
        re.captures_iter(code)
            .find_map(|c| c.get(1).and_then(|m| accept(m.as_str())))
    })
}

fn parse_port(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|&p| p != 0)
}

fn parse_host(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c));
    ok.then(|| s.to_string())
}

/// A `name = 12000` assignment or constant whose name mentions a port, in any of the
/// languages (`serverPort = 12000`, `int port = 9876`, `const PORT: u16 = 12000`,
/// `port := 12000`, `#define SERVER_PORT 12000`), the number also written as a string
/// (`PORT = "10912"`, `port := ":12000"`).
fn port_variable() -> &'static Regex {
    regex!(r#"(?i)\b\w*port\w*\s*(?::\s*[\w:]+\s*)?:?=\s*["'`]?:?(\d{1,5})\b"#)
}

/// A `#define` whose name mentions a port, the number bare or in a string.
fn port_define() -> &'static Regex {
    regex!(r#"(?i)#\s*define\s+\w*port\w*\s+"?(\d{1,5})\b"#)
}

/// The value of `word`: the number itself, or what a `#define`, a constant or an
/// assignment of that name gives it (`PORT` in `htons(PORT)`, `serverPort` in
/// `bind(('', serverPort))`).
fn port_value(code: &str, word: &str) -> Option<u16> {
    if word.chars().all(|c| c.is_ascii_digit()) {
        return word.parse().ok();
    }
    let patterns = [
        regex!(r#"#\s*define\s+(\w+)\s+"?(\d{1,5})\b"#),
        regex!(r#"\b(\w+)\s*(?::\s*[\w:]+\s*)?:?=\s*["'`]?:?(\d{1,5})\b"#),
    ];
    patterns.iter().find_map(|re| {
        re.captures_iter(code)
            .find(|c| &c[1] == word)
            .and_then(|c| c[2].parse().ok())
    })
}

/// True when the program reads the keyboard (`input()`, `System.in`, `stdin`, …) and the
/// first match of `send` comes before the first match of `receive` (or the code never
/// receives): it talks first, as a client does. Reading the keyboard is asked for too,
/// so a server whose reply helper is written above its receive loop stays a server.
fn sends_first(code: &str, send: &Regex, receive: &Regex) -> bool {
    let keyboard = regex!(
        r"\b(?:raw_input|input)\s*\(|\bsys\.stdin\b|System\.in\b|\bstdin\b|\bStdin\b|\b(?:scanf|gets|getchar)\s*\(|STDIN_FILENO|\bread\s*\(\s*0\s*,"
    );
    if !keyboard.is_match(code) {
        return false;
    }
    match (send.find(code), receive.find(code)) {
        (Some(s), Some(r)) => s.start() < r.start(),
        (Some(_), None) => true,
        _ => false,
    }
}

/// A string variable whose name says it holds the server's address.
fn host_variable() -> &'static Regex {
    regex!(
        r#"(?i)\b(?:\w*(?:host|server|addr)\w*|(?:\w+_)?ip(?:_\w+)?)\s*(?::\s*&?[\w']+\s*)?:?=\s*["']([^"']+)["']"#
    )
}

/// What the code of one file shows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Features {
    pub(super) udp_server: bool,
    pub(super) udp_client: bool,
    pub(super) tcp_server: bool,
    pub(super) tcp_client: bool,
    /// The port it hardcodes: the one a server listens on, or a client sends to.
    pub(super) port: Option<u16>,
    /// The server name a client hardcodes; `None` for a file that is no client.
    pub(super) host: Option<String>,
    /// Every server name and address a client's code names, in order of appearance,
    /// each once: what its host patterns find, and every IPv4 or IPv6 address written
    /// in a string. Empty for a file that is no client.
    pub(super) hosts: Vec<String>,
}

impl Features {
    /// The roles the code plays, in the order of [`RoleKey::ALL`].
    pub(super) fn roles(&self) -> Vec<RoleKey> {
        let mut out = Vec::new();
        for (on, transport, role) in [
            (self.udp_server, Transport::Udp, Role::Server),
            (self.udp_client, Transport::Udp, Role::Client),
            (self.tcp_server, Transport::Tcp, Role::Server),
            (self.tcp_client, Transport::Tcp, Role::Client),
        ] {
            if on {
                out.push(RoleKey { transport, role });
            }
        }
        out
    }
}

/// One language's reading of a file: the roles found, the patterns (tried in order)
/// whose first group is the hardcoded port or server name, and the local port the code
/// binds, which a client's port is not.
struct Reading {
    roles: Features,
    ports: Vec<&'static Regex>,
    hosts: Vec<&'static Regex>,
    bound: Option<u16>,
}

/// What the code of one file in `language` shows.
pub(super) fn features(code: &str, language: Language) -> Features {
    let Reading {
        roles: mut f,
        ports,
        hosts,
        bound,
    } = match language {
        Language::Python2 | Language::Python3 => python(code),
        Language::Java => java(code),
        Language::C => c(code),
        Language::JavaScript => javascript(code),
        Language::Go => go(code),
        Language::Rust => rust(code),
    };
    let server = f.udp_server || f.tcp_server;
    let client = f.udp_client || f.tcp_client;
    f.port = match bound {
        Some(port) if server && port != 0 => Some(port),
        // A client's port is the server's: not the local one it binds.
        _ if client && !server => first_capture(code, &ports, |s| {
            parse_port(s).filter(|&p| Some(p) != bound)
        })
        .or_else(|| first_capture(code, &ports, parse_port)),
        _ => first_capture(code, &ports, parse_port),
    };
    if client {
        f.host = first_capture(code, &hosts, parse_host);
        f.hosts = every_host(code, &hosts);
    }
    f
}

/// Every server name the `patterns` capture and every address written in a string, in
/// order of appearance, each once.
fn every_host(code: &str, patterns: &[&Regex]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = patterns
        .iter()
        .flat_map(|re| re.captures_iter(code))
        .filter_map(|c| c.get(1))
        .filter_map(|m| parse_host(m.as_str()).map(|h| (m.start(), h)))
        .collect();
    // `"10.0.0.117"`, `'192.168.0.123:12000'`, `"[fd00::7]:12000"`, `"fd00::7"`.
    let literal = regex!(
        r#"["'`]\[?((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})\]?(?::\d{1,5})?["'`]"#
    );
    for c in literal.captures_iter(code) {
        let m = c.get(1).expect("one group");
        if m.as_str().parse::<std::net::IpAddr>().is_ok() {
            found.push((m.start(), m.as_str().to_string()));
        }
    }
    found.sort_by_key(|(at, _)| *at);
    let mut out: Vec<String> = Vec::new();
    for (_, host) in found {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        if !out.contains(&host) {
            out.push(host);
        }
    }
    out
}

fn python(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    let mut f = Features::default();
    let udp = h(regex!(r"\bSOCK_DGRAM\b"));
    let listen = h(regex!(r"\.listen\s*\(")) || h(regex!(r"\.accept\s*\("));
    let connect = h(regex!(r"\.connect\s*\("));
    // socket() without a type is a stream socket.
    let tcp = h(regex!(r"\bSOCK_STREAM\b")) || (!udp && (listen || connect));
    let talks_first = sends_first(code, regex!(r"\.sendto\s*\("), regex!(r"\.recvfrom\s*\("));
    f.udp_server =
        udp && h(regex!(r"\.bind\s*\(")) && h(regex!(r"\.recvfrom\s*\(")) && !talks_first;
    f.udp_client = udp
        && !f.udp_server
        && (h(regex!(r"\.sendto\s*\(")) || (connect && h(regex!(r"\.send(?:all)?\s*\("))));
    f.tcp_server = tcp && listen;
    f.tcp_client = tcp && !f.tcp_server && connect;
    Reading {
        roles: f,
        ports: vec![
            port_variable(),
            regex!(r#"\.bind\s*\(\s*\(\s*['"][^'"]*['"]\s*,\s*(\d{1,5})\s*\)"#),
            regex!(r#"\(\s*(?:'[^']*'|"[^"]*"|\w+)\s*,\s*(\d{1,5})\s*\)"#),
        ],
        hosts: vec![
            host_variable(),
            regex!(r#"\(\s*['"]([^'"]+)['"]\s*,\s*(?:\d+|\w+)\s*\)"#),
        ],
        bound: regex!(r"\.bind\s*\(\s*\(\s*[^,()]*,\s*(\w+)\s*\)")
            .captures(code)
            .and_then(|c| port_value(code, &c[1])),
    }
}

fn java(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    let mut f = Features::default();
    f.udp_server = h(regex!(r"new\s+DatagramSocket\s*\(\s*[^)\s]"))
        && h(regex!(r"\.receive\s*\("))
        && !sends_first(code, regex!(r"\.send\s*\("), regex!(r"\.receive\s*\("));
    f.udp_client = h(regex!(r"\bDatagramSocket\b")) && !f.udp_server && h(regex!(r"\.send\s*\("));
    f.tcp_server = h(regex!(r"\bServerSocket\b"));
    f.tcp_client = !f.tcp_server && h(regex!(r"new\s+Socket\s*\("));
    Reading {
        roles: f,
        ports: vec![
            regex!(r"new\s+(?:Datagram|Server)Socket\s*\(\s*(\d{1,5})\s*\)"),
            regex!(r"new\s+Socket\s*\([^,()]+,\s*(\d{1,5})\s*\)"),
            regex!(r"new\s+DatagramPacket\s*\([^;]*?,\s*(\d{1,5})\s*\)"),
            port_variable(),
        ],
        hosts: vec![
            regex!(r#"getByName\s*\(\s*"([^"]+)""#),
            regex!(r#"new\s+Socket\s*\(\s*"([^"]+)""#),
            host_variable(),
        ],
        bound: regex!(r"new\s+(?:Datagram|Server)Socket\s*\(\s*(\w+)\s*\)")
            .captures(code)
            .and_then(|c| port_value(code, &c[1])),
    }
}

fn c(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    let mut f = Features::default();
    let udp = h(regex!(r"\bSOCK_DGRAM\b"));
    let tcp = h(regex!(r"\bSOCK_STREAM\b"));
    let connect = h(regex!(r"\bconnect\s*\("));
    f.udp_server = udp
        && h(regex!(r"\bbind\s*\("))
        && h(regex!(r"\brecvfrom\s*\("))
        && !sends_first(code, regex!(r"\bsendto\s*\("), regex!(r"\brecvfrom\s*\("));
    f.udp_client = udp
        && !f.udp_server
        && (h(regex!(r"\bsendto\s*\(")) || (connect && h(regex!(r"\b(?:send|write)\s*\("))));
    f.tcp_server = tcp && (h(regex!(r"\blisten\s*\(")) || h(regex!(r"\baccept\s*\(")));
    f.tcp_client = tcp && !f.tcp_server && connect;
    Reading {
        roles: f,
        ports: vec![
            regex!(r"\bhtons\s*\(\s*(\d{1,5})\s*\)"),
            port_define(),
            port_variable(),
            regex!(r#"\bgetaddrinfo\s*\([^,]+,\s*"(\d{1,5})""#),
            regex!(r#"\batoi\s*\(\s*"(\d{1,5})"\s*\)"#),
        ],
        hosts: vec![
            regex!(r#"\binet_addr\s*\(\s*"([^"]+)""#),
            regex!(r#"\binet_pton\s*\(\s*\w+\s*,\s*"([^"]+)""#),
            regex!(r#"\binet_aton\s*\(\s*"([^"]+)""#),
            regex!(r#"\bgethostbyname\s*\(\s*"([^"]+)""#),
            regex!(r#"\bgetaddrinfo\s*\(\s*"([^"]+)""#),
            regex!(r#"(?i)#\s*define\s+\w*(?:host|server|addr|ip)\w*\s+"([^"]+)""#),
            host_variable(),
        ],
        bound: c_bound_port(code),
    }
}

/// The port of the address a C program binds: the `sin_port` given to the structure
/// whose address `bind` gets.
fn c_bound_port(code: &str) -> Option<u16> {
    let bound = regex!(r"\bbind\s*\([^;]*?&\s*(\w+)").captures(code)?;
    let var = &bound[1];
    regex!(r"(\w+)\s*(?:\.|->)\s*sin6?_port\s*=\s*htons\s*\(\s*(\w+)\s*\)")
        .captures_iter(code)
        .find(|c| &c[1] == var)
        .and_then(|c| port_value(code, &c[2]))
}

fn javascript(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    let mut f = Features::default();
    let udp = h(regex!(
        r#"createSocket\s*\(\s*(?:\{\s*type\s*:\s*)?['"`]udp[46]"#
    ));
    let net = h(regex!(r#"require\s*\(\s*['"`](?:node:)?net['"`]\s*\)"#))
        || h(regex!(r#"from\s+['"](?:node:)?net['"]"#));
    f.udp_server = udp && h(regex!(r"\.bind\s*\(")) && h(regex!(r#"\.on\s*\(\s*['"`]message"#));
    f.udp_client = udp && !f.udp_server && h(regex!(r"\.send\s*\("));
    f.tcp_server = net && (h(regex!(r"\bcreateServer\s*\(")) || h(regex!(r"\.listen\s*\(")));
    f.tcp_client = net
        && !f.tcp_server
        && (h(regex!(r"\b(?:createConnection|connect)\s*\(")) || h(regex!(r"new\s+net\.Socket\b")));
    Reading {
        roles: f,
        ports: vec![
            port_variable(),
            regex!(r"\.(?:bind|listen|connect)\s*\(\s*(\d{1,5})\b"),
            regex!(r"\bport\s*:\s*(\d{1,5})\b"),
            regex!(r"\.send\s*\([^;]*?,\s*(\d{1,5})\s*[,)]"),
        ],
        hosts: vec![
            host_variable(),
            regex!(r#"\bhost\s*:\s*['"`]([^'"`]+)['"`]"#),
            regex!(r#"\.connect\s*\(\s*\w+\s*,\s*['"`]([^'"`]+)['"`]"#),
            regex!(r#"\.send\s*\([^;]*?,\s*\w+\s*,\s*['"`]([^'"`]+)['"`]"#),
        ],
        bound: regex!(r"\.bind\s*\(\s*(\w+)")
            .captures(code)
            .and_then(|c| port_value(code, &c[1])),
    }
}

fn go(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    // The local address of a packet socket: `ListenPacket("udp", ":12000")`, or
    // `ListenUDP("udp", addr)` whose address is `nil` (ephemeral) or written inline.
    let packet_addr = regex!(r#"\bListenPacket\s*\(\s*"udp[46]?"\s*,\s*"([^"]*)""#)
        .captures(code)
        .map(|c| c[1].to_string());
    let listens_udp = h(regex!(r"\bListenUDP\s*\(")) || h(regex!(r#"\bListenPacket\s*\(\s*"udp"#));
    let ephemeral = packet_addr
        .as_deref()
        .is_some_and(|a| !regex!(r":0*[1-9]\d*$").is_match(a))
        || h(regex!(r#"\bListenUDP\s*\(\s*"udp[46]?"\s*,\s*nil\s*\)"#));
    let talks_first = sends_first(
        code,
        regex!(r"\.WriteTo(?:UDP)?\s*\("),
        regex!(r"\.ReadFrom(?:UDP)?\s*\("),
    );
    let udp_server = listens_udp && !ephemeral && !talks_first;
    let udp_client = h(regex!(r"\bDialUDP\s*\("))
        || h(regex!(r#"\bDial(?:Timeout)?\s*\(\s*"udp"#))
        || (listens_udp && !udp_server && h(regex!(r"\.WriteTo(?:UDP)?\s*\(")));
    let tcp_server = h(regex!(r"\bListenTCP\s*\(")) || h(regex!(r#"\bListen\s*\(\s*"tcp"#));
    let tcp_client = h(regex!(r"\bDialTCP\s*\(")) || h(regex!(r#"\bDial(?:Timeout)?\s*\(\s*"tcp"#));
    let bound = packet_addr
        .as_deref()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok());
    Reading {
        roles: Features {
            udp_server,
            udp_client,
            tcp_server,
            tcp_client,
            ..Features::default()
        },
        ports: vec![
            regex!(r#""[\w.\-]*:(\d{1,5})""#),
            regex!(r"\bPort\s*:\s*(\d{1,5})\b"),
            regex!(r#"\bJoinHostPort\s*\([^,]+,\s*"(\d{1,5})""#),
            port_variable(),
            regex!(r#""(\d{4,5})""#),
        ],
        hosts: vec![
            regex!(r#""([\w.\-]+):\d{1,5}""#),
            regex!(r#"\bJoinHostPort\s*\(\s*"([^"]+)""#),
            host_variable(),
        ],
        bound,
    }
}

fn rust(code: &str) -> Reading {
    let h = |re: &Regex| re.is_match(code);
    let mut f = Features::default();
    let udp = h(regex!(r"\bUdpSocket\b"));
    let bound_port = first_capture(
        code,
        &[regex!(r#"UdpSocket::bind\s*\(\s*"[^"]*:(\d{1,5})""#)],
        |s| s.parse::<u16>().ok(),
    );
    let reads_stdin = h(regex!(r"\bstdin\s*\("));
    let fixed_bind = match bound_port {
        Some(p) => p != 0,
        None => h(regex!(r"UdpSocket::bind\s*\(")) && !reads_stdin,
    };
    f.udp_server = udp
        && fixed_bind
        && h(regex!(r"\.recv_from\s*\("))
        && !sends_first(code, regex!(r"\.send_to\s*\("), regex!(r"\.recv_from\s*\("));
    f.udp_client = udp && !f.udp_server && h(regex!(r"\.(?:send_to|connect)\s*\("));
    f.tcp_server = h(regex!(r"\bTcpListener\b"));
    f.tcp_client = !f.tcp_server && h(regex!(r"TcpStream::connect\s*\("));
    Reading {
        roles: f,
        ports: vec![
            regex!(r#""[\w.\-\[\]:]*:(\d{1,5})""#),
            // `TcpStream::connect(("127.0.0.1", 12000))`: a (host, port) pair.
            regex!(r#"\(\s*"[^"]*"\s*,\s*(\d{1,5})\s*\)"#),
            port_variable(),
        ],
        hosts: vec![
            regex!(r#""([\w.\-]+):\d{1,5}""#),
            regex!(r#"connect\s*\(\s*\(\s*"([^"]+)""#),
            host_variable(),
        ],
        bound: bound_port,
    }
}

/// The Python 2 syntax in `code`, named as a note names it: `raw_input`, a `print`
/// statement, `except E, e`. Code with any of these cannot run under Python 3.
pub(super) fn python2_syntax(code: &str) -> Option<&'static str> {
    if regex!(r"\braw_input\s*\(").is_match(code) {
        Some("raw_input")
    } else if regex!(r"(?m)^[ \t]*print[ \t]+[^\s(=.,;)]").is_match(code) {
        Some("a print statement")
    } else if regex!(r"(?m)^[ \t]*except\s+[\w.]+\s*,\s*\w+\s*:").is_match(code) {
        Some("`except E, e`")
    } else {
        None
    }
}

/// What in `code` shows it was written for Python 3, named as a note names it: `input()`,
/// `.encode()` or `.decode()` of the text, `print(…, end=…)`, an f-string, `bytes`. Code
/// with any of these runs differently (or not at all) under Python 2, e.g. `.encode()`
/// of non-ASCII text fails there.
pub(super) fn python3_usage(code: &str) -> Option<&'static str> {
    if regex!(r"(?:^|[^\w.])input\s*\(").is_match(code) {
        Some("input()")
    } else if regex!(r"\.(?:en|de)code\s*\(").is_match(code) {
        Some(".encode() and .decode()")
    } else if regex!(r"\bprint\s*\([^)]*\b(?:end|sep|file|flush)\s*=").is_match(code) {
        Some("print(…, end=…)")
    } else if regex!(r#"(?:^|[^\w])[fF][rR]?["']"#).is_match(code) {
        Some("f-strings")
    } else if regex!(r#"(?:^|[^\w.])bytes\s*\("#).is_match(code) {
        Some("bytes()")
    } else {
        None
    }
}
