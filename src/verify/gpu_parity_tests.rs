//! GPU-vs-twin parity tests of every building block of the verifier (field, scalar,
//! SHA-512, curve), through the test kernels of `shaders/test/verify_test.wgsl`; skipped
//! without an adapter unless `TXWAVE_REQUIRE_GPU=1`.

use std::time::Instant;

use super::tests::TEST_WORKGROUP_SIZE;
use super::*;
use crate::gpu::shaders;
use crate::verify::twin;

/// Operation numbers of the test entry points; keep in sync with `shaders/test/verify_test.wgsl`.
mod test_op {
    pub const FIELD_CARRY: u32 = 0;
    pub const FIELD_ADD: u32 = 1;
    pub const FIELD_SUB: u32 = 2;
    pub const FIELD_NEG: u32 = 3;
    pub const FIELD_MUL: u32 = 4;
    pub const FIELD_SQUARE: u32 = 5;
    pub const FIELD_INVERT: u32 = 6;
    pub const FIELD_POW2K_7: u32 = 7;
    pub const FIELD_CANONICAL: u32 = 8;
    pub const FIELD_SQRT_RATIO: u32 = 9;
    pub const FIELD_FROM_WORDS: u32 = 10;
    pub const FIELD_TO_WORDS: u32 = 11;
    pub const SCALAR_REDUCE: u32 = 0;
    pub const SCALAR_CANONICAL: u32 = 1;
    pub const SCALAR_RADIX16: u32 = 2;
    pub const CURVE_DECOMPRESS: u32 = 0;
    pub const CURVE_ADD: u32 = 1;
    pub const CURVE_DOUBLE: u32 = 2;
    pub const CURVE_COMPRESS: u32 = 3;
    pub const CURVE_SMALL: u32 = 4;
    pub const CURVE_DOUBLE_SCALAR: u32 = 5;
    pub const CURVE_SUB: u32 = 6;
}

const FIELD_IN_STRIDE: usize = 40;
const FIELD_OUT_STRIDE: usize = 21;
const SCALAR_IN_STRIDE: usize = 16;
const SCALAR_OUT_STRIDE: usize = 64;
const CURVE_IN_STRIDE: usize = 176;
const CURVE_OUT_STRIDE: usize = 81;

/// The test module compiled once per test binary, one pipeline per entry point, created on
/// first use.
struct TestKernels {
    ctx: GpuContext,
    module: wgpu::ShaderModule,
    pipelines: Mutex<Vec<(&'static str, wgpu::ComputePipeline)>>,
}

fn kernels() -> Option<&'static TestKernels> {
    static KERNELS: std::sync::OnceLock<Option<TestKernels>> = std::sync::OnceLock::new();
    KERNELS
        .get_or_init(|| {
            let ctx = crate::gpu::test_context()?;
            let module = ctx
                .scoped("test module", || {
                    ctx.device
                        .create_shader_module(wgpu::ShaderModuleDescriptor {
                            label: Some("verify_test"),
                            source: wgpu::ShaderSource::Wgsl(shaders::VERIFY_TEST.source().into()),
                        })
                })
                .expect("test module compiles");
            Some(TestKernels {
                ctx,
                module,
                pipelines: Mutex::new(Vec::new()),
            })
        })
        .as_ref()
}

