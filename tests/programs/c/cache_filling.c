/* Ground truth: a bounded cache filling up (logarithmic): 90 slots, then only hits. The cache
   is still reachable at exit, as most programs leave their caches: not a leak. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* every request also allocates and frees a scratch buffer, as real services do */
static void tick(void) {
    char *scratch = malloc(256);
    scratch[0] = 1;
    free(scratch);
}

#define SLOTS 90
static char *cache[SLOTS];

static char *lookup(int i) {
    int key = i % SLOTS;
    if (!cache[key]) {
        cache[key] = malloc(2000);
        memset(cache[key], key, 2000);
    }
    return cache[key];
}

int main(void) {
    for (int i = 0; i < 300; i++) {
        lookup(i);
        tick();
        usleep(2000);
    }
    return 0;
}
