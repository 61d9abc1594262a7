//! The system-call filter every jailed program runs under: it may not make user
//! namespaces of its own.
//!
//! A new user namespace would give the program every capability inside it (mounting,
//! rearranging its file system view) and a large part of the kernel to attack.
//! bubblewrap's `--disable-userns` forbids it by nesting a second user namespace, which
//! doubled what bubblewrap costs per program (about 3.5 ms of CPU on each start, measured
//! in `docs/BENCHMARKS.md`). This filter forbids the same with no namespace at all:
//! `unshare` and `clone` asking for `CLONE_NEWUSER` fail with `EPERM`, and `clone3`,
//! whose flags lie in memory a filter cannot read, fails with `ENOSYS`, after which the C
//! libraries (glibc, musl), the JVM, Go and Node fall back to `clone`. bubblewrap
//! installs it (`--seccomp FD`) just before it starts the program.
//!
//! The filter is classic BPF over `struct seccomp_data` (`nr` at 0, `arch` at 4, the
//! arguments from 16, little-endian). It knows this build's architecture and its 32-bit
//! companion (i386 on x86-64, Arm on AArch64); x32 calls and any other architecture get
//! `ENOSYS` for everything.

/// One BPF instruction, as the kernel's `struct sock_filter` lays it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Insn {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

const LD_ABS_W: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
const RET: u16 = 0x06; // BPF_RET | BPF_K

const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO: u32 = 0x0005_0000;
const CLONE_NEWUSER: u32 = 0x1000_0000;
/// x32 system calls are numbered from here; nothing graded is built for x32.
const X32_BIT: u32 = 0x4000_0000;

/// One architecture's audit number and the calls the filter looks at.
struct Arch {
    audit: u32,
    unshare: u32,
    clone: u32,
    clone3: u32,
}

#[cfg(target_arch = "x86_64")]
const ARCHES: [Arch; 2] = [
    Arch {
        audit: 0xC000_003E,
        unshare: 272,
        clone: 56,
        clone3: 435,
    },
    // i386
    Arch {
        audit: 0x4000_0003,
        unshare: 310,
        clone: 120,
        clone3: 435,
    },
];

#[cfg(target_arch = "aarch64")]
const ARCHES: [Arch; 2] = [
    Arch {
        audit: 0xC000_00B7,
        unshare: 97,
        clone: 220,
        clone3: 435,
    },
    // 32-bit Arm
    Arch {
        audit: 0x4000_0028,
        unshare: 337,
        clone: 120,
        clone3: 435,
    },
];

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const ARCHES: [Arch; 0] = [];

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Insn {
    Insn { code, jt, jf, k }
}

/// The ten instructions judging one call of `arch` (the architecture already matched):
/// relative jumps only, so each block stands alone.
fn block(arch: &Arch) -> [Insn; 10] {
    const ERRNO_EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
    const ERRNO_ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
    [
        /* 0 */ insn(LD_ABS_W, 0, 0, 0), // the call's number
        /* 1 */ insn(JGE, 7, 0, X32_BIT), // → 9: ENOSYS
        /* 2 */ insn(JEQ, 6, 0, arch.clone3), // → 9: ENOSYS
        /* 3 */ insn(JEQ, 1, 0, arch.unshare), // → 5: look at the flags
        /* 4 */ insn(JEQ, 0, 2, arch.clone), // → 5, or → 7: allowed
        /* 5 */ insn(LD_ABS_W, 0, 0, 16), // the first argument's low half: the flags
        /* 6 */ insn(JSET, 1, 0, CLONE_NEWUSER), // → 8: EPERM, or → 7
        /* 7 */ insn(RET, 0, 0, RET_ALLOW),
        /* 8 */ insn(RET, 0, 0, ERRNO_EPERM),
        /* 9 */ insn(RET, 0, 0, ERRNO_ENOSYS),
    ]
}

