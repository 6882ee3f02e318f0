/* ssdeep (spamsum) in C: the same digest as spamsum.py and ppdeep, in one or two passes.
 *
 * Written for this plugin from the algorithm's description (spamsum.py's docstrings), so
 * that it can be Apache-2.0 like the rest: every ssdeep binding wraps GPL code.
 *
 * - The rolling hash after each byte is h1 + h2 + h3 over the last 7 bytes (32 bits).
 * - A block of size b = 3 * 2^k ends where rolled % b == b - 1, that is where
 *   rolled % 3 == 2 and its k low bits are all set (3 and 2^k are coprime). So one pass
 *   counts, by the number of trailing one bits, where blocks of every size end; the block
 *   size is then known without going over the content again for each halving.
 * - The piecewise hash is FNV-1 (multiply, then xor the byte), of which only the low 6 bits
 *   are printed: uint32_t arithmetic, wrapping, gives them exactly.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MIN_BLOCK 3
#define LENGTH 64 /* the longest first signature; the second is half of it */
#define WINDOW 7
#define HASH_INIT 0x27u
#define FNV_PRIME 0x01000193u
/* Inputs from this size up are hashed with the GIL released. */
#define NOGIL_SIZE (64 * 1024)

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* One signature being built: the characters kept, and what the closing one may be. */
typedef struct {
    char text[LENGTH + 1];
    size_t len;
    size_t limit;   /* characters kept before the last one is reserved for the tail */
    int late;       /* a block ended after the signature was full */
    char late_char; /* the hash of the last such block */
} Signature;

static void sig_init(Signature *sig, size_t limit)
{
    sig->len = 0;
    sig->limit = limit;
    sig->late = 0;
    sig->late_char = 0;
}

/* A block ended at this byte: keep its character, or remember it if the signature is full.
 * Returns the block hash to go on with (restarted if the character was kept). */
static uint32_t sig_block_end(Signature *sig, uint32_t hash)
{
    char c = B64[hash & 63u];
    if (sig->len < sig->limit) {
        sig->text[sig->len++] = c;
        sig->late = 0;
        return HASH_INIT;
    }
    sig->late = 1;
    sig->late_char = c;
    return hash;
}

/* The closing character: the running hash if the rolling hash did not end at 0, else the
 * hash of the last block that ended after the signature was full (if one did). */
static void sig_close(Signature *sig, uint32_t hash, uint32_t rolled)
{
    if (rolled != 0)
        sig->text[sig->len++] = B64[hash & 63u];
    else if (sig->late)
        sig->text[sig->len++] = sig->late_char;
    sig->text[sig->len] = '\0';
}

static unsigned trailing_ones(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return x == UINT32_MAX ? 32u : (unsigned)__builtin_ctz(~x);
#else
    unsigned n = 0;
    while (n < 32 && (x >> n) & 1u)
        n++;
    return n;
#endif
}

/* The rolling hash: h1 + h2 + h3 over the last 7 bytes. */
typedef struct {
    unsigned char window[WINDOW];
    unsigned slot;
    uint32_t h1, h2, h3;
} Roll;

static void roll_init(Roll *r)
{
    memset(r, 0, sizeof *r);
}

static inline uint32_t roll(Roll *r, unsigned char c)
{
    r->h2 += WINDOW * (uint32_t)c - r->h1;
    r->h1 += (uint32_t)c - r->window[r->slot];
    r->window[r->slot] = c;
    r->slot = r->slot == WINDOW - 1 ? 0 : r->slot + 1;
    r->h3 = (r->h3 << 5) ^ c;
    return r->h1 + r->h2 + r->h3;
}

