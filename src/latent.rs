//! Walking the generator's latent space: spherical interpolation between two noise vectors
//! (the path a Gaussian sample's norm stays on), for the page's latent explorer.

/// The point at `t` ∈ [0, 1] on the great-circle arc from `a` to `b` (their norms blended
/// along it); nearly parallel vectors are blended linearly. `t = 0` gives `a` and `t = 1`
/// gives `b` exactly.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    let cos = if na > 0.0 && nb > 0.0 {
        (a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)).clamp(-1.0, 1.0)
    } else {
        1.0
    };
    let omega = cos.acos();
    let (wa, wb) = if omega.sin().abs() < 1e-4 {
        (1.0 - t, t)
    } else {
        let s = omega.sin();
        (((1.0 - t) * omega).sin() / s, (t * omega).sin() / s)
    };
    a.iter().zip(b).map(|(x, y)| wa * x + wb * y).collect()
}

/// `frames` points from `a` to `b` inclusive (at least 2), row after row.
pub fn walk(a: &[f32], b: &[f32], frames: usize) -> Vec<f32> {
    let frames = frames.max(2);
    (0..frames)
        .flat_map(|i| slerp(a, b, i as f32 / (frames - 1) as f32))
        .collect()
}
