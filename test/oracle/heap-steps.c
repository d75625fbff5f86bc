/*
 * heap-steps: runs a step script of the exploitation lab (docs/exploitation.md) on the real glibc 2.36 of this
 * process and prints what every step did, in the lines src/exploit/steps.ts prints for the model:
 *
 *   <line>: <name> = <value>          malloc, calloc, realloc, read64 and let
 *   <line>: <address>: <word> <word>  read, 16 bytes a line
 *   <line>: abort <message>           glibc's own message (malloc_printerr → abort), caught from stderr
 *   <line>: segv                      the step faulted (SIGSEGV or SIGBUS)
 *   <line>: expect ok | expect FAILED …
 *   <line>: error <name> is unset     a name whose step failed
 *
 * Values print as region+0x… (heap, main_arena, mp_, stack) or 0x…; the tcache key, learned from the first chunk
 * seen entering the tcache, prints as <key>; a word read that is a safe-linked pointer to a region prints as
 * protected(region+0x…). Header lines first: "# heap 0x…", "# main_arena 0x…", "# mp_ 0x…",
 * "# stack 0x…".
 *
 * Run it under `setarch -R` (no ASLR) so that libc, the heap and the stack sit where the model puts them. Where the
 * personality cannot be set (a container's seccomp filter), it runs with ASLR: values still print relative to
 * their regions, the model's heap starts at this run's "# heap", and the script's stack is a mapping at the
 * stack's no-ASLR address (where the randomized stack is not). The heap
 * must be empty when the first step runs, so nothing here calls malloc or stdio: the script and the output live
 * in mmapped buffers and output goes out with write(2). After an abort the step's longjmp leaves glibc's heap as
 * the abort found it, and the script goes on.
 *
 * Usage: heap-steps [--stack 0x…] <script>     (--stack: the address the script's `stack` names)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <unistd.h>

typedef uint64_t u64;

/* ───────────────────────────── output without malloc ───────────────────────────── */

static char *out;
static size_t out_len, out_cap;

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(1, out + done, out_len - done);
    if (n <= 0) _exit(3);
    done += (size_t)n;
  }
  out_len = 0;
}

static void put(const char *s) {
  size_t n = strlen(s);
  if (out_len + n > out_cap) flush_out();
  memcpy(out + out_len, s, n);
  out_len += n;
}

static void put_hex(u64 v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do { buf[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
  buf[--i] = 'x';
  buf[--i] = '0';
  put(buf + i);
}

static void put_dec(u64 v) {
  char buf[24];
  int i = 23;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v);
  put(buf + i);
}

static void fail(const char *what) {
  flush_out();
  write(2, "heap-steps: ", 12);
  write(2, what, strlen(what));
  write(2, "\n", 1);
  _exit(2);
}

/* ───────────────────────────── regions and symbols ───────────────────────────── */

struct region { const char *name; u64 start, size, origin; };
static struct region regions[6];
static int region_count;
static u64 heap_base, main_arena, mp_, stack_base, tcache_key;
static int key_known;

/* sizeof(struct malloc_state), offsetof(struct malloc_state, next), sizeof(struct malloc_par) in glibc 2.36. */
#define MALLOC_STATE_SIZE 0x898
#define ARENA_NEXT 0x870
#define MALLOC_PAR_SIZE 0x88

static void put_value(u64 v) {
  if (key_known && v == tcache_key) { put("<key>"); return; }
  for (int i = 0; i < region_count; i++) {
    struct region *r = &regions[i];
    if (v >= r->start && v - r->start < r->size) {
      put(r->name);
      if (v > r->origin) { put("+"); put_hex(v - r->origin); }
      if (v < r->origin) { put("-"); put_hex(r->origin - v); }
      return;
    }
  }
  put_hex(v);
}

/* Whether a value prints as a region (or the key), not as bare hex. */
static int named(u64 v) {
  if (key_known && v == tcache_key) return 1;
  for (int i = 0; i < region_count; i++) if (v >= regions[i].start && v - regions[i].start < regions[i].size) return 1;
  return 0;
}

/* A word read at `address`: named, or a safe-linked pointer to a named place (its slot's address >> 12 xor it). */
static void put_word(u64 v, u64 address) {
  u64 revealed = v ^ (address >> 12);
  if (named(v) || !named(revealed)) { put_value(v); return; }
  put("protected(");
  put_value(revealed);
  put(")");
}

/*
 * main_arena and mp_ are static in libc: found in its writable segments by their initial values, before the first
 * malloc. main_arena.next points at main_arena itself; mp_ holds the default thresholds (128 KiB trim threshold,
 * top pad and mmap threshold) and tcache settings (64 bins, 1032 bytes, 7 chunks).
 */
static int find_statics(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size; (void)data;
  if (!strstr(info->dlpi_name, "libc.so")) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
    u64 start = (info->dlpi_addr + ph->p_vaddr + 7) & ~7ULL, end = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    for (u64 x = start; x + MALLOC_STATE_SIZE <= end; x += 8) {
      const u64 *w = (const u64 *)x;
      if (!main_arena && w[ARENA_NEXT / 8] == x) main_arena = x;
      if (!mp_ && w[0] == 0x20000 && w[1] == 0x20000 && w[2] == 0x20000 && w[0x68 / 8] == 64 &&
          w[0x70 / 8] == 0x408 && w[0x78 / 8] == 7) mp_ = x;
    }
  }
  return 1;
}

