/* Soft attention for inference, one read of x and one write of the output (see soft_kernel.py).
 *
 * A thread takes a range of samples. Its main loop walks (channel, position) once per sample
 * and does two jobs in the same iteration: it writes sample n's output,
 * sigmoid(relu(s[p] * v[c] + b[c])), and it adds sample n + 1's x[c, p] into that sample's
 * channel and spatial sums. So the loop has the memory traffic of a copy (one stream in, one
 * out), and the sigmoid's arithmetic runs while the next sample's data is on its way.
 * Between samples: the small spatial map (3x3 stride-2 conv, upsampling) and channel vector.
 *
 * The vector paths (AVX2 with FMA: 8 lanes; AVX-512: 16 lanes; see KERNEL_PATH), when H * W is
 * a multiple of the lane count, take four channels at a time (gate_grouped): one load of s[p]
 * and one update of the spatial sums serve four outputs, and the four sigmoids are
 * independent chains the core can interleave. That loop writes its four
 * output rows with normal stores, the per-channel loop with streaming stores: each is the
 * faster of the two for its loop (measured; see gate_group).
 *
 * Built with the system C compiler for an explicit target (soft_kernel.py: -O3, vector loops
 * via `#pragma omp simd`, no OpenMP runtime) and called through ctypes, which releases the GIL
 * during the call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* exp(x) to about 2e-7 relative error: x = k ln2 + r, |r| <= ln2 / 2, exp(r) by its degree-6
 * Taylor polynomial, 2^k from the exponent bits. Plain arithmetic, so loops vectorise. */
static inline float exp_approx(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding and subtracting rounds */
    float k = (x * 1.44269504088896341f + round_magic) - round_magic;
    float r = x - k * 0.693145751953125f; /* ln2 split in two for an exact product */
    r = r - k * 1.428606765330187e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)k + 127) * (1 << 23);
    float two_to_k;
    memcpy(&two_to_k, &bits, sizeof two_to_k);
    return p * two_to_k;
}

static inline float gate(float s, float v, float b) {
    float z = s * v + b;
    z = z > 0.0f ? z : 0.0f;
    return 1.0f / (1.0f + exp_approx(-z));
}

/* Sums of one sample: spatial[p] = sum over c of x[c, p]; totals[c] = sum over p. */
static void statistics(const float *x, int64_t C, int64_t P, float *spatial, double *totals) {
    memset(spatial, 0, (size_t)P * sizeof(float));
    for (int64_t c = 0; c < C; ++c) {
        const float *xc = x + c * P;
        double total = 0.0; /* tens of thousands of terms: a double sum stays exact to float */
#pragma omp simd reduction(+ : total)
        for (int64_t p = 0; p < P; ++p) {
            spatial[p] += xc[p];
            total += xc[p];
        }
        totals[c] = total;
    }
}

/* Which path this build runs, fixed by the target the library is compiled for (soft_kernel.py
 * builds one library per target: -march=x86-64-v4, -march=x86-64-v3, or no -march at all):
 *   "avx512": AVX-512F/DQ with FMA, the hand-written gate on 16 lanes;
 *   "avx2":   AVX2 with FMA, the same gate on 8 lanes;
 *   "portable": plain C, no intrinsics, vectorised as far as the compiler can for the
 *               target's baseline (SSE2 on x86-64, NEON on arm64): every other CPU.
 * The two vector paths share one source: the V_* names below map to one width's intrinsics. */
