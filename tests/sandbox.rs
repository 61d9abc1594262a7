//! The grading sandbox on real processes: a fork bomb, a memory hog, a CPU spinner and a
//! file-size hog are contained; children see a private `/etc/hosts`, run as `nobody` and
//! cannot write outside their work folder; `javac`/`java`, `gcc` and `node` still work
//! under the default limits; each worker thread gets its own network namespace.
//!
//! These tests need root on Linux (a pids cgroup, mount namespaces, switching users);
//! elsewhere they fail and say so. Every process a test starts carries a marker in its
//! environment, and each test ends by checking `/proc` that none is left.

#[cfg(not(target_os = "linux"))]
#[test]
fn sandbox_tests_need_linux() {
    panic!("the grading sandbox tests need Linux (pids cgroups, namespaces) and root");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::OsString;
    use std::fs;
    use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use shout::run::process::{Exit, Finished, Running, Spawn};
    use shout::run::sandbox::{enter_fresh_netns, prepare_workdir, Limits, Sandbox, User};

    const MARKER_VAR: &str = "SHOUT_SANDBOX_TEST";
    const CAPTURE: usize = 1 << 20;

    /// Fails the test, saying what is needed, unless every feature the sandbox relies on
    /// works here.
    fn require_root() {
        // SAFETY: geteuid(2) cannot fail.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "these tests need root on Linux: the sandbox uses a pids cgroup, a mount \
             namespace and setuid to nobody; run `cargo test --test sandbox` as root"
        );
        let support = Sandbox::support();
        let missing = support.unavailable();
        assert!(
            missing.is_empty(),
            "the sandbox cannot confine children on this machine: {missing:?}"
        );
    }

    /// A program from the system's own folders (the user's `~/.pyenv` or `~/.cargo` are
    /// not readable by `nobody`).
    fn tool(name: &str) -> PathBuf {
        ["/usr/bin", "/usr/local/bin", "/bin"]
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{name} is needed in /usr/bin for this test: apt-get install the package that provides it"))
    }

    /// One test's processes: each carries `SHOUT_SANDBOX_TEST=<marker>`.
    struct Marked {
        marker: String,
        seen: Vec<i32>,
    }

    impl Marked {
        fn new(test: &str) -> Marked {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            Marked {
                marker: format!("{test}-{}-{n}", std::process::id()),
                seen: Vec::new(),
            }
        }

        fn spawn(&mut self, sandbox: &Arc<Sandbox>, argv: &[&str], cwd: &Path) -> Running {
            let spec = Spawn {
                argv: argv.iter().map(OsString::from).collect(),
                cwd: Some(cwd.to_path_buf()),
                env: vec![(MARKER_VAR.into(), self.marker.clone().into())],
                stdin: None,
                capture_limit: CAPTURE,
                confine: Some(Arc::clone(sandbox) as _),
            };
            let running = Running::spawn(&spec)
                .unwrap_or_else(|e| panic!("cannot spawn {argv:?} in the sandbox: {e}"));
            self.seen.push(running.pid() as i32);
            running
        }

        fn run(&mut self, sandbox: &Arc<Sandbox>, argv: &[&str], cwd: &Path) -> Finished {
            self.spawn(sandbox, argv, cwd)
                .finish(Duration::from_secs(120))
        }

        /// Processes whose environment holds the marker, and seen pids still in `/proc`.
        fn alive(&self) -> Vec<i32> {
            let needle = format!("{MARKER_VAR}={}\0", self.marker);
            let mut alive: Vec<i32> = fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|pid| {
                    fs::read(format!("/proc/{pid}/environ"))
                        .map(|env| env.windows(needle.len()).any(|w| w == needle.as_bytes()))
                        .unwrap_or(false)
                })
                .collect();
            alive.extend(
                self.seen
                    .iter()
                    .filter(|pid| Path::new(&format!("/proc/{pid}")).exists()),
            );
            alive.sort_unstable();
            alive.dedup();
            alive
        }

        /// Fails unless every process this test started is gone (zombies included) within
        /// a few seconds, which is how long their reaping may take.
        fn assert_none_left(&self) {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let alive = self.alive();
                if alive.is_empty() {
                    return;
                }
                if Instant::now() > deadline {
                    let states: Vec<String> = alive
                        .iter()
                        .map(|pid| {
                            fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default()
                        })
                        .collect();
                    panic!("processes left behind: {states:#?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn loopback(name: &str) -> (String, IpAddr) {
        (name.to_owned(), IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    fn sandbox(limits: Limits) -> Arc<Sandbox> {
        Arc::new(
            Sandbox::new(limits, &[loopback("hostname"), loopback("servername")])
                .expect("cannot create the sandbox"),
        )
    }

    /// A folder that `nobody` may enter, removed at the end of the test.
    fn open_tempdir() -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("shout-sandbox-test-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    /// A work folder prepared from `files` the way grading prepares a submission.
    fn workdir(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
        let src = open_tempdir();
        for (name, text) in files {
            fs::write(src.path().join(name), text).unwrap();
        }
        let parent = open_tempdir();
        let work = prepare_workdir(src.path(), parent.path()).unwrap();
        (parent, work)
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    fn cgroup_of(pid: u32) -> PathBuf {
        let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let path = text
            .lines()
            .find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers.split(',').any(|c| c == "pids").then_some(path)
            })
            .expect("the child is in no pids cgroup");
        assert!(
            path.contains("/shout/"),
            "the child is not in its own cgroup: {path}"
        );
        Path::new("/sys/fs/cgroup/pids").join(path.trim_start_matches('/'))
    }

    fn cgroup_procs(dir: &Path) -> Vec<i32> {
        fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    /// The session id (field 6 of `/proc/PID/stat`).
    fn session_of(pid: i32) -> Option<i32> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 2..];
        after_name.split(' ').nth(3)?.parse().ok()
    }

    const FORK_BOMB: &str = r#"
# Bounded: at most 2000 forks; every child sleeps 20 s and exits; the parent exits after 20 s.
# It forks only inside a pids cgroup of the sandbox with a limit of at most 64.
import os, sys, time
cgroup = [l.split(':', 2)[2].strip() for l in open('/proc/self/cgroup') if ':pids:' in l]
limit = open('/sys/fs/cgroup/pids' + cgroup[0] + '/pids.max').read().strip() if cgroup else 'none'
if not cgroup or '/shout/' not in cgroup[0] or not limit.isdigit() or int(limit) > 64:
    print('unconfined', cgroup, limit, flush=True)
    sys.exit(3)
made = failed = 0
for i in range(2000):
    try:
        pid = os.fork()
    except OSError:
        failed += 1
        time.sleep(0.001)
        continue
    if pid == 0:
        if i % 2:
            os.setsid()
        time.sleep(20)
        os._exit(0)
    made += 1
print(made, failed, flush=True)
time.sleep(20)
"#;

    #[test]
    fn fork_bomb_is_capped_by_its_cgroup_and_leaves_nothing_behind() {
        require_root();
        let limits = Limits {
            processes: 16,
            ..Limits::default()
        };
        // The bomb checks its own cgroup through /sys, which bubblewrap's world does not
        // show: this test is about the pids cgroup layer alone.
        let sandbox = Arc::new(
            Sandbox::new(limits, &[loopback("hostname")])
                .expect("cannot create the sandbox")
                .without_bubblewrap(),
        );
        let (_parent, work) = workdir(&[("bomb.py", FORK_BOMB)]);
        let mut marked = Marked::new("fork-bomb");
        let python = tool("python3");
        let mut bomb = marked.spawn(&sandbox, &[python.to_str().unwrap(), "bomb.py"], &work);
        let cgroup = cgroup_of(bomb.pid());
        assert_eq!(
            fs::read_to_string(cgroup.join("pids.max")).unwrap().trim(),
            "16"
        );

        let mut most_alive = 0;
        let mut in_cgroup = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while bomb.stdout_so_far().is_empty() {
            assert!(
                Instant::now() < deadline,
                "the fork bomb never finished its loop"
            );
            let procs = cgroup_procs(&cgroup);
            most_alive = most_alive.max(procs.len());
            in_cgroup.extend(procs);
            std::thread::sleep(Duration::from_millis(10));
        }
        let procs = cgroup_procs(&cgroup);
        most_alive = most_alive.max(procs.len());
        in_cgroup.extend(procs.iter().copied());
        let report = text(&bomb.stdout_so_far());
        assert!(
            !report.starts_with("unconfined"),
            "the bomb refused to run: {report}"
        );
        let counts: Vec<u32> = report
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let (made, failed) = (counts[0], counts[1]);
        assert!(
            made <= 15,
            "the bomb forked {made} times under a limit of 16 processes"
        );
        assert!(
            failed > 0,
            "no fork failed: the limit was never reached ({report})"
        );
        assert!(
            most_alive <= 16,
            "{most_alive} processes alive in the cgroup"
        );
        let escaped = procs
            .iter()
            .filter(|&&pid| pid != bomb.pid() as i32 && session_of(pid) == Some(pid))
            .count();
        assert!(
            escaped > 0,
            "no child started a session of its own: {procs:?}"
        );

        println!(
            "fork bomb: {made} forks, {failed} refused, at most {most_alive} alive, {escaped} leading their own session"
        );
        // The harness itself can still start processes and threads.
        let echo = Running::spawn(&Spawn {
            argv: vec!["/bin/echo".into(), "still here".into()],
            capture_limit: 64,
            ..Spawn::default()
        })
        .expect("the harness cannot spawn while the bomb runs")
        .finish(Duration::from_secs(10));
        assert_eq!(echo.exit, Exit::Code(0));
        assert_eq!(echo.stdout.bytes, b"still here\n");
        std::thread::spawn(|| ()).join().unwrap();

        // The children in their own sessions are out of the process group, not the cgroup.
        bomb.terminate();
        assert_eq!(
            cgroup_procs(&cgroup),
            Vec::<i32>::new(),
            "the cgroup is not empty"
        );
        marked.seen.extend(in_cgroup);
        drop(bomb);
        assert!(!cgroup.exists(), "the cgroup {cgroup:?} was not removed");
        marked.assert_none_left();
    }

    #[test]
    fn memory_hog_dies_under_the_default_limits() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("memory-hog");
        let python = tool("python3");
        let done = marked.run(
            &sandbox,
            &[
                python.to_str().unwrap(),
                "-c",
                "b = bytearray(4 << 30)\nprint('allocated', len(b))",
            ],
            &work,
        );
        let stderr = text(&done.stderr.bytes);
        assert!(
            matches!(done.exit, Exit::Signal(_))
                || (done.exit == Exit::Code(1) && stderr.contains("MemoryError")),
            "the hog was not stopped: {} {stderr}{}",
            done.exit,
            text(&done.stdout.bytes)
        );
        marked.assert_none_left();
    }

    #[test]
    fn cpu_spinner_is_killed_after_its_cpu_seconds() {
        require_root();
        let sandbox = sandbox(Limits {
            cpu_seconds: 1,
            ..Limits::default()
        });
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("cpu-spinner");
        let python = tool("python3");
        let started = Instant::now();
        let done = marked
            .spawn(
                &sandbox,
                &[python.to_str().unwrap(), "-c", "while True: pass"],
                &work,
            )
            .finish(Duration::from_secs(20));
        let took = started.elapsed();
        assert!(
            matches!(
                done.exit,
                Exit::Signal(libc::SIGXCPU) | Exit::Signal(libc::SIGKILL)
            ),
            "the spinner ended with {}",
            done.exit
        );
        assert!(
            took < Duration::from_secs(10),
            "the spinner ran for {took:?}"
        );
        marked.assert_none_left();
    }

    #[test]
    fn file_size_hog_cannot_write_past_its_limit() {
        require_root();
        let limit = 1 << 20;
        let sandbox = sandbox(Limits {
            file_size_bytes: limit,
            ..Limits::default()
        });
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("file-hog");
        let python = tool("python3");
        let script = "f = open('big.bin', 'wb')\nfor _ in range(32):\n    f.write(b'x' * 65536)\n    f.flush()\nprint('wrote 2 MiB')";
        let done = marked.run(&sandbox, &[python.to_str().unwrap(), "-c", script], &work);
        let stderr = text(&done.stderr.bytes);
        // Python ignores SIGXFSZ, so it sees EFBIG; other programs get the signal.
        assert!(
            done.exit == Exit::Signal(libc::SIGXFSZ)
                || (done.exit == Exit::Code(1) && stderr.contains("File too large")),
            "the hog was not stopped: {} {stderr}",
            done.exit
        );
        let size = fs::metadata(work.join("big.bin")).unwrap().len();
        assert!(size <= limit, "the file grew to {size} bytes");
        marked.assert_none_left();
    }

    #[test]
    fn children_resolve_the_textbook_placeholders_through_a_private_hosts_file() {
        require_root();
        let host_hosts = fs::read("/etc/hosts").unwrap();
        let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("hosts");
        let python = tool("python3");
        let script = "import socket\nfor n in ('hostname', 'servername', 'localhost'):\n    print(socket.gethostbyname(n))";
        let done = marked.run(&sandbox, &[python.to_str().unwrap(), "-c", script], &work);
        assert_eq!(done.exit, Exit::Code(0), "{}", text(&done.stderr.bytes));
        assert_eq!(
            text(&done.stdout.bytes),
            "127.0.0.1\n127.0.0.1\n127.0.0.1\n"
        );
        assert_eq!(
            fs::read("/etc/hosts").unwrap(),
            host_hosts,
            "the host's /etc/hosts changed"
        );
        assert_eq!(
            fs::read_to_string("/proc/self/mountinfo").unwrap(),
            host_mounts,
            "a mount leaked into the harness's namespace"
        );
        marked.assert_none_left();
    }

    #[test]
    fn a_jailed_program_cannot_make_a_user_namespace_but_threads_and_forks_work() {
        require_root();
        let sandbox = sandbox(Limits::default());
        if !Sandbox::support().bubblewrap.is_available() {
            eprintln!("skipped: bubblewrap does not work here");
            return;
        }
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("userns");
        let python = tool("python3");
        // unshare(2) through libc, as a hostile C or Python program would; then a thread
        // (clone3, or clone after ENOSYS) and a fork, which must still work.
        let script = r#"
import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
for flags in (CLONE_NEWUSER, CLONE_NEWUSER | CLONE_NEWNS):
    r = libc.unshare(flags)
    print('unshare', hex(flags), r, os.strerror(ctypes.get_errno()) if r else 'made')
got = []
t = threading.Thread(target=lambda: got.append(1)); t.start(); t.join()
print('thread', got)
pid = os.fork()
if pid == 0:
    os._exit(7)
print('fork', os.waitpid(pid, 0)[1] >> 8)
def link(f):
    try:
        return os.readlink('/proc/self/fd/' + f)
    except OSError:
        return None
# Nothing but its own three: not the filter bubblewrap read, nothing the grader inherited.
print('fds', [f for f in os.listdir('/proc/self/fd') if int(f) > 2 and link(f)])
"#;
        let done = marked.run(&sandbox, &[python.to_str().unwrap(), "-c", script], &work);
        assert_eq!(done.exit, Exit::Code(0), "{}", text(&done.stderr.bytes));
        assert_eq!(
            text(&done.stdout.bytes),
            "unshare 0x10000000 -1 Operation not permitted\n\
             unshare 0x10020000 -1 Operation not permitted\n\
             thread [1]\nfork 7\nfds []\n"
        );
        // The program file util-linux ships, as a student might run it.
        let unshare = marked.run(&sandbox, &["unshare", "--user", "true"], &work);
        assert_ne!(unshare.exit, Exit::Code(0));
        marked.assert_none_left();
    }

    #[test]
    fn children_run_as_nobody_and_write_only_in_their_work_folder() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[]);
        let mut marked = Marked::new("user");
        let python = tool("python3");
        // Writes are tried only in a folder of this test's own (root's, mode 0755), so a
        // broken sandbox cannot damage the machine; system files are only asked about.
        let outside = open_tempdir();
        let escape = outside.path().join("escape.txt");
        let script = r#"
import os, sys
print(os.getuid(), os.getgid(), os.getgroups())
try:
    open(sys.argv[1], 'w').write('x')
    print('wrote outside')
except (PermissionError, FileNotFoundError):
    # Denied by permissions, or (in bubblewrap's world) not there at all.
    print('denied outside')
for path in ['/root', '/etc/passwd', '/usr/bin', '/etc/hosts']:
    print(path, 'writable' if os.access(path, os.W_OK) else 'read-only')
open('ok.txt', 'w').write('ok')
print('wrote ok.txt')
print([l for l in open('/proc/self/status') if l.startswith('NoNewPrivs')][0].strip())
"#;
        let done = marked.run(
            &sandbox,
            &[
                python.to_str().unwrap(),
                "-c",
                script,
                escape.to_str().unwrap(),
            ],
            &work,
        );
        assert_eq!(done.exit, Exit::Code(0), "{}", text(&done.stderr.bytes));
        let nobody = User::nobody();
        let expected = format!(
            "{uid} {gid} [{gid}]\ndenied outside\n/root read-only\n/etc/passwd read-only\n\
             /usr/bin read-only\n/etc/hosts read-only\nwrote ok.txt\nNoNewPrivs:\t1\n",
            uid = nobody.uid,
            gid = nobody.gid,
        );
        assert_eq!(text(&done.stdout.bytes), expected);
        assert!(!escape.exists(), "the child wrote {escape:?}");
        let ok = fs::metadata(work.join("ok.txt")).unwrap();
        assert_eq!(ok.uid(), nobody.uid);
        marked.assert_none_left();
    }

    #[test]
    fn spawning_a_missing_program_in_the_sandbox_is_an_error_not_a_silent_child() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[]);
        let spec = Spawn {
            argv: vec![OsString::from("/nonexistent/shout-no-such-program")],
            cwd: Some(work.clone()),
            env: Vec::new(),
            stdin: None,
            capture_limit: CAPTURE,
            confine: Some(Arc::clone(&sandbox) as _),
        };
        // The exec failure travels back over the standard library's channel, which the
        // confinement hook must leave open.
        let error = Running::spawn(&spec)
            .map(|r| r.pid())
            .expect_err("spawning a missing program reported success");
        assert_eq!(error.kind(), std::io::ErrorKind::NotFound, "{error}");
    }

    #[test]
    fn javac_and_java_work_under_the_default_limits() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let hello = "public class Hello { public static void main(String[] a) { System.out.println(\"hello from java\"); } }\n";
        let (_parent, work) = workdir(&[("Hello.java", hello)]);
        let mut marked = Marked::new("java");
        let (javac, java) = (tool("javac"), tool("java"));
        let version = marked.run(&sandbox, &[java.to_str().unwrap(), "-version"], &work);
        assert_eq!(
            version.exit,
            Exit::Code(0),
            "{}",
            text(&version.stderr.bytes)
        );
        let built = marked.run(&sandbox, &[javac.to_str().unwrap(), "Hello.java"], &work);
        assert_eq!(built.exit, Exit::Code(0), "{}", text(&built.stderr.bytes));
        let ran = marked.run(&sandbox, &[java.to_str().unwrap(), "Hello"], &work);
        assert_eq!(ran.exit, Exit::Code(0), "{}", text(&ran.stderr.bytes));
        assert_eq!(text(&ran.stdout.bytes), "hello from java\n");
        marked.assert_none_left();
    }

    #[test]
    fn gcc_builds_and_runs_under_the_default_limits() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let hello = "#include <stdio.h>\nint main(void) { puts(\"hello from c\"); return 0; }\n";
        let (_parent, work) = workdir(&[("hello.c", hello)]);
        let mut marked = Marked::new("gcc");
        let gcc = tool("gcc");
        let built = marked.run(
            &sandbox,
            &[gcc.to_str().unwrap(), "-Wall", "-o", "hello", "hello.c"],
            &work,
        );
        assert_eq!(built.exit, Exit::Code(0), "{}", text(&built.stderr.bytes));
        let ran = marked.run(&sandbox, &["./hello"], &work);
        assert_eq!(ran.exit, Exit::Code(0), "{}", text(&ran.stderr.bytes));
        assert_eq!(text(&ran.stdout.bytes), "hello from c\n");
        marked.assert_none_left();
    }

    #[test]
    fn node_runs_under_the_default_limits() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[("hello.js", "console.log('hello from node')\n")]);
        let mut marked = Marked::new("node");
        let node = tool("node");
        let ran = marked.run(&sandbox, &[node.to_str().unwrap(), "hello.js"], &work);
        assert_eq!(ran.exit, Exit::Code(0), "{}", text(&ran.stderr.bytes));
        assert_eq!(text(&ran.stdout.bytes), "hello from node\n");
        marked.assert_none_left();
    }

    #[test]
    fn two_workers_in_fresh_network_namespaces_both_bind_port_12000() {
        require_root();
        let sandbox = sandbox(Limits::default());
        let (_parent, work) = workdir(&[]);
        let both_bound = Arc::new(Barrier::new(2));
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let both_bound = Arc::clone(&both_bound);
                let sandbox = Arc::clone(&sandbox);
                let work = work.clone();
                std::thread::spawn(move || {
                    enter_fresh_netns().expect("cannot enter a network namespace");
                    let tcp = TcpListener::bind("127.0.0.1:12000").expect("tcp 12000");
                    let udp = UdpSocket::bind("127.0.0.1:12000").expect("udp 12000");
                    both_bound.wait();
                    // A child of this thread is in the same namespace: the port is taken.
                    let mut marked = Marked::new("netns-child");
                    let python = tool("python3");
                    let script = "import socket\ns = socket.socket()\ntry:\n    s.bind(('127.0.0.1', 12000))\n    print('bound')\nexcept OSError as e:\n    print('in use' if e.errno == 98 else e)";
                    let done = marked.run(&sandbox, &[python.to_str().unwrap(), "-c", script], &work);
                    marked.assert_none_left();
                    drop((tcp, udp));
                    text(&done.stdout.bytes)
                })
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join().expect("a worker failed"), "in use\n");
        }
    }

    #[test]
    fn a_fresh_network_namespace_cannot_reach_the_original_one() {
        require_root();
        let outside = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = outside.local_addr().unwrap();
        TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .expect("the listener is not reachable from its own namespace");
        let reached = std::thread::spawn(move || {
            enter_fresh_netns().expect("cannot enter a network namespace");
            TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map(|_| ())
        })
        .join()
        .unwrap();
        let err = reached.expect_err("a socket of the original namespace was reachable");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    }
}
