/*
 * neardup._sketch: the per-document hot path, compiled.
 *
 * Input is text that Python has already normalised (NFKC + casefold); this
 * module tokenises it exactly as neardup.text.TOKEN does (see there: marks join
 * the token before them, a letter or digit of a script written without spaces is a
 * token of its own, any other run of word characters and marks is one token), hashes
 * tokens and n-token shingles to 64 bits, and computes in one pass:
 *   - a 128-bit key of the token sequence (exact-duplicate detection),
 *   - the token count,
 *   - a MinHash signature of the shingle set (k 32-bit minima),
 *   - optionally the shingle set (sorted, distinct 64-bit hashes), for exact verification.
 *
 * Why C: per-shingle Python costs ~100 ns per operation; the work here is a
 * few nanoseconds per character and per (shingle, permutation).
 *
 * Hash definitions (stable across platforms and runs; changing them changes
 * every signature and must bump SKETCH_VERSION in sketch.py):
 *   token hash    t = fmix64(FNV-1a-64 over the token's code points) ^ len
 *   shingle hash  s = fmix64(poly over t_i .. t_{i+n-1}, multiplier P)
 *   exact key     two independent polynomial lanes over all t_i, fmixed
 *   permutation j h_j(s) = ((a_j * fold32(s) + b_j) mod 2^64) >> 32
 * h_j is Dietzfelbinger's multiply-add-shift scheme, strongly universal for
 * 32-bit keys when a_j, b_j are uniform 64-bit numbers.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define SHINGLE_MULT 0x9e3779b97f4a7c15ULL
#define EXACT_MULT_1 0xff51afd7ed558ccdULL
#define EXACT_MULT_2 0xc4ceb9fe1a85ec53ULL

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* The class of every code point, one byte each (1.1 MB, filled once at import):
 * the marks and unspaced letters come from neardup._unicode_tables, the word characters
 * from the interpreter's own database, as re's \w does (Py_UNICODE_ISALNUM or '_'). */
enum { SEPARATOR = 0, UNSPACED = 1, WORD = 2, MARK = 3 };
#define N_CODEPOINTS 0x110000
static uint8_t *char_class;

static inline uint8_t class_of(Py_UCS4 ch) { return char_class[ch]; }

static int set_class(PyObject *tables, const char *name, uint8_t cls) {
    PyObject *ranges = PyObject_GetAttrString(tables, name);
    if (!ranges) return -1;
    PyObject *seq = PySequence_Fast(ranges, "range table must be a sequence");
    Py_DECREF(ranges);
    if (!seq) return -1;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(seq); k++) {
        unsigned long lo, hi;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, k), "kk", &lo, &hi)) {
            Py_DECREF(seq);
            return -1;
        }
        if (lo > hi || hi >= N_CODEPOINTS) {
            PyErr_Format(PyExc_ValueError, "%s: bad range %lx-%lx", name, lo, hi);
            Py_DECREF(seq);
            return -1;
        }
        for (unsigned long ch = lo; ch <= hi; ch++) char_class[ch] = cls;
    }
    Py_DECREF(seq);
    return 0;
}

static int init_char_class(void) {
    char_class = PyMem_RawMalloc(N_CODEPOINTS);
    if (!char_class) { PyErr_NoMemory(); return -1; }
    for (Py_UCS4 ch = 0; ch < N_CODEPOINTS; ch++)
        char_class[ch] = (Py_UNICODE_ISALNUM(ch) || ch == '_') ? WORD : SEPARATOR;
    PyObject *tables = PyImport_ImportModule("neardup._unicode_tables");
    if (!tables) return -1;
    /* Marks last: a mark is a mark even where the database counts it as numeric. */
    int rc = set_class(tables, "UNSPACED", UNSPACED) < 0 || set_class(tables, "MARKS", MARK) < 0;
    Py_DECREF(tables);
    return rc ? -1 : 0;
}

/* Growable uint64 buffer, reused across documents in one call. */
typedef struct {
    uint64_t *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} u64vec;

static int u64vec_reserve(u64vec *v, Py_ssize_t need) {
    if (need <= v->cap) return 0;
    Py_ssize_t cap = v->cap ? v->cap : 1024;
    while (cap < need) cap *= 2;
    uint64_t *p = PyMem_Realloc(v->data, (size_t)cap * sizeof(uint64_t));
    if (!p) { PyErr_NoMemory(); return -1; }
    v->data = p;
    v->cap = cap;
    return 0;
}

/* The tokens of `n` code points at `data` (of type CHAR_T), in order: for each, EMIT runs
 * with `start` and `i` (its end) and `h` (FNV-1a over its code points) in scope. One loop
 * per string kind (1, 2 or 4 bytes a code point) so the inner loop reads characters
 * directly instead of switching on the kind for each one. */
#define SCAN_TOKENS(CHAR_T, EMIT)                                                         \
    do {                                                                                 \
        const CHAR_T *p = (const CHAR_T *)data;                                          \
        Py_ssize_t i = 0;                                                                \
        while (i < n) {                                                                  \
            uint8_t cls = class_of(p[i]);                                                \
            if (cls == SEPARATOR) { i++; continue; }                                     \
            uint64_t h = FNV_OFFSET;                                                     \
            Py_ssize_t start = i;                                                        \
            if (cls == UNSPACED) {                                                       \
                h = (h ^ (uint64_t)p[i]) * FNV_PRIME; i++;                               \
                while (i < n && class_of(p[i]) == MARK) { h = (h ^ (uint64_t)p[i]) * FNV_PRIME; i++; } \
            } else {                                                                     \
                while (i < n && class_of(p[i]) >= WORD) { h = (h ^ (uint64_t)p[i]) * FNV_PRIME; i++; } \
            }                                                                            \
            EMIT;                                                                        \
        }                                                                                \
    } while (0)

/* Token hashes of one normalised str into `tokens`; returns the count or -1. */
#define EMIT_TOKEN_HASH                                                                  \
    if (tokens->len == tokens->cap && u64vec_reserve(tokens, tokens->len + 1) < 0)      \
        return -1;                                                                       \
    tokens->data[tokens->len++] = fmix64(h ^ (uint64_t)(i - start))
#define HASH_TOKENS_LOOP(CHAR_T) SCAN_TOKENS(CHAR_T, EMIT_TOKEN_HASH)