#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__FMA__)
#include <immintrin.h>
#define KERNEL_PATH "avx512"
#define VW 16 /* lanes */
typedef __m512 vfloat;
#define V_LOAD _mm512_load_ps
#define V_LOADU _mm512_loadu_ps
#define V_STORE _mm512_store_ps
#define V_STOREU _mm512_storeu_ps
#define V_STREAM _mm512_stream_ps
#define V_SET1 _mm512_set1_ps
#define V_ZERO _mm512_setzero_ps
#define V_ADD _mm512_add_ps
#define V_SUB _mm512_sub_ps
#define V_MUL _mm512_mul_ps
#define V_MIN _mm512_min_ps
#define V_MAX _mm512_max_ps
#define V_FMA _mm512_fmadd_ps
#define V_FNMA _mm512_fnmadd_ps
#define V_RCP _mm512_rcp14_ps /* 14 bits; the Newton step below takes it to float's */
#define V_EXP2_BITS(t, p) \
    _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), \
                                         _mm512_slli_epi32(_mm512_castps_si512(t), 23)))
/* Sum of the lanes in double. */
static inline double v_sum(vfloat a) {
    const __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(a));
    const __m512d high = _mm512_cvtps_pd(_mm512_extractf32x8_ps(a, 1));
    return _mm512_reduce_add_pd(_mm512_add_pd(low, high));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KERNEL_PATH "avx2"
#define VW 8
typedef __m256 vfloat;
#define V_LOAD _mm256_load_ps
#define V_LOADU _mm256_loadu_ps
#define V_STORE _mm256_store_ps
#define V_STOREU _mm256_storeu_ps
#define V_STREAM _mm256_stream_ps
#define V_SET1 _mm256_set1_ps
#define V_ZERO _mm256_setzero_ps
#define V_ADD _mm256_add_ps
#define V_SUB _mm256_sub_ps
#define V_MUL _mm256_mul_ps
#define V_MIN _mm256_min_ps
#define V_MAX _mm256_max_ps
#define V_FMA _mm256_fmadd_ps
#define V_FNMA _mm256_fnmadd_ps
#define V_RCP _mm256_rcp_ps /* 12 bits; the Newton step below takes it to float's */
#define V_EXP2_BITS(t, p) \
    _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), \
                                         _mm256_slli_epi32(_mm256_castps_si256(t), 23)))
static inline double v_sum(vfloat a) {
    const __m256d both = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                                       _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)));
    double lanes[4];
    _mm256_storeu_pd(lanes, both);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}
#else
#define KERNEL_PATH "portable"
#define VW 1
#endif

/* The path this library runs; soft_kernel.py checks it against the target it asked for. */
const char *soft_kernel_path(void) { return KERNEL_PATH; }

#if VW > 1
/* VW gates, sigmoid(relu(z)), from u = -z log2(e): the caller folds -log2(e) into each
 * channel's v and b, so u is one fused multiply-add. relu(z) is min(u, 0), and
 * 2^u = 2^k 2^f with k = round(u) and f in [-1/2, 1/2]. 2^f comes from a degree-5 polynomial
 * fitted at Chebyshev nodes (relative error about 2e-7); k goes straight into the exponent
 * bits: the low bits of u + 1.5 * 2^23 hold k, and a shift by 23 moves them into the exponent
 * field. 1 / (1 + 2^u) is an approximate reciprocal refined by one Newton step (relative
 * error about 1e-7, where a division would cost as much as the rest of the gate together).
 * Fewer steps than gate() (no separate multiply by log2(e), no conversion to integers). */
static inline vfloat gate_v(vfloat u) {
    const vfloat magic = V_SET1(12582912.0f);
    u = V_MAX(V_MIN(u, V_ZERO()), V_SET1(-64.0f));
    const vfloat t = V_ADD(u, magic);
    const vfloat f = V_SUB(u, V_SUB(t, magic));
    vfloat p = V_SET1(0.0013390863314270973f);
    p = V_FMA(p, f, V_SET1(0.009676031768321991f));
    p = V_FMA(p, f, V_SET1(0.055503569543361664f));
    p = V_FMA(p, f, V_SET1(0.2402210682630539f));
    p = V_FMA(p, f, V_SET1(0.6931471824645996f));
    p = V_FMA(p, f, V_SET1(1.0000001192092896f));
    const vfloat d = V_ADD(V_EXP2_BITS(t, p), V_SET1(1.0f));
    const vfloat y = V_RCP(d);
    return V_MUL(y, V_FNMA(d, y, V_SET1(2.0f)));
}

