//! The SQLite VFS of kith's read connections: SQLite's own `unix` VFS, except that a
//! connection keeps its memory map of the database file when another connection has
//! committed.
//!
//! SQLite reads kith's connections' pages through a memory map of the database file
//! (`mmap_size`, see `sqlite.rs`). When a read transaction begins and the WAL shows that
//! another connection committed since this one's last transaction, SQLite empties the
//! connection's page cache and asks the VFS to drop the whole map (`xUnfetch(0, 0)`: "any
//! existing mapping may now be invalid", as POSIX allows); the `unix` VFS then `munmap`s it
//! — with the inter-processor interrupts of the TLB flush on every core — and the next
//! transaction maps the file again and faults each page it touches back in. On a server
//! the writer commits all the time, so every read paid that: `kith bench feed --scale
//! reference --writes 200` (members liking posts while feeds are read) took a first page
//! from ~1.6 ms p50 to ~7 ms; with the map kept, ~1.8 ms.
//!
//! On Linux a `MAP_SHARED` mapping of a file shows every write to the file at once, by any
//! process (one page cache), so the map stays right for the pages it covers: committed
//! pages reach the database file only through the checkpoint's `pwrite`s, which the map
//! sees, and a page newer than the snapshot is read from the WAL, never through the map.
//! What a kept map must not do is cover bytes past the end of the file (touching them
//! raises `SIGBUS`). So this VFS drops the map as SQLite asks only when the file has
//! **shrunk** since the map was made (kith never shrinks its database — no `VACUUM`, no
//! `auto_vacuum` — but a file is not kith's to promise that) or grown by more than
//! [`REGROW`] (a page past the map's end is read with a plain `pread`, which is right but
//! slower, so a map that falls far behind is made again); otherwise it keeps it. Every
//! other call goes to the `unix` VFS unchanged.
//!
//! Only the read-only connections use it ([`NAME`]); the writer and the checkpointer keep
//! SQLite's own behaviour. [`crate::stats`] counts the maps kept and dropped.

use std::ffi::{CStr, c_int, c_void};
use std::sync::OnceLock;

use rusqlite::ffi;

use crate::stats;

/// The VFS's name, to open a connection with.
pub(crate) const NAME: &CStr = c"kith-keep-map";

/// A map is made again once the file has grown by more than this many bytes past it: the
/// pages past a map's end are read with `pread` into the page cache, which SQLite empties
/// after every foreign commit.
const REGROW: i64 = 8 << 20;

/// Kept after each database file's SQLite state (its `unixFile`), in the same allocation.
#[repr(C)]
struct MapState {
    /// The file's size when its map was made; -1 while it has none.
    mapped_size: i64,
}

struct Vfs {
    /// The `unix` VFS, which does the work.
    base: *mut ffi::sqlite3_vfs,
    /// Ours: `base` with [`open`] and room for a [`MapState`] per file. SQLite links it into
    /// its list of VFSes (writing its `pNext`), so Rust only ever hands out its address.
    ours: std::cell::UnsafeCell<ffi::sqlite3_vfs>,
    /// Where a file's [`MapState`] sits, in bytes from its start.
    state_at: usize,
}

/// The I/O methods of the files we wrap: the `unix` VFS's, with `xFetch` and `xUnfetch`
/// ours, and the methods they stand in for.
struct Methods {
    base: *const ffi::sqlite3_io_methods,
    ours: ffi::sqlite3_io_methods,
}

// Both are written once (under the `OnceLock`) and only read afterwards; the pointers are
// SQLite's static VFS and method tables.
unsafe impl Send for Vfs {}
unsafe impl Sync for Vfs {}
unsafe impl Send for Methods {}
unsafe impl Sync for Methods {}

static VFS: OnceLock<Option<Box<Vfs>>> = OnceLock::new();
static METHODS: OnceLock<Methods> = OnceLock::new();

/// Registers the VFS (once per process) and answers its name to open a read connection
/// with; `None` where it does not apply (not Linux, no `unix` VFS, or SQLite
/// refused it), and such connections then use SQLite's default VFS.
pub(crate) fn name() -> Option<&'static CStr> {
    let vfs = VFS.get_or_init(|| {
        if !cfg!(target_os = "linux") {
            return None;
        }
        // SAFETY: `sqlite3_vfs_find` and `sqlite3_vfs_register` are thread-safe (SQLite is
        // built threadsafe); the registered struct lives in the static, so it outlives
        // every connection, and nothing writes it after registration.
        unsafe {
            let base = ffi::sqlite3_vfs_find(c"unix".as_ptr());
            if base.is_null() || (*base).iVersion < 2 || (*base).xOpen.is_none() {
                return None;
            }
            let align = std::mem::align_of::<MapState>();
            let state_at = ((*base).szOsFile as usize).div_ceil(align) * align;
            let mut ours = *base;
            ours.szOsFile = c_int::try_from(state_at + std::mem::size_of::<MapState>()).ok()?;
            ours.zName = NAME.as_ptr();
            ours.pNext = std::ptr::null_mut();
            ours.xOpen = Some(open);
            let vfs = Box::new(Vfs {
                base,
                ours: std::cell::UnsafeCell::new(ours),
                state_at,
            });
            // The Box's contents never move; the static keeps it for the process's life.
            if ffi::sqlite3_vfs_register(vfs.ours.get(), 0) != ffi::SQLITE_OK {
                return None;
            }
            Some(vfs)
        }
    });
    vfs.as_ref().map(|_| NAME)
}