static void add_region(const char *name, u64 start, u64 size) {
  if (start) regions[region_count++] = (struct region){ name, start, size, start };
}

/* ───────────────────────────── faults ───────────────────────────── */

static sigjmp_buf on_fault;
static int stderr_pipe;
static char message[512];

static void caught(int sig) {
  siglongjmp(on_fault, sig == SIGABRT ? 1 : 2);
}

/* glibc's message (malloc_printerr writes "<message>\n" to stderr), without its newline. */
static void take_message(void) {
  ssize_t n = read(stderr_pipe, message, sizeof message - 1);
  if (n < 0) n = 0;
  while (n > 0 && message[n - 1] == '\n') n--;
  message[n] = 0;
}

/* ───────────────────────────── expressions ───────────────────────────── */

#define MAX_NAMES 128
static char names[MAX_NAMES][32];
static u64 values[MAX_NAMES];
static int set[MAX_NAMES], name_count;
static const char *unset_name;

static int name_slot(const char *s, size_t n, int create) {
  for (int i = 0; i < name_count; i++) if (strlen(names[i]) == n && !memcmp(names[i], s, n)) return i;
  if (!create) return -1;
  if (name_count == MAX_NAMES || n >= sizeof names[0]) fail("too many or too long names");
  memcpy(names[name_count], s, n);
  names[name_count][n] = 0;
  return name_count++;
}

static int symbol(const char *s, size_t n, u64 *v) {
#define IS(lit) (n == sizeof lit - 1 && !memcmp(s, lit, n))
  if (IS("heap")) { *v = heap_base; return 1; }
  if (IS("tcache")) { *v = heap_base + 0x10; return 1; }
  if (IS("main_arena") && main_arena) { *v = main_arena; return 1; }
  if (IS("mp_") && mp_) { *v = mp_; return 1; }
  if (IS("stack")) { *v = stack_base; return 1; }
  return 0;
#undef IS
}

static const char *ex;   /* the expression text being evaluated */
static const char *ex_end;
static char unset_buf[40];

