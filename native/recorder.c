/*
 * heaplab recorder: an LD_PRELOAD library that writes every allocator call of a process, from every thread, as
 * alloc-trace v1 (docs/formats.md). `heaplab record -o FILE -- command…` builds and preloads it.
 *
 * Environment:
 *   HEAPLAB_RECORD=<path>             where to write; without it the library only forwards
 *   HEAPLAB_RECORD_PARENT=<pid>       the recording tool's pid: a process whose parent it is writes <path>,
 *                                     every other process <path>.<pid>
 *   HEAPLAB_RECORD_EXEC=<pid>.<k>     set by the exec wrappers: image k of process <pid> writes <name>.exec<k>
 *   HEAPLAB_RECORD_FLUSH=<n>          write the buffer out every n records (default 1024)
 *   HEAPLAB_RECORD_SITES=<n>          record the call site of every allocating call: its n innermost return
 *                                     addresses (0 or unset: none)
 *
 * Rules that keep a recording replayable:
 *   - The recorder never allocates: records are formatted by hand into a static buffer written with write(2).
 *   - Calls go to glibc's __libc_* entry points, so the blocks are exactly what the program would have got.
 *   - One lock is held across each call and its record, so file order is a real order of the calls across
 *     threads: a free is always written before the allocation that reuses its address.
 *   - fork: the prepare handler flushes under the lock; the child re-creates the lock and starts <path>.<pid>,
 *     whose "# fork-of <parent file> <seq>" names the parent's record the child's heap was copied after.
 *   - The header gives the machine's RAM and swap ("# mem-total", "# swap-total", bytes): the kernel's overcommit
 *     heuristic refuses any single mapping larger than both together, and a replay models that limit.
 *   - "# brk-blocked-at" names the lowest mapping above the heap: the kernel keeps the break a page below it, and
 *     glibc then maps the main arena's space instead (a replay models that, usually far away).
 *   - exec: the buffer is flushed first and the new image, which inherits the environment, starts a new file.
 *   - threads: pthread_create is interposed so that the new thread writes "# thread-start <tid> parent=<tid> seq=N"
 *     first. A thread-specific value's destructor marks the thread's exit pending; "# thread-exit <tid> seq=N" is
 *     written once the kernel has reaped the thread, after glibc's last frees of it (its tcache going back to its
 *     arena and the arena onto the free list happen after every destructor). Until then, ≤ 20 ms, another thread's
 *     call waits, so that no call the exit could change runs before the exit's line.
 *   - exit: a destructor writes "# exit seq=N" and flushes; later calls are written through at once.
 *   - _exit (a forked child's usual end) skips destructors: it is interposed and writes "# exit seq=N" first.
 *   - Call sites: the return address (one frame: __builtin_return_address, nearly free) or the n innermost
 *     (backtrace(3), which unwinds by the .eh_frame tables, so code without frame pointers unwinds too). Each
 *     distinct stack gets an id the first time it is seen, written as "# site <id> 0x<ret> …" before the record
 *     that names it ("… site=<id>"); at exit and exec the module map follows ("# module <id> <path> 0x<base>", from
 *     dl_iterate_phdr), and `heaplab record` resolves the addresses to function and line with addr2line.
 *   - A signal that kills the process (SIGSEGV, abort, SIGTERM …) is caught when the program left it at its default
 *     action: the handler writes the complete records and "# signal S seq=N", then re-raises it, so the program
 *     still dies of it. It takes no lock (the crashing thread may hold it) and writes no half-built record; the
 *     pending exits of threads already gone are written before it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);
extern void *__libc_valloc(size_t);
extern void *__libc_pvalloc(size_t);
extern char **environ;

#define TLS __attribute__((tls_model("initial-exec"))) __thread

/* ───────────────────────────── state ───────────────────────────── */

enum { UNINITIALISED, RECORDING, FORWARDING };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state = UNINITIALISED;
static int out_fd = -1;
static int write_through;         /* after the exit flush: every record goes out at once */
static unsigned long seq;          /* records written by this process image */
static unsigned long flush_every = 1024;
static unsigned long since_flush;
static pid_t pid;
static int generation;             /* exec images of this process before this one */
static int (*real_trim)(size_t);