static Py_ssize_t hash_tokens(PyObject *text, u64vec *tokens) {
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    tokens->len = 0;
    switch (PyUnicode_KIND(text)) {
        case PyUnicode_1BYTE_KIND: HASH_TOKENS_LOOP(Py_UCS1); break;
        case PyUnicode_2BYTE_KIND: HASH_TOKENS_LOOP(Py_UCS2); break;
        default: HASH_TOKENS_LOOP(Py_UCS4); break;
    }
    return tokens->len;
}

/* Shingle hashes from token hashes; a document shorter than n is one shingle. */
static Py_ssize_t hash_shingles(const u64vec *tokens, int ngram, u64vec *shingles) {
    Py_ssize_t nt = tokens->len;
    shingles->len = 0;
    if (nt == 0) return 0;
    Py_ssize_t width = nt < ngram ? nt : ngram;
    Py_ssize_t count = nt - width + 1;
    if (u64vec_reserve(shingles, count) < 0) return -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        uint64_t s = 0;
        for (Py_ssize_t k = 0; k < width; k++) s = s * SHINGLE_MULT + tokens->data[i + k];
        shingles->data[i] = fmix64(s);
    }
    shingles->len = count;
    return count;
}

/* Sort ascending and drop repeats; returns the new length. The values are uniform random
 * hashes, so one counting pass on the top bits (about one value per bucket) leaves the
 * array almost sorted, and an insertion sort finishes it in near-linear time: several
 * times faster than a comparison sort on the few hundred values of one document. */
typedef struct {
    uint64_t *buf;
    uint32_t *counts;
    Py_ssize_t cap, count_cap;
} sort_scratch;

static int sort_unique_u64(uint64_t *v, Py_ssize_t n, sort_scratch *s, Py_ssize_t *out_n) {
    if (n < 2) { *out_n = n; return 0; }
    int bits = 1;
    while (bits < 16 && ((Py_ssize_t)1 << bits) < n) bits++;
    Py_ssize_t buckets = (Py_ssize_t)1 << bits;
    if (s->cap < n) {
        uint64_t *p = PyMem_Realloc(s->buf, (size_t)n * sizeof(uint64_t));
        if (!p) { PyErr_NoMemory(); return -1; }
        s->buf = p; s->cap = n;
    }
    if (s->count_cap < buckets + 1) {
        uint32_t *p = PyMem_Realloc(s->counts, (size_t)(buckets + 1) * sizeof(uint32_t));
        if (!p) { PyErr_NoMemory(); return -1; }
        s->counts = p; s->count_cap = buckets + 1;
    }
    uint32_t *c = s->counts;
    int shift = 64 - bits;
    memset(c, 0, (size_t)(buckets + 1) * sizeof(uint32_t));
    for (Py_ssize_t i = 0; i < n; i++) c[(v[i] >> shift) + 1]++;
    for (Py_ssize_t b = 0; b < buckets; b++) c[b + 1] += c[b];
    for (Py_ssize_t i = 0; i < n; i++) s->buf[c[v[i] >> shift]++] = v[i];
    uint64_t *w = s->buf;
    for (Py_ssize_t i = 1; i < n; i++) {
        uint64_t x = w[i];
        Py_ssize_t j = i;
        while (j > 0 && w[j - 1] > x) { w[j] = w[j - 1]; j--; }
        w[j] = x;
    }
    Py_ssize_t m = 1;
    v[0] = w[0];
    for (Py_ssize_t i = 1; i < n; i++)
        if (w[i] != v[m - 1]) v[m++] = w[i];
    *out_n = m;
    return 0;
}

/* sig[j] = min over shingles of h_j(s).
 * a_j * x is split into 32-bit halves so each product is a 32x32->64 multiply,
 * which SIMD units have (pmuludq) while a 64x64 multiply is emulated:
 * ((a*x + b) mod 2^64) >> 32 == (((a_lo*x + b) >> 32) + a_hi*x) mod 2^32. */
#define MINHASH_BODY                                                                     \
    for (Py_ssize_t j = 0; j < k; j++) sig[j] = 0xffffffffu;                             \
    for (Py_ssize_t i = 0; i < count; i++) {                                             \
        uint64_t s = shingles[i];                                                        \
        uint64_t x = (uint32_t)(s ^ (s >> 32));                                          \
        for (Py_ssize_t j = 0; j < k; j++) {                                             \
            uint64_t lo = (uint64_t)a_lo[j] * x + b[j];                                  \
            uint32_t v = (uint32_t)(lo >> 32) + (uint32_t)((uint64_t)a_hi[j] * x);       \
            sig[j] = v < sig[j] ? v : sig[j];                                            \
        }                                                                                \
    }

#define MINHASH_ARGS                                                                     \
    const uint64_t *restrict shingles, Py_ssize_t count, const uint32_t *restrict a_lo,  \
        const uint32_t *restrict a_hi, const uint64_t *restrict b, Py_ssize_t k,         \
        uint32_t *restrict sig

typedef void (*minhash_fn)(MINHASH_ARGS);

static void minhash_baseline(MINHASH_ARGS) { MINHASH_BODY }

#if defined(__GNUC__) && defined(__x86_64__)
/* Which vector width is faster differs by CPU (on AMD Zen 1, 128-bit SSE4.1 beats 256-bit
 * AVX2 by 1.6x here; on most newer cores the reverse). All variants compute the same values;
 * the first sketch call times each on synthetic data and keeps the fastest. */
__attribute__((target("sse4.1"))) static void minhash_sse41(MINHASH_ARGS) { MINHASH_BODY }
__attribute__((target("avx2"))) static void minhash_avx2(MINHASH_ARGS) { MINHASH_BODY }
#endif

static minhash_fn minhash = NULL;

