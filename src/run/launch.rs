//! Starting one child process without copying the harness: `clone(2)` with `CLONE_VM` and
//! `CLONE_VFORK`, as `posix_spawn` does, with room for a confinement hook that runs in the
//! child before `exec`.
//!
//! `fork` copies the page tables of a process that runs tens of threads, and every page the
//! harness writes afterwards takes a fault until the child has called `exec`. Here the
//! child borrows the parent's memory, on a stack of its own, and only the calling thread
//! waits, until the child has called `exec` or exited. It decides nothing and never prints.
//!
//! What the child does, in order: default handlers for every signal the harness handles
//! (and `SIGPIPE`), its standard streams, its working folder, a process group of its own,
//! an empty signal mask, the hook, `exec`. A failure before `exec` comes back as the
//! error of [`Launch::spawn`], as `std::process::Command::spawn` reports it.

use std::ffi::{CString, OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdin, ChildStdout, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

/// What the child runs between its set-up and `exec`: system calls only (no allocation,
/// no lock), since it shares the harness's memory.
pub type Hook = Box<dyn FnMut() -> io::Result<()> + Send>;

/// The child's stack. It only holds the set-up's frames; the program gets its own at
/// `exec`.
const STACK_BYTES: usize = 256 * 1024;

/// What to start: a `std::process::Command` reduced to what the harness uses. Standard
/// output and error are always piped; standard input is null or piped.
pub struct Launch {
    program: OsString,
    args: Vec<OsString>,
    inherit_env: bool,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
    piped_stdin: bool,
    hook: Option<Hook>,
}

impl std::fmt::Debug for Launch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("cwd", &self.cwd)
            .finish_non_exhaustive()
    }
}

/// A started child: its pid (also its process group) and the parent's ends of its pipes.
#[derive(Debug)]
pub struct Launched {
    /// The child's process id.
    pub pid: i32,
    /// Its standard input, when piped.
    pub stdin: Option<ChildStdin>,
    /// Its standard output.
    pub stdout: ChildStdout,
    /// Its standard error.
    pub stderr: ChildStderr,
}

impl Launch {
    /// Runs `program` with `args`, in this process's environment and folder.
    pub fn new(program: impl Into<OsString>, args: &[OsString]) -> Launch {
        Launch {
            program: program.into(),
            args: args.to_vec(),
            inherit_env: true,
            env: Vec::new(),
            cwd: None,
            piped_stdin: false,
            hook: None,
        }
    }

    /// Starts from an empty environment instead of this process's.
    pub fn env_clear(&mut self) -> &mut Launch {
        self.inherit_env = false;
        self.env.clear();
        self
    }

