package org.orpo4j.cli;

import java.io.IOException;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Ends the process the way the signal's default action does: the kernel kills it, so the exit status is 128 + the
 * signal number (143 for SIGTERM, 130 for SIGINT) and no exit-time code runs. {@code System.exit} and
 * {@code Runtime.halt} both run libtorch's static destructors, which crash (SIGSEGV and a JVM crash dump) while
 * another thread is still inside native code such as a backward pass or a model load.
 */
final class SignalExit {

    private SignalExit() {}

    /** Makes {@code signals} end the process at once, by their default action, instead of the JVM's exit path. */
    static void install(String... signals) {
        for (String name : signals) {
            try {
                Signal.handle(new Signal(name), SignalExit::now);
            } catch (IllegalArgumentException e) {
                // the JVM runs with -Xrs and keeps the signal to itself: nothing to take over
            }
        }
    }

    /**
     * Restores {@code signal}'s default action and sends it to this process again. The JDK can't raise a signal
     * that has no Java handler, so {@code kill} (POSIX) sends it; only if that fails does the JVM halt.
     */
    static void now(Signal signal) {
        Signal.handle(signal, SignalHandler.SIG_DFL);
        try {
            new ProcessBuilder("kill", "-" + signal.getName(), Long.toString(ProcessHandle.current().pid()))
                    .redirectErrorStream(true).start().waitFor();
            Thread.sleep(10_000); // the signal is on its way; nothing else may run meanwhile
        } catch (IOException e) {
            // no kill command: fall through to halt
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Runtime.getRuntime().halt(128 + signal.getNumber());
    }
}
