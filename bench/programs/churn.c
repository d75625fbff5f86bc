/* A C program of about 2 million allocator calls from a handful of call paths: nodes of linked lists built and torn
   down, strings grown by realloc, a table of calloc'd rows. The recording benchmark's C workload. */
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; char payload[40]; };

__attribute__((noinline)) static struct node *push(struct node *head, int i) {
    struct node *n = malloc(sizeof *n + (size_t)(i % 64));
    n->next = head;
    n->payload[0] = (char)i;
    return n;
}

__attribute__((noinline)) static char *grow(char *s, size_t n) { return realloc(s, n); }

__attribute__((noinline)) static void drop(struct node *head) {
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
}

int main(void) {
    unsigned long checksum = 0;
    for (int round = 0; round < 200; round++) {
        struct node *list = NULL;
        for (int i = 0; i < 3000; i++) list = push(list, i + round);
        char *s = NULL;
        for (int k = 1; k <= 1000; k++) {
            s = grow(s, (size_t)k * 24);
            s[0] = (char)k;
        }
        int **rows = calloc(1000, sizeof *rows);
        for (int r = 0; r < 1000; r++) rows[r] = calloc((size_t)(1 + r % 16), sizeof **rows);
        for (int r = 0; r < 1000; r++) free(rows[r]);
        free(rows);
        checksum += (unsigned long)s[0] + (unsigned long)list->payload[0];
        free(s);
        drop(list);
    }
    return (int)(checksum & 1);
}