/// The filter's instructions.
fn program() -> Vec<Insn> {
    let mut out = Vec::new();
    for arch in &ARCHES {
        out.push(insn(LD_ABS_W, 0, 0, 4)); // the architecture
        out.push(insn(JEQ, 0, 10, arch.audit)); // → this block, or past it
        out.extend(block(arch));
    }
    out.push(insn(RET, 0, 0, RET_ERRNO | libc::ENOSYS as u32));
    out
}

/// The filter as the bytes `bwrap --seccomp FD` reads: `struct sock_filter` in this
/// machine's byte order.
pub(super) fn filter_bytes() -> Vec<u8> {
    program()
        .iter()
        .flat_map(|i| {
            let mut b = Vec::with_capacity(8);
            b.extend_from_slice(&i.code.to_ne_bytes());
            b.push(i.jt);
            b.push(i.jf);
            b.extend_from_slice(&i.k.to_ne_bytes());
            b
        })
        .collect()
}

/// Whether this build knows its architecture's call numbers (otherwise bubblewrap's
/// `--disable-userns` is used instead).
pub(super) fn known_here() -> bool {
    !ARCHES.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the filter on one call, as the kernel would.
    fn run(nr: u32, arch: u32, arg0: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        data[16..24].copy_from_slice(&arg0.to_le_bytes());
        let prog = program();
        let (mut pc, mut a) = (0usize, 0u32);
        for _ in 0..prog.len() {
            let i = prog[pc];
            let jump = |taken: bool| pc + 1 + usize::from(if taken { i.jt } else { i.jf });
            pc = match i.code {
                LD_ABS_W => {
                    let at = i.k as usize;
                    a = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
                    pc + 1
                }
                JEQ => jump(a == i.k),
                JGE => jump(a >= i.k),
                JSET => jump(a & i.k != 0),
                RET => return i.k,
                other => panic!("unknown instruction {other:#x}"),
            };
            assert!(pc < prog.len(), "jumped past the end");
        }
        panic!("the filter never returned")
    }

    #[test]
    fn only_new_user_namespaces_and_clone3_are_refused() {
        let eperm = RET_ERRNO | libc::EPERM as u32;
        let enosys = RET_ERRNO | libc::ENOSYS as u32;
        for arch in &ARCHES {
            assert_eq!(run(arch.unshare, arch.audit, CLONE_NEWUSER.into()), eperm);
            let net_and_user = u64::from(CLONE_NEWUSER | 0x4000_0000);
            assert_eq!(run(arch.unshare, arch.audit, net_and_user), eperm);
            assert_eq!(run(arch.clone, arch.audit, CLONE_NEWUSER.into()), eperm);
            assert_eq!(run(arch.clone3, arch.audit, 0), enosys);
            // A thread, a fork, a network namespace: allowed.
            assert_eq!(run(arch.clone, arch.audit, 0x3d0f00), RET_ALLOW);
            assert_eq!(run(arch.clone, arch.audit, 17), RET_ALLOW);
            assert_eq!(run(arch.unshare, arch.audit, 0x4000_0000), RET_ALLOW);
            // The high half of the argument is not the flags.
            assert_eq!(
                run(arch.unshare, arch.audit, u64::from(CLONE_NEWUSER) << 32),
                RET_ALLOW
            );
            // Ordinary calls.
            for nr in [0, 1, 3, 59, 63, 231] {
                assert_eq!(run(nr, arch.audit, CLONE_NEWUSER.into()), RET_ALLOW);
            }
            assert_eq!(run(X32_BIT | arch.unshare, arch.audit, 0), enosys);
        }
        assert_eq!(run(0, 0x1234, 0), enosys, "an unknown architecture");
    }

    #[test]
    fn the_bytes_are_whole_instructions() {
        let bytes = filter_bytes();
        assert_eq!(bytes.len(), program().len() * 8);
        assert_eq!(bytes.len(), 8 * (1 + 12 * ARCHES.len()));
    }
}