static double seconds_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void choose_minhash(void) {
    minhash_fn candidates[3] = {minhash_baseline, NULL, NULL};
    int count = 1;
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.1")) candidates[count++] = minhash_sse41;
    if (__builtin_cpu_supports("avx2")) candidates[count++] = minhash_avx2;
#endif
    enum { N = 256, K = 128 };
    static uint64_t sh[N], b[K];
    static uint32_t alo[K], ahi[K], sig[K];
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < N; i++) sh[i] = fmix64(state += 0x9e3779b97f4a7c15ULL);
    for (int j = 0; j < K; j++) {
        uint64_t r = fmix64(state += 0x9e3779b97f4a7c15ULL);
        alo[j] = (uint32_t)r | 1u; ahi[j] = (uint32_t)(r >> 32); b[j] = fmix64(r);
    }
    double best = 1e30;
    minhash = minhash_baseline;
    for (int c = 0; c < count; c++) {
        double fastest = 1e30;
        for (int round = 0; round < 5; round++) {  /* best of 5: robust to a busy machine */
            double t0 = seconds_now();
            for (int rep = 0; rep < 4; rep++) candidates[c](sh, N, alo, ahi, b, K, sig);
            double t = seconds_now() - t0;
            if (t < fastest) fastest = t;
        }
        if (fastest < best) { best = fastest; minhash = candidates[c]; }
    }
}

static const char *minhash_name(void) {
#if defined(__GNUC__) && defined(__x86_64__)
    if (minhash == minhash_sse41) return "sse4.1";
    if (minhash == minhash_avx2) return "avx2";
#endif
    return "baseline";
}

