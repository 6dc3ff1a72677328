package org.orpo4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Three processes racing for one output folder's lock thousands of times: never two holders at once. */
class RunLockRaceTest {

    @TempDir
    Path out;

    @Test
    void threeRacingProcessesNeverHoldTheLockTogether() throws Exception {
        List<Process> racers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            racers.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                    System.getProperty("java.class.path"), RunLockRacer.class.getName(), out.toString(), "200")
                    .redirectErrorStream(true).start());
        }
        for (Process p : racers) {
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertTrue(p.waitFor(2, TimeUnit.MINUTES));
            Matcher m = Pattern.compile("held=(\\d+) collisions=(\\d+)").matcher(output);
            assertTrue(m.find(), output);
            assertEquals(0, Integer.parseInt(m.group(2)), "two processes held the lock at once: " + output);
            assertEquals(200, Integer.parseInt(m.group(1)), output);
        }
    }
}