impl TestKernels {
    fn pipeline(&self, entry: &'static str) -> wgpu::ComputePipeline {
        let mut cache = self
            .pipelines
            .lock()
            .expect("no earlier panic holding the lock");
        if let Some((_, p)) = cache.iter().find(|(e, _)| *e == entry) {
            return p.clone();
        }
        let started = Instant::now();
        let p = self
            .ctx
            .scoped("test pipeline", || {
                self.ctx
                    .device
                    .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(entry),
                        layout: None,
                        module: &self.module,
                        entry_point: Some(entry),
                        compilation_options: Default::default(),
                        cache: None,
                    })
            })
            .expect("test pipeline compiles");
        eprintln!("{entry}: pipeline built in {:?}", started.elapsed());
        cache.push((entry, p.clone()));
        p
    }

    /// Runs `entry` with operation `op` over `count` cases and returns `out_words` words.
    fn run(
        &self,
        entry: &'static str,
        op: u32,
        count: usize,
        items: Option<&[ItemDesc]>,
        data: &[u32],
        out_words: usize,
    ) -> Vec<u32> {
        use wgpu::util::DeviceExt;
        let ctx = &self.ctx;
        let pipeline = self.pipeline(entry);
        let dev = &ctx.device;
        let params = VerifyParams {
            count: count as u32,
            rule: op,
            pad0: 0,
            pad1: 0,
        };
        let storage = |label, bytes: &[u8]| {
            dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE,
            })
        };
        let params_buf = dev.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(&params),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let data_buf = storage("data", bytemuck::cast_slice(data));
        let items_buf = items.map(|i| storage("items", bytemuck::cast_slice(i)));
        let results = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("results"),
            size: (4 * out_words.max(1)) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut entries = vec![
            wgpu::BindGroupEntry {
                binding: 0,
                resource: params_buf.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: data_buf.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: results.as_entire_binding(),
            },
        ];
        if let Some(b) = &items_buf {
            entries.push(wgpu::BindGroupEntry {
                binding: 1,
                resource: b.as_entire_binding(),
            });
        }
        // The double-scalar multiplication reaches the base-point table's binding (read
        // only with the table, which the test kernels do not use).
        let table_buf = (entry == "test_curve")
            .then(|| storage("table", bytemuck::cast_slice(&basepoint_table_words())));
        if let Some(b) = &table_buf {
            entries.push(wgpu::BindGroupEntry {
                binding: 4,
                resource: b.as_entire_binding(),
            });
        }
        ctx.scoped("test dispatch", || {
            let bind_group = dev.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            let mut enc = dev.create_command_encoder(&Default::default());
            {
                let mut pass = enc.begin_compute_pass(&Default::default());
                pass.set_pipeline(&pipeline);
                pass.set_bind_group(0, &bind_group, &[]);
                pass.dispatch_workgroups((count as u32).div_ceil(TEST_WORKGROUP_SIZE), 1, 1);
            }
            ctx.queue.submit([enc.finish()]);
        })
        .expect("test dispatch");
        let bytes =
            crate::gpu::pool::read_once(ctx, "test readback", &results, (4 * out_words) as u64)
                .expect("readback");
        bytemuck::pod_collect_to_vec(&bytes)
    }
}

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use twin::curve::{self, EdwardsPoint};
use twin::field::{self, FieldElement13x20, FieldRegs};

fn point_words(p: &EdwardsPoint) -> Vec<u32> {
    [p.x, p.y, p.z, p.t].iter().flat_map(|f| f.0).collect()
}

fn assert_words(what: &str, case: usize, gpu: &[u32], twin: &[u32]) {
    assert_eq!(
        gpu, twin,
        "{what}, case {case}: GPU differs from the CPU twin"
    );
}

#[test]
fn field_parity() {
    let Some(k) = kernels() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(21);
    let inputs = twin::tests::field_inputs(&mut rng, 120);
    let n = inputs.len();
    let pair = |i: usize| (inputs[i], inputs[(i * 7 + 3) % n]);
    let mut data = Vec::new();
    for i in 0..n {
        let (a, b) = pair(i);
        data.extend(a.0);
        data.extend(b.0);
    }
    use test_op::*;
    for op in [
        FIELD_ADD,
        FIELD_SUB,
        FIELD_NEG,
        FIELD_MUL,
        FIELD_SQUARE,
        FIELD_INVERT,
        FIELD_POW2K_7,
        FIELD_CANONICAL,
        FIELD_SQRT_RATIO,
        FIELD_TO_WORDS,
    ] {
        let gpu = k.run("test_field", op, n, None, &data, n * FIELD_OUT_STRIDE);
        for i in 0..n {
            let (a, b) = pair(i);
            let regs = &mut FieldRegs::new();
            let (r, flag): (FieldElement13x20, u32) = match op {
                FIELD_ADD => (field::add(a, b), 0),
                FIELD_SUB => (field::sub(a, b), 0),
                FIELD_NEG => (field::neg(a), 0),
                FIELD_MUL => (field::mul(a, b), 0),
                FIELD_SQUARE => (field::square(a), 0),
                FIELD_INVERT => (curve::invert(regs, a), 0),
                FIELD_POW2K_7 => (field::pow2k(a, 7), 0),
                FIELD_CANONICAL => (field::to_canonical(a), 0),
                FIELD_SQRT_RATIO => {
                    let (ok, r) = curve::sqrt_ratio_i(regs, a, b);
                    (r, u32::from(ok))
                }
                _ => {
                    let mut l = [0u32; 20];
                    l[..8].copy_from_slice(&field::to_words(a));
                    (FieldElement13x20(l), u32::from(field::is_negative(a)))
                }
            };
            let mut want = r.0.to_vec();
            want.push(flag);
            let got = &gpu[i * FIELD_OUT_STRIDE..(i + 1) * FIELD_OUT_STRIDE];
            assert_words(&format!("field op {op}"), i, got, &want);
        }
    }
    // carry over its whole precondition (limbs < 2^23) and from_words over any 32 bytes.
    let mut data = vec![(1u32 << 23) - 1; FIELD_IN_STRIDE];
    for _ in 0..100 {
        data.extend((0..FIELD_IN_STRIDE).map(|_| rng.gen_range(0..1u32 << 23)));
    }
    let m = data.len() / FIELD_IN_STRIDE;
    let gpu = k.run(
        "test_field",
        FIELD_CARRY,
        m,
        None,
        &data,
        m * FIELD_OUT_STRIDE,
    );
    for i in 0..m {
        let a = FieldElement13x20(data[i * 40..i * 40 + 20].try_into().expect("20 limbs"));
        let got = &gpu[i * FIELD_OUT_STRIDE..i * FIELD_OUT_STRIDE + 20];
        assert_words("carry", i, got, &field::carry(a).0);
    }
    let mut data: Vec<u32> = (0..m * FIELD_IN_STRIDE).map(|_| rng.next_u32()).collect();
    data[..8].fill(u32::MAX);
    let gpu = k.run(
        "test_field",
        FIELD_FROM_WORDS,
        m,
        None,
        &data,
        m * FIELD_OUT_STRIDE,
    );
    for i in 0..m {
        let w: [u32; 8] = data[i * 40..i * 40 + 8].try_into().expect("8 words");
        let got = &gpu[i * FIELD_OUT_STRIDE..i * FIELD_OUT_STRIDE + 20];
        assert_words("from_words", i, got, &field::from_words(w).0);
    }
}