fn vfs() -> &'static Vfs {
    VFS.get()
        .and_then(Option::as_deref)
        .expect("the keep-map VFS opens files only once registered")
}

/// Where the file's [`MapState`] is: our szOsFile gave every file room for one at
/// `state_at`, aligned.
fn state_ptr(file: *mut ffi::sqlite3_file) -> *mut MapState {
    file.cast::<u8>()
        .wrapping_add(vfs().state_at)
        .cast::<MapState>()
}

/// The file's [`MapState`].
///
/// # Safety
/// `file` was opened by [`open`] with our methods (which initialised it) and is not
/// closed, and no other reference to its state is alive (SQLite uses a connection, and
/// so its files, on one thread at a time).
unsafe fn state<'f>(file: *mut ffi::sqlite3_file) -> &'f mut MapState {
    // SAFETY: as the caller promises.
    unsafe { &mut *state_ptr(file) }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let v = vfs();
    // SAFETY: SQLite hands a block of our szOsFile bytes; the unix VFS fills its part (it
    // reads its own settings from its `pAppData`, which is why it gets its own struct).
    unsafe {
        let base_open = (*v.base).xOpen.expect("checked at registration");
        let rc = base_open(v.base, name, file, flags, out_flags);
        if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_MAIN_DB == 0 {
            return rc;
        }
        let base = (*file).pMethods;
        if base.is_null() || (*base).iVersion < 3 {
            return rc;
        }
        let m = METHODS.get_or_init(|| {
            let mut ours = *base;
            ours.xFetch = Some(fetch);
            ours.xUnfetch = Some(unfetch);
            Methods { base, ours }
        });
        // Another locking style than the one wrapped first: leave the file as it is.
        if !std::ptr::eq(m.base, base) {
            return rc;
        }
        state_ptr(file).write(MapState { mapped_size: -1 });
        (*file).pMethods = &m.ours;
        rc
    }
}

/// Our I/O methods: set when the first file was wrapped, so any file calling them finds
/// them.
fn methods() -> &'static Methods {
    METHODS
        .get()
        .expect("our methods exist once a file uses them")
}

/// The file's size, or `None` when it cannot be read.
///
/// # Safety
/// `file` is open with our methods.
unsafe fn file_size(m: &Methods, file: *mut ffi::sqlite3_file) -> Option<i64> {
    let mut size: ffi::sqlite3_int64 = 0;
    // SAFETY: the unix VFS's xFileSize on its own open file.
    let rc = unsafe { (*m.base).xFileSize?(file, &mut size) };
    (rc == ffi::SQLITE_OK).then_some(size)
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    page: *mut *mut c_void,
) -> c_int {
    let m = methods();
    // SAFETY: SQLite calls a file's methods only while it is open. The unix VFS maps the
    // file at its size then on the first fetch after it has none; a checkpoint may grow
    // the file meanwhile, so the larger of the sizes before and after is noted (a map
    // noted smaller than it is could miss a shrink).
    unsafe {
        let fetch = (*m.base).xFetch.expect("iVersion 3");
        if state(file).mapped_size >= 0 {
            return fetch(file, offset, amount, page);
        }
        let before = file_size(m, file);
        let rc = fetch(file, offset, amount, page);
        let after = file_size(m, file);
        state(file).mapped_size = match (before, after) {
            (Some(b), Some(a)) => b.max(a),
            _ => -1,
        };
        rc
    }
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    page: *mut c_void,
) -> c_int {
    let m = methods();
    // SAFETY: as in `fetch`. With `page` null SQLite holds no page of the map (the unix VFS
    // asserts it), so keeping or dropping the map is ours to choose.
    unsafe {
        let base_unfetch = (*m.base).xUnfetch.expect("iVersion 3");
        if !page.is_null() {
            return base_unfetch(file, offset, page);
        }
        let st = state(file);
        if st.mapped_size < 0 {
            return base_unfetch(file, offset, page);
        }
        if let Some(size) = file_size(m, file)
            && keep(st.mapped_size, size)
        {
            stats::map_kept();
            return ffi::SQLITE_OK;
        }
        stats::map_dropped();
        st.mapped_size = -1;
        base_unfetch(file, offset, page)
    }
}

/// Whether a map made when the file had `mapped` bytes may stay now that it has `now`.
/// A map covers at most [`MMAP_BYTES`](crate::sqlite::MMAP_BYTES) of the file, so only
/// that much of either size counts. (The map is made at the file's size by the first
/// fetch after it has none — kith sets `mmap_size` once, at open, before any page is read,
/// so SQLite never maps it otherwise.)
fn keep(mapped: i64, now: i64) -> bool {
    let cap = i64::try_from(crate::sqlite::MMAP_BYTES).unwrap_or(i64::MAX);
    let (mapped, now) = (mapped.min(cap), now.min(cap));
    now >= mapped && now - mapped <= REGROW
}

#[cfg(test)]
mod tests {
    use super::keep;

    #[test]
    fn a_map_stays_unless_the_file_shrank_or_outgrew_it() {
        assert!(keep(4096, 4096));
        assert!(keep(4096, 4096 + (8 << 20)));
        assert!(!keep(4096, 4096 + (8 << 20) + 1));
        assert!(!keep(8192, 4096));
        // Past what a map covers, growth does not matter; a shrink into it does.
        let cap = 1_i64 << 30;
        assert!(keep(cap + 4096, cap + (64 << 20)));
        assert!(!keep(cap + 4096, cap - (64 << 20)));
    }
}
