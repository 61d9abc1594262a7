//! What confinement costs per process: spawning and waiting for `/bin/true` plainly and
//! inside the grading sandbox (its own user, pids cgroup, mount namespace and limits).
//!
//! `cargo bench --bench sandbox` (as root on Linux) runs `SHOUT_BENCH_ROUNDS` interleaved
//! rounds (default 5) of `SHOUT_BENCH_SPAWNS` spawns each way (default 50) and prints the
//! mean time per spawn and the confined/plain ratio of each round, then the median ratio.

#[cfg(target_os = "linux")]
fn main() {
    use std::net::{IpAddr, Ipv4Addr};
    use std::os::unix::fs::PermissionsExt;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use shout::run::process::{Exit, Running, Spawn};
    use shout::run::sandbox::{prepare_workdir, Limits, Sandbox};

    if std::env::args().any(|a| a == "--list") {
        // `cargo test --benches` asks for a list; this bench has no tests.
        return;
    }
    let env = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = env("SHOUT_BENCH_ROUNDS", 5);
    let spawns = env("SHOUT_BENCH_SPAWNS", 50).max(1);
    let hosts = [("hostname".to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST))];
    let sandbox = match Sandbox::new(Limits::default(), &hosts) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: cannot create the sandbox ({e}); run this bench as root on Linux");
            std::process::exit(2);
        }
    };
    let open_dir = || {
        let dir = tempfile::Builder::new()
            .prefix("shout-bench-sandbox-")
            .tempdir()
            .expect("a temporary directory");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("permissions on the temporary directory");
        dir
    };
    let (src, parent) = (open_dir(), open_dir());
    let work = prepare_workdir(src.path(), parent.path()).expect("a work folder");
    let mean = |confine: bool| {
        let started = Instant::now();
        for _ in 0..spawns {
            let spec = Spawn {
                argv: vec!["/bin/true".into()],
                cwd: Some(work.clone()),
                capture_limit: 64,
                confine: confine.then(|| Arc::clone(&sandbox) as _),
                ..Spawn::default()
            };
            let done = Running::spawn(&spec)
                .expect("spawning /bin/true")
                .finish(Duration::from_secs(10));
            assert_eq!(done.exit, Exit::Code(0), "/bin/true failed");
        }
        started.elapsed() / spawns
    };
    println!("spawn + wait of /bin/true, {spawns} per measurement, {rounds} rounds");
    println!(
        "{:>5} {:>10} {:>10} {:>6}",
        "round", "plain", "confined", "ratio"
    );
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        let plain = mean(false);
        let confined = mean(true);
        let ratio = confined.as_secs_f64() / plain.as_secs_f64();
        ratios.push(ratio);
        println!("{round:>5} {plain:>10.2?} {confined:>10.2?} {ratio:>6.2}");
    }
    ratios.sort_by(f64::total_cmp);
    if let Some(median) = ratios.get(ratios.len() / 2) {
        println!("median confined/plain: {median:.2}");
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("error: the grading sandbox needs Linux");
    std::process::exit(2);
}