/* Positions summed in float before the running total moves to double: 32 values a lane on
 * 8 lanes, 16 on 16. */
#define CHUNK 256

/* G channels [c0, c0 + G) of one sample, VW positions a step: G outputs from one load of
 * s, and (if x is given) G rows of the next sample summed into one update of next_spatial and
 * G channel totals. P must be a multiple of VW and the rows aligned to VW floats. v2, b2: the
 * channels' v and b times -log2(e).
 * Normal stores, not streaming ones: with four rows written side by side by each of two
 * threads, streaming stores made this loop slower than its arithmetic and its memory traffic
 * added together (docs/performance.md, "Normal stores and a separable crop", has the figures). */
static inline void gate_group(const int G, const float *s, const float *v2, const float *b2,
                              int64_t c0, int64_t P, float *out, const float *x,
                              float *spatial, double *totals) {
    vfloat vv[4], bv[4];
    for (int j = 0; j < G; ++j) {
        vv[j] = V_SET1(v2[c0 + j]);
        bv[j] = V_SET1(b2[c0 + j]);
    }
    double total[4] = {0.0, 0.0, 0.0, 0.0};
    for (int64_t start = 0; start < P; start += CHUNK) {
        const int64_t stop = start + CHUNK < P ? start + CHUNK : P;
        vfloat part[4];
        for (int j = 0; j < G; ++j) part[j] = V_ZERO();
        for (int64_t p = start; p < stop; p += VW) {
            const vfloat sv = V_LOAD(s + p);
#pragma GCC unroll 4
            for (int j = 0; j < G; ++j)
                V_STORE(out + (c0 + j) * P + p, gate_v(V_FMA(sv, vv[j], bv[j])));
            if (x != NULL) {
                vfloat column = V_LOAD(spatial + p);
#pragma GCC unroll 4
                for (int j = 0; j < G; ++j) {
                    const vfloat xv = V_LOAD(x + (c0 + j) * P + p);
                    column = V_ADD(column, xv);
                    part[j] = V_ADD(part[j], xv);
                }
                V_STORE(spatial + p, column);
            }
        }
        if (x != NULL)
            for (int j = 0; j < G; ++j) total[j] += v_sum(part[j]);
    }
    if (x != NULL)
        for (int j = 0; j < G; ++j) totals[c0 + j] = total[j];
}

/* gate_and_next_statistics() four channels at a time, for P a multiple of VW and aligned
 * rows: s and the spatial sums are then read once per four channels, not once per channel,
 * and the gate has four independent chains to interleave. */
static void gate_grouped(const float *s, const float *v, const float *b, int64_t C, int64_t P,
                         float *out, const float *next_x, float *next_spatial,
                         double *next_totals, float *v2, float *b2) {
    const float minus_log2e = -1.44269504088896341f;
    for (int64_t c = 0; c < C; ++c) {
        v2[c] = v[c] * minus_log2e;
        b2[c] = b[c] * minus_log2e;
    }
    if (next_x != NULL) memset(next_spatial, 0, (size_t)P * sizeof(float));
    int64_t c0 = 0;
    for (; c0 + 4 <= C; c0 += 4) {
        if (next_x != NULL)
            gate_group(4, s, v2, b2, c0, P, out, next_x, next_spatial, next_totals);
        else
            gate_group(4, s, v2, b2, c0, P, out, NULL, NULL, NULL);
    }
    for (; c0 < C; ++c0) {
        if (next_x != NULL)
            gate_group(1, s, v2, b2, c0, P, out, next_x, next_spatial, next_totals);
        else
            gate_group(1, s, v2, b2, c0, P, out, NULL, NULL, NULL);
    }
}
#endif

