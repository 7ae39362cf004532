//! Allocator tuning for the ascent's repeated steps (called first thing by the `viz` binary and
//! by the workload benches).

/// Keeps freed large buffers inside the process. glibc's malloc otherwise serves large buffers
/// with mmap and gives them back with munmap when they are freed (above a threshold that adapts
/// up to 32 MiB), so the next step's buffer of the same size page-faults in again, page by page. The ascent allocates the same activation and
/// gradient sizes at every step; with this, later steps reuse the memory of earlier ones.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn keep_freed_memory() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only changes allocator tuning parameters; call it before any threads start.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn keep_freed_memory() {}
