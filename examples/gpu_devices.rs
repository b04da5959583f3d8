//! Prints every adapter wgpu can see, best first, as JSON (what `txwave devices` reports);
//! `scripts/gpu-bench.sh` records it with each benchmark run.

fn main() {
    let adapters = txwave::gpu::list_adapters();
    match serde_json::to_string_pretty(&adapters) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("gpu_devices: {e}");
            std::process::exit(2);
        }
    }
}
