// Golden vectors of ggml's block formats, made by llama.cpp's own ggml/src/ggml-quants.c (see make-ggml-golden.sh).
//
// Inputs: NROWS seeded rows of N_PER_ROW floats (Gaussian, small Gaussian, outliers, all zero, zero sub-blocks,
// all positive, heavy-tailed tiny values, values on a coarse grid) and NIMAT importance vectors of N_PER_ROW.
// For every type of the table below it writes
//   <type>.ref.bin        quantize_row_<type>_ref over all rows at once (k = NROWS*N_PER_ROW)
//   <type>.noimat.bin     quantize_<type>(src, dst, NROWS, N_PER_ROW, NULL)  (what llama-quantize runs without an
//                         imatrix; only written where it differs from the reference, i.e. IQ4_NL)
//   <type>.imat<i>.bin    quantize_<type>(src, dst, NROWS, N_PER_ROW, imatrix i)
// and MANIFEST.txt, one line per file: file, type, bytes, FNV-1a 64 of the dequantize_row_<type> output (float32
// bits, little endian), so the Java tests check their dequantization without storing the floats.
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-common.h"
#include "ggml-quants.h"

#define NROWS 8
#define N_PER_ROW 512
#define NIMAT 2

// ggml.c pieces ggml-quants.c links against (the real ones need all of ggml.c).
void ggml_abort(const char * file, int line, const char * fmt, ...) {
    fprintf(stderr, "ggml_abort at %s:%d (%s)\n", file, line, fmt);
    abort();
}

static const struct { enum ggml_type type; const char * name; int blck; size_t size; } TYPES[] = {
    {GGML_TYPE_Q4_0, "q4_0", QK4_0, sizeof(block_q4_0)},  {GGML_TYPE_Q4_1, "q4_1", QK4_1, sizeof(block_q4_1)},
    {GGML_TYPE_Q5_0, "q5_0", QK5_0, sizeof(block_q5_0)},  {GGML_TYPE_Q5_1, "q5_1", QK5_1, sizeof(block_q5_1)},
    {GGML_TYPE_Q8_0, "q8_0", QK8_0, sizeof(block_q8_0)},
    {GGML_TYPE_Q2_K, "q2_K", QK_K, sizeof(block_q2_K)},   {GGML_TYPE_Q3_K, "q3_K", QK_K, sizeof(block_q3_K)},
    {GGML_TYPE_Q4_K, "q4_K", QK_K, sizeof(block_q4_K)},   {GGML_TYPE_Q5_K, "q5_K", QK_K, sizeof(block_q5_K)},
    {GGML_TYPE_Q6_K, "q6_K", QK_K, sizeof(block_q6_K)},
    {GGML_TYPE_IQ4_NL, "iq4_nl", QK4_NL, sizeof(block_iq4_nl)}, {GGML_TYPE_IQ4_XS, "iq4_xs", QK_K, sizeof(block_iq4_xs)},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static int type_index(enum ggml_type t) {
    for (size_t i = 0; i < NTYPES; i++) if (TYPES[i].type == t) return (int) i;
    fprintf(stderr, "type %d not in the harness table\n", (int) t);
    abort();
}
size_t ggml_type_size(enum ggml_type t) { return TYPES[type_index(t)].size; }
int64_t ggml_blck_size(enum ggml_type t) { return TYPES[type_index(t)].blck; }
size_t ggml_row_size(enum ggml_type t, int64_t ne) { return ggml_type_size(t) * ne / ggml_blck_size(t); }
const char * ggml_type_name(enum ggml_type t) { return TYPES[type_index(t)].name; }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) { // xorshift64*, in (0, 1)
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return ((rng * 2685821657736338717ull >> 11) + 0.5) / 9007199254740992.0;
}
static double gaussian(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static void make_inputs(float * x, float * imat) {
    for (int r = 0; r < NROWS; r++) {
        float * row = x + r * N_PER_ROW;
        for (int j = 0; j < N_PER_ROW; j++) {
            double v;
            switch (r) {
                case 0: v = gaussian(); break;                                            // unit Gaussian
                case 1: v = 0.02 * gaussian(); break;                                     // weight-sized
                case 2: v = 0.05 * gaussian() * (uniform() < 0.02 ? 40 : 1); break;       // outliers
                case 3: v = 0; break;                                                     // all zero
                case 4: v = (j / 16) % 3 == 0 ? 0 : 0.1 * gaussian(); break;              // zero sub-blocks
                case 5: v = 0.5 + uniform(); break;                                       // all positive
                case 6: v = 1e-3 * log(uniform()) * (uniform() < 0.5 ? -1 : 1); break;    // Laplace, tiny
                default: v = 0.25 * (int) (9 * uniform() - 4.5); break;                   // a coarse grid (ties)
            }
            row[j] = (float) v;
        }
    }
    for (int j = 0; j < N_PER_ROW; j++) {
        imat[j] = (float) -log(uniform());                                  // mean squared activations, smooth
        imat[N_PER_ROW + j] = uniform() < 0.25 ? 0.f : (float) (uniform() < 0.05 ? 100 * uniform() : uniform());
    }
}

static uint64_t fnv1a(const void * p, size_t n) {
    const uint8_t * b = p; uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 0x100000001b3ull; }
    return h;
}