static char base_path[4096];       /* HEAPLAB_RECORD */
static char path[4200];            /* this image's file */
static char exec_env[64];          /* HEAPLAB_RECORD_EXEC=… handed to the next image */

static TLS int busy;               /* inside the recorder on this thread: forward without recording */
static TLS pid_t cached_tid;

/* Threads whose exit was marked (their thread-specific destructor ran) but is not written yet: in marking order. */
#define PENDING_EXITS 1024
#define EXIT_WAIT_NS 20000000ull
struct pending_exit {
    pid_t tid;
    unsigned long long since;      /* CLOCK_MONOTONIC ns when marked */
};
static struct pending_exit pending[PENDING_EXITS];
static int pending_count;
static pthread_key_t exit_key;
static int exit_key_ready;

#define HIGH_FD 1000
#define BUFFER_BYTES (1 << 16)
#define SITE_FRAMES_MAX 32
/* A record, and the "# site" line of a stack seen for the first time before it. */
#define RECORD_MAX (160 + 24 + SITE_FRAMES_MAX * 20)
static char buffer[BUFFER_BYTES];
static size_t used;
static size_t complete;            /* bytes of `buffer` that end a whole record: what a dying process writes */

/* ───────────────────────────── output ───────────────────────────── */

static void write_all(const char *p, size_t n) {
    while (n && out_fd >= 0) {
        ssize_t w = write(out_fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(out_fd); out_fd = -1; return; }
        p += w;
        n -= (size_t)w;
    }
}

static void flush(void) {
    int saved = errno;
    write_all(buffer, used);
    used = 0;
    complete = 0;
    since_flush = 0;
    errno = saved;
}

static void put_char(char c) { buffer[used++] = c; }

static void put_str(const char *s) {
    while (*s && used < BUFFER_BYTES - 1) buffer[used++] = *s++;
}

static void put_dec(unsigned long v) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) buffer[used++] = digits[--n];
}

static void put_hex(uintptr_t v) {
    static const char hex[] = "0123456789abcdef";
    char digits[20];
    int n = 0;
    do { digits[n++] = hex[v & 15]; v >>= 4; } while (v);
    buffer[used++] = '0';
    buffer[used++] = 'x';
    while (n) buffer[used++] = digits[--n];
}

/** Ends a record line; writes the buffer out when it is nearly full, every flush_every records, or at exit. */
static void end_record(void) {
    put_char('\n');
    complete = used;
    if (write_through || used > BUFFER_BYTES - RECORD_MAX || ++since_flush >= flush_every) flush();
}

static void watch_exit(void);

/** This thread's tid; a thread other than the process's first is watched for its exit from its first call on. */
static pid_t current_tid(void) {
    if (!cached_tid) {
        cached_tid = gettid();
        if (cached_tid != getpid()) watch_exit();
    }
    return cached_tid;
}

/** "<seq> <tid> <op>" — the start of every call record. */
static void begin_record(char op) {
    put_dec(++seq);
    put_char(' ');
    put_dec((unsigned long)current_tid());
    put_char(' ');
    put_char(op);
}

static void put_arg_dec(unsigned long v) { put_char(' '); put_dec(v); }
static void put_arg_hex(const void *p) { put_char(' '); put_hex((uintptr_t)p); }


/* ───────────────────────────── set-up ───────────────────────────── */

static unsigned long env_number(const char *name, unsigned long fallback) {
    const char *s = getenv(name);
    if (!s || !*s) return fallback;
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++) v = v * 10 + (unsigned long)(*s - '0');
    return v;
}

static void append(char *dst, size_t cap, const char *s) {
    size_t n = strlen(dst);
    while (*s && n + 1 < cap) dst[n++] = *s++;
    dst[n] = 0;
}

static void append_number(char *dst, size_t cap, unsigned long v) {
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    char text[24];
    int k = 0;
    while (n) text[k++] = digits[--n];
    text[k] = 0;
    append(dst, cap, text);
}

/* ───────────────────────────── call sites ───────────────────────────── */

/*
 * Stacks seen so far, each with its id: an open-addressing table keyed by the stack's hash, the frames in a pool.
 *
 *   table[k]  ┌──────────┬────────┬──────────────┐      pool: site_frames frames per id, from id 1
 *             │ hash u64 │ id u32 │ frames u32   │
 *             └──────────┴────────┴──────────────┘
 *
 * Both live in static memory that the kernel maps on first touch: a program that records no call sites never
 * touches them. When the table is full, further stacks are recorded without a site.
 */
