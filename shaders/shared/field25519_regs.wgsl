// The field-operation interpreter of the verifier's register shape (twin: field::FieldRegs),
// composed after field25519.wgsl; the straight-line shape does without it. Curve formulas
// and exponentiation chains run as short programs of field operations through this one
// loop instead of as straight-line code: drivers inline every call, and a fully inlined
// straight-line form of this verifier once took minutes to compile on Mesa's lavapipe.
// Instruction words: op (bits 0-3), dst (4-8), a (9-13), b (14-18), repeat count n
// (19-31, squarings only). Registers R_ZERO, R_ONE, R_D, R_D2, R_SQRT_M1 hold constants
// (fe_regs_init); FE_PROGRAM and the register and op numbers are generated into
// field25519_programs.wgsl by src/verify/wgsl_gen.rs from the twin.

var<private> fe_reg: array<FieldElement13x20, 32>;

fn fe_regs_init() {
    for (var i = 0u; i < 32u; i++) {
        fe_reg[i] = fe_zero();
    }
    fe_reg[R_ONE] = fe_one();
    fe_reg[R_D] = FE_D;
    fe_reg[R_D2] = FE_D2;
    fe_reg[R_SQRT_M1] = FE_SQRT_M1;
}

// Runs FE_PROGRAM[start .. start + len]; operands are read before the result is written.
fn fe_run(start: u32, len: u32) {
    for (var pc = start; pc < start + len; pc++) {
        let word = FE_PROGRAM[pc];
        let op = word & 15u;
        let d = (word >> 4u) & 31u;
        let a = fe_reg[(word >> 9u) & 31u];
        let b = fe_reg[(word >> 14u) & 31u];
        let n = word >> 19u;
        switch (op) {
            case OP_MUL: { fe_reg[d] = fe_mul(a, b); }
            case OP_SQR: { fe_reg[d] = fe_pow2k(a, n); }
            case OP_ADD: { fe_reg[d] = fe_add(a, b); }
            default: { fe_reg[d] = fe_sub(a, b); }
        }
    }
}
