/*
 * glibc-replay: replays an alloc-trace v1 file on the real allocator of this process (glibc 2.36 ptmalloc,
 * gperftools TCMalloc when libtcmalloc_minimal is LD_PRELOADed, or any other LD_PRELOADed malloc with
 * --preloaded) and prints where every block landed, in the address-line format the models print too:
 *
 *   <seq> <op> <size> <where>        op ∈ m c r a A P v V; size = bytes requested (calloc: nmemb × size)
 *   <seq> t <pad> <0|1>              malloc_trim and its result
 *
 *   where = heap±0x<hex>             main arena (brk heap), from the initial program break
 *         | mmap±0x<hex>             mmapped chunk, from the first mmapped block's user address
 *         | main±0x<hex>             main arena outside the brk heap (mapped when the break could not move),
 *                                    from the first such block
 *         | arena<k>±0x<hex>         non-main arena k (numbered by first appearance), from its first heap
 *         | null
 *
 * The heap must be empty when the first operation runs, so nothing here calls malloc or stdio before or during
 * the replay: the trace is mmapped, the tables are mmapped, and output goes through an mmapped buffer written
 * with write(2). Tunables come from the inherited environment (GLIBC_TUNABLES).
 *
 * Threads: with several trace threads, one pthread per trace tid replays that tid's operations, and a baton
 * (one futex word per thread) passes between them in file order, so exactly one runs at a time and glibc's arena
 * choices are reproducible. A "# thread-exit <tid> seq=N" line ends that tid's thread there: it hands the baton on
 * and returns from its start routine (pthread_exit would first load libgcc_s with dlopen, which allocates, to
 * unwind), so the C library runs its thread-exit work (glibc: the tcache back to its arena, the arena
 * onto the free list; TCMalloc: its thread cache deleted), and the next holder joins it before it replays anything,
 * so that work is done where the line stands. A later op of the same tid (the kernel reused it) is a new thread.
 * Exits are not replayed with --threads merge. pthread_create allocates the new thread's DTV with calloc in the creating thread
 * (elf/dl-tls.c allocate_dtv, through ld.so's __rtld_calloc, which binds to the executable's calloc when it
 * defines one). This executable therefore defines malloc, calloc, realloc and free: while threads are being
 * created they serve from a static arena of their own; otherwise they forward to the real allocator.
 *
 * Usage: glibc-replay [options] <trace>
 *   --threads real|merge   one pthread per tid (default when the trace has several tids), or all on main
 *   --mallinfo             after every op: "# mi <arena> <hblkhd> <uordblks> <fordblks>" (mallinfo2, decimal)
 *   --final-mallinfo       the same line once, after the last op
 *   --stats                at the end: malloc_stats() output, each line prefixed "# stats "
 *   --heap-base            first line: "# heap-base 0x<initial break>"
 *   --preloaded            the process runs an LD_PRELOADed allocator that maps all its memory: its malloc
 *                          family comes from dlsym(RTLD_NEXT), every block is printed as mmap±0x… from the
 *                          first block returned, and malloc_trim is the next object's (often glibc's)
 *   --usable-table         (preloaded) no trace: "<size> <malloc_usable_size(malloc(size))>" for 0…262144 and
 *                          samples above, each block freed before the next
 *   --stats-call <symbol>  (preloaded) at the end: <symbol>(NULL, NULL, NULL), the allocator's own statistics
 *                          printer (mi_stats_print, malloc_stats_print …), its stderr lines prefixed "# stats "
 *   --tcmalloc             the process runs gperftools (LD_PRELOAD); heap offsets from the initial break
 *                          rounded up to 8 KiB; a block is "heap" when inside the brk range
 *   --mallocstats          (tcmalloc) at the end: "# stat <property> <value>" for MallocExtension properties
 *   --nallocx-table        (tcmalloc) no trace: "<size> <nallocx(size, 0)>" for 0…262144 and samples above
 *   --maps                 before the first op: "# map <start> <end>" (hex) for every mapping of the process,
 *                          so that a model can leave room for the replayer's own (tables, output, thread stacks),
 *                          and "# thread <tid> <thread pointer>" per trace thread (main first, then by first op)
 *   --mallctl-stats        at the end: "# stat <name> <value>" for jemalloc's stats.* (mallctl, after "epoch")
 *   --time                 on stderr: "# replay <ns> ns <ops> ops <ns/op> ns/op" (parse time excluded)
 *   --quiet                replay without printing address lines (for timing the allocator alone)
 *   --block-brk <offset>   map a page at the initial break + offset first: the break cannot grow past it
 *   --heap-max-size <n>    the size and alignment of non-main heaps (glibc.malloc.hugetlb=2: 8388608)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ───────────────────────────── the real allocator entry points ───────────────────────────── */

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

/* Present only when libtcmalloc_minimal is preloaded (weak references resolve against every loaded object). */
extern void *tc_malloc(size_t) __attribute__((weak));
extern void *tc_calloc(size_t, size_t) __attribute__((weak));
extern void *tc_realloc(void *, size_t) __attribute__((weak));
extern void tc_free(void *) __attribute__((weak));
extern size_t nallocx(size_t, int) __attribute__((weak));
extern int MallocExtension_GetNumericProperty(const char *, size_t *) __attribute__((weak));

static int using_tcmalloc(void) { return tc_malloc != NULL; }

/* --preloaded: the malloc family of the first object after this executable in the lookup order, which is the
 * LD_PRELOADed library. The executable's own malloc … free (below) shadow it for every caller, libc included,
 * so it is reached only through these pointers; the aligned family is not shadowed and binds to it directly. */