static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t min_bytes,
                      const char *name) {
    if (PyObject_GetBuffer(obj, view, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS
                                               : PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len < min_bytes) {
        PyErr_Format(PyExc_ValueError, "%s: buffer of %zd bytes, need %zd", name, view->len,
                     min_bytes);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(sketch_doc,
"sketch(texts, ngram, perm_a, perm_b, out_key, out_ntokens, out_sig, out_nshingles, want_shingles)\n"
"\n"
"Sketch a list of normalised str. Output buffers are filled per document i:\n"
"out_key[16*i:16*i+16] the 128-bit token-sequence key, out_ntokens[i] (int64),\n"
"out_sig[k*i:k*i+k] (uint32, k = len(perm_a)), out_nshingles[i] (int64): the number of\n"
"distinct shingle hashes. Returns each document's distinct shingle hashes, sorted, all\n"
"concatenated as uint64 bytes if want_shingles, else None.");

static PyObject *py_sketch(PyObject *self, PyObject *args) {
    PyObject *texts, *pa, *pb, *okey, *ontok, *osig, *onsh;
    int ngram, want_shingles;
    if (!PyArg_ParseTuple(args, "O!iOOOOOOp", &PyList_Type, &texts, &ngram, &pa, &pb, &okey,
                          &ontok, &osig, &onsh, &want_shingles))
        return NULL;
    if (ngram < 1) {
        PyErr_SetString(PyExc_ValueError, "ngram must be >= 1");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(texts);
    Py_buffer va = {0}, vb = {0}, vkey = {0}, vntok = {0}, vsig = {0}, vnsh = {0};
    PyObject *result = NULL;
    u64vec tokens = {0}, shingles = {0}, all = {0};
    uint32_t *a_lo = NULL, *a_hi = NULL;
    sort_scratch scratch = {0};
    if (get_buffer(pa, &va, 0, 0, "perm_a") < 0) goto done;
    Py_ssize_t k = va.len / 8;
    if (get_buffer(pb, &vb, 0, k * 8, "perm_b") < 0) goto done;
    if (get_buffer(okey, &vkey, 1, n * 16, "out_key") < 0) goto done;
    if (get_buffer(ontok, &vntok, 1, n * 8, "out_ntokens") < 0) goto done;
    if (get_buffer(osig, &vsig, 1, n * k * 4, "out_sig") < 0) goto done;
    if (get_buffer(onsh, &vnsh, 1, n * 8, "out_nshingles") < 0) goto done;
    const uint64_t *a = va.buf, *b = vb.buf;
    a_lo = PyMem_Malloc((size_t)(k ? k : 1) * 4);
    a_hi = PyMem_Malloc((size_t)(k ? k : 1) * 4);
    if (!a_lo || !a_hi) { PyErr_NoMemory(); goto done; }
    for (Py_ssize_t j = 0; j < k; j++) { a_lo[j] = (uint32_t)a[j]; a_hi[j] = (uint32_t)(a[j] >> 32); }
    uint64_t *key = vkey.buf;
    int64_t *ntok = vntok.buf, *nsh = vnsh.buf;
    uint32_t *sig = vsig.buf;

    for (Py_ssize_t d = 0; d < n; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "texts[%zd] is %.100s, not str", d,
                         Py_TYPE(text)->tp_name);
            goto done;
        }
        Py_ssize_t nt = hash_tokens(text, &tokens);
        if (nt < 0) goto done;
        uint64_t e1 = 0x243f6a8885a308d3ULL, e2 = 0x13198a2e03707344ULL;
        for (Py_ssize_t i = 0; i < nt; i++) {
            e1 = e1 * EXACT_MULT_1 + tokens.data[i];
            e2 = (e2 ^ tokens.data[i]) * EXACT_MULT_2 + 0x9e3779b97f4a7c15ULL;
        }
        key[2 * d] = fmix64(e1 ^ (uint64_t)nt);
        key[2 * d + 1] = fmix64(e2 + (uint64_t)nt);
        ntok[d] = nt;
        Py_ssize_t ns = hash_shingles(&tokens, ngram, &shingles);
        if (ns < 0) goto done;
        if (sort_unique_u64(shingles.data, ns, &scratch, &ns) < 0) goto done;
        nsh[d] = ns;
        minhash(shingles.data, ns, a_lo, a_hi, b, k, sig + d * k);
        if (want_shingles) {
            if (u64vec_reserve(&all, all.len + ns) < 0) goto done;
            if (ns) memcpy(all.data + all.len, shingles.data, (size_t)ns * 8);
            all.len += ns;
        }
    }
    if (want_shingles) {
        result = PyBytes_FromStringAndSize((const char *)all.data, all.len * 8);
    } else {
        result = Py_NewRef(Py_None);
    }
done:
    PyMem_Free(tokens.data);
    PyMem_Free(shingles.data);
    PyMem_Free(all.data);
    PyMem_Free(a_lo);
    PyMem_Free(a_hi);
    PyMem_Free(scratch.buf);
    PyMem_Free(scratch.counts);
    if (va.obj) PyBuffer_Release(&va);
    if (vb.obj) PyBuffer_Release(&vb);
    if (vkey.obj) PyBuffer_Release(&vkey);
    if (vntok.obj) PyBuffer_Release(&vntok);
    if (vsig.obj) PyBuffer_Release(&vsig);
    if (vnsh.obj) PyBuffer_Release(&vnsh);
    return result;
}

/* |a & b| for sorted, duplicate-free runs: one merge pass. */
static Py_ssize_t count_common(const uint64_t *a, Py_ssize_t na, const uint64_t *b,
                               Py_ssize_t nb) {
    Py_ssize_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (b[j] < a[i]) j++;
        else { common++; i++; j++; }
    }
    return common;
}

PyDoc_STRVAR(intersection_doc,
"intersection_size(a, b) -> int\n"
"\n"
"Size of the intersection of two sorted, duplicate-free uint64 buffers.");

static PyObject *py_intersection_size(PyObject *self, PyObject *args) {
    PyObject *oa, *ob;
    if (!PyArg_ParseTuple(args, "OO", &oa, &ob)) return NULL;
    Py_buffer va = {0}, vb = {0};
    if (get_buffer(oa, &va, 0, 0, "a") < 0) return NULL;
    if (get_buffer(ob, &vb, 0, 0, "b") < 0) { PyBuffer_Release(&va); return NULL; }
    Py_ssize_t common = count_common(va.buf, va.len / 8, vb.buf, vb.len / 8);
    PyBuffer_Release(&va);
    PyBuffer_Release(&vb);
    return PyLong_FromSsize_t(common);
}

/* The arguments intersection_sizes() and passage_chains() share: uint64 runs
 * values[offsets[i]:offsets[i+1]], and pairs of run numbers (first[k], second[k]) with an
 * int64 result out[k] each. Opened and checked by open_runs, released by close_runs. */
typedef struct {
    Py_buffer vv, vo, va, vb, vout;
    const uint64_t *values;
    const int64_t *offsets, *first, *second;
    int64_t *out;
    Py_ssize_t nruns, nvalues, npairs;
} runs_args;

static int open_runs(runs_args *r, PyObject *ov, PyObject *oo, PyObject *oa, PyObject *ob,
                     PyObject *out) {
    memset(r, 0, sizeof(*r));
    if (get_buffer(ov, &r->vv, 0, 0, "values") < 0) return -1;
    if (get_buffer(oo, &r->vo, 0, 8, "offsets") < 0) return -1;
    if (get_buffer(oa, &r->va, 0, 0, "first") < 0) return -1;
    if (get_buffer(ob, &r->vb, 0, r->va.len, "second") < 0) return -1;
    if (get_buffer(out, &r->vout, 1, r->va.len, "out") < 0) return -1;
    r->values = r->vv.buf;
    r->offsets = r->vo.buf;
    r->first = r->va.buf;
    r->second = r->vb.buf;
    r->out = r->vout.buf;
    r->nruns = r->vo.len / 8 - 1;
    r->nvalues = r->vv.len / 8;
    r->npairs = r->va.len / 8;
    for (Py_ssize_t i = 0; i < r->nruns; i++) {
        if (r->offsets[i] < 0 || r->offsets[i] > r->offsets[i + 1] ||
            r->offsets[i + 1] > r->nvalues) {
            PyErr_Format(PyExc_IndexError, "run %zd is out of range", i);
            return -1;
        }
    }
    for (Py_ssize_t k = 0; k < r->npairs; k++) {
        if (r->first[k] < 0 || r->second[k] < 0 || r->first[k] >= r->nruns ||
            r->second[k] >= r->nruns) {
            PyErr_Format(PyExc_IndexError, "pair %zd refers to a run out of range", k);
            return -1;
        }
    }
    return 0;
}

/* Release the views that were opened (a view never opened has no obj). */
static void release_views(Py_buffer *views[], size_t n) {
    for (size_t i = 0; i < n; i++)
        if (views[i]->obj) PyBuffer_Release(views[i]);
}

static void close_runs(runs_args *r) {
    release_views((Py_buffer *[]){&r->vv, &r->vo, &r->va, &r->vb, &r->vout}, 5);
}

PyDoc_STRVAR(intersections_doc,
"intersection_sizes(values, offsets, first, second, out)\n"
"\n"
"For each k, out[k] = |set first[k] & set second[k]|, where set i is the sorted,\n"
"duplicate-free uint64 run values[offsets[i]:offsets[i+1]] (all indices int64).");

static PyObject *py_intersection_sizes(PyObject *self, PyObject *args) {
    PyObject *ov, *oo, *oa, *ob, *out;
    if (!PyArg_ParseTuple(args, "OOOOO", &ov, &oo, &oa, &ob, &out)) return NULL;
    runs_args r;
    PyObject *result = NULL;
    if (open_runs(&r, ov, oo, oa, ob, out) < 0) goto done;
    for (Py_ssize_t k = 0; k < r.npairs; k++) {
        int64_t x = r.first[k], y = r.second[k];
        r.out[k] = count_common(r.values + r.offsets[x], r.offsets[x + 1] - r.offsets[x],
                                r.values + r.offsets[y], r.offsets[y + 1] - r.offsets[y]);
    }
    result = Py_NewRef(Py_None);
done:
    close_runs(&r);
    return result;
}

PyDoc_STRVAR(sequence_doc,
"shingle_sequence(text, ngram) -> bytes\n"
"\n"
"The uint64 hash of every ngram-token shingle of a normalised text, in the order the\n"
"shingles stand (repeats kept; the hashes of sketch()'s sets): shingle i starts at\n"
"token i. A text of fewer tokens than ngram is one shingle; no tokens, none.");

static PyObject *py_shingle_sequence(PyObject *self, PyObject *args) {
    PyObject *text;
    int ngram;
    if (!PyArg_ParseTuple(args, "Ui", &text, &ngram)) return NULL;
    if (ngram < 1) {
        PyErr_SetString(PyExc_ValueError, "ngram must be >= 1");
        return NULL;
    }
    u64vec tokens = {0}, shingles = {0};
    PyObject *result = NULL;
    if (hash_tokens(text, &tokens) >= 0 && hash_shingles(&tokens, ngram, &shingles) >= 0)
        result = PyBytes_FromStringAndSize((const char *)shingles.data, shingles.len * 8);
    PyMem_Free(tokens.data);
    PyMem_Free(shingles.data);
    return result;
}

/* Is x in the sorted run v[0:n]? */
static inline int contains_u64(const uint64_t *v, Py_ssize_t n, uint64_t x) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo < n && v[lo] == x;
}

