package org.orpo4j.train;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process that takes {@code <dir>}'s run lock {@code n} times as fast as it can and, while holding it, creates and
 * deletes {@code <dir>/holder}; prints {@code held=H collisions=C}, C counting the times another holder's file was
 * already there (two writers at once). {@code RunLockRaceTest} races three of them.
 */
public final class RunLockRacer {

    private RunLockRacer() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int held = 0;
        int collisions = 0;
        for (int i = 0; i < n; i++) {
            try (RunLock lock = RunLock.acquire(dir)) {
                try {
                    Files.createFile(dir.resolve("holder"));
                } catch (FileAlreadyExistsException e) {
                    collisions++;
                    continue;
                }
                held++;
                Files.delete(dir.resolve("holder"));
            } catch (IllegalStateException busy) {
                // another process holds it: try again
            }
        }
        System.out.println("held=" + held + " collisions=" + collisions);
    }
}