#[test]
fn scalar_parity() {
    let Some(k) = kernels() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let mut data: Vec<u32> = vec![u32::MAX; SCALAR_IN_STRIDE];
    // ℓ, ℓ − 1, 2^253 in the low half (S edges), then random.
    data.extend(twin::scalar::ELL_WORDS);
    data.extend([0; 8]);
    let mut ell_m1 = twin::scalar::ELL_WORDS;
    ell_m1[0] -= 1;
    data.extend(ell_m1);
    data.extend([0; 8]);
    data.extend([0, 0, 0, 0, 0, 0, 0, 1 << 29]);
    data.extend([0; 8]);
    for i in 0..200 {
        let mut w: Vec<u32> = (0..SCALAR_IN_STRIDE).map(|_| rng.next_u32()).collect();
        if i % 2 == 0 {
            w[7] &= 0x1fff_ffff;
        }
        data.extend(w);
    }
    let n = data.len() / SCALAR_IN_STRIDE;
    use test_op::*;
    for op in [SCALAR_REDUCE, SCALAR_CANONICAL, SCALAR_RADIX16] {
        let gpu = k.run("test_scalar", op, n, None, &data, n * SCALAR_OUT_STRIDE);
        for i in 0..n {
            let wide: [u32; 16] = data[i * 16..i * 16 + 16].try_into().expect("16 words");
            let narrow: [u32; 8] = data[i * 16..i * 16 + 8].try_into().expect("8 words");
            let got = &gpu[i * SCALAR_OUT_STRIDE..];
            match op {
                SCALAR_REDUCE => {
                    assert_words("reduce", i, &got[..8], &twin::scalar::reduce_wide(wide))
                }
                SCALAR_CANONICAL => assert_words(
                    "is_canonical",
                    i,
                    &got[..1],
                    &[u32::from(twin::scalar::is_canonical(narrow))],
                ),
                _ => {
                    let d: Vec<u32> = twin::scalar::signed_radix16(if narrow[7] >> 31 == 0 {
                        narrow
                    } else {
                        continue;
                    })
                    .iter()
                    .map(|d| *d as u32)
                    .collect();
                    assert_words("signed_radix16", i, &got[..64], &d);
                }
            }
        }
    }
}

#[test]
fn sha512_parity() {
    let Some(k) = kernels() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(23);
    let mut descs = Vec::new();
    let mut data = Vec::new();
    let mut messages = Vec::new();
    // Every length around the one- and two-block padding boundaries, and longer ones.
    for len in (0..=300).chain([511, 512, 1000, 4096 + 17]) {
        let mut m = vec![0u8; len];
        rng.fill_bytes(&mut m);
        descs.push(ItemDesc {
            offset_words: data.len() as u32,
            message_len: len as u32,
        });
        data.extend(words_le(&m));
        messages.push(m);
    }
    let n = descs.len();
    let gpu = k.run("test_sha512", 0, n, Some(&descs), &data, n * 16);
    for (i, d) in descs.iter().enumerate() {
        let twin = twin::sha512::sha512_words(&data, d.offset_words, d.message_len);
        assert_words("sha512", i, &gpu[i * 16..i * 16 + 16], &twin);
        let want: Vec<u8> = sha2::Digest::finalize(sha2::Digest::chain_update(
            <sha2::Sha512 as sha2::Digest>::new(),
            &messages[i],
        ))
        .to_vec();
        assert_eq!(
            bytemuck::cast_slice::<u32, u8>(&twin),
            &want[..],
            "sha2, case {i}"
        );
    }
}