/* Does seq hold a chain of shingles in `other` (consecutive starts at most link apart)
 * covering at least min_words tokens? (See neardup.reuse.passages.may_share_passage.) */
static int has_chain(const uint64_t *seq, Py_ssize_t n, const uint64_t *other, Py_ssize_t m,
                     Py_ssize_t ngram, Py_ssize_t min_words, Py_ssize_t link) {
    Py_ssize_t first = -1, last = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!contains_u64(other, m, seq[i])) continue;
        if (first < 0 || i - last > link) first = i;
        last = i;
        if (last + ngram - first >= min_words) return 1;
    }
    return 0;
}

PyDoc_STRVAR(chains_doc,
"passage_chains(values, offsets, first, second, ngram, min_words, max_gap, out)\n"
"\n"
"For each k, out[k] = 1 when sequence first[k] and sequence second[k] each hold a chain\n"
"of shingles of the other, starts at most max_gap + ngram apart, covering at least\n"
"min_words tokens; else 0. Sequence i is values[offsets[i]:offsets[i+1]] (uint64\n"
"shingle hashes in text order); first, second and out are int64.");

static PyObject *py_passage_chains(PyObject *self, PyObject *args) {
    PyObject *ov, *oo, *oa, *ob, *out;
    Py_ssize_t ngram, min_words, max_gap;
    if (!PyArg_ParseTuple(args, "OOOOnnnO", &ov, &oo, &oa, &ob, &ngram, &min_words, &max_gap,
                          &out))
        return NULL;
    runs_args r;
    PyObject *result = NULL;
    uint64_t *sorted = NULL;
    Py_ssize_t *lens = NULL;
    sort_scratch scratch = {0};
    if (open_runs(&r, ov, oo, oa, ob, out) < 0) goto done;
    /* Each sequence's shingles sorted and distinct, once, for the membership tests. */
    sorted = PyMem_Malloc((size_t)(r.nvalues ? r.nvalues : 1) * 8);
    lens = PyMem_Malloc((size_t)(r.nruns ? r.nruns : 1) * sizeof(Py_ssize_t));
    if (!sorted || !lens) { PyErr_NoMemory(); goto done; }
    if (r.nvalues) memcpy(sorted, r.values, (size_t)r.nvalues * 8);
    for (Py_ssize_t i = 0; i < r.nruns; i++)
        if (sort_unique_u64(sorted + r.offsets[i], r.offsets[i + 1] - r.offsets[i], &scratch,
                            &lens[i]) < 0) goto done;
    for (Py_ssize_t k = 0; k < r.npairs; k++) {
        int64_t x = r.first[k], y = r.second[k];
        const uint64_t *sx = r.values + r.offsets[x], *sy = r.values + r.offsets[y];
        Py_ssize_t nx = r.offsets[x + 1] - r.offsets[x], ny = r.offsets[y + 1] - r.offsets[y];
        r.out[k] = has_chain(sx, nx, sorted + r.offsets[y], lens[y], ngram, min_words,
                             max_gap + ngram) &&
                   has_chain(sy, ny, sorted + r.offsets[x], lens[x], ngram, min_words,
                             max_gap + ngram);
    }
    result = Py_NewRef(Py_None);
done:
    PyMem_Free(sorted);
    PyMem_Free(lens);
    PyMem_Free(scratch.buf);
    PyMem_Free(scratch.counts);
    close_runs(&r);
    return result;
}

/* The width of a matrix of byte rows, checked. */
static int check_width(Py_ssize_t width) {
    if (width >= 1 && width <= 4096) return 0;
    PyErr_SetString(PyExc_ValueError, "width must be in 1..4096");
    return -1;
}

/* Count the equal bytes of two rows of width bytes. */
static inline int64_t equal_bytes(const uint8_t *x, const uint8_t *y, Py_ssize_t width) {
    int64_t same = 0;
    for (Py_ssize_t j = 0; j < width; j++) same += x[j] == y[j];
    return same;
}

PyDoc_STRVAR(agreements_doc,
"agreements(rows, width, first, second, out)\n"
"\n"
"For each k, out[k] (int64) = how many of the width bytes of row first[k] equal the\n"
"byte at the same place in row second[k], rows being the uint8 matrix rows[n, width]\n"
"(first, second: int64 row numbers).");