#define SITE_TABLE (1 << 17)
#define SITES_MAX (SITE_TABLE / 2)
#define SITE_POOL (1 << 21)

struct site_slot { uint64_t hash; uint32_t id; uint32_t frames; };
static struct site_slot site_table[SITE_TABLE];
static void *site_pool[SITE_POOL];
static unsigned site_frames;       /* HEAPLAB_RECORD_SITES, at most SITE_FRAMES_MAX */
static int unwinder_ready;         /* backtrace(3) has loaded libgcc's unwinder: stacks deeper than one frame */
static uint32_t site_count;

/** The caller's stack: `ret` (the wrapper's return address) and, for more than one frame, its callers. */
static __attribute__((noinline)) int capture_stack(void **stack, void *ret) {
    if (site_frames <= 1 || !unwinder_ready) {
        stack[0] = ret;
        return 1;
    }
    void *frames[SITE_FRAMES_MAX + 3];
    int n = backtrace(frames, (int)site_frames + 3);
    /* frames[0] is in this function and frames[1] in the wrapper: the caller's frames start at `ret`. */
    int from = 0;
    while (from < n && frames[from] != ret) from++;
    if (from == n) from = n < 2 ? n : 2;
    int k = 0;
    for (; from < n && k < (int)site_frames; from++) stack[k++] = frames[from];
    if (k == 0) stack[k++] = ret;
    return k;
}

static uint64_t stack_hash(void *const *stack, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint64_t)(uintptr_t)stack[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h | 1;                  /* 0 marks an empty slot */
}

/** The stack's site id, writing its "# site" line when it is new; 0 when the table is full. Under the lock. */
static uint32_t site_of(void *const *stack, int n) {
    uint64_t h = stack_hash(stack, n);
    for (uint32_t k = (uint32_t)h & (SITE_TABLE - 1);; k = (k + 1) & (SITE_TABLE - 1)) {
        struct site_slot *slot = &site_table[k];
        if (slot->hash == h && slot->frames == (uint32_t)n &&
            memcmp(&site_pool[(size_t)slot->id * site_frames], stack, (size_t)n * sizeof *stack) == 0) return slot->id;
        if (slot->hash != 0) continue;
        if (site_count + 1 >= SITES_MAX || (size_t)(site_count + 2) * site_frames > SITE_POOL) return 0;
        slot->hash = h;
        slot->id = ++site_count;
        slot->frames = (uint32_t)n;
        memcpy(&site_pool[(size_t)slot->id * site_frames], stack, (size_t)n * sizeof *stack);
        put_str("# site ");
        put_dec(slot->id);
        for (int i = 0; i < n; i++) { put_char(' '); put_hex((uintptr_t)stack[i]); }
        put_char('\n');
        return slot->id;
    }
}

/**
 * backtrace(3) loads libgcc's unwinder on its first call, and the loader allocates: done here, before main and
 * outside any wrapper, those allocations are recorded like the program's own (with one-frame sites), so the
 * recorded heap stays the program's whole heap.
 */
__attribute__((constructor)) static void load_unwinder(void) {
    if (!getenv("HEAPLAB_RECORD") || env_number("HEAPLAB_RECORD_SITES", 0) <= 1) return;
    void *warm[2];
    backtrace(warm, 2);
    unwinder_ready = 1;
}

/** Forgets every site: a forked child's file defines its own. */
static void forget_sites(void) {
    if (!site_count) return;
    memset(site_table, 0, sizeof site_table);
    site_count = 0;
}

/** One mapped module, as dl_iterate_phdr reports it: its file and the address its segments are offset from. */
struct module { char path[512]; uintptr_t base; };
#define MODULES_MAX 512
static struct module modules[MODULES_MAX];
static int module_count;

static int note_module(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (module_count == MODULES_MAX) return 1;
    struct module *m = &modules[module_count];
    const char *name = info->dlpi_name;
    if (name && *name) {
        m->path[0] = 0;
        append(m->path, sizeof m->path, name);
    } else if (module_count == 0) {
        ssize_t n = readlink("/proc/self/exe", m->path, sizeof m->path - 1);
        m->path[n > 0 ? n : 0] = 0;
    } else {
        return 0;                  /* the vDSO and other nameless objects: nothing addr2line can read */
    }
    m->base = (uintptr_t)info->dlpi_addr;
    module_count++;
    return 0;
}

