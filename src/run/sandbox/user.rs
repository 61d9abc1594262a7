//! The unprivileged user confined children run as, looked up in the user database.
//!
//! It only reads the user database: it switches no user itself (see `pre_exec`).

use std::ffi::CString;

/// The uid and gid used when `nobody` is not in the user database.
const OVERFLOW_ID: u32 = 65534;

/// The user a confined child runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub uid: u32,
    /// Primary group id; the child has no supplementary groups.
    pub gid: u32,
}

impl User {
    /// `nobody` from the user database, or 65534:65534 when it is not there.
    pub fn nobody() -> User {
        lookup_user("nobody").unwrap_or(User {
            uid: OVERFLOW_ID,
            gid: OVERFLOW_ID,
        })
    }
}

/// `name` in the user database.
fn lookup_user(name: &str) -> Option<User> {
    let name = CString::new(name).ok()?;
    // SAFETY: passwd is plain data; all zeroes is a valid value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r(3) with a valid name, a zeroed passwd, a buffer of the given
    // length and an out-pointer; `result` points at `pwd` or is null.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some(User {
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}
