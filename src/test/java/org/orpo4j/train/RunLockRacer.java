package org.orpo4j.train;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A process that tries {@code <dir>}'s run lock as fast as it can until it has held it {@code n} times (or a minute
 * has passed) and, while holding it, creates and deletes {@code <dir>/holder}; prints {@code held=H collisions=C}, C
 * counting the times another holder's file was already there (two writers at once). {@code RunLockRaceTest} races
 * three of them.
 */
public final class RunLockRacer {

    private RunLockRacer() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int held = 0;
        int collisions = 0;
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (held < n && System.nanoTime() < deadline) {
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
                continue; // another process holds it: try again
            }
            Thread.sleep(1); // let the others have a turn
        }
        System.out.println("held=" + held + " collisions=" + collisions);
    }
}