struct preloaded_family {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
};
static struct preloaded_family preloaded;
static int using_preloaded(void) { return preloaded.malloc != NULL; }

static void *real_malloc(size_t n) {
    if (using_preloaded()) return preloaded.malloc(n);
    return using_tcmalloc() ? tc_malloc(n) : __libc_malloc(n);
}

static void *real_calloc(size_t n, size_t s) {
    if (using_preloaded()) return preloaded.calloc(n, s);
    return using_tcmalloc() ? tc_calloc(n, s) : __libc_calloc(n, s);
}

static void *real_realloc(void *p, size_t n) {
    if (using_preloaded()) return preloaded.realloc(p, n);
    return using_tcmalloc() ? tc_realloc(p, n) : __libc_realloc(p, n);
}

static void real_free(void *p) {
    if (using_preloaded()) preloaded.free(p);
    else if (using_tcmalloc()) tc_free(p);
    else __libc_free(p);
}

/* ───────────────────── the executable's own malloc family (thread creation window) ─────────────────────
 *
 *   bootstrap[]: ┌────────┬──────────────┬────────┬──────────────┬─────
 *                │ size   │ block …      │ size   │ block …      │ free →
 *                └────────┴──────────────┴────────┴──────────────┴─────
 *   16-byte header (the block's size) before each 16-aligned block; freeing one is a no-op.
 */

#define BOOTSTRAP_BYTES (1 << 20)
static _Alignas(16) unsigned char bootstrap[BOOTSTRAP_BYTES];
static size_t bootstrap_used;
static atomic_int creating_threads;
static atomic_long foreign_calls; /* allocator calls from outside the replay, before it starts */
static atomic_int replay_started;

static int in_bootstrap(const void *p) {
    return (const unsigned char *)p >= bootstrap && (const unsigned char *)p < bootstrap + BOOTSTRAP_BYTES;
}

static void *bootstrap_alloc(size_t n) {
    size_t need = 16 + ((n + 15) & ~(size_t)15);
    if (bootstrap_used + need > BOOTSTRAP_BYTES) return NULL;
    unsigned char *block = bootstrap + bootstrap_used + 16;
    *(size_t *)(block - 16) = n;
    bootstrap_used += need;
    return block;
}

static void note_foreign_call(void) {
    if (!atomic_load(&replay_started)) atomic_fetch_add(&foreign_calls, 1);
}

void *malloc(size_t n) {
    if (atomic_load(&creating_threads)) return bootstrap_alloc(n);
    note_foreign_call();
    return real_malloc(n);
}

void *calloc(size_t n, size_t s) {
    if (atomic_load(&creating_threads)) {
        if (s && n > SIZE_MAX / s) return NULL;
        return bootstrap_alloc(n * s); /* static memory is zero and never reused */
    }
    note_foreign_call();
    return real_calloc(n, s);
}

void *realloc(void *p, size_t n) {
    if (atomic_load(&creating_threads) || in_bootstrap(p)) {
        void *q = bootstrap_alloc(n);
        if (q && p) {
            size_t old = *(size_t *)((unsigned char *)p - 16);
            memcpy(q, p, old < n ? old : n);
        }
        return q;
    }
    note_foreign_call();
    return real_realloc(p, n);
}

void free(void *p) {
    if (in_bootstrap(p)) return;
    if (p) note_foreign_call();
    real_free(p);
}

/* ───────────────────────────── raw memory, output ───────────────────────────── */

static void die(const char *msg) {
    (void)!write(2, "glibc-replay: ", 14);
    (void)!write(2, msg, strlen(msg));
    (void)!write(2, "\n", 1);
    _exit(2);
}

static void *map_zeroed(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) die("mmap failed");
    return p;
}

/*   out: ┌──────────── text written so far ────────────┬──── room ≥ OUT_SLACK ────┐
 *        0                                          out_len                   OUT_BYTES
 *   flushed with one write(2) whenever the room left drops below OUT_SLACK. */
#define OUT_BYTES (4u << 20)
#define OUT_SLACK 4096u
static char *out;
static size_t out_len;
static int quiet;

static void out_flush(void) {
    size_t done = 0;
    while (done < out_len) {
        ssize_t w = write(1, out + done, out_len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("write failed");
        }
        done += (size_t)w;
    }
    out_len = 0;
}

static void out_room(void) {
    if (OUT_BYTES - out_len < OUT_SLACK) out_flush();
}

static void put_str(const char *s) {
    while (*s) out[out_len++] = *s++;
}

static void put_char(char c) { out[out_len++] = c; }