static PyObject *py_agreements(PyObject *self, PyObject *args) {
    PyObject *orows, *oa, *ob, *out;
    Py_ssize_t width;
    if (!PyArg_ParseTuple(args, "OnOOO", &orows, &width, &oa, &ob, &out)) return NULL;
    if (check_width(width) < 0) return NULL;
    Py_buffer vr = {0}, va = {0}, vb = {0}, vo = {0};
    PyObject *result = NULL;
    if (get_buffer(orows, &vr, 0, 0, "rows") < 0) goto done;
    if (get_buffer(oa, &va, 0, 0, "first") < 0) goto done;
    if (get_buffer(ob, &vb, 0, va.len, "second") < 0) goto done;
    if (get_buffer(out, &vo, 1, va.len, "out") < 0) goto done;
    const uint8_t *rows = vr.buf;
    const int64_t *a = va.buf, *b = vb.buf;
    int64_t *o = vo.buf;
    Py_ssize_t n = vr.len / width, npairs = va.len / 8;
    for (Py_ssize_t k = 0; k < npairs; k++) {
        if (a[k] < 0 || b[k] < 0 || a[k] >= n || b[k] >= n) {
            PyErr_Format(PyExc_IndexError, "pair %zd refers to a row out of range", k);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < npairs; k++) {
        if (k + 16 < npairs) {  /* rows are scattered: ask for them well before they are read */
            const uint8_t *px = rows + a[k + 16] * width, *py = rows + b[k + 16] * width;
            for (Py_ssize_t line = 0; line < width; line += 64) {
                __builtin_prefetch(px + line);
                __builtin_prefetch(py + line);
            }
        }
        o[k] = equal_bytes(rows + a[k] * width, rows + b[k] * width, width);
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    release_views((Py_buffer *[]){&vr, &va, &vb, &vo}, 4);
    return result;
}

PyDoc_STRVAR(agreeing_pairs_doc,
"agreeing_pairs(members, starts, sizes, row_of, rows, width, cutoff) -> bytes\n"
"\n"
"Every pair of one bucket whose rows agree in at least cutoff bytes. Bucket g holds\n"
"members[starts[g]:starts[g] + sizes[g]] (int64, ascending); member m's row is\n"
"rows[row_of[m]] (uint8 matrix of width bytes a row). Returns the pairs (a, b), a < b,\n"
"as int64 values a0 b0 a1 b1 ..., buckets in order, each bucket's pairs in row order.");

static PyObject *py_agreeing_pairs(PyObject *self, PyObject *args) {
    PyObject *om, *ost, *osz, *orow, *orows;
    Py_ssize_t width, cutoff;
    if (!PyArg_ParseTuple(args, "OOOOOnn", &om, &ost, &osz, &orow, &orows, &width, &cutoff))
        return NULL;
    if (check_width(width) < 0) return NULL;
    Py_buffer vm = {0}, vst = {0}, vsz = {0}, vrow = {0}, vrows = {0};
    PyObject *result = NULL;
    int64_t *out = NULL;
    Py_ssize_t used = 0, cap = 0;
    if (get_buffer(om, &vm, 0, 0, "members") < 0) goto done;
    if (get_buffer(ost, &vst, 0, 0, "starts") < 0) goto done;
    if (get_buffer(osz, &vsz, 0, vst.len, "sizes") < 0) goto done;
    if (get_buffer(orow, &vrow, 0, 0, "row_of") < 0) goto done;
    if (get_buffer(orows, &vrows, 0, 0, "rows") < 0) goto done;
    const int64_t *members = vm.buf, *starts = vst.buf, *sizes = vsz.buf, *row_of = vrow.buf;
    const uint8_t *rows = vrows.buf;
    Py_ssize_t nmembers = vm.len / 8, nbuckets = vst.len / 8, nrowof = vrow.len / 8;
    Py_ssize_t nrows = vrows.len / width;
    for (Py_ssize_t g = 0; g < nbuckets; g++) {
        if (starts[g] < 0 || sizes[g] < 0 || starts[g] + sizes[g] > nmembers) {
            PyErr_Format(PyExc_IndexError, "bucket %zd is out of range", g);
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < nmembers; k++) {
        if (members[k] < 0 || members[k] >= nrowof || row_of[members[k]] < 0 ||
            row_of[members[k]] >= nrows) {
            PyErr_Format(PyExc_IndexError, "member %zd has no row", k);
            goto done;
        }
    }
    for (Py_ssize_t g = 0; g < nbuckets; g++) {
        if (g + 2 < nbuckets) {  /* most buckets are small: ask for the rows of the one
                                    after next while this one is compared */
            const int64_t *ahead = members + starts[g + 2];
            Py_ssize_t count = sizes[g + 2] < 16 ? sizes[g + 2] : 16;
            for (Py_ssize_t k = 0; k < count; k++) {
                const uint8_t *p = rows + row_of[ahead[k]] * width;
                for (Py_ssize_t line = 0; line < width; line += 64) __builtin_prefetch(p + line);
            }
        }
        const int64_t *m = members + starts[g];
        Py_ssize_t size = sizes[g];
        for (Py_ssize_t x = 0; x + 1 < size; x++) {
            const uint8_t *rx = rows + row_of[m[x]] * width;
            for (Py_ssize_t y = x + 1; y < size; y++) {
                if (y + 8 < size) {  /* rows are scattered: ask for them before they are read */
                    const uint8_t *p = rows + row_of[m[y + 8]] * width;
                    for (Py_ssize_t line = 0; line < width; line += 64) __builtin_prefetch(p + line);
                }
                if (equal_bytes(rx, rows + row_of[m[y]] * width, width) < cutoff) continue;
                if (used + 2 > cap) {
                    Py_ssize_t grown = cap ? cap * 2 : 1024;
                    int64_t *bigger = PyMem_Realloc(out, grown * sizeof(int64_t));
                    if (!bigger) { PyErr_NoMemory(); goto done; }
                    out = bigger;
                    cap = grown;
                }
                out[used++] = m[x];
                out[used++] = m[y];
            }
        }
    }
    result = PyBytes_FromStringAndSize((const char *)out, used * (Py_ssize_t)sizeof(int64_t));
done:
    PyMem_Free(out);
    release_views((Py_buffer *[]){&vm, &vst, &vsz, &vrow, &vrows}, 5);
    return result;
}

/* Sort v[0..n) ascending by the bits below `top` (the values agree above it): most
 * significant digit first, up to 16 bits a pass, chosen so that a digit's bucket holds
 * about 16 values; buckets of at most 64 by insertion. tmp holds n values. Uniform keys
 * (hashes) cost two passes over memory and a small sort in cache: several times faster
 * than a comparison sort once n is past the cache. Returns -1 when out of memory. */
static int msd_sort_u64(uint64_t *v, uint64_t *tmp, Py_ssize_t n, int top) {
    if (n <= 64 || top <= 0) {
        for (Py_ssize_t i = 1; i < n; i++) {
            uint64_t x = v[i];
            Py_ssize_t j = i;
            while (j > 0 && v[j - 1] > x) { v[j] = v[j - 1]; j--; }
            v[j] = x;
        }
        return 0;
    }
    int bits = 1;
    while (bits < 16 && ((Py_ssize_t)1 << (bits + 4)) < n) bits++;
    if (bits > top) bits = top;
    int shift = top - bits;
    Py_ssize_t buckets = (Py_ssize_t)1 << bits;
    uint64_t mask = (uint64_t)buckets - 1;
    Py_ssize_t *start = calloc((size_t)buckets * 2 + 1, sizeof(Py_ssize_t));
    if (!start) return -1;
    Py_ssize_t *cursor = start + buckets + 1;
    for (Py_ssize_t i = 0; i < n; i++) start[((v[i] >> shift) & mask) + 1]++;
    for (Py_ssize_t b = 0; b < buckets; b++) start[b + 1] += start[b];
    memcpy(cursor, start, (size_t)buckets * sizeof(Py_ssize_t));
    for (Py_ssize_t i = 0; i < n; i++) tmp[cursor[(v[i] >> shift) & mask]++] = v[i];
    memcpy(v, tmp, (size_t)n * sizeof(uint64_t));
    int failed = 0;
    for (Py_ssize_t b = 0; b < buckets && !failed; b++) {
        Py_ssize_t size = start[b + 1] - start[b];
        if (size > 1) failed = msd_sort_u64(v + start[b], tmp + start[b], size, shift) < 0;
    }
    free(start);
    return failed ? -1 : 0;
}

PyDoc_STRVAR(sort_u64_doc,
"sort_u64(values)\n"
"\n"
"Sort the uint64 buffer values ascending, in place (radix, most significant digit\n"
"first; the GIL released).");

static PyObject *py_sort_u64(PyObject *self, PyObject *args) {
    PyObject *ov;
    if (!PyArg_ParseTuple(args, "O", &ov)) return NULL;
    Py_buffer vv = {0};
    if (get_buffer(ov, &vv, 1, 0, "values") < 0) return NULL;
    Py_ssize_t n = vv.len / 8;
    int failed = 0;
    uint64_t *tmp = n > 64 ? malloc((size_t)n * sizeof(uint64_t)) : NULL;
    if (n > 64 && !tmp) failed = 1;
    else {
        Py_BEGIN_ALLOW_THREADS
        failed = msd_sort_u64(vv.buf, tmp, n, 64) < 0;
        Py_END_ALLOW_THREADS
    }
    free(tmp);
    PyBuffer_Release(&vv);
    if (failed) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

PyDoc_STRVAR(read_ranges_doc,
"read_ranges(fd, starts, sizes, out, dest)\n"
"\n"
"Read byte ranges of the open file fd into the writable buffer out: range k is sizes[k]\n"
"bytes from offset starts[k] of the file, put at out[dest[k]:dest[k] + sizes[k]] (int64\n"
"each). One pread a range, the GIL released. Raises OSError on a failed or short read.");

static PyObject *py_read_ranges(PyObject *self, PyObject *args) {
    int fd;
    PyObject *ost, *osz, *out, *odst;
    if (!PyArg_ParseTuple(args, "iOOOO", &fd, &ost, &osz, &out, &odst)) return NULL;
    Py_buffer vst = {0}, vsz = {0}, vo = {0}, vd = {0};
    PyObject *result = NULL;
    if (get_buffer(ost, &vst, 0, 0, "starts") < 0) goto done;
    if (get_buffer(osz, &vsz, 0, vst.len, "sizes") < 0) goto done;
    if (get_buffer(odst, &vd, 0, vst.len, "dest") < 0) goto done;
    if (get_buffer(out, &vo, 1, 0, "out") < 0) goto done;
    const int64_t *starts = vst.buf, *sizes = vsz.buf, *dest = vd.buf;
    Py_ssize_t nranges = vst.len / 8;
    for (Py_ssize_t k = 0; k < nranges; k++) {
        if (starts[k] < 0 || sizes[k] < 0 || dest[k] < 0 || dest[k] + sizes[k] > vo.len) {
            PyErr_Format(PyExc_ValueError, "range %zd is out of bounds", k);
            goto done;
        }
    }
    char *to = vo.buf;
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < nranges && !failed; k++) {
        int64_t at = starts[k], left = sizes[k];
        char *put = to + dest[k];
        while (left > 0) {
            ssize_t got = pread(fd, put, (size_t)left, (off_t)at);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) { failed = got < 0 ? errno : -1; break; }
            put += got; at += got; left -= got;
        }
    }
    Py_END_ALLOW_THREADS
    if (failed > 0) { errno = failed; PyErr_SetFromErrno(PyExc_OSError); goto done; }
    if (failed < 0) { PyErr_SetString(PyExc_OSError, "file is shorter than a range read"); goto done; }
    result = Py_NewRef(Py_None);
done:
    release_views((Py_buffer *[]){&vst, &vsz, &vo, &vd}, 4);
    return result;
}

/* The filter reads only the top 12 + log2_words bits of a hash: the word from the top
 * log2_words, the two bits from the 12 below (the query table keeps no more of a hash). */
static inline int blocked_bloom_holds(const uint64_t *filter, int log2_words, uint64_t h) {
    uint64_t word = filter[log2_words ? h >> (64 - log2_words) : 0];
    return ((word >> ((h >> (58 - log2_words)) & 63)) & 1) &&
           ((word >> ((h >> (52 - log2_words)) & 63)) & 1);
}

/* One hit: text d, start token i, hash h. docs and starts hold two int32 a slot. */
static int add_hit(u64vec *docs, u64vec *starts, u64vec *hashes, Py_ssize_t d, Py_ssize_t i,
                   uint64_t h) {
    if (u64vec_reserve(hashes, hashes->len + 1) < 0 ||
        u64vec_reserve(docs, hashes->len / 2 + 1) < 0 ||
        u64vec_reserve(starts, hashes->len / 2 + 1) < 0) return -1;
    ((int32_t *)docs->data)[hashes->len] = (int32_t)d;
    ((int32_t *)starts->data)[hashes->len] = (int32_t)i;
    hashes->data[hashes->len++] = h;
    return 0;
}

PyDoc_STRVAR(ngram_hits_doc,
"ngram_hits(texts, ngram, short_widths, filter, log2_words) -> (docs, starts, hashes, ntokens)\n"
"\n"
"The shingles of normalised texts that pass a blocked Bloom filter, in text order: each\n"
"ngram-token shingle's hash (as shingle_sequence() makes it), and the hash of every run\n"
"of w tokens for each w < ngram set in the bitmask short_widths (bit w). A hash h passes\n"
"when word filter[h >> (64 - L)] (uint64, L = log2_words <= 52) has bits\n"
"(h >> (58 - L)) & 63 and (h >> (52 - L)) & 63 set.\n"
"Returns, as bytes: the text (int32) and start token (int32) of each passing run, its\n"
"hash (uint64), and each text's token count (int64). Unlike shingle_sequence(), a text of\n"
"fewer than ngram tokens has no ngram-token shingle.");

static PyObject *py_ngram_hits(PyObject *self, PyObject *args) {
    PyObject *texts, *ofilter;
    int ngram, log2_words;
    unsigned long long short_widths;
    if (!PyArg_ParseTuple(args, "O!iKOi", &PyList_Type, &texts, &ngram, &short_widths,
                          &ofilter, &log2_words))
        return NULL;
    if (ngram < 1 || ngram > 63 || log2_words < 0 || log2_words > 40) {
        PyErr_SetString(PyExc_ValueError, "ngram must be 1-63 and log2_words 0-40");
        return NULL;
    }
    Py_buffer vf;
    if (get_buffer(ofilter, &vf, 0, (Py_ssize_t)8 << log2_words, "filter") < 0) return NULL;
    const uint64_t *filter = (const uint64_t *)vf.buf;
#define passes(h) blocked_bloom_holds(filter, log2_words, (h))
    /* The widths hashed: each shorter one asked for (queries shorter than ngram), then
     * ngram; and for each, P^(w-1). */
    int n_widths = 0;
    Py_ssize_t width[64];
    uint64_t top[64];
    for (int w = 1; w <= ngram; w++) {
        if (w < ngram && !((short_widths >> w) & 1)) continue;
        width[n_widths] = w;
        top[n_widths] = 1;
        for (int k = 1; k < w; k++) top[n_widths] *= SHINGLE_MULT;
        n_widths++;
    }
    u64vec tokens = {0}, docs = {0}, starts = {0}, hashes = {0};
    PyObject *result = NULL, *ntok = NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts);
    ntok = PyBytes_FromStringAndSize(NULL, n * 8);
    if (!ntok) goto done;
    int64_t *counts = (int64_t *)PyBytes_AS_STRING(ntok);
    for (Py_ssize_t d = 0; d < n; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "texts must be str");
            goto done;
        }
        Py_ssize_t nt = hash_tokens(text, &tokens);
        if (nt < 0) goto done;
        counts[d] = nt;
        const uint64_t *t = tokens.data;
        /* The w-token polynomial rolls: s' = (s - t_i P^(w-1)) P + t_(i+w), exact mod 2^64,
         * so each start costs one step, not w. */
        for (int j = 0; j < n_widths; j++) {
            Py_ssize_t w = width[j];
            uint64_t r = 0;
            for (Py_ssize_t k = 0; k < w - 1 && k < nt; k++) r = r * SHINGLE_MULT + t[k];
            for (Py_ssize_t i = 0; i + w <= nt; i++) {
                if (i) r = (r - t[i - 1] * top[j]) * SHINGLE_MULT + t[i + w - 1];
                else r = r * SHINGLE_MULT + t[w - 1];
                uint64_t h = fmix64(r);
                if (passes(h) && add_hit(&docs, &starts, &hashes, d, i, h) < 0) goto done;
            }
        }
    }
    /* (A NULL buffer would come back as None: give "" when nothing passed.) */
    result = Py_BuildValue("(y#y#y#O)", docs.data ? (const char *)docs.data : "",
                           hashes.len * 4, starts.data ? (const char *)starts.data : "",
                           hashes.len * 4, hashes.data ? (const char *)hashes.data : "",
                           hashes.len * 8, ntok);