    /// Sets one variable (the last setting of a name wins).
    pub fn env(&mut self, name: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Launch {
        let name = name.as_ref().to_os_string();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.as_ref().to_os_string()));
        self
    }

    /// Runs the child in `dir`.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Launch {
        self.cwd = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The folder the child will run in, if set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// Gives the child a pipe on standard input (otherwise `/dev/null`).
    pub fn piped_stdin(&mut self, piped: bool) -> &mut Launch {
        self.piped_stdin = piped;
        self
    }

    /// Runs `hook` in the child just before `exec`.
    ///
    /// # Safety
    /// The hook runs in a child that shares this process's memory while the thread that
    /// spawns it waits: it may only make system calls on data prepared beforehand. No
    /// allocation, no lock, no printing, no panic.
    pub unsafe fn pre_exec(&mut self, hook: Hook) -> &mut Launch {
        self.hook = Some(hook);
        self
    }

    /// Starts the child in a new process group and returns it once it has called `exec`.
    pub fn spawn(mut self) -> io::Result<Launched> {
        let prepared = Prepared::new(&self)?;
        let (stdin_child, stdin_parent) = if self.piped_stdin {
            let (read, write) = pipe()?;
            (read, Some(write))
        } else {
            (above_stdio(File::open("/dev/null")?.into())?, None)
        };
        let (stdout_parent, stdout_child) = pipe()?;
        let (stderr_parent, stderr_child) = pipe()?;
        let stack = Stack::new()?;
        let hook: Option<*mut (dyn FnMut() -> io::Result<()> + Send)> =
            self.hook.as_mut().map(|h| &mut **h as *mut _);
        let child = ChildArgs {
            prepared: &prepared,
            stdio: [
                stdin_child.as_raw_fd(),
                stdout_child.as_raw_fd(),
                stderr_child.as_raw_fd(),
            ],
            hook,
            errno: AtomicI32::new(0),
        };
        let pid = clone_vfork(&stack, &child)?;
        drop((stdin_child, stdout_child, stderr_child));
        let errno = child.errno.load(Ordering::SeqCst);
        if errno != 0 {
            // It exited before `exec`: collect it, and report why.
            let _ = wait(pid);
            return Err(io::Error::from_raw_os_error(errno));
        }
        Ok(Launched {
            pid,
            stdin: stdin_parent.map(ChildStdin::from),
            stdout: ChildStdout::from(stdout_parent),
            stderr: ChildStderr::from(stderr_parent),
        })
    }

    /// Where `exec` finds the program: itself when it names a folder, otherwise the first
    /// executable file of that name along the child's `PATH` (or this process's).
    fn resolve(&self) -> io::Result<OsString> {
        if self.program.as_bytes().contains(&b'/') {
            return Ok(self.program.clone());
        }
        let path = self
            .env
            .iter()
            .find(|(n, _)| n == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| self.inherit_env.then(|| std::env::var_os("PATH")).flatten())
            .unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
        // A relative entry names a folder inside the child's working folder, where the
        // returned path is used.
        let seen_from_here = |candidate: &Path| match &self.cwd {
            Some(cwd) if candidate.is_relative() => cwd.join(candidate),
            _ => candidate.to_path_buf(),
        };
        std::env::split_paths(&path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(|dir| dir.join(&self.program))
            .find(|candidate| {
                std::fs::metadata(seen_from_here(candidate))
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .map(PathBuf::into_os_string)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))
    }

    /// The child's whole environment, as `NAME=value`.
    fn environment(&self) -> Vec<OsString> {
        let mut vars: Vec<(OsString, OsString)> = if self.inherit_env {
            std::env::vars_os()
                .filter(|(n, _)| !self.env.iter().any(|(m, _)| m == n))
                .collect()
        } else {
            Vec::new()
        };
        vars.extend(self.env.iter().cloned());
        vars.into_iter()
            .map(|(name, value)| {
                let mut entry = name;
                entry.push("=");
                entry.push(value);
                entry
            })
            .collect()
    }
}

/// Every string the child needs, with the pointer arrays `execve` takes, built before it
/// starts.
struct Prepared {
    path: CString,
    cwd: Option<CString>,
    _strings: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    envp: Vec<*const libc::c_char>,
    /// `sh PATH ARGS…`, for a file `execve` cannot run itself (a script without `#!`),
    /// as `execvp` does.
    sh_argv: Vec<*const libc::c_char>,
}

impl Prepared {
    fn new(launch: &Launch) -> io::Result<Prepared> {
        let path = cstring(launch.resolve()?)?;
        let cwd = launch.cwd.clone().map(|d| cstring(d.into())).transpose()?;
        let args: Vec<CString> = std::iter::once(launch.program.clone())
            .chain(launch.args.iter().cloned())
            .map(cstring)
            .collect::<io::Result<_>>()?;
        let env: Vec<CString> = launch
            .environment()
            .into_iter()
            .map(cstring)
            .collect::<io::Result<_>>()?;
        let sh = CString::from(c"sh");
        let null = std::ptr::null();
        let argv: Vec<_> = args.iter().map(|a| a.as_ptr()).chain([null]).collect();
        let envp: Vec<_> = env.iter().map(|e| e.as_ptr()).chain([null]).collect();
        let sh_argv: Vec<_> = [sh.as_ptr(), path.as_ptr()]
            .into_iter()
            .chain(args.iter().skip(1).map(|a| a.as_ptr()))
            .chain([null])
            .collect();
        let mut strings = args;
        strings.extend(env);
        strings.push(sh);
        Ok(Prepared {
            path,
            cwd,
            _strings: strings,
            argv,
            envp,
            sh_argv,
        })
    }
}

fn cstring(s: OsString) -> io::Result<CString> {
    CString::new(s.into_vec()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a command, argument, variable or folder contains a NUL byte",
        )
    })
}

/// A pipe, both ends close-on-exec and above the standard three: (read, write).
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2(2) writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((above_stdio(read)?, above_stdio(write)?))
}

/// `fd`, moved above 2 if it is one of the standard three (this process may run with one
/// of them closed): the child's `dup2` onto 0, 1 and 2 must not overwrite another end.
fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: fcntl(2) duplicating a descriptor we own.
    let moved = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if moved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `moved` was just opened and is owned by nothing else.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

/// The child's stack: a private mapping with a guard page below it.
struct Stack {
    base: *mut libc::c_void,
}

