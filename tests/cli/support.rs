//! Shared test plumbing: finding interpreters, starting servers, bounded waits.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A reference script by file name, e.g. `UDPServer.py`.
pub fn reference(script: &str) -> PathBuf {
    root().join("reference").join(script)
}

/// A CPython 3 interpreter found on this machine.
#[derive(Debug, Clone)]
pub struct Python {
    /// The interpreter's path.
    pub path: PathBuf,
    /// `sys.version_info[:2]`, e.g. `3.11`.
    pub version: String,
    /// `unicodedata.unidata_version`, e.g. `14.0.0`.
    pub unicode: String,
}

fn probe(path: &Path) -> Option<Python> {
    let out = Command::new(path)
        .args([
            "-c",
            "import sys, unicodedata; print('%d.%d' % sys.version_info[:2], unicodedata.unidata_version)",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut words = text.split_whitespace();
    let version = words.next()?.to_string();
    let unicode = words.next()?.to_string();
    if !version.starts_with("3.") {
        return None;
    }
    Some(Python {
        path: path.to_path_buf(),
        version,
        unicode,
    })
}

/// The default `python3` (from `PATH`); panics with what to install when missing.
pub fn python3() -> Python {
    let path = which::which("python3")
        .expect("python3 is not on PATH: install CPython 3 (apt-get install python3)");
    probe(&path).expect("python3 on PATH does not run as CPython 3")
}

/// Every CPython 3 interpreter to test against, one per `major.minor`, oldest first.
///
/// `SHOUT_PYTHONS` (colon-separated paths) overrides discovery; otherwise the
/// interpreters under `$(pyenv root)/versions/*/bin/python3` plus `python3` on `PATH`.
pub fn python3_interpreters() -> Vec<Python> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(list) = std::env::var("SHOUT_PYTHONS") {
        for p in list.split(':').filter(|p| !p.is_empty()) {
            let python = probe(Path::new(p)).unwrap_or_else(|| {
                panic!("SHOUT_PYTHONS names `{p}`, which is not a runnable CPython 3")
            });
            candidates.push(python.path);
        }
    } else {
        let pyenv_root = std::env::var("PYENV_ROOT")
            .map(PathBuf::from)
            .ok()
            .or_else(|| {
                Command::new("pyenv")
                    .arg("root")
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
                    .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            });
        if let Some(root) = pyenv_root {
            if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
                for e in entries.flatten() {
                    let p = e.path().join("bin").join("python3");
                    if p.exists() {
                        candidates.push(p);
                    }
                }
            }
        }
        if let Ok(p) = which::which("python3") {
            candidates.push(p);
        }
    }
    let mut found: Vec<Python> = Vec::new();
    for c in candidates {
        if let Some(p) = probe(&c) {
            if !found.iter().any(|f| f.version == p.version) {
                found.push(p);
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no CPython 3 interpreter found: install python3 or set SHOUT_PYTHONS"
    );
    found.sort_by_key(|p| {
        let mut it = p.version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    });
    found
}

use shout::proto::Transport;
use shout::run::ports::{lease_port, PortLease};
use shout::run::process::{Finished, Running, Spawn};
use shout::run::ready::wait_until_bound;
use std::ffi::OsString;
use std::time::Duration;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

/// The `shout` binary under test.
pub fn shout_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shout"))
}

/// The environment every reference script runs with: UTF-8 standard streams on every
/// CPython 3 (3.6 would otherwise use ASCII under the C locale).
pub fn python_env() -> Vec<(OsString, OsString)> {
    vec![
        ("LC_ALL".into(), "C.UTF-8".into()),
        ("PYTHONIOENCODING".into(), "utf-8".into()),
    ]
}

/// Which implementation plays a role.
#[derive(Debug, Clone)]
pub enum Side {
    /// A reference script under this interpreter.
    Python(Python),
    /// `shout`'s own role, with this `--unicode` for servers.
    Rust { unicode: String },
}

impl Side {
    /// The reference under the default `python3`.
    pub fn python() -> Side {
        Side::Python(python3())
    }

    /// The Rust role, with the Unicode version of the default `python3`.
    pub fn rust() -> Side {
        Side::Rust {
            unicode: python3().unicode,
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> String {
        match self {
            Side::Python(p) => format!("python{}", p.version),
            Side::Rust { .. } => "rust".into(),
        }
    }

    fn argv(
        &self,
        transport: Transport,
        role: &str,
        args: &[String],
    ) -> (Vec<OsString>, Vec<(OsString, OsString)>) {
        match self {
            Side::Python(p) => {
                let script = format!("{}{}.py", transport.as_str().to_uppercase(), role);
                let mut argv: Vec<OsString> =
                    vec![p.path.clone().into(), reference(&script).into()];
                argv.extend(args.iter().map(OsString::from));
                (argv, python_env())
            }
            Side::Rust { unicode } => {
                let mut argv: Vec<OsString> = vec![
                    shout_bin().into(),
                    format!("{}-{}", transport, role.to_lowercase()).into(),
                ];
                argv.extend(args.iter().map(OsString::from));
                if role == "Server" {
                    argv.push("--unicode".into());
                    argv.push(unicode.into());
                }
                (argv, Vec::new())
            }
        }
    }
}

/// A server started on a leased port; killed (with its group) when dropped.
pub struct Server {
    /// The running process.
    pub process: Option<Running>,
    /// The port it listens on.
    pub port: u16,
    /// Its transport.
    pub transport: Transport,
    _lease: PortLease,
}

impl Server {
    /// Starts `side`'s server and waits until the kernel shows it listening.
    pub fn start(side: &Side, transport: Transport) -> Server {
        Self::start_with(side, transport, &[])
    }

    /// Like [`Server::start`], with extra arguments after the port.
    pub fn start_with(side: &Side, transport: Transport, extra: &[&str]) -> Server {
        let lease = lease_port().expect("lease a port");
        let port = lease.port();
        let mut args = vec![port.to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let (argv, env) = side.argv(transport, "Server", &args);
        let spec = Spawn {
            argv,
            env,
            stdin: None,
            capture_limit: 1 << 20,
            ..Spawn::default()
        };
        let mut process = Running::spawn(&spec).expect("spawn server");
        if let Err(e) = wait_until_bound(&mut process, transport, port, WAIT) {
            let out = process.stop();
            panic!(
                "{} {transport} server never listened on {port}: {e}\nstderr: {}",
                side.name(),
                String::from_utf8_lossy(&out.stderr.bytes)
            );
        }
        Server {
            process: Some(process),
            port,
            transport,
            _lease: lease,
        }
    }

    /// Whether the server process is still running.
    pub fn alive(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }

    /// Stops the server and returns what it printed.
    pub fn stop(mut self) -> Finished {
        self.process.take().expect("server").stop()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(p) = self.process.take() {
            p.stop();
        }
    }
}

/// Runs `side`'s client against `127.0.0.1:port` with `stdin` and returns how it ended.
pub fn run_client(side: &Side, transport: Transport, port: u16, stdin: &[u8]) -> Finished {
    let (argv, env) = side.argv(
        transport,
        "Client",
        &["127.0.0.1".to_string(), port.to_string()],
    );
    let spec = Spawn {
        argv,
        env,
        stdin: Some(stdin.to_vec()),
        capture_limit: 1 << 20,
        ..Spawn::default()
    };
    Running::spawn(&spec).expect("spawn client").finish(WAIT)
}

/// Sends `request` as one datagram to `127.0.0.1:port`; the reply, or `None` after `wait`.
pub fn udp_exchange(port: u16, request: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    s.send_to(request, ("127.0.0.1", port)).unwrap();
    let mut buf = vec![0u8; 65536];
    s.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
}

/// Connects to `127.0.0.1:port`, writes `request`, and reads until the server closes
/// (or `wait` passes); the bytes read, or the error that ended the read.
pub fn tcp_exchange(port: u16, request: &[u8], wait: Duration) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(wait))?;
    s.write_all(request)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// Escapes bytes for assertion messages.
pub fn show(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}