static void dequantize(enum ggml_type t, const void * q, float * y, int64_t k) {
    switch (t) {
        case GGML_TYPE_Q4_0: dequantize_row_q4_0(q, y, k); break;
        case GGML_TYPE_Q4_1: dequantize_row_q4_1(q, y, k); break;
        case GGML_TYPE_Q5_0: dequantize_row_q5_0(q, y, k); break;
        case GGML_TYPE_Q5_1: dequantize_row_q5_1(q, y, k); break;
        case GGML_TYPE_Q8_0: dequantize_row_q8_0(q, y, k); break;
        case GGML_TYPE_Q2_K: dequantize_row_q2_K(q, y, k); break;
        case GGML_TYPE_Q3_K: dequantize_row_q3_K(q, y, k); break;
        case GGML_TYPE_Q4_K: dequantize_row_q4_K(q, y, k); break;
        case GGML_TYPE_Q5_K: dequantize_row_q5_K(q, y, k); break;
        case GGML_TYPE_Q6_K: dequantize_row_q6_K(q, y, k); break;
        case GGML_TYPE_IQ4_NL: dequantize_row_iq4_nl(q, y, k); break;
        case GGML_TYPE_IQ4_XS: dequantize_row_iq4_xs(q, y, k); break;
        default: abort();
    }
}

static void quantize_ref(enum ggml_type t, const float * x, void * q, int64_t k) {
    switch (t) {
        case GGML_TYPE_Q4_0: quantize_row_q4_0_ref(x, q, k); break;
        case GGML_TYPE_Q4_1: quantize_row_q4_1_ref(x, q, k); break;
        case GGML_TYPE_Q5_0: quantize_row_q5_0_ref(x, q, k); break;
        case GGML_TYPE_Q5_1: quantize_row_q5_1_ref(x, q, k); break;
        case GGML_TYPE_Q8_0: quantize_row_q8_0_ref(x, q, k); break;
        case GGML_TYPE_Q2_K: quantize_row_q2_K_ref(x, q, k); break;
        case GGML_TYPE_Q3_K: quantize_row_q3_K_ref(x, q, k); break;
        case GGML_TYPE_Q4_K: quantize_row_q4_K_ref(x, q, k); break;
        case GGML_TYPE_Q5_K: quantize_row_q5_K_ref(x, q, k); break;
        case GGML_TYPE_Q6_K: quantize_row_q6_K_ref(x, q, k); break;
        case GGML_TYPE_IQ4_NL: quantize_row_iq4_nl_ref(x, q, k); break;
        case GGML_TYPE_IQ4_XS: quantize_row_iq4_xs_ref(x, q, k); break;
        default: abort();
    }
}

static size_t quantize(enum ggml_type t, const float * x, void * q, const float * imat) {
    switch (t) {
        case GGML_TYPE_Q4_0: return quantize_q4_0(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q4_1: return quantize_q4_1(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q5_0: return quantize_q5_0(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q5_1: return quantize_q5_1(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q8_0: return quantize_q8_0(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q2_K: return quantize_q2_K(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q3_K: return quantize_q3_K(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q4_K: return quantize_q4_K(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q5_K: return quantize_q5_K(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_Q6_K: return quantize_q6_K(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_IQ4_NL: return quantize_iq4_nl(x, q, NROWS, N_PER_ROW, imat);
        case GGML_TYPE_IQ4_XS: return quantize_iq4_xs(x, q, NROWS, N_PER_ROW, imat);
        default: abort();
    }
}

static void write_file(const char * dir, const char * name, const void * p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE * f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f)) { perror(path); exit(1); }
}

static void emit(FILE * manifest, const char * dir, const char * name, enum ggml_type t, const void * q, size_t n) {
    static float y[NROWS * N_PER_ROW];
    dequantize(t, q, y, NROWS * N_PER_ROW);
    write_file(dir, name, q, n);
    fprintf(manifest, "%s %s %zu %016llx\n", name, ggml_type_name(t), n,
            (unsigned long long) fnv1a(y, sizeof y));
}

int main(int argc, char ** argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]); return 2; }
    const char * dir = argv[1];
    static float x[NROWS * N_PER_ROW], imat[NIMAT * N_PER_ROW];
    make_inputs(x, imat);
    write_file(dir, "inputs.f32", x, sizeof x);
    write_file(dir, "imatrix.f32", imat, sizeof imat);
    char mpath[4096];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST.txt", dir);
    FILE * manifest = fopen(mpath, "w");
    if (!manifest) { perror(mpath); return 1; }
    fprintf(manifest, "# rows %d, n_per_row %d, importance vectors %d; file type bytes fnv1a64(dequantized float32 LE)\n",
            NROWS, N_PER_ROW, NIMAT);
    for (size_t i = 0; i < NTYPES; i++) {
        enum ggml_type t = TYPES[i].type;
        size_t n = ggml_row_size(t, N_PER_ROW) * NROWS;
        uint8_t * ref = calloc(n, 1), * q = calloc(n, 1);
        char name[64];
        quantize_ref(t, x, ref, NROWS * N_PER_ROW);
        snprintf(name, sizeof name, "%s.ref.bin", TYPES[i].name);
        emit(manifest, dir, name, t, ref, n);
        if (quantize(t, x, q, NULL) != n) abort();
        if (memcmp(q, ref, n) != 0) {
            snprintf(name, sizeof name, "%s.noimat.bin", TYPES[i].name);
            emit(manifest, dir, name, t, q, n);
        }
        if (t != GGML_TYPE_Q8_0) { // quantize_q8_0 ignores the importance
            for (int m = 0; m < NIMAT; m++) {
                memset(q, 0, n);
                if (quantize(t, x, q, imat + m * N_PER_ROW) != n) abort();
                snprintf(name, sizeof name, "%s.imat%d.bin", TYPES[i].name, m);
                emit(manifest, dir, name, t, q, n);
            }
        }
        free(ref); free(q);
    }
    return fclose(manifest) ? 1 : 0;
}
