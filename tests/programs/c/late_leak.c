/* Ground truth: a leak that starts mid-run. The first half frees what it allocates. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* every request also allocates and frees a scratch buffer, as real services do */
static void tick(void) {
    char *scratch = malloc(256);
    scratch[0] = 1;
    free(scratch);
}

static void handle(int i) {
    char *buf = malloc(2000);
    memset(buf, i, 2000);
    if (i < 150)
        free(buf);
}

int main(void) {
    for (int i = 0; i < 300; i++) {
        handle(i);
        tick();
        usleep(2000);
    }
    return 0;
}
