/* Ground truth: one large block, allocated at start and freed near the end: no leak. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* every request also allocates and frees a scratch buffer, as real services do */
static void tick(void) {
    char *scratch = malloc(256);
    scratch[0] = 1;
    free(scratch);
}

int main(void) {
    char *block = malloc(4000000);
    memset(block, 1, 4000000);
    for (int i = 0; i < 300; i++) {
        if (i == 240) {
            free(block);
            block = NULL;
        }
        tick();
        usleep(2000);
    }
    return 0;
}