fn random_point(rng: &mut ChaCha20Rng) -> EdwardsPoint {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    let s = curve25519_dalek::Scalar::from_bytes_mod_order(b);
    let mut p = curve25519_dalek::EdwardsPoint::mul_base(&s);
    if rng.gen_bool(0.3) {
        p += curve25519_dalek::constants::EIGHT_TORSION[rng.gen_range(0..8)];
    }
    let w: Vec<u32> = words_le(p.compress().as_bytes()).collect();
    curve::decompress(&mut FieldRegs::new(), w.try_into().expect("8 words"))
        .expect("a curve point decompresses")
}

#[test]
fn curve_parity() {
    let Some(k) = kernels() else { return };
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    let mut cases = Vec::new();
    let torsion: Vec<[u32; 8]> = curve25519_dalek::constants::EIGHT_TORSION
        .iter()
        .map(|t| {
            words_le(t.compress().as_bytes())
                .collect::<Vec<_>>()
                .try_into()
                .expect("8")
        })
        .collect();
    for i in 0..40 {
        let p = random_point(&mut rng);
        let q = if i % 5 == 0 {
            p
        } else {
            random_point(&mut rng)
        };
        // Encodings: small-order points, y >= p (non-canonical), random bytes.
        let enc: [u32; 8] = match i % 4 {
            0 => torsion[i / 4 % 8],
            1 => {
                let mut w = [u32::MAX; 8];
                w[0] = 0xffff_ffed + (i as u32 % 19);
                w[7] = if i % 8 == 1 { 0x7fff_ffff } else { u32::MAX };
                w
            }
            _ => std::array::from_fn(|_| rng.next_u32()),
        };
        let mut b: [u32; 8] = std::array::from_fn(|_| rng.next_u32());
        b[7] &= 0x0fff_ffff;
        cases.push((p, q, enc, b));
    }
    let mut data = Vec::new();
    // Layout per case: P | Q | a | b, where the encoding doubles as the scalar a of op 5
    // (kept < 2^255 there).
    for (p, q, enc, b) in &cases {
        data.extend(point_words(p));
        data.extend(point_words(q));
        data.extend(enc);
        data.extend(b);
    }
    assert_eq!(data.len(), cases.len() * CURVE_IN_STRIDE);
    let n = cases.len();
    use test_op::*;
    for op in [
        CURVE_DECOMPRESS,
        CURVE_ADD,
        CURVE_SUB,
        CURVE_DOUBLE,
        CURVE_COMPRESS,
        CURVE_SMALL,
        CURVE_DOUBLE_SCALAR,
    ] {
        let mut op_data = data.clone();
        if op == CURVE_DOUBLE_SCALAR {
            for i in 0..n {
                op_data[i * CURVE_IN_STRIDE + 167] &= 0x7fff_ffff;
            }
        }
        let gpu = k.run("test_curve", op, n, None, &op_data, n * CURVE_OUT_STRIDE);
        for (i, (p, q, _, b)) in cases.iter().enumerate() {
            let enc: [u32; 8] = op_data[i * CURVE_IN_STRIDE + 160..][..8]
                .try_into()
                .expect("8");
            let regs = &mut FieldRegs::new();
            let got = &gpu[i * CURVE_OUT_STRIDE..(i + 1) * CURVE_OUT_STRIDE];
            match op {
                CURVE_DECOMPRESS => {
                    let d = curve::decompress(regs, enc);
                    assert_words("decompress flag", i, &got[80..], &[u32::from(d.is_some())]);
                    if let Some(d) = d {
                        assert_words("decompress", i, &got[..80], &point_words(&d));
                    }
                }
                CURVE_ADD => assert_words(
                    "add",
                    i,
                    &got[..80],
                    &point_words(&curve::point_add(regs, *p, *q)),
                ),
                CURVE_SUB => assert_words(
                    "sub",
                    i,
                    &got[..80],
                    &point_words(&curve::point_sub(regs, *p, *q)),
                ),
                CURVE_DOUBLE => assert_words(
                    "double",
                    i,
                    &got[..80],
                    &point_words(&curve::point_double(regs, *p)),
                ),
                CURVE_COMPRESS => {
                    assert_words("compress", i, &got[..8], &curve::compress(regs, *p))
                }
                CURVE_SMALL => {
                    let small = curve::cofactor_identity(regs, &[*p], None)[0];
                    let diff = curve::cofactor_identity(regs, &[*p], Some(*q))[0];
                    let flags = u32::from(small)
                        | (u32::from(diff) << 1)
                        | (u32::from(curve::is_identity(*p)) << 2);
                    assert_words("small order", i, &got[80..], &[flags]);
                }
                _ => assert_words(
                    "double scalar mul",
                    i,
                    &got[..80],
                    &point_words(&curve::double_scalar_mul_basepoint(regs, enc, *p, *b)),
                ),
            }
        }
    }
}
