//! The engine's buffer pool: large `f32` buffers are reused instead of being returned to the
//! operating system and faulted in again.
//!
//! Gradient ascent runs the same forward and backward many times, so every step asks for
//! buffers of exactly the sizes the previous step just freed. A general-purpose allocator serves
//! large buffers with fresh memory maps and unmaps them when they are freed, so each step would
//! touch (page-fault) every activation and gradient page again: measured, that made a 64-filter
//! grid step of block4_conv1 1.7x slower. Instead, when a [`Buffer`] of at least
//! [`MIN_POOLED_FLOATS`] floats is dropped (a tensor's storage, a kernel's scratch), its memory
//! goes back to this pool, and [`take`] hands it out again for a request of a similar size.
//!
//! The pool holds at most [`limit`] bytes (the oldest buffers are freed first beyond it);
//! [`release_all`] gives everything back, [`set_limit`] changes the bound (0 turns pooling
//! off). Reused buffers hold stale values: [`take`] returns them empty (length 0, with
//! capacity), and [`zeroed`] clears them for kernels that accumulate.
//!
//! Index buffers (max-pool's argmax, [`Indices`]) share the pool: a `u32` has the size and
//! alignment of an `f32`, so the same memory serves both.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Buffers smaller than this (256 KiB) are left to the allocator, which keeps small blocks in
/// the process anyway.
pub const MIN_POOLED_FLOATS: usize = 1 << 16;

/// Default bound on the pooled memory: 4 GiB (more than one step of any workload here holds).
const DEFAULT_LIMIT_BYTES: usize = 4 << 30;

static LIMIT_BYTES: AtomicUsize = AtomicUsize::new(DEFAULT_LIMIT_BYTES);

/// Free buffers, oldest first, and their total size in bytes.
static POOL: Mutex<(Vec<Vec<f32>>, usize)> = Mutex::new((Vec::new(), 0));

fn bytes(v: &Vec<f32>) -> usize {
    v.capacity() * std::mem::size_of::<f32>()
}

/// An empty vector with room for at least `len` floats: a pooled buffer when one of a similar
/// size (`len` to `len + len / 4`) is free, else a new allocation. Its old contents are gone
/// (length 0); fill it with `push`/`extend`, or write its spare capacity and `set_len`.
pub fn take(len: usize) -> Vec<f32> {
    if len >= MIN_POOLED_FLOATS {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let (free, total) = &mut *pool;
        let fits = |v: &Vec<f32>| v.capacity() >= len && v.capacity() <= len + len / 4;
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| fits(v))
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i);
        if let Some(i) = best {
            let mut v = free.remove(i);
            *total -= bytes(&v);
            v.clear();
            return v;
        }
    }
    Vec::with_capacity(len)
}

/// `len` zeros (a pooled buffer, cleared, when one fits).
pub fn zeroed(len: usize) -> Vec<f32> {
    filled(len, 0.0)
}

/// `len` copies of `value`.
pub fn filled(len: usize, value: f32) -> Vec<f32> {
    let mut v = take(len);
    v.resize(len, value);
    v
}

/// Hands a vector's memory back to the pool (small ones are simply freed).
pub fn give_back(v: Vec<f32>) {
    let limit = LIMIT_BYTES.load(Ordering::Relaxed);
    if v.capacity() < MIN_POOLED_FLOATS || bytes(&v) > limit {
        return;
    }
    let mut evicted = Vec::new();
    {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        let (free, total) = &mut *pool;
        *total += bytes(&v);
        free.push(v);
        while *total > limit {
            let oldest = free.remove(0);
            *total -= bytes(&oldest);
            evicted.push(oldest);
        }
    }
    // `evicted` is freed here, outside the lock.
}

/// Frees every pooled buffer (for a long-running program that is done with a workload).
pub fn release_all() {
    let drained = {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        pool.1 = 0;
        std::mem::take(&mut pool.0)
    };
    drop(drained);
}

/// Bytes currently held by the pool.
pub fn pooled_bytes() -> usize {
    POOL.lock().unwrap_or_else(|e| e.into_inner()).1
}

/// The bound on pooled memory in bytes.
pub fn limit() -> usize {
    LIMIT_BYTES.load(Ordering::Relaxed)
}

/// Sets the bound on pooled memory (0: no pooling) and frees what no longer fits.
pub fn set_limit(limit_bytes: usize) {
    LIMIT_BYTES.store(limit_bytes, Ordering::Relaxed);
    let mut evicted = Vec::new();
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    let (free, total) = &mut *pool;
    while *total > limit_bytes {
        let oldest = free.remove(0);
        *total -= bytes(&oldest);
        evicted.push(oldest);
    }
}

/// A vector of floats whose memory returns to the pool when it is dropped. Tensors own their
/// values through one; kernels wrap their scratch in one.
#[derive(Debug, Default)]
pub struct Buffer(Vec<f32>);

impl Buffer {
    /// Takes ownership of `v`; its memory will go back to the pool.
    pub fn new(v: Vec<f32>) -> Buffer {
        Buffer(v)
    }

    /// The vector itself (it then no longer returns to the pool by itself).
    pub fn into_vec(mut self) -> Vec<f32> {
        std::mem::take(&mut self.0)
    }
}

impl Clone for Buffer {
    fn clone(&self) -> Buffer {
        let mut v = take(self.0.len());
        v.extend_from_slice(&self.0);
        Buffer(v)
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        give_back(std::mem::take(&mut self.0));
    }
}

impl Deref for Buffer {
    type Target = Vec<f32>;
    fn deref(&self) -> &Vec<f32> {
        &self.0
    }
}

impl DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut Vec<f32> {
        &mut self.0
    }
}

/// A pooled vector of `u32` indices (max-pool's argmax): the memory of an `f32` buffer of the
/// same length, returned to the pool when dropped.
#[derive(Debug, Default)]
pub struct Indices(Vec<u32>);

impl Indices {
    /// `len` zeros.
    pub fn zeroed(len: usize) -> Indices {
        let floats = zeroed(len);
        let mut floats = std::mem::ManuallyDrop::new(floats);
        let (ptr, len, capacity) = (floats.as_mut_ptr(), floats.len(), floats.capacity());
        // SAFETY: u32 and f32 have the same size and alignment, so the allocation's layout is
        // the same, and 0.0f32 has the bit pattern of 0u32.
        Indices(unsafe { Vec::from_raw_parts(ptr.cast::<u32>(), len, capacity) })
    }
}

impl Drop for Indices {
    fn drop(&mut self) {
        let mut v = std::mem::ManuallyDrop::new(std::mem::take(&mut self.0));
        let (ptr, capacity) = (v.as_mut_ptr(), v.capacity());
        // SAFETY: as in `zeroed`: same layout; the length 0 leaves no values to reinterpret.
        give_back(unsafe { Vec::from_raw_parts(ptr.cast::<f32>(), 0, capacity) });
    }
}

impl Deref for Indices {
    type Target = [u32];
    fn deref(&self) -> &[u32] {
        &self.0
    }
}

impl DerefMut for Indices {
    fn deref_mut(&mut self) -> &mut [u32] {
        &mut self.0
    }
}