/**
 * Writes the module map ("# module <id> <path> 0x<base>") when call sites are recorded. Not under the lock; with
 * `wait` 0 (_exit, which a signal handler may call while its thread holds the lock) only if the lock is free.
 */
static void write_modules(int wait) {
    if (!site_frames || state != RECORDING || out_fd < 0 || getpid() != pid) return;
    int was_busy = busy;
    busy = 1;
    module_count = 0;
    dl_iterate_phdr(note_module, NULL);
    if (wait) pthread_mutex_lock(&lock);
    else if (pthread_mutex_trylock(&lock) != 0) { busy = was_busy; return; }
    for (int i = 0; i < module_count && out_fd >= 0; i++) {
        if (used > BUFFER_BYTES - RECORD_MAX - sizeof modules[i].path) flush();
        put_str("# module ");
        put_dec((unsigned long)i + 1);
        put_char(' ');
        for (const char *c = modules[i].path; *c; c++) put_char(*c == '\n' ? '?' : *c);
        put_char(' ');
        put_hex(modules[i].base);
        put_char('\n');
    }
    flush();
    pthread_mutex_unlock(&lock);
    busy = was_busy;
}

/* ───────────────────────────── files ───────────────────────────── */

/** The generation this image has in its process: k when HEAPLAB_RECORD_EXEC names this pid, else 0. */
static int exec_generation(void) {
    const char *s = getenv("HEAPLAB_RECORD_EXEC");
    if (!s) return 0;
    unsigned long who = 0, k = 0;
    for (; *s >= '0' && *s <= '9'; s++) who = who * 10 + (unsigned long)(*s - '0');
    if (*s++ != '.') return 0;
    for (; *s >= '0' && *s <= '9'; s++) k = k * 10 + (unsigned long)(*s - '0');
    return who == (unsigned long)pid ? (int)k : 0;
}

/** The lowest mapping that starts at or above `brk` (/proc/self/maps): the break can grow to a page below it. */
static uintptr_t next_mapping_above(uintptr_t brk) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[4096];
    uintptr_t lowest = 0, start = 0;
    int reading_start = 1;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            char c = buf[i];
            if (reading_start) {
                int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                if (digit >= 0) { start = start * 16 + (uintptr_t)digit; continue; }
                reading_start = 0;
                if (start >= brk && (lowest == 0 || start < lowest)) lowest = start;
            }
            if (c == '\n') { reading_start = 1; start = 0; }
        }
    }
    close(fd);
    return lowest;
}

/** Opens this image's file and writes the header; a forked child names the parent's file and its last record. */
static void start_file(pid_t parent, const char *fork_of, unsigned long fork_seq) {
    path[0] = 0;
    append(path, sizeof path, base_path);
    if ((unsigned long)parent != env_number("HEAPLAB_RECORD_PARENT", 0)) {
        append(path, sizeof path, ".");
        append_number(path, sizeof path, (unsigned long)pid);
    }
    if (generation) {
        append(path, sizeof path, ".exec");
        append_number(path, sizeof path, (unsigned long)generation);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) { state = FORWARDING; return; }
    /* Out of the way of programs that dup2 onto, or close, the low descriptors they think are theirs. */
    out_fd = fcntl(fd, F_DUPFD_CLOEXEC, HIGH_FD);
    if (out_fd < 0) out_fd = fd;
    else close(fd);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *name = strrchr(exe, '/');
    name = name ? name + 1 : (n > 0 ? exe : "unknown");
    seq = 0;
    used = 0;
    put_str("# alloc-trace v1 pid=");
    put_dec((unsigned long)pid);
    put_str(" ppid=");
    put_dec((unsigned long)parent);
    put_str(" exe=");
    for (const char *c = name; *c && used < 4096; c++) put_char(*c == ' ' ? '_' : *c);
    uintptr_t brk = (uintptr_t)sbrk(0);
    put_str("\n# heap-base ");
    put_hex(brk);
    uintptr_t above = next_mapping_above(brk);
    if (above) {
        put_str("\n# brk-blocked-at ");
        put_hex(above);
    }
    struct sysinfo info;
    if (sysinfo(&info) == 0) {
        put_str("\n# mem-total ");
        put_dec((unsigned long)info.totalram * info.mem_unit);
        put_str("\n# swap-total ");
        put_dec((unsigned long)info.totalswap * info.mem_unit);
    }
    if (fork_of) {
        const char *name = strrchr(fork_of, '/');
        put_str("\n# fork-of ");
        put_str(name ? name + 1 : fork_of);
        put_char(' ');
        put_dec(fork_seq);
    }
    put_char('\n');
    flush();
}