static void skip(void) { while (ex < ex_end && (*ex == ' ' || *ex == '\t')) ex++; }
static int is_name_char(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
static u64 expr(int min);

static u64 primary(void) {
  skip();
  if (ex >= ex_end) fail("expression ends too soon");
  char c = *ex;
  if (c == '(') { ex++; u64 v = expr(0); skip(); ex++; return v; }
  if (c == '-') { ex++; return -primary(); }
  if (c == '~') { ex++; return ~primary(); }
  if (c >= '0' && c <= '9') {
    u64 v = 0;
    if (c == '0' && ex + 1 < ex_end && (ex[1] == 'x' || ex[1] == 'X')) {
      for (ex += 2; ex < ex_end; ex++) {
        char d = *ex;
        int digit = d >= '0' && d <= '9' ? d - '0' : d >= 'a' && d <= 'f' ? d - 'a' + 10 : d >= 'A' && d <= 'F' ? d - 'A' + 10 : -1;
        if (digit < 0) break;
        v = v * 16 + (u64)digit;
      }
    } else {
      for (; ex < ex_end && *ex >= '0' && *ex <= '9'; ex++) v = v * 10 + (u64)(*ex - '0');
    }
    return v;
  }
  const char *start = ex;
  while (ex < ex_end && is_name_char(*ex)) ex++;
  size_t n = (size_t)(ex - start);
  if (n == 0) fail("unexpected character in an expression");
  if ((n == 7 && !memcmp(start, "protect", 7)) || (n == 6 && !memcmp(start, "reveal", 6))) {
    skip(); ex++;                 /* ( */
    u64 position = expr(0);
    skip(); ex++;                 /* , */
    u64 pointer = expr(0);
    skip(); ex++;                 /* ) */
    return (position >> 12) ^ pointer;
  }
  int slot = name_slot(start, n, 0);
  if (slot >= 0 && set[slot]) return values[slot];
  u64 v;
  if (slot < 0 && symbol(start, n, &v)) return v;
  if (!unset_name) {
    size_t k = n < sizeof unset_buf - 1 ? n : sizeof unset_buf - 1;
    memcpy(unset_buf, start, k);
    unset_buf[k] = 0;
    unset_name = unset_buf;
  }
  return 0;
}

/* The binary operator at ex and its precedence (C's: | ^ & << >> + - *), or 0. */
static int binary_op(int *len) {
  skip();
  if (ex >= ex_end) return 0;
  *len = 1;
  switch (*ex) {
    case '|': return 1;
    case '^': return 2;
    case '&': return 3;
    case '<': case '>': *len = 2; return ex + 1 < ex_end && ex[1] == ex[0] ? 4 : 0;
    case '+': case '-': return 5;
    case '*': return 6;
  }
  return 0;
}

static u64 expr(int min) {
  u64 left = primary();
  for (;;) {
    int len, p = binary_op(&len);
    if (!p || p <= min) return left;
    char op = *ex;
    ex += len;
    u64 right = expr(p);
    switch (op) {
      case '|': left |= right; break;
      case '^': left ^= right; break;
      case '&': left &= right; break;
      case '<': left = right >= 64 ? 0 : left << right; break;
      case '>': left = right >= 64 ? 0 : left >> right; break;
      case '+': left += right; break;
      case '-': left -= right; break;
      case '*': left *= right; break;
    }
  }
}

static u64 eval(const char *s, const char *end) {
  ex = s;
  ex_end = end;
  return expr(0);
}

/* ───────────────────────────── statements ───────────────────────────── */

#define MAX_ARGS 80
struct arg { const char *s, *e; };

/* Splits at whitespace outside parentheses, as the TypeScript parser does. */
static int split(const char *s, const char *end, struct arg *args) {
  int n = 0, depth = 0;
  const char *start = NULL;
  for (const char *p = s; p <= end; p++) {
    int space = p == end || ((*p == ' ' || *p == '\t') && depth == 0);
    if (p < end && *p == '(') depth++;
    if (p < end && *p == ')') depth--;
    if (space) {
      if (start) {
        if (n == MAX_ARGS) fail("too many arguments");
        args[n++] = (struct arg){ start, p };
      }
      start = NULL;
    } else if (!start) start = p;
  }
  return n;
}

static int word_is(struct arg a, const char *w) {
  return (size_t)(a.e - a.s) == strlen(w) && !memcmp(a.s, w, strlen(w));
}

static void *(*volatile do_malloc)(size_t) = malloc;
static void *(*volatile do_calloc)(size_t, size_t) = calloc;
static void *(*volatile do_realloc)(void *, size_t) = realloc;
static void (*volatile do_free)(void *) = free;

static int line_no;
static int last_outcome;   /* 0 ok, 1 abort, 2 segv, 3 unset */
static char last_message[512];

static void begin_line(void) { put_dec((u64)line_no); put(": "); }

static u64 load64(u64 address) { return *(volatile u64 *)address; }

/* The first block returned in an mmapped chunk (IS_MMAPPED in its size) becomes the mmap region's origin,
   spanning 256 MiB below it and 16 MiB above (src/exploit/target.ts). */
static void anchor_mmap(u64 p) {
  static int anchored;
  if (anchored || !p || named(p) || sigsetjmp(on_fault, 1)) return;
  if (!(load64(p - 8) & 2)) return;
  anchored = 1;
  regions[region_count++] = (struct region){ "mmap", p - (1ULL << 28), (1ULL << 28) + (1ULL << 24), p };
}

static void bind(struct arg name, u64 v) {
  int slot = name_slot(name.s, (size_t)(name.e - name.s), 1);
  values[slot] = v;
  set[slot] = 1;
  begin_line();
  put(names[slot]);
  put(" = ");
  put_value(v);
  put("\n");
}


static u64 tcache_head(u64 index) { return load64(heap_base + 0x10 + 0x80 + 8 * index); }

static void learn_from(u64 chunk) {
  u64 key = load64(chunk + 8);
  if (key) { tcache_key = key; key_known = 1; }
}

/* Until the tcache key is known, it is read from the second word of a chunk just entering the tcache: the one a
   free put at the head of its bin, or (after any step, for sysmalloc's free of the old top) the head of a bin
   inside the heap. Heads a script set itself are passed over: they are outside the heap, or their word is 0. */
static void learn_key(u64 freed, int after_free) {
  if (key_known || sigsetjmp(on_fault, 1)) return;
  if (after_free) {
    u64 size = load64(freed - 8) & ~7ULL, index = (size - 0x11) / 0x10;
    if (size >= 0x20 && index < 64 && tcache_head(index) == freed) learn_from(freed);
  }
  for (u64 index = 0; index < 64 && !key_known; index++) {
    u64 chunk = tcache_head(index);
    if (chunk > heap_base + 0x10 && chunk - heap_base < (1ULL << 32)) learn_from(chunk);
  }
}

static void put_got(void) {
  if (last_outcome == 1) { put("abort \""); put(last_message); put("\""); }
  else if (last_outcome == 2) put("segv");
  else put("no fault");
}

static void expectation(const char *s, const char *end) {
  struct arg a[MAX_ARGS];
  int n = split(s, end, a);
  begin_line();
  if (n >= 2 && word_is(a[1], "abort")) {
    const char *q1 = memchr(s, '"', (size_t)(end - s));
    const char *q2 = q1 ? memchr(q1 + 1, '"', (size_t)(end - q1 - 1)) : NULL;
    if (!q2) fail("expect abort wants a quoted message");
    size_t len = (size_t)(q2 - q1 - 1);
    int ok = last_outcome == 1 && strlen(last_message) == len && !memcmp(last_message, q1 + 1, len);
    if (ok) put("expect ok\n"); else { put("expect FAILED got "); put_got(); put("\n"); }
    return;
  }
  if (n == 2 && word_is(a[1], "segv")) {
    if (last_outcome == 2) put("expect ok\n"); else { put("expect FAILED got "); put_got(); put("\n"); }
    return;
  }
  if (n != 4) fail("bad expect");
  unset_name = NULL;
  u64 left = eval(a[1].s, a[1].e), right = eval(a[3].s, a[3].e);
  if (unset_name) { put("error "); put(unset_name); put(" is unset\n"); return; }
  int equal = left == right, want = word_is(a[2], "==");
  if (equal == want) put("expect ok\n");
  else { put("expect FAILED "); put_value(left); put(" "); put_value(right); put("\n"); }
}

#define SCRATCH (1 << 16)
static unsigned char *scratch;

static void statement(const char *s, const char *end) {
  struct arg a[MAX_ARGS];
  int n = split(s, end, a);
  if (n == 0) return;
  if (word_is(a[0], "expect")) { expectation(s, end); return; }
  unset_name = NULL;
  int fault = sigsetjmp(on_fault, 1);
  if (fault) {
    begin_line();
    if (fault == 1) {
      take_message();
      put("abort ");
      put(message);
      memcpy(last_message, message, sizeof message);
    } else put("segv");
    put("\n");
    last_outcome = fault;
    return;
  }
  /* NAME = verb args… ; "let NAME = EXPR" has the name second. */
  if (n >= 3 && word_is(a[1], "=") && !word_is(a[0], "let")) {
    struct arg name = a[0], verb = a[2];
    u64 x = n > 3 ? eval(a[3].s, a[3].e) : 0, y = n > 4 ? eval(a[4].s, a[4].e) : 0;
    if (unset_name) goto unset;
    u64 v;
    if (word_is(verb, "malloc")) v = (u64)do_malloc(x);
    else if (word_is(verb, "calloc")) v = n == 4 ? (u64)do_calloc(1, x) : (u64)do_calloc(x, y);
    else if (word_is(verb, "realloc")) v = (u64)do_realloc((void *)x, y);
    else if (word_is(verb, "read64")) v = load64(x);
    else fail("unknown operation");
    if (!word_is(verb, "read64")) anchor_mmap(v);
    bind(name, v);
  } else if (word_is(a[0], "let")) {
    /* let NAME = EXPR: the expression is the rest of the line after '='. */
    const char *eq = memchr(s, '=', (size_t)(end - s));
    u64 v = eval(eq + 1, end);
    if (unset_name) goto unset;
    bind(a[1], v);
  } else if (word_is(a[0], "free")) {
    u64 p = eval(a[1].s, a[1].e);
    if (unset_name) goto unset;
    do_free((void *)p);
    learn_key(p, 1);
  } else if (word_is(a[0], "write64") || word_is(a[0], "write32") || word_is(a[0], "write16") ||
             word_is(a[0], "write8")) {
    u64 address = eval(a[1].s, a[1].e), v = eval(a[2].s, a[2].e);
    if (unset_name) goto unset;
    /* The low bytes of the value, little-endian: a partial overwrite for the narrow ones. */
    int bytes = word_is(a[0], "write64") ? 8 : word_is(a[0], "write32") ? 4 : word_is(a[0], "write16") ? 2 : 1;
    for (int i = 0; i < bytes; i++) *(volatile unsigned char *)(address + (u64)i) = (unsigned char)(v >> (8 * i));
  } else if (word_is(a[0], "write")) {
    u64 address = eval(a[1].s, a[1].e);
    if (unset_name) goto unset;
    for (int i = 2; i < n; i++) {
      unsigned hi = (unsigned)(a[i].s[0] <= '9' ? a[i].s[0] - '0' : (a[i].s[0] | 32) - 'a' + 10);
      unsigned lo = (unsigned)(a[i].s[1] <= '9' ? a[i].s[1] - '0' : (a[i].s[1] | 32) - 'a' + 10);
      *(volatile unsigned char *)(address + (u64)(i - 2)) = (unsigned char)(hi * 16 + lo);
    }
  } else if (word_is(a[0], "fill")) {
    u64 address = eval(a[1].s, a[1].e), length = eval(a[2].s, a[2].e), byte = eval(a[3].s, a[3].e);
    if (unset_name) goto unset;
    for (u64 i = 0; i < length; i++) *(volatile unsigned char *)(address + i) = (unsigned char)byte;
  } else if (word_is(a[0], "read")) {
    u64 address = eval(a[1].s, a[1].e), length = eval(a[2].s, a[2].e);
    if (unset_name) goto unset;
    if (length > SCRATCH) fail("read: at most 64 KiB");
    for (u64 i = 0; i < length; i++) scratch[i] = *(volatile unsigned char *)(address + i);
    for (u64 at = 0; at < length; at += 16) {
      begin_line();
      put_value(address + at);
      put(":");
      for (u64 w = at; w < at + 16 && w < length; w += 8) {
        if (w + 8 <= length) {
          u64 v;
          memcpy(&v, scratch + w, 8);
          put(" ");
          put_word(v, address + w);
        } else {
          for (u64 b = w; b < length; b++) { put(" "); put_hex(scratch[b]); }
        }
      }
      put("\n");
    }
  } else fail("unknown statement");
  last_outcome = 0;
  learn_key(0, 0);
  return;
unset:
  begin_line();
  put("error ");
  put(unset_name);
  put(" is unset\n");
  last_outcome = 3;
}

/* Ends a line at '#' outside quotes, as the TypeScript parser does. */
static const char *comment_start(const char *s, const char *end) {
  int quoted = 0;
  for (const char *p = s; p < end; p++) {
    if (*p == '"') quoted = !quoted;
    else if (*p == '#' && !quoted) return p;
  }
  return end;
}

static const char *eol_of(const char *line, const char *end) {
  const char *eol = memchr(line, '\n', (size_t)(end - line));
  return eol ? eol : end;
}

/* Big buffers are mapped, not static: the .bss would move the initial break, where the heap starts. */
static void *map(size_t bytes) {
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) fail("out of memory");
  return p;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  stack_base = 0x7ffffffde000ULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--stack") && i + 1 < argc) stack_base = strtoull(argv[++i], NULL, 0);
    else path = argv[i];
  }
  if (!path) fail("usage: heap-steps [--stack 0x…] <script>");
  out_cap = 1 << 20;
  out = map(out_cap);
  char *script = map(1 << 20);
  scratch = map(SCRATCH);
  int fd = open(path, O_RDONLY);
  if (fd < 0) fail("cannot read the script");
  ssize_t length = 0, got;
  while ((got = read(fd, script + length, (1 << 20) - 1 - (size_t)length)) > 0) length += got;
  close(fd);

  heap_base = (u64)sbrk(0);
  dl_iterate_phdr(find_statics, NULL);
  /* With ASLR the real stack is elsewhere: the script's stack is mapped where it would be without. */
  if (!(personality(0xffffffff) & ADDR_NO_RANDOMIZE) &&
      mmap((void *)stack_base, 0x21000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
        == MAP_FAILED) fail("cannot map the script's stack");
  add_region("heap", heap_base, 1ULL << 32);
  add_region("main_arena", main_arena, MALLOC_STATE_SIZE);
  add_region("mp_", mp_, MALLOC_PAR_SIZE);
  add_region("stack", stack_base, 0x21000);
  put("# heap "); put_hex(heap_base); put("\n");
  put("# main_arena "); put_hex(main_arena); put("\n");
  put("# mp_ "); put_hex(mp_); put("\n");
  put("# stack "); put_hex(stack_base); put("\n");

  /* glibc's abort messages go to stderr: a pipe read back after each abort. */
  int pipe_fds[2];
  if (pipe(pipe_fds) || dup2(pipe_fds[1], 2) < 0) fail("cannot capture stderr");
  fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
  stderr_pipe = pipe_fds[0];
  stack_t ss = { .ss_sp = map(1 << 16), .ss_size = 1 << 16 };
  sigaltstack(&ss, NULL);
  struct sigaction sa = { .sa_handler = caught, .sa_flags = SA_ONSTACK | SA_NODEFER };
  sigaction(SIGABRT, &sa, NULL);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);

  const char *end = script + length;
  for (const char *line = script; line < end; line = eol_of(line, end) + 1) {
    line_no++;
    statement(line, comment_start(line, eol_of(line, end)));
  }
  flush_out();
  return 0;
}