done:
    Py_XDECREF(ntok);
    PyBuffer_Release(&vf);
    PyMem_Free(tokens.data);
    PyMem_Free(docs.data);
    PyMem_Free(starts.data);
    PyMem_Free(hashes.data);
    return result;
#undef passes
}

PyDoc_STRVAR(token_spans_doc,
"token_spans(text) -> bytes\n"
"\n"
"Where each token of a normalised text stands in it: int32 start and end (exclusive)\n"
"of token i at [2i] and [2i+1], the tokens being those the hashes are made of.");

#define EMIT_TOKEN_SPAN                                                                  \
    (void)h;                                                                             \
    if (u64vec_reserve(&spans, spans.len + 1) < 0) goto done;                            \
    ((int32_t *)spans.data)[2 * spans.len] = (int32_t)start;                             \
    ((int32_t *)spans.data)[2 * spans.len + 1] = (int32_t)i;                             \
    spans.len++
#define TOKEN_SPANS_LOOP(CHAR_T) SCAN_TOKENS(CHAR_T, EMIT_TOKEN_SPAN)

static PyObject *py_token_spans(PyObject *self, PyObject *args) {
    PyObject *text;
    if (!PyArg_ParseTuple(args, "U", &text)) return NULL;
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    u64vec spans = {0}; /* one uint64 slot holds a token's two int32 */
    PyObject *result = NULL;
    switch (PyUnicode_KIND(text)) {
        case PyUnicode_1BYTE_KIND: TOKEN_SPANS_LOOP(Py_UCS1); break;
        case PyUnicode_2BYTE_KIND: TOKEN_SPANS_LOOP(Py_UCS2); break;
        default: TOKEN_SPANS_LOOP(Py_UCS4); break;
    }
    result = PyBytes_FromStringAndSize(spans.data ? (const char *)spans.data : "",
                                       spans.len * 8);
done:
    PyMem_Free(spans.data);
    return result;
}

