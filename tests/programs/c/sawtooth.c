/* Ground truth: a saw-tooth. A batch grows to 10 buffers, is flushed, and grows again. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* every request also allocates and frees a scratch buffer, as real services do */
static void tick(void) {
    char *scratch = malloc(256);
    scratch[0] = 1;
    free(scratch);
}

static char *batch[10];
static int count;

static void add(int i) {
    batch[count] = malloc(2000);
    memset(batch[count], i, 2000);
    if (++count == 10) {
        while (count > 0)
            free(batch[--count]);
    }
}

int main(void) {
    for (int i = 0; i < 300; i++) {
        add(i);
        tick();
        usleep(2000);
    }
    while (count > 0)
        free(batch[--count]);
    return 0;
}