/* out[p] = gate(s[p], v, b) for p in [p0, p1), and if x is given, spatial[p] += x[p] and
 * *total += x[p]. */
static inline void gate_span(const float *s, float v, float b, float *out, const float *x,
                             float *spatial, double *total, int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
        out[p] = gate(s[p], v, b);
        if (x != NULL) {
            spatial[p] += x[p];
            *total += x[p];
        }
    }
}

/* Output of one sample while summing the next, one channel at a time: out[c, p] =
 * gate(s[p], v[c], b[c]), and next_x's sums as in statistics(). next_x may be NULL (last
 * sample of the range). The vector paths take whole aligned blocks of VW positions with
 * streaming stores, an unaligned head and the tail one by one; the portable path blocks of 8. */
static void gate_and_next_statistics(const float *s, const float *v, const float *b, int64_t C,
                                     int64_t P, float *out, const float *next_x,
                                     float *next_spatial, double *next_totals) {
    if (next_x != NULL) memset(next_spatial, 0, (size_t)P * sizeof(float));
    for (int64_t c = 0; c < C; ++c) {
        const float vc = v[c], bc = b[c];
        const float *xc = next_x != NULL ? next_x + c * P : NULL;
        float *oc = out + c * P;
        double total = 0.0;
        int64_t p = 0;
#if VW > 1
        int64_t head = (int64_t)((VW - ((uintptr_t)oc / sizeof(float)) % VW) % VW);
        head = head < P ? head : P;
        gate_span(s, vc, bc, oc, xc, next_spatial, &total, 0, head);
        p = head;
        const float minus_log2e = -1.44269504088896341f;
        const vfloat vv = V_SET1(vc * minus_log2e), bv = V_SET1(bc * minus_log2e);
        vfloat part = V_ZERO();
        int64_t chunk_end = p + CHUNK;
        for (; p + VW <= P; p += VW) {
            V_STREAM(oc + p, gate_v(V_FMA(V_LOADU(s + p), vv, bv)));
            if (xc != NULL) {
                const vfloat xv = V_LOADU(xc + p);
                V_STOREU(next_spatial + p, V_ADD(V_LOADU(next_spatial + p), xv));
                part = V_ADD(part, xv);
                if (p + VW >= chunk_end) { /* float partial sums, moved to double per chunk */
                    total += v_sum(part);
                    part = V_ZERO();
                    chunk_end += CHUNK;
                }
            }
        }
        if (xc != NULL) total += v_sum(part);
#else
        /* Portable C in blocks of eight the compiler can vectorise for whatever the target has
         * (SSE2 on any x86-64, NEON on arm64): the gate's clamps need -fno-trapping-math for
         * that on targets without masked lanes. Normal stores: C has no streaming ones. */
        double partial[8] = {0.0};
        for (; p + 8 <= P; p += 8) {
            if (xc != NULL) {
#pragma omp simd
                for (int q = 0; q < 8; ++q) { /* the gate loop: it must vectorise */
                    oc[p + q] = gate(s[p + q], vc, bc);
                    next_spatial[p + q] += xc[p + q];
                    partial[q] += xc[p + q];
                }
            } else {
#pragma omp simd
                for (int q = 0; q < 8; ++q) oc[p + q] = gate(s[p + q], vc, bc);
            }
        }
        for (int q = 0; q < 8; ++q) total += partial[q];
#endif
        gate_span(s, vc, bc, oc, xc, next_spatial, &total, p, P);
        if (xc != NULL) next_totals[c] = total;
    }
#if VW > 1
    _mm_sfence(); /* streamed stores become visible before the caller reads the output */
#endif
}

/* Spatial attention with BatchNorm folded, from the channel sums (so the 1 / C of the mean is
 * folded into the 3x3 weights): 3x3 stride-2 conv (padding 1), ReLU, the scalar affine of the
 * folded 1x1 conv, bilinear upsampling (align_corners) back to H x W, ReLU.
 * sums (H, W) -> out (H, W). Scratch: low (ho * wo), rows (ho * W), weight (W), left and
 * right (W). */
