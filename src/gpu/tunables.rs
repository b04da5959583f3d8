//! Run-time GPU tunables: the knobs one device call can compare without a rebuild.
//!
//! Every kernel's workgroup size is a WGSL pipeline-overridable constant
//! (`override WORKGROUP_SIZE: u32`), set when its pipeline is built, and the verifier has
//! two code shapes and an optional precomputed base-point table ([`VerifyVariant`]). The
//! defaults are the shapes txwave has always run, so a default engine produces the same
//! bytes as before; every combination agrees with the CPU oracles (the shader tests run
//! each one). `txwave bench --sweep` times the combinations side by side.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Invocations per workgroup of every kernel unless a tunable says otherwise.
pub const DEFAULT_WORKGROUP_SIZE: u32 = 64;

/// Workgroup sizes `txwave bench --sweep` compares.
pub const SWEEP_WORKGROUP_SIZES: [u32; 4] = [32, 64, 128, 256];

/// How the verifier's field arithmetic is laid out in the shader.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum VerifyShape {
    /// Curve formulas as programs for a small interpreter over a private array of 32
    /// field elements (`fe_run`): compact code that compiles fast everywhere.
    #[default]
    Register,
    /// Curve formulas as straight-line calls on field elements held in locals, with no
    /// dynamically indexed private array (which NVIDIA drivers place in local memory).
    StraightLine,
}

impl VerifyShape {
    /// Every shape, in the order benches list them.
    pub const ALL: [VerifyShape; 2] = [VerifyShape::Register, VerifyShape::StraightLine];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            VerifyShape::Register => "register",
            VerifyShape::StraightLine => "straight",
        }
    }
}

impl fmt::Display for VerifyShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VerifyShape {
    type Err = Error;
    fn from_str(s: &str) -> Result<VerifyShape> {
        match s {
            "register" => Ok(VerifyShape::Register),
            "straight" | "straight-line" => Ok(VerifyShape::StraightLine),
            _ => Err(Error::InvalidArgument(format!(
                "unknown verifier shape {s:?} (expected register or straight)"
            ))),
        }
    }
}

/// One compiled form of the GPU verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct VerifyVariant {
    /// Code shape of the field and curve arithmetic.
    pub shape: VerifyShape,
    /// Read [1..8]B from a precomputed storage buffer instead of computing it in every
    /// invocation.
    pub basepoint_table: bool,
    /// Invocations per workgroup.
    pub workgroup_size: u32,
}

impl Default for VerifyVariant {
    fn default() -> Self {
        VerifyVariant {
            shape: VerifyShape::Register,
            basepoint_table: false,
            workgroup_size: DEFAULT_WORKGROUP_SIZE,
        }
    }
}

impl VerifyVariant {
    /// A short label, e.g. `register/table/wg64`.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/wg{}",
            self.shape,
            if self.basepoint_table {
                "table"
            } else {
                "computed"
            },
            self.workgroup_size
        )
    }

    /// Every shape × table combination at the given workgroup sizes.
    pub fn all(workgroup_sizes: &[u32]) -> Vec<VerifyVariant> {
        let mut out = Vec::new();
        for shape in VerifyShape::ALL {
            for basepoint_table in [false, true] {
                for &workgroup_size in workgroup_sizes {
                    out.push(VerifyVariant {
                        shape,
                        basepoint_table,
                        workgroup_size,
                    });
                }
            }
        }
        out
    }
}

/// A kernel family with its own workgroup-size knob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kernel {
    /// Tx ids and batch BLAKE3 (`hash.wgsl`).
    Hash,
    /// Ed25519 (`verify.wgsl`).
    Verify,
    /// Pubkey lookups (`resolve.wgsl`).
    Resolve,
    /// Waves and the changed-row gather (`exec.wgsl`).
    Exec,
    /// Account and pool leaves (`state_leaves.wgsl`).
    StateLeaves,
    /// Merkle levels (`merkle.wgsl`).
    Merkle,
}

impl Kernel {
    /// Every kernel, in pipeline order.
    pub const ALL: [Kernel; 6] = [
        Kernel::Hash,
        Kernel::Verify,
        Kernel::Resolve,
        Kernel::Exec,
        Kernel::StateLeaves,
        Kernel::Merkle,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Hash => "hash",
            Kernel::Verify => "verify",
            Kernel::Resolve => "resolve",
            Kernel::Exec => "exec",
            Kernel::StateLeaves => "state_leaves",
            Kernel::Merkle => "merkle",
        }
    }
}

impl FromStr for Kernel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Kernel> {
        Kernel::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Kernel::ALL.iter().map(|k| k.name()).collect();
                Error::InvalidArgument(format!(
                    "unknown kernel {s:?} (expected one of {})",
                    names.join(", ")
                ))
            })
    }
}

/// Every GPU knob of an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GpuTunables {
    /// The verifier's variant, its workgroup size included.
    pub verify: VerifyVariant,
    /// Workgroup size of the hash kernels.
    pub hash_workgroup_size: u32,
    /// Workgroup size of the resolve kernel.
    pub resolve_workgroup_size: u32,
    /// Workgroup size of the execute kernels.
    pub exec_workgroup_size: u32,
    /// Workgroup size of the state-leaf kernels.
    pub state_leaves_workgroup_size: u32,
    /// Workgroup size of the Merkle kernel.
    pub merkle_workgroup_size: u32,
}