static void put_dec(uint64_t v) {
    char tmp[24];
    int n = 0;
    do tmp[n++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    while (n) out[out_len++] = tmp[--n];
}

/* A 128-bit product (calloc's nmemb × size) in decimal. */
static void put_dec128(unsigned __int128 v) {
    char tmp[48];
    int n = 0;
    do tmp[n++] = (char)('0' + (int)(v % 10)); while ((v /= 10) != 0);
    while (n) out[out_len++] = tmp[--n];
}

static void put_hex(uint64_t v) {
    char tmp[20];
    int n = 0;
    do tmp[n++] = "0123456789abcdef"[v & 15]; while ((v >>= 4) != 0);
    put_str("0x");
    while (n) out[out_len++] = tmp[--n];
}

/* "+0x…" or "-0x…": the offset of a from base. */
static void put_offset(uintptr_t a, uintptr_t base) {
    if (a >= base) {
        put_char('+');
        put_hex(a - base);
    } else {
        put_char('-');
        put_hex(base - a);
    }
}

/* ───────────────────────────── the trace ─────────────────────────────
 *
 *   struct op: ┌──────┬──────┬──────┬──────┬────────┬──────┐
 *              │ seq  │ a    │ b    │ res  │ thread │ code │     m: a=size  c: a=nmemb b=size  r: a=old b=size
 *              └──────┴──────┴──────┴──────┴────────┴──────┘     f: a=ptr   a/A/P: a=align b=size  v/V: a=size
 *                                                                t: a=pad   X: the thread exits
 *                                                                thread = index into tids[]
 */
struct op {
    uint64_t seq, a, b, res;
    uint32_t thread;
    char code;
};

#define MAX_THREADS 1024
static struct op *ops;
static size_t op_count;
static uint64_t tids[MAX_THREADS];
static unsigned char ended[MAX_THREADS]; /* the thread's exit line was read: its tid names no thread any more */
static uint32_t thread_count;
static uint32_t main_thread; /* index of the tid that equals the header's pid, else of the first tid */

static const char *scan_dec(const char *p, const char *end, uint64_t *v) {
    uint64_t x = 0;
    if (p >= end || *p < '0' || *p > '9') die("malformed trace line (number expected)");
    while (p < end && *p >= '0' && *p <= '9') x = x * 10 + (uint64_t)(*p++ - '0');
    *v = x;
    return p;
}

static const char *scan_hex(const char *p, const char *end, uint64_t *v) {
    uint64_t x = 0;
    if (end - p < 3 || p[0] != '0' || p[1] != 'x') die("malformed trace line (address expected)");
    p += 2;
    for (; p < end; p++) {
        char c = *p;
        if (c >= '0' && c <= '9') x = x * 16 + (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f') x = x * 16 + (uint64_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') x = x * 16 + (uint64_t)(c - 'A' + 10);
        else break;
    }
    *v = x;
    return p;
}

static const char *skip_spaces(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

/* The index of a live trace thread with this tid, or thread_count when there is none. */
static uint32_t live_thread(uint64_t tid) {
    uint32_t i = 0;
    while (i < thread_count && (tids[i] != tid || ended[i])) i++;
    return i;
}

static uint32_t thread_index(uint64_t tid) {
    uint32_t i = live_thread(tid);
    if (i < thread_count) return i;
    if (thread_count == MAX_THREADS) die("too many threads in the trace");
    tids[thread_count] = tid;
    return thread_count++;
}

/* The header's pid, or 0 when the line is not "# alloc-trace v1 pid=…". */
static uint64_t header_pid(const char *p, const char *end) {
    static const char tag[] = "# alloc-trace v1 pid=";
    size_t n = sizeof tag - 1;
    if ((size_t)(end - p) <= n || memcmp(p, tag, n) != 0) return 0;
    uint64_t pid;
    scan_dec(p + n, end, &pid);
    return pid;
}

/* "# thread-exit <tid> seq=N": an X op for that tid's thread (none for a tid that made no call, or the main one). */
static void thread_exit_line(const char *p, const char *end, uint64_t pid) {
    static const char tag[] = "# thread-exit ";
    size_t n = sizeof tag - 1;
    if ((size_t)(end - p) <= n || memcmp(p, tag, n) != 0) return;
    uint64_t tid, seq = 0;
    const char *q = skip_spaces(scan_dec(p + n, end, &tid), end);
    if (end - q > 4 && memcmp(q, "seq=", 4) == 0) scan_dec(q + 4, end, &seq);
    uint32_t t = live_thread(tid);
    if (t == thread_count || tid == pid) return;
    ended[t] = 1;
    struct op *o = &ops[op_count++];
    o->seq = seq;
    o->thread = t;
    o->code = 'X';
}

static void parse_trace(const char *text, size_t len) {
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    ops = map_zeroed(lines * sizeof(struct op));
    uint64_t pid = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) eol = end;
        const char *q = skip_spaces(p, eol);
        if (q < eol && *q == '#') {
            if (!pid) pid = header_pid(q, eol);
            else thread_exit_line(q, eol, pid);
        } else if (q < eol) {
            struct op *o = &ops[op_count++];
            uint64_t tid;
            q = skip_spaces(scan_dec(q, eol, &o->seq), eol);
            q = skip_spaces(scan_dec(q, eol, &tid), eol);
            o->thread = thread_index(tid);
            if (q >= eol) die("malformed trace line (op expected)");
            o->code = *q++;
            q = skip_spaces(q, eol);
            switch (o->code) {
            case 'm': case 'v': case 'V':
                q = skip_spaces(scan_dec(q, eol, &o->a), eol);
                scan_hex(q, eol, &o->res);
                break;
            case 'c': case 'a': case 'A': case 'P':
                q = skip_spaces(scan_dec(q, eol, &o->a), eol);
                q = skip_spaces(scan_dec(q, eol, &o->b), eol);
                scan_hex(q, eol, &o->res);
                break;
            case 'r':
                q = skip_spaces(scan_hex(q, eol, &o->a), eol);
                q = skip_spaces(scan_dec(q, eol, &o->b), eol);
                scan_hex(q, eol, &o->res);
                break;
            case 'f':
                scan_hex(q, eol, &o->a);
                break;
            case 't':
                q = skip_spaces(scan_dec(q, eol, &o->a), eol);
                if (q < eol) scan_dec(q, eol, &o->res);
                break;
            default:
                die("unknown op letter in trace");
            }
        }
        p = eol + 1;
    }
    main_thread = 0;
    for (uint32_t i = 0; i < thread_count; i++)
        if (tids[i] == pid) main_thread = i;
}