/* ───────────────────────────── thread lifecycle ───────────────────────────── */

static void initialise(void);

static unsigned long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

/** Whether the kernel has reaped thread `tid` of this process: glibc's last work for it is done. */
static int thread_gone(pid_t tid) {
    int saved = errno;
    int gone = syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH;
    errno = saved;
    return gone;
}

/** "# thread-exit <tid> seq=N": the end of a line like a record's, so a dying process writes it whole. */
static void put_exit_line(pid_t tid) {
    put_str("# thread-exit ");
    put_dec((unsigned long)tid);
    put_str(" seq=");
    put_dec(seq);
    end_record();
}

/** Removes pending exit i, keeping the others in marking order. */
static void forget_pending(int i) {
    pending_count--;
    memmove(&pending[i], &pending[i + 1], (size_t)(pending_count - i) * sizeof pending[0]);
}

/**
 * Writes the exits of the threads already gone; with `wait`, first waits (the lock released, ≤ 20 ms after each
 * was marked) for the others, so that the call about to be recorded runs after them, as its record will stand.
 * Under the lock; the calling thread's own exit stays pending (its last frees are still to come).
 */
static void settle_exits(int wait) {
    pid_t me = current_tid();
    for (int i = 0; i < pending_count;) {
        if (pending[i].tid == me) { i++; continue; }
        if (!thread_gone(pending[i].tid) && wait && now_ns() - pending[i].since < EXIT_WAIT_NS) {
            pthread_mutex_unlock(&lock);
            struct timespec nap = { 0, 50000 };
            nanosleep(&nap, NULL);
            pthread_mutex_lock(&lock);
            i = 0; /* other threads ran meanwhile */
            continue;
        }
        if (state == RECORDING && out_fd >= 0) put_exit_line(pending[i].tid);
        forget_pending(i);
    }
}

/** The thread-specific value's destructor: the thread is ending; its exit is written once it is gone. */
static void thread_ends(void *value) {
    (void)value;
    busy = 1;
    pthread_mutex_lock(&lock);
    if (pending_count == PENDING_EXITS) settle_exits(0);
    if (pending_count < PENDING_EXITS) {
        pending[pending_count].tid = current_tid();
        pending[pending_count].since = now_ns();
        pending_count++;
    }
    pthread_mutex_unlock(&lock);
    busy = 0;
}

/** Gives this thread the value whose destructor marks its exit (the key is below 32: setting it never allocates). */
static void watch_exit(void) {
    if (exit_key_ready) pthread_setspecific(exit_key, (void *)1);
}

/** The new thread's first words: "# thread-start <tid> parent=<tid> seq=N". */
static void thread_begins(pid_t parent) {
    busy = 1;
    pthread_mutex_lock(&lock);
    if (state == UNINITIALISED) initialise();
    pid_t tid = current_tid();
    if (state == RECORDING && out_fd >= 0) {
        put_str("# thread-start ");
        put_dec((unsigned long)tid);
        put_str(" parent=");
        put_dec((unsigned long)parent);
        put_str(" seq=");
        put_dec(seq);
        end_record();
    }
    pthread_mutex_unlock(&lock);
    busy = 0;
}

/* What a new thread needs before it runs the program's function; a slot is free again once the thread read it. */
#define START_SLOTS 256
struct start_slot {
    void *(*function)(void *);
    void *arg;
    pid_t parent;
    int taken;
};
static struct start_slot start_slots[START_SLOTS];

static void *thread_start(void *slot_address) {
    struct start_slot *slot = slot_address;
    void *(*function)(void *) = slot->function;
    void *arg = slot->arg;
    pid_t parent = slot->parent;
    __atomic_store_n(&slot->taken, 0, __ATOMIC_RELEASE);
    thread_begins(parent);
    return function(arg);
}

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