static PyMethodDef methods[] = {
    {"token_spans", py_token_spans, METH_VARARGS, token_spans_doc},
    {"ngram_hits", py_ngram_hits, METH_VARARGS, ngram_hits_doc},
    {"read_ranges", py_read_ranges, METH_VARARGS, read_ranges_doc},
    {"sort_u64", py_sort_u64, METH_VARARGS, sort_u64_doc},
    {"agreeing_pairs", py_agreeing_pairs, METH_VARARGS, agreeing_pairs_doc},
    {"agreements", py_agreements, METH_VARARGS, agreements_doc},
    {"passage_chains", py_passage_chains, METH_VARARGS, chains_doc},
    {"sketch", py_sketch, METH_VARARGS, sketch_doc},
    {"shingle_sequence", py_shingle_sequence, METH_VARARGS, sequence_doc},
    {"intersection_size", py_intersection_size, METH_VARARGS, intersection_doc},
    {"intersection_sizes", py_intersection_sizes, METH_VARARGS, intersections_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "neardup._sketch",
    "Compiled hot path of neardup: tokenise, hash, MinHash.", -1, methods,
};

PyMODINIT_FUNC PyInit__sketch(void) {
    if (!char_class && init_char_class() < 0) return NULL;
    choose_minhash();
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddStringConstant(m, "MINHASH_VARIANT", minhash_name()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