/* Both signatures of block size 3 << k; how many blocks the first kept before closing. */
static size_t sign(const unsigned char *data, size_t n, unsigned k, Signature *s1, Signature *s2)
{
    /* k may exceed 31 for absurd sizes: no 32-bit rolled value ends such a block. */
    uint64_t mask1 = ((uint64_t)1 << k) - 1, mask2 = ((uint64_t)1 << (k + 1)) - 1;
    uint32_t rolled = 0, hash1 = HASH_INIT, hash2 = HASH_INIT;
    Roll r;

    /* The hashes are locals, not s1->hash: a store through s1 could change data[] as far
     * as the compiler knows (char aliases anything), which would keep them in memory. */
    roll_init(&r);
    sig_init(s1, LENGTH - 1);
    sig_init(s2, LENGTH / 2 - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = data[i];
        hash1 = (hash1 * FNV_PRIME) ^ c;
        hash2 = (hash2 * FNV_PRIME) ^ c;
        rolled = roll(&r, c);
        /* One branch, rarely taken, on one value: rolled % 3 == 2 alone is a coin toss the
         * branch predictor loses a third of the time, and gcc -O2 compiled the `&` of the two
         * comparisons as two branches (3 ns a byte more on payloads it had not seen). */
        if ((((rolled % 3u) ^ 2u) | ((rolled & mask1) ^ mask1)) == 0) {
            hash1 = sig_block_end(s1, hash1);
            if ((rolled & mask2) == mask2)
                hash2 = sig_block_end(s2, hash2);
        }
    }
    size_t kept = s1->len;
    sig_close(s1, hash1, rolled);
    sig_close(s2, hash2, rolled);
    return kept;
}

/* ends[t]: the offsets where rolled % 3 == 2 with exactly t trailing one bits, where blocks
 * of 3 << j end for every j <= t. */
static void block_ends(const unsigned char *data, size_t n, size_t ends[33])
{
    Roll r;

    roll_init(&r);
    for (size_t i = 0; i < n; i++) {
        uint32_t rolled = roll(&r, data[i]);
        ends[trailing_ones(rolled)] += rolled % 3u == 2u; /* no branch: see sign() */
    }
}

/* The block size's exponent (block = 3 << k) and both signatures of ``data``. */
static unsigned spamsum(const unsigned char *data, size_t n, Signature *s1, Signature *s2)
{
    unsigned k = 0;
    while (((uint64_t)MIN_BLOCK << k) * LENGTH < (uint64_t)n)
        k++;
    size_t kept = sign(data, n, k, s1, s2);
    if (k == 0 || kept >= LENGTH / 2)
        return k;
    /* Too few blocks ended: spamsum halves the block size until enough do (or it is 3). */
    size_t ends[33] = {0}, at_least_k = 0; /* offsets where blocks of 3 << k end */
    block_ends(data, n, ends);
    for (unsigned t = k; t < 33; t++)
        at_least_k += ends[t];
    while (k > 0 && at_least_k < LENGTH / 2) {
        k--;
        if (k < 33)
            at_least_k += ends[k];
    }
    sign(data, n, k, s1, s2);
    return k;
}

PyDoc_STRVAR(ssdeep_doc,
             "ssdeep(data, /)\n--\n\n"
             "The ssdeep hash of a bytes-like object, as spamsum.ssdeep and ppdeep.hash give it.");

static PyObject *ssdeep(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    Signature s1, s2;
    unsigned k;
    char out[24 + LENGTH + 1 + LENGTH / 2 + 2];

    (void)module;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (view.len >= NOGIL_SIZE) {
        /* The buffer stays exported (a bytearray cannot be resized) until it is released. */
        Py_BEGIN_ALLOW_THREADS
        k = spamsum(view.buf, (size_t)view.len, &s1, &s2);
        Py_END_ALLOW_THREADS
    } else {
        k = spamsum(view.buf, (size_t)view.len, &s1, &s2);
    }
    PyBuffer_Release(&view);
    int written = snprintf(out, sizeof out, "%llu:%s:%s",
                           (unsigned long long)MIN_BLOCK << k, s1.text, s2.text);
    if (written < 0 || (size_t)written >= sizeof out) {
        PyErr_SetString(PyExc_SystemError, "ssdeep digest longer than its buffer");
        return NULL;
    }
    return PyUnicode_DecodeASCII(out, written, NULL);
}

static PyMethodDef methods[] = {
    {"ssdeep", ssdeep, METH_O, ssdeep_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    "_spamsum",
    "ssdeep (spamsum) compiled: what spamsum.py computes, 5-40x faster.",
    0,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__spamsum(void)
{
    return PyModuleDef_Init(&module_def);
}
