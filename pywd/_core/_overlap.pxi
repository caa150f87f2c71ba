# The overlap check of a call: no array the call writes may share a byte with any other array
# of the call (reading an array after writing it through another name would change the
# result), while arrays that are only read may share memory (one gradient for two params).
# Arrays are sorted by start address and swept once. A model's list (10^4 arrays and more)
# is sorted by a radix sort of 64-bit words packing (start - lowest start) over the common
# alignment with the array's slot: a few passes over 8 bytes per array (a qsort of
# 32-byte records was most of such a call's cost).
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport UINT64_MAX
from libc.stdlib cimport qsort
from libc.string cimport memcmp, memcpy, memset


# A slot names array i of argument k as (i << OP_BITS) | k: shifts, not divisions, in the sweep.
cdef enum:
    OP_BITS = 3            # MAX_OPS <= 8


cdef struct Span:
    uint64_t start         # first byte
    uint64_t slot          # (i << OP_BITS) | k


cdef int span_by_start(const void *a, const void *b) noexcept nogil:
    cdef uint64_t x = (<const Span *>a).start, y = (<const Span *>b).start
    return (x > y) - (x < y)


cdef void sort_spans(Span *s, Py_ssize_t m) noexcept nogil:
    """By start address: insertion sort for the few arrays of a small call, else qsort."""
    cdef Py_ssize_t i, j
    cdef Span e
    if m > 16:
        qsort(s, m, sizeof(Span), span_by_start)
        return
    for i in range(1, m):
        e = s[i]
        j = i - 1
        while j >= 0 and s[j].start > e.start:
            s[j + 1] = s[j]
            j -= 1
        s[j + 1] = e


cdef int trailing_zeros(uint64_t x) noexcept nogil:
    cdef int bits = 0
    if x == 0:
        return 0
    while not (x & 1):
        bits += 1
        x >>= 1
    return bits


cdef int bit_length(uint64_t x) noexcept nogil:
    cdef int bits = 0
    while x:
        bits += 1
        x >>= 1
    return bits


cdef uint64_t *radix_sort(uint64_t *a, uint64_t *tmp, Py_ssize_t m, int lo_bit,
                          int hi_bit) noexcept nogil:
    """Sorts a[0..m) by bits [lo_bit, hi_bit), 12 bits a pass (LSD, stable), using tmp; returns
    whichever of the two buffers holds the result. A pass whose digit is the same for every
    key is skipped."""
    cdef size_t count[4096]
    cdef size_t total, c
    cdef Py_ssize_t j
    cdef int shift = lo_bit, d
    cdef uint64_t *swap
    while shift < hi_bit:
        memset(count, 0, sizeof(count))
        for j in range(m):
            count[(a[j] >> shift) & 4095] += 1
        if count[(a[0] >> shift) & 4095] != <size_t>m:
            total = 0
            for d in range(4096):
                c = count[d]
                count[d] = total
                total += c
            for j in range(m):
                d = (a[j] >> shift) & 4095
                tmp[count[d]] = a[j]
                count[d] += 1
            swap = a
            a = tmp
            tmp = swap
        shift += 12
    return a


# One scratch buffer for big calls, kept between calls: allocating a megabyte per call cost
# more in page faults than the check itself. Taken and given back under the GIL; a call that
# finds it taken (another thread inside a check) allocates its own.
cdef void *scratch = NULL
cdef size_t scratch_bytes = 0
cdef size_t SCRATCH_KEEP_MAX = 64 << 20


cdef void *scratch_take(size_t nbytes) except NULL:
    global scratch, scratch_bytes
    cdef void *p
    if scratch != NULL and scratch_bytes >= nbytes:
        p = scratch
        scratch = NULL
        return p
    p = PyMem_Malloc(nbytes if nbytes else 1)
    if p == NULL:
        raise MemoryError()
    return p


cdef void scratch_give(void *p, size_t nbytes) noexcept:
    """Keeps p (of nbytes, as asked of scratch_take) for the next call, or frees it."""
    global scratch, scratch_bytes
    if nbytes <= SCRATCH_KEEP_MAX and (scratch == NULL or scratch_bytes < nbytes):
        PyMem_Free(scratch)
        scratch, scratch_bytes = p, nbytes
    else:
        PyMem_Free(p)


# The last layout found free of overlaps: [n, nops, written mask, ptrs[n*nops],
# nbytes[n*nops]].
# The answer depends only on those numbers, so a call with the same numbers (a training
# loop stepping the same lists) skips the sort; whether its arrays are the same objects,
# or new ones at the same addresses, does not matter. Read and written under the GIL.
cdef uint64_t *memo = NULL
cdef size_t memo_bytes = 0


cdef size_t layout_words(Py_ssize_t n, int nops) noexcept nogil:
    return 3 + 2 * n * nops


cdef bint memo_holds(void **ptrs, Py_ssize_t n, int nops, const uint64_t *nbytes,
                     uint64_t mask) noexcept:
    if memo == NULL or memo_bytes != layout_words(n, nops) * sizeof(uint64_t):
        return False
    return (memo[0] == <uint64_t>n and memo[1] == <uint64_t>nops and memo[2] == mask and
            memcmp(memo + 3, ptrs, n * nops * sizeof(void *)) == 0 and
            memcmp(memo + 3 + n * nops, nbytes, n * nops * sizeof(uint64_t)) == 0)