static void load_trace(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("cannot open the trace");
    struct stat st;
    if (fstat(fd, &st) != 0) die("cannot stat the trace");
    if (st.st_size == 0) {
        close(fd);
        return;
    }
    const char *text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (text == MAP_FAILED) die("cannot map the trace");
    close(fd);
    parse_trace(text, (size_t)st.st_size);
    munmap((void *)text, (size_t)st.st_size);
}

/* ───────────────────── trace address → live block (open addressing, linear probing) ─────────────────────
 *
 *   slots: ┌───────────┬───────────┬─────┐   key 0 = empty; deletion shifts later entries of the run back,
 *          │ key, live │ key, live │ …   │   so lookups never meet tombstones
 *          └───────────┴───────────┴─────┘
 */
struct slot {
    uint64_t key;
    void *live;
};
static struct slot *slots;
static uint64_t slot_mask;

static uint64_t home(uint64_t key) { return (key * 0x9e3779b97f4a7c15ull >> 20) & slot_mask; }

static void table_init(size_t allocations) {
    uint64_t n = 1024;
    while (n < 2 * (uint64_t)allocations + 16) n <<= 1;
    slots = map_zeroed(n * sizeof(struct slot));
    slot_mask = n - 1;
}

static struct slot *table_find(uint64_t key) {
    for (uint64_t i = home(key);; i = (i + 1) & slot_mask) {
        if (slots[i].key == key) return &slots[i];
        if (slots[i].key == 0) return NULL;
    }
}

static void table_put(uint64_t key, void *live) {
    if (key == 0) return;
    uint64_t i = home(key);
    while (slots[i].key != 0 && slots[i].key != key) i = (i + 1) & slot_mask;
    slots[i].key = key;
    slots[i].live = live;
}

static void table_remove(struct slot *s) {
    uint64_t hole = (uint64_t)(s - slots);
    for (uint64_t i = (hole + 1) & slot_mask; slots[i].key != 0; i = (i + 1) & slot_mask) {
        uint64_t h = home(slots[i].key);
        /* the entry may move into the hole when its home is not cyclically inside (hole, i] */
        if (((i - h) & slot_mask) >= ((i - hole) & slot_mask)) {
            slots[hole] = slots[i];
            hole = i;
        }
    }
    slots[hole].key = 0;
    slots[hole].live = NULL;
}

/* ───────────────────────────── where a block lives ───────────────────────────── */

#define SIZE_IS_MMAPPED 0x2
#define SIZE_NON_MAIN_ARENA 0x4
#define MAX_ARENAS 1024

/* heap_max_size (malloc/arena.c): 2 × DEFAULT_MMAP_THRESHOLD_MAX, or 4 huge pages under glibc.malloc.hugetlb=2 */
static uintptr_t heap_max_size = (uintptr_t)64 << 20;

static uintptr_t heap_base;   /* initial program break (tcmalloc: rounded up to 8 KiB) */
static uintptr_t brk_start;   /* initial program break */
static uintptr_t mmap_base;   /* user address of the first mmapped block seen, 0 before */
static uintptr_t main_mapped_base; /* the first main-arena block seen outside the brk heap, 0 before */
static uintptr_t arena_heaps[MAX_ARENAS]; /* first heap of arena k+1 */
static uint32_t arena_count;

static uint32_t arena_number(uintptr_t first_heap) {
    for (uint32_t k = 0; k < arena_count; k++)
        if (arena_heaps[k] == first_heap) return k + 1;
    if (arena_count == MAX_ARENAS) die("too many arenas");
    arena_heaps[arena_count] = first_heap;
    return ++arena_count;
}

/* --block-brk <offset>: a page mapped at the initial break + offset, as when another mapping sits above the heap.
 * The kernel keeps the break a page below it, so glibc's sbrk fails there and the main arena maps its space. */
static const char *block_brk;

