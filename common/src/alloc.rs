//! The memory allocator of the systems' binaries.
//!
//! glibc's allocator let the Service Registry's resident memory grow to 2–3× its live heap
//! under a burst of first reads at 100,000 entries (measured with `malloc_stats`: 37 MB in use,
//! 88–115 MB held by glibc; `malloc_trim` gave back a quarter, and with `MALLOC_ARENA_MAX=2`
//! its two arenas still held 84 MB): each cache load frees its full-size rows and keeps small
//! compact entries, and the holes freed between the kept ones were not reused for later requests
//! of other sizes. mimalloc keeps allocations of one size class together per page and gives
//! whole free pages back: the same run ends at 56–59 MiB resident instead of 115–134 MiB.
//! Transparent huge pages stay off (the `no_thp` feature): with them an idle system's resident
//! memory steps up by 2 MiB at a time (42.8 MB for an idle registry instead of 26.2 MB).

pub use mimalloc::MiMalloc;

/// Makes mimalloc the global allocator of the binary it is expanded in (once, in `main.rs`).
/// A macro rather than a `#[global_allocator]` in this library, so that what links `common`
/// without being a system (fuzz targets under a sanitizer, tools) keeps its own allocator.
#[macro_export]
macro_rules! global_allocator {
    () => {
        #[global_allocator]
        static GLOBAL: $crate::alloc::MiMalloc = $crate::alloc::MiMalloc;
    };
}