impl Stack {
    fn new() -> io::Result<Stack> {
        // SAFETY: an anonymous private mapping, and its lowest page made inaccessible.
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                STACK_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            let stack = Stack { base };
            if libc::mprotect(base, page_size(), libc::PROT_NONE) < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(stack)
        }
    }

    /// The highest address: stacks grow down on every architecture Linux runs shout on.
    fn top(&self) -> *mut libc::c_void {
        // SAFETY: one past the end of the mapping.
        unsafe { self.base.cast::<u8>().add(STACK_BYTES).cast() }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, no longer used (the child has called `exec`
        // or exited when `clone` returns).
        unsafe { libc::munmap(self.base, STACK_BYTES) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf(3) with a valid name.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

/// What the child reads (and the one thing it writes: `errno`).
struct ChildArgs<'a> {
    prepared: &'a Prepared,
    stdio: [RawFd; 3],
    hook: Option<*mut (dyn FnMut() -> io::Result<()> + Send)>,
    errno: AtomicI32,
}

/// Starts the child and returns its pid once it has called `exec` or exited. Every signal
/// is blocked around `clone`, so no handler of the harness runs in the child before it
/// has set its own.
fn clone_vfork(stack: &Stack, child: &ChildArgs<'_>) -> io::Result<i32> {
    // SAFETY: sigfillset/pthread_sigmask on stack sets; clone(2) with CLONE_VM|CLONE_VFORK
    // runs `child_main` on `stack` and suspends this thread until the child calls `exec` or
    // exits, so `child` and `stack` outlive every use the child makes of them.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        let pid = libc::clone(
            child_main,
            stack.top(),
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (child as *const ChildArgs<'_>).cast_mut().cast(),
        );
        let error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        if pid < 0 {
            return Err(error);
        }
        Ok(pid)
    }
}

/// The child's whole life before `exec`. It returns only on failure: the error goes to
/// the parent through `errno`, and the child exits 127.
extern "C" fn child_main(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `clone_vfork` passed, alive while the parent
    // waits.
    let child = unsafe { &*(arg as *const ChildArgs<'_>) };
    // SAFETY: see `set_up_and_exec`.
    let errno = unsafe { set_up_and_exec(child) };
    child.errno.store(errno.max(1), Ordering::SeqCst);
    // SAFETY: _exit(2) ends only this child.
    unsafe { libc::_exit(127) }
}

/// # Safety
/// Runs in the `clone`d child only: system calls on prepared data.
unsafe fn set_up_and_exec(child: &ChildArgs<'_>) -> libc::c_int {
    let errno = || {
        io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL)
    };
    default_signal_handlers();
    for (target, &fd) in child.stdio.iter().enumerate() {
        if libc::dup2(fd, target as libc::c_int) < 0 {
            return errno();
        }
    }
    let prepared = child.prepared;
    if let Some(cwd) = &prepared.cwd {
        if libc::chdir(cwd.as_ptr()) < 0 {
            return errno();
        }
    }
    if libc::setpgid(0, 0) < 0 {
        return errno();
    }
    let mut empty: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut empty);
    libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
    if let Some(hook) = child.hook {
        if let Err(e) = (*hook)() {
            return e.raw_os_error().unwrap_or(libc::EINVAL);
        }
    }
    libc::execve(
        prepared.path.as_ptr(),
        prepared.argv.as_ptr(),
        prepared.envp.as_ptr(),
    );
    if io::Error::last_os_error().raw_os_error() == Some(libc::ENOEXEC) {
        libc::execve(
            c"/bin/sh".as_ptr(),
            prepared.sh_argv.as_ptr(),
            prepared.envp.as_ptr(),
        );
        return libc::ENOEXEC;
    }
    errno()
}

/// Gives every signal that has a handler in the harness its default action back, and
/// `SIGPIPE` too (Rust programs ignore it; the program must not inherit that). The child
/// has its own copy of the handler table, so the harness keeps its own.
///
/// # Safety
/// Only system calls; runs in the child.
unsafe fn default_signal_handlers() {
    for signal in 1..libc::SIGRTMAX() {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        let mut current: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, std::ptr::null(), &mut current) < 0 {
            continue;
        }
        let handled =
            current.sa_sigaction != libc::SIG_DFL && current.sa_sigaction != libc::SIG_IGN;
        if handled || signal == libc::SIGPIPE {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, std::ptr::null_mut());
        }
    }
}

