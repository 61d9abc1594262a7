//! What confinement costs per process: spawning and waiting for `/bin/true` plainly,
//! confined (its own user, pids cgroup, mount namespace and limits), and isolated (the
//! same inside bubblewrap's namespaces, in a submission's memory cgroup); and what it
//! costs per submission: the work folder alone, or with the submission's own user,
//! memory cgroup and size-capped work folder (a tmpfs) made and removed.
//!
//! `cargo bench --bench sandbox` (as root on Linux) runs `SHOUT_BENCH_ROUNDS` interleaved
//! rounds (default 5) of `SHOUT_BENCH_SPAWNS` spawns each way (default 50) and prints the
//! mean time per spawn and the ratios to plain of each round, then the median ratios, then
//! the mean cost of setting up and tearing down one submission.

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
    // As `shout grade` does before any thread starts: a mount namespace of its own, so a
    // submission's work folder is a size-capped tmpfs (its cost is in the per-submission
    // figure).
    let capped = shout::run::sandbox::enter_private_mounts().is_ok();
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
    std::fs::write(src.path().join("TCPServer.py"), "print('hi')\n").expect("a source file");
    let work = prepare_workdir(src.path(), parent.path()).expect("a work folder");
    let confined = Arc::new(sandbox.as_ref().clone().without_bubblewrap());
    let isolated = Arc::new(
        sandbox
            .for_submission(0, shout::run::sandbox::SUBMISSION_MEMORY_BYTES, &[])
            .expect("a submission's sandbox"),
    );
    if !isolated.is_jailed() {
        eprintln!("note: bubblewrap does not work here; the isolated column is only confined");
    }
    let mean = |confine: Option<&Arc<Sandbox>>| {
        let started = Instant::now();
        for _ in 0..spawns {
            let spec = Spawn {
                argv: vec!["/bin/true".into()],
                cwd: Some(work.clone()),
                capture_limit: 64,
                confine: confine.map(|s| Arc::clone(s) as _),
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
        "{:>5} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "round", "plain", "confined", "isolated", "conf/pl", "isol/pl"
    );
    let (mut conf_ratios, mut isol_ratios) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let plain = mean(None);
        let conf = mean(Some(&confined));
        let isol = mean(Some(&isolated));
        let (rc, ri) = (
            conf.as_secs_f64() / plain.as_secs_f64(),
            isol.as_secs_f64() / plain.as_secs_f64(),
        );
        conf_ratios.push(rc);
        isol_ratios.push(ri);
        println!("{round:>5} {plain:>10.2?} {conf:>10.2?} {isol:>10.2?} {rc:>8.2} {ri:>8.2}");
    }
    for (name, ratios) in [
        ("confined", &mut conf_ratios),
        ("isolated", &mut isol_ratios),
    ] {
        ratios.sort_by(f64::total_cmp);
        if let Some(median) = ratios.get(ratios.len() / 2) {
            println!("median {name}/plain: {median:.2}");
        }
    }
    // Per submission: the work folder alone, or with its own user, memory cgroup and cap.
    let submissions = spawns.min(20);
    let setup = |own: bool| {
        let started = Instant::now();
        for n in 0..submissions {
            let one = own.then(|| {
                sandbox
                    .for_submission(n, shout::run::sandbox::SUBMISSION_MEMORY_BYTES, &[])
                    .expect("a submission's sandbox")
            });
            let dir = match &one {
                Some(s) => s
                    .prepare_workdir(src.path(), parent.path(), Default::default())
                    .expect("a work folder"),
                // The work folder alone: copied, never capped.
                None => prepare_workdir(src.path(), parent.path()).expect("a work folder"),
            };
            // A capped folder goes with its sandbox; an uncapped one is removed here.
            drop(one);
            let _ = std::fs::remove_dir_all(dir);
        }
        started.elapsed() / submissions
    };
    let (shared, own) = (setup(false), setup(true));
    println!(
        "per submission, set up and torn down: work folder {shared:.2?}, with its own user and memory cgroup{} {own:.2?} (+{:.2?})",
        if capped { " and a size-capped work folder" } else { "" },
        own.saturating_sub(shared)
    );
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("error: the grading sandbox needs Linux");
    std::process::exit(2);
}
