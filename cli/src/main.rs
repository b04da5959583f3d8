//! The `txwave` command line: argument parsing and printing over the library.

mod cli;

fn main() {
    // Die quietly when the reader of stdout goes away (`txwave inspect ... | head`), as
    // command-line tools do, instead of panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts has no
    // preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // glibc raises its mmap threshold (up to 32 MiB) the first time a large block is
    // freed; after that a stream's per-block buffers (megabytes each, freed on other
    // threads than the one that made them) come from the thread arenas, whose freed pages
    // stay resident, and peak memory creeps up with the log. A fixed threshold keeps
    // them mapped on their own and returned to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    // Keep adapter probing silent on stderr (see `gpu::quiet_window_system_probing`).
    if let Some((key, value)) = quiet_window_system_probing() {
        // SAFETY: `main` has just started and no other thread exists yet, so nothing can
        // read the environment while it changes.
        unsafe { std::env::set_var(key, value) };
    }
    std::process::exit(cli::main());
}

/// Environment variable that turns off Mesa's `VK_LAYER_MESA_device_select`, see
/// [`quiet_window_system_probing`].
const MESA_DEVICE_SELECT_OFF_ENV: &str = "NODEVICE_SELECT";

/// Stops the one source of stderr noise left once GL is out: Mesa's
/// `VK_LAYER_MESA_device_select`, an implicit Vulkan layer that `mesa-vulkan-drivers`
/// installs, connects to the Wayland and X11 displays while the Vulkan loader enumerates
/// devices (to learn which GPU drives the screen) and libwayland prints
/// "error: XDG_RUNTIME_DIR is invalid or not set in the environment." when there is no
/// session. The layer only reorders devices for presentation; txwave presents nothing and
/// chooses its adapter itself, so the layer's own switch (`NODEVICE_SELECT=1`, named in
/// its manifest's `disable_environment`) turns it off for compute with no other effect.
/// A user who set `NODEVICE_SELECT` or `MESA_VK_DEVICE_SELECT` keeps their choice.
///
/// Returns the variables to set, or `None` when nothing needs doing. The library never
/// reads or changes the process environment: the binary applies this at the start of
/// `main`, before any thread exists; an embedding program that wants the same silence
/// sets `NODEVICE_SELECT=1` itself.
fn quiet_window_system_probing() -> Option<(&'static str, &'static str)> {
    let user_chose = |k: &str| std::env::var_os(k).is_some();
    if user_chose(MESA_DEVICE_SELECT_OFF_ENV) || user_chose("MESA_VK_DEVICE_SELECT") {
        None
    } else {
        Some((MESA_DEVICE_SELECT_OFF_ENV, "1"))
    }
}