static void block_break(uintptr_t offset) {
    if (offset & 4095) die("--block-brk: the offset must be a multiple of the page size");
    void *at = (void *)(brk_start + offset);
    if (mmap(at, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != at)
        die("--block-brk: cannot map the page above the heap");
}

static void put_mmap(uintptr_t a) {
    if (!mmap_base) mmap_base = a;
    put_str("mmap");
    put_offset(a, mmap_base);
}

/* glibc: the chunk's size field tells mmapped / non-main arena / main arena (heap). A non-main arena's
 * malloc_state sits in its first heap right after the heap_info, so the first heap is ar_ptr rounded down. */
static void put_where_glibc(uintptr_t a) {
    size_t size_field = ((const size_t *)a)[-1];
    if (size_field & SIZE_IS_MMAPPED) {
        put_mmap(a);
    } else if (size_field & SIZE_NON_MAIN_ARENA) {
        uintptr_t heap = a & ~(heap_max_size - 1);
        uintptr_t arena = *(const uintptr_t *)heap; /* heap_info.ar_ptr */
        uintptr_t first_heap = arena & ~(heap_max_size - 1);
        put_str("arena");
        put_dec(arena_number(first_heap));
        put_offset(a, first_heap);
    } else if (a >= brk_start && a < (uintptr_t)sbrk(0)) {
        put_str("heap");
        put_offset(a, heap_base);
    } else {
        /* the main arena mapped its space: the break could not move (or hugetlb=2 never moves it) */
        if (!main_mapped_base) main_mapped_base = a;
        put_str("main");
        put_offset(a, main_mapped_base);
    }
}

/* tcmalloc: every block inside the brk range is "heap"; anything else was mmapped. */
static void put_where_tcmalloc(uintptr_t a) {
    uintptr_t brk_now = (uintptr_t)sbrk(0);
    if (a >= brk_start && a < brk_now) {
        put_str("heap");
        put_offset(a, heap_base);
    } else {
        put_mmap(a);
    }
}

static void put_where(void *p) {
    if (!p) put_str("null");
    else if (using_preloaded()) put_mmap((uintptr_t)p);
    else if (using_tcmalloc()) put_where_tcmalloc((uintptr_t)p);
    else put_where_glibc((uintptr_t)p);
}

/* ───────────────────────────── replaying one operation ───────────────────────────── */

static int print_mallinfo;

static void put_mallinfo(void) {
    struct mallinfo2 mi = mallinfo2();
    put_str("# mi ");
    put_dec(mi.arena);
    put_char(' ');
    put_dec(mi.hblkhd);
    put_char(' ');
    put_dec(mi.uordblks);
    put_char(' ');
    put_dec(mi.fordblks);
    put_char('\n');
}

static void put_result(const struct op *o, unsigned __int128 size, void *p) {
    if (quiet) return;
    out_room();
    put_dec(o->seq);
    put_char(' ');
    put_char(o->code);
    put_char(' ');
    put_dec128(size);
    put_char(' ');
    put_where(p);
    put_char('\n');
}

/* The live block for a trace address, or NULL (with *known = 0) when the trace never allocated it. */
static struct slot *live_block(uint64_t addr) { return addr ? table_find(addr) : NULL; }

static void replay_free(const struct op *o) {
    if (o->a == 0) {
        real_free(NULL);
        return;
    }
    struct slot *s = live_block(o->a);
    if (!s) return;
    void *p = s->live;
    table_remove(s);
    real_free(p);
}

/*
 * The rules of src/lab/replay.ts for reallocs the trace cannot explain: realloc of an address the trace never
 * allocated is skipped, whatever the size; a realloc the trace shows failing is replayed, and when it succeeds here
 * the block stays the trace's old address, which the program goes on using.
 */
static void replay_realloc(const struct op *o) {
    void *old = NULL;
    struct slot *s = NULL;
    if (o->a) {
        s = live_block(o->a);
        if (!s) return; /* the trace never allocated it */
        old = s->live;
    }
    void *p = real_realloc(old, o->b);
    if (p || (old && o->b == 0)) { /* moved, grown in place, or freed by realloc(p, 0) */
        if (s) table_remove(s);
    }
    if (p) table_put(o->res || !old ? o->res : o->a, p);
    put_result(o, o->b, p);
}

static void replay_op(const struct op *o) {
    void *p;
    switch (o->code) {
    case 'm':
        p = real_malloc(o->a);
        table_put(o->res, p);
        put_result(o, o->a, p);
        break;
    case 'c':
        p = real_calloc(o->a, o->b);
        table_put(o->res, p);
        put_result(o, (unsigned __int128)o->a * o->b, p);
        break;
    case 'r':
        replay_realloc(o);
        break;
    case 'f':
        replay_free(o);
        break;
    case 'a':
        p = memalign(o->a, o->b);
        table_put(o->res, p);
        put_result(o, o->b, p);
        break;
    case 'A':
        p = aligned_alloc(o->a, o->b);
        table_put(o->res, p);
        put_result(o, o->b, p);
        break;
    case 'P':
        if (posix_memalign(&p, o->a, o->b) != 0) p = NULL;
        table_put(o->res, p);
        put_result(o, o->b, p);
        break;
    case 'v':
        p = valloc(o->a);
        table_put(o->res, p);
        put_result(o, o->a, p);
        break;
    case 'V':
        p = pvalloc(o->a);
        table_put(o->res, p);
        put_result(o, o->a, p);
        break;
    case 'X': /* merged: every op runs on the main thread, which does not end */
        return;
    case 't': {
        int released = malloc_trim(o->a);
        if (!quiet) {
            out_room();
            put_dec(o->seq);
            put_str(" t ");
            put_dec(o->a);
            put_str(released ? " 1\n" : " 0\n");
        }
        break;
    }
    }
    if (print_mallinfo) {
        out_room();
        put_mallinfo();
    }
}

static void check_heap_untouched(void) {
    if (!using_tcmalloc() && !using_preloaded() && atomic_load(&foreign_calls))
        die("the allocator was called before the replay: the heap is not empty");
}

/* ───────────────────────────── the baton (real threads) ─────────────────────────────
 *
 *   turn[t] = 1 while thread t holds the baton. Only the holder replays; it advances `cursor` and, when the
 *   next op belongs to another thread, hands the baton over and sleeps on its own word.
 */
static atomic_uint turn[MAX_THREADS];
static size_t cursor;
static atomic_uint finished;
static atomic_uint threads_ready; /* threads parked on their baton, waiting for the replay */

static void futex_wait(atomic_uint *word, unsigned expected) {
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *word) { syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0); }

static void take_baton(uint32_t me) {
    while (atomic_load(&turn[me]) == 0) futex_wait(&turn[me], 0);
    atomic_store(&turn[me], 0);
}

static void give_baton(uint32_t to) {
    atomic_store(&turn[to], 1);
    futex_wake(&turn[to]);
}

