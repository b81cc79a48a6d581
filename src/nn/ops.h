// ops.h: the layers of the TRM network as free functions, forward and backward.
// Conventions (llm.c): outputs first, then inputs, then weights, then dims. Tensors are
// row-major; N is the number of rows (batch x positions). Backward functions ACCUMULATE
// (+=) into weight gradients, because the one shared network is applied many times per
// step; activation gradients are overwritten unless the name says otherwise.
#ifndef TRM_OPS_H
#define TRM_OPS_H

#include "common.h"

// C[M,N] = alpha * op(A) op(B) + beta * C, row-major (a thin wrapper over BLAS).
void gemm(bool transA, bool transB, int M, int N, int K, real alpha, const real *A, int lda,
          const real *B, int ldb, real beta, real *C, int ldc);

// Precision of the matrix products, as torch.set_float32_matmul_precision: fp32 (BLAS
// sgemm, the default) or bf16 (operands rounded to bfloat16, products and sums in fp32:
// gemm_bf16.c; needs AVX512-BF16). Attention's small products and every other op stay fp32.
typedef enum { MATMUL_FP32, MATMUL_BF16 } MatmulPrecision;
bool matmul_bf16_supported(void);
int set_matmul_precision(MatmulPrecision p, char *err);   // -1 (err) when the CPU cannot
MatmulPrecision matmul_precision(void);
const char *matmul_precision_name(MatmulPrecision p);
// gemm with bf16 operands, whatever the precision setting (fp32 builds with the kernel only).
void gemm_bf16(bool transA, bool transB, int M, int N, int K, real alpha, const real *A, int lda,
               const real *B, int ldb, real beta, real *C, int ldc);

// act[N, W] = swiglu(x[N, in] W_gu^T) in one pass when the products run in bf16 (the
// gate/up product stays in registers); returns false, doing nothing, when it cannot (fp32
// products, in > 1024, W not a multiple of 16): then use linear_forward + swiglu_forward.
bool linear_swiglu_bf16(real *act, const real *x, const real *W_gu, int N, int in, int W);

// Linear layer without bias, as PyTorch's: y[N,out] = x[N,in] W[out,in]^T.
void linear_forward(real *y, const real *x, const real *W, int N, int in, int out);
// dx[N,in] = dy W (or += when accumulate_dx); dW[out,in] += dy^T x. dx or dW may be NULL.
void linear_backward(real *dx, real *dW, const real *dy, const real *x, const real *W,
                     int N, int in, int out, bool accumulate_dx);

// RMSNorm without weight over rows of C: y = r / sqrt(mean(r^2) + eps) with r = x + res
// (the post-norm residual; res may be NULL: r = x); keeps rstd[N]. y may alias neither.
void rmsnorm_forward(real *y, real *rstd, const real *x, const real *res, int N, int C, double eps);
// From the output y and rstd: dx = rstd * (dy - y * mean(dy * y)).
void rmsnorm_backward(real *dx, const real *dy, const real *y, const real *rstd, int N, int C);

// SwiGLU activation: each row of gu is [gate(W) | up(W)]; act = silu(gate) * up.
void swiglu_forward(real *act, const real *gu, int N, int W);
void swiglu_backward(real *dgu, const real *dact, const real *gu, int N, int W);

// Half-split (GPT-NeoX) rotary embedding of the q and k parts of qkv [B*Lt, 3*H*hd] in
// place; cos/sin tables are [Lt, hd]. The backward applies the inverse rotation to dq, dk.
void rope_tables(real *cos_t, real *sin_t, int Lt, int hd, double theta);
void rope_forward(real *qkv, const real *cos_t, const real *sin_t, int B, int Lt, int H, int hd);
void rope_backward(real *dqkv, const real *cos_t, const real *sin_t, int B, int Lt, int H, int hd);

// Non-causal multi-head attention over qkv [B*Lt, 3*H*hd] (rows Q|K|V, head h at columns
// h*hd of each part), scale 1/sqrt(hd). out [B*Lt, H*hd]; lse [B*H*Lt] keeps the row
// log-sum-exp so the backward recomputes the probabilities instead of storing them.
void attention_forward(real *out, real *lse, const real *qkv, int B, int Lt, int H, int hd);
void attention_backward(real *dqkv, const real *dout, const real *qkv, const real *out,
                        const real *lse, int B, int Lt, int H, int hd);

// Transpose each of B matrices [R, C] into [C, R].
void transpose_batched(real *out, const real *in, int B, int R, int C);

// Elementwise helpers.
void vec_add(real *out, const real *a, const real *b, size_t n);     // out = a + b
void vec_acc(real *out, const real *a, size_t n);                    // out += a

#endif
