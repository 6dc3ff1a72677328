/* Preloaded into a child JVM by SignalExitTest: a library destructor, run by exit() and halt() like libtorch's
 * static destructors, that leaves the file $ORPO4J_EXIT_MARKER.<pid> behind (the pid, because the processes the JVM
 * starts inherit the preload). A process ended by a signal's default action runs none. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((destructor)) static void mark_exit(void) {
    const char *prefix = getenv("ORPO4J_EXIT_MARKER");
    if (prefix != NULL) {
        char path[4096];
        snprintf(path, sizeof path, "%s.%ld", prefix, (long) getpid());
        FILE *out = fopen(path, "w");
        if (out != NULL) {
            fputs("exit-time native code ran\n", out);
            fclose(out);
        }
    }
}