/** Creates the thread through a start that writes its thread-start line (directly when every slot is taken). */
int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*function)(void *), void *arg) {
    static pthread_create_fn real;
    if (!real) real = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
    for (int i = 0; i < START_SLOTS; i++) {
        int free_slot = 0;
        if (!__atomic_compare_exchange_n(&start_slots[i].taken, &free_slot, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            continue;
        start_slots[i].function = function;
        start_slots[i].arg = arg;
        start_slots[i].parent = gettid();
        int status = real(thread, attr, thread_start, &start_slots[i]);
        if (status != 0) __atomic_store_n(&start_slots[i].taken, 0, __ATOMIC_RELEASE);
        return status;
    }
    return real(thread, attr, function, arg);
}

/* ───────────────────────────── dying processes ───────────────────────────── */

/** Writes the whole records and "# <what> seq=N" without the lock: the process ends next, and may hold it. */
static void last_words(const char *what, int number) {
    if (state != RECORDING || out_fd < 0 || getpid() != pid) return;
    int saved = errno;
    used = complete;
    for (int i = 0; i < pending_count; i++) {
        if (!thread_gone(pending[i].tid)) continue;
        if (used > BUFFER_BYTES - RECORD_MAX) flush();
        put_str("# thread-exit ");
        put_dec((unsigned long)pending[i].tid);
        put_str(" seq=");
        put_dec(seq);
        put_char('\n');
    }
    if (used > BUFFER_BYTES - RECORD_MAX) flush();
    put_str(what);
    if (number >= 0) { put_dec((unsigned long)number); put_char(' '); }
    put_str("seq=");
    put_dec(seq);
    put_char('\n');
    flush();
    errno = saved;
}

static void on_fatal_signal(int sig) {
    last_words("# signal ", sig);
    /* SA_RESETHAND restored the default action and SA_NODEFER lets it through at once. */
    raise(sig);
}

/** Catches the signals that kill a process by default, unless the program has its own handler for them. */
static void catch_fatal_signals(void) {
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGQUIT, SIGTERM, SIGINT,
                                 SIGHUP, SIGPIPE, SIGALRM, SIGXCPU, SIGXFSZ, SIGUSR1, SIGUSR2 };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
        struct sigaction old;
        if (sigaction(fatal[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO)) continue;
        struct sigaction on = { 0 };
        on.sa_handler = on_fatal_signal;
        on.sa_flags = SA_RESETHAND | SA_NODEFER | SA_ONSTACK;
        sigemptyset(&on.sa_mask);
        sigaction(fatal[i], &on, NULL);
    }
}

/** _exit runs no destructor: the records still buffered are written here. */
void _exit(int status) {
    write_modules(0);
    last_words("# exit ", -1);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

void _Exit(int status) { _exit(status); }

static void before_fork(void) {
    pthread_mutex_lock(&lock);
    if (state == RECORDING) flush();
}

static void after_fork_parent(void) { pthread_mutex_unlock(&lock); }

static void after_fork_child(void) {
    pthread_mutex_init(&lock, NULL);
    cached_tid = 0;
    pending_count = 0; /* the child has no other thread: none of them ends in it */
    if (state != RECORDING) return;
    pid_t parent = pid;
    pid = getpid();
    generation = 0;
    forget_sites();
    if (out_fd >= 0) close(out_fd);
    out_fd = -1;
    char parent_path[sizeof path];
    memcpy(parent_path, path, sizeof path);
    start_file(parent, parent_path, seq);
}

/** First call: read the environment and open the file. Runs under the lock, with `busy` set. */
static void initialise(void) {
    const char *target = getenv("HEAPLAB_RECORD");
    if (!target || !*target || strlen(target) >= sizeof base_path) { state = FORWARDING; return; }
    append(base_path, sizeof base_path, target);
    flush_every = env_number("HEAPLAB_RECORD_FLUSH", flush_every);
    if (!flush_every) flush_every = 1;
    site_frames = (unsigned)env_number("HEAPLAB_RECORD_SITES", 0);
    if (site_frames > SITE_FRAMES_MAX) site_frames = SITE_FRAMES_MAX;
    pid = getpid();
    generation = exec_generation();
    state = RECORDING;
    start_file(getppid(), NULL, 0);
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    catch_fatal_signals();
    /* A key of the static block (below 32): pthread_setspecific stores its values without allocating. */
    exit_key_ready = pthread_key_create(&exit_key, thread_ends) == 0 && exit_key < 32;
}

/* Every wrapper: forward at once when re-entered; otherwise lock, call, record, unlock. */
#define ENTER()                                                   \
    busy = 1;                                                     \
    pthread_mutex_lock(&lock);                                    \
    if (state == UNINITIALISED) initialise();                     \
    if (pending_count) settle_exits(1);                           \
    const int recording = state == RECORDING && out_fd >= 0
#define LEAVE()                                                   \
    pthread_mutex_unlock(&lock);                                  \
    busy = 0

/* ───────────────────────────── the allocator calls ───────────────────────────── */

/**
 * The call site of the allocating call whose wrapper returns to `ret`, for a record about to be written; 0 when
 * call sites are not recorded. Under the lock, `busy` set (backtrace loads libgcc on first use, which allocates).
 */
static uint32_t site_here(void *ret) {
    if (!site_frames) return 0;
    void *stack[SITE_FRAMES_MAX];
    return site_of(stack, capture_stack(stack, ret));
}

static void put_site(uint32_t site) {
    if (!site) return;
    put_str(" site=");
    put_dec(site);
}

void *malloc(size_t n) {
    if (busy) return __libc_malloc(n);
    ENTER();
    void *p = __libc_malloc(n);
    if (recording) {
        uint32_t site = site_here(__builtin_return_address(0));
        begin_record('m'); put_arg_dec(n); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    return p;
}

void free(void *p) {
    if (busy) { __libc_free(p); return; }
    ENTER();
    /* Recorded before the call (a free has no result): a free that glibc aborts on, a double free, is then in the
       file the signal handler writes, and its replay stops where the program did. */
    if (recording) { begin_record('f'); put_arg_hex(p); end_record(); }
    __libc_free(p);
    LEAVE();
}

void *calloc(size_t n, size_t size) {
    if (busy) return __libc_calloc(n, size);
    ENTER();
    void *p = __libc_calloc(n, size);
    if (recording) {
        uint32_t site = site_here(__builtin_return_address(0));
        begin_record('c'); put_arg_dec(n); put_arg_dec(size); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    return p;
}

/** realloc for a caller that returns to `ret` (realloc and reallocarray). */
static void *realloc_from(void *old, size_t n, void *ret) {
    if (busy) return __libc_realloc(old, n);
    ENTER();
    void *p = __libc_realloc(old, n);
    if (recording) {
        uint32_t site = n ? site_here(ret) : 0;
        begin_record('r'); put_arg_hex(old); put_arg_dec(n); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    return p;
}

void *realloc(void *old, size_t n) { return realloc_from(old, n, __builtin_return_address(0)); }

void *reallocarray(void *old, size_t n, size_t size) {
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_from(old, bytes, __builtin_return_address(0));
}

static void *aligned(char op, size_t align, size_t n, void *ret) {
    if (busy) return __libc_memalign(align, n);
    ENTER();
    void *p = __libc_memalign(align, n);
    if (recording) {
        uint32_t site = site_here(ret);
        begin_record(op); put_arg_dec(align); put_arg_dec(n); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    return p;
}

void *memalign(size_t align, size_t n) { return aligned('a', align, n, __builtin_return_address(0)); }

void *aligned_alloc(size_t align, size_t n) { return aligned('A', align, n, __builtin_return_address(0)); }

int posix_memalign(void **out, size_t align, size_t n) {
    int valid = align % sizeof(void *) == 0 && align != 0 && (align & (align - 1)) == 0;
    if (busy) {
        if (!valid) return EINVAL;
        void *p = __libc_memalign(align, n);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    ENTER();
    void *p = valid ? __libc_memalign(align, n) : NULL;
    if (recording) {
        uint32_t site = site_here(__builtin_return_address(0));
        begin_record('P'); put_arg_dec(align); put_arg_dec(n); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    if (!valid) return EINVAL;
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

static void *page_aligned(char op, size_t n, void *ret) {
    if (busy) return op == 'v' ? __libc_valloc(n) : __libc_pvalloc(n);
    ENTER();
    void *p = op == 'v' ? __libc_valloc(n) : __libc_pvalloc(n);
    if (recording) {
        uint32_t site = site_here(ret);
        begin_record(op); put_arg_dec(n); put_arg_hex(p); put_site(site); end_record();
    }
    LEAVE();
    return p;
}

void *valloc(size_t n) { return page_aligned('v', n, __builtin_return_address(0)); }

void *pvalloc(size_t n) { return page_aligned('V', n, __builtin_return_address(0)); }

int malloc_trim(size_t pad) {
    if (!real_trim) real_trim = (int (*)(size_t))dlsym(RTLD_NEXT, "malloc_trim");
    if (busy) return real_trim ? real_trim(pad) : 0;
    ENTER();
    int released = real_trim ? real_trim(pad) : 0;
    if (recording) { begin_record('t'); put_arg_dec(pad); put_arg_dec((unsigned long)released); end_record(); }
    LEAVE();
    return released;
}

/* ───────────────────────────── main, exit, exec ───────────────────────────── */

static int (*real_main)(int, char **, char **);

static void comment(const char *what) {
    busy = 1;
    pthread_mutex_lock(&lock);
    if (state == UNINITIALISED) initialise();
    if (pending_count) settle_exits(1);
    if (state == RECORDING && out_fd >= 0) {
        put_str(what);
        put_dec(seq);
        put_char('\n');
        flush();
    }
    pthread_mutex_unlock(&lock);
    busy = 0;
}

static int main_hook(int argc, char **argv, char **envp) {
    comment("# main seq=");
    return real_main(argc, argv, envp);
}

int __libc_start_main(int (*main)(int, char **, char **), int argc, char **argv, void (*init)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end) {
    int (*start)(int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void), void (*)(void), void *) =
        dlsym(RTLD_NEXT, "__libc_start_main");
    real_main = main;
    return start(main_hook, argc, argv, init, fini, rtld_fini, stack_end);
}

__attribute__((destructor)) static void at_exit(void) {
    write_modules(1);
    comment("# exit seq=");
    write_through = 1;
}

/** Flushes before this image is replaced and names the next image's file generation in `env`. */
static char **prepare_exec(char *const env[], char **copy) {
    /* A vfork child shares this image's memory but not its pid: it leaves the parent's file alone. */
    int same_process = state != RECORDING || getpid() == pid;
    if (same_process) {
        write_modules(1);
        comment("# exec seq=");
    }
    exec_env[0] = 0;
    append(exec_env, sizeof exec_env, "HEAPLAB_RECORD_EXEC=");
    append_number(exec_env, sizeof exec_env, (unsigned long)getpid());
    append(exec_env, sizeof exec_env, ".");
    append_number(exec_env, sizeof exec_env, same_process ? (unsigned long)generation + 1 : 1);
    size_t k = 0;
    for (size_t i = 0; env && env[i]; i++) {
        if (strncmp(env[i], "HEAPLAB_RECORD_EXEC=", 20) != 0) copy[k++] = env[i];
    }
    copy[k++] = exec_env;
    copy[k] = NULL;
    return copy;
}

static size_t env_count(char *const env[]) {
    size_t n = 0;
    while (env && env[n]) n++;
    return n;
}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);

int execve(const char *file, char *const argv[], char *const envp[]) {
    execve_fn real = (execve_fn)dlsym(RTLD_NEXT, "execve");
    char *copy[env_count(envp) + 2];
    return real(file, argv, prepare_exec(envp, copy));
}

int execv(const char *file, char *const argv[]) {
    execve_fn real = (execve_fn)dlsym(RTLD_NEXT, "execve");
    char *copy[env_count(environ) + 2];
    return real(file, argv, prepare_exec(environ, copy));
}

int execvpe(const char *file, char *const argv[], char *const envp[]) {
    execve_fn real = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
    char *copy[env_count(envp) + 2];
    return real(file, argv, prepare_exec(envp, copy));
}

int execvp(const char *file, char *const argv[]) {
    execve_fn real = (execve_fn)dlsym(RTLD_NEXT, "execvpe");
    char *copy[env_count(environ) + 2];
    return real(file, argv, prepare_exec(environ, copy));
}