impl Default for GpuTunables {
    fn default() -> Self {
        GpuTunables {
            verify: VerifyVariant::default(),
            hash_workgroup_size: DEFAULT_WORKGROUP_SIZE,
            resolve_workgroup_size: DEFAULT_WORKGROUP_SIZE,
            exec_workgroup_size: DEFAULT_WORKGROUP_SIZE,
            state_leaves_workgroup_size: DEFAULT_WORKGROUP_SIZE,
            merkle_workgroup_size: DEFAULT_WORKGROUP_SIZE,
        }
    }
}

impl GpuTunables {
    /// The workgroup size of `kernel`.
    pub fn workgroup_size(&self, kernel: Kernel) -> u32 {
        match kernel {
            Kernel::Hash => self.hash_workgroup_size,
            Kernel::Verify => self.verify.workgroup_size,
            Kernel::Resolve => self.resolve_workgroup_size,
            Kernel::Exec => self.exec_workgroup_size,
            Kernel::StateLeaves => self.state_leaves_workgroup_size,
            Kernel::Merkle => self.merkle_workgroup_size,
        }
    }

    /// Sets the workgroup size of `kernel`.
    pub fn set_workgroup_size(&mut self, kernel: Kernel, size: u32) {
        let slot = match kernel {
            Kernel::Hash => &mut self.hash_workgroup_size,
            Kernel::Verify => &mut self.verify.workgroup_size,
            Kernel::Resolve => &mut self.resolve_workgroup_size,
            Kernel::Exec => &mut self.exec_workgroup_size,
            Kernel::StateLeaves => &mut self.state_leaves_workgroup_size,
            Kernel::Merkle => &mut self.merkle_workgroup_size,
        };
        *slot = size;
    }

    /// Applies `kernel=size` pairs separated by commas (e.g. `verify=128,hash=256`), or
    /// `all=size` for every kernel.
    pub fn apply_workgroup_spec(&mut self, spec: &str) -> Result<()> {
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once('=').ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "workgroup size {part:?}: expected KERNEL=SIZE, e.g. verify=128"
                ))
            })?;
            let size: u32 = value.trim().parse().map_err(|_| {
                Error::InvalidArgument(format!(
                    "workgroup size {part:?}: {value:?} is not a whole number"
                ))
            })?;
            check_workgroup_size(size)?;
            if name.trim() == "all" {
                for k in Kernel::ALL {
                    self.set_workgroup_size(k, size);
                }
            } else {
                self.set_workgroup_size(name.trim().parse()?, size);
            }
        }
        Ok(())
    }

    /// Checks every workgroup size against WGSL's rules and the device's limits.
    pub fn check(&self, limits: &wgpu::Limits) -> Result<()> {
        for k in Kernel::ALL {
            let size = self.workgroup_size(k);
            check_workgroup_size(size)?;
            let max = limits
                .max_compute_invocations_per_workgroup
                .min(limits.max_compute_workgroup_size_x);
            if size > max {
                return Err(Error::InvalidArgument(format!(
                    "workgroup size {size} of kernel {} exceeds this adapter's limit of {max} invocations",
                    k.name()
                )));
            }
        }
        Ok(())
    }
}

/// A workgroup size must be a power of two from 1 to 1024 (sizes the kernels' index
/// arithmetic and every adapter's limits allow).
pub fn check_workgroup_size(size: u32) -> Result<()> {
    if size.is_power_of_two() && size <= 1024 {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "workgroup size {size}: expected a power of two from 1 to 1024"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workgroup_specs_parse_and_refuse() {
        let mut t = GpuTunables::default();
        t.apply_workgroup_spec("verify=128, hash=256").unwrap();
        assert_eq!(t.verify.workgroup_size, 128);
        assert_eq!(t.hash_workgroup_size, 256);
        assert_eq!(t.exec_workgroup_size, DEFAULT_WORKGROUP_SIZE);
        t.apply_workgroup_spec("all=32").unwrap();
        assert!(Kernel::ALL.iter().all(|k| t.workgroup_size(*k) == 32));
        let err = |s: &str| {
            GpuTunables::default()
                .apply_workgroup_spec(s)
                .unwrap_err()
                .to_string()
        };
        assert!(err("verify").contains("expected KERNEL=SIZE"));
        assert!(err("verify=96").contains("power of two"));
        assert!(err("verify=2048").contains("power of two"));
        assert!(err("verify=x").contains("not a whole number"));
        assert!(err("shade=64").contains("unknown kernel \"shade\""));
    }

    #[test]
    fn limits_refuse_large_workgroups() {
        let t = GpuTunables {
            hash_workgroup_size: 512,
            ..Default::default()
        };
        let limits = wgpu::Limits::downlevel_defaults();
        let e = t.check(&limits).unwrap_err().to_string();
        assert!(e.contains("kernel hash"), "{e}");
        assert!(GpuTunables::default().check(&limits).is_ok());
    }

    #[test]
    fn variants_cover_every_combination() {
        let all = VerifyVariant::all(&SWEEP_WORKGROUP_SIZES);
        assert_eq!(all.len(), 2 * 2 * SWEEP_WORKGROUP_SIZES.len());
        let labels: std::collections::HashSet<String> = all.iter().map(|v| v.label()).collect();
        assert_eq!(labels.len(), all.len());
        assert_eq!(VerifyVariant::default().label(), "register/computed/wg64");
        assert_eq!(
            "straight".parse::<VerifyShape>().unwrap(),
            VerifyShape::StraightLine
        );
        assert!("curvy".parse::<VerifyShape>().is_err());
    }
}
