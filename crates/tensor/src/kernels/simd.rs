//! Small helpers around the SIMD vector type of the machine we are compiled for.
//!
//! `Vf` is `wide::f32x16` (one AVX-512 register) when the build targets AVX-512, and
//! `wide::f32x8` (one AVX2 register) otherwise: the kernels are written once in terms of `Vf`
//! and `LANES`, and their tile sizes follow the number of registers each has (32 or 16).
//!
//! `--cfg wide16` forces the 16-lane configuration on any CPU (`wide` then runs each f32x16
//! operation as two 8-lane ones): that is how the AVX-512 code paths are tested on an AVX2
//! machine: `RUSTFLAGS="--cfg wide16 -C target-cpu=native" cargo test -p tensor`.

#[cfg(any(target_feature = "avx512f", wide16))]
pub use wide::f32x16 as Vf;
/// f32 lanes in one SIMD register.
#[cfg(any(target_feature = "avx512f", wide16))]
pub const LANES: usize = 16;

#[cfg(not(any(target_feature = "avx512f", wide16)))]
pub use wide::f32x8 as Vf;
/// f32 lanes in one SIMD register.
#[cfg(not(any(target_feature = "avx512f", wide16)))]
pub const LANES: usize = 8;

/// Loads `LANES` consecutive floats starting at `p` (no alignment needed).
///
/// # Safety
/// `p..p + LANES` must be readable.
#[inline(always)]
pub unsafe fn load(p: *const f32) -> Vf {
    Vf::new(std::ptr::read_unaligned(p as *const [f32; LANES]))
}

/// Stores `LANES` floats at `p` (no alignment needed).
///
/// # Safety
/// `p..p + LANES` must be writable.
#[inline(always)]
pub unsafe fn store(p: *mut f32, v: Vf) {
    std::ptr::write_unaligned(p as *mut [f32; LANES], v.to_array());
}

/// Loads `LANES` floats from `s[i..i + LANES]` (bounds-checked).
#[inline(always)]
pub fn load_slice(s: &[f32], i: usize) -> Vf {
    let chunk: &[f32; LANES] = s[i..i + LANES].try_into().expect("LANES lanes");
    Vf::new(*chunk)
}

/// A raw pointer that may be sent to other threads. Used only where threads write disjoint
/// parts of one buffer (each use says why the parts are disjoint).
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut f32);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