cdef void memo_keep(void **ptrs, Py_ssize_t n, int nops, const uint64_t *nbytes,
                    uint64_t mask) noexcept:
    global memo, memo_bytes
    cdef size_t nb = layout_words(n, nops) * sizeof(uint64_t)
    if nb > SCRATCH_KEEP_MAX:
        return
    if memo_bytes != nb:
        PyMem_Free(memo)
        memo, memo_bytes = <uint64_t *>PyMem_Malloc(nb), nb
        if memo == NULL:
            memo_bytes = 0
            return
    memo[0], memo[1], memo[2] = n, nops, mask
    memcpy(memo + 3, ptrs, n * nops * sizeof(void *))
    memcpy(memo + 3 + n * nops, nbytes, n * nops * sizeof(uint64_t))


cdef int find_overlap(void **ptrs, Py_ssize_t n, int nops, const uint64_t *nbytes,
                      const bint *written, uint64_t *first, uint64_t *second) except -1:
    """As layout_overlap, remembering the last layout found free of overlaps."""
    cdef uint64_t mask = 0
    cdef int k, found
    for k in range(nops):
        mask |= (<uint64_t>(written[k] != 0)) << k
    if n * nops >= 64 and memo_holds(ptrs, n, nops, nbytes, mask):
        return 0
    found = layout_overlap(ptrs, n, nops, nbytes, written, first, second)
    if not found and n * nops >= 64:
        memo_keep(ptrs, n, nops, nbytes, mask)
    return found


cdef int layout_overlap(void **ptrs, Py_ssize_t n, int nops, const uint64_t *nbytes,
                        const bint *written, uint64_t *first, uint64_t *second) except -1:
    """Argument k's array i starts at ptrs[k*n + i] (NULL: absent) and spans nbytes[k*n + i]
    bytes (arguments may differ in dtype);
    argument k is written if written[k]. Returns 1 with the slots ((i << OP_BITS) | k) of a
    conflicting pair in first/second (first starts no later), else 0."""
    cdef Py_ssize_t m = 0, j, i, slots = n * nops
    cdef int k
    cdef uint64_t lowest = UINT64_MAX, highest = 0, common = 0, start, mask
    cdef uint64_t *keys
    cdef uint64_t *order
    cdef int slot_bits = bit_length(<uint64_t>(n - 1)) + OP_BITS, key_bits, align_bits
    cdef size_t need = slots * (sizeof(Span) + 2 * sizeof(uint64_t))
    cdef Span *spans = <Span *>scratch_take(need)
    cdef bint packed
    try:
        for k in range(nops):
            for i in range(n):
                if ptrs[k * n + i] != NULL and nbytes[k * n + i] > 0:
                    start = <uint64_t>ptrs[k * n + i]
                    lowest = start if start < lowest else lowest
                    highest = start if start > highest else highest
                    spans[m].start, spans[m].slot = start, (<uint64_t>i << OP_BITS) | k
                    m += 1
        if m < 2:
            return 0
        for j in range(m):          # low address bits every start shares need no sorting
            common |= spans[j].start - lowest
        align_bits = trailing_zeros(common)
        key_bits = bit_length((highest - lowest) >> align_bits)
        packed = m >= 256 and slot_bits + key_bits <= 64
        if packed:
            keys = <uint64_t *>(spans + slots)
            for j in range(m):
                keys[j] = (((spans[j].start - lowest) >> align_bits) << slot_bits) | spans[j].slot
            order = radix_sort(keys, keys + m, m, slot_bits, slot_bits + key_bits)
            mask = (<uint64_t>1 << slot_bits) - 1
            for j in range(m):
                spans[j].start = ((order[j] >> slot_bits) << align_bits) + lowest
                spans[j].slot = order[j] & mask
        else:
            sort_spans(spans, m)
        return sweep(spans, m, n, nbytes, written, first, second)
    finally:
        scratch_give(spans, need)


cdef int sweep(const Span *spans, Py_ssize_t m, Py_ssize_t n, const uint64_t *nbytes,
               const bint *written, uint64_t *first, uint64_t *second) noexcept:
    """Spans in order of start: each must begin after the furthest end so far of any array if
    it is written, of any written array if it is only read."""
    cdef Py_ssize_t j
    cdef uint64_t end, reach_any = 0, reach_written = 0, any_slot = 0, written_slot = 0
    cdef bint any_seen = False, written_seen = False, w
    for j in range(m):
        w = written[spans[j].slot & ((1 << OP_BITS) - 1)]
        if w and any_seen and spans[j].start < reach_any:
            first[0], second[0] = any_slot, spans[j].slot
            return 1
        if not w and written_seen and spans[j].start < reach_written:
            first[0], second[0] = written_slot, spans[j].slot
            return 1
        end = spans[j].start + nbytes[(spans[j].slot & ((1 << OP_BITS) - 1)) * n
                                      + (spans[j].slot >> OP_BITS)]
        if not any_seen or end > reach_any:
            reach_any, any_slot, any_seen = end, spans[j].slot, True
        if w and (not written_seen or end > reach_written):
            reach_written, written_slot, written_seen = end, spans[j].slot, True
    return 0