/* Replays this thread's ops as they come up; returns when the trace is done. The main thread, once done,
 * holds the baton, so the output is complete when it returns. */
/* --maps: each replaying thread's thread pointer (its TLS, hence where an allocator's thread state lives). */
static uintptr_t thread_pointer[MAX_THREADS];
static pthread_t handles[MAX_THREADS];
static atomic_int exiting = -1; /* the thread that handed the baton on to exit: joined by the next holder */

/* Waits until the thread that exited last is gone, its C library's thread-exit work done. */
static void join_exited(void) {
    int t = atomic_exchange(&exiting, -1);
    if (t >= 0) pthread_join(handles[t], NULL);
}

/* Hands the baton to the next op's thread, or, at the end, to every parked thread and the main one. */
static void pass_baton(uint32_t me) {
    if (cursor < op_count) {
        give_baton(ops[cursor].thread);
        return;
    }
    atomic_store(&finished, 1);
    for (uint32_t t = 0; t < thread_count; t++)
        if (t != main_thread && t != me && !ended[t]) give_baton(t);
    if (me != main_thread) give_baton(main_thread);
}

/* Returns 1 when the thread is to end (its exit line came up), 0 when the trace is done. */
static int run_thread(uint32_t me) {
    thread_pointer[me] = (uintptr_t)pthread_self();
    for (;;) {
        if (me != main_thread && atomic_load(&turn[me]) == 0) atomic_fetch_add(&threads_ready, 1);
        take_baton(me);
        join_exited();
        if (atomic_load(&finished)) return 0;
        while (cursor < op_count && ops[cursor].thread == me && ops[cursor].code != 'X') replay_op(&ops[cursor++]);
        if (cursor < op_count && ops[cursor].thread == me) { /* this thread's exit */
            cursor++;
            atomic_store(&exiting, (int)me);
            pass_baton(me);
            return 1;
        }
        pass_baton(me);
        if (cursor == op_count) return 0;
    }
}

static void *thread_main(void *arg) {
    if (run_thread((uint32_t)(uintptr_t)arg)) return NULL;
    for (;;) pause(); /* threads without an exit line never exit before the process does */
    return NULL;
}

static void start_threads(void) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 << 10);
    atomic_store(&creating_threads, 1);
    for (uint32_t t = 0; t < thread_count; t++) {
        if (t == main_thread) continue;
        if (pthread_create(&handles[t], &attr, thread_main, (void *)(uintptr_t)t) != 0) die("pthread_create failed");
    }
    atomic_store(&creating_threads, 0);
    pthread_attr_destroy(&attr);
}

/* --maps: /proc/self/maps read into static memory (nothing here may allocate), one "# map" line per mapping. */
static int print_maps;
static char maps_text[1 << 16];

static int hex_digit(char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void put_maps(void) {
    int fd = open("/proc/self/maps", O_RDONLY);
    if (fd < 0) die("cannot open /proc/self/maps");
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, maps_text + len, sizeof maps_text - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    close(fd);
    thread_pointer[main_thread] = (uintptr_t)pthread_self();
    for (uint32_t k = 0; k < thread_count; k++) {
        uint32_t t = k == 0 ? main_thread : (k <= main_thread ? k - 1 : k);
        out_room();
        put_str("# thread ");
        put_dec(tids[t]);
        put_char(' ');
        put_hex(thread_pointer[t]);
        put_char('\n');
    }
    for (size_t i = 0; i < len;) {
        uintptr_t start = 0, end = 0;
        while (i < len && maps_text[i] != '-') start = start * 16 + (uintptr_t)hex_digit(maps_text[i++]);
        i++;
        while (i < len && maps_text[i] != ' ') end = end * 16 + (uintptr_t)hex_digit(maps_text[i++]);
        while (i < len && maps_text[i] != '\n') i++;
        i++;
        out_room();
        put_str("# map ");
        put_hex(start);
        put_char(' ');
        put_hex(end);
        put_char('\n');
    }
}

/* Starts the threads and waits until each is parked, so that nothing of their start-up runs during the
 * replay; then checks that nobody allocated before it (glibc: the heap must be empty). */
static void replay_threads(void) {
    start_threads();
    while (atomic_load(&threads_ready) < thread_count - 1) sched_yield();
    check_heap_untouched();
    if (print_maps) put_maps();
    atomic_store(&replay_started, 1);
    if (op_count == 0) return;
    atomic_store(&turn[ops[0].thread], 1);
    if (ops[0].thread != main_thread) futex_wake(&turn[ops[0].thread]);
    run_thread(main_thread);
}

static void replay_merged(void) {
    check_heap_untouched();
    if (print_maps) put_maps();
    atomic_store(&replay_started, 1);
    for (size_t i = 0; i < op_count; i++) replay_op(&ops[i]);
}

/* ───────────────────────────── reports ───────────────────────────── */

/* Runs report() with fd 2 redirected into a memfd, then prints what it wrote, each line behind prefix. */
static void capture_stderr(void (*report)(void), const char *prefix) {
    int mem = (int)syscall(SYS_memfd_create, "stats", 0);
    if (mem < 0) die("memfd_create failed");
    int saved = dup(2);
    dup2(mem, 2);
    report();
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(mem, 0, SEEK_END);
    if (len > 0) {
        char *text = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, mem, 0);
        if (text == MAP_FAILED) die("cannot map the stats");
        int line_start = 1;
        for (off_t i = 0; i < len; i++) {
            out_room();
            if (line_start) put_str(prefix);
            put_char(text[i]);
            line_start = text[i] == '\n';
        }
        if (!line_start) put_char('\n');
        munmap(text, (size_t)len);
    }
    close(mem);
}

