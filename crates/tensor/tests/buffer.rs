//! The buffer pool (`tensor::buffer`): freed tensors' memory is reused, bounded, and never
//! changes results. One test in its own binary, since the pool is global to the process.

use tensor::{buffer, Graph, Rng, Tensor};

#[test]
fn freed_buffers_are_reused_within_the_limit() {
    let n = buffer::MIN_POOLED_FLOATS * 2;
    // A tensor's storage goes back to the pool when the tensor is dropped...
    let t = Tensor::full(&[n], 1.0);
    let address = t.data().as_ptr();
    drop(t);
    assert!(buffer::pooled_bytes() >= n * 4);
    // ... and a request of the same size gets that memory back, emptied.
    let v = buffer::take(n);
    assert_eq!(v.as_ptr(), address);
    assert!(v.is_empty() && v.capacity() >= n);
    // A much smaller request does not take a large buffer.
    buffer::give_back(v);
    let small = buffer::take(n / 3);
    assert_ne!(small.as_ptr(), address);
    drop(small);
    // Small buffers are left to the allocator.
    buffer::give_back(Vec::with_capacity(16));

    // The bound: nothing is kept beyond it, and 0 turns pooling off.
    buffer::set_limit(n * 4);
    buffer::give_back(Vec::with_capacity(n));
    buffer::give_back(Vec::with_capacity(n));
    assert!(buffer::pooled_bytes() <= n * 4);
    buffer::set_limit(0);
    assert_eq!(buffer::pooled_bytes(), 0);
    buffer::give_back(Vec::with_capacity(n));
    assert_eq!(buffer::pooled_bytes(), 0);

    // Results do not depend on what the pool held: the same computation with and without it.
    let run = || {
        let mut rng = Rng::new(3);
        let mut g = Graph::new();
        let x = g.input(rng.tensor(&[2, 8, 40, 40], -1.0, 1.0));
        let w = g.constant(rng.tensor(&[16, 8, 3, 3], -0.5, 0.5));
        let c = g.conv2d(x, w, None, tensor::ConvGeometry::SAME_3X3);
        let r = g.relu(c);
        let p = g.max_pool2x2(r);
        let loss = g.sum(p);
        g.backward(loss).wrt(x).clone().into_vec()
    };
    let unpooled = run();
    buffer::set_limit(1 << 30);
    let first = run(); // fills the pool
    let second = run(); // runs on reused (stale) buffers
    assert_eq!(unpooled, first);
    assert_eq!(first, second);
    buffer::release_all();
    assert_eq!(buffer::pooled_bytes(), 0);
}