static void spatial_map(const float *sums, int64_t C, int64_t H, int64_t W, const float *k9,
                        float b1, float scale, float shift, float *low, float *rows,
                        float *weight, int64_t *left, int64_t *right, float *out) {
    const int64_t ho = (H - 1) / 2 + 1, wo = (W - 1) / 2 + 1;
    float k[9];
    for (int i = 0; i < 9; ++i) k[i] = k9[i] / (float)C;
    for (int64_t i = 0; i < ho; ++i) {
        float *acc = low + i * wo;
        for (int64_t j = 0; j < wo; ++j) acc[j] = b1;
        for (int64_t dy = 0; dy < 3; ++dy) {
            const int64_t r = 2 * i + dy - 1;
            if (r < 0 || r >= H) continue;
            const float *m = sums + r * W;
            const float k0 = k[3 * dy], k1 = k[3 * dy + 1], k2 = k[3 * dy + 2];
            /* Column 2j - 1 is padding for j = 0, column 2j + 1 for the last j when W is odd. */
            acc[0] += k1 * m[0] + (W > 1 ? k2 * m[1] : 0.0f);
            const int64_t full = (W - 2) / 2 + 1; /* j < full has 2j + 1 < W */
#pragma omp simd
            for (int64_t j = 1; j < full; ++j)
                acc[j] += k0 * m[2 * j - 1] + k1 * m[2 * j] + k2 * m[2 * j + 1];
            for (int64_t j = full > 1 ? full : 1; j < wo; ++j)
                acc[j] += k0 * m[2 * j - 1] + k1 * m[2 * j];
        }
        for (int64_t j = 0; j < wo; ++j) acc[j] = (acc[j] > 0.0f ? acc[j] : 0.0f) * scale + shift;
    }
    /* align_corners=True: source = destination * (in - 1) / (out - 1); columns first (one
     * gathered row per low-resolution row), then rows (whole contiguous rows). */
    const float row_step = H > 1 ? (float)(ho - 1) / (float)(H - 1) : 0.0f;
    const float col_step = W > 1 ? (float)(wo - 1) / (float)(W - 1) : 0.0f;
    for (int64_t j = 0; j < W; ++j) {
        const float src = col_step * (float)j;
        const int64_t j0 = (int64_t)src;
        left[j] = j0;
        right[j] = j0 + (j0 < wo - 1 ? 1 : 0);
        weight[j] = src - (float)j0;
    }
    for (int64_t a = 0; a < ho; ++a) {
        const float *l = low + a * wo;
        float *row = rows + a * W;
#pragma omp simd
        for (int64_t j = 0; j < W; ++j)
            row[j] = (1.0f - weight[j]) * l[left[j]] + weight[j] * l[right[j]];
    }
    for (int64_t i = 0; i < H; ++i) {
        const float src = row_step * (float)i;
        const int64_t i0 = (int64_t)src;
        const int64_t i1 = i0 + (i0 < ho - 1 ? 1 : 0);
        const float w1 = src - (float)i0, w0 = 1.0f - w1;
        const float *top = rows + i0 * W, *bottom = rows + i1 * W;
        float *o = out + i * W;
#pragma omp simd
        for (int64_t j = 0; j < W; ++j) {
            const float v = w0 * top[j] + w1 * bottom[j];
            o[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* Channel attention (two folded 1x1 convs with ReLU) on the channel means, then the soft
 * attention's C x C matrix: totals (C,) sums over P positions -> v (C,). */
static void channel_vector(const double *totals, int64_t C, int64_t P, int64_t hidden,
                           const float *w1, const float *b1, const float *w2, const float *b2,
                           const float *mix, float *mean, float *h, float *g, float *v) {
    for (int64_t c = 0; c < C; ++c) mean[c] = (float)(totals[c] / (double)P);
    for (int64_t k = 0; k < hidden; ++k) {
        float acc = b1[k];
        for (int64_t c = 0; c < C; ++c) acc += w1[k * C + c] * mean[c];
        h[k] = acc > 0.0f ? acc : 0.0f;
    }
    for (int64_t c = 0; c < C; ++c) {
        float acc = b2[c];
        for (int64_t k = 0; k < hidden; ++k) acc += w2[c * hidden + k] * h[k];
        g[c] = acc > 0.0f ? acc : 0.0f;
    }
    for (int64_t c = 0; c < C; ++c) {
        float acc = 0.0f;
        for (int64_t d = 0; d < C; ++d) acc += mix[c * C + d] * g[d];
        v[c] = acc;
    }
}

/* Samples [n0, n1) of x (N, C, H, W) -> out (N, C, H, W). Returns 0, or 1 if out of memory. */
int soft_attention_samples(const float *x, float *out, int64_t n0, int64_t n1, int64_t C,
                           int64_t H, int64_t W, const float *k9, float b1, float scale,
                           float shift, const float *w1, const float *bias1, int64_t hidden,
                           const float *w2, const float *bias2, const float *mix,
                           const float *mix_bias) {
    if (n0 >= n1) return 0;
    const int64_t P = H * W, ho = (H - 1) / 2 + 1, wo = (W - 1) / 2 + 1;
    const int64_t floats = 3 * P + ho * wo + ho * W + W + hidden + 5 * C + 8;
    /* 64-byte aligned (a cache line), for the grouped loop's aligned loads of s and sums. */
    const size_t bytes = ((size_t)floats * sizeof(float) + 63) / 64 * 64;
    float *buffer = (float *)aligned_alloc(64, bytes);
    int64_t *columns = (int64_t *)malloc((size_t)(2 * W) * sizeof(int64_t));
    double *totals = (double *)malloc((size_t)(2 * C) * sizeof(double));
    if (buffer == NULL || columns == NULL || totals == NULL) {
        free(buffer);
        free(columns);
        free(totals);
        return 1;
    }
    float *sums[2] = {buffer, buffer + P}; /* this sample's and the next one's */
    float *s = buffer + 2 * P, *low = s + P, *rows = low + ho * wo, *weight = rows + ho * W;
    float *h = weight + W, *g = h + hidden, *v = g + C, *mean = v + C, *v2 = mean + C;
    float *b2 = v2 + C;
    (void)b2; /* the portable path has no use for the folded copies */
#if VW > 1
    /* The grouped loop's aligned loads: x, out, and s and the sums (P-blocks of buffer). */
    const uintptr_t align = VW * sizeof(float);
    const int grouped = P % VW == 0 && (uintptr_t)out % align == 0 && (uintptr_t)x % align == 0;
#endif
    double *channel_totals[2] = {totals, totals + C};
    statistics(x + n0 * C * P, C, P, sums[0], channel_totals[0]);
    for (int64_t n = n0; n < n1; ++n) {
        const int now = (int)((n - n0) % 2), next = 1 - now;
        spatial_map(sums[now], C, H, W, k9, b1, scale, shift, low, rows, weight, columns,
                    columns + W, s);
        channel_vector(channel_totals[now], C, P, hidden, w1, bias1, w2, bias2, mix, mean, h, g,
                       v);
        const float *next_x = n + 1 < n1 ? x + (n + 1) * C * P : NULL;
#if VW > 1
        if (grouped) {
            gate_grouped(s, v, mix_bias, C, P, out + n * C * P, next_x, sums[next],
                         channel_totals[next], v2, b2);
            continue;
        }
#endif
        gate_and_next_statistics(s, v, mix_bias, C, P, out + n * C * P, next_x, sums[next],
                                 channel_totals[next]);
    }
    free(buffer);
    free(columns);
    free(totals);
    return 0;
}
