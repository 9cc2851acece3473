/* Ground truth: constant churn. Buffers are allocated and freed every iteration. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* every request also allocates and frees a scratch buffer, as real services do */
static void tick(void) {
    char *scratch = malloc(256);
    scratch[0] = 1;
    free(scratch);
}

static int work(int i) {
    char *buffers[20];
    int sum = 0;
    for (int k = 0; k < 20; k++) {
        buffers[k] = malloc(2000);
        memset(buffers[k], i, 2000);
    }
    for (int k = 0; k < 20; k++) {
        sum += buffers[k][k];
        free(buffers[k]);
    }
    return sum;
}

int main(void) {
    int sum = 0;
    for (int i = 0; i < 300; i++) {
        sum += work(i);
        tick();
        usleep(2000);
    }
    return sum == -1;
}