/// Waits for child `pid` to exit and returns how it did.
pub fn wait(pid: i32) -> io::Result<ExitStatus> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: waitpid(2) on a child of this process, into a local.
        if unsafe { libc::waitpid(pid, &mut status, 0) } >= 0 {
            return Ok(ExitStatus::from_raw(status));
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn run(launch: Launch) -> (ExitStatus, String, String) {
        let mut child = launch.spawn().expect("starts");
        let mut out = String::new();
        let mut err = String::new();
        child.stdout.read_to_string(&mut out).expect("stdout");
        child.stderr.read_to_string(&mut err).expect("stderr");
        (wait(child.pid).expect("waits"), out, err)
    }

    fn sh(script: &str) -> Launch {
        Launch::new("sh", &["-c".into(), script.into()])
    }

    #[test]
    fn the_child_gets_its_arguments_folder_environment_and_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut launch =
            sh("echo \"$0|$1|$PWD|$ONLY|${HOME-unset}\"; ps -o pgid= -p $$; echo oops >&2; exit 3");
        launch
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("ONLY", "x y");
        launch.current_dir(dir.path());
        launch.args.extend(["zero".into(), "one".into()]);
        let (status, out, err) = run(launch);
        assert_eq!(status.code(), Some(3));
        let mut lines = out.lines();
        let first = lines.next().expect("a first line");
        let real = dir.path().canonicalize().expect("canonical");
        assert_eq!(first, format!("zero|one|{}|x y|unset", real.display()));
        let group: i32 = lines
            .next()
            .expect("pgid")
            .trim()
            .parse()
            .expect("a number");
        // SAFETY: getpgrp(2) cannot fail.
        assert_ne!(group, unsafe { libc::getpgrp() }, "a group of its own");
        assert_eq!(err, "oops\n");
    }

    #[test]
    fn a_program_is_found_along_the_childs_path_relative_entries_inside_its_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir");
        let tool = dir.path().join("bin/shout-launch-test-tool");
        std::fs::write(&tool, "#!/bin/sh\necho found in $PWD\n").expect("writes");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut launch = Launch::new("shout-launch-test-tool", &[]);
        launch
            .env_clear()
            .env("PATH", "/nonexistent:bin:/usr/bin:/bin");
        launch.current_dir(dir.path());
        let (status, out, _) = run(launch);
        assert!(status.success());
        let real = dir.path().canonicalize().expect("canonical");
        assert_eq!(out, format!("found in {}\n", real.display()));
        // Without that entry on its PATH, it is not found.
        let mut launch = Launch::new("shout-launch-test-tool", &[]);
        launch.env_clear().env("PATH", "/usr/bin:/bin");
        launch.current_dir(dir.path());
        let missing = launch.spawn().map(|_| ()).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn stdin_is_null_unless_piped_and_then_carries_what_is_written() {
        let (_, out, _) = run(sh("cat; echo end"));
        assert_eq!(out, "end\n");
        let mut launch = sh("tr a-z A-Z");
        launch.piped_stdin(true);
        let mut child = launch.spawn().expect("starts");
        let mut stdin = child.stdin.take().expect("piped");
        std::io::Write::write_all(&mut stdin, b"hello").expect("writes");
        drop(stdin);
        let mut out = String::new();
        child.stdout.read_to_string(&mut out).expect("reads");
        assert_eq!(out, "HELLO");
        assert!(wait(child.pid).expect("waits").success());
    }

    #[test]
    fn a_missing_program_or_a_failing_hook_is_the_spawns_error() {
        let missing = Launch::new("shout-no-such-program", &[]).spawn();
        assert_eq!(
            missing.map(|_| ()).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
        let mut launch = sh("exit 0");
        // SAFETY: the hook only returns an error.
        unsafe {
            launch.pre_exec(Box::new(|| Err(io::Error::from_raw_os_error(libc::EPERM))));
        }
        let failed = launch.spawn().map(|_| ()).unwrap_err();
        assert_eq!(failed.raw_os_error(), Some(libc::EPERM));
        let mut launch = sh("exit 0");
        launch.current_dir("/no/such/folder/anywhere");
        assert_eq!(
            launch.spawn().map(|_| ()).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn the_child_gets_default_signal_handling_and_a_script_without_an_interpreter_line_runs() {
        // Rust ignores SIGPIPE; a child must die of it like any program.
        let (status, _, _) = run(sh("kill -PIPE $$; sleep 5"));
        assert_eq!(status.signal(), Some(libc::SIGPIPE));
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("plain");
        std::fs::write(&script, "echo from a plain script\n").expect("writes");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let (status, out, _) = run(Launch::new(script.as_os_str(), &[]));
        assert!(status.success());
        assert_eq!(out, "from a plain script\n");
    }
}
