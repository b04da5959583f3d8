//! Times the in-order executor and the wave executor alternately, iteration by
//! iteration, on the bench workloads (`benches/common`), so both see the same machine
//! state; criterion's group-after-group order favours whichever runs first on a busy box.
//!
//! `cargo run --release --example exec_alternating`

use std::time::Instant;
#[path = "../benches/common/mod.rs"]
mod common;
fn main() {
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    for (name, cfg) in common::workloads() {
        let p = common::prepare(name, &cfg);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..40 {
            let mut s1 = p.state.clone();
            let t = Instant::now();
            pool.install(|| txwave::internal::exec::cpu::execute_in_order(&mut s1, &p.resolved));
            a.push(t.elapsed().as_secs_f64() * 1e3);
            let mut s2 = p.state.clone();
            let t = Instant::now();
            pool.install(|| {
                txwave::internal::exec::waves::execute_waves(&mut s2, &p.resolved, &p.schedule)
            });
            b.push(t.elapsed().as_secs_f64() * 1e3);
        }
        a.sort_by(|x, y| x.partial_cmp(y).unwrap());
        b.sort_by(|x, y| x.partial_cmp(y).unwrap());
        println!(
            "{}: in-order min {:.3} ms, median {:.3} ms | waves min {:.3} ms, median {:.3} ms",
            p.name, a[0], a[20], b[0], b[20]
        );
    }
}