static const char *stats_symbol; /* --stats-call */

/* The preloaded allocator's statistics printer; extra NULL arguments are harmless to one that takes fewer. */
static void call_stats_symbol(void) {
    void (*print)(void *, void *, void *) = (void (*)(void *, void *, void *))dlsym(RTLD_DEFAULT, stats_symbol);
    if (!print) die("--stats-call: the preloaded allocator does not define that symbol");
    print(NULL, NULL, NULL);
}

/* One "# stat <name> <value>" line. */
static void put_stat(const char *name, size_t value) {
    out_room();
    put_str("# stat ");
    put_str(name);
    put_char(' ');
    put_dec(value);
    put_char('\n');
}

static void put_tcmalloc_stats(void) {
    static const char *const names[] = {
        "generic.current_allocated_bytes", "generic.heap_size", "generic.total_physical_bytes",
        "tcmalloc.pageheap_free_bytes", "tcmalloc.pageheap_unmapped_bytes", "tcmalloc.central_cache_free_bytes",
        "tcmalloc.transfer_cache_free_bytes", "tcmalloc.thread_cache_free_bytes",
        "tcmalloc.current_total_thread_cache_bytes", "tcmalloc.max_total_thread_cache_bytes",
        "tcmalloc.slack_bytes", "tcmalloc.pageheap_committed_bytes", "tcmalloc.pageheap_scavenge_count",
        "tcmalloc.pageheap_commit_count", "tcmalloc.pageheap_total_commit_bytes",
        "tcmalloc.pageheap_decommit_count", "tcmalloc.pageheap_total_decommit_bytes",
        "tcmalloc.pageheap_reserve_count", "tcmalloc.pageheap_total_reserve_bytes",
    };
    if (!MallocExtension_GetNumericProperty) die("--mallocstats needs libtcmalloc_minimal preloaded");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t value;
        if (MallocExtension_GetNumericProperty(names[i], &value)) put_stat(names[i], value);
    }
}

/* --usable-table: the usable size the preloaded allocator gives each request (its size classes, seen from outside). */
static void put_usable_line(size_t (*usable)(void *), size_t size) {
    void *p = real_malloc(size);
    out_room();
    put_dec(size);
    put_char(' ');
    put_dec(p ? usable(p) : 0);
    put_char('\n');
    real_free(p);
}

static void put_usable_table(void) {
    size_t (*usable)(void *) = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    if (!usable) die("--usable-table: the preloaded allocator has no malloc_usable_size");
    for (size_t size = 0; size <= 262144; size++) put_usable_line(usable, size);
    for (size_t size = (size_t)256 << 10; size <= (size_t)64 << 20; size += size / 8) {
        put_usable_line(usable, size - 1);
        put_usable_line(usable, size);
        put_usable_line(usable, size + 1);
    }
}

static void put_nallocx_line(size_t size) {
    out_room();
    put_dec(size);
    put_char(' ');
    put_dec(nallocx(size, 0));
    put_char('\n');
}

static void put_nallocx_table(void) {
    if (!nallocx) die("--nallocx-table needs libtcmalloc_minimal preloaded");
    for (size_t size = 0; size <= 262144; size++) put_nallocx_line(size);
    for (size_t page = 32; page <= 1024; page++) { /* above kMaxSize: whole 8 KiB pages, around each boundary */
        put_nallocx_line(page * 8192 - 1);
        put_nallocx_line(page * 8192);
        put_nallocx_line(page * 8192 + 1);
    }
    for (size_t size = (size_t)16 << 20; size <= (size_t)1 << 30; size <<= 1) put_nallocx_line(size + 4097);
}

/* ───────────────────────────── main ───────────────────────────── */

static void *next_symbol(const char *name) {
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) die("--preloaded: the next object defines no malloc family (is LD_PRELOAD set?)");
    return f;
}

/* Binds the preloaded family. dlsym may allocate (its error buffer), so it runs on the bootstrap arena, and
 * finding glibc itself means nothing was preloaded. */
static void bind_preloaded(void) {
    atomic_store(&creating_threads, 1);
    void *m = next_symbol("malloc");
    preloaded.calloc = (void *(*)(size_t, size_t))next_symbol("calloc");
    preloaded.realloc = (void *(*)(void *, size_t))next_symbol("realloc");
    preloaded.free = (void (*)(void *))next_symbol("free");
    atomic_store(&creating_threads, 0);
    Dl_info info;
    if (dladdr(m, &info) && info.dli_fname && strstr(info.dli_fname, "libc.so"))
        die("--preloaded: malloc is glibc's (LD_PRELOAD an allocator)");
    preloaded.malloc = (void *(*)(size_t))m;
}

static int arg_is(const char *a, const char *b) { return strcmp(a, b) == 0; }

/* The initial program break, from /proc/self/stat (field 47, start_brk), read with a stack buffer. */
static uintptr_t initial_break(void) {
    char buf[4096];
    int fd = open("/proc/self/stat", O_RDONLY);
    if (fd < 0) die("cannot open /proc/self/stat");
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) die("cannot read /proc/self/stat");
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) die("malformed /proc/self/stat");
    int field = 2;
    for (; *p && field < 47; p++)
        if (*p == ' ') field++;
    uint64_t v;
    scan_dec(p, buf + n, &v);
    return (uintptr_t)v;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say_time(uint64_t ns) {
    char *saved = out;
    size_t saved_len = out_len;
    char line[160];
    out = line;
    out_len = 0;
    put_str("# replay ");
    put_dec(ns);
    put_str(" ns ");
    put_dec(op_count);
    put_str(" ops ");
    put_dec(op_count ? ns / op_count : 0);
    put_str(" ns/op\n");
    (void)!write(2, line, out_len);
    out = saved;
    out_len = saved_len;
}

/* --mallctl-stats: jemalloc's totals, refreshed by writing "epoch" first. */
static void put_mallctl_stats(void) {
    static const char *const names[] = {
        "stats.allocated", "stats.active", "stats.metadata", "stats.resident", "stats.mapped", "stats.retained",
    };
    int (*ctl)(const char *, void *, size_t *, void *, size_t) =
        (int (*)(const char *, void *, size_t *, void *, size_t))dlsym(RTLD_DEFAULT, "mallctl");
    if (!ctl) die("--mallctl-stats needs jemalloc preloaded");
    uint64_t epoch = 1;
    size_t epoch_len = sizeof epoch;
    ctl("epoch", &epoch, &epoch_len, &epoch, epoch_len);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t value = 0, len = sizeof value;
        if (ctl(names[i], &value, &len, NULL, 0) == 0) put_stat(names[i], value);
    }
}

int main(int argc, char **argv) {
    const char *path = NULL;
    int threads = -1; /* -1: by the trace */
    int want_tcmalloc = 0, want_preloaded = 0, usable_table = 0, final_mallinfo = 0, stats = 0, mallocstats = 0, show_base = 0, table = 0, timing = 0;
    int mallctl_stats = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (arg_is(a, "--threads") && i + 1 < argc && (arg_is(argv[i + 1], "real") || arg_is(argv[i + 1], "merge")))
            threads = arg_is(argv[++i], "real");
        else if (arg_is(a, "--threads")) threads = 1;
        else if (arg_is(a, "--mallinfo")) print_mallinfo = 1;
        else if (arg_is(a, "--final-mallinfo")) final_mallinfo = 1;
        else if (arg_is(a, "--stats")) stats = 1;
        else if (arg_is(a, "--heap-base")) show_base = 1;
        else if (arg_is(a, "--tcmalloc")) want_tcmalloc = 1;
        else if (arg_is(a, "--preloaded")) want_preloaded = 1;
        else if (arg_is(a, "--stats-call") && i + 1 < argc) stats_symbol = argv[++i];
        else if (arg_is(a, "--usable-table")) usable_table = 1;
        else if (arg_is(a, "--mallocstats")) mallocstats = 1;
        else if (arg_is(a, "--nallocx-table")) table = 1;
        else if (arg_is(a, "--time")) timing = 1;
        else if (arg_is(a, "--maps")) print_maps = 1;
        else if (arg_is(a, "--mallctl-stats")) mallctl_stats = 1;
        else if (arg_is(a, "--quiet")) quiet = 1;
        else if (arg_is(a, "--block-brk") && i + 1 < argc) block_brk = argv[++i];
        else if (arg_is(a, "--heap-max-size") && i + 1 < argc) heap_max_size = (uintptr_t)strtoull(argv[++i], NULL, 0);
        else if (a[0] == '-' && a[1] == '-') die("unknown option");
        else path = a;
    }
    if (want_preloaded) {
        if (want_tcmalloc || print_mallinfo || final_mallinfo || stats || mallocstats || table)
            die("--preloaded takes no allocator-specific option");
        bind_preloaded();
    }
    if (!want_preloaded && want_tcmalloc != using_tcmalloc())
        die(want_tcmalloc ? "--tcmalloc needs LD_PRELOAD=libtcmalloc_minimal.so.4"
                          : "tcmalloc is preloaded: pass --tcmalloc");
    out = map_zeroed(OUT_BYTES);
    if (usable_table) {
        if (!want_preloaded) die("--usable-table needs --preloaded");
        put_usable_table();
        out_flush();
        return 0;
    }
    if (table) {
        put_nallocx_table();
        out_flush();
        return 0;
    }
    if (!path) die("usage: glibc-replay [options] <trace>");

    brk_start = using_tcmalloc() ? initial_break() : (uintptr_t)sbrk(0);
    heap_base = using_tcmalloc() ? (brk_start + 8191) & ~(uintptr_t)8191 : brk_start;
    if (block_brk) block_break(strtoull(block_brk, NULL, 0));
    load_trace(path);
    size_t allocations = 0;
    for (size_t i = 0; i < op_count; i++) allocations += ops[i].code != 'f' && ops[i].code != 't' && ops[i].code != 'X';
    table_init(allocations);
    if (threads < 0) threads = thread_count > 1;

    if (show_base) {
        put_str("# heap-base ");
        put_hex(heap_base);
        put_char('\n');
    }
    uint64_t t0 = now_ns();
    if (threads) replay_threads();
    else replay_merged();
    uint64_t t1 = now_ns();
    if (final_mallinfo) {
        out_room();
        put_mallinfo();
    }
    if (stats) capture_stderr(malloc_stats, "# stats ");
    if (stats_symbol) {
        if (!want_preloaded) die("--stats-call needs --preloaded");
        capture_stderr(call_stats_symbol, "# stats ");
    }
    if (mallocstats) put_tcmalloc_stats();
    if (mallctl_stats) put_mallctl_stats();
    out_flush();
    if (timing) say_time(t1 - t0);
    _exit(0); /* the other threads are parked; exit_group ends them */
}
